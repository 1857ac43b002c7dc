/*
 * session_peer: runs one secchat_session (WebSocket + Noise + JSON messages)
 * over a real TCP socket, so that a script can pair it with independent
 * implementations of the lower layers (see tests/chat/interop_original.py,
 * which plays the original program with python3-websockets and dissononce).
 *
 *   session_peer [--psk HEX64] [--protocol NAME] server [BIND_ADDRESS]
 *       Listens on BIND_ADDRESS (default 127.0.0.1; ::1 for IPv6), port 0,
 *       prints "PORT <n>" and "KEY <hex static public key>", accepts one
 *       connection and plays the original server's part of the conversation:
 *           READY peer=<hex> hash=<hex>        then sends the name prompt
 *           RAWIN <hex>                        every plaintext received
 *           MSG sender=<s> content=<c>         ... and its decoded fields
 *           RAWOUT <hex>                       every plaintext sent
 *       The first message is the client's name (answered "<name> joined the
 *       chat"), later ones are echoed back with the name as sender. A message
 *       that does not decode prints "BADMSG error=<e>" and ends the session
 *       with 1008, as the original server does. At the end it prints
 *           CLOSED code=<c> error=<e>
 *       and exits 0 for an orderly close (error 0), 1 otherwise.
 *
 *   session_peer [--psk HEX64] [--protocol NAME] client ws://HOST:PORT/PATH
 *       Prints "KEY <hex static public key>", connects, prints READY as above, prints MSG/RAWIN for every message
 *       received, and reads commands from stdin, one per line:
 *           send <content>   send {"sender":"","content":<content>}
 *           raw <hex>        send exactly these plaintext bytes
 *           close            close with 1000, wait for CLOSED, print it, exit 0
 *       End of stdin counts as close. If the session ends by itself, CLOSED is
 *       printed and the exit status is as for the server.
 *
 * In MSG lines, bytes below 0x20, 0x7f and above, and the backslash are
 * written as \xNN, so each line is printable ASCII. Every wait (accept,
 * connect, handshake, next event or command, close) is bounded by WAIT_MS.
 * Any other failure prints "session_peer: error: ..." on stderr and exits 2.
 * stdout is flushed after every line.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/hex.h"
#include "common/tcp_peer.h"
#include "secchat.h"

#define WAIT_MS 10000
/* A raw command carries at most one maximal plaintext in hex, plus "raw " and the newline. */
#define COMMAND_MAX (2 * SECCHAT_MESSAGE_MAX + 16)

__attribute__((format(printf, 1, 2))) _Noreturn static void die(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("session_peer: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

static void print_hex(const char *tag, const uint8_t *data, size_t len)
{
    fputs(tag, stdout);
    putchar(' ');
    for (size_t i = 0; i < len; i++)
        printf("%02x", data[i]);
    putchar('\n');
    fflush(stdout);
}

/* Escapes so that the script can tell every byte apart and the line stays one line. */
static void print_escaped(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p >= 0x7f || *p == '\\')
            printf("\\x%02x", *p);
        else
            putchar(*p);
    }
}

static void print_message(const secchat_message *m)
{
    fputs("MSG sender=", stdout);
    print_escaped(m->sender);
    fputs(" content=", stdout);
    print_escaped(m->content);
    putchar('\n');
    fflush(stdout);
}

static char *hex_string(const uint8_t *data, size_t len)
{
    char *s = malloc(2 * len + 1);
    if (!s)
        die("out of memory");
    for (size_t i = 0; i < len; i++)
        snprintf(s + 2 * i, 3, "%02x", data[i]);
    s[2 * len] = '\0';
    return s;
}

/* ---- one connection: a socket and a session ----------------------------------- */

static const uint8_t *session_output(const void *obj, size_t *len)
{
    return secchat_session_output(obj, len);
}

static void session_output_consumed(void *obj, size_t n)
{
    secchat_session_output_consumed(obj, n);
}

static int session_feed(void *obj, const uint8_t *data, size_t len)
{
    return secchat_session_feed(obj, data, len);
}

static void session_feed_eof(void *obj)
{
    secchat_session_feed_eof(obj);
}

static const tcp_peer_ops session_ops = {session_output, session_output_consumed, session_feed, session_feed_eof};

/* Feed errors are not handled by the I/O: the session reports them as CLOSED, checked against io.fed_error. */
typedef struct conn {
    tcp_peer io; /* io.obj is s once it exists */
    secchat_session *s;
} conn;

/* A connection around the socket fd, before its session is made. */
static void conn_init(conn *c, int fd)
{
    *c = (conn){.io = {.fd = fd, .ops = &session_ops, .name = "session_peer"}};
}

/* Returns 1 when stdin became readable, else 0. */
static int io_step(conn *c, int timeout_ms, int stdin_fd)
{
    int r = tcp_peer_io_step(&c->io, timeout_ms, stdin_fd);
    if (r < 0)
        die("poll: %s", strerror(errno));
    return r;
}

/* Prints the CLOSED line, releases everything and returns the exit status. */
static int report_closed(conn *c, const secchat_session_event *ev, secchat_config *cfg, int wait_for_peer)
{
    tcp_peer_finish(&c->io, wait_for_peer, WAIT_MS);
    tcp_peer_say("CLOSED code=%u error=%d", ev->close_code, ev->error);
    if (c->io.fed_error && c->io.fed_error != ev->error)
        fprintf(stderr, "session_peer: feed returned %d but CLOSED says %d\n", c->io.fed_error, ev->error);
    if (ev->error != SECCHAT_OK)
        fprintf(stderr, "session_peer: session ended: %s (reason \"%s\")\n", secchat_strerror(ev->error),
                ev->reason ? ev->reason : "");
    secchat_session_free(c->s);
    secchat_config_free(cfg);
    return ev->error == SECCHAT_OK ? 0 : 1;
}

static void report_ready(const secchat_session_event *ev)
{
    char *peer = hex_string(ev->peer_static, SECCHAT_NOISE_KEY_LEN);
    char *hash = hex_string(ev->handshake_hash, ev->hash_len);
    tcp_peer_say("READY peer=%s hash=%s", peer, hash);
    free(peer);
    free(hash);
}

/* Prints a received plaintext and decodes it; returns the decode result (msg points into scratch). */
static int receive_message(const secchat_session_event *ev, secchat_message *msg, char **scratch)
{
    print_hex("RAWIN", ev->data, ev->len);
    size_t cap = SECCHAT_MESSAGE_SCRATCH(ev->len);
    *scratch = malloc(cap);
    if (!*scratch)
        die("out of memory");
    int rc = secchat_message_decode(msg, *scratch, cap, ev->data, ev->len);
    if (rc == SECCHAT_OK)
        print_message(msg);
    return rc;
}

/* Encodes msg once more to show its exact bytes, then sends it through the session's own encoder. */
static void send_message(conn *c, const secchat_message *msg)
{
    static uint8_t out[SECCHAT_MESSAGE_MAX];
    size_t len;
    int rc = secchat_message_encode(msg, out, sizeof out, &len);
    if (rc != SECCHAT_OK)
        die("encode: %s", secchat_strerror(rc));
    rc = secchat_session_send_message(c->s, msg);
    if (rc != SECCHAT_OK)
        die("send_message: %s", secchat_strerror(rc));
    print_hex("RAWOUT", out, len);
}

static secchat_config *make_config(const char *psk_hex, const char *protocol)
{
    secchat_config *cfg;
    int rc = secchat_config_new(&cfg);
    if (rc != SECCHAT_OK)
        die("secchat_config_new: %s", secchat_strerror(rc));
    if (protocol && (rc = secchat_config_set_protocol(cfg, protocol)) != SECCHAT_OK)
        die("protocol %s: %d %s", protocol, rc, secchat_strerror(rc));
    if (psk_hex) {
        uint8_t psk[SECCHAT_PSK_LEN];
        if (strlen(psk_hex) != 2 * sizeof psk || hex_decode(psk_hex, strlen(psk_hex), psk, sizeof psk) != SECCHAT_PSK_LEN)
            die("--psk wants %u bytes in hex", SECCHAT_PSK_LEN);
        rc = secchat_config_set_psk(cfg, psk);
        secchat_memzero(psk, sizeof psk);
        if (rc != SECCHAT_OK)
            die("secchat_config_set_psk: %s", secchat_strerror(rc));
    }
    return cfg;
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

static int run_server(secchat_config *cfg, const char *address)
{
    uint8_t pub[SECCHAT_NOISE_KEY_LEN];
    if (secchat_config_public_key(cfg, pub) != SECCHAT_OK)
        die("secchat_config_public_key failed");
    uint16_t port;
    int lfd = listen_on(address, &port);
    tcp_peer_say("PORT %u", port);
    print_hex("KEY", pub, sizeof pub);

    conn c;
    conn_init(&c, tcp_peer_accept(lfd, WAIT_MS));
    if (c.io.fd < 0 && errno == ETIMEDOUT)
        die("no connection within %d ms", WAIT_MS);
    if (c.io.fd < 0)
        die("accept: %s", strerror(errno));
    int rc = secchat_session_new_server(&c.s, cfg);
    if (rc != SECCHAT_OK)
        die("secchat_session_new_server: %d %s", rc, secchat_strerror(rc));
    c.io.obj = c.s;

    char *name = NULL; /* the client's name, once its first message arrived */
    int64_t deadline = tcp_peer_now_ms() + WAIT_MS;
    for (;;) {
        secchat_session_event ev;
        while (secchat_session_next_event(c.s, &ev)) {
            deadline = tcp_peer_now_ms() + WAIT_MS;
            if (ev.type == SECCHAT_SESSION_EVENT_READY) {
                report_ready(&ev);
                secchat_message prompt = {.sender = "Server", .content = "Please enter your name:"};
                send_message(&c, &prompt);
            } else if (ev.type == SECCHAT_SESSION_EVENT_MESSAGE) {
                secchat_message in;
                char *scratch;
                rc = receive_message(&ev, &in, &scratch);
                if (rc != SECCHAT_OK) {
                    /* The original server drops a client that sends something it cannot parse. */
                    tcp_peer_say("BADMSG error=%d", rc);
                    if (secchat_session_close(c.s, 1008, "invalid message") != SECCHAT_OK)
                        die("close after a bad message failed");
                } else if (!name) {
                    name = strdup(in.content);
                    if (!name)
                        die("out of memory");
                    size_t len = strlen(name) + sizeof " joined the chat";
                    char *text = malloc(len);
                    if (!text)
                        die("out of memory");
                    snprintf(text, len, "%s joined the chat", name);
                    secchat_message joined = {.sender = "Server", .content = text};
                    send_message(&c, &joined);
                    free(text);
                } else {
                    secchat_message echo = {.sender = name, .content = in.content};
                    send_message(&c, &echo);
                }
                free(scratch);
            } else if (ev.type == SECCHAT_SESSION_EVENT_CLOSED) {
                free(name);
                return report_closed(&c, &ev, cfg, 0); /* the server closes TCP first */
            }
        }
        int64_t left = deadline - tcp_peer_now_ms();
        if (left <= 0)
            die("nothing happened for %d ms (session state %d)", WAIT_MS, secchat_session_state(c.s));
        io_step(&c, (int)left, -1);
        if (tcp_peer_pending(&c.io) > 0)
            deadline = tcp_peer_now_ms() + WAIT_MS; /* still busy writing */
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

/*
 * Services the session and stdin until a full command line is read (1) or
 * stdin ends (0), printing every event on the way. A CLOSED event ends the
 * program with report_closed's status.
 */
static int read_command(conn *c, secchat_config *cfg, char *line, size_t cap)
{
    static char buf[COMMAND_MAX];
    static size_t have;
    static int stdin_eof;
    int64_t deadline = tcp_peer_now_ms() + WAIT_MS;
    for (;;) {
        int taken = tcp_peer_take_line(buf, &have, sizeof buf, line, cap);
        if (taken > 0)
            return 1;
        if (stdin_eof)
            return 0;
        if (taken < 0)
            die("command line too long");
        secchat_session_event ev;
        while (secchat_session_next_event(c->s, &ev)) {
            if (ev.type == SECCHAT_SESSION_EVENT_MESSAGE) {
                secchat_message msg;
                char *scratch;
                int rc = receive_message(&ev, &msg, &scratch);
                if (rc != SECCHAT_OK)
                    tcp_peer_say("BADMSG error=%d", rc);
                free(scratch);
            } else if (ev.type == SECCHAT_SESSION_EVENT_CLOSED) {
                exit(report_closed(c, &ev, cfg, 1));
            }
        }
        int64_t left = deadline - tcp_peer_now_ms();
        if (left <= 0)
            die("no command on stdin within %d ms", WAIT_MS);
        if (io_step(c, (int)left, 0)) {
            ssize_t got = read(0, buf + have, sizeof buf - have);
            if (got < 0 && errno != EINTR)
                die("stdin: %s", strerror(errno));
            if (got == 0)
                stdin_eof = 1;
            if (got > 0)
                have += (size_t)got;
        }
    }
}

/* Runs the session until READY; a CLOSED before it ends the program. */
static void wait_ready(conn *c, secchat_config *cfg)
{
    int64_t deadline = tcp_peer_now_ms() + WAIT_MS;
    for (;;) {
        secchat_session_event ev;
        while (secchat_session_next_event(c->s, &ev)) {
            if (ev.type == SECCHAT_SESSION_EVENT_READY) {
                report_ready(&ev);
                return;
            }
            if (ev.type == SECCHAT_SESSION_EVENT_CLOSED)
                exit(report_closed(c, &ev, cfg, 1));
            die("event %d before READY", (int)ev.type);
        }
        int64_t left = deadline - tcp_peer_now_ms();
        if (left <= 0)
            die("no handshake within %d ms (session state %d)", WAIT_MS, secchat_session_state(c->s));
        io_step(c, (int)left, -1);
    }
}

static int run_client(secchat_config *cfg, const char *url_text)
{
    secchat_ws_url url;
    int rc = secchat_ws_url_parse(&url, url_text);
    if (rc != SECCHAT_OK)
        die("URL %s: %s", url_text, secchat_strerror(rc));
    /* Printed so that the script can check what the server learnt in message 3. */
    uint8_t pub[SECCHAT_NOISE_KEY_LEN];
    if (secchat_config_public_key(cfg, pub) != SECCHAT_OK)
        die("secchat_config_public_key failed");
    print_hex("KEY", pub, sizeof pub);
    conn c;
    conn_init(&c, connect_to(&url));
    rc = secchat_session_new_client(&c.s, cfg, url_text);
    if (rc != SECCHAT_OK)
        die("secchat_session_new_client: %d %s", rc, secchat_strerror(rc));
    c.io.obj = c.s;
    wait_ready(&c, cfg);

    static char line[COMMAND_MAX];
    static uint8_t raw[SECCHAT_MESSAGE_MAX];
    while (read_command(&c, cfg, line, sizeof line)) {
        size_t n = strlen(line);
        if (n > 0 && line[n - 1] == '\r')
            line[n - 1] = '\0';
        if (strncmp(line, "send ", 5) == 0) {
            secchat_message msg = {.sender = "", .content = line + 5};
            send_message(&c, &msg);
        } else if (strncmp(line, "raw ", 4) == 0) {
            long len = hex_decode(line + 4, strlen(line + 4), raw, sizeof raw);
            if (len < 0)
                die("bad hex in raw command (at most %u bytes)", SECCHAT_MESSAGE_MAX);
            rc = secchat_session_send(c.s, raw, (size_t)len);
            if (rc != SECCHAT_OK)
                die("send: %s", secchat_strerror(rc));
            print_hex("RAWOUT", raw, (size_t)len);
        } else if (strcmp(line, "close") == 0) {
            break;
        } else {
            die("unknown command \"%s\" (send <content>, raw <hex>, close)", line);
        }
    }

    rc = secchat_session_close(c.s, 1000, "bye");
    if (rc != SECCHAT_OK)
        die("close: %s", secchat_strerror(rc));
    int64_t deadline = tcp_peer_now_ms() + WAIT_MS;
    for (;;) {
        secchat_session_event ev;
        while (secchat_session_next_event(c.s, &ev)) {
            if (ev.type == SECCHAT_SESSION_EVENT_CLOSED)
                return report_closed(&c, &ev, cfg, 1);
            if (ev.type == SECCHAT_SESSION_EVENT_MESSAGE) {
                /* Messages already on the way are still delivered while closing. */
                secchat_message msg;
                char *scratch;
                if (receive_message(&ev, &msg, &scratch) != SECCHAT_OK)
                    tcp_peer_say("BADMSG");
                free(scratch);
            }
        }
        int64_t left = deadline - tcp_peer_now_ms();
        if (left <= 0)
            die("no close handshake within %d ms", WAIT_MS);
        io_step(&c, (int)left, -1);
    }
}

static _Noreturn void usage(void)
{
    fputs("usage: session_peer [--psk HEX64] [--protocol NAME] server [BIND_ADDRESS]\n"
          "       session_peer [--psk HEX64] [--protocol NAME] client ws://HOST:PORT/PATH\n",
          stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    const char *psk = NULL, *protocol = NULL;
    const char *positional[2] = {NULL, NULL};
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--psk") == 0 && i + 1 < argc)
            psk = argv[++i];
        else if (strcmp(argv[i], "--protocol") == 0 && i + 1 < argc)
            protocol = argv[++i];
        else if (argv[i][0] == '-' || npos == 2)
            usage();
        else
            positional[npos++] = argv[i];
    }
    if (npos == 0)
        usage();
    secchat_config *cfg = make_config(psk, protocol);
    if (strcmp(positional[0], "server") == 0)
        return run_server(cfg, positional[1] ? positional[1] : "127.0.0.1");
    if (strcmp(positional[0], "client") == 0 && positional[1])
        return run_client(cfg, positional[1]);
    usage();
}
