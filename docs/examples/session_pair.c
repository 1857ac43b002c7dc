/* session_pair: a client and a server session over a socketpair: WebSocket upgrade, Noise_XXpsk2
 * handshake, one JSON message each way, close. Build: cc session_pair.c $(pkg-config --cflags --libs libsecchat) */
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
#include <secchat.h>

#define CHECK(call)                                                                                                    \
    do {                                                                                                               \
        int rc_ = (call);                                                                                              \
        if (rc_ != SECCHAT_OK)                                                                                         \
            return fprintf(stderr, "session_pair: %s: %s\n", #call, secchat_strerror(rc_)), 1;                         \
    } while (0)

/* One turn of I/O for one side: write its output, feed it what has arrived. */
static int move_bytes(secchat_session *s, int fd)
{
    size_t len;
    const uint8_t *out = secchat_session_output(s, &len);
    ssize_t n = len ? write(fd, out, len) : 0;
    if (n < 0)
        return SECCHAT_ERR_WS_CONNECTION_LOST;
    secchat_session_output_consumed(s, (size_t)n);
    uint8_t buf[4096];
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 10) <= 0)
        return SECCHAT_OK;
    if ((n = read(fd, buf, sizeof buf)) > 0)
        return secchat_session_feed(s, buf, (size_t)n);
    secchat_session_feed_eof(s); /* the peer hung up */
    return SECCHAT_OK;
}

int main(void)
{
    uint8_t psk[SECCHAT_PSK_LEN];
    secchat_config *cfg[2];
    secchat_session *side[2];
    int fds[2], closed = 0;
    CHECK(secchat_random_bytes(psk, sizeof psk)); /* in real life: read from a key file */
    for (int i = 0; i < 2; i++) {
        CHECK(secchat_config_new(&cfg[i])); /* each side gets its own static key pair */
        CHECK(secchat_config_set_psk(cfg[i], psk));
    }
    secchat_memzero(psk, sizeof psk);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
        return perror("socketpair"), 1;
    CHECK(secchat_session_new_client(&side[0], cfg[0], "ws://127.0.0.1:8080/"));
    CHECK(secchat_session_new_server(&side[1], cfg[1]));
    for (int round = 0; round < 500 && closed < 2; round++) {
        for (int i = 0; i < 2; i++) {
            CHECK(move_bytes(side[i], fds[i]));
            secchat_session_event ev;
            while (secchat_session_next_event(side[i], &ev)) {
                secchat_message msg = {.sender = i ? "Server" : "", .content = i ? "Please enter your name:" : "Alice"};
                char text[1024];
                if (ev.type == SECCHAT_SESSION_EVENT_READY) {
                    CHECK(secchat_session_send_message(side[i], &msg));
                } else if (ev.type == SECCHAT_SESSION_EVENT_MESSAGE) {
                    CHECK(secchat_message_decode(&msg, text, sizeof text, ev.data, ev.len));
                    printf("%s received: \"%s\" from \"%s\"\n", i ? "server" : "client", msg.content, msg.sender);
                    if (i == 0) /* the client has its answer: end politely */
                        CHECK(secchat_session_close(side[0], SECCHAT_WS_CLOSE_NORMAL, "bye"));
                } else if (ev.type == SECCHAT_SESSION_EVENT_CLOSED) {
                    printf("%s closed: %u %s\n", i ? "server" : "client", (unsigned)ev.close_code, ev.reason);
                    closed++;
                }
            }
        }
    }
    for (int i = 0; i < 2; i++) {
        secchat_session_free(side[i]);
        secchat_config_free(cfg[i]);
        close(fds[i]);
    }
    puts(closed == 2 ? "session_pair: OK" : "session_pair: did not finish");
    return closed == 2 ? 0 : 1;
}
