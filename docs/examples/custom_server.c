/*
 * A chat server with one command of its own: "/roll" answers the member with
 * a die roll (1-6); every other command, and all the chat, is the built-in
 * protocol. Runs on 127.0.0.1:8080 with the original's demo PSK until
 * SIGINT or SIGTERM, or for N seconds when given N.
 *
 *   cc custom_server.c $(pkg-config --cflags --libs libsecchat) -o custom_server
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <secchat.h>

static void on_event(void *arg, const secchat_server_event *ev)
{
    (void)arg;
    if (ev->line)
        printf("%s\n", ev->line); /* "Alice joined the chat", "Alice: hi", ... */
}

/* Runs on a worker thread before the built-in commands; 1 = handled here. */
static int on_command(void *arg, secchat_server_member *m, const char *cmd, const char *args)
{
    (void)arg;
    (void)args;
    if (strcmp(cmd, "roll") != 0)
        return 0;
    uint8_t r;
    char text[64];
    if (secchat_random_bytes(&r, 1) != SECCHAT_OK)
        return 0;
    snprintf(text, sizeof text, "%s rolled a %u", secchat_server_member_name(m), 1u + r % 6u);
    return secchat_server_member_reply(m, text) == SECCHAT_OK;
}

int main(int argc, char **argv)
{
    static const uint8_t demo_psk[32] = "my_super_secret_pre_shared_key!!";
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL); /* before the server's threads exist */

    secchat_config *cfg = NULL;
    secchat_server *srv = NULL;
    secchat_server_options opts = {.listen = "127.0.0.1:8080", .threads = 2};
    secchat_server_callbacks cb = {.event = on_event, .command = on_command};
    int rc = secchat_config_new(&cfg);
    if (rc == SECCHAT_OK)
        rc = secchat_config_set_psk(cfg, demo_psk);
    if (rc == SECCHAT_OK)
        rc = secchat_server_new(&srv, cfg, &opts, &cb);
    if (rc == SECCHAT_OK)
        rc = secchat_server_start(srv);
    if (rc != SECCHAT_OK) {
        fprintf(stderr, "custom_server: %s\n", secchat_strerror(rc));
        secchat_server_free(srv);
        secchat_config_free(cfg);
        return 1;
    }
    if (argc > 1) {
        struct timespec t = {.tv_sec = (time_t)strtol(argv[1], NULL, 10)};
        sigtimedwait(&stop, NULL, &t);
    } else {
        int sig;
        sigwait(&stop, &sig);
    }
    secchat_server_stop(srv, 2000); /* close frames (1001) to everyone, then join the threads */
    secchat_server_free(srv);
    secchat_config_free(cfg);
    return 0;
}
