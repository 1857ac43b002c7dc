/*
 * secchat_client: the public API. new copies what it is given; run creates
 * the session, runs the loop (loop.c) on the calling thread and reports the
 * outcome as the last event; send and close may come from any thread and go
 * through the inbox.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/runtime.h"
#include "common/internal.h"
#include "secchat/message.h"

static char *copy_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

SECCHAT_API int secchat_client_new(secchat_client **out, const secchat_config *cfg, const char *url,
                                   const secchat_client_options *opts,
                                   void (*event)(void *arg, const secchat_client_event *ev), void *arg)
{
    if (!out)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!cfg || !url)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    const char *name = opts ? opts->name : NULL;
    /* The name goes out as message content: it must be encodable. */
    if (name && (!name[0] || !secchat_utf8_valid((const uint8_t *)name, strlen(name)) ||
                 strlen(name) > SECCHAT_MESSAGE_MAX / 2))
        return SECCHAT_ERR_INVALID_ARGUMENT;
    secchat_client *c = calloc(1, sizeof *c);
    if (!c)
        return SECCHAT_ERR_NO_MEMORY;
    int rc = secchat_ws_url_parse(&c->where, url);
    if (rc != SECCHAT_OK) {
        free(c);
        return rc;
    }
    if (sc_inbox_init(&c->inbox) != SECCHAT_OK) {
        free(c);
        return SECCHAT_ERR_NO_MEMORY;
    }
    c->cfg = cfg;
    c->event = event;
    c->arg = arg;
    c->timeout_ms = opts && opts->timeout_ms ? opts->timeout_ms : SECCHAT_CLIENT_DEFAULT_TIMEOUT_MS;
    snprintf(c->service, sizeof c->service, "%u", (unsigned)c->where.port);
    c->url = copy_string(url);
    c->name = name ? copy_string(name) : NULL;
    c->rbuf = malloc(SC_CLIENT_READ_CHUNK);
    c->scratch = malloc(SECCHAT_MESSAGE_SCRATCH(SECCHAT_NOISE_MAX_PLAINTEXT));
    if (!c->url || (name && !c->name) || !c->rbuf || !c->scratch) {
        secchat_client_free(c);
        return SECCHAT_ERR_NO_MEMORY;
    }
    *out = c;
    return SECCHAT_OK;
}

SECCHAT_API void secchat_client_free(secchat_client *c)
{
    if (!c)
        return;
    sc_inbox_destroy(&c->inbox);
    secchat_session_free(c->session);
    free(c->url);
    free(c->name);
    free(c->rbuf);
    free(c->wbuf);
    free(c->scratch); /* wiped after every message */
    free(c);
}

SECCHAT_API int secchat_client_send(secchat_client *c, const char *text)
{
    if (!c || !text)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    size_t len = strlen(text);
    if (!secchat_utf8_valid((const uint8_t *)text, len))
        return SECCHAT_ERR_INVALID_ARGUMENT;
    secchat_message msg = {.sender = "", .content = text};
    size_t need = 0;
    int rc = secchat_message_encode(&msg, NULL, 0, &need); /* asks for the length */
    if (rc != SECCHAT_ERR_BUFFER_TOO_SMALL)
        return rc == SECCHAT_OK ? SECCHAT_ERR_BAD_STATE : rc;
    sc_line *line = sc_line_new(need);
    if (!line)
        return SECCHAT_ERR_NO_MEMORY;
    rc = secchat_message_encode(&msg, line->data, need, &line->len);
    if (rc != SECCHAT_OK) {
        sc_line_free(line);
        return rc;
    }
    return sc_inbox_push(&c->inbox, line);
}

SECCHAT_API int secchat_client_close(secchat_client *c)
{
    if (!c)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    return sc_inbox_request_close(&c->inbox);
}

/*
 * A write to a socket the server has reset raises SIGPIPE, which would kill
 * the process. The library must not change the process's signal handling,
 * so run blocks SIGPIPE in its own thread only, and before restoring the
 * mask takes the ones its writes raised (the write itself fails with EPIPE).
 */
static int block_sigpipe(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    return pthread_sigmask(SIG_BLOCK, &set, old) == 0 && !sigismember(old, SIGPIPE);
}

static void restore_sigpipe(const sigset_t *old)
{
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    const struct timespec zero = {0, 0};
    while (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE))
        if (sigtimedwait(&set, NULL, &zero) < 0)
            break;
    pthread_sigmask(SIG_SETMASK, old, NULL);
}

static void report_closed(secchat_client *c)
{
    secchat_client_event ev = {
        .type = SECCHAT_CLIENT_EVENT_CLOSED, .close_code = c->close_code, .reason = c->close_reason, .error = c->error};
    sc_client_emit(c, &ev);
}

SECCHAT_API int secchat_client_run(secchat_client *c)
{
    if (!c)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    if (c->ran)
        return SECCHAT_ERR_BAD_STATE;
    c->ran = 1;
    int rc = secchat_session_new_client(&c->session, c->cfg, c->url);
    if (rc != SECCHAT_OK) {
        sc_inbox_set_state(&c->inbox, SC_INBOX_FINISHED);
        sc_client_set_outcome(c, rc, SECCHAT_WS_CLOSE_ABNORMAL, secchat_strerror(rc));
        report_closed(c);
        return rc;
    }
    sigset_t old;
    int restore = block_sigpipe(&old);
    sc_client_loop(c);
    if (restore)
        restore_sigpipe(&old);
    sc_inbox_set_state(&c->inbox, SC_INBOX_FINISHED);
    /* The session wipes its keys; nothing is left to do with it. */
    secchat_session_free(c->session);
    c->session = NULL;
    report_closed(c);
    return c->error;
}
