/* A one-connection chat server on a thread, for client tests; see mini_server.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/mini_server.h"
#include "common/tcp_peer.h"

static const uint8_t *ms_output(const void *obj, size_t *len)
{
    return secchat_session_output(obj, len);
}

static void ms_output_consumed(void *obj, size_t n)
{
    secchat_session_output_consumed(obj, n);
}

static int ms_feed(void *obj, const uint8_t *data, size_t len)
{
    return secchat_session_feed(obj, data, len);
}

static void ms_feed_eof(void *obj)
{
    secchat_session_feed_eof(obj);
}

static const tcp_peer_ops ms_ops = {ms_output, ms_output_consumed, ms_feed, ms_feed_eof};

int mini_server_init(mini_server *s, secchat_config *cfg)
{
    memset(s, 0, sizeof *s);
    s->cfg = cfg;
    s->lfd = tcp_peer_listen("127.0.0.1", &s->port, s->failure, sizeof s->failure);
    return s->lfd < 0 ? -1 : 0;
}

uint16_t mini_server_closed_port(void)
{
    char err[128];
    uint16_t port = 0;
    int fd = tcp_peer_listen("127.0.0.1", &port, err, sizeof err);
    if (fd < 0)
        return 0;
    close(fd);
    return port;
}

static void copy_text(char *dst, const char *src)
{
    snprintf(dst, MINI_SERVER_LINE_MAX, "%s", src);
}

static void say(mini_server *s, secchat_session *ss, const char *sender, const char *content, const char *type)
{
    secchat_message m = {.sender = sender, .content = content, .type = type};
    int rc = secchat_session_send_message(ss, &m);
    /* WS_CLOSED: the client's close came in the same read as its last lines. */
    if (rc != SECCHAT_OK && rc != SECCHAT_ERR_WS_CLOSED && !s->failure[0])
        snprintf(s->failure, sizeof s->failure, "send_message: %s", secchat_strerror(rc));
}

/* Handles one received plaintext: the name, or a chat line to echo. */
static void on_message(mini_server *s, secchat_session *ss, const secchat_session_event *ev)
{
    char *scratch = malloc(SECCHAT_MESSAGE_SCRATCH(ev->len));
    secchat_message m;
    if (!scratch || secchat_message_decode(&m, scratch, SECCHAT_MESSAGE_SCRATCH(ev->len), ev->data, ev->len) != 0) {
        if (secchat_session_close(ss, 1008, "invalid message") != SECCHAT_OK && !s->failure[0])
            snprintf(s->failure, sizeof s->failure, "close after a bad message failed");
        free(scratch);
        return;
    }
    int named = s->n_names > (s->script.reprompt ? 1 : 0);
    if (!named) {
        if (s->n_names < 4)
            copy_text(s->names[s->n_names], m.content);
        s->n_names++;
        if (s->script.reprompt && s->n_names == 1) {
            say(s, ss, "Server", "Name is taken. Please enter your name:", "error");
        } else {
            char joined[MINI_SERVER_LINE_MAX + 32];
            snprintf(joined, sizeof joined, "%s joined the chat", m.content);
            say(s, ss, "Server", joined, NULL);
        }
    } else {
        if (s->n_lines < MINI_SERVER_MAX_LINES)
            copy_text(s->lines[s->n_lines], m.content);
        s->n_lines++;
        say(s, ss, s->names[s->n_names - 1], m.content, NULL);
        if (s->script.close_after && s->n_lines == s->script.close_after &&
            secchat_session_close(ss, 1001, "server shutting down") != SECCHAT_OK && !s->failure[0])
            snprintf(s->failure, sizeof s->failure, "close 1001 failed");
    }
    free(scratch);
}

static void *serve(void *arg)
{
    mini_server *s = arg;
    int fd = tcp_peer_accept(s->lfd, MINI_SERVER_WAIT_MS);
    s->lfd = -1; /* tcp_peer_accept closed it */
    if (fd < 0) {
        snprintf(s->failure, sizeof s->failure, "accept: %s", strerror(errno));
        return NULL;
    }
    secchat_session *ss = NULL;
    int rc = secchat_session_new_server(&ss, s->cfg);
    if (rc != SECCHAT_OK) {
        snprintf(s->failure, sizeof s->failure, "session_new_server: %s", secchat_strerror(rc));
        close(fd);
        return NULL;
    }
    tcp_peer io = {.fd = fd, .obj = ss, .ops = &ms_ops, .name = "mini_server"};
    int64_t deadline = tcp_peer_now_ms() + MINI_SERVER_WAIT_MS;
    while (!s->closed) {
        secchat_session_event ev;
        while (!s->closed && secchat_session_next_event(ss, &ev)) {
            deadline = tcp_peer_now_ms() + MINI_SERVER_WAIT_MS;
            if (ev.type == SECCHAT_SESSION_EVENT_READY) {
                s->ready = 1;
                memcpy(s->client_key, ev.peer_static, SECCHAT_NOISE_KEY_LEN);
                if (s->script.hangup) {
                    s->closed = 1;
                    s->close_code = 1006;
                    shutdown(fd, SHUT_RDWR);
                } else if (s->script.garbage) {
                    static const uint8_t junk[] = "this is not JSON";
                    if (secchat_session_send(ss, junk, sizeof junk - 1) != SECCHAT_OK)
                        snprintf(s->failure, sizeof s->failure, "send junk failed");
                } else if (!s->script.no_prompt) {
                    say(s, ss, "Server", "Please enter your name:", NULL);
                }
            } else if (ev.type == SECCHAT_SESSION_EVENT_MESSAGE) {
                on_message(s, ss, &ev);
            } else if (ev.type == SECCHAT_SESSION_EVENT_CLOSED) {
                s->closed = 1;
                s->close_code = ev.close_code;
                s->close_error = ev.error;
            }
        }
        if (s->closed)
            break;
        int64_t left = deadline - tcp_peer_now_ms();
        if (left <= 0) {
            snprintf(s->failure, sizeof s->failure, "nothing happened for %d ms", MINI_SERVER_WAIT_MS);
            break;
        }
        if (tcp_peer_io_step(&io, (int)(left < 50 ? left : 50), -1) < 0) {
            snprintf(s->failure, sizeof s->failure, "poll: %s", strerror(errno));
            break;
        }
    }
    if (s->script.hangup) {
        close(fd);
    } else {
        tcp_peer_finish(&io, 0, 2000); /* the server closes TCP first */
    }
    secchat_session_free(ss);
    return NULL;
}

int mini_server_start(mini_server *s)
{
    if (pthread_create(&s->thread, NULL, serve, s) != 0) {
        snprintf(s->failure, sizeof s->failure, "pthread_create failed");
        return -1;
    }
    s->started = 1;
    return 0;
}

void mini_server_join(mini_server *s)
{
    if (s->started)
        pthread_join(s->thread, NULL);
    s->started = 0;
    if (s->lfd >= 0)
        close(s->lfd);
    s->lfd = -1;
}
