/*
 * A minimal plaintext WebSocket client (RFC 6455), for measuring plaintext
 * broadcast servers such as libwebsockets' mirror protocol. The library's
 * own endpoint is not used because it refuses text messages (1003), and the
 * mirror answers every message with a text frame.
 *
 * Enough for a benchmark, not a general client: the 101 status is checked
 * but Sec-WebSocket-Accept is not; fragmented messages are reassembled;
 * pings are answered; a close frame is answered and ends the connection.
 * Text payloads are not checked for UTF-8 (the bench only sends ASCII).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define MAX_HEADER 8192u
#define MAX_MESSAGE (1u << 24)

typedef struct bytes {
    uint8_t *p;
    size_t off, len, cap; /* live bytes are p[off .. off+len) */
} bytes;

struct plainws {
    bytes out, in, msg;
    uint8_t mask[4];
    int open, close_sent, closed, failed;
    int msg_active; /* a fragmented message is being reassembled */
};

static int bytes_reserve(bytes *b, size_t more)
{
    if (b->off && b->off + b->len + more > b->cap) { /* slide down before growing */
        memmove(b->p, b->p + b->off, b->len);
        b->off = 0;
    }
    if (b->off + b->len + more <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

static int bytes_add(bytes *b, const void *data, size_t len)
{
    if (bytes_reserve(b, len) != 0)
        return -1;
    memcpy(b->p + b->off + b->len, data, len);
    b->len += len;
    return 0;
}

static void bytes_drop(bytes *b, size_t n)
{
    b->off += n;
    b->len -= n;
    if (!b->len)
        b->off = 0;
}

static void base64(const uint8_t *in, size_t n, char *out)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i = 0, o = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = t[v >> 18];
        out[o++] = t[(v >> 12) & 63];
        out[o++] = t[(v >> 6) & 63];
        out[o++] = t[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
        out[o++] = t[v >> 18];
        out[o++] = t[(v >> 12) & 63];
        out[o++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
}

plainws *plainws_new(const char *host_header, const char *path, const char *subprotocol)
{
    plainws *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    uint8_t key[16];
    char key64[32], req[2048];
    if (secchat_random_bytes(key, sizeof key) != SECCHAT_OK ||
        secchat_random_bytes(p->mask, sizeof p->mask) != SECCHAT_OK) {
        free(p);
        return NULL;
    }
    base64(key, sizeof key, key64);
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s%s%s\r\n",
                     path, host_header, key64, subprotocol ? "Sec-WebSocket-Protocol: " : "",
                     subprotocol ? subprotocol : "", subprotocol ? "\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof req || bytes_add(&p->out, req, (size_t)n) != 0) {
        plainws_free(p);
        return NULL;
    }
    return p;
}

void plainws_free(plainws *p)
{
    if (!p)
        return;
    free(p->out.p);
    free(p->in.p);
    free(p->msg.p);
    free(p);
}

const uint8_t *plainws_output(const plainws *p, size_t *len)
{
    *len = p->out.len;
    return p->out.p ? p->out.p + p->out.off : NULL;
}

void plainws_consumed(plainws *p, size_t n)
{
    bytes_drop(&p->out, n > p->out.len ? p->out.len : n);
}

int plainws_open(const plainws *p)
{
    return p->open && !p->closed;
}

/* A masked frame with FIN set. */
static int put_frame(plainws *p, unsigned opcode, const uint8_t *data, size_t len)
{
    uint8_t h[14];
    size_t hl = 2;
    h[0] = (uint8_t)(0x80u | opcode);
    if (len < 126) {
        h[1] = (uint8_t)(0x80u | len);
    } else if (len < 65536) {
        h[1] = 0x80u | 126u;
        h[2] = (uint8_t)(len >> 8);
        h[3] = (uint8_t)len;
        hl = 4;
    } else {
        h[1] = 0x80u | 127u;
        for (int i = 0; i < 8; i++)
            h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
        hl = 10;
    }
    memcpy(h + hl, p->mask, 4);
    hl += 4;
    if (bytes_reserve(&p->out, hl + len) != 0)
        return -1;
    uint8_t *o = p->out.p + p->out.off + p->out.len;
    memcpy(o, h, hl);
    for (size_t i = 0; i < len; i++)
        o[hl + i] = data[i] ^ p->mask[i & 3];
    p->out.len += hl + len;
    return 0;
}

int plainws_send(plainws *p, const uint8_t *data, size_t len)
{
    if (!p->open || p->close_sent || p->closed)
        return -1;
    return put_frame(p, 0x2, data, len);
}

int plainws_close(plainws *p)
{
    if (p->close_sent || p->closed)
        return 0;
    p->close_sent = 1;
    const uint8_t code[2] = {1000 >> 8, 1000 & 0xff};
    return put_frame(p, 0x8, code, 2);
}

/* The HTTP response: 0 when complete (and 101), 1 when more is needed, -1 if refused. */
static int parse_response(plainws *p, size_t *used)
{
    const uint8_t *d = p->in.p + p->in.off;
    for (size_t i = 3; i < p->in.len; i++) {
        if (d[i] == '\n' && d[i - 1] == '\r' && d[i - 2] == '\n' && d[i - 3] == '\r') {
            *used = i + 1;
            return p->in.len >= 12 && memcmp(d, "HTTP/1.1 101", 12) == 0 ? 0 : -1;
        }
    }
    return p->in.len > MAX_HEADER ? -1 : 1;
}

/* One frame from the input: 1 when handled, 0 when incomplete, -1 on a protocol error. */
static int parse_frame(plainws *p, plainws_cb cb, void *arg)
{
    const uint8_t *d = p->in.p + p->in.off;
    size_t n = p->in.len;
    if (n < 2)
        return 0;
    unsigned fin = d[0] & 0x80u, opcode = d[0] & 0x0fu;
    if ((d[0] & 0x70u) || (d[1] & 0x80u)) /* no extensions; servers never mask */
        return -1;
    uint64_t len = d[1] & 0x7fu;
    size_t hl = 2;
    if (len == 126) {
        if (n < 4)
            return 0;
        len = (uint64_t)d[2] << 8 | d[3];
        hl = 4;
    } else if (len == 127) {
        if (n < 10)
            return 0;
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | d[2 + i];
        hl = 10;
    }
    if (len > MAX_MESSAGE)
        return -1;
    if (n < hl + len)
        return 0;
    const uint8_t *pl = d + hl;
    size_t plen = (size_t)len;
    switch (opcode) {
    case 0x0: /* continuation */
    case 0x1: /* text */
    case 0x2: /* binary */
        if ((opcode == 0) != (p->msg_active != 0))
            return -1;
        if (fin && !p->msg_active) {
            cb(arg, PWS_MESSAGE, pl, plen); /* the common case: no copy */
        } else {
            if (bytes_add(&p->msg, pl, plen) != 0 || p->msg.len > MAX_MESSAGE)
                return -1;
            p->msg_active = !fin;
            if (fin) {
                cb(arg, PWS_MESSAGE, p->msg.p + p->msg.off, p->msg.len);
                bytes_drop(&p->msg, p->msg.len);
            }
        }
        break;
    case 0x8: /* close: answer it (once) and stop */
        if (!p->close_sent) {
            p->close_sent = 1;
            if (put_frame(p, 0x8, pl, plen >= 2 ? 2 : 0) != 0)
                return -1;
        }
        p->closed = 1;
        bytes_drop(&p->in, hl + plen);
        cb(arg, PWS_CLOSED, NULL, 0);
        return 1;
    case 0x9: /* ping */
        if (!p->close_sent && put_frame(p, 0xA, pl, plen) != 0)
            return -1;
        break;
    case 0xA: /* pong */
        break;
    default:
        return -1;
    }
    bytes_drop(&p->in, hl + plen);
    return 1;
}

int plainws_feed(plainws *p, const uint8_t *data, size_t len, plainws_cb cb, void *arg)
{
    if (p->failed || p->closed)
        return p->failed ? -1 : 0;
    if (bytes_add(&p->in, data, len) != 0) {
        p->failed = 1;
        return -1;
    }
    if (!p->open) {
        size_t used;
        int rc = parse_response(p, &used);
        if (rc == 1)
            return 0;
        if (rc < 0) {
            p->failed = 1;
            return -1;
        }
        bytes_drop(&p->in, used);
        p->open = 1;
        cb(arg, PWS_OPEN, NULL, 0);
    }
    int rc = 0;
    while (!p->closed && (rc = parse_frame(p, cb, arg)) > 0)
        ;
    if (!p->closed && rc < 0) {
        p->failed = 1;
        return -1;
    }
    return 0;
}
