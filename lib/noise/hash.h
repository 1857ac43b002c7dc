/*
 * Hash functions of Noise (sections 4.3, 12.5-12.8) over nettle (SHA256)
 * and libsodium (SHA512, BLAKE2b), and HMAC/HKDF written once over any of
 * them.
 */
#ifndef SC_NOISE_HASH_H
#define SC_NOISE_HASH_H

#include <stddef.h>
#include <stdint.h>

#include <nettle/sha2.h>
#include <sodium.h>

#define SC_HASH_MAX_LEN 64
#define SC_HASH_MAX_BLOCK 128

typedef union sc_hash_ctx {
    struct sha256_ctx sha256; /* nettle's: it uses SHA-NI where the CPU has it (hash.c) */
    crypto_hash_sha512_state sha512;
    crypto_generichash_blake2b_state blake2b;
} sc_hash_ctx;

/* A hash function descriptor: one constant instance per algorithm. */
typedef struct sc_hash {
    const char *name; /* as in a protocol name, e.g. "SHA256" */
    size_t hash_len;  /* HASHLEN */
    size_t block_len; /* BLOCKLEN, for HMAC */
    size_t ctx_size;  /* bytes of sc_hash_ctx this algorithm uses (copied and wiped) */
    void (*init)(sc_hash_ctx *ctx);
    void (*update)(sc_hash_ctx *ctx, const uint8_t *data, size_t len);
    void (*final)(sc_hash_ctx *ctx, uint8_t *out); /* writes hash_len bytes */
} sc_hash;

/* The descriptor for a protocol-name section, or NULL if we lack it. */
const sc_hash *sc_hash_find(const char *name, size_t name_len);

/* out = HASH(a || b); b may be NULL with b_len 0. */
void sc_hash_digest(const sc_hash *hash, const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len, uint8_t *out);

/*
 * HKDF(chaining_key, input_key_material, num_outputs) of section 4.3 with
 * num_outputs 2 or 3. Each output is hash_len bytes; out3 may be NULL when
 * num_outputs is 2. Outputs may alias chaining_key.
 */
void sc_hkdf(const sc_hash *hash, const uint8_t *chaining_key, const uint8_t *ikm, size_t ikm_len, int num_outputs,
             uint8_t *out1, uint8_t *out2, uint8_t *out3);

#endif /* SC_NOISE_HASH_H */
