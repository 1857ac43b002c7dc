/* Shared plaintexts for fan-out. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "server/blob.h"

sc_blob *sc_blob_encode(const secchat_message *msg, int *err)
{
    size_t len = 0;
    *err = secchat_message_encode(msg, NULL, 0, &len); /* asks for the length */
    if (*err != SECCHAT_ERR_BUFFER_TOO_SMALL && *err != SECCHAT_OK)
        return NULL;
    sc_blob *b = malloc(sizeof *b + len);
    if (!b) {
        *err = SECCHAT_ERR_NO_MEMORY;
        return NULL;
    }
    *err = secchat_message_encode(msg, b->data, len, &b->len);
    if (*err != SECCHAT_OK) {
        free(b);
        return NULL;
    }
    atomic_init(&b->refs, 1);
    return b;
}

void sc_blob_unref(sc_blob *b)
{
    if (b && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1) {
        sodium_memzero(b->data, b->len);
        free(b);
    }
}
