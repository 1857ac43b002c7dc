/* SymmetricState (noise-rev34 5.2): ck, h and the handshake CipherState. */
#include <string.h>

#include "../common/internal.h"
#include "symmetric.h"

void sc_symmetric_init(sc_symmetric *ss, const sc_hash *hash, const sc_cipher *cipher, const char *protocol_name,
                       size_t name_len)
{
    ss->hash = hash;
    ss->cipher = cipher;
    memset(ss->h, 0, sizeof ss->h);
    if (name_len <= hash->hash_len)
        memcpy(ss->h, protocol_name, name_len);
    else
        sc_hash_digest(hash, (const uint8_t *)protocol_name, name_len, NULL, 0, ss->h);
    memcpy(ss->ck, ss->h, sizeof ss->ck);
    sc_cipher_init_key(&ss->cs, cipher, NULL);
}

void sc_symmetric_mix_key(sc_symmetric *ss, const uint8_t *ikm, size_t ikm_len)
{
    uint8_t temp_k[SC_HASH_MAX_LEN];
    sc_hkdf(ss->hash, ss->ck, ikm, ikm_len, 2, ss->ck, temp_k, NULL);
    sc_cipher_init_key(&ss->cs, ss->cipher, temp_k); /* uses the first 32 bytes */
    sodium_memzero(temp_k, sizeof temp_k);
}

void sc_symmetric_mix_hash(sc_symmetric *ss, const uint8_t *data, size_t len)
{
    sc_hash_digest(ss->hash, ss->h, ss->hash->hash_len, data, len, ss->h);
}

void sc_symmetric_mix_key_and_hash(sc_symmetric *ss, const uint8_t *ikm, size_t ikm_len)
{
    uint8_t temp_h[SC_HASH_MAX_LEN];
    uint8_t temp_k[SC_HASH_MAX_LEN];
    sc_hkdf(ss->hash, ss->ck, ikm, ikm_len, 3, ss->ck, temp_h, temp_k);
    sc_symmetric_mix_hash(ss, temp_h, ss->hash->hash_len);
    sc_cipher_init_key(&ss->cs, ss->cipher, temp_k);
    sodium_memzero(temp_h, sizeof temp_h);
    sodium_memzero(temp_k, sizeof temp_k);
}

int sc_symmetric_encrypt_and_hash(sc_symmetric *ss, const uint8_t *in, size_t len, uint8_t *out)
{
    int rc = sc_cipher_encrypt_ad(&ss->cs, ss->h, ss->hash->hash_len, in, len, out);
    if (rc != SECCHAT_OK)
        return rc;
    sc_symmetric_mix_hash(ss, out, len + (ss->cs.has_key ? SC_CIPHER_TAG_LEN : 0));
    return SECCHAT_OK;
}

int sc_symmetric_decrypt_and_hash(sc_symmetric *ss, const uint8_t *in, size_t len, uint8_t *out)
{
    /* Hash the ciphertext before decrypting so that out may overwrite in. */
    uint8_t next_h[SC_HASH_MAX_LEN];
    sc_hash_digest(ss->hash, ss->h, ss->hash->hash_len, in, len, next_h);
    int rc = sc_cipher_decrypt_ad(&ss->cs, ss->h, ss->hash->hash_len, in, len, out);
    if (rc == SECCHAT_OK)
        memcpy(ss->h, next_h, sizeof next_h);
    return rc;
}

void sc_symmetric_split(sc_symmetric *ss, sc_cipher_state *c1, sc_cipher_state *c2)
{
    uint8_t k1[SC_HASH_MAX_LEN], k2[SC_HASH_MAX_LEN];
    sc_hkdf(ss->hash, ss->ck, NULL, 0, 2, k1, k2, NULL);
    sc_cipher_init_key(c1, ss->cipher, k1);
    sc_cipher_init_key(c2, ss->cipher, k2);
    sodium_memzero(k1, sizeof k1);
    sodium_memzero(k2, sizeof k2);
    sc_symmetric_wipe(ss);
}

void sc_symmetric_wipe(sc_symmetric *ss)
{
    sodium_memzero(ss->ck, sizeof ss->ck);
    sc_cipher_wipe(&ss->cs);
}
