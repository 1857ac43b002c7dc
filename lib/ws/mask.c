/* Client masking keys from a per-endpoint ChaCha20 keystream. */
#include "ws/mask.h"

#include <sodium.h>
#include <string.h>

#include "common/internal.h"

static void masker_refill(sc_ws_masker *m)
{
    uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];
    sc_store64_le(nonce, m->counter++);
    crypto_stream_chacha20(m->pool, sizeof m->pool, nonce, m->key);
    m->used = 0;
}

int sc_ws_masker_init(sc_ws_masker *m)
{
    int rc = secchat_random_bytes(m->key, sizeof m->key);
    if (rc != SECCHAT_OK)
        return rc;
    m->counter = 0;
    masker_refill(m);
    return SECCHAT_OK;
}

void sc_ws_masker_fill(sc_ws_masker *m, uint8_t *out, size_t len)
{
    while (len > 0) {
        if (m->used == sizeof m->pool)
            masker_refill(m);
        size_t n = sizeof m->pool - m->used < len ? sizeof m->pool - m->used : len;
        memcpy(out, m->pool + m->used, n);
        /* Handed-out key bytes are not kept around. */
        memset(m->pool + m->used, 0, n);
        m->used += n;
        out += n;
        len -= n;
    }
}
