/*
 * secchat-bench: load generator for secchat-server and for plaintext
 * WebSocket broadcast servers (the anchors of docs/performance.md).
 *
 *   secchat-bench fanout    [--clients N] [--senders S] [--size B] [--rate R] [--duration S] [--warmup S]
 *   secchat-bench handshake [--concurrency C] [--duration S] [--warmup S]
 *   secchat-bench idle      [--clients N] [--duration S]
 *   common: [--url ws://HOST:PORT/PATH] [--plaintext [--subprotocol P] [--no-echo]] [--window W]
 *
 * fanout     N clients named c<i> in the server's default room; S of them
 *            send messages of B content bytes, either as fast as a window of
 *            W messages in flight allows (saturation, the default) or at R
 *            deliveries per second. The content starts with the send time
 *            (CLOCK_MONOTONIC ns, 16 hex digits) and a message number (12 hex
 *            digits); receivers take the latency from it. After --warmup,
 *            deliveries and latencies are counted for --duration; then
 *            sending stops and the run waits for what is still in flight
 *            (until 3 s pass without a delivery), so every message not
 *            delivered by then counts as lost.
 * handshake  C connections at a time: connect, upgrade, Noise handshake,
 *            answer the name prompt (h<k>), wait for "h<k> joined the chat",
 *            close with 1000 and wait for the server's close and FIN. The
 *            latency is from connect() to the joined notice.
 * idle       N clients, named i<k> and moved to rooms of 100 (g<k/100>, so
 *            that join notices stay linear in N), held open until --duration
 *            ends (0: until SIGINT or SIGTERM). Prints "idle: ready" once all
 *            are set up; the bench script then reads the server's RSS.
 *
 * --plaintext runs the same modes against a plaintext WebSocket broadcast
 * server with a built-in minimal client (plainws.c): binary frames out, any
 * data frame in; no Noise, no JSON, no names. The default subprotocol is
 * libwebsockets' "lws-mirror-protocol", whose server also sends every
 * message back to its sender: those echoes count as deliveries (each is a
 * write the server makes), so a message is expected N times, not N - 1
 * (--no-echo for servers that skip the sender).
 *
 * The window keeps saturation honest: a message is in flight until every
 * receiver has it, and at most W are in flight (counted, not as a span of
 * message numbers, so one late message does not hold the others back), so
 * no receiver is ever more than W messages behind and the server's per-connection bounds (4096
 * messages, 1 MiB) are never reached by a client that reads. The default W
 * is 200000 deliveries' worth (200000 / receivers per message), at most
 * 2048 and at most 512 KiB of messages (W * (B + 200)), at least 16.
 *
 * The last line on stdout is "result key=value ..."; cpu_pct is this
 * process's user+system time over the measured interval (100 = one core).
 * Exit status 0 when the run finished (losses are reported, not failed),
 * 1 on a failure, 2 on bad usage. The secure modes use the original
 * program's published demo PSK (start the server with --demo-psk).
 */
#define _GNU_SOURCE /* getopt_long */
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
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define DEMO_PSK "my_super_secret_pre_shared_key!!"
#define PROMPT "Please enter your name:"
#define SETUP_WINDOW 64   /* connections being set up at once (fanout, idle) */
#define READS_PER_WAKEUP 16
#define READ_BUFFER 65536
#define RING_BITS 17      /* messages tracked in flight: the window is at most half of this */
#define DRAIN_MS 3000     /* after sending stops: wait while deliveries still come, until this long without one */
#define STALL_MS 5000     /* no delivery at all this long while messages are in flight: give up */
#define CLOSE_MS 3000     /* the close phase, at most */
#define SETUP_MS 180000   /* setting up all connections, at most */
#define IDLE_ROOM_SIZE 100
#define MIN_SIZE 32       /* timestamp + message number + separators */

enum phase { P_SETUP, P_WARMUP, P_MEASURE, P_DRAIN, P_CLOSE, P_DONE };
static const char *const phase_names[] = {"setup", "warmup", "measure", "drain", "close", "done"};

typedef struct slot {
    uint64_t gid;       /* message number in this slot */
    uint32_t remaining; /* deliveries still to come */
} slot;

typedef struct bench {
    uv_loop_t loop;
    uv_timer_t timer;
    uv_prepare_t prepare;
    uv_signal_t sigint, sigterm;
    int loop_init;
    secchat_config *cfg;
    const char *url_text;
    secchat_ws_url url;
    struct sockaddr_storage addr;
    socklen_t addrlen;

    /* options */
    enum mode mode;
    int plaintext, echo, quiet;
    const char *subprotocol;
    int n, senders, size, window, concurrency;
    double rate, duration, warmup;

    bconn *c;
    int nconns; /* entries of c: N, or C slots in handshake mode */
    enum phase phase;
    uint64_t t_phase, t_start, t_measure0, t_measure1;
    double cpu_measure0, cpu_measure1;
    int started, in_setup, ready, active;
    bconn *dirty;
    int failed, signals;

    /* fanout */
    slot *ring;
    uint64_t next_gid, oldest, per_msg;
    uint64_t in_flight; /* sent, not yet delivered to every receiver */
    uint64_t sent, sent_measure, received, received_measure, unexpected;
    uint64_t rate_t0, rate_sent;
    uint64_t last_delivery;
    int rr;
    int closed_early;
    char *content; /* the message being built */
    hist lat;

    /* handshake */
    uint64_t hs_next_name, hs_completed, hs_completed_measure, hs_failed;
} bench;

static uint8_t read_buf[READ_BUFFER];
static char scratch[SECCHAT_MESSAGE_SCRATCH(SECCHAT_MESSAGE_MAX)];

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

static double ms_since(uint64_t t)
{
    return (double)(now_ns() - t) / 1e6;
}

static void set_phase(bench *B, enum phase p);

/* The first failure is printed; the run then closes what is open and ends. */
__attribute__((format(printf, 2, 3))) static void fail(bench *B, const char *fmt, ...)
{
    if (!B->failed) {
        va_list ap;
        fflush(stdout);
        fputs(PROG ": FAILED: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
    B->failed = 1;
    if (B->phase < P_CLOSE)
        set_phase(B, P_CLOSE);
}

/* ---- connections ---- */

static void on_poll(uv_poll_t *h, int status, int events);

static const uint8_t *conn_output(const bconn *c, size_t *len)
{
    if (c->s)
        return secchat_session_output(c->s, len);
    if (c->pw)
        return plainws_output(c->pw, len);
    *len = 0;
    return NULL;
}

static void conn_consumed(bconn *c, size_t n)
{
    if (c->s)
        secchat_session_output_consumed(c->s, n);
    else if (c->pw)
        plainws_consumed(c->pw, n);
}

static void update_poll(bconn *c)
{
    if (!c->poll_init || c->state == CS_DONE)
        return;
    int want;
    if (c->state == CS_CONNECTING) {
        want = UV_WRITABLE;
    } else {
        size_t len;
        conn_output(c, &len);
        want = UV_READABLE | (len ? UV_WRITABLE : 0);
    }
    if (want != c->poll_events) {
        int rc = uv_poll_start(&c->poll, want, on_poll);
        if (rc < 0)
            fail(c->B, "%s: uv_poll_start: %s", c->name, uv_strerror(rc));
        c->poll_events = want;
    }
}

/* Writes what the kernel takes now; the rest waits for UV_WRITABLE. A dead
 * socket is left to the read side, which sees the EOF or error next. */
static void conn_flush(bconn *c)
{
    if (c->state == CS_IDLE || c->state == CS_CONNECTING || c->state == CS_DONE)
        return;
    size_t len;
    const uint8_t *out;
    while ((out = conn_output(c, &len)) != NULL && len > 0) {
        ssize_t n = send(c->fd, out, len, MSG_NOSIGNAL);
        if (n > 0)
            conn_consumed(c, (size_t)n);
        else if (n < 0 && errno == EINTR)
            continue;
        else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        else {
            conn_consumed(c, len); /* nobody will read it */
            break;
        }
    }
    update_poll(c);
}

static void mark_dirty(bconn *c)
{
    if (c->dirty)
        return;
    c->dirty = 1;
    c->dirty_next = c->B->dirty;
    c->B->dirty = c;
}

static void flush_dirty(bench *B)
{
    while (B->dirty) {
        bconn *c = B->dirty;
        B->dirty = c->dirty_next;
        c->dirty = 0;
        c->dirty_next = NULL;
        conn_flush(c);
    }
}

static void conn_start(bconn *c);
static void check_close_done(bench *B);

static void on_poll_closed(uv_handle_t *h)
{
    bconn *c = h->data;
    bench *B = c->B;
    close(c->fd); /* only now: the number must not be reused while libuv still watches it */
    c->fd = -1;
    c->poll_init = 0;
    B->active--;
    if (B->mode == MODE_HANDSHAKE && (B->phase == P_WARMUP || B->phase == P_MEASURE) && !B->failed)
        conn_start(c); /* the slot takes the next connection */
    check_close_done(B);
}

/* Tears a connection down (without a close handshake if none was done). */
static void conn_finish(bconn *c)
{
    if (c->state == CS_DONE || c->state == CS_IDLE)
        return;
    if (c->state != CS_READY && c->state != CS_CLOSING && c->state != CS_CLOSED && c->B->phase == P_SETUP)
        c->B->in_setup--;
    c->state = CS_DONE;
    secchat_session_free(c->s);
    c->s = NULL;
    plainws_free(c->pw);
    c->pw = NULL;
    if (c->poll_init) {
        uv_poll_stop(&c->poll);
        if (!uv_is_closing((uv_handle_t *)&c->poll))
            uv_close((uv_handle_t *)&c->poll, on_poll_closed);
    } else if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
        c->B->active--;
    }
}

/* Starts the close handshake; the server answers and then closes TCP. */
static void conn_close(bconn *c)
{
    if (c->state == CS_CLOSING || c->state == CS_CLOSED || c->state == CS_DONE || c->state == CS_IDLE)
        return;
    if (c->state == CS_CONNECTING) {
        conn_finish(c);
        return;
    }
    int ok;
    if (c->s)
        ok = secchat_session_state(c->s) <= SECCHAT_SESSION_STATE_READY &&
             secchat_session_close(c->s, 1000, "bye") == SECCHAT_OK;
    else
        ok = plainws_open(c->pw) && plainws_close(c->pw) == 0;
    if (!ok) {
        conn_finish(c); /* no WebSocket yet (or already gone): just drop it */
        return;
    }
    c->state = CS_CLOSING;
    mark_dirty(c);
}

/* ---- fan-out messages ---- */

static void put_hex(char *p, uint64_t v, int digits)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = digits - 1; i >= 0; i--, v >>= 4)
        p[i] = hex[v & 15];
}

/* Hex digit values (16 means "not a digit"): a table, as this runs for every delivery. */
static uint8_t hexval[256];

static void init_hexval(void)
{
    memset(hexval, 16, sizeof hexval);
    for (int i = 0; i < 10; i++)
        hexval['0' + i] = (uint8_t)i;
    for (int i = 0; i < 6; i++)
        hexval['a' + i] = (uint8_t)(10 + i);
}

static int get_hex(const char *p, int digits, uint64_t *out)
{
    uint64_t v = 0;
    unsigned bad = 0;
    for (int i = 0; i < digits; i++) {
        unsigned d = hexval[(unsigned char)p[i]];
        bad |= d;
        v = v << 4 | (d & 15u);
    }
    if (bad & 16u)
        return -1;
    *out = v;
    return 0;
}

/* Sends message number next_gid from c. 0, 1 when c's output is full, -1 on failure. */
static int send_one(bench *B, bconn *c, uint64_t now)
{
    char *m = B->content;
    put_hex(m, now, 16);
    m[16] = ' ';
    put_hex(m + 17, B->next_gid, 12);
    m[29] = ' ';
    int rc;
    if (c->s) {
        secchat_message msg = {.sender = "", .content = m};
        rc = secchat_session_send_message(c->s, &msg);
        if (rc == SECCHAT_ERR_WS_OUTPUT_FULL)
            return 1;
    } else {
        rc = plainws_send(c->pw, (const uint8_t *)m, (size_t)B->size) == 0 ? SECCHAT_OK : SECCHAT_ERR_NO_MEMORY;
    }
    if (rc != SECCHAT_OK) {
        fail(B, "%s: sending: %s", c->name, secchat_strerror(rc));
        return -1;
    }
    slot *s = &B->ring[B->next_gid & ((1u << RING_BITS) - 1)];
    s->gid = B->next_gid;
    s->remaining = (uint32_t)B->per_msg;
    B->next_gid++;
    B->in_flight++;
    B->sent++;
    if (B->phase == P_MEASURE)
        B->sent_measure++;
    mark_dirty(c);
    return 0;
}

/* Sends what the window (and, with --rate, the schedule) allows, round robin over the senders. */
static void fill(bench *B)
{
    if (B->phase != P_WARMUP && B->phase != P_MEASURE)
        return;
    uint64_t now = now_ns();
    uint64_t due = UINT64_MAX;
    if (B->rate > 0) {
        double msgs = B->rate / (double)B->per_msg * (double)(now - B->rate_t0) / 1e9;
        due = (uint64_t)msgs;
        if (due <= B->rate_sent)
            return;
    }
    int misses = 0;
    /* The ring must never wrap onto a message still in flight: a receiver far
     * behind on one sender holds the oldest slot while later ones complete. */
    while (B->in_flight < (uint64_t)B->window && B->next_gid - B->oldest < (1u << RING_BITS) - 1 &&
           B->rate_sent < due && !B->failed) {
        bconn *c = &B->c[B->rr];
        B->rr = (B->rr + 1) % B->senders;
        int rc = c->state == CS_READY ? send_one(B, c, now) : 1;
        if (rc < 0)
            return;
        if (rc > 0) {
            if (++misses >= B->senders)
                break; /* every sender's output is full: wait for the socket */
            continue;
        }
        misses = 0;
        B->rate_sent++;
    }
}

static void advance_oldest(bench *B)
{
    const uint64_t mask = (1u << RING_BITS) - 1;
    while (B->oldest < B->next_gid && B->ring[B->oldest & mask].remaining == 0)
        B->oldest++;
}

/* A chat message reached c at time now. */
static void on_delivery(bench *B, const char *content, size_t len, uint64_t now)
{
    uint64_t ts, gid;
    if (len < MIN_SIZE || get_hex(content, 16, &ts) != 0 || get_hex(content + 17, 12, &gid) != 0) {
        B->unexpected++;
        return;
    }
    slot *s = &B->ring[gid & ((1u << RING_BITS) - 1)];
    if (gid < B->oldest || gid >= B->next_gid || s->gid != gid || s->remaining == 0) {
        B->unexpected++; /* a duplicate, or not ours */
        return;
    }
    s->remaining--;
    B->received++;
    B->last_delivery = now;
    if (B->phase == P_MEASURE) {
        B->received_measure++;
        hist_add(&B->lat, now > ts ? now - ts : 0);
    }
    if (s->remaining == 0) {
        B->in_flight--;
        if (gid == B->oldest)
            advance_oldest(B);
    }
}

/* ---- set-up, the server's messages ---- */

static void start_connects(bench *B);

/* c has finished its set-up. */
static void conn_ready(bconn *c, uint64_t now)
{
    bench *B = c->B;
    if (B->mode == MODE_HANDSHAKE) {
        B->hs_completed++;
        if (B->phase == P_MEASURE) {
            B->hs_completed_measure++;
            hist_add(&B->lat, now - c->t_start);
        }
        conn_close(c);
        return;
    }
    c->state = CS_READY;
    B->ready++;
    B->in_setup--;
    if (B->ready == B->n) {
        if (!B->quiet)
            printf(PROG ": setup: %d connections ready in %.0f ms\n", B->n, ms_since(B->t_phase));
        set_phase(B, B->mode == MODE_IDLE ? P_MEASURE : B->warmup > 0 ? P_WARMUP : P_MEASURE);
    } else {
        start_connects(B);
    }
}

static void send_text(bconn *c, const char *text)
{
    secchat_message msg = {.sender = "", .content = text};
    int rc = secchat_session_send_message(c->s, &msg);
    if (rc != SECCHAT_OK)
        fail(c->B, "%s: sending \"%s\": %s", c->name, text, secchat_strerror(rc));
    mark_dirty(c);
}

static void on_server_message(bconn *c, const secchat_message *m, uint64_t now)
{
    char want[96], text[64];
    switch (c->state) {
    case CS_SECURING:
        if (strcmp(m->content, PROMPT) == 0) {
            send_text(c, c->name);
            c->state = CS_NAMING;
        }
        return;
    case CS_NAMING:
        snprintf(want, sizeof want, "%s joined the chat", c->name);
        if (strcmp(m->content, want) == 0) {
            if (c->B->mode == MODE_IDLE) {
                snprintf(text, sizeof text, "/join g%d", c->idx / IDLE_ROOM_SIZE);
                send_text(c, text);
                c->state = CS_JOINING;
            } else {
                conn_ready(c, now);
            }
        } else if (m->type && strcmp(m->type, "error") == 0) {
            fail(c->B, "%s: name refused: %s", c->name, m->content);
        }
        return;
    case CS_JOINING:
        snprintf(want, sizeof want, "%s joined room g%d", c->name, c->idx / IDLE_ROOM_SIZE);
        if (strcmp(m->content, want) == 0)
            conn_ready(c, now);
        return;
    default:
        return; /* notices about others */
    }
}

/* The connection ended without our close: a failure unless we were closing. */
static void on_lost(bconn *c, const char *why)
{
    bench *B = c->B;
    if (c->state == CS_CLOSING || c->state == CS_CLOSED || B->phase >= P_CLOSE) {
        conn_finish(c);
        return;
    }
    if (B->mode == MODE_HANDSHAKE) {
        if (B->hs_failed++ < 5)
            fprintf(stderr, PROG ": %s: %s (state %d)\n", c->name, why, c->state);
        conn_finish(c);
        if (B->hs_failed > 1000 && B->hs_failed > B->hs_completed)
            fail(B, "more handshakes fail than succeed (last: %s)", why);
        return;
    }
    B->closed_early++;
    enum cstate st = c->state;
    conn_finish(c);
    fail(B, "%s: the server ended the connection in phase %s (state %d): %s", c->name, phase_names[B->phase], st,
         why);
}

static void process_session(bconn *c, uint64_t now)
{
    bench *B = c->B;
    secchat_session_event ev;
    while (c->s && secchat_session_next_event(c->s, &ev)) {
        if (ev.type == SECCHAT_SESSION_EVENT_MESSAGE) {
            secchat_message m;
            int rc = secchat_message_decode(&m, scratch, sizeof scratch, ev.data, ev.len);
            if (rc != SECCHAT_OK) {
                fail(B, "%s: a message from the server does not decode: %s", c->name, secchat_strerror(rc));
                return;
            }
            if (strcmp(m.sender, "Server") == 0) {
                on_server_message(c, &m, now);
            } else if (c->state == CS_READY && B->mode == MODE_FANOUT) {
                on_delivery(B, m.content, m.content_len, now);
            } else {
                B->unexpected++;
            }
        } else if (ev.type == SECCHAT_SESSION_EVENT_CLOSED) {
            if (c->state == CS_CLOSING && ev.error == SECCHAT_OK) {
                c->state = CS_CLOSED; /* the server closes TCP next */
            } else {
                char why[160];
                snprintf(why, sizeof why, "closed: code %u, %s%s%s", ev.close_code,
                         ev.error ? secchat_strerror(ev.error) : "orderly", ev.reason && *ev.reason ? ": " : "",
                         ev.reason ? ev.reason : "");
                mark_dirty(c); /* our answer to its close frame */
                conn_flush(c);
                on_lost(c, why);
            }
            return;
        }
        /* READY: the server speaks first (the name prompt) */
    }
}

typedef struct plain_ctx {
    bconn *c;
    uint64_t now;
} plain_ctx;

static void on_plain_event(void *arg, enum plainws_event ev, const uint8_t *data, size_t len)
{
    plain_ctx *x = arg;
    bconn *c = x->c;
    switch (ev) {
    case PWS_OPEN:
        if (c->state == CS_SECURING)
            conn_ready(c, x->now);
        break;
    case PWS_MESSAGE:
        if (c->state == CS_READY && c->B->mode == MODE_FANOUT)
            on_delivery(c->B, (const char *)data, len, x->now);
        break;
    case PWS_CLOSED:
        if (c->state == CS_CLOSING)
            c->state = CS_CLOSED; /* the answer to ours; otherwise on_poll reports it after the feed */
        break;
    case PWS_NONE:
        break;
    }
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    bconn *c = h->data;
    bench *B = c->B;
    if (c->state == CS_DONE)
        return;
    if (c->state == CS_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        /* libuv reports any POLLERR as UV_EBADF: the socket knows the real reason */
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
            err = errno;
        if (err == 0 && status < 0)
            err = -status;
        if (err != 0) {
            char why[128];
            snprintf(why, sizeof why, "connect to %s: %s", B->url_text, strerror(err));
            on_lost(c, why);
            return;
        }
        c->state = CS_SECURING;
        conn_flush(c); /* the upgrade request */
        return;
    }
    int eof = status < 0;
    if (!eof && (events & UV_READABLE)) {
        for (int i = 0; i < READS_PER_WAKEUP && c->state != CS_DONE && !B->failed; i++) {
            ssize_t n = recv(c->fd, read_buf, sizeof read_buf, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            if (n <= 0) {
                eof = 1;
                break;
            }
            uint64_t now = now_ns(); /* one clock read per read: these bytes arrived together */
            if (c->s) {
                if (secchat_session_feed(c->s, read_buf, (size_t)n) != SECCHAT_OK) {
                    /* the reason comes with the CLOSED event */
                }
                process_session(c, now);
            } else {
                plain_ctx x = {c, now};
                if (plainws_feed(c->pw, read_buf, (size_t)n, on_plain_event, &x) != 0) {
                    on_lost(c, "plaintext WebSocket protocol error or refused upgrade");
                    return;
                }
                if (c->state == CS_READY && !plainws_open(c->pw)) {
                    conn_flush(c);
                    on_lost(c, "the server sent a close frame");
                    return;
                }
            }
            if ((size_t)n < sizeof read_buf)
                break;
        }
    }
    if (c->state == CS_DONE)
        return;
    if (eof) {
        if (c->s && c->state != CS_CLOSED) {
            secchat_session_feed_eof(c->s);
            process_session(c, now_ns());
            if (c->state == CS_DONE)
                return;
        }
        on_lost(c, "connection closed by the server");
        return;
    }
    conn_flush(c);
}

static void conn_start(bconn *c)
{
    bench *B = c->B;
    int one = 1, rc;
    c->state = CS_IDLE;
    c->poll_events = 0;
    c->t_start = now_ns();
    if (B->mode == MODE_HANDSHAKE)
        snprintf(c->name, sizeof c->name, "h%llu", (unsigned long long)B->hs_next_name++);
    c->fd = socket(B->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        fail(B, "%s: socket: %s", c->name, strerror(errno));
        return;
    }
    B->active++;
    /* Small messages: Nagle would hold them back for delayed ACKs. */
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (const struct sockaddr *)&B->addr, B->addrlen) != 0 && errno != EINPROGRESS) {
        int err = errno;
        close(c->fd);
        c->fd = -1;
        B->active--;
        fail(B, "%s: connect to %s: %s", c->name, B->url_text, strerror(err));
        return;
    }
    if (B->plaintext) {
        c->pw = plainws_new(B->url.host_header, B->url.path, B->subprotocol);
        rc = c->pw ? SECCHAT_OK : SECCHAT_ERR_NO_MEMORY;
    } else {
        rc = secchat_session_new_client(&c->s, B->cfg, B->url_text);
    }
    if (rc != SECCHAT_OK) {
        close(c->fd);
        c->fd = -1;
        B->active--;
        fail(B, "%s: new client: %s", c->name, secchat_strerror(rc));
        return;
    }
    if ((rc = uv_poll_init_socket(&B->loop, &c->poll, c->fd)) < 0) {
        c->state = CS_CONNECTING;
        conn_finish(c);
        fail(B, "%s: uv_poll_init_socket: %s", c->name, uv_strerror(rc));
        return;
    }
    c->poll_init = 1;
    c->poll.data = c;
    c->state = CS_CONNECTING;
    update_poll(c);
}

static void start_connects(bench *B)
{
    while (!B->failed && B->phase == P_SETUP && B->started < B->n && B->in_setup < SETUP_WINDOW) {
        B->in_setup++;
        conn_start(&B->c[B->started++]);
    }
}

/* ---- phases ---- */

static void check_close_done(bench *B)
{
    if (B->phase == P_CLOSE && B->active == 0)
        set_phase(B, P_DONE);
    else if (B->mode == MODE_HANDSHAKE && B->phase == P_DRAIN && B->active == 0)
        set_phase(B, P_CLOSE);
}

static void set_phase(bench *B, enum phase p)
{
    uint64_t now = now_ns();
    if (B->phase == P_MEASURE && p != P_MEASURE) {
        B->t_measure1 = now;
        B->cpu_measure1 = cpu_seconds();
    }
    B->phase = p;
    B->t_phase = now;
    switch (p) {
    case P_SETUP:
        break;
    case P_WARMUP:
        B->rate_t0 = now;
        B->last_delivery = now;
        if (B->mode == MODE_HANDSHAKE)
            for (int i = 0; i < B->nconns && !B->failed; i++)
                conn_start(&B->c[i]);
        break;
    case P_MEASURE:
        B->t_measure0 = now;
        B->cpu_measure0 = cpu_seconds();
        if (B->mode == MODE_FANOUT && B->rate_t0 == 0) {
            B->rate_t0 = now;
            B->last_delivery = now;
        }
        if (B->mode == MODE_HANDSHAKE && B->warmup <= 0)
            for (int i = 0; i < B->nconns && !B->failed; i++)
                conn_start(&B->c[i]);
        if (B->mode == MODE_IDLE) {
            printf("idle: ready connections=%d setup_ms=%.0f\n", B->n, (double)(now - B->t_start) / 1e6);
            fflush(stdout);
        }
        break;
    case P_DRAIN:
        if ((B->mode == MODE_FANOUT && B->oldest == B->next_gid) || (B->mode == MODE_HANDSHAKE && B->active == 0))
            set_phase(B, P_CLOSE);
        break;
    case P_CLOSE:
        for (int i = 0; i < B->nconns; i++)
            conn_close(&B->c[i]);
        flush_dirty(B);
        check_close_done(B);
        break;
    case P_DONE:
        uv_stop(&B->loop);
        break;
    }
}

/* Every millisecond: phase deadlines, stalls. (Pacing is in the prepare hook.) */
static void on_timer(uv_timer_t *t)
{
    bench *B = t->data;
    uint64_t now = now_ns();
    double in_phase_ms = (double)(now - B->t_phase) / 1e6;
    switch (B->phase) {
    case P_SETUP:
        if (in_phase_ms > SETUP_MS)
            fail(B, "set-up not finished after %d ms: %d of %d ready", SETUP_MS, B->ready, B->n);
        break;
    case P_WARMUP:
        if (in_phase_ms >= B->warmup * 1000)
            set_phase(B, P_MEASURE);
        break;
    case P_MEASURE:
        if (B->duration > 0 && in_phase_ms >= B->duration * 1000)
            set_phase(B, B->mode == MODE_IDLE ? P_CLOSE : P_DRAIN);
        break;
    case P_DRAIN:
        /* Everything arrived, or the drain time is over (what is still missing is lost). */
        if ((B->mode == MODE_FANOUT && B->oldest == B->next_gid) ||
            (B->mode == MODE_HANDSHAKE ? in_phase_ms >= 15000
                                       : (double)(now - B->last_delivery) / 1e6 >= DRAIN_MS || in_phase_ms >= 60000))
            set_phase(B, P_CLOSE);
        break;
    case P_CLOSE:
        if (in_phase_ms >= CLOSE_MS)
            for (int i = 0; i < B->nconns; i++)
                conn_finish(&B->c[i]);
        break;
    case P_DONE:
        break;
    }
    if (B->mode == MODE_FANOUT && (B->phase == P_WARMUP || B->phase == P_MEASURE) && B->oldest < B->next_gid &&
        (double)(now - B->last_delivery) / 1e6 > STALL_MS)
        fail(B, "no delivery for %d ms with %llu messages in flight", STALL_MS,
             (unsigned long long)(B->next_gid - B->oldest));
}

/* Once per loop iteration, before it waits: send what is due, then write. */
static void on_prepare(uv_prepare_t *p)
{
    bench *B = p->data;
    if (B->mode == MODE_FANOUT)
        fill(B);
    flush_dirty(B);
}

static void on_signal(uv_signal_t *s, int signum)
{
    bench *B = s->data;
    (void)signum;
    if (++B->signals > 1) {
        fprintf(stderr, PROG ": second signal: stopping now\n");
        B->failed = 1;
        uv_stop(&B->loop);
        return;
    }
    if (B->phase == P_SETUP || B->phase == P_WARMUP)
        set_phase(B, P_CLOSE);
    else if (B->phase == P_MEASURE)
        set_phase(B, B->mode == MODE_IDLE ? P_CLOSE : P_DRAIN);
}

/* ---- set-up and report ---- */

static int resolve(bench *B)
{
    int rc = secchat_ws_url_parse(&B->url, B->url_text);
    if (rc != SECCHAT_OK) {
        fprintf(stderr, PROG ": bad --url %s: %s\n", B->url_text, secchat_strerror(rc));
        return -1;
    }
    char port[8];
    snprintf(port, sizeof port, "%u", B->url.port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    if ((rc = getaddrinfo(B->url.host, port, &hints, &res)) != 0) {
        fprintf(stderr, PROG ": %s: %s\n", B->url.host, gai_strerror(rc));
        return -1;
    }
    memcpy(&B->addr, res->ai_addr, res->ai_addrlen);
    B->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* Each connection is one fd here (and one in the server). */
static void raise_fd_limit(int n)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)n + 64) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < (rlim_t)n + 64)
            fprintf(stderr, PROG ": warning: only %llu file descriptors (ulimit -n) for %d connections\n",
                    (unsigned long long)rl.rlim_cur, n);
    }
}

static int setup(bench *B)
{
    int rc;
    if (!B->plaintext && ((rc = secchat_config_new(&B->cfg)) != SECCHAT_OK ||
                          (rc = secchat_config_set_psk(B->cfg, (const uint8_t *)DEMO_PSK)) != SECCHAT_OK)) {
        fprintf(stderr, PROG ": config: %s\n", secchat_strerror(rc));
        return -1;
    }
    B->nconns = B->mode == MODE_HANDSHAKE ? B->concurrency : B->n;
    B->c = calloc((size_t)B->nconns, sizeof *B->c);
    B->content = malloc((size_t)B->size + 1);
    if (!B->c || !B->content)
        return -1;
    memset(B->content, 'x', (size_t)B->size);
    B->content[B->size] = '\0';
    if (B->mode == MODE_FANOUT && !(B->ring = calloc((size_t)1 << RING_BITS, sizeof *B->ring)))
        return -1;
    for (int i = 0; i < B->nconns; i++) {
        bconn *c = &B->c[i];
        c->B = B;
        c->idx = i;
        c->fd = -1;
        snprintf(c->name, sizeof c->name, "%c%d", B->mode == MODE_IDLE ? 'i' : 'c', i);
    }
    if ((rc = uv_loop_init(&B->loop)) < 0) {
        fprintf(stderr, PROG ": libuv: %s\n", uv_strerror(rc));
        return -1;
    }
    B->loop_init = 1;
    uv_timer_init(&B->loop, &B->timer);
    uv_prepare_init(&B->loop, &B->prepare);
    uv_signal_init(&B->loop, &B->sigint);
    uv_signal_init(&B->loop, &B->sigterm);
    B->timer.data = B->prepare.data = B->sigint.data = B->sigterm.data = B;
    uv_timer_start(&B->timer, on_timer, 1, 1);
    uv_prepare_start(&B->prepare, on_prepare);
    uv_signal_start(&B->sigint, on_signal, SIGINT);
    uv_signal_start(&B->sigterm, on_signal, SIGTERM);
    return 0;
}

static void on_handle_closed(uv_handle_t *h)
{
    (void)h;
}

static void teardown(bench *B)
{
    if (B->loop_init) {
        B->phase = P_DONE; /* no slot restarts */
        for (int i = 0; i < B->nconns; i++)
            conn_finish(&B->c[i]);
        uv_close((uv_handle_t *)&B->timer, on_handle_closed);
        uv_close((uv_handle_t *)&B->prepare, on_handle_closed);
        uv_close((uv_handle_t *)&B->sigint, on_handle_closed);
        uv_close((uv_handle_t *)&B->sigterm, on_handle_closed);
        uv_run(&B->loop, UV_RUN_DEFAULT); /* runs the close callbacks */
        if (uv_loop_close(&B->loop) != 0)
            fprintf(stderr, PROG ": warning: the loop still has handles\n");
    }
    free(B->c);
    free(B->ring);
    free(B->content);
    secchat_config_free(B->cfg);
}

static void report(bench *B)
{
    double secs = B->t_measure1 > B->t_measure0 ? (double)(B->t_measure1 - B->t_measure0) / 1e9 : 0;
    double cpu = secs > 0 ? 100.0 * (B->cpu_measure1 - B->cpu_measure0) / secs : 0;
    const char *server = B->plaintext ? "plaintext" : "secure";
    const hist *h = &B->lat;
    if (B->mode == MODE_FANOUT) {
        uint64_t expected = B->sent * B->per_msg;
        uint64_t lost = expected > B->received ? expected - B->received : 0;
        double dps = secs > 0 ? (double)B->received_measure / secs : 0;
        if (!B->quiet)
            printf(PROG ": fanout %s N=%d S=%d %d B: %.0f deliveries/s, p50 %.0f us, p99 %.0f us, p99.9 %.0f us, "
                   "lost %llu of %llu, own CPU %.0f%%\n",
                   server, B->n, B->senders, B->size, dps, (double)hist_quantile(h, 0.5) / 1e3,
                   (double)hist_quantile(h, 0.99) / 1e3, (double)hist_quantile(h, 0.999) / 1e3,
                   (unsigned long long)lost, (unsigned long long)expected, cpu);
        printf("result mode=fanout server=%s clients=%d senders=%d size=%d rate_target=%.0f window=%d "
               "seconds=%.3f sent=%llu expected=%llu received=%llu lost=%llu unexpected=%llu closed_early=%d "
               "deliveries_per_s=%.0f messages_per_s=%.0f p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f "
               "mean_us=%.1f cpu_pct=%.1f failed=%d\n",
               server, B->n, B->senders, B->size, B->rate, B->window, secs, (unsigned long long)B->sent,
               (unsigned long long)expected, (unsigned long long)B->received, (unsigned long long)lost,
               (unsigned long long)B->unexpected, B->closed_early, dps,
               secs > 0 ? (double)B->sent_measure / secs : 0, (double)hist_quantile(h, 0.5) / 1e3,
               (double)hist_quantile(h, 0.99) / 1e3, (double)hist_quantile(h, 0.999) / 1e3,
               (double)h->max / 1e3, h->n ? (double)h->sum / (double)h->n / 1e3 : 0, cpu, B->failed);
    } else if (B->mode == MODE_HANDSHAKE) {
        double per_s = secs > 0 ? (double)B->hs_completed_measure / secs : 0;
        if (!B->quiet)
            printf(PROG ": handshake %s C=%d: %.0f/s, p50 %.0f us, p99 %.0f us, %llu completed, %llu failed, "
                   "own CPU %.0f%%\n",
                   server, B->concurrency, per_s, (double)hist_quantile(h, 0.5) / 1e3,
                   (double)hist_quantile(h, 0.99) / 1e3, (unsigned long long)B->hs_completed,
                   (unsigned long long)B->hs_failed, cpu);
        printf("result mode=handshake server=%s concurrency=%d seconds=%.3f completed=%llu completed_measured=%llu "
               "failed=%llu per_s=%.0f p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f cpu_pct=%.1f failed_run=%d\n",
               server, B->concurrency, secs, (unsigned long long)B->hs_completed,
               (unsigned long long)B->hs_completed_measure, (unsigned long long)B->hs_failed, per_s,
               (double)hist_quantile(h, 0.5) / 1e3, (double)hist_quantile(h, 0.99) / 1e3,
               (double)hist_quantile(h, 0.999) / 1e3, (double)h->max / 1e3, cpu, B->failed);
    } else {
        printf("result mode=idle server=%s clients=%d ready=%d seconds=%.3f cpu_pct=%.1f failed=%d\n", server, B->n,
               B->ready, secs, cpu, B->failed);
    }
}

static int parse_num(const char *name, const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || end == s || v < min || v > max) {
        fprintf(stderr, PROG ": --%s: expected a number from %g to %g, got \"%s\"\n", name, min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int usage(void)
{
    fputs("usage: " PROG " fanout|handshake|idle [--url ws://HOST:PORT/PATH] [--clients N] [--senders S]\n"
          "       [--size BYTES] [--rate DELIVERIES_PER_S] [--duration S] [--warmup S] [--window MSGS]\n"
          "       [--concurrency C] [--plaintext] [--subprotocol NAME] [--no-echo] [--quiet]\n",
          stderr);
    return 2;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"url", required_argument, NULL, 'u'},
                                         {"clients", required_argument, NULL, 'n'},
                                         {"senders", required_argument, NULL, 's'},
                                         {"size", required_argument, NULL, 'b'},
                                         {"rate", required_argument, NULL, 'r'},
                                         {"duration", required_argument, NULL, 'd'},
                                         {"warmup", required_argument, NULL, 'w'},
                                         {"window", required_argument, NULL, 'W'},
                                         {"concurrency", required_argument, NULL, 'c'},
                                         {"plaintext", no_argument, NULL, 'p'},
                                         {"subprotocol", required_argument, NULL, 'P'},
                                         {"no-echo", no_argument, NULL, 'E'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    static bench B; /* large (the histogram): not on the stack */
    B.url_text = "ws://127.0.0.1:8080/";
    B.subprotocol = "lws-mirror-protocol";
    B.echo = 1;
    double clients = -1, senders = 0, size = 100, window = 0, conc = 16;
    double duration = -1, warmup = 1;
    if (argc < 2)
        return usage();
    if (strcmp(argv[1], "fanout") == 0)
        B.mode = MODE_FANOUT;
    else if (strcmp(argv[1], "handshake") == 0)
        B.mode = MODE_HANDSHAKE;
    else if (strcmp(argv[1], "idle") == 0)
        B.mode = MODE_IDLE;
    else
        return usage();
    optind = 2;
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int bad = 0;
        switch (opt) {
        case 'u':
            B.url_text = optarg;
            break;
        case 'n':
            bad = parse_num("clients", optarg, 1, 1000000, &clients);
            break;
        case 's':
            bad = parse_num("senders", optarg, 1, 1000000, &senders);
            break;
        case 'b':
            bad = parse_num("size", optarg, MIN_SIZE, 60000, &size);
            break;
        case 'r':
            bad = parse_num("rate", optarg, 0, 1e9, &B.rate);
            break;
        case 'd':
            bad = parse_num("duration", optarg, 0, 86400, &duration);
            break;
        case 'w':
            bad = parse_num("warmup", optarg, 0, 3600, &warmup);
            break;
        case 'W':
            bad = parse_num("window", optarg, 1, (double)(1u << (RING_BITS - 1)), &window);
            break;
        case 'c':
            bad = parse_num("concurrency", optarg, 1, 10000, &conc);
            break;
        case 'p':
            B.plaintext = 1;
            break;
        case 'P':
            B.subprotocol = *optarg ? optarg : NULL;
            break;
        case 'E':
            B.echo = 0;
            break;
        case 'q':
            B.quiet = 1;
            break;
        default:
            return usage();
        }
        if (bad)
            return 2;
    }
    if (optind != argc)
        return usage();
    B.n = (int)(clients > 0 ? clients : B.mode == MODE_IDLE ? 1000 : 50);
    B.senders = (int)(senders > 0 ? senders : B.n);
    if (B.senders > B.n)
        B.senders = B.n;
    B.size = (int)size;
    B.concurrency = (int)conc;
    B.duration = duration >= 0 ? duration : B.mode == MODE_IDLE ? 0 : 5;
    B.warmup = B.mode == MODE_IDLE ? 0 : warmup;
    if (B.mode == MODE_FANOUT && B.n < 2 && !(B.plaintext && B.echo)) {
        fprintf(stderr, PROG ": fanout needs at least 2 clients\n");
        return 2;
    }
    B.per_msg = (uint64_t)B.n - 1 + (B.plaintext && B.echo ? 1 : 0);
    if (window > 0) {
        B.window = (int)window;
    } else {
        /* Enough to keep the server busy, little enough that the backlog
         * (W * receivers deliveries) drains in a fraction of a second. */
        double w = 200000.0 / (double)B.per_msg, wb = 512.0 * 1024 / (size + 200);
        w = w > wb ? wb : w;
        B.window = w > 2048 ? 2048 : w < 16 ? 16 : (int)w;
    }
    signal(SIGPIPE, SIG_IGN);
    init_hexval();
    raise_fd_limit(B.mode == MODE_HANDSHAKE ? B.concurrency : B.n);
    if (resolve(&B) != 0)
        return 2;
    int status = 1;
    if (setup(&B) != 0) {
        fprintf(stderr, PROG ": set-up failed (out of memory?)\n");
        goto out;
    }
    B.t_start = B.t_phase = now_ns();
    if (B.mode == MODE_HANDSHAKE) {
        set_phase(&B, B.warmup > 0 ? P_WARMUP : P_MEASURE);
    } else {
        B.phase = P_SETUP;
        start_connects(&B);
    }
    if (B.phase != P_DONE)
        uv_run(&B.loop, UV_RUN_DEFAULT);
    if (B.t_measure1 == 0 && B.t_measure0 != 0) {
        B.t_measure1 = now_ns();
        B.cpu_measure1 = cpu_seconds();
    }
    report(&B);
    status = B.failed ? 1 : 0;
out:
    teardown(&B);
    return status;
}
