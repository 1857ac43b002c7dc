/*
 * Holds the first close frame of the stream wslay reads until it is whole.
 *
 * wslay checks a close reason's UTF-8 chunk by chunk as the frame arrives,
 * but skips the first two bytes of every chunk (not only the status code's),
 * so when a close frame comes in pieces it both misses bad reasons and
 * refuses good ones. And it checks the status code only at the end, after
 * the reason. Given the whole frame in one piece it checks the reason
 * right. So the endpoint follows the frame boundaries of the bytes it gives
 * wslay, keeps the first close frame back until all of it is in, and hands
 * it over at once; the frame's status code is kept so that a frame whose
 * code and reason are both bad is refused for its code (1002), as it is
 * when the reason is good. Nothing after that frame is read (RFC 6455
 * section 5.5.1), so only the first one matters.
 */
#ifndef SC_WS_CLOSE_HOLD_H
#define SC_WS_CLOSE_HOLD_H

#include <stddef.h>
#include <stdint.h>

/* The longest close frame wslay accepts: header (2 + 8 length + 4 key bytes) and 125 payload bytes. */
#define SC_WS_CLOSE_HOLD_MAX (14 + 125)

typedef struct sc_ws_close_hold {
    uint64_t remaining;  /* payload bytes of the current frame still to come */
    uint64_t length;     /* the current frame's payload length, as far as read */
    uint8_t header_len;  /* header bytes of the current frame seen so far */
    uint8_t header_need; /* its full header length, once byte 1 is in (else 0) */
    uint8_t ext_len;     /* its extended length bytes: 0, 2 or 8 */
    uint8_t state;       /* SCANNING, HOLDING, READY or DONE (close_hold.c) */
    uint8_t held;        /* bytes in frame */
    uint8_t handed;      /* of which wslay has had these */
    uint8_t frame_header; /* the held frame's header length, once known */
    uint8_t *frame;      /* the close frame, allocated when one begins */
} sc_ws_close_hold;

/*
 * Takes the n bytes about to be given to wslay, in buf. Returns how many of
 * them (a prefix) may be given now; the rest, from the first close frame
 * on, is kept here. -1 when memory for the frame runs out.
 */
long sc_ws_close_hold_filter(sc_ws_close_hold *h, const uint8_t *buf, size_t n);

/*
 * Copies to buf (room for len) the held close frame once it is whole (or
 * once its header shows wslay will refuse it anyway); returns the bytes
 * copied, 0 when there is nothing to give yet.
 */
size_t sc_ws_close_hold_take(sc_ws_close_hold *h, uint8_t *buf, size_t len);

/* 1 while a close frame is being held back. */
int sc_ws_close_hold_active(const sc_ws_close_hold *h);

/* 1 and *code when the first close frame had a status code. */
int sc_ws_close_hold_code(const sc_ws_close_hold *h, uint16_t *code);

void sc_ws_close_hold_free(sc_ws_close_hold *h);

#endif /* SC_WS_CLOSE_HOLD_H */
