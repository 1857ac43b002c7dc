/*
 * ws_peer: runs one secchat_ws endpoint over a real TCP socket, so that a
 * script can pair it with another WebSocket implementation (see
 * tests/ws/interop_websockets.py).
 *
 *   ws_peer server [BIND_ADDRESS]
 *       Listens on BIND_ADDRESS (default 127.0.0.1; ::1 for IPv6), port 0,
 *       prints "PORT <n>", accepts one connection, echoes every binary
 *       message, answers pings (the endpoint does), and when the peer closes
 *       finishes the close handshake, prints
 *           CLOSED code=<c> messages=<n>
 *       and exits 0. A connection that ends any other way (protocol error,
 *       lost transport, timeout) prints the same line with " error=<e> <text>"
 *       and exits 1.
 *
 *   ws_peer client ws://HOST:PORT/PATH
 *       Connects, completes the upgrade (prints "OPEN"), then reads commands
 *       from stdin, one per line:
 *           send <size>   send a binary message of <size> bytes, byte i being
 *                         (i * 31 + size) & 0xff; wait for the echo, check it
 *                         byte for byte, print "ECHO <size> OK"
 *           ping          send a ping, wait for its pong, print "PONG OK"
 *           close         close with 1000, wait for CLOSED, print
 *                         "CLOSED code=<c>", exit 0
 *
 * Every wait (accept, connect, upgrade, echo, pong, close, next command) has
 * a timeout of WAIT_MS. Any failure prints "ws_peer: error: ..." on stderr
 * and exits 1. stdout is flushed after every line.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/tcp_peer.h"
#include "secchat.h"

#define WAIT_MS 5000
#define ACCEPT_WAIT_MS 10000
/* Stop reading while this much output waits: echoes then never outgrow max_output. */
#define OUTPUT_HIGH_WATER ((size_t)256 * 1024)

__attribute__((format(printf, 1, 2))) _Noreturn static void die(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("ws_peer: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* ---- one connection: a socket and an endpoint ---------------------------------- */

static const uint8_t *ws_output(const void *obj, size_t *len)
{
    return secchat_ws_output(obj, len);
}

static void ws_output_consumed(void *obj, size_t n)
{
    secchat_ws_output_consumed(obj, n);
}

static int ws_feed(void *obj, const uint8_t *data, size_t len)
{
    return secchat_ws_feed(obj, data, len);
}

static void ws_feed_eof(void *obj)
{
    secchat_ws_feed_eof(obj);
}

static const tcp_peer_ops ws_ops = {ws_output, ws_output_consumed, ws_feed, ws_feed_eof};

typedef struct conn {
    tcp_peer io; /* io.obj is ws once it exists */
    secchat_ws *ws;
} conn;

/* A connection around the socket fd, before its endpoint is made. */
static void conn_init(conn *c, int fd)
{
    *c = (conn){.io = {.fd = fd, .ops = &ws_ops, .name = "ws_peer", .high_water = OUTPUT_HIGH_WATER}};
}

/* Returns 1 when stdin became readable, else 0. */
static int io_step(conn *c, int timeout_ms, int stdin_fd)
{
    int r = tcp_peer_io_step(&c->io, timeout_ms, stdin_fd);
    if (r < 0)
        die("poll: %s", strerror(errno));
    return r;
}

static const char *event_name(enum secchat_ws_event_type t)
{
    switch (t) {
    case SECCHAT_WS_EVENT_OPEN:
        return "OPEN";
    case SECCHAT_WS_EVENT_MESSAGE:
        return "MESSAGE";
    case SECCHAT_WS_EVENT_PONG:
        return "PONG";
    case SECCHAT_WS_EVENT_CLOSED:
        return "CLOSED";
    default:
        return "NONE";
    }
}

/* ---- server -------------------------------------------------------------------- */

static int listen_on(const char *address, uint16_t *port)
{
    char err[256];
    int fd = tcp_peer_listen(address, port, err, sizeof err);
    if (fd < 0)
        die("%s", err);
    return fd;
}

static int run_server(const char *address)
{
    uint16_t port;
    int lfd = listen_on(address, &port);
    tcp_peer_say("PORT %u", port);

    conn c;
    conn_init(&c, tcp_peer_accept(lfd, ACCEPT_WAIT_MS));
    if (c.io.fd < 0 && errno == ETIMEDOUT)
        die("no connection within %d ms", ACCEPT_WAIT_MS);
    if (c.io.fd < 0)
        die("accept: %s", strerror(errno));
    if (secchat_ws_new_server(&c.ws, NULL) != SECCHAT_OK)
        die("secchat_ws_new_server failed");
    c.io.obj = c.ws;

    unsigned long messages = 0;
    int64_t idle_deadline = tcp_peer_now_ms() + WAIT_MS;
    for (;;) {
        secchat_ws_event ev;
        while (secchat_ws_next_event(c.ws, &ev)) {
            idle_deadline = tcp_peer_now_ms() + WAIT_MS;
            if (ev.type == SECCHAT_WS_EVENT_MESSAGE) {
                messages++;
                int rc = secchat_ws_send(c.ws, ev.data, ev.len);
                if (rc != SECCHAT_OK)
                    die("echo of a %zu-byte message: %s", ev.len, secchat_strerror(rc));
            } else if (ev.type == SECCHAT_WS_EVENT_CLOSED) {
                tcp_peer_finish(&c.io, 0, WAIT_MS); /* the server closes the TCP connection first (RFC 6455 7.1.1) */
                if (ev.error == SECCHAT_OK) {
                    tcp_peer_say("CLOSED code=%u messages=%lu", ev.close_code, messages);
                    secchat_ws_free(c.ws);
                    return 0;
                }
                tcp_peer_say("CLOSED code=%u messages=%lu error=%d %s", ev.close_code, messages, ev.error,
                             secchat_strerror(ev.error));
                secchat_ws_free(c.ws);
                return 1;
            }
        }
        int64_t left = idle_deadline - tcp_peer_now_ms();
        if (left <= 0)
            die("nothing happened for %d ms (state %d)", WAIT_MS, secchat_ws_state(c.ws));
        io_step(&c, (int)left, -1);
        if (tcp_peer_pending(&c.io) > 0)
            idle_deadline = tcp_peer_now_ms() + WAIT_MS; /* still busy writing */
    }
}

/* ---- client ---------------------------------------------------------------------- */

static int connect_to(const secchat_ws_url *url)
{
    char err[256];
    int fd = tcp_peer_connect(url->host, url->port, WAIT_MS, err, sizeof err);
    if (fd < 0)
        die("%s", err);
    return fd;
}

typedef enum wait_for { WAIT_OPEN, WAIT_ECHO, WAIT_PONG, WAIT_CLOSED } wait_for;

static const char *const wait_names[] = {"the upgrade", "the echo", "the pong", "the close"};

/*
 * Runs the connection until the awaited event. For WAIT_ECHO, want/want_len
 * is the message the echo must equal. Returns the CLOSED event's close code
 * for WAIT_CLOSED. Any other end of the connection is fatal.
 */
static uint16_t wait_event(conn *c, wait_for what, const uint8_t *want, size_t want_len)
{
    int64_t deadline = tcp_peer_now_ms() + WAIT_MS;
    for (;;) {
        secchat_ws_event ev;
        while (secchat_ws_next_event(c->ws, &ev)) {
            if (ev.type == SECCHAT_WS_EVENT_CLOSED) {
                if (what == WAIT_CLOSED && ev.error == SECCHAT_OK)
                    return ev.close_code;
                tcp_peer_finish(&c->io, 0, WAIT_MS); /* a failure leaves its close frame in the output: send it */
                die("connection closed while waiting for %s: code %u reason \"%s\" error %d (%s)", wait_names[what],
                    ev.close_code, ev.reason, ev.error, secchat_strerror(ev.error));
            }
            if (what == WAIT_OPEN && ev.type == SECCHAT_WS_EVENT_OPEN)
                return 0;
            if (what == WAIT_ECHO && ev.type == SECCHAT_WS_EVENT_MESSAGE) {
                if (ev.len != want_len)
                    die("echo has %zu bytes, sent %zu", ev.len, want_len);
                for (size_t i = 0; i < want_len; i++) {
                    if (ev.data[i] != want[i])
                        die("echo of %zu bytes differs at byte %zu: 0x%02x, sent 0x%02x", want_len, i, ev.data[i],
                            want[i]);
                }
                return 0;
            }
            if (what == WAIT_PONG && ev.type == SECCHAT_WS_EVENT_PONG) {
                if (secchat_ws_ping_overdue(c->ws, (uint64_t)tcp_peer_now_ms(), 0))
                    continue; /* a pong, but not for our ping */
                return 0;
            }
            if (ev.type == SECCHAT_WS_EVENT_MESSAGE)
                die("unexpected %zu-byte message while waiting for %s", ev.len, wait_names[what]);
            if (ev.type != SECCHAT_WS_EVENT_PONG)
                die("unexpected %s event while waiting for %s", event_name(ev.type), wait_names[what]);
        }
        int64_t left = deadline - tcp_peer_now_ms();
        if (left <= 0)
            die("timeout (%d ms) waiting for %s", WAIT_MS, wait_names[what]);
        io_step(c, (int)left, -1);
    }
}

/* Reads one command line from stdin while keeping the connection serviced. */
static int read_command(conn *c, char *line, size_t cap)
{
    static char buf[256];
    static size_t have;
    int64_t deadline = tcp_peer_now_ms() + WAIT_MS;
    for (;;) {
        int taken = tcp_peer_take_line(buf, &have, sizeof buf, line, cap);
        if (taken < 0)
            die("command line too long");
        if (taken) {
            size_t len = strlen(line);
            if (len > 0 && line[len - 1] == '\r')
                line[len - 1] = '\0';
            return 1;
        }
        secchat_ws_event ev;
        while (secchat_ws_next_event(c->ws, &ev)) {
            if (ev.type == SECCHAT_WS_EVENT_CLOSED) {
                tcp_peer_finish(&c->io, 0, WAIT_MS);
                die("connection closed while waiting for a command: code %u error %d (%s)", ev.close_code, ev.error,
                    secchat_strerror(ev.error));
            }
            if (ev.type == SECCHAT_WS_EVENT_MESSAGE)
                die("unexpected %zu-byte message while waiting for a command", ev.len);
        }
        int64_t left = deadline - tcp_peer_now_ms();
        if (left <= 0)
            die("no command on stdin within %d ms", WAIT_MS);
        if (io_step(c, (int)left, 0)) {
            ssize_t got = read(0, buf + have, sizeof buf - have);
            if (got < 0 && errno != EINTR)
                die("stdin: %s", strerror(errno));
            if (got == 0)
                return 0;
            if (got > 0)
                have += (size_t)got;
        }
    }
}

static int run_client(const char *url_text)
{
    secchat_ws_url url;
    int rc = secchat_ws_url_parse(&url, url_text);
    if (rc != SECCHAT_OK)
        die("URL %s: %s", url_text, secchat_strerror(rc));
    conn c;
    conn_init(&c, connect_to(&url));
    rc = secchat_ws_new_client(&c.ws, url_text, NULL);
    if (rc != SECCHAT_OK)
        die("secchat_ws_new_client: %s", secchat_strerror(rc));
    c.io.obj = c.ws;
    wait_event(&c, WAIT_OPEN, NULL, 0);
    tcp_peer_say("OPEN");

    char line[128];
    while (read_command(&c, line, sizeof line)) {
        if (strncmp(line, "send ", 5) == 0) {
            char *end;
            errno = 0;
            unsigned long size = strtoul(line + 5, &end, 10);
            if (line[5] < '0' || line[5] > '9' || *end != '\0' || errno != 0 || size > 0x7fffffffu)
                die("bad size in \"%s\" (0 .. 2^31-1)", line);
            uint8_t *msg = malloc(size ? size : 1);
            if (!msg)
                die("out of memory");
            for (size_t i = 0; i < size; i++)
                msg[i] = (uint8_t)((i * 31 + size) & 0xff);
            int64_t deadline = tcp_peer_now_ms() + WAIT_MS;
            while ((rc = secchat_ws_send(c.ws, msg, size)) == SECCHAT_ERR_WS_OUTPUT_FULL) {
                if (tcp_peer_now_ms() >= deadline)
                    die("send %lu: output stayed full for %d ms", size, WAIT_MS);
                io_step(&c, (int)(deadline - tcp_peer_now_ms()), -1);
            }
            if (rc != SECCHAT_OK)
                die("send %lu: %s", size, secchat_strerror(rc));
            wait_event(&c, WAIT_ECHO, msg, size);
            free(msg);
            tcp_peer_say("ECHO %lu OK", size);
        } else if (strcmp(line, "ping") == 0) {
            rc = secchat_ws_ping(c.ws, (uint64_t)tcp_peer_now_ms());
            if (rc != SECCHAT_OK)
                die("ping: %s", secchat_strerror(rc));
            wait_event(&c, WAIT_PONG, NULL, 0);
            tcp_peer_say("PONG OK");
        } else if (strcmp(line, "close") == 0) {
            rc = secchat_ws_close(c.ws, SECCHAT_WS_CLOSE_NORMAL, "bye");
            if (rc != SECCHAT_OK)
                die("close: %s", secchat_strerror(rc));
            uint16_t code = wait_event(&c, WAIT_CLOSED, NULL, 0);
            tcp_peer_finish(&c.io, 1, WAIT_MS); /* the client waits for the server to close TCP first */
            tcp_peer_say("CLOSED code=%u", code);
            secchat_ws_free(c.ws);
            return 0;
        } else {
            die("unknown command \"%s\" (send <size>, ping, close)", line);
        }
    }
    die("stdin ended without a close command");
    return 1;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "server") == 0 && argc <= 3)
        return run_server(argc == 3 ? argv[2] : "127.0.0.1");
    if (argc == 3 && strcmp(argv[1], "client") == 0)
        return run_client(argv[2]);
    fprintf(stderr, "usage: ws_peer server [BIND_ADDRESS]\n       ws_peer client ws://HOST:PORT/PATH\n");
    return 2;
}
