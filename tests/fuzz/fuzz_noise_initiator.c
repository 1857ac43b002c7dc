/*
 * The Noise engine as the initiator of Noise_XXpsk2_25519_AESGCM_SHA256 reading
 * arbitrary, honest and damaged handshake and transport messages from an
 * honest peer handle. Input format and checks: noise_driver.h.
 */
#define VICTIM_ROLE SECCHAT_NOISE_INITIATOR
#include "fuzz/noise_driver.h"
