/*
 * Session events -> client events: READY becomes SECURE, transport messages
 * are decoded into MESSAGE events (and the name prompt is answered), CLOSED
 * records the outcome that run reports once the socket is closed.
 */
#include <string.h>

#include "client/runtime.h"
#include "secchat/keys.h"
#include "secchat/message.h"

void sc_client_emit(secchat_client *c, const secchat_client_event *ev)
{
    if (c->event)
        c->event(c->arg, ev);
}

static void emit_type(secchat_client *c, enum secchat_client_event_type type)
{
    secchat_client_event ev = {.type = type};
    sc_client_emit(c, &ev);
}

void sc_client_check_upgrade(secchat_client *c)
{
    if (c->handshake_reported || !c->session)
        return;
    enum secchat_session_state st = secchat_session_state(c->session);
    /* CLOSED may also follow a refused upgrade, so only the open states count here. */
    if (st == SECCHAT_SESSION_STATE_HANDSHAKING || st == SECCHAT_SESSION_STATE_READY ||
        st == SECCHAT_SESSION_STATE_CLOSING) {
        c->handshake_reported = 1;
        emit_type(c, SECCHAT_CLIENT_EVENT_HANDSHAKE);
    }
}

/* Sends the name as an ordinary chat line. */
static void send_name(secchat_client *c)
{
    secchat_message answer = {.sender = "", .content = c->name};
    int rc = secchat_session_send_message(c->session, &answer);
    if (rc != SECCHAT_OK && rc != SECCHAT_ERR_WS_CLOSED) {
        /* Output full or out of memory: without the name the chat cannot go on. */
        c->local_error = rc;
        if (!c->close_sent &&
            secchat_session_close(c->session, SECCHAT_WS_CLOSE_INTERNAL_ERROR, "name not sent") == SECCHAT_OK) {
            c->close_sent = 1;
            sc_client_timer_start(c, SC_TIMER_CLOSE, SC_CLIENT_CLOSE_WAIT_MS);
        }
    }
}

static int ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/* The automatic answer to the server's name prompt (options.name). */
static void answer_prompt(secchat_client *c, const secchat_message *m)
{
    if (!c->name || strcmp(m->sender, "Server") != 0)
        return;
    if (!c->name_answered && strcmp(m->content, SC_CLIENT_PROMPT) == 0) {
        c->name_answered = 1;
        send_name(c);
    } else if (c->name_answered && c->name_retries < SC_CLIENT_NAME_RETRIES && m->type &&
               strcmp(m->type, "error") == 0 && ends_with(m->content, m->content_len, SC_CLIENT_PROMPT)) {
        c->name_retries++;
        send_name(c);
    }
}

/* The first server message ends the wait for the prompt: either it was the
 * prompt (answered above, so held lines now follow the name) or none comes. */
static void stop_holding(secchat_client *c)
{
    if (!c->holding)
        return;
    c->holding = 0;
    if (c->timer_kind == SC_TIMER_PROMPT) {
        uv_timer_stop(&c->close_timer);
        c->timer_kind = SC_TIMER_NONE;
    }
}

static void on_message(secchat_client *c, const secchat_session_event *sev)
{
    secchat_message m;
    size_t used = SECCHAT_MESSAGE_SCRATCH(sev->len);
    int rc = secchat_message_decode(&m, c->scratch, used, sev->data, sev->len);
    if (rc != SECCHAT_OK) {
        /* The protocol has no way to skip a message: like the original, end
         * the connection (1008) and report why. */
        if (!c->local_error)
            c->local_error = rc;
        if (!c->close_sent &&
            secchat_session_close(c->session, SECCHAT_WS_CLOSE_POLICY_VIOLATION, "invalid message") == SECCHAT_OK) {
            c->close_sent = 1;
            sc_client_timer_start(c, SC_TIMER_CLOSE, SC_CLIENT_CLOSE_WAIT_MS);
        }
        return;
    }
    secchat_client_event ev = {.type = SECCHAT_CLIENT_EVENT_MESSAGE, .message = &m};
    sc_client_emit(c, &ev);
    answer_prompt(c, &m);
    stop_holding(c);
    secchat_memzero(c->scratch, used); /* the scratch held plaintext */
}

static void on_ready(secchat_client *c, const secchat_session_event *sev)
{
    char fp[SECCHAT_FINGERPRINT_SIZE] = "";
    if (sev->peer_static && secchat_fingerprint(sev->peer_static, fp) != SECCHAT_OK)
        fp[0] = '\0';
    uv_timer_stop(&c->deadline);
    if (!c->handshake_reported) { /* upgrade and handshake finished within one read */
        c->handshake_reported = 1;
        emit_type(c, SECCHAT_CLIENT_EVENT_HANDSHAKE);
    }
    c->secure = 1;
    if (c->name) {
        c->holding = 1;
        sc_client_timer_start(c, SC_TIMER_PROMPT, SC_CLIENT_PROMPT_WAIT_MS);
    }
    secchat_client_event ev = {.type = SECCHAT_CLIENT_EVENT_SECURE,
                               .peer_key = sev->peer_static,
                               .fingerprint = fp,
                               .handshake_hash = sev->handshake_hash,
                               .hash_len = sev->hash_len};
    sc_client_emit(c, &ev);
}

static void on_closed(secchat_client *c, const secchat_session_event *sev)
{
    int error = c->local_error ? c->local_error : sev->error;
    int class = secchat_error_class(sev->error);
    /* A handshake failure implies the upgrade had completed. */
    if (!c->handshake_reported && (class == -200 || class == -400)) {
        c->handshake_reported = 1;
        emit_type(c, SECCHAT_CLIENT_EVENT_HANDSHAKE);
    }
    sc_client_set_outcome(c, error, sev->close_code, sev->reason);
    sc_inbox_set_state(&c->inbox, SC_INBOX_CLOSING);
    uv_timer_stop(&c->deadline);
    c->holding = 0;
    c->phase = SC_PHASE_DRAINING;
    sc_client_timer_start(c, SC_TIMER_LINGER, SC_CLIENT_LINGER_MS);
}

void sc_client_dispatch(secchat_client *c)
{
    secchat_session_event sev;
    while (c->session && c->phase == SC_PHASE_OPEN && secchat_session_next_event(c->session, &sev)) {
        switch (sev.type) {
        case SECCHAT_SESSION_EVENT_READY:
            on_ready(c, &sev);
            break;
        case SECCHAT_SESSION_EVENT_MESSAGE:
            on_message(c, &sev);
            break;
        case SECCHAT_SESSION_EVENT_CLOSED:
            on_closed(c, &sev);
            break;
        default:
            break;
        }
    }
}
