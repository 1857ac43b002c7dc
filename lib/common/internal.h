/*
 * Internal helpers shared by every module. Not installed.
 * Internal (non-static) functions are named sc_<module>_<verb> and stay hidden
 * by -fvisibility=hidden; public ones carry SECCHAT_API.
 */
#ifndef SC_COMMON_INTERNAL_H
#define SC_COMMON_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "secchat/common.h"

/* Allocate zeroed memory aligned for any libsodium state (64 bytes). */
void *sc_alloc(size_t size);

/* Wipe size bytes at ptr with sodium_memzero, then free. NULL is a no-op. */
void sc_free_secret(void *ptr, size_t size);

/* Initialize libsodium once; thread-safe and idempotent. SECCHAT_OK or CRYPTO_INIT. */
int sc_crypto_init(void);

static inline void sc_store64_be(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

static inline void sc_store64_le(uint8_t out[8], uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

#endif /* SC_COMMON_INTERNAL_H */
