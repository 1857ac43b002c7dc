/* The shared session configuration, as the session code sees it. */
#ifndef SC_CHAT_CONFIG_H
#define SC_CHAT_CONFIG_H

#include <stdatomic.h>
#include <stdint.h>

#include "secchat/chat.h"

struct secchat_config {
    char protocol[SECCHAT_NOISE_MAX_NAME_LEN + 1];
    uint8_t psk[SECCHAT_PSK_LEN];
    int has_psk;
    /* The public key is derived once here rather than in every handshake. */
    uint8_t static_private[SECCHAT_NOISE_KEY_LEN];
    uint8_t static_public[SECCHAT_NOISE_KEY_LEN];
    secchat_verify_fn verify;
    void *verify_arg;
    secchat_ws_limits limits;
    /* Set by the first session; setters refuse from then on. Sessions may be
     * created on several threads, hence atomic. */
    atomic_int frozen;
};

/* Marks cfg as in use by a session (it is read-only from now on). */
void sc_config_freeze(const secchat_config *cfg);

#endif /* SC_CHAT_CONFIG_H */
