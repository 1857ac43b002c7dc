/*
 * Distinct handles on distinct threads: the engine keeps no global state, so
 * concurrent handshakes and transport traffic must not interfere. Built and
 * run under ThreadSanitizer by `make test`.
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
#define ROUNDS 20
#define MESSAGES 50

struct worker {
    const char *protocol;
    int failures;
};

/* One complete XXpsk2 session between two fresh handles; 0 on success. */
static int run_session(const char *protocol, uint8_t seed)
{
    uint8_t psk[32], ipub[32], ipriv[32], rpub[32], rpriv[32];
    uint8_t msg[SECCHAT_NOISE_MAX_MESSAGE], out[SECCHAT_NOISE_MAX_MESSAGE];
    size_t len, out_len;
    secchat_noise *i = NULL, *r = NULL;
    int ok = -1;

    memset(psk, seed, sizeof psk);
    if (secchat_keypair_generate(ipub, ipriv) || secchat_keypair_generate(rpub, rpriv) ||
        secchat_noise_new(&i, protocol, SECCHAT_NOISE_INITIATOR) ||
        secchat_noise_new(&r, protocol, SECCHAT_NOISE_RESPONDER) || secchat_noise_set_local_static(i, ipriv) ||
        secchat_noise_set_local_static(r, rpriv) || secchat_noise_add_psk(i, psk) || secchat_noise_add_psk(r, psk))
        goto out;
    while (!secchat_noise_is_complete(i) || !secchat_noise_is_complete(r)) {
        secchat_noise *tx = secchat_noise_next_action(i) == SECCHAT_NOISE_ACTION_WRITE ? i : r;
        secchat_noise *rx = tx == i ? r : i;
        if (secchat_noise_write_message(tx, NULL, 0, msg, sizeof msg, &len) ||
            secchat_noise_read_message(rx, msg, len, out, sizeof out, &out_len))
            goto out;
    }
    for (int m = 0; m < MESSAGES; m++) {
        uint8_t text[64];
        memset(text, (int)(seed + m), sizeof text);
        secchat_noise *tx = m % 2 ? r : i, *rx = m % 2 ? i : r;
        if (secchat_noise_encrypt(tx, text, sizeof text, msg, sizeof msg, &len) ||
            secchat_noise_decrypt(rx, msg, len, out, sizeof out, &out_len) || out_len != sizeof text ||
            memcmp(out, text, sizeof text) != 0)
            goto out;
    }
    ok = 0;
out:
    secchat_noise_free(i);
    secchat_noise_free(r);
    memset(ipriv, 0, sizeof ipriv);
    memset(rpriv, 0, sizeof rpriv);
    return ok;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (int round = 0; round < ROUNDS; round++)
        w->failures += run_session(w->protocol, (uint8_t)round) != 0;
    return NULL;
}

static void concurrent_sessions(void **state)
{
    const char *protocol = *state;
    pthread_t threads[THREADS];
    struct worker workers[THREADS];

    for (int t = 0; t < THREADS; t++) {
        workers[t] = (struct worker){protocol, 0};
        assert_int_equal(pthread_create(&threads[t], NULL, worker_main, &workers[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) {
        assert_int_equal(pthread_join(threads[t], NULL), 0);
        assert_int_equal(workers[t].failures, 0);
    }
}

int main(void)
{
    static const char aesgcm[] = "Noise_XXpsk2_25519_AESGCM_SHA256";
    static const char chachapoly[] = "Noise_XXpsk2_25519_ChaChaPoly_BLAKE2b";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(concurrent_sessions, (void *)aesgcm),
        cmocka_unit_test_prestate(concurrent_sessions, (void *)chachapoly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
