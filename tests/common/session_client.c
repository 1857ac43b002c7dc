/* A client session over loopback TCP, driven by the caller's thread; see session_client.h. */
#include "common/session_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Longest single poll: short, so a waiter notices its deadline promptly. */
#define STEP_MS 20

static const uint8_t *ops_output(const void *obj, size_t *len)
{
    return secchat_session_output(obj, len);
}

static void ops_consumed(void *obj, size_t n)
{
    secchat_session_output_consumed(obj, n);
}

static int ops_feed(void *obj, const uint8_t *data, size_t len)
{
    return secchat_session_feed(obj, data, len);
}

static void ops_feed_eof(void *obj)
{
    secchat_session_feed_eof(obj);
}

static const tcp_peer_ops session_ops = {ops_output, ops_consumed, ops_feed, ops_feed_eof};

/* "host:port" or "[host]:port" into its parts. */
static int split_address(const char *address, char *host, size_t cap, uint16_t *port)
{
    const char *colon = strrchr(address, ':');
    if (!colon || colon == address)
        return -1;
    const char *h = address;
    size_t n = (size_t)(colon - address);
    if (h[0] == '[') {
        if (n < 2 || h[n - 1] != ']')
            return -1;
        h++;
        n -= 2;
    }
    if (n == 0 || n >= cap)
        return -1;
    memcpy(host, h, n);
    host[n] = '\0';
    char *end;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (*end || p == 0 || p > 65535)
        return -1;
    *port = (uint16_t)p;
    return 0;
}

static void local_address(int fd, char out[SESSION_CLIENT_ADDR_MAX])
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char ip[INET6_ADDRSTRLEN] = "?";
    snprintf(out, SESSION_CLIENT_ADDR_MAX, "?");
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        snprintf(out, SESSION_CLIENT_ADDR_MAX, "%s:%u", ip, (unsigned)ntohs(in->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
        snprintf(out, SESSION_CLIENT_ADDR_MAX, "[%s]:%u", ip, (unsigned)ntohs(in6->sin6_port));
    }
}

int session_client_open(session_client *c, const char *address, const uint8_t psk[SECCHAT_PSK_LEN],
                        const uint8_t *private_key, int timeout_ms, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->io.fd = -1;
    char host[64], url[128];
    uint16_t port;
    if (split_address(address, host, sizeof host, &port) != 0) {
        snprintf(err, errlen, "not an ADDR:PORT: '%s'", address);
        return -1;
    }
    snprintf(url, sizeof url, "ws://%s/", address);
    int rc = secchat_config_new(&c->cfg);
    if (rc == SECCHAT_OK)
        rc = secchat_config_set_psk(c->cfg, psk);
    if (rc == SECCHAT_OK && private_key)
        rc = secchat_config_set_static_key(c->cfg, private_key);
    if (rc == SECCHAT_OK)
        rc = secchat_config_public_key(c->cfg, c->public_key);
    if (rc == SECCHAT_OK)
        rc = secchat_fingerprint(c->public_key, c->fingerprint);
    if (rc == SECCHAT_OK)
        rc = secchat_session_new_client(&c->session, c->cfg, url);
    if (rc != SECCHAT_OK) {
        snprintf(err, errlen, "client session: %s", secchat_strerror(rc));
        session_client_free(c);
        return -1;
    }
    int fd = tcp_peer_connect(host, port, timeout_ms, err, errlen);
    if (fd < 0) {
        session_client_free(c);
        return -1;
    }
    c->io.fd = fd;
    c->io.obj = c->session;
    c->io.ops = &session_ops;
    c->io.name = "session_client";
    local_address(fd, c->local);
    return 0;
}

static void push(session_client *c, const uint8_t *data, size_t len)
{
    if (c->head + c->count == c->cap) {
        if (c->head > 0) { /* slide the live part down before growing */
            memmove(c->queue, c->queue + c->head, c->count * sizeof *c->queue);
            memmove(c->lens, c->lens + c->head, c->count * sizeof *c->lens);
            c->head = 0;
        }
        if (c->count == c->cap) {
            size_t cap = c->cap ? c->cap * 2 : 16;
            char **q = realloc(c->queue, cap * sizeof *q);
            if (!q)
                return;
            c->queue = q;
            size_t *l = realloc(c->lens, cap * sizeof *l);
            if (!l)
                return;
            c->lens = l;
            c->cap = cap;
        }
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return;
    memcpy(copy, data, len);
    copy[len] = '\0';
    c->queue[c->head + c->count] = copy;
    c->lens[c->head + c->count] = len;
    c->count++;
    c->received++;
}

static void collect(session_client *c)
{
    secchat_session_event ev;
    while (secchat_session_next_event(c->session, &ev)) {
        switch (ev.type) {
        case SECCHAT_SESSION_EVENT_READY:
            c->ready = 1;
            memcpy(c->server_key, ev.peer_static, sizeof c->server_key);
            break;
        case SECCHAT_SESSION_EVENT_MESSAGE:
            push(c, ev.data, ev.len);
            break;
        case SECCHAT_SESSION_EVENT_CLOSED:
            c->closed = 1;
            c->close_code = ev.close_code;
            c->close_error = ev.error;
            snprintf(c->close_reason, sizeof c->close_reason, "%s", ev.reason ? ev.reason : "");
            break;
        case SECCHAT_SESSION_EVENT_NONE:
            break;
        }
    }
}

void session_client_pump(session_client *c, int timeout_ms)
{
    if (!c->session || c->io.fd < 0)
        return;
    /* Once closed and written out there is nothing to wait for: only the timeout would pass. */
    if (c->closed && tcp_peer_pending(&c->io) == 0 && c->io.eof)
        return;
    (void)tcp_peer_io_step(&c->io, timeout_ms, -1);
    collect(c);
}

static int step(int64_t deadline)
{
    int64_t left = deadline - tcp_peer_now_ms();
    if (left <= 0)
        return -1;
    return left < STEP_MS ? (int)left : STEP_MS;
}

int session_client_wait_ready(session_client *c, int timeout_ms)
{
    int64_t deadline = tcp_peer_now_ms() + timeout_ms;
    while (!c->ready && !c->closed) {
        int ms = step(deadline);
        if (ms < 0)
            return -1;
        session_client_pump(c, ms);
    }
    return c->ready ? 0 : -1;
}

long session_client_next(session_client *c, char *out, size_t cap, int timeout_ms)
{
    int64_t deadline = tcp_peer_now_ms() + timeout_ms;
    if (cap > 0)
        out[0] = '\0';
    while (c->count == 0) {
        if (c->closed)
            return -1;
        int ms = step(deadline);
        if (ms < 0)
            return -1;
        session_client_pump(c, ms);
    }
    char *m = c->queue[c->head];
    size_t len = c->lens[c->head];
    c->head++;
    c->count--;
    long rc = -1;
    if (len < cap) {
        memcpy(out, m, len + 1);
        rc = (long)len;
    }
    free(m);
    return rc;
}

int session_client_expect(session_client *c, const char *want, int timeout_ms)
{
    char buf[4096];
    long n = session_client_next(c, buf, sizeof buf, timeout_ms);
    if (n < 0 || strcmp(buf, want) != 0) {
        fprintf(stderr, "session_client %s: got '%s' (%ld), want '%s'\n", c->local, buf, n, want);
        return -1;
    }
    return 0;
}

int session_client_flush(session_client *c, int timeout_ms)
{
    int64_t deadline = tcp_peer_now_ms() + timeout_ms;
    while (tcp_peer_pending(&c->io) > 0 && !c->io.eof) {
        int ms = step(deadline);
        if (ms < 0)
            return -1;
        session_client_pump(c, ms);
    }
    return tcp_peer_pending(&c->io) == 0 ? 0 : -1;
}

int session_client_send(session_client *c, const void *data, size_t len)
{
    int rc = secchat_session_send(c->session, data, len);
    if (rc == SECCHAT_OK && session_client_flush(c, 5000) != 0)
        rc = SECCHAT_ERR_TIMEOUT;
    return rc;
}

int session_client_say(session_client *c, const char *text)
{
    secchat_message m = {.sender = "", .content = text};
    uint8_t buf[SECCHAT_NOISE_MAX_PLAINTEXT];
    size_t len;
    int rc = secchat_message_encode(&m, buf, sizeof buf, &len);
    return rc == SECCHAT_OK ? session_client_send(c, buf, len) : rc;
}

int session_client_join(session_client *c, const char *name, int timeout_ms)
{
    char want[256];
    if (session_client_expect(c, "{\"sender\":\"Server\",\"content\":\"Please enter your name:\"}", timeout_ms) != 0)
        return -1;
    if (session_client_say(c, name) != SECCHAT_OK)
        return -1;
    snprintf(want, sizeof want, "{\"sender\":\"Server\",\"content\":\"%s joined the chat\"}", name);
    return session_client_expect(c, want, timeout_ms);
}

int session_client_wait_closed(session_client *c, int timeout_ms)
{
    int64_t deadline = tcp_peer_now_ms() + timeout_ms;
    while (!c->closed) {
        int ms = step(deadline);
        if (ms < 0)
            return -1;
        session_client_pump(c, ms);
    }
    /* Our answer to the peer's close frame goes out now: the peer waits for it. */
    int ms = step(deadline);
    (void)session_client_flush(c, ms > 0 ? ms : 1);
    return 0;
}

void session_client_close(session_client *c, uint16_t code, int timeout_ms)
{
    if (!c->session || c->closed)
        return;
    if (secchat_session_close(c->session, code, NULL) == SECCHAT_OK)
        (void)session_client_wait_closed(c, timeout_ms);
}

void session_client_free(session_client *c)
{
    /* io.ops is set only once connected: a zeroed c has fd 0, which is not ours. */
    if (c->io.ops && c->io.fd >= 0) {
        session_client_close(c, 1000, 1000);
        tcp_peer_finish(&c->io, 0, 500);
    }
    secchat_session_free(c->session);
    secchat_config_free(c->cfg); /* after the session: a config must outlive its sessions */
    for (size_t i = 0; i < c->count; i++)
        free(c->queue[c->head + i]);
    free(c->queue);
    free(c->lens);
    memset(c, 0, sizeof *c);
    c->io.fd = -1;
}

int session_client_field(const char *msg, const char *key, char *out, size_t cap)
{
    size_t len = strlen(msg);
    char *scratch = malloc(SECCHAT_MESSAGE_SCRATCH(len));
    if (!scratch)
        return -1;
    secchat_message m;
    int rc = secchat_message_decode(&m, scratch, SECCHAT_MESSAGE_SCRATCH(len), (const uint8_t *)msg, len);
    const char *v = NULL;
    if (rc == SECCHAT_OK) {
        if (strcmp(key, "sender") == 0)
            v = m.sender;
        else if (strcmp(key, "content") == 0)
            v = m.content;
        else if (strcmp(key, "type") == 0)
            v = m.type;
        else if (strcmp(key, "room") == 0)
            v = m.room;
        else if (strcmp(key, "to") == 0)
            v = m.to;
    }
    int ok = v && strlen(v) < cap;
    if (ok)
        memcpy(out, v, strlen(v) + 1);
    else if (cap > 0)
        out[0] = '\0';
    free(scratch);
    return ok ? 0 : -1;
}
