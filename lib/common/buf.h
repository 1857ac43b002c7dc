/*
 * A growable byte queue: bytes are appended at the tail and consumed from the
 * head. The engines use one for pending output and one for queued events.
 * A queue that may hold plaintext is marked wipe: its bytes are then wiped
 * when consumed, moved or released. Queues of ciphertext skip that cost.
 */
#ifndef SC_COMMON_BUF_H
#define SC_COMMON_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct sc_buf {
    uint8_t *data;
    size_t head; /* first unconsumed byte */
    size_t len;  /* end of valid bytes (head <= len <= cap) */
    size_t cap;
    int wipe; /* may hold plaintext: wipe what is consumed, moved or freed */
} sc_buf;

/* Bytes not yet consumed. */
static inline size_t sc_buf_pending(const sc_buf *b)
{
    return b->len - b->head;
}

static inline const uint8_t *sc_buf_peek(const sc_buf *b)
{
    return b->data ? b->data + b->head : NULL;
}

/* Makes room for n more bytes at the tail; SECCHAT_OK or NO_MEMORY. */
int sc_buf_reserve(sc_buf *b, size_t n);

/* Appends n bytes; SECCHAT_OK or NO_MEMORY. */
int sc_buf_append(sc_buf *b, const void *data, size_t n);

/* Returns a pointer to n writable bytes at the tail and counts them as
 * written, or NULL when memory runs out. */
uint8_t *sc_buf_extend(sc_buf *b, size_t n);

/* Drops n bytes from the head (n <= pending). Resets to empty when drained. */
void sc_buf_consume(sc_buf *b, size_t n);

/* Releases the storage (wiping it if marked); empty and reusable after. */
void sc_buf_free(sc_buf *b);

#endif /* SC_COMMON_BUF_H */
