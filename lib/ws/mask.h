/*
 * Masking keys for client frames (RFC 6455 section 5.3: unpredictable, from
 * a strong source). A ChaCha20 keystream seeded once per endpoint from the
 * OS CSPRNG gives them without a system call per frame.
 */
#ifndef SC_WS_MASK_H
#define SC_WS_MASK_H

#include <stddef.h>
#include <stdint.h>

typedef struct sc_ws_masker {
    uint8_t key[32];
    uint64_t counter;
    uint8_t pool[256];
    size_t used; /* bytes of pool already handed out */
} sc_ws_masker;

/* Seeds from the CSPRNG. SECCHAT_OK or CRYPTO_INIT. */
int sc_ws_masker_init(sc_ws_masker *m);

/* Writes len unpredictable bytes. */
void sc_ws_masker_fill(sc_ws_masker *m, uint8_t *out, size_t len);

#endif /* SC_WS_MASK_H */
