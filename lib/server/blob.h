/*
 * A shared, reference-counted plaintext: one encoded chat message handed to
 * every worker that delivers it. Wiped when the last reference goes.
 */
#ifndef SC_SERVER_BLOB_H
#define SC_SERVER_BLOB_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "secchat/message.h"

typedef struct sc_blob {
    atomic_uint refs;
    size_t len;
    uint8_t data[];
} sc_blob;

/* Encodes msg into a new blob with one reference; NULL on failure (*err set). */
sc_blob *sc_blob_encode(const secchat_message *msg, int *err);

static inline sc_blob *sc_blob_ref(sc_blob *b)
{
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}

void sc_blob_unref(sc_blob *b);

#endif /* SC_SERVER_BLOB_H */
