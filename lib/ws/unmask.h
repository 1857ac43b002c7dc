/*
 * Unmasking of the client-to-server frame stream, a word at a time.
 *
 * wslay unmasks payloads one byte per loop iteration, which on small chat
 * messages cost about a quarter of the whole per-message path (parse,
 * decrypt, decode). A server endpoint therefore passes its input through
 * this filter first: it follows the frame boundaries, checks that every
 * frame is masked (RFC 6455 section 5.1), and rewrites each frame as the
 * same frame unmasked (mask bit cleared, key removed, payload unmasked).
 * wslay, run as a client-side parser, then reads unmasked frames and still
 * validates everything else.
 */
#ifndef SC_WS_UNMASK_H
#define SC_WS_UNMASK_H

#include <stddef.h>
#include <stdint.h>

typedef struct sc_ws_unmasker {
    size_t header_len;  /* header bytes of the current frame seen so far */
    size_t ext_len;     /* extended length bytes of that header: 0, 2 or 8 */
    uint64_t length;    /* payload length, as far as read */
    uint64_t remaining; /* payload bytes of the current frame still to come */
    uint8_t key[4];
    unsigned key_pos; /* key offset of the next payload byte */
} sc_ws_unmasker;

/*
 * Filters len bytes of the stream into out (room for len bytes: header
 * bytes are passed on as they arrive and the key is dropped, so the output
 * is never longer than the input). *out_len receives the bytes written.
 * Returns 0, or -1 when a frame arrives unmasked: out then holds everything
 * before it.
 */
int sc_ws_unmask_stream(sc_ws_unmasker *u, const uint8_t *in, size_t len, uint8_t *out, size_t *out_len);

/* 1 when every byte filtered so far belongs to a complete frame. */
static inline int sc_ws_unmask_at_boundary(const sc_ws_unmasker *u)
{
    return u->header_len == 0 && u->remaining == 0;
}

#endif /* SC_WS_UNMASK_H */
