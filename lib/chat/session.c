/*
 * secchat_session: WebSocket endpoint + Noise handshake + transport, for one
 * connection, without I/O.
 *
 * The endpoint hands every complete message to the session synchronously,
 * in wire order (sc_ws_set_hook): handshake messages are answered at once (so
 * the reply is in the output when feed returns), transport messages are
 * decrypted straight into the session's own event queue, and a failure stops
 * the endpoint before it looks at the next frame, so the outcome never
 * depends on how the bytes were split into feed calls. Outgoing transport
 * messages are encrypted straight into the endpoint's output queue. The handshake runs on the Noise
 * engine's own turn order: whenever it is our turn we write, otherwise the
 * next binary message must be the peer's handshake message. Handshake
 * payloads are sent empty and ignored on receipt (PROTOCOL.md: a peer must
 * accept any payload it can decrypt).
 */
#include <stdlib.h>
#include <string.h>

#include "chat/config.h"
#include "common/buf.h"
#include "common/internal.h"
#include "noise/handshake.h"
#include "secchat/chat.h"
#include "ws/endpoint.h"

typedef struct session_event_record {
    uint32_t type;
    uint32_t len;
} session_event_record;

struct secchat_session {
    const secchat_config *cfg;
    secchat_ws *ws;
    secchat_noise *noise;
    int ready;         /* handshake complete, READY queued */
    int peer_verified; /* the trust hook has seen the peer's key */
    uint8_t peer_static[SECCHAT_NOISE_KEY_LEN];
    int have_peer_static;
    uint8_t hash[SECCHAT_NOISE_MAX_HASH_LEN];
    size_t hash_len;

    sc_buf events;
    size_t event_to_release;
    int closed;           /* the endpoint reported CLOSED: fields below are set */
    int closed_delivered; /* ... and it went out, after every queued event */
    uint16_t close_code;
    char close_reason[SECCHAT_WS_MAX_CLOSE_REASON + 1];
    int close_error;
};

/* Transport ciphertexts up to this size are built on the stack. */
#define SESSION_STACK_MESSAGE 2048

static int queue_event(secchat_session *s, enum secchat_session_event_type type, size_t len, uint8_t **data)
{
    session_event_record rec = {(uint32_t)type, (uint32_t)len};
    uint8_t *p = sc_buf_extend(&s->events, sizeof rec + len);
    if (!p)
        return SECCHAT_ERR_NO_MEMORY;
    memcpy(p, &rec, sizeof rec);
    if (data)
        *data = p + sizeof rec;
    return SECCHAT_OK;
}

/* Undoes the most recent queue_event (its message failed to decrypt). */
static void unqueue_event(secchat_session *s, size_t len)
{
    size_t n = sizeof(session_event_record) + len;
    secchat_memzero(s->events.data + s->events.len - n, n);
    s->events.len -= n;
}

static void release_event(secchat_session *s)
{
    if (s->event_to_release) {
        sc_buf_consume(&s->events, s->event_to_release);
        s->event_to_release = 0;
    }
}

/* Ends the session with a close frame (1008 unless code says otherwise). */
static int fail(secchat_session *s, int error, uint16_t code, const char *reason)
{
    return sc_ws_fail(s->ws, error, code, reason);
}

/* ---- handshake ----------------------------------------------------------- */

static int check_peer(secchat_session *s)
{
    if (s->peer_verified || secchat_noise_remote_static(s->noise, s->peer_static) != SECCHAT_OK)
        return SECCHAT_OK;
    s->peer_verified = 1;
    s->have_peer_static = 1;
    if (s->cfg->verify && s->cfg->verify(s->cfg->verify_arg, s->peer_static) != 0)
        return fail(s, SECCHAT_ERR_SESSION_PEER_REJECTED, SECCHAT_WS_CLOSE_POLICY_VIOLATION, "static key not accepted");
    return SECCHAT_OK;
}

static int become_ready(secchat_session *s)
{
    int rc = secchat_noise_handshake_hash(s->noise, s->hash, sizeof s->hash, &s->hash_len);
    if (rc == SECCHAT_OK)
        rc = queue_event(s, SECCHAT_SESSION_EVENT_READY, 0, NULL);
    if (rc != SECCHAT_OK)
        return fail(s, rc, SECCHAT_WS_CLOSE_INTERNAL_ERROR, "internal error");
    s->ready = 1;
    return SECCHAT_OK;
}

/* Writes our handshake messages for as long as it is our turn. */
static int write_turns(secchat_session *s)
{
    while (secchat_noise_next_action(s->noise) == SECCHAT_NOISE_ACTION_WRITE) {
        uint8_t stack[512]; /* empty-payload messages are at most a few hundred bytes */
        size_t cap = secchat_noise_message_len(s->noise, 0), len = 0;
        uint8_t *msg = cap <= sizeof stack ? stack : malloc(cap);
        int rc = msg ? secchat_noise_write_message(s->noise, NULL, 0, msg, cap, &len) : SECCHAT_ERR_NO_MEMORY;
        if (rc == SECCHAT_OK)
            rc = secchat_ws_send(s->ws, msg, len);
        if (msg != stack)
            free(msg); /* a handshake message holds no secret in the clear */
        if (rc != SECCHAT_OK)
            return fail(s, rc, SECCHAT_WS_CLOSE_INTERNAL_ERROR, "handshake message could not be sent");
    }
    if (secchat_noise_is_complete(s->noise) && !s->ready)
        return become_ready(s);
    return SECCHAT_OK;
}

static int read_handshake(secchat_session *s, const uint8_t *msg, size_t len)
{
    /* Handshake messages with empty payloads are at most a few hundred bytes: no allocation for them. */
    uint8_t stack[512];
    uint8_t *payload = len <= sizeof stack ? stack : malloc(len);
    if (!payload)
        return fail(s, SECCHAT_ERR_NO_MEMORY, SECCHAT_WS_CLOSE_INTERNAL_ERROR, "out of memory");
    size_t plen = 0;
    int rc = secchat_noise_read_message(s->noise, msg, len, payload, len, &plen);
    if (payload == stack)
        secchat_memzero(stack, len); /* the payload is ignored, but wiped like any plaintext */
    else
        sc_free_secret(payload, len);
    if (rc != SECCHAT_OK)
        return fail(s, SECCHAT_ERR_SESSION_HANDSHAKE, SECCHAT_WS_CLOSE_POLICY_VIOLATION, "handshake failed");
    rc = check_peer(s);
    if (rc != SECCHAT_OK)
        return rc;
    return write_turns(s);
}

/* ---- transport ----------------------------------------------------------- */

static int read_transport(secchat_session *s, const uint8_t *msg, size_t len)
{
    if (len < SECCHAT_NOISE_TAG_LEN)
        return fail(s, SECCHAT_ERR_SESSION_DECRYPT, SECCHAT_WS_CLOSE_POLICY_VIOLATION, "decryption failed");
    size_t plen = len - SECCHAT_NOISE_TAG_LEN, out_len = 0;
    uint8_t *plain;
    int rc = queue_event(s, SECCHAT_SESSION_EVENT_MESSAGE, plen, &plain);
    if (rc != SECCHAT_OK)
        return fail(s, rc, SECCHAT_WS_CLOSE_INTERNAL_ERROR, "out of memory");
    rc = secchat_noise_decrypt(s->noise, msg, len, plain, plen, &out_len);
    if (rc != SECCHAT_OK) {
        unqueue_event(s, plen);
        return fail(s, SECCHAT_ERR_SESSION_DECRYPT, SECCHAT_WS_CLOSE_POLICY_VIOLATION, "decryption failed");
    }
    return SECCHAT_OK;
}

/* ---- endpoint events ----------------------------------------------------- */

/* CLOSED is not queued: it is always last, so next_event hands it out once
 * the queue is empty (and no allocation can lose it). */
static void record_closed(secchat_session *s, const secchat_ws_event *ev)
{
    if (s->closed)
        return;
    s->closed = 1;
    s->close_code = ev->close_code;
    s->close_error = ev->error;
    size_t n = ev->reason ? strlen(ev->reason) : 0;
    if (n > SECCHAT_WS_MAX_CLOSE_REASON)
        n = SECCHAT_WS_MAX_CLOSE_REASON;
    memcpy(s->close_reason, ev->reason ? ev->reason : "", n);
    s->close_reason[n] = '\0';
}

/* OPEN and MESSAGE, from inside secchat_ws_feed, in wire order. */
static void on_ws_hook(void *arg, const secchat_ws_event *ev)
{
    secchat_session *s = arg;
    if (sc_ws_failure(s->ws) != SECCHAT_OK)
        return;
    if (ev->type == SECCHAT_WS_EVENT_OPEN)
        (void)write_turns(s); /* the initiator speaks first */
    else if (s->ready)
        (void)read_transport(s, ev->data, ev->len);
    else
        (void)read_handshake(s, ev->data, ev->len);
}

/* The queued endpoint events: PONG (nothing to do here) and CLOSED. */
static void drain_ws(secchat_session *s)
{
    secchat_ws_event ev;
    while (secchat_ws_next_event(s->ws, &ev)) {
        if (ev.type == SECCHAT_WS_EVENT_CLOSED)
            record_closed(s, &ev);
    }
}

/* ---- public API ----------------------------------------------------------- */

static int session_new(secchat_session **out, const secchat_config *cfg, const char *url)
{
    if (!out || !cfg)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    *out = NULL;
    /* No libsodium state inside: plain calloc, without aligned_alloc's padding. */
    secchat_session *s = calloc(1, sizeof *s);
    if (!s)
        return SECCHAT_ERR_NO_MEMORY;
    s->cfg = cfg;
    s->events.wipe = 1; /* decrypted messages */
    int initiator = url != NULL;
    int rc = secchat_noise_new(&s->noise, cfg->protocol, initiator ? SECCHAT_NOISE_INITIATOR : SECCHAT_NOISE_RESPONDER);
    if (rc == SECCHAT_OK)
        rc = sc_noise_set_local_keypair(s->noise, cfg->static_private, cfg->static_public);
    if (rc == SECCHAT_OK && cfg->has_psk)
        rc = secchat_noise_add_psk(s->noise, cfg->psk);
    /* A pattern that cannot start with what the config holds fails now, not
     * in the middle of a connection. */
    if (rc == SECCHAT_OK)
        rc = sc_noise_check_keys(s->noise);
    if (rc == SECCHAT_OK)
        rc = initiator ? secchat_ws_new_client(&s->ws, url, &cfg->limits) : secchat_ws_new_server(&s->ws, &cfg->limits);
    if (rc != SECCHAT_OK) {
        secchat_session_free(s);
        return rc;
    }
    sc_ws_set_hook(s->ws, on_ws_hook, s);
    sc_config_freeze(cfg);
    *out = s;
    return SECCHAT_OK;
}

SECCHAT_API int secchat_session_new_server(secchat_session **out, const secchat_config *cfg)
{
    return session_new(out, cfg, NULL);
}

SECCHAT_API int secchat_session_new_client(secchat_session **out, const secchat_config *cfg, const char *url)
{
    if (!url) {
        if (out)
            *out = NULL;
        return SECCHAT_ERR_INVALID_ARGUMENT;
    }
    return session_new(out, cfg, url);
}

SECCHAT_API void secchat_session_free(secchat_session *s)
{
    if (!s)
        return;
    secchat_ws_free(s->ws);
    secchat_noise_free(s->noise);
    sc_buf_free(&s->events);
    sc_free_secret(s, sizeof *s);
}

SECCHAT_API int secchat_session_feed(secchat_session *s, const uint8_t *data, size_t len)
{
    if (!s || (!data && len))
        return SECCHAT_ERR_INVALID_ARGUMENT;
    release_event(s);
    int rc = secchat_ws_feed(s->ws, data, len);
    drain_ws(s);
    return rc;
}

SECCHAT_API void secchat_session_feed_eof(secchat_session *s)
{
    if (!s)
        return;
    release_event(s);
    secchat_ws_feed_eof(s->ws);
    drain_ws(s);
}

SECCHAT_API const uint8_t *secchat_session_output(const secchat_session *s, size_t *len)
{
    if (!s) {
        if (len)
            *len = 0;
        return NULL;
    }
    return secchat_ws_output(s->ws, len);
}

SECCHAT_API void secchat_session_output_consumed(secchat_session *s, size_t n)
{
    if (s)
        secchat_ws_output_consumed(s->ws, n);
}

SECCHAT_API int secchat_session_next_event(secchat_session *s, secchat_session_event *ev)
{
    if (!s || !ev)
        return 0;
    release_event(s);
    memset(ev, 0, sizeof *ev);
    if (sc_buf_pending(&s->events) == 0) {
        if (!s->closed || s->closed_delivered)
            return 0;
        s->closed_delivered = 1;
        ev->type = SECCHAT_SESSION_EVENT_CLOSED;
        ev->close_code = s->close_code;
        ev->reason = s->close_reason;
        ev->error = s->close_error;
        return 1;
    }
    session_event_record rec;
    const uint8_t *p = sc_buf_peek(&s->events);
    memcpy(&rec, p, sizeof rec);
    ev->type = (enum secchat_session_event_type)rec.type;
    ev->data = p + sizeof rec;
    ev->len = rec.len;
    if (ev->type == SECCHAT_SESSION_EVENT_READY) {
        ev->peer_static = s->have_peer_static ? s->peer_static : NULL;
        ev->handshake_hash = s->hash;
        ev->hash_len = s->hash_len;
    }
    s->event_to_release = sizeof rec + rec.len;
    return 1;
}

SECCHAT_API int secchat_session_send(secchat_session *s, const uint8_t *data, size_t len)
{
    if (!s || (!data && len))
        return SECCHAT_ERR_INVALID_ARGUMENT;
    if (sc_ws_failure(s->ws) != SECCHAT_OK)
        return sc_ws_failure(s->ws);
    enum secchat_ws_state state = secchat_ws_state(s->ws);
    if (state == SECCHAT_WS_STATE_CLOSING || state == SECCHAT_WS_STATE_CLOSED)
        return SECCHAT_ERR_WS_CLOSED;
    if (!s->ready)
        return SECCHAT_ERR_NOISE_HANDSHAKE_PENDING;
    if (len > SECCHAT_NOISE_MAX_PLAINTEXT)
        return SECCHAT_ERR_NOISE_MSG_TOO_LARGE;
    size_t cap = len + SECCHAT_NOISE_TAG_LEN, out_len = 0;
    int rc;
    uint8_t *ct = sc_ws_message_begin(s->ws, cap, &rc);
    if (!ct)
        return rc;
    rc = secchat_noise_encrypt(s->noise, data, len, ct, cap, &out_len);
    if (rc != SECCHAT_OK) {
        sc_ws_message_abort(s->ws);
        if (rc == SECCHAT_ERR_NOISE_NONCE_EXHAUSTED)
            return fail(s, rc, SECCHAT_WS_CLOSE_POLICY_VIOLATION, "nonce exhausted");
        return rc;
    }
    sc_ws_message_commit(s->ws);
    return SECCHAT_OK;
}

SECCHAT_API int secchat_session_send_message(secchat_session *s, const secchat_message *msg)
{
    if (!s || !msg)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    uint8_t stack[SESSION_STACK_MESSAGE];
    size_t len = 0;
    int rc = secchat_message_encode(msg, stack, sizeof stack, &len);
    if (rc == SECCHAT_OK) {
        rc = secchat_session_send(s, stack, len);
        secchat_memzero(stack, len);
        return rc;
    }
    if (rc != SECCHAT_ERR_BUFFER_TOO_SMALL)
        return rc;
    uint8_t *heap = malloc(len);
    if (!heap)
        return SECCHAT_ERR_NO_MEMORY;
    rc = secchat_message_encode(msg, heap, len, &len);
    if (rc == SECCHAT_OK)
        rc = secchat_session_send(s, heap, len);
    sc_free_secret(heap, len);
    return rc;
}

SECCHAT_API int secchat_session_close(secchat_session *s, uint16_t code, const char *reason)
{
    if (!s)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    return secchat_ws_close(s->ws, code, reason);
}

SECCHAT_API int secchat_session_ping(secchat_session *s, uint64_t now_ms)
{
    if (!s)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    return secchat_ws_ping(s->ws, now_ms);
}

SECCHAT_API int secchat_session_ping_overdue(const secchat_session *s, uint64_t now_ms, uint64_t timeout_ms)
{
    return s ? secchat_ws_ping_overdue(s->ws, now_ms, timeout_ms) : 0;
}

SECCHAT_API enum secchat_session_state secchat_session_state(const secchat_session *s)
{
    if (!s)
        return SECCHAT_SESSION_STATE_CLOSED;
    switch (secchat_ws_state(s->ws)) {
    case SECCHAT_WS_STATE_CONNECTING:
        return SECCHAT_SESSION_STATE_UPGRADING;
    case SECCHAT_WS_STATE_OPEN:
        return s->ready ? SECCHAT_SESSION_STATE_READY : SECCHAT_SESSION_STATE_HANDSHAKING;
    case SECCHAT_WS_STATE_CLOSING:
        return SECCHAT_SESSION_STATE_CLOSING;
    default:
        return SECCHAT_SESSION_STATE_CLOSED;
    }
}

SECCHAT_API const secchat_ws *secchat_session_ws(const secchat_session *s)
{
    return s ? s->ws : NULL;
}

SECCHAT_API void secchat_session_trim(secchat_session *s)
{
    if (!s)
        return;
    release_event(s);
    if (sc_buf_pending(&s->events) == 0)
        sc_buf_free(&s->events);
    secchat_ws_trim(s->ws);
}
