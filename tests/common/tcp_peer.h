/*
 * Test helper: the socket plumbing of the tools that drive one sans-I/O
 * endpoint over a real TCP connection (tests/ws/ws_peer.c drives a
 * secchat_ws, tests/chat/session_peer.c a secchat_session), so that scripts
 * can pair them with other implementations.
 *
 *     tcp_peer c = {.fd = fd, .obj = ws, .ops = &my_ops, .name = "ws_peer"};
 *     tcp_peer_io_step(&c, timeout_ms, -1);      write, read and feed once
 *     tcp_peer_finish(&c, wait_for_peer, ms);    flush, shut down, close
 *
 * The endpoint is reached only through tcp_peer_ops, so one copy of the loop
 * serves every kind of object. Nothing here exits: failures come back as -1
 * (with errno, or with a message in err for the caller to print under its own
 * prefix), because each tool has its own exit status and error format. Only
 * the non-fatal diagnostics that the tools always printed themselves go to
 * stderr, prefixed with c->name.
 *
 * Like every .c file of tests/common/ but test_*.c, this is linked into every
 * test program and tool.
 */
#ifndef SC_TESTS_TCP_PEER_H
#define SC_TESTS_TCP_PEER_H

#include <stddef.h>
#include <stdint.h>

/* The four calls through which bytes move between the socket and the endpoint (obj). */
typedef struct tcp_peer_ops {
    const uint8_t *(*output)(const void *obj, size_t *len);
    void (*output_consumed)(void *obj, size_t n);
    int (*feed)(void *obj, const uint8_t *data, size_t len); /* 0, or an error code kept in fed_error */
    void (*feed_eof)(void *obj);
} tcp_peer_ops;

typedef struct tcp_peer {
    int fd;
    void *obj;
    const tcp_peer_ops *ops;
    const char *name;  /* prefix of the diagnostics on stderr, e.g. "ws_peer" */
    size_t high_water; /* stop reading while this much output waits (0: no limit) */
    int eof;           /* the peer closed its side (or the socket failed) */
    int fed_error;     /* first error ops->feed returned */
} tcp_peer;

/* Milliseconds on the monotonic clock, for deadlines. */
int64_t tcp_peer_now_ms(void);

/* Prints one line on stdout and flushes it: the scripts read the output line by line as it comes. */
void tcp_peer_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Bytes the endpoint has ready to send. */
size_t tcp_peer_pending(const tcp_peer *c);

/*
 * One round of I/O: waits at most timeout_ms for the socket (and, when
 * stdin_fd >= 0, for stdin), writes what it can of the output, and feeds what
 * it reads. A dead socket counts as the peer's EOF. Returns 1 when stdin
 * became readable, 0 otherwise, -1 (errno set) when poll failed.
 */
int tcp_peer_io_step(tcp_peer *c, int timeout_ms, int stdin_fd);

/*
 * After the endpoint's CLOSED: writes what is left (a failure's close frame
 * included), shuts down the sending side, and when wait_for_peer (the side
 * that lets the other close TCP first, RFC 6455 7.1.1) waits for the peer's
 * EOF; then closes the socket. The whole takes at most timeout_ms. Output that
 * could not be written is reported on stderr, as the connection is over anyway.
 */
void tcp_peer_finish(tcp_peer *c, int wait_for_peer, int timeout_ms);

/*
 * Listens on a numeric address (IPv4 or IPv6) at a port the kernel picks,
 * with a backlog of one. Returns the socket and sets *port, or returns -1
 * with the reason in err.
 */
int tcp_peer_listen(const char *address, uint16_t *port, char *err, size_t errlen);

/*
 * Waits at most timeout_ms for one connection on the listening socket lfd,
 * accepts it and closes lfd. Returns the connection, or -1 with errno
 * (ETIMEDOUT when none came).
 */
int tcp_peer_accept(int lfd, int timeout_ms);

/*
 * Connects to host:port, trying each address getaddrinfo gives, each within
 * timeout_ms. Returns a blocking socket, or -1 with the reason in err.
 */
int tcp_peer_connect(const char *host, uint16_t port, int timeout_ms, char *err, size_t errlen);

/*
 * Moves the first complete line of buf (have bytes, room for bufcap) into
 * line as a string without its '\n', for tools that read commands from
 * stdin between I/O steps. Returns 1 when a line was taken, 0 when none is
 * complete yet, -1 when it does not fit line (cap) or fills all of buf.
 */
int tcp_peer_take_line(char *buf, size_t *have, size_t bufcap, char *line, size_t cap);

#endif
