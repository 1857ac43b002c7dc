/* The SymmetricState object (noise-rev34 section 5.2). */
#ifndef SC_NOISE_SYMMETRIC_H
#define SC_NOISE_SYMMETRIC_H

#include "cipher.h"
#include "hash.h"

typedef struct sc_symmetric {
    sc_cipher_state cs; /* first: 16-byte aligned AES state */
    uint8_t ck[SC_HASH_MAX_LEN];
    uint8_t h[SC_HASH_MAX_LEN];
    const sc_hash *hash;
    const sc_cipher *cipher;
} sc_symmetric;

/* InitializeSymmetric(protocol_name). */
void sc_symmetric_init(sc_symmetric *ss, const sc_hash *hash, const sc_cipher *cipher, const char *protocol_name,
                       size_t name_len);

/* MixKey, MixHash, MixKeyAndHash. */
void sc_symmetric_mix_key(sc_symmetric *ss, const uint8_t *ikm, size_t ikm_len);
void sc_symmetric_mix_hash(sc_symmetric *ss, const uint8_t *data, size_t len);
void sc_symmetric_mix_key_and_hash(sc_symmetric *ss, const uint8_t *ikm, size_t ikm_len);

/*
 * EncryptAndHash / DecryptAndHash. out receives len (+16 when a key is set)
 * or len (-16) bytes; out may equal in. Return SECCHAT_OK or the cipher error.
 */
int sc_symmetric_encrypt_and_hash(sc_symmetric *ss, const uint8_t *in, size_t len, uint8_t *out);
int sc_symmetric_decrypt_and_hash(sc_symmetric *ss, const uint8_t *in, size_t len, uint8_t *out);

/* Split(): the two transport CipherStates; wipes ck and the handshake key. */
void sc_symmetric_split(sc_symmetric *ss, sc_cipher_state *c1, sc_cipher_state *c2);

/* Wipes everything secret (ck, k); h stays for GetHandshakeHash(). */
void sc_symmetric_wipe(sc_symmetric *ss);

#endif /* SC_NOISE_SYMMETRIC_H */
