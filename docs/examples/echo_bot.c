/*
 * An echo bot: joins a secchat server as "echobot" and repeats every chat
 * line it hears, as "echo: <line>". Stops on its own after N lines.
 *
 *   echo_bot [ws://127.0.0.1:8080] [N]      (the original's demo PSK)
 *   cc echo_bot.c $(pkg-config --cflags --libs libsecchat) -o echo_bot
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <secchat.h>

struct bot {
    secchat_client *client;
    int left; /* lines to echo before leaving */
};

static void on_event(void *arg, const secchat_client_event *ev)
{
    struct bot *bot = arg;
    if (ev->type == SECCHAT_CLIENT_EVENT_SECURE) {
        printf("connected; server key %s\n", ev->fingerprint);
    } else if (ev->type == SECCHAT_CLIENT_EVENT_MESSAGE && strcmp(ev->message->sender, "Server") != 0) {
        char reply[SECCHAT_MESSAGE_MAX];
        snprintf(reply, sizeof reply, "echo: %s", ev->message->content);
        if (secchat_client_send(bot->client, reply) != SECCHAT_OK || --bot->left == 0) {
            int rc = secchat_client_close(bot->client); /* run() returns after the close handshake */
            (void)rc;
        }
    } else if (ev->type == SECCHAT_CLIENT_EVENT_CLOSED) {
        printf("closed: %u %s (%s)\n", ev->close_code, ev->reason, secchat_strerror(ev->error));
    }
}

int main(int argc, char **argv)
{
    static const uint8_t demo_psk[32] = "my_super_secret_pre_shared_key!!";
    struct bot bot = {.left = argc > 2 ? (int)strtol(argv[2], NULL, 10) : -1};
    secchat_client_options opts = {.name = "echobot"}; /* answers the name prompt */
    secchat_config *cfg = NULL;
    int rc = secchat_config_new(&cfg);
    if (rc == SECCHAT_OK)
        rc = secchat_config_set_psk(cfg, demo_psk);
    if (rc == SECCHAT_OK)
        rc = secchat_client_new(&bot.client, cfg, argc > 1 ? argv[1] : "ws://127.0.0.1:8080", &opts, on_event, &bot);
    if (rc == SECCHAT_OK)
        rc = secchat_client_run(bot.client); /* the event loop, until the connection is over */
    if (rc != SECCHAT_OK)
        fprintf(stderr, "echo_bot: %s\n", secchat_strerror(rc));
    secchat_client_free(bot.client);
    secchat_config_free(cfg);
    return rc == SECCHAT_OK ? 0 : 1;
}
