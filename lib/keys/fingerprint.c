/*
 * Fingerprints of public keys: the first 16 bytes of SHA-256(key) as
 * "1a2b:3c4d:...:7e8f", short enough to read out over a telephone and long
 * enough (128 bits) that nobody can make a second key with the same one.
 */
#include <string.h>

#include <sodium.h>

#include "common/internal.h"
#include "secchat/keys.h"

#define FP_BYTES ((size_t)16)

static const char hex_digits[] = "0123456789abcdef";

static int fingerprint_bytes(const uint8_t public_key[SECCHAT_KEY_LEN], uint8_t out[FP_BYTES])
{
    int rc = sc_crypto_init();
    if (rc != SECCHAT_OK)
        return rc;
    uint8_t hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(hash, public_key, SECCHAT_KEY_LEN);
    memcpy(out, hash, FP_BYTES);
    return SECCHAT_OK;
}

SECCHAT_API int secchat_fingerprint(const uint8_t public_key[SECCHAT_KEY_LEN], char out[SECCHAT_FINGERPRINT_SIZE])
{
    if (public_key == NULL || out == NULL)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    uint8_t fp[FP_BYTES];
    int rc = fingerprint_bytes(public_key, fp);
    if (rc != SECCHAT_OK)
        return rc;
    char *p = out;
    for (size_t i = 0; i < FP_BYTES; i++) {
        if (i > 0 && i % 2 == 0)
            *p++ = ':'; /* a group is two bytes, four digits */
        *p++ = hex_digits[fp[i] >> 4];
        *p++ = hex_digits[fp[i] & 0x0f];
    }
    *p = '\0';
    return SECCHAT_OK;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

SECCHAT_API int secchat_fingerprint_matches(const uint8_t public_key[SECCHAT_KEY_LEN], const char *text)
{
    if (public_key == NULL || text == NULL)
        return 0;
    /* Every ':' is skipped wherever it stands: people paste fingerprints regrouped or without separators. */
    uint8_t want[FP_BYTES] = {0};
    size_t digits = 0;
    for (const char *p = text; *p != '\0'; p++) {
        if (*p == ':')
            continue;
        int v = hex_value(*p);
        if (v < 0 || digits == FP_BYTES * 2)
            return 0; /* not a hex digit, or more than 32 of them */
        want[digits / 2] = (uint8_t)(want[digits / 2] | (digits % 2 == 0 ? v << 4 : v));
        digits++;
    }
    if (digits != FP_BYTES * 2)
        return 0;
    uint8_t fp[FP_BYTES];
    if (fingerprint_bytes(public_key, fp) != SECCHAT_OK)
        return 0;
    return sodium_memcmp(fp, want, FP_BYTES) == 0;
}
