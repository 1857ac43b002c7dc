/* Test hooks into the HandshakeState; not part of the public API. */
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

#endif /* SC_NOISE_HANDSHAKE_H */
