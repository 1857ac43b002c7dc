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
    uint8_t header[14]; /* header bytes collected so far */
    size_t header_len;
    uint64_t remaining; /* payload bytes of the current frame still to come */
    uint8_t key[4];
    unsigned key_pos; /* key offset of the next payload byte */
} sc_ws_unmasker;

/*
 * Filters len bytes of the stream into out, which needs room for
 * len + SC_WS_MAX_FRAME_HEADER bytes (a header collected over earlier calls
 * comes out whole). *out_len receives the bytes written. Returns 0, or -1
 * when a frame arrives unmasked: out then holds everything before it.
 */
int sc_ws_unmask_stream(sc_ws_unmasker *u, const uint8_t *in, size_t len, uint8_t *out, size_t *out_len);

#endif /* SC_WS_UNMASK_H */
