/* SHA256, SHA512, BLAKE2b descriptors; HMAC (RFC 2104) and HKDF (noise-rev34 4.3). */
#include <string.h>

#include "hash.h"

/*
 * SHA256 comes from nettle, not libsodium: nettle picks a SHA-NI compression
 * function at run time when the CPU has one (about 4x faster than libsodium
 * 1.0.18's portable C on the CPUs measured in docs/performance.md), and the
 * Noise handshake is about a hundred SHA-256 compressions per side.
 */
static void h_sha256_init(sc_hash_ctx *c)
{
    sha256_init(&c->sha256);
}
static void h_sha256_update(sc_hash_ctx *c, const uint8_t *d, size_t n)
{
    sha256_update(&c->sha256, n, d);
}
static void h_sha256_final(sc_hash_ctx *c, uint8_t *out)
{
    sha256_digest(&c->sha256, SHA256_DIGEST_SIZE, out);
}

static void h_sha512_init(sc_hash_ctx *c)
{
    crypto_hash_sha512_init(&c->sha512);
}
static void h_sha512_update(sc_hash_ctx *c, const uint8_t *d, size_t n)
{
    crypto_hash_sha512_update(&c->sha512, d, n);
}
static void h_sha512_final(sc_hash_ctx *c, uint8_t *out)
{
    crypto_hash_sha512_final(&c->sha512, out);
}

/* Noise's BLAKE2b is the unkeyed 64-byte variant (section 12.8). */
static void h_blake2b_init(sc_hash_ctx *c)
{
    crypto_generichash_blake2b_init(&c->blake2b, NULL, 0, 64);
}
static void h_blake2b_update(sc_hash_ctx *c, const uint8_t *d, size_t n)
{
    crypto_generichash_blake2b_update(&c->blake2b, d, n);
}
static void h_blake2b_final(sc_hash_ctx *c, uint8_t *out)
{
    crypto_generichash_blake2b_final(&c->blake2b, out, 64);
}

static const sc_hash hashes[] = {
    {"SHA256", 32, 64, sizeof(struct sha256_ctx), h_sha256_init, h_sha256_update, h_sha256_final},
    {"SHA512", 64, 128, sizeof(crypto_hash_sha512_state), h_sha512_init, h_sha512_update, h_sha512_final},
    {"BLAKE2b", 64, 128, sizeof(crypto_generichash_blake2b_state), h_blake2b_init, h_blake2b_update, h_blake2b_final},
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
    sodium_memzero(&ctx, hash->ctx_size);
}

/*
 * An HMAC key with its two pad blocks already hashed (RFC 2104 section 4):
 * every HMAC under the same key then starts from a copy of these states and
 * costs two compressions fewer.
 */
typedef struct hmac_key {
    sc_hash_ctx inner; /* after HASH(K ^ ipad) */
    sc_hash_ctx outer; /* after HASH(K ^ opad) */
} hmac_key;

/* Keys in Noise are always HASHLEN <= BLOCKLEN. */
static void hmac_key_init(const sc_hash *hash, hmac_key *k, const uint8_t *key, size_t key_len)
{
    uint8_t pad[SC_HASH_MAX_BLOCK];
    const size_t bl = hash->block_len;

    if (key_len > bl) {
        sc_hash_digest(hash, key, key_len, NULL, 0, pad);
        key_len = hash->hash_len;
    } else {
        memcpy(pad, key, key_len);
    }
    memset(pad + key_len, 0, bl - key_len);

    for (size_t i = 0; i < bl; i++)
        pad[i] ^= 0x36;
    hash->init(&k->inner);
    hash->update(&k->inner, pad, bl);

    for (size_t i = 0; i < bl; i++)
        pad[i] ^= 0x36 ^ 0x5c;
    hash->init(&k->outer);
    hash->update(&k->outer, pad, bl);

    sodium_memzero(pad, bl);
}

/* HMAC-HASH(key, d1 || d2) with a prepared key, which it leaves unchanged. */
static void hmac_with(const sc_hash *hash, const hmac_key *k, const uint8_t *d1, size_t l1, const uint8_t *d2,
                      size_t l2, uint8_t *out)
{
    uint8_t inner[SC_HASH_MAX_LEN];
    sc_hash_ctx ctx;

    memcpy(&ctx, &k->inner, hash->ctx_size);
    hash->update(&ctx, d1, l1);
    if (l2 > 0)
        hash->update(&ctx, d2, l2);
    hash->final(&ctx, inner);

    memcpy(&ctx, &k->outer, hash->ctx_size);
    hash->update(&ctx, inner, hash->hash_len);
    hash->final(&ctx, out);

    sodium_memzero(inner, hash->hash_len);
    sodium_memzero(&ctx, hash->ctx_size);
}

static void hmac_key_wipe(const sc_hash *hash, hmac_key *k)
{
    sodium_memzero(&k->inner, hash->ctx_size);
    sodium_memzero(&k->outer, hash->ctx_size);
}

void sc_hkdf(const sc_hash *hash, const uint8_t *chaining_key, const uint8_t *ikm, size_t ikm_len, int num_outputs,
             uint8_t *out1, uint8_t *out2, uint8_t *out3)
{
    static const uint8_t one = 0x01, two = 0x02, three = 0x03;
    uint8_t temp_key[SC_HASH_MAX_LEN];
    const size_t hl = hash->hash_len;
    hmac_key k;

    /* temp_key = HMAC(chaining_key, ikm): the chaining key is used once. */
    hmac_key_init(hash, &k, chaining_key, hl);
    hmac_with(hash, &k, ikm, ikm_len, NULL, 0, temp_key);

    /* The outputs all use temp_key: its pads are hashed once for all. */
    hmac_key_init(hash, &k, temp_key, hl);
    sodium_memzero(temp_key, hl);
    hmac_with(hash, &k, &one, 1, NULL, 0, out1);
    hmac_with(hash, &k, out1, hl, &two, 1, out2);
    if (num_outputs == 3)
        hmac_with(hash, &k, out2, hl, &three, 1, out3);
    hmac_key_wipe(hash, &k);
}
