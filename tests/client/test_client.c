/*
 * secchat_client (lib/client) against an in-process server made of a
 * secchat_session on a thread (tests/common/mini_server), over loopback TCP:
 * the whole conversation with the name prompt answered by options.name,
 * lines sent before the channel is secure, send and close from another
 * thread, the server closing, and every failure the client reports (wrong
 * PSK, refused connection, silent peer, trust hook refusal, bad message,
 * lost connection). Every wait is bounded; threads are joined.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/mini_server.h"
#include "secchat.h"

#define MAX_EVENTS 64

/* What the event callback saw; guarded by lock because other threads wait on it. */
typedef struct recorder {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    secchat_client *client;
    enum secchat_client_event_type types[MAX_EVENTS];
    char senders[MAX_EVENTS][64];
    char contents[MAX_EVENTS][256];
    char msg_types[MAX_EVENTS][16];
    size_t n;
    char fingerprint[SECCHAT_FINGERPRINT_SIZE];
    uint8_t peer_key[SECCHAT_NOISE_KEY_LEN];
    size_t hash_len;
    uint16_t close_code;
    char reason[128];
    int error;
    int closed_events;
    /* Behaviour (set before run): after "<name> joined the chat", send these and then close. */
    const char *send_on_join[4];
    int close_after_echoes; /* close once this many echoes came back (0: never from the callback) */
    int echoes;
} recorder;

typedef struct fixture {
    secchat_config *server_cfg, *client_cfg;
    uint8_t server_pub[SECCHAT_NOISE_KEY_LEN];
    mini_server server;
    recorder rec;
    char url[64];
} fixture;

static void on_event(void *arg, const secchat_client_event *ev)
{
    recorder *r = arg;
    pthread_mutex_lock(&r->lock);
    size_t i = r->n < MAX_EVENTS ? r->n++ : MAX_EVENTS - 1;
    r->types[i] = ev->type;
    int joined = 0, echo = 0;
    if (ev->type == SECCHAT_CLIENT_EVENT_SECURE) {
        snprintf(r->fingerprint, sizeof r->fingerprint, "%s", ev->fingerprint);
        memcpy(r->peer_key, ev->peer_key, SECCHAT_NOISE_KEY_LEN);
        r->hash_len = ev->hash_len;
    } else if (ev->type == SECCHAT_CLIENT_EVENT_MESSAGE) {
        snprintf(r->senders[i], sizeof r->senders[i], "%s", ev->message->sender);
        snprintf(r->contents[i], sizeof r->contents[i], "%s", ev->message->content);
        snprintf(r->msg_types[i], sizeof r->msg_types[i], "%s", ev->message->type ? ev->message->type : "");
        joined = strcmp(ev->message->sender, "Server") == 0 && strstr(ev->message->content, " joined the chat");
        echo = strcmp(ev->message->sender, "Server") != 0;
        if (echo)
            r->echoes++;
    } else if (ev->type == SECCHAT_CLIENT_EVENT_CLOSED) {
        r->close_code = ev->close_code;
        snprintf(r->reason, sizeof r->reason, "%s", ev->reason);
        r->error = ev->error;
        r->closed_events++;
    }
    int close_now = echo && r->close_after_echoes && r->echoes == r->close_after_echoes;
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
    /* Calls back into the client from its own callback, as applications do. */
    if (joined)
        for (int k = 0; k < 4 && r->send_on_join[k]; k++)
            assert_int_equal(secchat_client_send(r->client, r->send_on_join[k]), SECCHAT_OK);
    if (close_now)
        assert_int_equal(secchat_client_close(r->client), SECCHAT_OK);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    uint8_t psk[SECCHAT_PSK_LEN];
    assert_int_equal(secchat_random_bytes(psk, sizeof psk), SECCHAT_OK);
    assert_int_equal(secchat_config_new(&f->server_cfg), SECCHAT_OK);
    assert_int_equal(secchat_config_new(&f->client_cfg), SECCHAT_OK);
    assert_int_equal(secchat_config_set_psk(f->server_cfg, psk), SECCHAT_OK);
    assert_int_equal(secchat_config_set_psk(f->client_cfg, psk), SECCHAT_OK);
    assert_int_equal(secchat_config_public_key(f->server_cfg, f->server_pub), SECCHAT_OK);
    pthread_mutex_init(&f->rec.lock, NULL);
    pthread_cond_init(&f->rec.changed, NULL);
    assert_int_equal(mini_server_init(&f->server, f->server_cfg), 0);
    snprintf(f->url, sizeof f->url, "ws://127.0.0.1:%u/", f->server.port);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    mini_server_join(&f->server);
    secchat_client_free(f->rec.client);
    secchat_config_free(f->client_cfg);
    secchat_config_free(f->server_cfg);
    pthread_mutex_destroy(&f->rec.lock);
    pthread_cond_destroy(&f->rec.changed);
    free(f);
    return 0;
}

static void new_client(fixture *f, const char *url, const char *name, unsigned timeout_ms)
{
    secchat_client_options opts = {.timeout_ms = timeout_ms, .name = name};
    assert_int_equal(secchat_client_new(&f->rec.client, f->client_cfg, url, &opts, on_event, &f->rec), SECCHAT_OK);
}

static long find_event(const recorder *r, enum secchat_client_event_type type, size_t from)
{
    for (size_t i = from; i < r->n; i++)
        if (r->types[i] == type)
            return (long)i;
    return -1;
}

static long find_message(const recorder *r, const char *sender, const char *content)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->types[i] == SECCHAT_CLIENT_EVENT_MESSAGE && strcmp(r->senders[i], sender) == 0 &&
            strcmp(r->contents[i], content) == 0)
            return (long)i;
    return -1;
}

static void assert_server_ok(const mini_server *s)
{
    if (s->failure[0])
        fail_msg("mini_server: %s", s->failure);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the conversation ----------------------------------------------------- */

static void test_chat_and_clean_close(void **state)
{
    fixture *f = *state;
    assert_int_equal(mini_server_start(&f->server), 0);
    new_client(f, f->url, "Alice", 5000);
    f->rec.send_on_join[0] = "hello";
    f->rec.send_on_join[1] = "caf\xc3\xa9 \"quoted\"\nsecond line";
    f->rec.close_after_echoes = 2;
    assert_int_equal(secchat_client_run(f->rec.client), SECCHAT_OK);
    mini_server_join(&f->server);
    assert_server_ok(&f->server);

    recorder *r = &f->rec;
    assert_int_equal(r->types[0], SECCHAT_CLIENT_EVENT_CONNECTED);
    assert_int_equal(r->types[1], SECCHAT_CLIENT_EVENT_HANDSHAKE);
    assert_int_equal(r->types[2], SECCHAT_CLIENT_EVENT_SECURE);
    assert_int_equal(r->types[r->n - 1], SECCHAT_CLIENT_EVENT_CLOSED);
    assert_int_equal(r->closed_events, 1);
    assert_int_equal(r->error, SECCHAT_OK);
    assert_int_equal(r->close_code, 1000);
    /* SECURE names the server's key, and its fingerprint. */
    assert_memory_equal(r->peer_key, f->server_pub, SECCHAT_NOISE_KEY_LEN);
    char fp[SECCHAT_FINGERPRINT_SIZE];
    assert_int_equal(secchat_fingerprint(f->server_pub, fp), SECCHAT_OK);
    assert_string_equal(r->fingerprint, fp);
    assert_int_equal(r->hash_len, 32);
    /* The prompt is reported and was answered by the name. */
    long prompt = find_message(r, "Server", "Please enter your name:");
    assert_true(prompt > 2);
    assert_true(find_message(r, "Server", "Alice joined the chat") > prompt);
    assert_true(find_message(r, "Alice", "hello") > 0);
    assert_true(find_message(r, "Alice", "caf\xc3\xa9 \"quoted\"\nsecond line") > 0);
    assert_int_equal(f->server.n_names, 1);
    assert_string_equal(f->server.names[0], "Alice");
    assert_int_equal(f->server.n_lines, 2);
    assert_string_equal(f->server.lines[0], "hello");
    assert_string_equal(f->server.lines[1], "caf\xc3\xa9 \"quoted\"\nsecond line");
    assert_int_equal(f->server.close_code, 1000);
    assert_int_equal(f->server.close_error, SECCHAT_OK);
    /* Once run has returned, nothing more is accepted. */
    assert_int_equal(secchat_client_send(r->client, "late"), SECCHAT_ERR_NOT_RUNNING);
    assert_int_equal(secchat_client_close(r->client), SECCHAT_ERR_NOT_RUNNING);
    assert_int_equal(secchat_client_run(r->client), SECCHAT_ERR_BAD_STATE);
}

/* Lines and the close given before run wait for the secure channel and the
 * name: the server sees the name first, then the lines, then the close. */
static void test_lines_held_until_secure(void **state)
{
    fixture *f = *state;
    assert_int_equal(mini_server_start(&f->server), 0);
    new_client(f, f->url, "Bob", 5000);
    assert_int_equal(secchat_client_send(f->rec.client, "first"), SECCHAT_OK);
    assert_int_equal(secchat_client_send(f->rec.client, "second"), SECCHAT_OK);
    assert_int_equal(secchat_client_close(f->rec.client), SECCHAT_OK);
    assert_int_equal(secchat_client_close(f->rec.client), SECCHAT_OK); /* twice is fine */
    assert_int_equal(secchat_client_send(f->rec.client, "after close"), SECCHAT_ERR_NOT_RUNNING);
    assert_int_equal(secchat_client_run(f->rec.client), SECCHAT_OK);
    mini_server_join(&f->server);
    assert_server_ok(&f->server);
    assert_int_equal(f->server.n_names, 1);
    assert_string_equal(f->server.names[0], "Bob");
    assert_int_equal(f->server.n_lines, 2);
    assert_string_equal(f->server.lines[0], "first");
    assert_string_equal(f->server.lines[1], "second");
    assert_int_equal(f->server.close_code, 1000);
}

/* Without options.name the prompt is the application's to answer: the first line is the name. */
static void test_no_name_option(void **state)
{
    fixture *f = *state;
    assert_int_equal(mini_server_start(&f->server), 0);
    new_client(f, f->url, NULL, 5000);
    assert_int_equal(secchat_client_send(f->rec.client, "Carol"), SECCHAT_OK);
    assert_int_equal(secchat_client_send(f->rec.client, "hi"), SECCHAT_OK);
    f->rec.close_after_echoes = 1;
    assert_int_equal(secchat_client_run(f->rec.client), SECCHAT_OK);
    mini_server_join(&f->server);
    assert_server_ok(&f->server);
    assert_string_equal(f->server.names[0], "Carol");
    assert_int_equal(f->server.n_lines, 1);
    assert_string_equal(f->server.lines[0], "hi");
    assert_true(find_message(&f->rec, "Server", "Please enter your name:") >= 0);
}

/* A type "error" re-prompt is answered with the name once more. */
static void test_name_reprompt(void **state)
{
    fixture *f = *state;
    f->server.script.reprompt = 1;
    assert_int_equal(mini_server_start(&f->server), 0);
    new_client(f, f->url, "Dave", 5000);
    f->rec.send_on_join[0] = "x";
    f->rec.close_after_echoes = 1;
    assert_int_equal(secchat_client_run(f->rec.client), SECCHAT_OK);
    mini_server_join(&f->server);
    assert_server_ok(&f->server);
    assert_int_equal(f->server.n_names, 2);
    assert_string_equal(f->server.names[0], "Dave");
    assert_string_equal(f->server.names[1], "Dave");
    long re = find_message(&f->rec, "Server", "Name is taken. Please enter your name:");
    assert_true(re >= 0);
    assert_string_equal(f->rec.msg_types[re], "error");
    assert_true(find_message(&f->rec, "Server", "Dave joined the chat") > re);
}

/* ---- send and close from another thread ----------------------------------- */

static void *run_thread(void *arg)
{
    fixture *f = arg;
    int *rc = malloc(sizeof *rc);
    if (rc)
        *rc = secchat_client_run(f->rec.client);
    return rc;
}

/* Waits (bounded) until pred holds for the recorder; 1 if it did. */
static int wait_for(recorder *r, int (*pred)(const recorder *), int ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&r->lock);
    while (!pred(r))
        if (pthread_cond_timedwait(&r->changed, &r->lock, &until) != 0)
            break;
    int ok = pred(r);
    pthread_mutex_unlock(&r->lock);
    return ok;
}

static int has_joined(const recorder *r)
{
    return find_message(r, "Server", "Eve joined the chat") >= 0 || r->closed_events;
}

static int has_three_echoes(const recorder *r)
{
    return r->echoes >= 3 || r->closed_events;
}

static void test_send_and_close_from_other_thread(void **state)
{
    fixture *f = *state;
    assert_int_equal(mini_server_start(&f->server), 0);
    new_client(f, f->url, "Eve", 5000);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, run_thread, f), 0);
    int joined = wait_for(&f->rec, has_joined, 5000);
    if (joined) {
        assert_int_equal(secchat_client_send(f->rec.client, "one"), SECCHAT_OK);
        assert_int_equal(secchat_client_send(f->rec.client, "two"), SECCHAT_OK);
        assert_int_equal(secchat_client_send(f->rec.client, "three"), SECCHAT_OK);
        assert_true(wait_for(&f->rec, has_three_echoes, 5000));
    }
    assert_int_equal(secchat_client_close(f->rec.client), SECCHAT_OK);
    void *ret = NULL;
    assert_int_equal(pthread_join(t, &ret), 0);
    assert_non_null(ret);
    int rc = *(int *)ret;
    free(ret);
    assert_true(joined);
    assert_int_equal(rc, SECCHAT_OK);
    mini_server_join(&f->server);
    assert_server_ok(&f->server);
    assert_int_equal(f->server.n_lines, 3);
    assert_string_equal(f->server.lines[0], "one");
    assert_string_equal(f->server.lines[1], "two");
    assert_string_equal(f->server.lines[2], "three");
    assert_int_equal(f->rec.echoes, 3);
}

/* ---- the server ends it ------------------------------------------------------ */

static void test_server_closes_1001(void **state)
{
    fixture *f = *state;
    f->server.script.close_after = 1;
    assert_int_equal(mini_server_start(&f->server), 0);
    new_client(f, f->url, "Frank", 5000);
    f->rec.send_on_join[0] = "bye soon";
    assert_int_equal(secchat_client_run(f->rec.client), SECCHAT_OK);
    mini_server_join(&f->server);
    assert_server_ok(&f->server);
    assert_int_equal(f->rec.close_code, 1001);
    assert_string_equal(f->rec.reason, "server shutting down");
    assert_int_equal(f->rec.error, SECCHAT_OK);
}

static void test_connection_lost(void **state)
{
    fixture *f = *state;
    f->server.script.hangup = 1;
    assert_int_equal(mini_server_start(&f->server), 0);
    new_client(f, f->url, "Gina", 5000);
    assert_int_equal(secchat_client_run(f->rec.client), SECCHAT_ERR_WS_CONNECTION_LOST);
    mini_server_join(&f->server);
    assert_int_equal(f->rec.error, SECCHAT_ERR_WS_CONNECTION_LOST);
    assert_int_equal(f->rec.close_code, 1006);
}

/* A message that is not a chat message ends the connection with 1008 and its decode error. */
static void test_bad_message(void **state)
{
    fixture *f = *state;
    f->server.script.garbage = 1;
    assert_int_equal(mini_server_start(&f->server), 0);
    new_client(f, f->url, "Hank", 5000);
    int rc = secchat_client_run(f->rec.client);
    mini_server_join(&f->server);
    assert_server_ok(&f->server);
    assert_int_equal(secchat_error_class(rc), -500);
    assert_int_equal(f->rec.error, rc);
    assert_int_equal(f->rec.close_code, 1008);
    assert_int_equal(f->server.close_code, 1008);
    assert_int_equal(find_event(&f->rec, SECCHAT_CLIENT_EVENT_MESSAGE, 0), -1);
}

/* ---- failures before the channel is secure -------------------------------- */

static void test_wrong_psk(void **state)
{
    fixture *f = *state;
    uint8_t other[SECCHAT_PSK_LEN];
    memset(other, 0x42, sizeof other);
    assert_int_equal(secchat_config_set_psk(f->client_cfg, other), SECCHAT_OK);
    assert_int_equal(mini_server_start(&f->server), 0);
    new_client(f, f->url, "Ivan", 5000);
    assert_int_equal(secchat_client_run(f->rec.client), SECCHAT_ERR_SESSION_HANDSHAKE);
    mini_server_join(&f->server);
    assert_int_equal(f->rec.error, SECCHAT_ERR_SESSION_HANDSHAKE);
    assert_int_equal(f->rec.close_code, 1008);
    assert_true(find_event(&f->rec, SECCHAT_CLIENT_EVENT_HANDSHAKE, 0) >= 0);
    assert_int_equal(find_event(&f->rec, SECCHAT_CLIENT_EVENT_SECURE, 0), -1);
    assert_false(f->server.ready);
}

static int reject_all(void *arg, const uint8_t key[SECCHAT_NOISE_KEY_LEN])
{
    memcpy(arg, key, SECCHAT_NOISE_KEY_LEN);
    return 1;
}

static void test_trust_hook_refuses(void **state)
{
    fixture *f = *state;
    uint8_t seen[SECCHAT_NOISE_KEY_LEN] = {0};
    assert_int_equal(secchat_config_set_verify(f->client_cfg, reject_all, seen), SECCHAT_OK);
    assert_int_equal(mini_server_start(&f->server), 0);
    new_client(f, f->url, "Judy", 5000);
    assert_int_equal(secchat_client_run(f->rec.client), SECCHAT_ERR_SESSION_PEER_REJECTED);
    mini_server_join(&f->server);
    assert_memory_equal(seen, f->server_pub, SECCHAT_NOISE_KEY_LEN);
    assert_int_equal(f->rec.error, SECCHAT_ERR_SESSION_PEER_REJECTED);
    assert_int_equal(find_event(&f->rec, SECCHAT_CLIENT_EVENT_SECURE, 0), -1);
    assert_false(f->server.ready); /* refused before the client authenticated itself */
}

static void test_connection_refused(void **state)
{
    fixture *f = *state;
    uint16_t port = mini_server_closed_port();
    assert_int_not_equal(port, 0);
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/", port);
    new_client(f, url, NULL, 5000);
    assert_int_equal(secchat_client_run(f->rec.client), SECCHAT_ERR_CONNECT);
    assert_int_equal(f->rec.n, 1); /* CLOSED only */
    assert_int_equal(f->rec.types[0], SECCHAT_CLIENT_EVENT_CLOSED);
    assert_int_equal(f->rec.error, SECCHAT_ERR_CONNECT);
}

/* The fixture's listening socket is never accepted from: the kernel completes
 * the TCP handshake, then nothing answers the upgrade request. */
static void test_silent_peer_times_out(void **state)
{
    fixture *f = *state;
    new_client(f, f->url, NULL, 300);
    int64_t t0 = now_ms();
    assert_int_equal(secchat_client_run(f->rec.client), SECCHAT_ERR_TIMEOUT);
    int64_t took = now_ms() - t0;
    assert_true(took >= 250 && took < 3000);
    assert_int_equal(f->rec.types[0], SECCHAT_CLIENT_EVENT_CONNECTED);
    assert_int_equal(find_event(&f->rec, SECCHAT_CLIENT_EVENT_HANDSHAKE, 0), -1);
    assert_int_equal(f->rec.error, SECCHAT_ERR_TIMEOUT);
}

static void test_unresolvable_host(void **state)
{
    fixture *f = *state;
    new_client(f, "ws://no-such-host.invalid:8080/", NULL, 3000);
    int rc = secchat_client_run(f->rec.client);
    /* A resolver that cannot answer in time gives TIMEOUT instead. */
    assert_true(rc == SECCHAT_ERR_ADDRESS || rc == SECCHAT_ERR_TIMEOUT);
}

/* A config the session refuses (a psk pattern without a PSK): run reports it as the CLOSED event. */
static void test_session_cannot_start(void **state)
{
    fixture *f = *state;
    secchat_config *no_psk = NULL;
    assert_int_equal(secchat_config_new(&no_psk), SECCHAT_OK);
    secchat_client_options opts = {.timeout_ms = 1000};
    assert_int_equal(secchat_client_new(&f->rec.client, no_psk, f->url, &opts, on_event, &f->rec), SECCHAT_OK);
    assert_int_equal(secchat_client_run(f->rec.client), SECCHAT_ERR_NOISE_MISSING_KEY);
    assert_int_equal(f->rec.n, 1);
    assert_int_equal(f->rec.types[0], SECCHAT_CLIENT_EVENT_CLOSED);
    assert_int_equal(f->rec.error, SECCHAT_ERR_NOISE_MISSING_KEY);
    secchat_client_free(f->rec.client);
    f->rec.client = NULL;
    secchat_config_free(no_psk);
}

/* ---- arguments ------------------------------------------------------------- */

static void test_arguments(void **state)
{
    fixture *f = *state;
    secchat_client *c = (secchat_client *)1;
    assert_int_equal(secchat_client_new(&c, NULL, f->url, NULL, NULL, NULL), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_null(c);
    assert_int_equal(secchat_client_new(&c, f->client_cfg, NULL, NULL, NULL, NULL), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_client_new(NULL, f->client_cfg, f->url, NULL, NULL, NULL), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_client_new(&c, f->client_cfg, "wss://x/", NULL, NULL, NULL), SECCHAT_ERR_WS_URL);
    assert_int_equal(secchat_client_new(&c, f->client_cfg, "http://x/", NULL, NULL, NULL), SECCHAT_ERR_WS_URL);
    secchat_client_options bad_name = {.name = "\xff"};
    assert_int_equal(secchat_client_new(&c, f->client_cfg, f->url, &bad_name, NULL, NULL),
                     SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_client_new(&c, f->client_cfg, f->url, NULL, NULL, NULL), SECCHAT_OK);
    assert_int_equal(secchat_client_send(NULL, "x"), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_client_send(c, NULL), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_client_send(c, "bad \xc3"), SECCHAT_ERR_INVALID_ARGUMENT);
    char *big = malloc(SECCHAT_MESSAGE_MAX + 1);
    assert_non_null(big);
    memset(big, 'a', SECCHAT_MESSAGE_MAX);
    big[SECCHAT_MESSAGE_MAX] = '\0';
    assert_int_equal(secchat_client_send(c, big), SECCHAT_ERR_MESSAGE_TOO_LARGE);
    free(big);
    assert_int_equal(secchat_client_close(NULL), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_client_run(NULL), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_client_send(c, "queued, never sent"), SECCHAT_OK);
    secchat_client_free(c); /* never run: frees the queued line */
    secchat_client_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_chat_and_clean_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lines_held_until_secure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_name_option, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_reprompt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_and_close_from_other_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_closes_1001, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_psk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trust_hook_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_peer_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unresolvable_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_cannot_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arguments, setup, teardown),
    };
    return cmocka_run_group_tests_name("client", tests, NULL, NULL);
}
