/*
 * chat_load: a load generator and delivery checker for secchat-server.
 *
 *   chat_load [--url ws://127.0.0.1:PORT/] [--clients N] [--rooms R] [--messages M] [--timeout-ms T]
 *             [--stall-ms S]
 *
 * Defaults: ws://127.0.0.1:8080/, 200 clients, 4 rooms, 50 messages, a
 * 120000 ms limit on the whole run and a 15000 ms limit on a stall (no
 * client changing state and no delivery at all; 0 turns it off), so that a
 * lost message fails the run quickly with a report of what is missing.
 *
 * One process, one libuv loop, N client connections at once, each a client
 * secchat_session sharing one config (the demo PSK). Phases:
 *
 *   setup  connect, WebSocket upgrade, Noise handshake; answer the name prompt
 *          with "c<i>", wait for "c<i> joined the chat", send "/join room<i % R>"
 *          and wait for the own "c<i> joined room room<r>" notice. At most
 *          SETUP_WINDOW clients are in this phase at once, so that a burst of
 *          connections cannot run into the server's handshake timeout.
 *   chat   every client sends M messages "m <i> <seq>", seq 0..M-1. Pacing is
 *          by global rounds: seq s may be sent once every receiver has got
 *          all of round s - W (W rounds in flight), so no receiver ever has
 *          more than about W * (room size - 1) <= IN_FLIGHT_BUDGET messages
 *          queued at the server, far below its per-connection bounds, and
 *          nothing may be dropped legitimately.
 *   close  every client closes with 1000 and waits for the server's close
 *          frame and then for its TCP FIN.
 *
 * Each receiver checks every chat message: from a member of its own room,
 * not itself, with sender "c<j>" matching the author in the content, each
 * (author, seq) exactly once (a bitmap), and per author in seq order.
 * Server messages other than the ones waited for are ignored.
 *
 * Last line on stdout:
 *   chat_load: clients=N rooms=R messages=M deliveries=D expected=E lost=L dup=U order_errors=O
 * Exit status 0 only if every phase finished in time, D == E and L, U, O and
 * the count of unexpected messages are 0; 1 otherwise (with a line on
 * stderr saying what went wrong or what was still pending); 2 on bad usage.
 *
 * Sockets: raw non-blocking sockets watched with uv_poll_t rather than
 * uv_tcp_t. The session owns its output buffer and only learns how much of
 * it was taken through output_consumed; send() on the raw socket writes
 * straight from that buffer and reports exactly what the kernel took, while
 * uv_write would need a copy kept alive until its callback. It also keeps
 * the per-connection cost (and the tool's own noise) small.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "secchat.h"

#define DEMO_PSK "my_super_secret_pre_shared_key!!"
#define PROMPT "Please enter your name:"
#define SETUP_WINDOW 64      /* clients connecting, handshaking or joining at once */
#define IN_FLIGHT_BUDGET 512 /* chat messages in flight per receiver (server bound: 4096, 1 MiB) */
#define MAX_WINDOW 8         /* rounds in flight at most */
#define READS_PER_WAKEUP 16  /* then let the other connections have a turn */
#define MAX_REPORTED 10      /* examples listed per kind of problem */

enum phase { PHASE_SETUP, PHASE_CHAT, PHASE_CLOSE, PHASE_DONE };
static const char *const phase_names[] = {"setup", "chat", "close", "done"};

enum cstate {
    C_IDLE,       /* not started */
    C_CONNECTING, /* TCP connect in progress */
    C_SECURING,   /* upgrade and handshake, waiting for the name prompt */
    C_NAMING,     /* name sent, waiting for "c<i> joined the chat" */
    C_JOINING,    /* /join sent, waiting for "c<i> joined room room<r>" */
    C_JOINED,     /* in its room: sends and receives chat */
    C_CLOSING,    /* close frame sent, waiting for the server's */
    C_CLOSED,     /* close handshake done, waiting for the server's FIN */
    C_DONE        /* socket closed */
};
static const char *const state_names[] = {"idle",   "connecting", "securing", "naming", "joining",
                                          "joined", "closing",    "closed",   "done"};

struct load;

typedef struct client {
    struct load *L;
    int idx, room; /* an author's position within its room (its rank) is idx / rooms */
    int fd;
    uv_poll_t poll;
    int poll_init, poll_events;
    secchat_session *s;
    enum secchat_session_state layer; /* the session's state before the last feed */
    enum cstate state;
    int next_seq;  /* next chat message to send */
    int *max_seen; /* per author rank: highest seq received, -1 for none */
    uint8_t *seen; /* per author rank, per seq: one bit */
} client;

typedef struct load {
    uv_loop_t loop;
    uv_timer_t deadline, tick;
    secchat_config *cfg;
    const char *url;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int n, rooms, msgs;
    unsigned timeout_ms, stall_ms;
    uint64_t progress, last_progress, last_progress_at; /* last_progress_at: uv_hrtime */
    client *c;
    enum phase phase;
    int started, in_setup, joined, done;
    int window;               /* rounds in flight */
    int rounds_done;          /* rounds every receiver has got in full */
    uint64_t *round_received; /* per seq: valid first deliveries */
    uint64_t per_round;       /* deliveries one round must make */
    uint64_t sent, deliveries, dup, order_errors, unexpected;
    int failed, loop_init;
    uint64_t t_start, t_phase; /* uv_hrtime */
} load;

static uint8_t read_buf[65536];
static char scratch[SECCHAT_MESSAGE_SCRATCH(SECCHAT_MESSAGE_MAX)];

static double ms_since(uint64_t t)
{
    return (double)(uv_hrtime() - t) / 1e6;
}

static int room_size(const load *L, int room)
{
    return room < L->n ? (L->n - room + L->rooms - 1) / L->rooms : 0;
}

/* Ends the run: the first failure is printed, later ones (consequences) are not. */
__attribute__((format(printf, 2, 3))) static void fail(load *L, const char *fmt, ...)
{
    if (!L->failed) {
        va_list ap;
        fflush(stdout);
        fputs("chat_load: FAILED: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
    L->failed = 1;
    uv_stop(&L->loop);
}

/* Every state change and every delivery is progress, for the stall check. */
static void set_state(client *c, enum cstate state)
{
    c->state = state;
    c->L->progress++;
}

static void on_poll(uv_poll_t *h, int status, int events);

static void update_poll(client *c)
{
    if (c->state == C_DONE || !c->poll_init)
        return;
    int want;
    if (c->state == C_CONNECTING) {
        want = UV_WRITABLE;
    } else {
        size_t len;
        secchat_session_output(c->s, &len);
        want = UV_READABLE | (len ? UV_WRITABLE : 0);
    }
    if (want != c->poll_events) {
        int rc = uv_poll_start(&c->poll, want, on_poll);
        if (rc < 0)
            fail(c->L, "c%d: uv_poll_start: %s", c->idx, uv_strerror(rc));
        c->poll_events = want;
    }
}

/* Writes what the kernel takes now; the rest waits for UV_WRITABLE. A dead
 * socket is left to the read side, which sees the EOF or error next. */
static void client_flush(client *c)
{
    if (c->state == C_CONNECTING || c->state == C_DONE)
        return;
    size_t len;
    const uint8_t *out;
    while ((out = secchat_session_output(c->s, &len)) != NULL && len > 0) {
        ssize_t n = send(c->fd, out, len, MSG_NOSIGNAL);
        if (n > 0) {
            secchat_session_output_consumed(c->s, (size_t)n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            secchat_session_output_consumed(c->s, len); /* nobody will read it */
            break;
        }
    }
    update_poll(c);
}

static int client_send(client *c, const char *text)
{
    secchat_message msg = {.sender = "", .content = text};
    int rc = secchat_session_send_message(c->s, &msg);
    if (rc != SECCHAT_OK)
        fail(c->L, "c%d (%s): sending \"%s\": %s", c->idx, state_names[c->state], text, secchat_strerror(rc));
    return rc;
}

static void check_chat_done(load *L);

/* Sends the messages the window allows. */
static void send_more(client *c)
{
    load *L = c->L;
    char text[64];
    int limit = L->rounds_done + L->window;
    if (limit > L->msgs)
        limit = L->msgs;
    while (c->next_seq < limit) {
        snprintf(text, sizeof text, "m %d %d", c->idx, c->next_seq);
        secchat_message msg = {.sender = "", .content = text};
        int rc = secchat_session_send_message(c->s, &msg);
        if (rc == SECCHAT_ERR_WS_OUTPUT_FULL)
            break; /* the rest goes when the output drains (on_poll calls us again) */
        if (rc != SECCHAT_OK) {
            fail(L, "c%d: sending \"%s\": %s", c->idx, text, secchat_strerror(rc));
            return;
        }
        c->next_seq++;
        L->sent++;
    }
    client_flush(c);
}

static void start_close(load *L)
{
    printf("chat_load: chat: %llu deliveries in %.0f ms; closing\n", (unsigned long long)L->deliveries,
           ms_since(L->t_phase));
    fflush(stdout);
    L->phase = PHASE_CLOSE;
    L->t_phase = uv_hrtime();
    for (int i = 0; i < L->n && !L->failed; i++) {
        client *c = &L->c[i];
        int rc = secchat_session_close(c->s, 1000, "bye");
        if (rc != SECCHAT_OK) {
            fail(L, "c%d: close: %s", i, secchat_strerror(rc));
            return;
        }
        set_state(c, C_CLOSING);
        client_flush(c);
    }
}

static void check_chat_done(load *L)
{
    if (L->phase == PHASE_CHAT && L->rounds_done == L->msgs && L->sent == (uint64_t)L->n * (uint64_t)L->msgs)
        start_close(L);
}

static void advance_rounds(load *L)
{
    int before = L->rounds_done;
    while (L->rounds_done < L->msgs && L->round_received[L->rounds_done] == L->per_round)
        L->rounds_done++;
    if (L->rounds_done != before)
        for (int i = 0; i < L->n && !L->failed; i++)
            send_more(&L->c[i]);
    check_chat_done(L);
}

static void start_chat(load *L)
{
    printf("chat_load: setup: %d clients connected, named and in %d rooms in %.0f ms\n", L->n, L->rooms,
           ms_since(L->t_phase));
    fflush(stdout);
    L->phase = PHASE_CHAT;
    L->t_phase = uv_hrtime();
    for (int i = 0; i < L->n && !L->failed; i++)
        send_more(&L->c[i]);
    advance_rounds(L); /* rooms of one member make empty rounds */
}

static void client_connect(client *c);

static void start_connects(load *L)
{
    while (!L->failed && L->started < L->n && L->in_setup < SETUP_WINDOW) {
        L->in_setup++;
        client_connect(&L->c[L->started++]);
    }
}

/* Parses a decimal number of at most 9 digits at *p; advances *p. */
static int parse_num(const char **p, int *out)
{
    const char *s = *p;
    int v = 0, digits = 0;
    while (*s >= '0' && *s <= '9' && digits < 9) {
        v = v * 10 + (*s++ - '0');
        digits++;
    }
    if (digits == 0 || (*s >= '0' && *s <= '9'))
        return -1;
    *out = v;
    *p = s;
    return 0;
}

/* Why a chat message is not one this client should get, or NULL. */
static const char *misplaced(const client *c, const secchat_message *m, int *author, int *seq)
{
    const load *L = c->L;
    const char *p = m->sender;
    int from;
    if (*p++ != 'c' || parse_num(&p, &from) != 0 || *p != '\0')
        return "sender is not a load client";
    p = m->content;
    if (strncmp(p, "m ", 2) != 0 || (p += 2, parse_num(&p, author)) != 0 || *p++ != ' ' || parse_num(&p, seq) != 0 ||
        *p != '\0')
        return "content is not \"m <client> <seq>\"";
    if (*author != from || *author >= L->n || *seq >= L->msgs)
        return "sender, author or seq out of place";
    if (*author == c->idx)
        return "own message echoed";
    if (*author % L->rooms != c->room)
        return "from another room";
    if (L->phase != PHASE_CHAT || c->state != C_JOINED)
        return "outside the chat phase";
    return NULL;
}

/* A chat message from another client. */
static void on_chat(client *c, const secchat_message *m)
{
    load *L = c->L;
    int author, seq;
    const char *why = misplaced(c, m, &author, &seq);
    if (why) {
        if (L->unexpected++ < MAX_REPORTED)
            fprintf(stderr, "chat_load: c%d (room%d) got an unexpected message (%s): sender \"%s\" content \"%s\"\n",
                    c->idx, c->room, why, m->sender, m->content);
        return;
    }
    int rank = author / L->rooms;
    size_t bit = (size_t)rank * (size_t)L->msgs + (size_t)seq;
    if (c->seen[bit / 8] & (1u << (bit % 8))) {
        if (L->dup++ < MAX_REPORTED)
            fprintf(stderr, "chat_load: c%d got \"%s\" from %s twice\n", c->idx, m->content, m->sender);
        return;
    }
    c->seen[bit / 8] |= (uint8_t)(1u << (bit % 8));
    if (seq < c->max_seen[rank]) {
        if (L->order_errors++ < MAX_REPORTED)
            fprintf(stderr, "chat_load: c%d got \"%s\" after seq %d of c%d\n", c->idx, m->content, c->max_seen[rank],
                    author);
    } else {
        c->max_seen[rank] = seq;
    }
    L->deliveries++;
    L->progress++;
    if (++L->round_received[seq] == L->per_round && seq == L->rounds_done)
        advance_rounds(L);
}

static void on_message(client *c, const uint8_t *data, size_t len)
{
    load *L = c->L;
    secchat_message m;
    int rc = secchat_message_decode(&m, scratch, sizeof scratch, data, len);
    if (rc != SECCHAT_OK) {
        fail(L, "c%d: a message from the server does not decode (%s): %.*s", c->idx, secchat_strerror(rc),
             (int)(len > 200 ? 200 : len), (const char *)data);
        return;
    }
    if (strcmp(m.sender, "Server") != 0) {
        on_chat(c, &m);
        return;
    }
    char want[96], text[64];
    switch (c->state) {
    case C_SECURING:
        if (strcmp(m.content, PROMPT) == 0) {
            snprintf(text, sizeof text, "c%d", c->idx);
            if (client_send(c, text) == SECCHAT_OK)
                set_state(c, C_NAMING);
        }
        return;
    case C_NAMING:
        snprintf(want, sizeof want, "c%d joined the chat", c->idx);
        if (strcmp(m.content, want) == 0) {
            snprintf(text, sizeof text, "/join room%d", c->room);
            if (client_send(c, text) == SECCHAT_OK)
                set_state(c, C_JOINING);
        } else if (m.type && strcmp(m.type, "error") == 0) {
            fail(L, "c%d: name refused: %s", c->idx, m.content);
        }
        return;
    case C_JOINING:
        snprintf(want, sizeof want, "c%d joined room room%d", c->idx, c->room);
        if (strcmp(m.content, want) == 0) {
            set_state(c, C_JOINED);
            L->joined++;
            L->in_setup--;
            if (L->joined == L->n)
                start_chat(L);
            else
                start_connects(L);
        } else if (m.type && strcmp(m.type, "error") == 0) {
            fail(L, "c%d: /join room%d refused: %s", c->idx, c->room, m.content);
        }
        return;
    default:
        return; /* notices about others: ignored */
    }
}

static void client_finish(client *c)
{
    uv_close((uv_handle_t *)&c->poll, NULL); /* the fd may be closed right after uv_close */
    close(c->fd);
    c->fd = -1;
    set_state(c, C_DONE);
    if (++c->L->done == c->L->n) {
        printf("chat_load: close: %d connections closed with 1000 in %.0f ms\n", c->L->n, ms_since(c->L->t_phase));
        c->L->phase = PHASE_DONE;
        uv_stop(&c->L->loop);
    }
}

static void on_closed(client *c, const secchat_session_event *ev)
{
    if (c->state == C_CLOSING && ev->error == SECCHAT_OK && ev->close_code == 1000) {
        set_state(c, C_CLOSED); /* the server closes TCP next */
        return;
    }
    /* which layer it was in tells a refused upgrade from a dropped secure channel */
    static const char *const layers[] = {"?", "upgrade", "noise handshake", "secure", "closing", "closed"};
    fail(
        c->L,
        "c%d: connection closed in phase %s (state %s, session was in %s): close code %u, reason \"%s\", error %d (%s)",
        c->idx, phase_names[c->L->phase], state_names[c->state], layers[c->layer], ev->close_code,
        ev->reason ? ev->reason : "", ev->error, ev->error ? secchat_strerror(ev->error) : "orderly close");
}

static void process_events(client *c)
{
    secchat_session_event ev;
    while (!c->L->failed && secchat_session_next_event(c->s, &ev)) {
        if (ev.type == SECCHAT_SESSION_EVENT_MESSAGE)
            on_message(c, ev.data, ev.len);
        else if (ev.type == SECCHAT_SESSION_EVENT_CLOSED)
            on_closed(c, &ev);
        /* READY: the server speaks first (the name prompt) */
    }
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    client *c = h->data;
    load *L = c->L;
    if (c->state == C_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        /* libuv reports any POLLERR as UV_EBADF: the socket knows the real reason */
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
            err = errno;
        if (err == 0 && status < 0)
            err = -status;
        if (err != 0) {
            fail(L, "c%d: connect to %s: %s", c->idx, L->url, strerror(err));
            return;
        }
        set_state(c, C_SECURING);
        client_flush(c); /* the upgrade request */
        return;
    }
    int eof = status < 0;
    if (!eof && (events & UV_READABLE)) {
        for (int i = 0; i < READS_PER_WAKEUP && !L->failed; i++) {
            ssize_t n = recv(c->fd, read_buf, sizeof read_buf, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            if (n <= 0) {
                eof = 1;
                break;
            }
            c->layer = secchat_session_state(c->s);
            if (secchat_session_feed(c->s, read_buf, (size_t)n) != SECCHAT_OK) {
                /* the reason comes with the CLOSED event */
            }
            process_events(c);
        }
    }
    if (eof && !L->failed) {
        if (c->state == C_CLOSED) {
            client_finish(c);
            return;
        }
        c->layer = secchat_session_state(c->s);
        secchat_session_feed_eof(c->s);
        process_events(c);
        /* cppcheck-suppress knownConditionTrueFalse ; process_events can fail the run (it reaches L through c) */
        if (!L->failed)
            fail(L, "c%d: the server closed the connection in phase %s (state %s)", c->idx, phase_names[L->phase],
                 state_names[c->state]);
        return;
    }
    if (L->failed)
        return;
    if (L->phase == PHASE_CHAT && c->state == C_JOINED)
        send_more(c); /* after WS_OUTPUT_FULL */
    else
        client_flush(c);
}

static void client_connect(client *c)
{
    load *L = c->L;
    int one = 1, rc;
    c->fd = socket(L->addr.ss_family, SOCK_STREAM, 0);
    if (c->fd < 0) {
        fail(L, "c%d: socket: %s", c->idx, strerror(errno));
        return;
    }
    fcntl(c->fd, F_SETFD, FD_CLOEXEC);
    if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) != 0) {
        fail(L, "c%d: fcntl: %s", c->idx, strerror(errno));
        return;
    }
    /* Small messages in lockstep rounds: Nagle would add delayed-ACK stalls to every round. */
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (const struct sockaddr *)&L->addr, L->addrlen) != 0 && errno != EINPROGRESS) {
        fail(L, "c%d: connect to %s: %s", c->idx, L->url, strerror(errno));
        return;
    }
    if ((rc = secchat_session_new_client(&c->s, L->cfg, L->url)) != SECCHAT_OK) {
        fail(L, "c%d: secchat_session_new_client: %s", c->idx, secchat_strerror(rc));
        return;
    }
    if ((rc = uv_poll_init_socket(&L->loop, &c->poll, c->fd)) < 0) {
        fail(L, "c%d: uv_poll_init_socket: %s", c->idx, uv_strerror(rc));
        return;
    }
    c->poll_init = 1;
    c->poll.data = c;
    set_state(c, C_CONNECTING);
    if ((rc = uv_poll_start(&c->poll, UV_WRITABLE, on_poll)) < 0) {
        fail(L, "c%d: uv_poll_start: %s", c->idx, uv_strerror(rc));
        return;
    }
    c->poll_events = UV_WRITABLE;
}

/* What the run was still waiting for, for the timeout message. */
static void report_pending(load *L)
{
    int count[C_DONE + 1] = {0};
    for (int i = 0; i < L->n; i++)
        count[L->c[i].state]++;
    fprintf(stderr, "chat_load: clients by state:");
    for (int s = 0; s <= C_DONE; s++)
        if (count[s])
            fprintf(stderr, " %s=%d", state_names[s], count[s]);
    fputc('\n', stderr);
    if (L->phase == PHASE_SETUP || L->phase == PHASE_CLOSE) {
        int shown = 0;
        enum cstate target = L->phase == PHASE_SETUP ? C_JOINED : C_DONE;
        for (int i = 0; i < L->n && shown < MAX_REPORTED; i++)
            if (L->c[i].state != target && L->c[i].state != C_IDLE) {
                fprintf(stderr, "chat_load:   c%d still %s\n", i, state_names[L->c[i].state]);
                shown++;
            }
        return;
    }
    if (L->phase != PHASE_CHAT)
        return;
    int k = L->rounds_done;
    fprintf(
        stderr,
        "chat_load: %d of %d rounds complete (window %d); round %d has %llu of %llu deliveries; sent %llu of %llu\n", k,
        L->msgs, L->window, k, (unsigned long long)(k < L->msgs ? L->round_received[k] : 0),
        (unsigned long long)L->per_round, (unsigned long long)L->sent,
        (unsigned long long)L->n * (unsigned long long)L->msgs);
    int shown = 0;
    for (int i = 0; i < L->n && shown < MAX_REPORTED && k < L->msgs; i++) {
        client *c = &L->c[i];
        for (int a = c->room; a < L->n && shown < MAX_REPORTED; a += L->rooms) {
            size_t bit = (size_t)(a / L->rooms) * (size_t)L->msgs + (size_t)k;
            if (a != i && !(c->seen[bit / 8] & (1u << (bit % 8)))) {
                fprintf(stderr, "chat_load:   c%d is missing \"m %d %d\" (c%d has sent %d)\n", i, a, k, a,
                        L->c[a].next_seq);
                shown++;
            }
        }
    }
}

static void give_up(load *L, const char *why)
{
    fflush(stdout);
    fprintf(stderr, "chat_load: FAILED: %s after %.0f ms in phase %s (timeout %u ms, stall limit %u ms)\n", why,
            ms_since(L->t_start), phase_names[L->phase], L->timeout_ms, L->stall_ms);
    report_pending(L);
    L->failed = 1;
    uv_stop(&L->loop);
}

static void on_deadline(uv_timer_t *t)
{
    give_up(t->data, "timeout");
}

/* Once a second: has anything happened since the last look? */
static void on_tick(uv_timer_t *t)
{
    load *L = t->data;
    uint64_t now = uv_hrtime();
    if (L->progress != L->last_progress) {
        L->last_progress = L->progress;
        L->last_progress_at = now;
    } else if ((double)(now - L->last_progress_at) / 1e6 >= L->stall_ms) {
        give_up(L, "no progress");
    }
}

static int resolve(load *L)
{
    secchat_ws_url u;
    int rc = secchat_ws_url_parse(&u, L->url);
    if (rc != SECCHAT_OK) {
        fprintf(stderr, "chat_load: bad --url %s: %s\n", L->url, secchat_strerror(rc));
        return -1;
    }
    char port[8];
    snprintf(port, sizeof port, "%u", u.port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    if ((rc = getaddrinfo(u.host, port, &hints, &res)) != 0) {
        fprintf(stderr, "chat_load: %s: %s\n", u.host, gai_strerror(rc));
        return -1;
    }
    memcpy(&L->addr, res->ai_addr, res->ai_addrlen);
    L->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* Each connection is one fd here (and one in the server, if it runs as the same user). */
static void raise_fd_limit(int n)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)n + 64) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int parse_int(const char *name, const char *s, int min, int max, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < min || v > max) {
        fprintf(stderr, "chat_load: --%s: expected a number from %d to %d, got \"%s\"\n", name, min, max, s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int usage(void)
{
    fputs("usage: chat_load [--url ws://HOST:PORT/] [--clients N] [--rooms R] [--messages M] [--timeout-ms T]\n"
          "                 [--stall-ms S]\n",
          stderr);
    return 2;
}

static int setup(load *L)
{
    int rc;
    if ((rc = secchat_config_new(&L->cfg)) != SECCHAT_OK ||
        (rc = secchat_config_set_psk(L->cfg, (const uint8_t *)DEMO_PSK)) != SECCHAT_OK) {
        fprintf(stderr, "chat_load: config: %s\n", secchat_strerror(rc));
        return -1;
    }
    L->c = calloc((size_t)L->n, sizeof *L->c);
    L->round_received = calloc((size_t)L->msgs + 1, sizeof *L->round_received);
    if (!L->c || !L->round_received)
        return -1;
    for (int i = 0; i < L->n; i++) {
        client *c = &L->c[i];
        int members = room_size(L, i % L->rooms); /* >= 1: the client itself */
        c->L = L;
        c->idx = i;
        c->fd = -1;
        c->room = i % L->rooms;
        c->max_seen = calloc((size_t)members + 1, sizeof *c->max_seen);
        c->seen = calloc(((size_t)members * (size_t)L->msgs + 7) / 8 + 1, 1);
        if (!c->max_seen || !c->seen)
            return -1;
        for (int a = 0; a < members; a++)
            c->max_seen[a] = -1;
    }
    int largest = 1;
    for (int r = 0; r < L->rooms; r++) {
        int m = room_size(L, r);
        L->per_round += (uint64_t)m * (uint64_t)(m > 0 ? m - 1 : 0);
        if (m - 1 > largest)
            largest = m - 1;
    }
    L->window = IN_FLIGHT_BUDGET / largest;
    L->window = L->window < 1 ? 1 : L->window > MAX_WINDOW ? MAX_WINDOW : L->window;
    if ((rc = uv_loop_init(&L->loop)) < 0 || (rc = uv_timer_init(&L->loop, &L->deadline)) < 0 ||
        (rc = uv_timer_init(&L->loop, &L->tick)) < 0) {
        fprintf(stderr, "chat_load: libuv: %s\n", uv_strerror(rc));
        return -1;
    }
    L->deadline.data = L->tick.data = L;
    L->loop_init = 1;
    return 0;
}

static void teardown(load *L)
{
    if (L->loop_init) {
        for (int i = 0; i < L->n; i++) {
            client *c = &L->c[i];
            if (c->poll_init && !uv_is_closing((uv_handle_t *)&c->poll))
                uv_close((uv_handle_t *)&c->poll, NULL);
        }
        uv_close((uv_handle_t *)&L->deadline, NULL);
        uv_close((uv_handle_t *)&L->tick, NULL);
        uv_run(&L->loop, UV_RUN_DEFAULT); /* runs the close callbacks */
        if (uv_loop_close(&L->loop) != 0)
            fprintf(stderr, "chat_load: warning: the loop still has handles\n");
    }
    if (L->c) {
        for (int i = 0; i < L->n; i++) {
            client *c = &L->c[i];
            if (c->fd >= 0)
                close(c->fd);
            secchat_session_free(c->s);
            free(c->max_seen);
            free(c->seen);
        }
    }
    free(L->c);
    free(L->round_received);
    secchat_config_free(L->cfg);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"url", required_argument, NULL, 'u'},
                                         {"clients", required_argument, NULL, 'c'},
                                         {"rooms", required_argument, NULL, 'r'},
                                         {"messages", required_argument, NULL, 'm'},
                                         {"timeout-ms", required_argument, NULL, 't'},
                                         {"stall-ms", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    load L = {.url = "ws://127.0.0.1:8080/", .n = 200, .rooms = 4, .msgs = 50};
    int opt, timeout = 120000, stall = 15000;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int bad = 0;
        switch (opt) {
        case 'u':
            L.url = optarg;
            break;
        case 'c':
            bad = parse_int("clients", optarg, 1, 100000, &L.n);
            break;
        case 'r':
            bad = parse_int("rooms", optarg, 1, 100000, &L.rooms);
            break;
        case 'm':
            bad = parse_int("messages", optarg, 0, 1000000, &L.msgs);
            break;
        case 't':
            bad = parse_int("timeout-ms", optarg, 1, 86400000, &timeout);
            break;
        case 's':
            bad = parse_int("stall-ms", optarg, 0, 86400000, &stall);
            break;
        default:
            return usage();
        }
        if (bad)
            return 2;
    }
    if (optind != argc)
        return usage();
    L.timeout_ms = (unsigned)timeout;
    L.stall_ms = (unsigned)stall;
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit(L.n);
    if (resolve(&L) != 0)
        return 2;
    int status = 1;
    if (setup(&L) != 0) {
        fprintf(stderr, "chat_load: set-up failed (out of memory?)\n");
        goto out;
    }
    L.t_start = L.t_phase = uv_hrtime();
    L.last_progress_at = L.t_start;
    uv_timer_start(&L.deadline, on_deadline, L.timeout_ms, 0);
    if (L.stall_ms)
        uv_timer_start(&L.tick, on_tick, 1000, 1000);
    start_connects(&L);
    if (!L.failed)
        uv_run(&L.loop, UV_RUN_DEFAULT);
    if (!L.failed && L.phase != PHASE_DONE)
        fail(&L, "the event loop ended in phase %s", phase_names[L.phase]);
    uint64_t expected = L.per_round * (uint64_t)L.msgs;
    uint64_t lost = expected > L.deliveries ? expected - L.deliveries : 0;
    if (L.unexpected)
        fprintf(stderr, "chat_load: %llu unexpected messages\n", (unsigned long long)L.unexpected);
    printf("chat_load: total %.0f ms\n", ms_since(L.t_start));
    printf("chat_load: clients=%d rooms=%d messages=%d deliveries=%llu expected=%llu lost=%llu dup=%llu "
           "order_errors=%llu\n",
           L.n, L.rooms, L.msgs, (unsigned long long)L.deliveries, (unsigned long long)expected,
           (unsigned long long)lost, (unsigned long long)L.dup, (unsigned long long)L.order_errors);
    if (!L.failed && L.deliveries == expected && lost == 0 && L.dup == 0 && L.order_errors == 0 && L.unexpected == 0)
        status = 0;
out:
    teardown(&L);
    return status;
}
