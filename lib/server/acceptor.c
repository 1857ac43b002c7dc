#define _GNU_SOURCE /* accept4 */
/*
 * The acceptor: one thread that accepts TCP connections and deals them to
 * the workers in turn. It never reads from a connection, so a slow client
 * cannot hold it up; connections over max_clients get an HTTP 503 and are
 * closed at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/internal.h"
#include "server/runtime.h"

/* After EMFILE and friends, accepting again at once would spin. */
#define ACCEPT_PAUSE_MS 100u

/* Sends HTTP 503 with why as the body, best effort, and closes fd. */
static void refuse_busy(int fd, const char *why)
{
    char response[256];
    int n = snprintf(response, sizeof response,
                     "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     strlen(why), why);
    if (n > 0 && (size_t)n < sizeof response)
        (void)send(fd, response, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
    close(fd);
}

int sc_acceptor_open(secchat_server *srv)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int rc = sc_address_parse(srv->listen_text, &ss, &len);
    if (rc != SECCHAT_OK)
        return rc;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return SECCHAT_ERR_LISTEN;
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    /* Chat lines are small and urgent. Set here, it is inherited by every
     * accepted socket (Linux): one system call fewer per connection. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (ss.ss_family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one); /* [::]:p means IPv6 only */
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 1024) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return SECCHAT_ERR_LISTEN;
    }
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    if (getsockname(fd, (struct sockaddr *)&bound, &blen) == 0)
        sc_address_format((struct sockaddr *)&bound, srv->bound);
    srv->listen_fd = fd;
    return SECCHAT_OK;
}

static void on_accept_ready(uv_poll_t *h, int status, int events);

static void on_pause_over(uv_timer_t *t)
{
    secchat_server *srv = t->data;
    uv_poll_start(&srv->accept_poll, UV_READABLE, on_accept_ready);
}

static void deal(secchat_server *srv, int fd, const struct sockaddr_storage *peer)
{
    /* Both counts are taken first and given back on refusal, so racing
     * workers can never see more than the limits. */
    const char *full = NULL;
    int pending_taken = 0;
    if (atomic_fetch_add(&srv->nconns, 1) >= srv->opts.max_clients) {
        full = "too many connections (max clients)";
    } else {
        pending_taken = 1;
        if (atomic_fetch_add(&srv->npending, 1) >= srv->opts.max_pending)
            full = "too many connections waiting to authenticate (max pending)";
    }
    if (full) {
        sc_server_release_slot(srv, pending_taken);
        refuse_busy(fd, full);
        char address[SC_ADDRESS_TEXT_MAX], line[SC_ADDRESS_TEXT_MAX + 96];
        sc_address_format((const struct sockaddr *)peer, address);
        snprintf(line, sizeof line, "Connection from %s refused: %s", address, full);
        secchat_server_event ev = {.type = SECCHAT_SERVER_EVENT_REFUSED, .error = SECCHAT_ERR_LIMIT,
                                   .address = address, .text = full, .line = line};
        sc_event_emit(srv, &ev);
        return;
    }
    char address[SC_ADDRESS_TEXT_MAX];
    sc_address_format((const struct sockaddr *)peer, address);
    unsigned i = atomic_fetch_add(&srv->next_worker, 1) % srv->nworkers;
    sc_item it = {.kind = SC_ITEM_ADOPT, .fd = fd, .text = strdup(address)};
    if (sc_worker_push(&srv->workers[i], &it) != SECCHAT_OK)
        sc_server_release_slot(srv, 1); /* the push closed fd */
}

static void on_accept_ready(uv_poll_t *h, int status, int events)
{
    (void)events;
    secchat_server *srv = h->data;
    if (status < 0)
        return;
    for (int n = 0; n < 256; n++) { /* bounded, then back to the loop */
        struct sockaddr_storage peer;
        socklen_t plen = sizeof peer;
        int fd = accept4(srv->listen_fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            deal(srv, fd, &peer);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            uv_poll_stop(&srv->accept_poll);
            uv_timer_start(&srv->accept_pause, on_pause_over, ACCEPT_PAUSE_MS, 0);
        }
        return; /* EAGAIN and the rest */
    }
}

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

static void on_stop(uv_async_t *h)
{
    secchat_server *srv = h->data;
    uv_close((uv_handle_t *)&srv->accept_poll, on_closed);
    uv_close((uv_handle_t *)&srv->accept_pause, on_closed);
    uv_close((uv_handle_t *)&srv->accept_stop, on_closed);
}

static void *acceptor_main(void *arg)
{
    secchat_server *srv = arg;
    uv_run(&srv->accept_loop, UV_RUN_DEFAULT);
    return NULL;
}

int sc_acceptor_start(secchat_server *srv)
{
    if (uv_loop_init(&srv->accept_loop) != 0)
        return SECCHAT_ERR_THREAD;
    uv_poll_init_socket(&srv->accept_loop, &srv->accept_poll, srv->listen_fd);
    uv_timer_init(&srv->accept_loop, &srv->accept_pause);
    uv_async_init(&srv->accept_loop, &srv->accept_stop, on_stop);
    srv->accept_poll.data = srv->accept_pause.data = srv->accept_stop.data = srv;
    uv_poll_start(&srv->accept_poll, UV_READABLE, on_accept_ready);
    if (pthread_create(&srv->accept_thread, NULL, acceptor_main, srv) != 0) {
        on_stop(&srv->accept_stop);
        uv_run(&srv->accept_loop, UV_RUN_DEFAULT);
        uv_loop_close(&srv->accept_loop);
        return SECCHAT_ERR_THREAD;
    }
    srv->accept_started = 1;
    return SECCHAT_OK;
}

void sc_acceptor_stop(secchat_server *srv)
{
    if (srv->accept_started) {
        uv_async_send(&srv->accept_stop);
        pthread_join(srv->accept_thread, NULL);
        uv_loop_close(&srv->accept_loop);
        srv->accept_started = 0;
    }
    if (srv->listen_fd >= 0) {
        close(srv->listen_fd);
        srv->listen_fd = -1;
    }
}
