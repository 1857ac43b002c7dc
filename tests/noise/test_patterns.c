/*
 * Every pattern of the spec (7.4, 7.5, 7.6/18.1), with and without psk
 * modifiers: a full session with payloads succeeds and both sides agree; and
 * any single change to any handshake message (a flipped bit, a byte cut off
 * or added) is detected before the first transport message in each direction
 * is accepted. The vectors prove byte-exact output for fixed keys; this proves
 * that damage never goes unnoticed and never crashes, for random keys.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "secchat.h"

#define KEY SECCHAT_NOISE_KEY_LEN
#define MAX_HANDSHAKE_MESSAGES 6

static const char *const bases[] = {
    "N",   "K",    "X",   "NN",  "NK",   "NX",  "KN",  "KK",   "KX",   "XN",  "XK",   "XX",   "IN",
    "IK",  "IX",   "NK1", "NX1", "X1N",  "X1K", "XK1", "X1K1", "X1X",  "XX1", "X1X1", "K1N",  "K1K",
    "KK1", "K1K1", "K1X", "KX1", "K1X1", "I1N", "I1K", "IK1",  "I1K1", "I1X", "IX1",  "I1X1",
};
static const char *const modifiers[] = {"", "psk0", "psk1", "psk2", "psk0+psk2", "psk1+psk3"};
/* Alternate the primitives so both ciphers and all hashes meet every pattern. */
static const char *const suites[] = {"ChaChaPoly_SHA256", "AESGCM_BLAKE2b", "ChaChaPoly_SHA512", "AESGCM_SHA256"};

enum mutation_kind { MUTATE_NONE, MUTATE_FLIP, MUTATE_CUT, MUTATE_EXTEND };

struct mutation {
    enum mutation_kind kind;
    size_t message; /* handshake message index */
    size_t pos;     /* byte to flip */
};

struct keys {
    uint8_t init_pub[KEY], init_priv[KEY], resp_pub[KEY], resp_priv[KEY], psk[KEY];
};

/* Gives a party everything the pattern might need; setters a pattern does not use just refuse. */
static int configure(secchat_noise *n, const uint8_t *priv, const uint8_t *peer_pub, const uint8_t *psk)
{
    static const uint8_t prologue[] = "test_patterns";
    int rc = secchat_noise_set_prologue(n, prologue, sizeof prologue);
    if (rc == SECCHAT_OK)
        rc = secchat_noise_set_local_static(n, priv);
    if (rc != SECCHAT_OK)
        return rc;
    /* The correct peer key: a pre-message where the pattern has one, else a pin that must hold. */
    rc = secchat_noise_set_remote_static(n, peer_pub);
    if (rc != SECCHAT_OK && rc != SECCHAT_ERR_BAD_STATE)
        return rc;
    while ((rc = secchat_noise_add_psk(n, psk)) == SECCHAT_OK)
        ;
    return rc == SECCHAT_ERR_NOISE_TOO_MANY_PSKS ? SECCHAT_OK : rc;
}

/* One transport message tx -> rx; checks the plaintext when it gets through. */
static int transport(secchat_noise *tx, secchat_noise *rx, const char *text)
{
    uint8_t msg[256], out[256];
    size_t len, out_len;
    int rc = secchat_noise_encrypt(tx, (const uint8_t *)text, strlen(text), msg, sizeof msg, &len);
    if (rc == SECCHAT_OK)
        rc = secchat_noise_decrypt(rx, msg, len, out, sizeof out, &out_len);
    if (rc == SECCHAT_OK)
        assert_memory_equal(out, text, strlen(text));
    return rc;
}

/*
 * Runs one session of protocol with mut applied. Returns SECCHAT_OK when the
 * whole session succeeded, else the first error. *messages receives the
 * number of handshake messages and lens their lengths.
 */
static int run_session(const char *protocol, const struct keys *k, const struct mutation *mut, size_t *messages,
                       size_t lens[MAX_HANDSHAKE_MESSAGES])
{
    secchat_noise *party[2] = {NULL, NULL};
    uint8_t msg[SECCHAT_NOISE_MAX_MESSAGE], payload[SECCHAT_NOISE_MAX_MESSAGE];
    size_t len, payload_len;
    int rc;

    if ((rc = secchat_noise_new(&party[0], protocol, SECCHAT_NOISE_INITIATOR)) != SECCHAT_OK ||
        (rc = secchat_noise_new(&party[1], protocol, SECCHAT_NOISE_RESPONDER)) != SECCHAT_OK ||
        (rc = configure(party[0], k->init_priv, k->resp_pub, k->psk)) != SECCHAT_OK ||
        (rc = configure(party[1], k->resp_priv, k->init_pub, k->psk)) != SECCHAT_OK)
        goto out;

    *messages = 0;
    while (!secchat_noise_is_complete(party[0]) || !secchat_noise_is_complete(party[1])) {
        size_t i = *messages;
        assert_true(i < MAX_HANDSHAKE_MESSAGES);
        int w = secchat_noise_next_action(party[0]) == SECCHAT_NOISE_ACTION_WRITE ? 0 : 1;
        char text[16];
        snprintf(text, sizeof text, "hs-%zu", i);
        rc = secchat_noise_write_message(party[w], (const uint8_t *)text, strlen(text), msg, sizeof msg - 1, &len);
        if (rc != SECCHAT_OK)
            goto out;
        lens[i] = len;
        if (mut->kind != MUTATE_NONE && mut->message == i) {
            if (mut->kind == MUTATE_FLIP)
                msg[mut->pos] ^= 0x01;
            else if (mut->kind == MUTATE_CUT)
                len--;
            else
                msg[len++] = 0x00;
        }
        rc = secchat_noise_read_message(party[1 - w], msg, len, payload, sizeof payload, &payload_len);
        if (rc != SECCHAT_OK) {
            /* A failed handshake read is fatal and sticky. */
            assert_int_equal(secchat_noise_next_action(party[1 - w]), SECCHAT_NOISE_ACTION_FAILED);
            goto out;
        }
        (*messages)++;
        if (mut->kind == MUTATE_NONE) {
            assert_int_equal(payload_len, strlen(text));
            assert_memory_equal(payload, text, payload_len);
        }
    }

    if ((rc = transport(party[0], party[1], "to responder")) != SECCHAT_OK)
        goto out;
    rc = transport(party[1], party[0], "to initiator");
    if (rc == SECCHAT_ERR_NOISE_ONE_WAY) /* N, K, X: nothing flows back */
        rc = SECCHAT_OK;
    if (rc != SECCHAT_OK || mut->kind != MUTATE_NONE)
        goto out;

    /* Undamaged: both sides agree on h and know each other's static keys where the pattern says so. */
    uint8_t h[2][SECCHAT_NOISE_MAX_HASH_LEN], rs[KEY];
    size_t h_len[2];
    for (int p = 0; p < 2; p++)
        assert_int_equal(secchat_noise_handshake_hash(party[p], h[p], sizeof h[p], &h_len[p]), SECCHAT_OK);
    assert_int_equal(h_len[0], h_len[1]);
    assert_memory_equal(h[0], h[1], h_len[0]);
    if (secchat_noise_remote_static(party[0], rs) == SECCHAT_OK)
        assert_memory_equal(rs, k->resp_pub, KEY);
    if (secchat_noise_remote_static(party[1], rs) == SECCHAT_OK)
        assert_memory_equal(rs, k->init_pub, KEY);
out:
    secchat_noise_free(party[0]);
    secchat_noise_free(party[1]);
    return rc;
}

/* Byte positions worth flipping: ends of each 32-byte key and 16-byte tag, and the last byte. */
static size_t flip_positions(size_t len, size_t out[8])
{
    const size_t candidates[] = {0, 31, 32, 47, 48, 63, len - 17, len - 1};
    size_t n = 0;
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        /* cppcheck-suppress uninitvar ; out[n - 1] is read only once written (n > 0) */
        if (candidates[i] < len && (n == 0 || out[n - 1] != candidates[i]))
            out[n++] = candidates[i];
    }
    return n;
}

static void test_every_pattern(void **state)
{
    (void)state;
    struct keys k;
    assert_int_equal(secchat_keypair_generate(k.init_pub, k.init_priv), SECCHAT_OK);
    assert_int_equal(secchat_keypair_generate(k.resp_pub, k.resp_priv), SECCHAT_OK);
    assert_int_equal(secchat_random_bytes(k.psk, sizeof k.psk), SECCHAT_OK);
    unsigned sessions = 0, mutations = 0, suite = 0;

    for (size_t b = 0; b < sizeof bases / sizeof bases[0]; b++) {
        for (size_t m = 0; m < sizeof modifiers / sizeof modifiers[0]; m++) {
            char protocol[SECCHAT_NOISE_MAX_NAME_LEN + 1];
            snprintf(protocol, sizeof protocol, "Noise_%s%s_25519_%s", bases[b], modifiers[m],
                     suites[suite % (sizeof suites / sizeof suites[0])]);
            int rc = secchat_noise_check_name(protocol);
            if (rc == SECCHAT_ERR_NOISE_NAME)
                continue; /* pskN beyond this pattern's last message */
            if (rc == SECCHAT_ERR_NOISE_AESGCM_UNAVAILABLE)
                continue; /* the ChaChaPoly suites still cover the pattern */
            assert_int_equal(rc, SECCHAT_OK);
            suite++;

            const struct mutation none = {MUTATE_NONE, 0, 0};
            size_t messages = 0, lens[MAX_HANDSHAKE_MESSAGES];
            if (run_session(protocol, &k, &none, &messages, lens) != SECCHAT_OK)
                fail_msg("%s: undamaged session failed", protocol);
            sessions++;

            for (size_t i = 0; i < messages; i++) {
                size_t pos[8];
                size_t n = flip_positions(lens[i], pos);
                struct mutation muts[10];
                size_t count = 0;
                for (size_t j = 0; j < n; j++)
                    muts[count++] = (struct mutation){MUTATE_FLIP, i, pos[j]};
                muts[count++] = (struct mutation){MUTATE_CUT, i, 0};
                muts[count++] = (struct mutation){MUTATE_EXTEND, i, 0};
                for (size_t j = 0; j < count; j++) {
                    size_t ignored_messages, ignored_lens[MAX_HANDSHAKE_MESSAGES];
                    if (run_session(protocol, &k, &muts[j], &ignored_messages, ignored_lens) == SECCHAT_OK)
                        fail_msg("%s: change %d at message %zu byte %zu went unnoticed", protocol, (int)muts[j].kind, i,
                                 muts[j].pos);
                    mutations++;
                }
            }
        }
    }
    print_message("%u protocols, %u damaged sessions all rejected\n", sessions, mutations);
    assert_true(sessions >= 38 * 3); /* every pattern with at least two psk placements */
    secchat_memzero(&k, sizeof k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_pattern),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
