/*
 * Test helper: a chat client made of a client secchat_session over a real
 * loopback TCP connection, driven by the calling thread (tcp_peer.h does the
 * socket I/O), for tests that talk to a server running in the same process.
 *
 *     session_client c;
 *     session_client_open(&c, "127.0.0.1:40123", psk, NULL, 5000, err, sizeof err);  NULL: a random static key
 *     session_client_join(&c, "Alice", 5000);     prompt, name, own join notice (checked byte for byte)
 *     session_client_say(&c, "hello");            {"sender":"","content":"hello"}, written out
 *     session_client_next(&c, buf, sizeof buf, 5000);   the next plaintext, as a string
 *     session_client_free(&c);                    close 1000 (bounded), then free everything
 *
 * Every wait takes a timeout in milliseconds and polls the socket in small
 * steps; nothing blocks beyond it. Plaintexts are copied into a queue as they
 * arrive, so a test may pump one client while it waits on another. Several
 * clients may be used from one thread (the tcp_peer read buffer is shared and
 * static: not from several threads at once). Plain C with no cmocka
 * dependency: failures come back as -1 (or a SECCHAT_ERR_* code where noted).
 */
#ifndef SC_TESTS_SESSION_CLIENT_H
#define SC_TESTS_SESSION_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "common/tcp_peer.h"
#include "secchat.h"

#define SESSION_CLIENT_ADDR_MAX 64

typedef struct session_client {
    secchat_config *cfg;
    secchat_session *session;
    tcp_peer io;
    char local[SESSION_CLIENT_ADDR_MAX]; /* our end, "127.0.0.1:54321" or "[::1]:54321" */
    uint8_t public_key[SECCHAT_NOISE_KEY_LEN];
    char fingerprint[SECCHAT_FINGERPRINT_SIZE]; /* of public_key */
    int ready;                                  /* the handshake completed */
    uint8_t server_key[SECCHAT_NOISE_KEY_LEN];  /* once ready */
    /* Plaintexts received and not taken yet, oldest first (NUL-terminated copies). */
    char **queue;
    size_t *lens;
    size_t head, count, cap;
    size_t received; /* plaintexts received in all */
    int closed;      /* the session's CLOSED event came */
    uint16_t close_code;
    char close_reason[SECCHAT_WS_MAX_CLOSE_REASON + 1];
    int close_error;
} session_client;

/*
 * Connects to address ("127.0.0.1:PORT" or "[::1]:PORT") within timeout_ms,
 * with its own config: psk, and the static key of private_key (NULL: a
 * random one). The upgrade request and handshake message 1 go out with the
 * next pump. 0, or -1 with the reason in err.
 */
int session_client_open(session_client *c, const char *address, const uint8_t psk[SECCHAT_PSK_LEN],
                        const uint8_t *private_key, int timeout_ms, char *err, size_t errlen);

/* One round of I/O (at most timeout_ms), then the session's events into c. */
void session_client_pump(session_client *c, int timeout_ms);

/* Pumps until the handshake is complete. 0, or -1 (closed or timed out). */
int session_client_wait_ready(session_client *c, int timeout_ms);

/*
 * Takes the next plaintext into out (NUL-terminated), waiting for it at most
 * timeout_ms. Returns its length, or -1 (timeout, closed, or out too small;
 * out is then "").
 */
long session_client_next(session_client *c, char *out, size_t cap, int timeout_ms);

/* Like session_client_next, but 0 when the next plaintext is exactly want, else -1. */
int session_client_expect(session_client *c, const char *want, int timeout_ms);

/* Sends len bytes of plaintext as one transport message and writes it out. SECCHAT_OK or an error code. */
int session_client_send(session_client *c, const void *data, size_t len);

/* Sends a chat line as the original client does: {"sender":"","content":text}. */
int session_client_say(session_client *c, const char *text);

/* Pumps until every pending output byte is written. 0, or -1 on timeout. */
int session_client_flush(session_client *c, int timeout_ms);

/*
 * Waits for the prompt, answers with name and waits for "<name> joined the
 * chat", all checked byte for byte. 0, or -1.
 */
int session_client_join(session_client *c, const char *name, int timeout_ms);

/* Pumps until the session is closed (by either side or a lost connection). 0, or -1 on timeout. */
int session_client_wait_closed(session_client *c, int timeout_ms);

/* Starts the close handshake (code, reason) and waits up to timeout_ms for it to end. */
void session_client_close(session_client *c, uint16_t code, int timeout_ms);

/* Closes (1000, a short bounded wait) unless closed, then frees everything; a zeroed c is fine. */
void session_client_free(session_client *c);

/* Copies the JSON string member "key" of a flat JSON object into out (unescaped by the message
 * decoder). 0, or -1 when msg is not a message or key is absent. Keys: sender, content, type, room, to. */
int session_client_field(const char *msg, const char *key, char *out, size_t cap);

#endif /* SC_TESTS_SESSION_CLIENT_H */
