/*
 * Wiping and randomness for applications, so a program that links only
 * libsecchat (pkg-config --libs libsecchat) can handle keys safely without
 * naming libsodium itself.
 */
#include <sodium.h>

#include "internal.h"

SECCHAT_API void secchat_memzero(void *ptr, size_t len)
{
    if (ptr != NULL)
        sodium_memzero(ptr, len);
}

SECCHAT_API int secchat_random_bytes(void *buf, size_t len)
{
    if (buf == NULL && len > 0)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    int rc = sc_crypto_init();
    if (rc == SECCHAT_OK && len > 0)
        randombytes_buf(buf, len);
    return rc;
}
