/* AESGCM and ChaChaPoly over libsodium, and CipherState (noise-rev34 5.1). */
#include <string.h>

#include "../common/internal.h"
#include "cipher.h"

#define NONCE_LEN 12
#define MAX_NONCE UINT64_MAX /* reserved for Rekey(), never used for messages */

/* AESGCM nonce: 4 zero bytes then the 64-bit counter big-endian (12.4). */
static void aesgcm_nonce(uint8_t out[NONCE_LEN], uint64_t n)
{
    memset(out, 0, 4);
    sc_store64_be(out + 4, n);
}

/* ChaChaPoly nonce: 4 zero bytes then the 64-bit counter little-endian (12.3). */
static void chachapoly_nonce(uint8_t out[NONCE_LEN], uint64_t n)
{
    memset(out, 0, 4);
    sc_store64_le(out + 4, n);
}

static void aesgcm_set_key(sc_cipher_state *cs)
{
    crypto_aead_aes256gcm_beforenm(&cs->aes, cs->k);
}

static void aesgcm_encrypt(const sc_cipher_state *cs, uint64_t n, const uint8_t *ad, size_t ad_len, const uint8_t *in,
                           size_t len, uint8_t *out)
{
    uint8_t nonce[NONCE_LEN];
    aesgcm_nonce(nonce, n);
    crypto_aead_aes256gcm_encrypt_afternm(out, NULL, in, len, ad, ad_len, NULL, nonce, &cs->aes);
}

static int aesgcm_decrypt(const sc_cipher_state *cs, uint64_t n, const uint8_t *ad, size_t ad_len, const uint8_t *in,
                          size_t len, uint8_t *out)
{
    uint8_t nonce[NONCE_LEN];
    aesgcm_nonce(nonce, n);
    return crypto_aead_aes256gcm_decrypt_afternm(out, NULL, NULL, in, len, ad, ad_len, nonce, &cs->aes);
}

static void chachapoly_set_key(sc_cipher_state *cs)
{
    (void)cs; /* ChaCha20 has no key schedule worth caching */
}

static void chachapoly_encrypt(const sc_cipher_state *cs, uint64_t n, const uint8_t *ad, size_t ad_len,
                               const uint8_t *in, size_t len, uint8_t *out)
{
    uint8_t nonce[NONCE_LEN];
    chachapoly_nonce(nonce, n);
    crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, in, len, ad, ad_len, NULL, nonce, cs->k);
}

static int chachapoly_decrypt(const sc_cipher_state *cs, uint64_t n, const uint8_t *ad, size_t ad_len,
                              const uint8_t *in, size_t len, uint8_t *out)
{
    uint8_t nonce[NONCE_LEN];
    chachapoly_nonce(nonce, n);
    return crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, in, len, ad, ad_len, nonce, cs->k);
}

static int always_available(void)
{
    return 1;
}

static const sc_cipher ciphers[] = {
    {"AESGCM", crypto_aead_aes256gcm_is_available, aesgcm_set_key, aesgcm_encrypt, aesgcm_decrypt},
    {"ChaChaPoly", always_available, chachapoly_set_key, chachapoly_encrypt, chachapoly_decrypt},
};

const sc_cipher *sc_cipher_find(const char *name, size_t name_len)
{
    for (size_t i = 0; i < sizeof ciphers / sizeof ciphers[0]; i++) {
        if (strlen(ciphers[i].name) == name_len && memcmp(ciphers[i].name, name, name_len) == 0)
            return &ciphers[i];
    }
    return NULL;
}

void sc_cipher_init_key(sc_cipher_state *cs, const sc_cipher *cipher, const uint8_t *key)
{
    cs->cipher = cipher;
    cs->n = 0;
    if (key == NULL) {
        sc_cipher_wipe(cs);
        return;
    }
    memcpy(cs->k, key, SC_CIPHER_KEY_LEN);
    cs->has_key = 1;
    cipher->set_key(cs);
}

/*
 * Shared start of EncryptWithAd/DecryptWithAd: without a key (early in a
 * handshake) the "ciphertext" is the plaintext, so copy it through; with one,
 * the reserved nonce 2^64-1 means the CipherState is spent (5.1).
 */
static int check_usable(const sc_cipher_state *cs, const uint8_t *in, size_t len, uint8_t *out)
{
    if (!cs->has_key) {
        if (out != in && len > 0)
            memmove(out, in, len);
        return SECCHAT_OK;
    }
    return cs->n == MAX_NONCE ? SECCHAT_ERR_NOISE_NONCE_EXHAUSTED : SECCHAT_OK;
}

int sc_cipher_encrypt_ad(sc_cipher_state *cs, const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t len,
                         uint8_t *out)
{
    int rc = check_usable(cs, in, len, out);
    if (rc != SECCHAT_OK || !cs->has_key)
        return rc;
    cs->cipher->encrypt(cs, cs->n, ad, ad_len, in, len, out);
    cs->n++;
    return SECCHAT_OK;
}

int sc_cipher_decrypt_ad(sc_cipher_state *cs, const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t len,
                         uint8_t *out)
{
    int rc = check_usable(cs, in, len, out);
    if (rc != SECCHAT_OK || !cs->has_key)
        return rc;
    if (len < SC_CIPHER_TAG_LEN || cs->cipher->decrypt(cs, cs->n, ad, ad_len, in, len, out) != 0)
        return SECCHAT_ERR_NOISE_DECRYPT;
    cs->n++;
    return SECCHAT_OK;
}

void sc_cipher_rekey(sc_cipher_state *cs)
{
    uint8_t zeros[SC_CIPHER_KEY_LEN] = {0};
    uint8_t out[SC_CIPHER_KEY_LEN + SC_CIPHER_TAG_LEN];

    cs->cipher->encrypt(cs, MAX_NONCE, NULL, 0, zeros, sizeof zeros, out);
    memcpy(cs->k, out, SC_CIPHER_KEY_LEN);
    cs->cipher->set_key(cs);
    sodium_memzero(out, sizeof out);
}

void sc_cipher_wipe(sc_cipher_state *cs)
{
    sodium_memzero(cs->k, sizeof cs->k);
    sodium_memzero(&cs->aes, sizeof cs->aes);
    cs->has_key = 0;
}
