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
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "secchat.h"

#define WAIT_MS 5000
#define ACCEPT_WAIT_MS 10000
/* Stop reading while this much output waits: echoes then never outgrow max_output. */
#define OUTPUT_HIGH_WATER ((size_t)256 * 1024)
#define READ_CHUNK 65536

_Noreturn static void die(const char *fmt, ...)
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

static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- one connection: a socket and an endpoint ---------------------------------- */

typedef struct conn {
    int fd;
    secchat_ws *ws;
    int eof;       /* the peer closed its side (or the socket failed) */
    int fed_error; /* first error secchat_ws_feed returned */
} conn;

static size_t pending_output(const conn *c)
{
    size_t n;
    secchat_ws_output(c->ws, &n);
    return n;
}

static void feed_eof(conn *c)
{
    c->eof = 1;
    secchat_ws_feed_eof(c->ws);
}

/*
 * One round of I/O: waits at most timeout_ms for the socket (and, when
 * stdin_fd >= 0, for stdin), writes what it can of the output, and feeds what
 * it reads. Returns 1 when stdin became readable, else 0.
 */
static int io_step(conn *c, int timeout_ms, int stdin_fd)
{
    struct pollfd p[2];
    nfds_t n = 0;
    size_t out_len = pending_output(c);
    p[0].fd = c->fd;
    p[0].events = 0;
    p[0].revents = 0;
    if (!c->eof && out_len < OUTPUT_HIGH_WATER)
        p[0].events |= POLLIN;
    if (out_len > 0)
        p[0].events |= POLLOUT;
    n = 1;
    if (stdin_fd >= 0) {
        p[1].fd = stdin_fd;
        p[1].events = POLLIN;
        p[1].revents = 0;
        n = 2;
    }
    if (timeout_ms < 0)
        timeout_ms = 0;
    int r = poll(p, n, timeout_ms);
    if (r < 0) {
        if (errno == EINTR)
            return 0;
        die("poll: %s", strerror(errno));
    }
    if (p[0].revents & (POLLOUT | POLLERR | POLLHUP)) {
        size_t len;
        const uint8_t *out = secchat_ws_output(c->ws, &len);
        if (len > 0) {
            ssize_t w = send(c->fd, out, len, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (w > 0) {
                secchat_ws_output_consumed(c->ws, (size_t)w);
            } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                /* The peer is gone: nothing more can be written. */
                fprintf(stderr, "ws_peer: write: %s\n", strerror(errno));
                secchat_ws_output_consumed(c->ws, len);
                if (!c->eof)
                    feed_eof(c);
            }
        }
    }
    if (p[0].revents & (POLLIN | POLLERR | POLLHUP) && !c->eof && pending_output(c) < OUTPUT_HIGH_WATER) {
        static uint8_t buf[READ_CHUNK];
        ssize_t got = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (got > 0) {
            int rc = secchat_ws_feed(c->ws, buf, (size_t)got);
            if (rc != SECCHAT_OK && !c->fed_error)
                c->fed_error = rc;
        } else if (got == 0) {
            feed_eof(c);
        } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            fprintf(stderr, "ws_peer: read: %s\n", strerror(errno));
            feed_eof(c);
        }
    }
    return n == 2 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
}

/* Writes all pending output (within WAIT_MS); returns 0 when done, -1 on timeout or a dead socket. */
static int flush_output(conn *c)
{
    int64_t deadline = now_ms() + WAIT_MS;
    while (pending_output(c) > 0) {
        if (now_ms() >= deadline)
            return -1;
        struct pollfd p = {c->fd, POLLOUT, 0};
        int r = poll(&p, 1, (int)(deadline - now_ms()));
        if (r < 0 && errno != EINTR)
            return -1;
        if (r <= 0)
            continue;
        size_t len;
        const uint8_t *out = secchat_ws_output(c->ws, &len);
        ssize_t w = send(c->fd, out, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w > 0)
            secchat_ws_output_consumed(c->ws, (size_t)w);
        else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return -1;
    }
    return 0;
}

/* After CLOSED: write what is left, then wait (bounded) for the peer to close the TCP connection. */
static void finish_socket(conn *c, int wait_for_peer)
{
    if (flush_output(c) != 0)
        fprintf(stderr, "ws_peer: could not write the last %zu output bytes\n", pending_output(c));
    shutdown(c->fd, SHUT_WR);
    if (wait_for_peer && !c->eof) {
        int64_t deadline = now_ms() + WAIT_MS;
        uint8_t buf[4096];
        while (now_ms() < deadline) {
            struct pollfd p = {c->fd, POLLIN, 0};
            int r = poll(&p, 1, (int)(deadline - now_ms()));
            if (r < 0 && errno != EINTR)
                break;
            if (r <= 0)
                continue;
            ssize_t got = recv(c->fd, buf, sizeof buf, 0);
            if (got <= 0)
                break; /* EOF (or reset): the peer is done */
        }
    }
    close(c->fd);
    c->fd = -1;
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
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    int r = getaddrinfo(address, "0", &hints, &ai);
    if (r != 0)
        die("bind address %s: %s", address, gai_strerror(r));
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0)
        die("socket: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0)
        die("bind %s: %s", address, strerror(errno));
    freeaddrinfo(ai);
    if (listen(fd, 1) != 0)
        die("listen: %s", strerror(errno));
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        die("getsockname: %s", strerror(errno));
    *port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                     : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

static int run_server(const char *address)
{
    uint16_t port;
    int lfd = listen_on(address, &port);
    say("PORT %u", port);

    struct pollfd p = {lfd, POLLIN, 0};
    int r = poll(&p, 1, ACCEPT_WAIT_MS);
    if (r <= 0)
        die("no connection within %d ms", ACCEPT_WAIT_MS);
    conn c;
    memset(&c, 0, sizeof c);
    c.fd = accept(lfd, NULL, NULL);
    if (c.fd < 0)
        die("accept: %s", strerror(errno));
    close(lfd);
    if (secchat_ws_new_server(&c.ws, NULL) != SECCHAT_OK)
        die("secchat_ws_new_server failed");

    unsigned long messages = 0;
    int64_t idle_deadline = now_ms() + WAIT_MS;
    for (;;) {
        secchat_ws_event ev;
        while (secchat_ws_next_event(c.ws, &ev)) {
            idle_deadline = now_ms() + WAIT_MS;
            if (ev.type == SECCHAT_WS_EVENT_MESSAGE) {
                messages++;
                int rc = secchat_ws_send(c.ws, ev.data, ev.len);
                if (rc != SECCHAT_OK)
                    die("echo of a %zu-byte message: %s", ev.len, secchat_strerror(rc));
            } else if (ev.type == SECCHAT_WS_EVENT_CLOSED) {
                finish_socket(&c, 0); /* the server closes the TCP connection first (RFC 6455 7.1.1) */
                if (ev.error == SECCHAT_OK) {
                    say("CLOSED code=%u messages=%lu", ev.close_code, messages);
                    secchat_ws_free(c.ws);
                    return 0;
                }
                say("CLOSED code=%u messages=%lu error=%d %s", ev.close_code, messages, ev.error,
                    secchat_strerror(ev.error));
                secchat_ws_free(c.ws);
                return 1;
            }
        }
        int64_t left = idle_deadline - now_ms();
        if (left <= 0)
            die("nothing happened for %d ms (state %d)", WAIT_MS, secchat_ws_state(c.ws));
        io_step(&c, (int)left, -1);
        if (pending_output(&c) > 0)
            idle_deadline = now_ms() + WAIT_MS; /* still busy writing */
    }
}

/* ---- client ---------------------------------------------------------------------- */

static int connect_to(const secchat_ws_url *url)
{
    struct addrinfo hints, *ai = NULL;
    char port[8];
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(port, sizeof port, "%u", url->port);
    int r = getaddrinfo(url->host, port, &hints, &ai);
    if (r != 0)
        die("resolve %s: %s", url->host, gai_strerror(r));
    int fd = -1, err = 0;
    for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        /* Bounded connect: start it non-blocking, wait with poll, then back to a blocking socket. */
        int flags = fcntl(fd, F_GETFL);
        fcntl(fd, F_SETFL, flags | O_NONBLOCK);
        err = 0;
        if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            err = errno;
            if (err == EINPROGRESS) {
                struct pollfd p = {fd, POLLOUT, 0};
                int pr = poll(&p, 1, WAIT_MS);
                socklen_t len = sizeof err;
                if (pr <= 0)
                    err = pr == 0 ? ETIMEDOUT : errno;
                else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
                    err = errno;
            }
        }
        fcntl(fd, F_SETFL, flags);
        if (err != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    if (fd < 0)
        die("connect to %s port %u: %s", url->host, url->port, strerror(err));
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
    int64_t deadline = now_ms() + WAIT_MS;
    for (;;) {
        secchat_ws_event ev;
        while (secchat_ws_next_event(c->ws, &ev)) {
            if (ev.type == SECCHAT_WS_EVENT_CLOSED) {
                if (what == WAIT_CLOSED && ev.error == SECCHAT_OK)
                    return ev.close_code;
                finish_socket(c, 0); /* a failure leaves its close frame in the output: send it */
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
                if (secchat_ws_ping_overdue(c->ws, (uint64_t)now_ms(), 0))
                    continue; /* a pong, but not for our ping */
                return 0;
            }
            if (ev.type == SECCHAT_WS_EVENT_MESSAGE)
                die("unexpected %zu-byte message while waiting for %s", ev.len, wait_names[what]);
            if (ev.type != SECCHAT_WS_EVENT_PONG)
                die("unexpected %s event while waiting for %s", event_name(ev.type), wait_names[what]);
        }
        int64_t left = deadline - now_ms();
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
    int64_t deadline = now_ms() + WAIT_MS;
    for (;;) {
        char *nl = memchr(buf, '\n', have);
        if (nl) {
            size_t len = (size_t)(nl - buf);
            if (len >= cap)
                die("command line too long");
            memcpy(line, buf, len);
            line[len] = '\0';
            if (len > 0 && line[len - 1] == '\r')
                line[len - 1] = '\0';
            memmove(buf, nl + 1, have - len - 1);
            have -= len + 1;
            return 1;
        }
        if (have == sizeof buf)
            die("command line too long");
        secchat_ws_event ev;
        while (secchat_ws_next_event(c->ws, &ev)) {
            if (ev.type == SECCHAT_WS_EVENT_CLOSED) {
                finish_socket(c, 0);
                die("connection closed while waiting for a command: code %u error %d (%s)", ev.close_code, ev.error,
                    secchat_strerror(ev.error));
            }
            if (ev.type == SECCHAT_WS_EVENT_MESSAGE)
                die("unexpected %zu-byte message while waiting for a command", ev.len);
        }
        int64_t left = deadline - now_ms();
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
    memset(&c, 0, sizeof c);
    c.fd = connect_to(&url);
    rc = secchat_ws_new_client(&c.ws, url_text, NULL);
    if (rc != SECCHAT_OK)
        die("secchat_ws_new_client: %s", secchat_strerror(rc));
    wait_event(&c, WAIT_OPEN, NULL, 0);
    say("OPEN");

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
            int64_t deadline = now_ms() + WAIT_MS;
            while ((rc = secchat_ws_send(c.ws, msg, size)) == SECCHAT_ERR_WS_OUTPUT_FULL) {
                if (now_ms() >= deadline)
                    die("send %lu: output stayed full for %d ms", size, WAIT_MS);
                io_step(&c, (int)(deadline - now_ms()), -1);
            }
            if (rc != SECCHAT_OK)
                die("send %lu: %s", size, secchat_strerror(rc));
            wait_event(&c, WAIT_ECHO, msg, size);
            free(msg);
            say("ECHO %lu OK", size);
        } else if (strcmp(line, "ping") == 0) {
            rc = secchat_ws_ping(c.ws, (uint64_t)now_ms());
            if (rc != SECCHAT_OK)
                die("ping: %s", secchat_strerror(rc));
            wait_event(&c, WAIT_PONG, NULL, 0);
            say("PONG OK");
        } else if (strcmp(line, "close") == 0) {
            rc = secchat_ws_close(c.ws, SECCHAT_WS_CLOSE_NORMAL, "bye");
            if (rc != SECCHAT_OK)
                die("close: %s", secchat_strerror(rc));
            uint16_t code = wait_event(&c, WAIT_CLOSED, NULL, 0);
            finish_socket(&c, 1); /* the client waits for the server to close TCP first */
            say("CLOSED code=%u", code);
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
