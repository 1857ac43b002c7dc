/* The 25519 DH functions (sections 4.1, 12.1) over libsodium's X25519. */
#ifndef SC_NOISE_DH_H
#define SC_NOISE_DH_H

#include <stddef.h>
#include <stdint.h>

#define SC_DH_LEN 32

/* Nonzero when a protocol-name DH section names 25519. */
int sc_dh_is_supported(const char *name, size_t name_len);

/* GENERATE_KEYPAIR() from the CSPRNG. */
void sc_dh_generate(uint8_t public_key[SC_DH_LEN], uint8_t private_key[SC_DH_LEN]);

/* Public key of a private key. */
void sc_dh_public(uint8_t public_key[SC_DH_LEN], const uint8_t private_key[SC_DH_LEN]);

/*
 * DH(key pair, public key). Returns SECCHAT_ERR_NOISE_DH when the result is
 * all zeros (a low-order public key), which we treat as a failed handshake.
 */
int sc_dh(uint8_t out[SC_DH_LEN], const uint8_t private_key[SC_DH_LEN], const uint8_t public_key[SC_DH_LEN]);

#endif /* SC_NOISE_DH_H */
