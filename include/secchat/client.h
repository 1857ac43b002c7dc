/*
 * libsecchat chat client: one connection to a secchat server, with its own
 * event loop (libuv) in the thread that calls secchat_client_run.
 *
 * The client connects over TCP, upgrades to WebSocket, runs the Noise
 * handshake as initiator, then exchanges chat messages (docs/protocol.md):
 * every message it receives is decoded and handed to the event callback;
 * secchat_client_send sends one chat line ({"sender":"","content":TEXT}).
 *
 * Threads: secchat_client_send and secchat_client_close may be called from
 * any thread (and from the callback) while run is in progress; the callback
 * runs on the thread inside secchat_client_run.
 */
#ifndef SECCHAT_CLIENT_H
#define SECCHAT_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "chat.h"
#include "common.h"
#include "message.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Connect + upgrade + handshake must finish within this long. */
#define SECCHAT_CLIENT_DEFAULT_TIMEOUT_MS 10000u

enum secchat_client_event_type {
    SECCHAT_CLIENT_EVENT_CONNECTED = 1, /* TCP connected: "Connected to server" */
    SECCHAT_CLIENT_EVENT_HANDSHAKE,     /* WebSocket upgraded; the Noise handshake starts */
    SECCHAT_CLIENT_EVENT_SECURE,        /* handshake done: peer_key, fingerprint, handshake_hash */
    SECCHAT_CLIENT_EVENT_MESSAGE,       /* a chat message: message */
    SECCHAT_CLIENT_EVENT_CLOSED         /* over: close_code, reason, error; run returns after this */
};

typedef struct secchat_client_event {
    enum secchat_client_event_type type;
    const secchat_message *message; /* MESSAGE: sender, content and optional fields */
    const uint8_t *peer_key;        /* SECURE: the server's static public key (32 bytes) */
    const char *fingerprint;        /* SECURE: its fingerprint (secchat_fingerprint) */
    const uint8_t *handshake_hash;  /* SECURE: channel binding */
    size_t hash_len;
    uint16_t close_code; /* CLOSED: the close code (1000 after quit, 1001 at server shutdown) */
    const char *reason;  /* CLOSED: close reason, "" if none */
    int error;           /* CLOSED: SECCHAT_OK after a clean close, else SECCHAT_ERR_* */
} secchat_client_event;

typedef struct secchat_client_options {
    unsigned timeout_ms; /* 0: SECCHAT_CLIENT_DEFAULT_TIMEOUT_MS */
    /* A name to answer the server's name prompt with, or NULL to let the
     * application answer it (the prompt is then an ordinary MESSAGE). */
    const char *name;
} secchat_client_options;

typedef struct secchat_client secchat_client;

/*
 * A client for url ("ws://host[:port][/path]") with cfg (protocol, PSK,
 * static key, trust hook: the hook is where pinning happens), which is shared:
 * keep it alive until secchat_client_free. opts may be NULL. Copies url and
 * the options. Errors: INVALID_ARGUMENT, NO_MEMORY, WS_URL.
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_client_new(secchat_client **out, const secchat_config *cfg,
                                                       const char *url, const secchat_client_options *opts,
                                                       void (*event)(void *arg, const secchat_client_event *ev),
                                                       void *arg);

/*
 * Connects and runs until the connection is over; the CLOSED event is the
 * last callback. Returns SECCHAT_OK after a clean close handshake (whoever
 * started it), else the error of the CLOSED event: ADDRESS, CONNECT, TIMEOUT,
 * a session error (SESSION_HANDSHAKE when the PSK differs, PEER_REJECTED
 * when the trust hook refused), WS_CONNECTION_LOST, ... Once per client.
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_client_run(secchat_client *c);

/*
 * Queues one chat line (content; sender is left empty as the protocol
 * requires). Before the channel is secure lines are held and sent once it is.
 * Errors: INVALID_ARGUMENT (NULL, not UTF-8), MESSAGE_TOO_LARGE, NOT_RUNNING
 * (closing or closed), NO_MEMORY.
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_client_send(secchat_client *c, const char *text);

/* Starts the close handshake (1000, "bye"); run returns once it completes. */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_client_close(secchat_client *c);

/* Frees a client whose run has returned (or never started). NULL is a no-op. */
SECCHAT_API void secchat_client_free(secchat_client *c);

#ifdef __cplusplus
}
#endif

#endif /* SECCHAT_CLIENT_H */
