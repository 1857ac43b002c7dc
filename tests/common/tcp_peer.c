/*
 * The socket side of the interop tools: see tcp_peer.h.
 */
#include "common/tcp_peer.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK 65536

int64_t tcp_peer_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tcp_peer_say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

size_t tcp_peer_pending(const tcp_peer *c)
{
    size_t n;
    c->ops->output(c->obj, &n);
    return n;
}

static void feed_eof(tcp_peer *c)
{
    c->eof = 1;
    c->ops->feed_eof(c->obj);
}

/* Reading pauses above the high-water mark, so that output (echoes, say) never outgrows the endpoint's limit. */
static int may_read(const tcp_peer *c)
{
    return !c->eof && (c->high_water == 0 || tcp_peer_pending(c) < c->high_water);
}

static int would_block(int e)
{
    return e == EAGAIN || e == EWOULDBLOCK || e == EINTR;
}

int tcp_peer_io_step(tcp_peer *c, int timeout_ms, int stdin_fd)
{
    struct pollfd p[2];
    nfds_t n = 1;
    p[0].fd = c->fd;
    p[0].events = (short)((may_read(c) ? POLLIN : 0) | (tcp_peer_pending(c) > 0 ? POLLOUT : 0));
    p[0].revents = 0;
    if (stdin_fd >= 0) {
        p[1].fd = stdin_fd;
        p[1].events = POLLIN;
        p[1].revents = 0;
        n = 2;
    }
    if (timeout_ms < 0)
        timeout_ms = 0;
    int r = poll(p, n, timeout_ms);
    if (r < 0)
        return errno == EINTR ? 0 : -1;
    if (p[0].revents & (POLLOUT | POLLERR | POLLHUP)) {
        size_t len;
        const uint8_t *out = c->ops->output(c->obj, &len);
        if (len > 0) {
            ssize_t w = send(c->fd, out, len, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (w > 0) {
                c->ops->output_consumed(c->obj, (size_t)w);
            } else if (w < 0 && !would_block(errno)) {
                /* The peer is gone: drop the output so that nothing waits for it. */
                fprintf(stderr, "%s: write: %s\n", c->name, strerror(errno));
                c->ops->output_consumed(c->obj, len);
                if (!c->eof)
                    feed_eof(c);
            }
        }
    }
    if ((p[0].revents & (POLLIN | POLLERR | POLLHUP)) && may_read(c)) {
        static uint8_t buf[READ_CHUNK];
        ssize_t got = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (got > 0) {
            /* Not fatal here: the endpoint also reports the failure as its CLOSED event. */
            int rc = c->ops->feed(c->obj, buf, (size_t)got);
            if (rc != 0 && !c->fed_error)
                c->fed_error = rc;
        } else if (got == 0) {
            feed_eof(c);
        } else if (!would_block(errno)) {
            fprintf(stderr, "%s: read: %s\n", c->name, strerror(errno));
            feed_eof(c);
        }
    }
    return n == 2 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
}

/* Writes the pending output until deadline (tcp_peer_now_ms time); 0 when all is out. */
static int flush_until(tcp_peer *c, int64_t deadline)
{
    while (tcp_peer_pending(c) > 0) {
        if (tcp_peer_now_ms() >= deadline)
            return -1;
        struct pollfd p = {c->fd, POLLOUT, 0};
        int r = poll(&p, 1, (int)(deadline - tcp_peer_now_ms()));
        if (r < 0 && errno != EINTR)
            return -1;
        if (r <= 0)
            continue;
        size_t len;
        const uint8_t *out = c->ops->output(c->obj, &len);
        ssize_t w = send(c->fd, out, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w > 0)
            c->ops->output_consumed(c->obj, (size_t)w);
        else if (w < 0 && !would_block(errno))
            return -1;
    }
    return 0;
}

void tcp_peer_finish(tcp_peer *c, int wait_for_peer, int timeout_ms)
{
    int64_t deadline = tcp_peer_now_ms() + timeout_ms;
    if (flush_until(c, deadline) != 0)
        fprintf(stderr, "%s: could not write the last %zu output bytes\n", c->name, tcp_peer_pending(c));
    shutdown(c->fd, SHUT_WR);
    if (wait_for_peer && !c->eof) {
        uint8_t buf[4096];
        while (tcp_peer_now_ms() < deadline) {
            struct pollfd p = {c->fd, POLLIN, 0};
            int r = poll(&p, 1, (int)(deadline - tcp_peer_now_ms()));
            if (r < 0 && errno != EINTR)
                break;
            if (r <= 0)
                continue;
            if (recv(c->fd, buf, sizeof buf, 0) <= 0)
                break; /* EOF (or reset): the peer is done */
        }
    }
    close(c->fd);
    c->fd = -1;
}

int tcp_peer_listen(const char *address, uint16_t *port, char *err, size_t errlen)
{
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    int r = getaddrinfo(address, "0", &hints, &ai);
    if (r != 0) {
        snprintf(err, errlen, "bind address %s: %s", address, gai_strerror(r));
        return -1;
    }
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        freeaddrinfo(ai);
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int ok = 0;
    int bound = bind(fd, ai->ai_addr, ai->ai_addrlen);
    int e = errno; /* kept across freeaddrinfo for the message */
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (bound != 0)
        snprintf(err, errlen, "bind %s: %s", address, strerror(e));
    else if (listen(fd, 1) != 0)
        snprintf(err, errlen, "listen: %s", strerror(errno));
    else if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        snprintf(err, errlen, "getsockname: %s", strerror(errno));
    else
        ok = 1;
    if (!ok) {
        close(fd);
        return -1;
    }
    *port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                     : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

int tcp_peer_accept(int lfd, int timeout_ms)
{
    struct pollfd p = {lfd, POLLIN, 0};
    int fd = -1;
    if (poll(&p, 1, timeout_ms) <= 0)
        errno = ETIMEDOUT; /* a failed poll, too, means no connection came */
    else
        fd = accept(lfd, NULL, NULL);
    int e = errno;
    close(lfd);
    errno = e;
    return fd;
}

int tcp_peer_connect(const char *host, uint16_t port, int timeout_ms, char *err, size_t errlen)
{
    struct addrinfo hints, *ai = NULL;
    char service[8];
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(service, sizeof service, "%u", port);
    int r = getaddrinfo(host, service, &hints, &ai);
    if (r != 0) {
        snprintf(err, errlen, "resolve %s: %s", host, gai_strerror(r));
        return -1;
    }
    int fd = -1, e = 0;
    for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        /* Bounded connect: start it non-blocking, wait with poll, then back to a blocking socket. */
        int flags = fcntl(fd, F_GETFL);
        fcntl(fd, F_SETFL, flags | O_NONBLOCK);
        e = 0;
        if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            e = errno;
            if (e == EINPROGRESS) {
                struct pollfd p = {fd, POLLOUT, 0};
                int pr = poll(&p, 1, timeout_ms);
                socklen_t len = sizeof e;
                if (pr <= 0)
                    e = pr == 0 ? ETIMEDOUT : errno;
                else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
                    e = errno;
            }
        }
        fcntl(fd, F_SETFL, flags);
        if (e != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    if (fd < 0)
        snprintf(err, errlen, "connect to %s port %u: %s", host, port, strerror(e));
    return fd;
}

int tcp_peer_take_line(char *buf, size_t *have, size_t bufcap, char *line, size_t cap)
{
    char *nl = memchr(buf, '\n', *have);
    if (!nl)
        return *have == bufcap ? -1 : 0;
    size_t len = (size_t)(nl - buf);
    if (len >= cap)
        return -1;
    memcpy(line, buf, len);
    line[len] = '\0';
    memmove(buf, nl + 1, *have - len - 1);
    *have -= len + 1;
    return 1;
}
