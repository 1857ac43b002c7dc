/* SHA256, SHA512, BLAKE2b descriptors; HMAC (RFC 2104) and HKDF (noise-rev34 4.3). */
#include <string.h>

#include "hash.h"

static void sha256_init(sc_hash_ctx *c)
{
    crypto_hash_sha256_init(&c->sha256);
}
static void sha256_update(sc_hash_ctx *c, const uint8_t *d, size_t n)
{
    crypto_hash_sha256_update(&c->sha256, d, n);
}
static void sha256_final(sc_hash_ctx *c, uint8_t *out)
{
    crypto_hash_sha256_final(&c->sha256, out);
}

static void sha512_init(sc_hash_ctx *c)
{
    crypto_hash_sha512_init(&c->sha512);
}
static void sha512_update(sc_hash_ctx *c, const uint8_t *d, size_t n)
{
    crypto_hash_sha512_update(&c->sha512, d, n);
}
static void sha512_final(sc_hash_ctx *c, uint8_t *out)
{
    crypto_hash_sha512_final(&c->sha512, out);
}

/* Noise's BLAKE2b is the unkeyed 64-byte variant (section 12.8). */
static void blake2b_init(sc_hash_ctx *c)
{
    crypto_generichash_blake2b_init(&c->blake2b, NULL, 0, 64);
}
static void blake2b_update(sc_hash_ctx *c, const uint8_t *d, size_t n)
{
    crypto_generichash_blake2b_update(&c->blake2b, d, n);
}
static void blake2b_final(sc_hash_ctx *c, uint8_t *out)
{
    crypto_generichash_blake2b_final(&c->blake2b, out, 64);
}

static const sc_hash hashes[] = {
    {"SHA256", 32, 64, sha256_init, sha256_update, sha256_final},
    {"SHA512", 64, 128, sha512_init, sha512_update, sha512_final},
    {"BLAKE2b", 64, 128, blake2b_init, blake2b_update, blake2b_final},
};

const sc_hash *sc_hash_find(const char *name, size_t name_len)
{
    for (size_t i = 0; i < sizeof hashes / sizeof hashes[0]; i++) {
        if (strlen(hashes[i].name) == name_len && memcmp(hashes[i].name, name, name_len) == 0)
            return &hashes[i];
    }
    return NULL;
}

void sc_hash_digest(const sc_hash *hash, const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len, uint8_t *out)
{
    sc_hash_ctx ctx;
    hash->init(&ctx);
    hash->update(&ctx, a, a_len);
    if (b_len > 0)
        hash->update(&ctx, b, b_len);
    hash->final(&ctx, out);
    sodium_memzero(&ctx, sizeof ctx);
}

/* HMAC-HASH(key, d1 || d2). Keys in Noise are always HASHLEN <= BLOCKLEN. */
static void hmac(const sc_hash *hash, const uint8_t *key, size_t key_len, const uint8_t *d1, size_t l1,
                 const uint8_t *d2, size_t l2, uint8_t *out)
{
    uint8_t pad[SC_HASH_MAX_BLOCK] = {0};
    uint8_t inner[SC_HASH_MAX_LEN];
    sc_hash_ctx ctx;

    if (key_len > hash->block_len)
        sc_hash_digest(hash, key, key_len, NULL, 0, pad);
    else
        memcpy(pad, key, key_len);

    for (size_t i = 0; i < hash->block_len; i++)
        pad[i] ^= 0x36;
    hash->init(&ctx);
    hash->update(&ctx, pad, hash->block_len);
    hash->update(&ctx, d1, l1);
    if (l2 > 0)
        hash->update(&ctx, d2, l2);
    hash->final(&ctx, inner);

    for (size_t i = 0; i < hash->block_len; i++)
        pad[i] ^= 0x36 ^ 0x5c;
    hash->init(&ctx);
    hash->update(&ctx, pad, hash->block_len);
    hash->update(&ctx, inner, hash->hash_len);
    hash->final(&ctx, out);

    sodium_memzero(pad, sizeof pad);
    sodium_memzero(inner, sizeof inner);
    sodium_memzero(&ctx, sizeof ctx);
}

void sc_hkdf(const sc_hash *hash, const uint8_t *chaining_key, const uint8_t *ikm, size_t ikm_len, int num_outputs,
             uint8_t *out1, uint8_t *out2, uint8_t *out3)
{
    static const uint8_t one = 0x01, two = 0x02, three = 0x03;
    uint8_t temp_key[SC_HASH_MAX_LEN];
    const size_t hl = hash->hash_len;

    hmac(hash, chaining_key, hl, ikm, ikm_len, NULL, 0, temp_key);
    hmac(hash, temp_key, hl, &one, 1, NULL, 0, out1);
    hmac(hash, temp_key, hl, out1, hl, &two, 1, out2);
    if (num_outputs == 3)
        hmac(hash, temp_key, hl, out2, hl, &three, 1, out3);
    sodium_memzero(temp_key, sizeof temp_key);
}
