/* Holding back the first close frame until it is whole (close_hold.h). */
#include "ws/close_hold.h"

#include <stdlib.h>
#include <string.h>

#define OPCODE_CLOSE 0x8
#define CONTROL_PAYLOAD_MAX 125

enum {
    SCANNING = 0, /* following frames until a close frame begins */
    HOLDING,      /* keeping its bytes */
    READY,        /* whole (or refused by its header): to be handed to wslay */
    DONE          /* handed: nothing after it is read */
};

/* Takes one header byte; 1 when it completes the header. */
static int header_byte(sc_ws_close_hold *h, uint8_t c)
{
    unsigned i = h->header_len++;
    if (i == 1) {
        uint8_t len7 = c & 0x7f;
        h->ext_len = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
        h->length = h->ext_len ? 0 : len7;
        h->header_need = (uint8_t)(2 + h->ext_len + (c & 0x80 ? 4 : 0)); /* a masked frame carries its key */
    } else if (i >= 2 && i < 2u + h->ext_len) {
        h->length = (h->length << 8) | c; /* key bytes, if any, are skipped */
    }
    if (h->header_len != h->header_need)
        return 0;
    h->remaining = h->length;
    h->header_len = 0;
    h->header_need = 0;
    return 1;
}

/* Keeps bytes of the close frame until it is whole; later bytes are dropped. */
static int hold_bytes(sc_ws_close_hold *h, const uint8_t *p, size_t n)
{
    if (!h->frame && !(h->frame = malloc(SC_WS_CLOSE_HOLD_MAX)))
        return -1;
    for (size_t i = 0; i < n && h->state == HOLDING; i++) {
        h->frame[h->held++] = p[i];
        if (h->frame_header == 0) {
            if (!header_byte(h, p[i]))
                continue;
            h->frame_header = h->held;
            /* wslay refuses a longer control frame at its header. */
            if (h->length == 0 || h->length > CONTROL_PAYLOAD_MAX)
                h->state = READY;
        } else if (--h->remaining == 0) {
            h->state = READY;
        }
    }
    return 0;
}

long sc_ws_close_hold_filter(sc_ws_close_hold *h, const uint8_t *buf, size_t n)
{
    size_t i = 0;
    while (i < n && h->state == SCANNING) {
        if (h->remaining > 0) {
            size_t skip = h->remaining < n - i ? (size_t)h->remaining : n - i;
            h->remaining -= skip;
            i += skip;
        } else if (h->header_len == 0 && (buf[i] & 0x0f) == OPCODE_CLOSE) {
            h->state = HOLDING;
        } else {
            (void)header_byte(h, buf[i]);
            i++;
        }
    }
    if (h->state == HOLDING && hold_bytes(h, buf + i, n - i) != 0)
        return -1;
    return (long)i;
}

size_t sc_ws_close_hold_take(sc_ws_close_hold *h, uint8_t *buf, size_t len)
{
    if (h->state != READY)
        return 0;
    size_t n = (size_t)(h->held - h->handed);
    if (n > len)
        n = len;
    memcpy(buf, h->frame + h->handed, n);
    h->handed = (uint8_t)(h->handed + n);
    if (h->handed == h->held)
        h->state = DONE;
    return n;
}

int sc_ws_close_hold_active(const sc_ws_close_hold *h)
{
    return h->state == HOLDING || h->state == READY;
}

int sc_ws_close_hold_code(const sc_ws_close_hold *h, uint16_t *code)
{
    if (!h->frame || h->frame_header == 0 || h->length < 2 || h->held < h->frame_header + 2)
        return 0;
    *code = (uint16_t)(h->frame[h->frame_header] << 8 | h->frame[h->frame_header + 1]);
    return 1;
}

void sc_ws_close_hold_free(sc_ws_close_hold *h)
{
    free(h->frame);
    memset(h, 0, sizeof *h);
}
