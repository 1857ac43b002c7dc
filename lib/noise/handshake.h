/* Internal calls into the HandshakeState; not part of the public API. */
#ifndef SC_NOISE_HANDSHAKE_H
#define SC_NOISE_HANDSHAKE_H

#include <stdint.h>

#include "secchat/noise.h"

/*
 * TEST ONLY: sets the nonce of the sending (send != 0) or receiving transport
 * cipher, to reach 2^64-1 without 2^64 messages. HANDSHAKE_PENDING before
 * completion.
 */
int sc_noise_set_nonce_for_testing(secchat_noise *noise, int send, uint64_t nonce);

/*
 * Like secchat_noise_set_local_static, but takes the public key too instead of
 * deriving it: a session config computes it once for all its sessions, which
 * saves one X25519 base multiplication (~15%) per handshake. The caller
 * guarantees that the two keys belong together.
 */
int sc_noise_set_local_keypair(secchat_noise *noise, const uint8_t private_key[SECCHAT_NOISE_KEY_LEN],
                               const uint8_t public_key[SECCHAT_NOISE_KEY_LEN]);

/* MISSING_KEY if the handshake could not start with the keys and PSKs set so
 * far (the check the first message would make), else SECCHAT_OK. */
int sc_noise_check_keys(const secchat_noise *noise);

#endif /* SC_NOISE_HANDSHAKE_H */
