/*
 * The libuv side of the client: one loop (owned by the client, never the
 * default loop) on the thread inside secchat_client_run. It resolves the
 * host, connects, feeds what it reads to the session and writes the
 * session's output; the close_timer and deadline bound every wait.
 *
 * Writing: uv_try_write first; what the kernel does not take at once is
 * copied into wbuf and handed to uv_write, and marked consumed in the
 * session right away. The session's output buffer may move on the next
 * feed or send, so a uv_write must never point into it; copying the
 * remainder (instead of holding off new output until the write completes)
 * keeps reading and sending going while a write is in flight, and costs a
 * copy only when the socket is full. One uv_write at a time: new output
 * waits in the session, whose max_output limit then applies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/runtime.h"

static void teardown(secchat_client *c);

void sc_client_set_outcome(secchat_client *c, int error, uint16_t code, const char *reason)
{
    if (c->have_outcome)
        return;
    c->have_outcome = 1;
    c->error = error;
    c->close_code = code;
    size_t n = reason ? strlen(reason) : 0;
    if (n > SECCHAT_WS_MAX_CLOSE_REASON)
        n = SECCHAT_WS_MAX_CLOSE_REASON;
    if (n)
        memcpy(c->close_reason, reason, n);
    c->close_reason[n] = '\0';
}

/* Ends the run with an error found outside the session (resolve, connect, timeout). */
static void fail_run(secchat_client *c, int error, const char *reason)
{
    sc_client_set_outcome(c, error, SECCHAT_WS_CLOSE_ABNORMAL, reason);
    teardown(c);
}

/* ---- timers ------------------------------------------------------------- */

static void on_close_timer(uv_timer_t *t)
{
    secchat_client *c = t->data;
    enum sc_client_timer kind = c->timer_kind;
    c->timer_kind = SC_TIMER_NONE;
    if (kind == SC_TIMER_PROMPT) { /* no prompt came: send the held lines anyway */
        c->holding = 0;
        sc_client_pump(c);
    } else if (kind == SC_TIMER_CLOSE) {
        /* No close frame from the server: give up as if the connection were lost. */
        if (c->session)
            secchat_session_feed_eof(c->session);
        sc_client_dispatch(c);
        sc_client_set_outcome(c, SECCHAT_ERR_WS_CONNECTION_LOST, SECCHAT_WS_CLOSE_ABNORMAL, "no close from server");
        teardown(c);
    } else if (kind == SC_TIMER_LINGER) {
        teardown(c); /* the close is done; the server just did not close TCP */
    }
}

void sc_client_timer_start(secchat_client *c, enum sc_client_timer kind, uint64_t ms)
{
    if (c->phase == SC_PHASE_DONE)
        return;
    c->timer_kind = kind;
    uv_timer_start(&c->close_timer, on_close_timer, ms, 0);
}

static void on_deadline(uv_timer_t *t)
{
    secchat_client *c = t->data;
    if (c->phase == SC_PHASE_DONE || c->phase == SC_PHASE_DRAINING || c->secure)
        return;
    char reason[64];
    snprintf(reason, sizeof reason, "no secure channel within %u ms", c->timeout_ms);
    if (c->session && c->tcp_connected && !c->writing &&
        secchat_session_state(c->session) == SECCHAT_SESSION_STATE_HANDSHAKING &&
        secchat_session_close(c->session, SECCHAT_WS_CLOSE_POLICY_VIOLATION, "handshake timeout") == SECCHAT_OK) {
        /* Best effort: tell the server why, without waiting for anything. */
        size_t len;
        const uint8_t *out = secchat_session_output(c->session, &len);
        uv_buf_t b = uv_buf_init((char *)out, (unsigned)(len < UINT32_MAX ? len : UINT32_MAX));
        if (len)
            (void)uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    }
    fail_run(c, SECCHAT_ERR_TIMEOUT, reason);
}

/* ---- writing ------------------------------------------------------------ */

/* The socket is unusable for writing: drop the output and treat it as the end of the connection. */
static void write_failed(secchat_client *c)
{
    size_t len;
    c->write_failed = 1;
    secchat_session_output(c->session, &len);
    secchat_session_output_consumed(c->session, len);
    if (!c->peer_eof) {
        c->peer_eof = 1;
        uv_read_stop((uv_stream_t *)&c->tcp);
        secchat_session_feed_eof(c->session);
    }
    c->again = 1;
}

static void on_write(uv_write_t *req, int status)
{
    secchat_client *c = req->data;
    c->writing = 0;
    if (status == UV_ECANCELED || c->phase == SC_PHASE_DONE)
        return;
    if (status < 0)
        write_failed(c);
    sc_client_pump(c);
}

static void flush_output(secchat_client *c)
{
    if (c->writing || !c->tcp_connected || c->write_failed || c->phase == SC_PHASE_DONE)
        return;
    for (;;) {
        size_t len;
        const uint8_t *out = secchat_session_output(c->session, &len);
        if (len == 0)
            return;
        if (len > UINT32_MAX)
            len = UINT32_MAX; /* uv_buf_t lengths; the rest goes next round */
        uv_buf_t b = uv_buf_init((char *)out, (unsigned)len);
        int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        if (n > 0) {
            secchat_session_output_consumed(c->session, (size_t)n);
            continue;
        }
        if (n != UV_EAGAIN && n != UV_ENOSYS) {
            write_failed(c);
            return;
        }
        if (len > c->wcap) {
            uint8_t *p = realloc(c->wbuf, len);
            if (!p) {
                write_failed(c); /* cannot keep the bytes: the connection cannot go on */
                return;
            }
            c->wbuf = p;
            c->wcap = len;
        }
        memcpy(c->wbuf, out, len);
        secchat_session_output_consumed(c->session, len);
        b = uv_buf_init((char *)c->wbuf, (unsigned)len);
        c->writer.data = c;
        if (uv_write(&c->writer, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
            write_failed(c);
            return;
        }
        c->writing = 1;
        return;
    }
}

/* ---- the end of the connection ------------------------------------------ */

static void on_handle_closed(uv_handle_t *h)
{
    (void)h;
}

static void on_tcp_closed(uv_handle_t *h)
{
    secchat_client *c = h->data;
    c->tcp_inited = 0;
}

/* Closes every handle; uv_run returns once they are closed. Idempotent. */
static void teardown(secchat_client *c)
{
    if (c->phase == SC_PHASE_DONE)
        return;
    if (c->phase == SC_PHASE_RESOLVING)
        uv_cancel((uv_req_t *)&c->resolver); /* if already running, its callback just frees the result */
    c->phase = SC_PHASE_DONE;
    /* Detach the wake-up under the inbox lock before closing it (see inbox.h). */
    sc_inbox_set_state(&c->inbox, SC_INBOX_FINISHED);
    if (c->tcp_inited && !uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, on_tcp_closed); /* cancels a pending connect, write or shutdown */
    uv_close((uv_handle_t *)&c->deadline, on_handle_closed);
    uv_close((uv_handle_t *)&c->close_timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->wake, on_handle_closed);
    if (c->addrs) {
        uv_freeaddrinfo(c->addrs);
        c->addrs = c->next_addr = NULL;
    }
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    secchat_client *c = req->data;
    if (status == UV_ECANCELED || c->phase == SC_PHASE_DONE)
        return;
    if (status < 0) /* the server is gone already */
        teardown(c);
}

/* DRAINING: all output written, then our FIN (so a server that waits for us
 * closes too), then the server's EOF; the linger timer bounds it. */
static void maybe_finish(secchat_client *c)
{
    size_t pending = 0;
    if (c->session)
        secchat_session_output(c->session, &pending);
    if (c->tcp_connected && !c->write_failed && (c->writing || pending > 0))
        return;
    if (!c->tcp_connected || c->peer_eof || c->write_failed) {
        teardown(c);
        return;
    }
    if (!c->shutdown_sent) {
        c->shutdown_sent = 1;
        c->shutter.data = c;
        if (uv_shutdown(&c->shutter, (uv_stream_t *)&c->tcp, on_shutdown) != 0)
            teardown(c);
    }
}

/* ---- chat lines and the close request ----------------------------------- */

static void send_queued(secchat_client *c)
{
    sc_line *line;
    while ((line = sc_inbox_pop(&c->inbox)) != NULL) {
        int rc = secchat_session_send(c->session, line->data, line->len);
        if (rc == SECCHAT_ERR_WS_OUTPUT_FULL) {
            sc_inbox_unpop(&c->inbox, line); /* retried once the output drains */
            return;
        }
        sc_line_free(line);
        if (rc != SECCHAT_OK)
            return; /* the session failed or is closing: its CLOSED event says why */
    }
}

/* Lines go out once the channel is secure (and the name answered); the
 * close waits behind them, so "send; close" never loses the send. */
static void serve_inbox(secchat_client *c)
{
    if (c->phase != SC_PHASE_OPEN || secchat_session_state(c->session) != SECCHAT_SESSION_STATE_READY)
        return;
    if (c->holding)
        return;
    send_queued(c);
    if (!c->close_sent && sc_inbox_close_requested(&c->inbox) && sc_inbox_empty(&c->inbox)) {
        sc_inbox_set_state(&c->inbox, SC_INBOX_CLOSING);
        if (secchat_session_close(c->session, SECCHAT_WS_CLOSE_NORMAL, "bye") == SECCHAT_OK) {
            c->close_sent = 1;
            sc_client_timer_start(c, SC_TIMER_CLOSE, SC_CLIENT_CLOSE_WAIT_MS);
        }
    }
}

void sc_client_pump(secchat_client *c)
{
    for (int round = 0; round < 4 && c->phase != SC_PHASE_DONE; round++) {
        c->again = 0;
        if (c->phase == SC_PHASE_OPEN) {
            sc_client_check_upgrade(c);
            sc_client_dispatch(c);
            serve_inbox(c);
            sc_client_dispatch(c); /* a failed send may have ended the session */
        }
        if (c->phase == SC_PHASE_OPEN || c->phase == SC_PHASE_DRAINING)
            flush_output(c);
        if (!c->again)
            break;
    }
    if (c->phase == SC_PHASE_DRAINING)
        maybe_finish(c);
}

/* ---- reading ------------------------------------------------------------ */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    secchat_client *c = h->data;
    (void)suggested;
    *buf = uv_buf_init((char *)c->rbuf, SC_CLIENT_READ_CHUNK);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    secchat_client *c = s->data;
    (void)buf;
    if (c->phase == SC_PHASE_DONE)
        return;
    if (nread > 0) {
        if (c->phase == SC_PHASE_OPEN) { /* after CLOSED the session ignores input anyway */
            int rc = secchat_session_feed(c->session, c->rbuf, (size_t)nread);
            (void)rc; /* a failure comes again as the CLOSED event, with its close frame in the output */
        }
    } else if (nread < 0) { /* UV_EOF, ECONNRESET, ...: the server is gone */
        c->peer_eof = 1;
        uv_read_stop(s);
        secchat_session_feed_eof(c->session);
    }
    sc_client_pump(c);
}

/* ---- connecting --------------------------------------------------------- */

static void try_next_address(secchat_client *c);

static void on_retry_closed(uv_handle_t *h)
{
    secchat_client *c = h->data;
    c->tcp_inited = 0;
    if (c->phase == SC_PHASE_CONNECTING)
        try_next_address(c);
}

static void connect_failed(secchat_client *c, int status)
{
    c->last_connect_error = status;
    uv_close((uv_handle_t *)&c->tcp, on_retry_closed);
}

static void on_connect(uv_connect_t *req, int status)
{
    secchat_client *c = req->data;
    if (status == UV_ECANCELED || c->phase != SC_PHASE_CONNECTING)
        return;
    if (status < 0) {
        connect_failed(c, status);
        return;
    }
    uv_freeaddrinfo(c->addrs);
    c->addrs = c->next_addr = NULL;
    c->tcp_connected = 1;
    c->phase = SC_PHASE_OPEN;
    uv_tcp_nodelay(&c->tcp, 1); /* chat lines are small and interactive */
    secchat_client_event ev = {.type = SECCHAT_CLIENT_EVENT_CONNECTED};
    sc_client_emit(c, &ev);
    if (c->phase != SC_PHASE_OPEN)
        return;
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
        fail_run(c, SECCHAT_ERR_CONNECT, "cannot read from the socket");
        return;
    }
    sc_client_pump(c); /* the upgrade request */
}

static void try_next_address(secchat_client *c)
{
    while (c->next_addr) {
        struct addrinfo *a = c->next_addr;
        c->next_addr = a->ai_next;
        if (uv_tcp_init(&c->loop, &c->tcp) != 0)
            break;
        c->tcp_inited = 1;
        c->tcp.data = c;
        c->connector.data = c;
        int rc = uv_tcp_connect(&c->connector, &c->tcp, a->ai_addr, on_connect);
        if (rc == 0)
            return;
        connect_failed(c, rc); /* tries the next one once the handle is closed */
        return;
    }
    char reason[96];
    snprintf(reason, sizeof reason, "%s",
             c->last_connect_error ? uv_strerror(c->last_connect_error) : "no usable address");
    fail_run(c, SECCHAT_ERR_CONNECT, reason);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    secchat_client *c = req->data;
    if (c->phase != SC_PHASE_RESOLVING) { /* torn down meanwhile (timeout, close) */
        uv_freeaddrinfo(res);
        return;
    }
    if (status < 0) {
        fail_run(c, SECCHAT_ERR_ADDRESS, uv_strerror(status));
        return;
    }
    c->addrs = c->next_addr = res;
    c->phase = SC_PHASE_CONNECTING;
    try_next_address(c);
}

/* ---- the loop ----------------------------------------------------------- */

static void on_wake(uv_async_t *a)
{
    sc_client_pump(a->data);
}

void sc_client_loop(secchat_client *c)
{
    if (uv_loop_init(&c->loop) != 0) {
        sc_client_set_outcome(c, SECCHAT_ERR_THREAD, SECCHAT_WS_CLOSE_ABNORMAL, "event loop not started");
        return;
    }
    uv_timer_init(&c->loop, &c->deadline);
    uv_timer_init(&c->loop, &c->close_timer);
    c->deadline.data = c->close_timer.data = c;
    if (uv_async_init(&c->loop, &c->wake, on_wake) != 0) {
        uv_close((uv_handle_t *)&c->deadline, on_handle_closed);
        uv_close((uv_handle_t *)&c->close_timer, on_handle_closed);
        uv_run(&c->loop, UV_RUN_DEFAULT);
        (void)uv_loop_close(&c->loop);
        sc_client_set_outcome(c, SECCHAT_ERR_THREAD, SECCHAT_WS_CLOSE_ABNORMAL, "event loop not started");
        return;
    }
    c->wake.data = c;
    sc_inbox_attach(&c->inbox, &c->wake);
    uv_timer_start(&c->deadline, on_deadline, c->timeout_ms, 0);

    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    c->resolver.data = c;
    c->phase = SC_PHASE_RESOLVING;
    int rc = uv_getaddrinfo(&c->loop, &c->resolver, on_resolved, c->where.host, c->service, &hints);
    if (rc != 0)
        fail_run(c, SECCHAT_ERR_ADDRESS, uv_strerror(rc));

    uv_run(&c->loop, UV_RUN_DEFAULT);
    (void)uv_loop_close(&c->loop);
    if (!c->have_outcome) /* not reachable: every path to the end records one */
        sc_client_set_outcome(c, SECCHAT_ERR_WS_CONNECTION_LOST, SECCHAT_WS_CLOSE_ABNORMAL, "");
}
