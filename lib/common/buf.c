/* sc_buf: the byte queue behind engine output and event queues. */
#include "buf.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int sc_buf_reserve(sc_buf *b, size_t n)
{
    if (b->cap - b->len >= n)
        return SECCHAT_OK;
    size_t pending = b->len - b->head;
    /* Reclaim the consumed head before growing: queues mostly drain fully. */
    if (b->head > 0 && b->cap - pending >= n && b->head >= pending) {
        memmove(b->data, b->data + b->head, pending);
        if (b->wipe)
            sodium_memzero(b->data + pending, b->len - pending);
        b->head = 0;
        b->len = pending;
        return SECCHAT_OK;
    }
    if (n > SIZE_MAX / 2 - pending)
        return SECCHAT_ERR_NO_MEMORY;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < pending + n)
        cap *= 2;
    /* No realloc: the old block may need wiping, which realloc would not do. */
    uint8_t *data = malloc(cap);
    if (!data)
        return SECCHAT_ERR_NO_MEMORY;
    if (pending)
        memcpy(data, b->data + b->head, pending);
    if (b->data) {
        if (b->wipe)
            sodium_memzero(b->data, b->cap);
        free(b->data);
    }
    b->data = data;
    b->head = 0;
    b->len = pending;
    b->cap = cap;
    return SECCHAT_OK;
}

int sc_buf_append(sc_buf *b, const void *data, size_t n)
{
    if (n == 0)
        return SECCHAT_OK;
    int rc = sc_buf_reserve(b, n);
    if (rc != SECCHAT_OK)
        return rc;
    memcpy(b->data + b->len, data, n);
    b->len += n;
    return SECCHAT_OK;
}

uint8_t *sc_buf_extend(sc_buf *b, size_t n)
{
    if (sc_buf_reserve(b, n) != SECCHAT_OK)
        return NULL;
    uint8_t *p = b->data + b->len;
    b->len += n;
    return p;
}

void sc_buf_consume(sc_buf *b, size_t n)
{
    size_t pending = b->len - b->head;
    if (n > pending)
        n = pending;
    b->head += n;
    if (b->head == b->len) {
        /* Wiping what was just consumed keeps plaintext short-lived. */
        if (b->wipe)
            sodium_memzero(b->data, b->len);
        b->head = b->len = 0;
    }
}

void sc_buf_free(sc_buf *b)
{
    if (b->data) {
        if (b->wipe)
            sodium_memzero(b->data, b->cap);
        free(b->data);
    }
    b->data = NULL;
    b->head = b->len = b->cap = 0;
}
