/*
 * One config shared by sessions on several threads at once (chat.h: frozen
 * once used, readable by any number of threads): concurrent session creation
 * (which freezes it), handshakes and traffic must not race and must all
 * succeed. Built and run under ThreadSanitizer by `make test`.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "secchat.h"

#define THREADS 4
#define ROUNDS 10
#define MESSAGES 20

struct shared {
    const secchat_config *server_cfg, *client_cfg;
    uint8_t server_public[SECCHAT_NOISE_KEY_LEN];
};

struct worker {
    const struct shared *shared;
    int failures;
};

/* Moves all pending output of from into to; the feed's result. */
static int move(secchat_session *from, secchat_session *to)
{
    size_t len = 0;
    const uint8_t *out = secchat_session_output(from, &len);
    int rc = len ? secchat_session_feed(to, out, len) : SECCHAT_OK;
    secchat_session_output_consumed(from, len);
    return rc;
}

/* Takes events until one of the wanted type (1) or none left (0). */
static int take(secchat_session *s, enum secchat_session_event_type want, secchat_session_event *ev)
{
    while (secchat_session_next_event(s, ev)) {
        if (ev->type == want)
            return 1;
    }
    return 0;
}

/* One connection between two sessions of the shared configs; 0 on success. */
static int run_connection(const struct shared *sh, uint8_t seed)
{
    secchat_session *c = NULL, *s = NULL;
    secchat_session_event ev;
    int ok = -1;
    if (secchat_session_new_client(&c, sh->client_cfg, "ws://127.0.0.1:8080/") ||
        secchat_session_new_server(&s, sh->server_cfg))
        goto out;
    for (int i = 0; i < 4; i++) { /* request, response + msg 1, msg 2, msg 3 */
        if (move(c, s) || move(s, c))
            goto out;
    }
    if (!take(c, SECCHAT_SESSION_EVENT_READY, &ev) ||
        memcmp(ev.peer_static, sh->server_public, SECCHAT_NOISE_KEY_LEN) != 0)
        goto out;
    if (!take(s, SECCHAT_SESSION_EVENT_READY, &ev))
        goto out;
    for (int m = 0; m < MESSAGES; m++) {
        uint8_t text[64];
        memset(text, seed + m, sizeof text);
        if (secchat_session_send(c, text, (size_t)m) || move(c, s) || !take(s, SECCHAT_SESSION_EVENT_MESSAGE, &ev) ||
            ev.len != (size_t)m || (m > 0 && memcmp(ev.data, text, (size_t)m) != 0))
            goto out;
    }
    ok = 0;
out:
    secchat_session_free(c);
    secchat_session_free(s);
    return ok;
}

static void *work(void *arg)
{
    struct worker *w = arg;
    for (int r = 0; r < ROUNDS; r++) {
        if (run_connection(w->shared, (uint8_t)r) != 0)
            w->failures++;
    }
    return NULL;
}

static void test_shared_config_across_threads(void **state)
{
    (void)state;
    uint8_t psk[SECCHAT_PSK_LEN];
    secchat_config *server_cfg = NULL, *client_cfg = NULL;
    struct shared sh;
    assert_int_equal(secchat_random_bytes(psk, sizeof psk), SECCHAT_OK);
    assert_int_equal(secchat_config_new(&server_cfg), SECCHAT_OK);
    assert_int_equal(secchat_config_new(&client_cfg), SECCHAT_OK);
    assert_int_equal(secchat_config_set_psk(server_cfg, psk), SECCHAT_OK);
    assert_int_equal(secchat_config_set_psk(client_cfg, psk), SECCHAT_OK);
    assert_int_equal(secchat_config_public_key(server_cfg, sh.server_public), SECCHAT_OK);
    sh.server_cfg = server_cfg;
    sh.client_cfg = client_cfg;

    /* The first sessions, which freeze the configs, are created concurrently. */
    pthread_t tid[THREADS];
    struct worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i].shared = &sh;
        w[i].failures = 0;
        assert_int_equal(pthread_create(&tid[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(tid[i], NULL), 0);
        assert_int_equal(w[i].failures, 0);
    }
    assert_int_equal(secchat_config_set_psk(server_cfg, psk), SECCHAT_ERR_BAD_STATE);
    secchat_config_free(server_cfg);
    secchat_config_free(client_cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_config_across_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
