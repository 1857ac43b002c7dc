/* Allocation and libsodium initialisation shared by all modules. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "internal.h"

/* libsodium's BLAKE2b and AES-GCM states ask for up to 64-byte alignment. */
#define SC_ALIGNMENT 64

void *sc_alloc(size_t size)
{
    size_t rounded = (size + SC_ALIGNMENT - 1) & ~(size_t)(SC_ALIGNMENT - 1);
    if (rounded < size)
        return NULL;
    void *p = aligned_alloc(SC_ALIGNMENT, rounded);
    if (p != NULL)
        memset(p, 0, rounded);
    return p;
}

void sc_free_secret(void *ptr, size_t size)
{
    if (ptr == NULL)
        return;
    sodium_memzero(ptr, size);
    free(ptr);
}

int sc_crypto_init(void)
{
    /* sodium_init() is locked internally: 0 first time, 1 afterwards. */
    return sodium_init() < 0 ? SECCHAT_ERR_CRYPTO_INIT : SECCHAT_OK;
}
