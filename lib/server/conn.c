/*
 * One connection on its worker: socket I/O, the session's events, queue
 * bounds, closing and teardown. The chat itself is in chat.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/internal.h"
#include "server/runtime.h"

/* Reads per readiness callback, so one busy peer cannot starve the others. */
#define READS_PER_WAKEUP 4
/* How long we wait for the answer to our close frame. */
#define CLOSE_LINGER_MS 3000u

uint64_t sc_now_ms(void)
{
    return sc_now_us() / 1000u;
}

uint64_t sc_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void sc_conn_unref(sc_conn *c)
{
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
        free(c);
}

/* The socket is closed only here, after uv_close took it out of the loop's
 * epoll set while it was still open: one epoll_ctl instead of three, and
 * no epoll call on a descriptor number that accept may already reuse. */
static void on_poll_closed(uv_handle_t *h)
{
    sc_conn *c = h->data;
    close(c->fd);
    c->fd = -1;
    sc_conn_unref(c); /* the worker's reference */
}

static void on_io(uv_poll_t *h, int status, int events);

static void poll_events(sc_conn *c, int events)
{
    if (c->poll_events == events)
        return;
    c->poll_events = events;
    uv_poll_start(&c->poll, events, on_io);
}

static void link_conn(sc_worker *w, sc_conn *c)
{
    c->prev = NULL;
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->nconns++;
}

static void unlink_conn(sc_worker *w, sc_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->next = c->prev = NULL;
    w->nconns--;
}

void sc_conn_local_join(sc_conn *c)
{
    sc_room_local *l = &c->room->local[c->worker->index];
    c->local_prev = NULL;
    c->local_next = l->head;
    if (l->head)
        l->head->local_prev = c;
    l->head = c;
    atomic_fetch_add_explicit(&l->count, 1, memory_order_relaxed);
}

void sc_conn_local_leave(sc_conn *c, sc_room *r)
{
    sc_room_local *l = &r->local[c->worker->index];
    if (c->local_prev)
        c->local_prev->local_next = c->local_next;
    else
        l->head = c->local_next;
    if (c->local_next)
        c->local_next->local_prev = c->local_prev;
    c->local_next = c->local_prev = NULL;
    atomic_fetch_sub_explicit(&l->count, 1, memory_order_relaxed);
}

void sc_conn_adopt(sc_worker *w, int fd, const char *address)
{
    secchat_server *srv = w->srv;
    sc_conn *c = calloc(1, sizeof *c);
    if (!c || secchat_session_new_server(&c->session, srv->cfg) != SECCHAT_OK) {
        free(c);
        close(fd);
        sc_server_release_slot(srv, 1);
        return;
    }
    atomic_init(&c->refs, 1);
    c->worker = w;
    c->id = atomic_fetch_add(&srv->next_id, 1) + 1;
    c->fd = fd;
    c->phase = SC_CONN_SECURING;
    c->last_state = SECCHAT_SESSION_STATE_UPGRADING;
    c->last_rx_ms = sc_now_ms();
    c->deadline_ms = c->last_rx_ms + srv->opts.handshake_timeout_ms;
    snprintf(c->address, sizeof c->address, "%s", address ? address : "?");
    uv_poll_init_socket(&w->loop, &c->poll, fd);
    c->poll.data = c;
    link_conn(w, c);
    poll_events(c, UV_READABLE);
    char line[128];
    snprintf(line, sizeof line, "New connection from: %s", c->address);
    sc_event_conn(c, SECCHAT_SERVER_EVENT_CONNECTED, line);
}

static int output_pending(const sc_conn *c, const uint8_t **out, size_t *len)
{
    *out = secchat_session_output(c->session, len);
    return *len > 0;
}

int sc_conn_flush(sc_conn *c)
{
    if (c->closed)
        return -1;
    if (c->doomed) {
        sc_conn_destroy(c, SECCHAT_ERR_WS_OUTPUT_FULL, "outbound queue full (the peer does not read)");
        return -1;
    }
    const uint8_t *out;
    size_t len;
    while (output_pending(c, &out, &len)) {
        ssize_t n = send(c->fd, out, len, MSG_NOSIGNAL);
        if (n > 0) {
            secchat_session_output_consumed(c->session, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            poll_events(c, UV_READABLE | UV_WRITABLE);
            return 0;
        }
        sc_conn_destroy(c, SECCHAT_ERR_WS_CONNECTION_LOST, "the connection broke while writing");
        return -1;
    }
    c->queued_messages = 0;
    poll_events(c, UV_READABLE);
    if (secchat_session_state(c->session) == SECCHAT_SESSION_STATE_CLOSED) {
        sc_conn_destroy(c, SECCHAT_OK, NULL);
        return -1;
    }
    return 0;
}

void sc_conn_send_blob(sc_conn *c, const sc_blob *blob)
{
    if (c->closed || c->closing || c->doomed)
        return;
    secchat_server *srv = c->worker->srv;
    c->active = 1;
    int rc = secchat_session_send(c->session, blob->data, blob->len);
    size_t pending = 0;
    (void)secchat_session_output(c->session, &pending);
    if (rc == SECCHAT_ERR_WS_OUTPUT_FULL || pending > srv->opts.queue_bytes ||
        ++c->queued_messages > srv->opts.queue_messages) {
        /* It stopped reading: queue a 1008 close frame after its backlog and
         * drop it at this iteration's flush. The frame reaches a client that
         * is merely slow only if the backlog still fits in the kernel's
         * buffer; a client that never reads simply loses the connection. */
        rc = secchat_session_close(c->session, 1008, "outbound queue full");
        (void)rc; /* the connection is dropped either way */
        c->doomed = 1;
    }
    sc_worker_mark_dirty(c->worker, c);
}

void sc_conn_close(sc_conn *c, uint16_t code, const char *reason)
{
    if (c->closed || c->closing)
        return;
    if (secchat_session_state(c->session) == SECCHAT_SESSION_STATE_UPGRADING) {
        sc_conn_destroy(c, SECCHAT_ERR_NOT_RUNNING, reason); /* no WebSocket to send a close frame on */
        return;
    }
    c->closing = 1;
    c->deadline_ms = sc_now_ms() + CLOSE_LINGER_MS;
    if (secchat_session_close(c->session, code, reason) != SECCHAT_OK) {
        sc_conn_destroy(c, SECCHAT_OK, NULL);
        return;
    }
    sc_worker_mark_dirty(c->worker, c);
}

void sc_conn_destroy(sc_conn *c, int error, const char *why)
{
    if (c->closed)
        return;
    c->closed = 1;
    sc_worker *w = c->worker;
    secchat_server *srv = w->srv;

    /* Best effort: the close frame or HTTP refusal (or, for a slow reader,
     * part of its backlog) may still fit in the kernel's buffer. */
    const uint8_t *out;
    size_t len;
    if (output_pending(c, &out, &len))
        (void)send(c->fd, out, len, MSG_NOSIGNAL | MSG_DONTWAIT);

    if (c->phase == SC_CONN_MEMBER) {
        sc_room *room = NULL;
        sc_conn_local_leave(c, c->room);
        sc_registry_leave(&srv->reg, c, &room);
        c->room = room; /* for the event below; released after */
        sc_chat_on_left(w, c, room);
        char line[SECCHAT_NAME_MAX + 32];
        snprintf(line, sizeof line, "%s left the chat", c->name);
        sc_event_conn(c, SECCHAT_SERVER_EVENT_LEFT, line);
        c->room = NULL;
        sc_room_unref(room);
        c->phase = SC_CONN_NAMING;
    }
    if (error != SECCHAT_OK) {
        secchat_server_event ev;
        memset(&ev, 0, sizeof ev);
        char line[256];
        snprintf(line, sizeof line, "Connection %s closed: %s", c->address, why ? why : secchat_strerror(error));
        ev.type = SECCHAT_SERVER_EVENT_REFUSED;
        ev.error = error;
        ev.text = why ? why : secchat_strerror(error);
        ev.close_code = c->doomed ? 1008 : c->close_code;
        ev.line = line;
        ev.id = c->id;
        ev.address = c->address;
        ev.name = c->name[0] ? c->name : NULL;
        ev.fingerprint = c->fingerprint[0] ? c->fingerprint : NULL;
        sc_event_emit(srv, &ev);
    }

    secchat_session_free(c->session);
    c->session = NULL;
    unlink_conn(w, c);
    sc_server_release_slot(srv, !c->was_member);
    uv_close((uv_handle_t *)&c->poll, on_poll_closed);
}

/* Reports the session's progress and hands its events to the chat. */
static void process_events(sc_conn *c)
{
    enum secchat_session_state st = secchat_session_state(c->session);
    if (c->last_state == SECCHAT_SESSION_STATE_UPGRADING && st != SECCHAT_SESSION_STATE_UPGRADING &&
        c->phase == SC_CONN_SECURING && st != SECCHAT_SESSION_STATE_CLOSED) {
        sc_event_conn(c, SECCHAT_SERVER_EVENT_UPGRADED, "WebSocket connection established");
        sc_event_conn(c, SECCHAT_SERVER_EVENT_HANDSHAKE, "Starting Noise handshake...");
    }
    c->last_state = st;

    secchat_session_event ev;
    while (!c->closed && secchat_session_next_event(c->session, &ev)) {
        switch (ev.type) {
        case SECCHAT_SESSION_EVENT_READY:
            memcpy(c->peer_key, ev.peer_static, sizeof c->peer_key);
            if (secchat_fingerprint(c->peer_key, c->fingerprint) != SECCHAT_OK)
                c->fingerprint[0] = '\0';
            c->phase = SC_CONN_NAMING;
            c->deadline_ms = sc_now_ms() + c->worker->srv->opts.name_timeout_ms;
            sc_event_conn(c, SECCHAT_SERVER_EVENT_SECURE, "Secure channel established");
            sc_chat_on_secure(c);
            break;
        case SECCHAT_SESSION_EVENT_MESSAGE:
            if (!c->closing)
                sc_chat_on_message(c, ev.data, ev.len);
            break;
        case SECCHAT_SESSION_EVENT_CLOSED:
            /* destroy writes what is pending (our close frame or HTTP refusal) first. */
            if (ev.error != SECCHAT_OK) {
                c->close_code = ev.close_code;
                char why[200];
                snprintf(why, sizeof why, "%s%s%s (close code %u)", secchat_strerror(ev.error),
                         ev.reason && ev.reason[0] ? ": " : "", ev.reason ? ev.reason : "", (unsigned)ev.close_code);
                sc_conn_destroy(c, ev.error, why);
            } else {
                sc_conn_destroy(c, SECCHAT_OK, NULL);
            }
            return;
        case SECCHAT_SESSION_EVENT_NONE:
            break;
        }
    }
}

static void on_readable(sc_conn *c)
{
    sc_worker *w = c->worker;
    for (int i = 0; i < READS_PER_WAKEUP && !c->closed; i++) {
        ssize_t n = recv(c->fd, w->rbuf, 65536, 0);
        if (n > 0) {
            c->last_rx_ms = sc_now_ms();
            int rc = secchat_session_feed(c->session, w->rbuf, (size_t)n);
            (void)rc; /* a failure arrives as the CLOSED event */
            process_events(c);
            if ((size_t)n < 65536)
                break;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        secchat_session_feed_eof(c->session); /* EOF or reset */
        process_events(c);
        if (!c->closed)
            sc_conn_destroy(c, SECCHAT_ERR_WS_CONNECTION_LOST, "the peer went away");
        return;
    }
    if (!c->closed) {
        size_t len = 0;
        (void)secchat_session_output(c->session, &len);
        if (len)
            sc_worker_mark_dirty(w, c);
    }
}

static void on_io(uv_poll_t *h, int status, int events)
{
    sc_conn *c = h->data;
    if (c->closed)
        return;
    sc_conn_ref(c);
    c->active = 1;
    if (status < 0) {
        sc_conn_destroy(c, SECCHAT_ERR_WS_CONNECTION_LOST, uv_strerror(status));
    } else {
        if (events & UV_WRITABLE)
            sc_conn_flush(c);
        if (!c->closed && (events & UV_READABLE))
            on_readable(c);
    }
    sc_conn_unref(c);
}

int sc_conn_tick(sc_conn *c, uint64_t now)
{
    if (c->closed)
        return 0;
    secchat_server *srv = c->worker->srv;
    if (c->closing) {
        if (now >= c->deadline_ms)
            sc_conn_destroy(c, SECCHAT_ERR_TIMEOUT, "no answer to our close frame");
        return 0;
    }
    if (c->phase == SC_CONN_SECURING) {
        if (now >= c->deadline_ms) {
            if (secchat_session_state(c->session) != SECCHAT_SESSION_STATE_UPGRADING &&
                secchat_session_close(c->session, 1008, "handshake timeout") == SECCHAT_OK)
                sc_conn_flush(c);
            if (!c->closed)
                sc_conn_destroy(c, SECCHAT_ERR_TIMEOUT, "upgrade and handshake not completed in time");
        }
        return 0;
    }
    if (c->phase == SC_CONN_NAMING && now >= c->deadline_ms) {
        sc_chat_refuse(c, SECCHAT_ERR_TIMEOUT, "no name given in time");
        return 0;
    }
    if (secchat_session_ping_overdue(c->session, now, srv->opts.pong_timeout_ms)) {
        sc_conn_destroy(c, SECCHAT_ERR_TIMEOUT, "no answer to a ping");
        return 0;
    }
    if (now - c->last_rx_ms >= srv->opts.ping_interval_ms && secchat_session_ping(c->session, now) == SECCHAT_OK) {
        sc_worker_mark_dirty(c->worker, c);
        return 0;
    }
    /* Quiet for a whole tick: most connections of a chat server are. */
    int trim = !c->active && !c->dirty && !c->trimmed;
    if (trim)
        secchat_session_trim(c->session);
    c->trimmed = !c->active && !c->dirty;
    c->active = 0;
    return trim;
}
