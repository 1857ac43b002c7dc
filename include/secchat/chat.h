/*
 * libsecchat secure session: one per connection, sans-I/O.
 *
 * A session stacks the three layers of the wire for one connection:
 *
 *     WebSocket upgrade -> Noise handshake (3 binary messages) -> transport
 *
 * The client session (the Noise initiator) sends the upgrade request and the
 * first handshake message by itself; the server session answers. Afterwards
 * every binary message is one Noise transport message: the session decrypts
 * it into a MESSAGE event, and secchat_session_send encrypts. Anything out of
 * turn, any handshake or decryption failure, ends the session with a close
 * frame (1008) and a CLOSED event that says why.
 *
 * Like secchat_ws the session does no I/O: feed it what you read, write out
 * its output, pull its events. A session is used by one thread at a time;
 * a config may be shared by any number of sessions on any threads.
 */
#ifndef SECCHAT_CHAT_H
#define SECCHAT_CHAT_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "message.h"
#include "noise.h"
#include "ws.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The protocol of the original program and the default of every config. */
#define SECCHAT_DEFAULT_PROTOCOL "Noise_XXpsk2_25519_AESGCM_SHA256"
#define SECCHAT_PSK_LEN 32u

/*
 * Trust policy hook, called once per session as soon as the peer's static
 * public key is known (the client learns it from handshake message 2, before
 * it authenticates itself in message 3; the server from message 3). Return 0
 * to accept, anything else to reject: the session then closes with 1008 and
 * SECCHAT_ERR_SESSION_PEER_REJECTED. Called on the thread driving the session.
 */
typedef int (*secchat_verify_fn)(void *arg, const uint8_t peer_static[SECCHAT_NOISE_KEY_LEN]);

/*
 * Everything sessions share: protocol name, PSK, static key pair, limits,
 * trust hook. Configure it, then create sessions from it; from the first
 * session on it is frozen (setters return BAD_STATE) and may be read by many
 * threads. It must outlive its sessions.
 */
typedef struct secchat_config secchat_config;

/* A config with the default protocol, a fresh random static key pair, no PSK
 * and default limits. Errors: INVALID_ARGUMENT, NO_MEMORY, CRYPTO_INIT. */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_config_new(secchat_config **out);

/* Wipes the keys and frees. NULL is a no-op. */
SECCHAT_API void secchat_config_free(secchat_config *cfg);

/* Sets the Noise protocol name: any name secchat_noise_check_name accepts
 * whose pattern has both sides send their static key and needs neither in
 * advance (XX, IX and their psk and deferred variants), e.g. the ChaChaPoly
 * variant of the default. Errors: the NOISE_* name errors, NOISE_UNSUPPORTED
 * for other patterns (NN, IK, ...), BAD_STATE. */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_config_set_protocol(secchat_config *cfg, const char *name);

/* Sets the 32-byte PSK (copied). Required by psk patterns such as the default. */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_config_set_psk(secchat_config *cfg, const uint8_t psk[SECCHAT_PSK_LEN]);

/* Replaces the static key pair with the one of this X25519 private key. */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_config_set_static_key(secchat_config *cfg,
                                                                  const uint8_t private_key[SECCHAT_NOISE_KEY_LEN]);

/* The public half of the config's static key. */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_config_public_key(const secchat_config *cfg,
                                                              uint8_t public_key[SECCHAT_NOISE_KEY_LEN]);

/* Installs the trust hook (NULL removes it). */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_config_set_verify(secchat_config *cfg, secchat_verify_fn fn, void *arg);

/* WebSocket limits for every session (NULL or zero fields: defaults). */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_config_set_ws_limits(secchat_config *cfg, const secchat_ws_limits *limits);

typedef struct secchat_session secchat_session;

/* A server session, waiting for the upgrade request. Freezes cfg (once it
 * succeeds). Errors: INVALID_ARGUMENT, NOISE_MISSING_KEY (psk pattern, no
 * PSK), NOISE_TOO_MANY_PSKS (a PSK set for a pattern without psk), NO_MEMORY. */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_session_new_server(secchat_session **out, const secchat_config *cfg);

/* A client session for url (ws://host:port/path); the upgrade request is
 * pending output at once. Freezes cfg. Errors: as above, and WS_URL. */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_session_new_client(secchat_session **out, const secchat_config *cfg,
                                                               const char *url);

/* Wipes all keys and buffers and frees. NULL is a no-op. */
SECCHAT_API void secchat_session_free(secchat_session *s);

/*
 * Processes bytes read from the peer (all are consumed). Returns SECCHAT_OK
 * or the sticky reason the session failed (HTTP_*, WS_*, SESSION_*,
 * NO_MEMORY); the refusal or close frame for the peer is in the output.
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_session_feed(secchat_session *s, const uint8_t *data, size_t len);

/* The peer closed the transport: see secchat_ws_feed_eof. */
SECCHAT_API void secchat_session_feed_eof(secchat_session *s);

/* Output for the peer, and how much of it was written (as secchat_ws). */
SECCHAT_API const uint8_t *secchat_session_output(const secchat_session *s, size_t *len);
SECCHAT_API void secchat_session_output_consumed(secchat_session *s, size_t n);

enum secchat_session_event_type {
    SECCHAT_SESSION_EVENT_NONE = 0,
    SECCHAT_SESSION_EVENT_READY,   /* handshake complete: peer_static, handshake_hash */
    SECCHAT_SESSION_EVENT_MESSAGE, /* one decrypted transport message: data, len */
    SECCHAT_SESSION_EVENT_CLOSED   /* over: close_code, reason, error */
};

typedef struct secchat_session_event {
    enum secchat_session_event_type type;
    const uint8_t *data; /* MESSAGE: plaintext, valid until the next call on the session */
    size_t len;
    const uint8_t *peer_static;    /* READY: the peer's static public key (32 bytes) */
    const uint8_t *handshake_hash; /* READY: channel binding, hash_len bytes */
    size_t hash_len;
    uint16_t close_code; /* CLOSED: as in secchat_ws_event */
    const char *reason;
    int error;
} secchat_session_event;

/* Takes the next event: 1 and fills ev, or 0 when there is none. */
SECCHAT_API int secchat_session_next_event(secchat_session *s, secchat_session_event *ev);

/*
 * Encrypts len bytes (at most SECCHAT_NOISE_MAX_PLAINTEXT) as one transport
 * message. Errors: INVALID_ARGUMENT, NOISE_HANDSHAKE_PENDING (before READY),
 * NOISE_MSG_TOO_LARGE, WS_CLOSED, WS_OUTPUT_FULL, NO_MEMORY, sticky failure.
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_session_send(secchat_session *s, const uint8_t *data, size_t len);

/* Encodes msg (secchat_message_encode) and sends it. Also MESSAGE_* errors. */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_session_send_message(secchat_session *s, const secchat_message *msg);

/* Starts the WebSocket close handshake (see secchat_ws_close). */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_session_close(secchat_session *s, uint16_t code, const char *reason);

/* Keepalive, as secchat_ws_ping and secchat_ws_ping_overdue. */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_session_ping(secchat_session *s, uint64_t now_ms);
SECCHAT_API int secchat_session_ping_overdue(const secchat_session *s, uint64_t now_ms, uint64_t timeout_ms);

/* Gives back memory an idle session does not need (see secchat_ws_trim). */
SECCHAT_API void secchat_session_trim(secchat_session *s);

enum secchat_session_state {
    SECCHAT_SESSION_STATE_UPGRADING = 1, /* HTTP opening handshake */
    SECCHAT_SESSION_STATE_HANDSHAKING,   /* Noise handshake */
    SECCHAT_SESSION_STATE_READY,         /* transport messages flow */
    SECCHAT_SESSION_STATE_CLOSING,
    SECCHAT_SESSION_STATE_CLOSED /* write the remaining output, then close the socket */
};

SECCHAT_API enum secchat_session_state secchat_session_state(const secchat_session *s);

/* The underlying endpoint, e.g. for secchat_ws_request_path. */
SECCHAT_API const secchat_ws *secchat_session_ws(const secchat_session *s);

#ifdef __cplusplus
}
#endif

#endif /* SECCHAT_CHAT_H */
