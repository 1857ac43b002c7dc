/*
 * The pipe from the client thread to the main thread: records of
 * {stream byte, 4-byte length, text}. The client thread is the only writer,
 * so records never interleave, whatever their size.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ui.h"

#define HEADER_LEN 5u

int ui_channel_open(ui_channel *ch)
{
    int fds[2];
    memset(ch, 0, sizeof *ch);
    if (pipe(fds) != 0)
        return -1;
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    ch->rfd = fds[0];
    ch->wfd = fds[1];
    return 0;
}

static void write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* the main thread is gone: nothing left to show it to */
        p += n;
        len -= (size_t)n;
    }
}

void ui_post_text(ui_channel *ch, enum ui_stream stream, const char *text, size_t len)
{
    if (len > UINT32_MAX)
        len = UINT32_MAX;
    uint8_t header[HEADER_LEN] = {(uint8_t)stream, (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                                  (uint8_t)len};
    write_all(ch->wfd, header, sizeof header);
    write_all(ch->wfd, text, len);
}

void ui_post(ui_channel *ch, enum ui_stream stream, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        ui_post_text(ch, stream, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        ui_post_text(ch, stream, small, sizeof small - 1); /* truncated rather than lost */
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    ui_post_text(ch, stream, big, (size_t)n);
    free(big);
}

void ui_channel_close_writer(ui_channel *ch)
{
    if (ch->wfd >= 0)
        close(ch->wfd);
    ch->wfd = -1;
}

int ui_channel_drain(ui_channel *ch)
{
    if (ch->cap - ch->have < 65536) {
        size_t cap = ch->cap ? ch->cap * 2 : 131072;
        char *p = realloc(ch->buf, cap);
        if (!p)
            return -1;
        ch->buf = p;
        ch->cap = cap;
    }
    ssize_t n = read(ch->rfd, ch->buf + ch->have, ch->cap - ch->have);
    if (n < 0)
        return errno == EINTR ? 1 : -1;
    if (n == 0)
        return 0;
    ch->have += (size_t)n;
    size_t off = 0;
    while (ch->have - off >= HEADER_LEN) {
        const uint8_t *h = (const uint8_t *)ch->buf + off;
        size_t len = (size_t)h[1] << 24 | (size_t)h[2] << 16 | (size_t)h[3] << 8 | h[4];
        if (ch->have - off - HEADER_LEN < len)
            break;
        term_print((enum ui_stream)h[0], ch->buf + off + HEADER_LEN, len);
        off += HEADER_LEN + len;
    }
    memmove(ch->buf, ch->buf + off, ch->have - off);
    ch->have -= off;
    return 1;
}

void ui_channel_free(ui_channel *ch)
{
    if (ch->rfd >= 0)
        close(ch->rfd);
    ui_channel_close_writer(ch);
    free(ch->buf);
    ch->buf = NULL;
}
