/*
 * Cipher functions (sections 4.2, 12.3, 12.4) and the CipherState object
 * (section 5.1).
 */
#ifndef SC_NOISE_CIPHER_H
#define SC_NOISE_CIPHER_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#define SC_CIPHER_KEY_LEN 32
#define SC_CIPHER_TAG_LEN 16

struct sc_cipher_state;

/* A cipher descriptor: one constant instance per algorithm. */
typedef struct sc_cipher {
    const char *name; /* "AESGCM" or "ChaChaPoly" */
    /* Nonzero when this CPU can run it (libsodium's AES-GCM needs AES-NI). Needs sodium_init(). */
    int (*available)(void);
    /* Precomputes per-key state (AES key schedule) after k changes. */
    void (*set_key)(struct sc_cipher_state *cs);
    /* ENCRYPT(k, n, ad, plaintext): writes len + 16 bytes; out may equal in. */
    void (*encrypt)(const struct sc_cipher_state *cs, uint64_t n, const uint8_t *ad, size_t ad_len, const uint8_t *in,
                    size_t len, uint8_t *out);
    /* DECRYPT: len includes the tag; 0 on success, -1 on a bad tag. */
    int (*decrypt)(const struct sc_cipher_state *cs, uint64_t n, const uint8_t *ad, size_t ad_len, const uint8_t *in,
                   size_t len, uint8_t *out);
} sc_cipher;

/*
 * CipherState: k, n, plus the precomputed AES-GCM key schedule so transport
 * messages pay no per-message key setup. Kept first in containing structs to
 * honour its 16-byte alignment.
 */
typedef struct sc_cipher_state {
    crypto_aead_aes256gcm_state aes; /* valid when cipher is AESGCM and has_key */
    uint8_t k[SC_CIPHER_KEY_LEN];
    uint64_t n;
    const sc_cipher *cipher;
    int has_key;
} sc_cipher_state;

/* The descriptor for a protocol-name section, or NULL if we lack it. */
const sc_cipher *sc_cipher_find(const char *name, size_t name_len);

/* InitializeKey(key) with cipher; key NULL means empty. */
void sc_cipher_init_key(sc_cipher_state *cs, const sc_cipher *cipher, const uint8_t *key);

/*
 * EncryptWithAd / DecryptWithAd. Without a key they copy (out may equal in).
 * With a key, encrypt writes len + 16 bytes and decrypt expects len >= 16 and
 * writes len - 16. Return SECCHAT_OK, SECCHAT_ERR_NOISE_NONCE_EXHAUSTED or
 * SECCHAT_ERR_NOISE_DECRYPT (n then stays unchanged).
 */
int sc_cipher_encrypt_ad(sc_cipher_state *cs, const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t len,
                         uint8_t *out);
int sc_cipher_decrypt_ad(sc_cipher_state *cs, const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t len,
                         uint8_t *out);

/* Rekey(): k = first 32 bytes of ENCRYPT(k, 2^64-1, empty, 32 zero bytes). */
void sc_cipher_rekey(sc_cipher_state *cs);

/* Forgets the key (wipes k and the key schedule). */
void sc_cipher_wipe(sc_cipher_state *cs);

#endif /* SC_NOISE_CIPHER_H */
