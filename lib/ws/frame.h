/*
 * Writing WebSocket frames (RFC 6455 section 5.2) for the two cases where the
 * endpoint does it itself instead of wslay: outgoing binary messages, which
 * are framed straight into the output queue (no copy into wslay's queue, and
 * masking a word at a time rather than a byte at a time), and the close
 * frame of a failed connection.
 */
#ifndef SC_WS_FRAME_H
#define SC_WS_FRAME_H

#include <stddef.h>
#include <stdint.h>

/* Largest frame header: 2 bytes, 8-byte extended length, 4-byte mask key. */
#define SC_WS_MAX_FRAME_HEADER 14

/*
 * Writes the header of a final (FIN) frame with opcode and payload length
 * len; with mask non-NULL, sets the mask bit and appends the key. Returns the
 * header length.
 */
size_t sc_ws_frame_header(uint8_t out[SC_WS_MAX_FRAME_HEADER], uint8_t opcode, uint64_t len, const uint8_t *mask);

/* XORs len bytes at p with the 4-byte key, starting at key offset 0. */
void sc_ws_mask(uint8_t *p, size_t len, const uint8_t key[4]);

#endif /* SC_WS_FRAME_H */
