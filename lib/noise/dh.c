/* X25519 for Noise over libsodium's crypto_scalarmult_curve25519. */
#include <string.h>

#include <sodium.h>

#include "../common/internal.h"
#include "dh.h"

int sc_dh_is_supported(const char *name, size_t name_len)
{
    return name_len == 5 && memcmp(name, "25519", 5) == 0;
}

void sc_dh_generate(uint8_t public_key[SC_DH_LEN], uint8_t private_key[SC_DH_LEN])
{
    randombytes_buf(private_key, SC_DH_LEN);
    sc_dh_public(public_key, private_key);
}

void sc_dh_public(uint8_t public_key[SC_DH_LEN], const uint8_t private_key[SC_DH_LEN])
{
    crypto_scalarmult_curve25519_base(public_key, private_key);
}

int sc_dh(uint8_t out[SC_DH_LEN], const uint8_t private_key[SC_DH_LEN], const uint8_t public_key[SC_DH_LEN])
{
    /* libsodium returns -1 when the shared point is all zeros. */
    if (crypto_scalarmult_curve25519(out, private_key, public_key) != 0) {
        sodium_memzero(out, SC_DH_LEN);
        return SECCHAT_ERR_NOISE_DH;
    }
    return SECCHAT_OK;
}
