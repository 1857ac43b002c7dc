/*
 * HandshakeState and transport (lib/noise/handshake.c) through the public API,
 * every case run once per cipher: Noise_XXpsk2_25519_{AESGCM,ChaChaPoly}_SHA256
 * (plus NN and N over the same cipher where a case needs those patterns).
 * The error semantics checked here are the ones include/secchat/noise.h
 * documents: which failures are retryable and which are fatal and sticky.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/noise_pair.h"
#include "noise/handshake.h"
#include "secchat.h"

#define KEY SECCHAT_NOISE_KEY_LEN
#define TAG SECCHAT_NOISE_TAG_LEN
#define MAX_MSG SECCHAT_NOISE_MAX_MESSAGE

/* XXpsk2 with empty payloads, 48/96/64 bytes: -> e [tag] / <- e, ee, s, es, psk [tag] / -> s, se [tag]. */
static const size_t xx_len[3] = {KEY + TAG, KEY + (KEY + TAG) + TAG, (KEY + TAG) + TAG};

struct suite {
    const char *xx, *nn, *n;
};
static struct suite aesgcm = {"Noise_XXpsk2_25519_AESGCM_SHA256", "Noise_NN_25519_AESGCM_SHA256",
                              "Noise_N_25519_AESGCM_SHA256"};
static struct suite chachapoly = {"Noise_XXpsk2_25519_ChaChaPoly_SHA256", "Noise_NN_25519_ChaChaPoly_SHA256",
                                  "Noise_N_25519_ChaChaPoly_SHA256"};

/* Per test: the suite and one pair, freed by teardown even when an assertion fails. */
struct fixture {
    const struct suite *suite;
    noise_pair p;
};

/* Large enough for any Noise message and then some; static to keep stacks small. */
static uint8_t msg[MAX_MSG + 64], msg2[MAX_MSG + 64], pay[MAX_MSG + 64], pay2[MAX_MSG + 64];

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    f->suite = *state;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    noise_pair_free(&f->p);
    free(f);
    return 0;
}

static const struct suite *suite_of(void **state)
{
    return ((struct fixture *)*state)->suite;
}

/* A fresh, unconfigured pair for name in the fixture (replacing any earlier one). Skips without AES-NI. */
static noise_pair *new_pair(void **state, const char *name)
{
    struct fixture *f = *state;
    if (secchat_noise_check_name(name) == SECCHAT_ERR_NOISE_AESGCM_UNAVAILABLE)
        skip();
    noise_pair_free(&f->p);
    assert_int_equal(noise_pair_new(&f->p, name), SECCHAT_OK);
    return &f->p;
}

/* A fresh XXpsk2 pair with static keys and the PSK on both sides. */
static noise_pair *xx_pair(void **state)
{
    noise_pair *p = new_pair(state, suite_of(state)->xx);
    assert_int_equal(noise_pair_configure(p), SECCHAT_OK);
    return p;
}

/* A fresh XXpsk2 pair in transport mode. */
static noise_pair *xx_done(void **state)
{
    noise_pair *p = xx_pair(state);
    assert_int_equal(noise_pair_handshake(p, NULL, 0, NULL), SECCHAT_OK);
    return p;
}

/* Writes the next handshake message of n into msg, checking its length against message_len(). */
static size_t write_ok(secchat_noise *n, const uint8_t *payload, size_t payload_len)
{
    size_t len = 0, want = secchat_noise_message_len(n, payload_len);
    assert_int_equal(secchat_noise_write_message(n, payload, payload_len, msg, sizeof msg, &len), SECCHAT_OK);
    assert_int_equal(len, want);
    return len;
}

/* Reads a handshake message and checks it carried exactly the expected payload. */
static void read_ok(secchat_noise *n, const uint8_t *m, size_t len, const uint8_t *payload, size_t payload_len)
{
    size_t got = 0;
    assert_int_equal(secchat_noise_read_message(n, m, len, pay, sizeof pay, &got), SECCHAT_OK);
    assert_int_equal(got, payload_len);
    if (payload_len > 0)
        assert_memory_equal(pay, payload, payload_len);
}

/* One transport message from -> to, checked end to end. */
static void transport_ok(secchat_noise *from, secchat_noise *to, const char *text)
{
    size_t len = strlen(text), clen = 0, plen = 0;
    assert_int_equal(secchat_noise_encrypt(from, (const uint8_t *)text, len, msg, sizeof msg, &clen), SECCHAT_OK);
    assert_int_equal(clen, len + TAG);
    assert_int_equal(secchat_noise_decrypt(to, msg, clen, pay, sizeof pay, &plen), SECCHAT_OK);
    assert_int_equal(plen, len);
    assert_memory_equal(pay, text, len);
}

/* After a fatal error every call reports it again, and no key material is usable. */
static void assert_sticky(secchat_noise *n, int code)
{
    uint8_t key[KEY] = {1}, out[128] = {0};
    size_t len = 0;

    assert_int_equal(secchat_noise_next_action(n), SECCHAT_NOISE_ACTION_FAILED);
    assert_false(secchat_noise_is_complete(n));
    assert_int_equal(secchat_noise_message_len(n, 0), 0);
    assert_int_equal(secchat_noise_write_message(n, NULL, 0, out, sizeof out, &len), code);
    assert_int_equal(secchat_noise_read_message(n, key, sizeof key, out, sizeof out, &len), code);
    assert_int_equal(secchat_noise_encrypt(n, key, sizeof key, out, sizeof out, &len), code);
    assert_int_equal(secchat_noise_decrypt(n, out, 48, out + 48, 64, &len), code);
    assert_int_equal(secchat_noise_handshake_hash(n, out, sizeof out, &len), code);
    assert_int_equal(secchat_noise_remote_static(n, out), code);
    assert_int_equal(secchat_noise_rekey_send(n), code);
    assert_int_equal(secchat_noise_rekey_recv(n), code);
    assert_int_equal(secchat_noise_set_prologue(n, key, 1), code);
    assert_int_equal(secchat_noise_set_local_static(n, key), code);
    assert_int_equal(secchat_noise_set_remote_static(n, key), code);
    assert_int_equal(secchat_noise_add_psk(n, key), code);
    assert_int_equal(secchat_noise_set_ephemeral_for_testing(n, key), code);
    assert_int_equal(secchat_noise_next_action(n), SECCHAT_NOISE_ACTION_FAILED);
}

/* ---- happy path ---- */

static void test_handshake_completes(void **state)
{
    noise_pair *p = xx_pair(state);
    size_t lens[6] = {0}, count = 0;
    uint8_t h1[SECCHAT_NOISE_MAX_HASH_LEN], h2[SECCHAT_NOISE_MAX_HASH_LEN], rs[KEY];
    size_t l1 = 0, l2 = 0;

    assert_int_equal(secchat_noise_next_action(p->init), SECCHAT_NOISE_ACTION_WRITE);
    assert_int_equal(secchat_noise_next_action(p->resp), SECCHAT_NOISE_ACTION_READ);
    assert_int_equal(noise_pair_handshake(p, lens, 6, &count), SECCHAT_OK);
    assert_int_equal(count, 3);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(lens[i], xx_len[i]);

    assert_true(secchat_noise_is_complete(p->init));
    assert_true(secchat_noise_is_complete(p->resp));
    assert_int_equal(secchat_noise_next_action(p->init), SECCHAT_NOISE_ACTION_TRANSPORT);
    assert_int_equal(secchat_noise_next_action(p->resp), SECCHAT_NOISE_ACTION_TRANSPORT);

    /* Channel binding: both sides end with the same h, HASHLEN bytes. */
    assert_int_equal(secchat_noise_handshake_hash(p->init, h1, sizeof h1, &l1), SECCHAT_OK);
    assert_int_equal(secchat_noise_handshake_hash(p->resp, h2, sizeof h2, &l2), SECCHAT_OK);
    assert_int_equal(l1, 32);
    assert_int_equal(l2, 32);
    assert_memory_equal(h1, h2, 32);

    /* Each side learnt the other's real static key. */
    assert_int_equal(secchat_noise_remote_static(p->init, rs), SECCHAT_OK);
    assert_memory_equal(rs, p->resp_pub, KEY);
    assert_int_equal(secchat_noise_remote_static(p->resp, rs), SECCHAT_OK);
    assert_memory_equal(rs, p->init_pub, KEY);

    /* Both directions, interleaved and in runs, so each nonce advances independently. */
    transport_ok(p->init, p->resp, "hello responder");
    transport_ok(p->resp, p->init, "hello initiator");
    transport_ok(p->resp, p->init, "second");
    transport_ok(p->resp, p->init, "third");
    transport_ok(p->init, p->resp, "");
    transport_ok(p->init, p->resp, "x");
}

/* Fresh ephemerals: two sessions between the same parties never share h. */
static void test_sessions_differ(void **state)
{
    uint8_t h1[SECCHAT_NOISE_MAX_HASH_LEN], h2[SECCHAT_NOISE_MAX_HASH_LEN];
    size_t len = 0;
    noise_pair *p = xx_done(state);
    assert_int_equal(secchat_noise_handshake_hash(p->init, h1, sizeof h1, &len), SECCHAT_OK);
    p = xx_done(state);
    assert_int_equal(secchat_noise_handshake_hash(p->init, h2, sizeof h2, &len), SECCHAT_OK);
    assert_memory_not_equal(h1, h2, len);
}

/* Payloads of handshake messages arrive intact, and message_len() predicts every length. */
static void test_handshake_payloads(void **state)
{
    static const size_t sizes[] = {0, 1, 15, 16, 17, 1000};
    uint8_t data[3][1000];

    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        noise_pair *p = xx_pair(state);
        size_t n = sizes[s];
        randombytes_buf(data, sizeof data);

        assert_int_equal(secchat_noise_message_len(p->init, n), xx_len[0] + n);
        assert_int_equal(secchat_noise_message_len(p->resp, n), 0); /* not its turn */
        size_t len = write_ok(p->init, data[0], n);
        assert_int_equal(len, xx_len[0] + n);
        read_ok(p->resp, msg, len, data[0], n);

        assert_int_equal(secchat_noise_message_len(p->resp, n), xx_len[1] + n);
        len = write_ok(p->resp, data[1], n);
        assert_int_equal(len, xx_len[1] + n);
        read_ok(p->init, msg, len, data[1], n);

        len = write_ok(p->init, data[2], n);
        assert_int_equal(len, xx_len[2] + n);
        read_ok(p->resp, msg, len, data[2], n);
        assert_true(secchat_noise_is_complete(p->init) && secchat_noise_is_complete(p->resp));
    }

    /* An empty payload may be read into no buffer at all. */
    noise_pair *p = xx_pair(state);
    size_t len = write_ok(p->init, NULL, 0), got = 1;
    assert_int_equal(secchat_noise_read_message(p->resp, msg, len, NULL, 0, &got), SECCHAT_OK);
    assert_int_equal(got, 0);
}

/* A matching non-empty prologue is fine; a different one breaks message 1. */
static void test_prologue(void **state)
{
    noise_pair *p = xx_pair(state);
    assert_int_equal(secchat_noise_set_prologue(p->init, (const uint8_t *)"v1", 2), SECCHAT_OK);
    assert_int_equal(secchat_noise_set_prologue(p->resp, (const uint8_t *)"v1", 2), SECCHAT_OK);
    assert_int_equal(secchat_noise_set_prologue(p->resp, (const uint8_t *)"v1", 2), SECCHAT_ERR_BAD_STATE); /* once */
    assert_int_equal(noise_pair_handshake(p, NULL, 0, NULL), SECCHAT_OK);

    p = xx_pair(state);
    assert_int_equal(secchat_noise_set_prologue(p->init, (const uint8_t *)"v1", 2), SECCHAT_OK);
    assert_int_equal(secchat_noise_set_prologue(p->resp, (const uint8_t *)"v2", 2), SECCHAT_OK);
    assert_int_equal(noise_pair_transfer(p->init, p->resp, NULL, 0, NULL, NULL), SECCHAT_ERR_NOISE_DECRYPT);
    assert_sticky(p->resp, SECCHAT_ERR_NOISE_DECRYPT);

    /* An explicitly empty prologue equals the default one. */
    p = xx_pair(state);
    assert_int_equal(secchat_noise_set_prologue(p->init, NULL, 0), SECCHAT_OK);
    assert_int_equal(noise_pair_handshake(p, NULL, 0, NULL), SECCHAT_OK);
}

/* ---- tampering and wrong keys: fatal and sticky during the handshake ---- */

/*
 * Every byte of every handshake message, flipped: ephemeral keys, the
 * encrypted static keys, payload ciphertext and tags. Each must fail
 * authentication at the reader, which then stays failed.
 */
static void test_tampered_handshake(void **state)
{
    static const uint8_t payload[4] = {'p', 'a', 'y', '!'};

    for (size_t m = 0; m < 3; m++) {
        for (size_t b = 0; b < xx_len[m] + sizeof payload; b++) {
            noise_pair *p = xx_pair(state);
            secchat_noise *from = p->init, *to = p->resp;
            for (size_t i = 0; i < m; i++) {
                assert_int_equal(noise_pair_transfer(from, to, payload, sizeof payload, NULL, NULL), SECCHAT_OK);
                secchat_noise *t = from;
                from = to, to = t;
            }
            size_t len = write_ok(from, payload, sizeof payload);
            assert_int_equal(len, xx_len[m] + sizeof payload);
            uint8_t genuine = msg[b];
            msg[b] = (uint8_t)(msg[b] ^ (1u << (b % 8)));
            size_t got = 0;
            if (secchat_noise_read_message(to, msg, len, pay, sizeof pay, &got) != SECCHAT_ERR_NOISE_DECRYPT)
                fail_msg("message %zu byte %zu: tampering not detected", m + 1, b);
            assert_int_equal(got, 0);
            assert_sticky(to, SECCHAT_ERR_NOISE_DECRYPT);

            /* Even the genuine message is refused now. */
            msg[b] = genuine;
            assert_int_equal(secchat_noise_read_message(to, msg, len, pay, sizeof pay, &got),
                             SECCHAT_ERR_NOISE_DECRYPT);
        }
    }
}

/* psk2 is mixed at the end of message 2: the initiator is the first to notice. */
static void test_wrong_psk(void **state)
{
    noise_pair *p = new_pair(state, suite_of(state)->xx);
    uint8_t other[KEY];
    randombytes_buf(other, sizeof other);
    assert_int_equal(secchat_noise_set_local_static(p->init, p->init_priv), SECCHAT_OK);
    assert_int_equal(secchat_noise_set_local_static(p->resp, p->resp_priv), SECCHAT_OK);
    assert_int_equal(secchat_noise_add_psk(p->init, p->psk), SECCHAT_OK);
    assert_int_equal(secchat_noise_add_psk(p->resp, other), SECCHAT_OK);

    assert_int_equal(noise_pair_transfer(p->init, p->resp, NULL, 0, NULL, NULL), SECCHAT_OK);
    assert_int_equal(noise_pair_transfer(p->resp, p->init, NULL, 0, NULL, NULL), SECCHAT_ERR_NOISE_DECRYPT);
    assert_sticky(p->init, SECCHAT_ERR_NOISE_DECRYPT);
}

/* Every shorter form of each handshake message is truncated (empty payloads: no slack to hide in). */
static void test_truncated_handshake(void **state)
{
    for (size_t m = 0; m < 3; m++) {
        for (size_t cut = 0; cut < xx_len[m]; cut++) {
            noise_pair *p = xx_pair(state);
            secchat_noise *from = p->init, *to = p->resp;
            for (size_t i = 0; i < m; i++) {
                assert_int_equal(noise_pair_transfer(from, to, NULL, 0, NULL, NULL), SECCHAT_OK);
                secchat_noise *t = from;
                from = to, to = t;
            }
            size_t len = write_ok(from, NULL, 0), got = 0;
            assert_int_equal(len, xx_len[m]);
            if (secchat_noise_read_message(to, msg, cut, pay, sizeof pay, &got) != SECCHAT_ERR_NOISE_MSG_TRUNCATED)
                fail_msg("message %zu cut to %zu bytes: not reported truncated", m + 1, cut);
            assert_sticky(to, SECCHAT_ERR_NOISE_MSG_TRUNCATED);
        }
    }
}

/* ---- retryable handshake errors: nothing changes, the handshake goes on ---- */

static void test_read_oversized(void **state)
{
    noise_pair *p = xx_pair(state);
    size_t got = 0;
    memset(msg2, 0, MAX_MSG + 1);
    assert_int_equal(secchat_noise_read_message(p->resp, msg2, MAX_MSG + 1, pay, sizeof pay, &got),
                     SECCHAT_ERR_NOISE_MSG_TOO_LARGE);
    assert_int_equal(secchat_noise_next_action(p->resp), SECCHAT_NOISE_ACTION_READ);

    size_t len = write_ok(p->init, NULL, 0);
    read_ok(p->resp, msg, len, NULL, 0);
    len = write_ok(p->resp, NULL, 0);
    assert_int_equal(secchat_noise_read_message(p->init, msg2, MAX_MSG + 1, pay, sizeof pay, &got),
                     SECCHAT_ERR_NOISE_MSG_TOO_LARGE);
    read_ok(p->init, msg, len, NULL, 0);
    len = write_ok(p->init, NULL, 0);
    read_ok(p->resp, msg, len, NULL, 0);
    transport_ok(p->init, p->resp, "still fine");
}

/* 65535 is the largest message (section 3): message 1 then holds 65535 - 48 payload bytes. */
static void test_write_too_large(void **state)
{
    noise_pair *p = xx_pair(state);
    const size_t fits = MAX_MSG - xx_len[0];
    size_t len = 99;
    randombytes_buf(pay2, fits + 1);

    assert_int_equal(secchat_noise_write_message(p->init, pay2, fits + 1, msg, sizeof msg, &len),
                     SECCHAT_ERR_NOISE_MSG_TOO_LARGE);
    assert_int_equal(len, 0);
    assert_int_equal(secchat_noise_write_message(p->init, pay2, 200000, msg, sizeof msg, &len),
                     SECCHAT_ERR_NOISE_MSG_TOO_LARGE);
    assert_int_equal(secchat_noise_write_message(p->init, pay2, SIZE_MAX, msg, sizeof msg, &len),
                     SECCHAT_ERR_NOISE_MSG_TOO_LARGE);
    assert_int_equal(secchat_noise_next_action(p->init), SECCHAT_NOISE_ACTION_WRITE);

    len = write_ok(p->init, pay2, fits);
    assert_int_equal(len, MAX_MSG);
    read_ok(p->resp, msg, len, pay2, fits);

    /* Message 2 carries 96 bytes of overhead. */
    assert_int_equal(secchat_noise_write_message(p->resp, pay2, MAX_MSG - xx_len[1] + 1, msg, sizeof msg, &len),
                     SECCHAT_ERR_NOISE_MSG_TOO_LARGE);
    len = write_ok(p->resp, pay2, MAX_MSG - xx_len[1]);
    read_ok(p->init, msg, len, pay2, MAX_MSG - xx_len[1]);
    len = write_ok(p->init, NULL, 0);
    read_ok(p->resp, msg, len, NULL, 0);
}

/* One byte short of the output buffer, on write and on read: retry with the right size works. */
static void test_buffer_too_small(void **state)
{
    noise_pair *p = xx_pair(state);
    static const uint8_t payload[10] = "0123456789";
    size_t need = secchat_noise_message_len(p->init, sizeof payload), len = 7, got = 7;

    assert_int_equal(secchat_noise_write_message(p->init, payload, sizeof payload, msg, need - 1, &len),
                     SECCHAT_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(len, 0);
    assert_int_equal(secchat_noise_write_message(p->init, payload, sizeof payload, msg, need, &len), SECCHAT_OK);
    assert_int_equal(len, need);

    assert_int_equal(secchat_noise_read_message(p->resp, msg, len, pay, sizeof payload - 1, &got),
                     SECCHAT_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(got, 0);
    assert_int_equal(secchat_noise_next_action(p->resp), SECCHAT_NOISE_ACTION_READ);
    assert_int_equal(secchat_noise_read_message(p->resp, msg, len, pay, sizeof payload, &got), SECCHAT_OK);
    assert_int_equal(got, sizeof payload);
    assert_memory_equal(pay, payload, sizeof payload);

    /* Same for message 2, after keys are mixed. */
    need = secchat_noise_message_len(p->resp, 0);
    assert_int_equal(secchat_noise_write_message(p->resp, NULL, 0, msg, need - 1, &len), SECCHAT_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(secchat_noise_write_message(p->resp, NULL, 0, msg, need, &len), SECCHAT_OK);
    read_ok(p->init, msg, len, NULL, 0);
    len = write_ok(p->init, NULL, 0);
    read_ok(p->resp, msg, len, NULL, 0);

    /* Transport: encrypt, decrypt and the handshake hash. */
    uint8_t h[SECCHAT_NOISE_MAX_HASH_LEN];
    assert_int_equal(secchat_noise_handshake_hash(p->init, h, 31, &len), SECCHAT_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(secchat_noise_encrypt(p->init, payload, sizeof payload, msg, sizeof payload + TAG - 1, &len),
                     SECCHAT_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(secchat_noise_encrypt(p->init, payload, sizeof payload, msg, sizeof payload + TAG, &len),
                     SECCHAT_OK);
    assert_int_equal(secchat_noise_decrypt(p->resp, msg, len, pay, sizeof payload - 1, &got),
                     SECCHAT_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(secchat_noise_decrypt(p->resp, msg, len, pay, sizeof payload, &got), SECCHAT_OK);
    assert_memory_equal(pay, payload, sizeof payload);
}

static void test_out_of_turn(void **state)
{
    noise_pair *p = xx_pair(state);
    size_t len = 0, got = 0;

    assert_int_equal(secchat_noise_write_message(p->resp, NULL, 0, msg, sizeof msg, &len),
                     SECCHAT_ERR_NOISE_OUT_OF_TURN);
    assert_int_equal(secchat_noise_read_message(p->init, msg, xx_len[0], pay, sizeof pay, &got),
                     SECCHAT_ERR_NOISE_OUT_OF_TURN);

    len = write_ok(p->init, NULL, 0);
    /* The initiator cannot send twice in a row, nor the responder read twice. */
    assert_int_equal(secchat_noise_write_message(p->init, NULL, 0, msg2, sizeof msg2, &got),
                     SECCHAT_ERR_NOISE_OUT_OF_TURN);
    assert_int_equal(secchat_noise_message_len(p->init, 0), 0);
    read_ok(p->resp, msg, len, NULL, 0);
    assert_int_equal(secchat_noise_read_message(p->resp, msg, len, pay, sizeof pay, &got),
                     SECCHAT_ERR_NOISE_OUT_OF_TURN);

    assert_int_equal(noise_pair_handshake(p, NULL, 0, NULL), SECCHAT_OK);
    transport_ok(p->init, p->resp, "after out-of-turn attempts");
}

static void test_after_completion(void **state)
{
    noise_pair *p = xx_done(state);
    size_t len = 0;
    assert_int_equal(secchat_noise_write_message(p->init, NULL, 0, msg, sizeof msg, &len),
                     SECCHAT_ERR_NOISE_HANDSHAKE_DONE);
    assert_int_equal(secchat_noise_read_message(p->init, msg, xx_len[0], pay, sizeof pay, &len),
                     SECCHAT_ERR_NOISE_HANDSHAKE_DONE);
    assert_int_equal(secchat_noise_write_message(p->resp, NULL, 0, msg, sizeof msg, &len),
                     SECCHAT_ERR_NOISE_HANDSHAKE_DONE);
    assert_int_equal(secchat_noise_read_message(p->resp, msg, xx_len[0], pay, sizeof pay, &len),
                     SECCHAT_ERR_NOISE_HANDSHAKE_DONE);
    assert_int_equal(secchat_noise_message_len(p->init, 0), 0);
    transport_ok(p->resp, p->init, "transport unaffected");
}

static void check_pending(secchat_noise *n)
{
    uint8_t buf[64] = {0};
    size_t len = 0;
    assert_int_equal(secchat_noise_encrypt(n, buf, 1, buf, sizeof buf, &len), SECCHAT_ERR_NOISE_HANDSHAKE_PENDING);
    assert_int_equal(secchat_noise_decrypt(n, buf, 17, buf + 32, 32, &len), SECCHAT_ERR_NOISE_HANDSHAKE_PENDING);
    assert_int_equal(secchat_noise_handshake_hash(n, buf, sizeof buf, &len), SECCHAT_ERR_NOISE_HANDSHAKE_PENDING);
    assert_int_equal(secchat_noise_rekey_send(n), SECCHAT_ERR_NOISE_HANDSHAKE_PENDING);
    assert_int_equal(secchat_noise_rekey_recv(n), SECCHAT_ERR_NOISE_HANDSHAKE_PENDING);
    assert_false(secchat_noise_is_complete(n));
}

static void test_transport_before_completion(void **state)
{
    noise_pair *p = xx_pair(state);
    check_pending(p->init);
    check_pending(p->resp);
    size_t len = write_ok(p->init, NULL, 0);
    read_ok(p->resp, msg, len, NULL, 0);
    check_pending(p->init);
    check_pending(p->resp);
    len = write_ok(p->resp, NULL, 0);
    read_ok(p->init, msg, len, NULL, 0);
    check_pending(p->init); /* one message short of done, although it can compute its keys already */
    check_pending(p->resp);
    len = write_ok(p->init, NULL, 0);
    check_pending(p->resp);
    read_ok(p->resp, msg, len, NULL, 0);
    transport_ok(p->init, p->resp, "now");
}

/* Configuration is frozen by the first message; the refusal itself is harmless. */
static void test_configure_after_start(void **state)
{
    noise_pair *p = xx_pair(state);
    uint8_t key[KEY] = {7};
    size_t len = write_ok(p->init, NULL, 0);
    read_ok(p->resp, msg, len, NULL, 0);

    secchat_noise *both[2] = {p->init, p->resp};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(secchat_noise_set_prologue(both[i], key, 1), SECCHAT_ERR_BAD_STATE);
        assert_int_equal(secchat_noise_set_local_static(both[i], key), SECCHAT_ERR_BAD_STATE);
        assert_int_equal(secchat_noise_set_remote_static(both[i], key), SECCHAT_ERR_BAD_STATE);
        assert_int_equal(secchat_noise_add_psk(both[i], key), SECCHAT_ERR_BAD_STATE);
        assert_int_equal(secchat_noise_set_ephemeral_for_testing(both[i], key), SECCHAT_ERR_BAD_STATE);
    }
    assert_int_equal(noise_pair_handshake(p, NULL, 0, NULL), SECCHAT_OK);
    transport_ok(p->resp, p->init, "configuration unchanged");
}

/* A missing PSK is reported before anything is sent or consumed, and can then be supplied. */
static void test_missing_psk(void **state)
{
    noise_pair *p = new_pair(state, suite_of(state)->xx);
    size_t len = 0, got = 0;
    assert_int_equal(secchat_noise_set_local_static(p->init, p->init_priv), SECCHAT_OK);
    assert_int_equal(secchat_noise_set_local_static(p->resp, p->resp_priv), SECCHAT_OK);

    /* psk2 is only used in message 2, but the initiator must have it before message 1. */
    assert_int_equal(secchat_noise_write_message(p->init, NULL, 0, msg, sizeof msg, &len),
                     SECCHAT_ERR_NOISE_MISSING_KEY);
    assert_int_equal(len, 0);
    assert_int_equal(secchat_noise_next_action(p->init), SECCHAT_NOISE_ACTION_WRITE);
    assert_int_equal(secchat_noise_add_psk(p->init, p->psk), SECCHAT_OK);
    len = write_ok(p->init, NULL, 0);

    assert_int_equal(secchat_noise_read_message(p->resp, msg, len, pay, sizeof pay, &got),
                     SECCHAT_ERR_NOISE_MISSING_KEY);
    assert_int_equal(secchat_noise_next_action(p->resp), SECCHAT_NOISE_ACTION_READ);
    assert_int_equal(secchat_noise_add_psk(p->resp, p->psk), SECCHAT_OK);
    read_ok(p->resp, msg, len, NULL, 0);

    assert_int_equal(noise_pair_handshake(p, NULL, 0, NULL), SECCHAT_OK);
    transport_ok(p->init, p->resp, "psk supplied late");
}

static void test_missing_static(void **state)
{
    noise_pair *p = new_pair(state, suite_of(state)->xx);
    size_t len = 0, got = 0;
    uint8_t rs[KEY];
    assert_int_equal(secchat_noise_add_psk(p->init, p->psk), SECCHAT_OK);
    assert_int_equal(secchat_noise_add_psk(p->resp, p->psk), SECCHAT_OK);

    assert_int_equal(secchat_noise_write_message(p->init, NULL, 0, msg, sizeof msg, &len),
                     SECCHAT_ERR_NOISE_MISSING_KEY);
    assert_int_equal(secchat_noise_set_local_static(p->init, p->init_priv), SECCHAT_OK);
    len = write_ok(p->init, NULL, 0);

    assert_int_equal(secchat_noise_read_message(p->resp, msg, len, pay, sizeof pay, &got),
                     SECCHAT_ERR_NOISE_MISSING_KEY);
    assert_int_equal(secchat_noise_set_local_static(p->resp, p->resp_priv), SECCHAT_OK);
    read_ok(p->resp, msg, len, NULL, 0);

    assert_int_equal(noise_pair_handshake(p, NULL, 0, NULL), SECCHAT_OK);
    assert_int_equal(secchat_noise_remote_static(p->init, rs), SECCHAT_OK);
    assert_memory_equal(rs, p->resp_pub, KEY);
    assert_int_equal(secchat_noise_remote_static(p->resp, rs), SECCHAT_OK);
    assert_memory_equal(rs, p->init_pub, KEY);
}

static void test_too_many_psks(void **state)
{
    noise_pair *p = xx_pair(state); /* already holds its one PSK */
    uint8_t extra[KEY] = {9};
    assert_int_equal(secchat_noise_add_psk(p->init, extra), SECCHAT_ERR_NOISE_TOO_MANY_PSKS);
    assert_int_equal(secchat_noise_add_psk(p->resp, extra), SECCHAT_ERR_NOISE_TOO_MANY_PSKS);
    /* The refused PSK was not kept: the handshake runs on the first one. */
    assert_int_equal(noise_pair_handshake(p, NULL, 0, NULL), SECCHAT_OK);

    p = new_pair(state, suite_of(state)->nn); /* no psk token at all */
    assert_int_equal(secchat_noise_add_psk(p->init, extra), SECCHAT_ERR_NOISE_TOO_MANY_PSKS);
    assert_int_equal(noise_pair_handshake(p, NULL, 0, NULL), SECCHAT_OK);
}

/* ---- transport ---- */

/* A forged transport message is dropped without touching the nonce: the genuine one still decrypts. */
static void test_transport_tampered(void **state)
{
    noise_pair *p = xx_done(state);
    static const char text[] = "transport payload";
    size_t clen = 0, got = 0;
    assert_int_equal(secchat_noise_encrypt(p->init, (const uint8_t *)text, sizeof text, msg, sizeof msg, &clen),
                     SECCHAT_OK);

    for (size_t b = 0; b < clen; b++) {
        memcpy(msg2, msg, clen);
        msg2[b] = (uint8_t)(msg2[b] ^ (1u << (b % 8)));
        if (secchat_noise_decrypt(p->resp, msg2, clen, pay, sizeof pay, &got) != SECCHAT_ERR_NOISE_DECRYPT)
            fail_msg("transport byte %zu: tampering not detected", b);
        assert_int_equal(got, 0);
        assert_int_equal(secchat_noise_next_action(p->resp), SECCHAT_NOISE_ACTION_TRANSPORT);
    }
    /* Cut short by one byte (a shifted tag) is a forgery too. */
    assert_int_equal(secchat_noise_decrypt(p->resp, msg, clen - 1, pay, sizeof pay, &got), SECCHAT_ERR_NOISE_DECRYPT);

    assert_int_equal(secchat_noise_decrypt(p->resp, msg, clen, pay, sizeof pay, &got), SECCHAT_OK);
    assert_int_equal(got, sizeof text);
    assert_memory_equal(pay, text, sizeof text);
    transport_ok(p->init, p->resp, "and the next");
    transport_ok(p->resp, p->init, "and back");
}

/* Nonces are implicit and strictly sequential: replays and reordering fail, without harm. */
static void test_transport_replay(void **state)
{
    noise_pair *p = xx_done(state);
    size_t l1 = 0, l2 = 0, got = 0;
    assert_int_equal(secchat_noise_encrypt(p->init, (const uint8_t *)"one", 3, msg, sizeof msg, &l1), SECCHAT_OK);
    assert_int_equal(secchat_noise_encrypt(p->init, (const uint8_t *)"two", 3, msg2, sizeof msg2, &l2), SECCHAT_OK);
    assert_memory_not_equal(msg, msg2, l1); /* same key, different nonce */

    assert_int_equal(secchat_noise_decrypt(p->resp, msg2, l2, pay, sizeof pay, &got), SECCHAT_ERR_NOISE_DECRYPT);
    assert_int_equal(secchat_noise_decrypt(p->resp, msg, l1, pay, sizeof pay, &got), SECCHAT_OK);
    assert_int_equal(secchat_noise_decrypt(p->resp, msg, l1, pay, sizeof pay, &got), SECCHAT_ERR_NOISE_DECRYPT);
    assert_int_equal(secchat_noise_decrypt(p->resp, msg2, l2, pay, sizeof pay, &got), SECCHAT_OK);
    assert_memory_equal(pay, "two", 3);
    /* A message reflected back to its sender does not decrypt either: each direction has its own key. */
    assert_int_equal(secchat_noise_decrypt(p->init, msg, l1, pay, sizeof pay, &got), SECCHAT_ERR_NOISE_DECRYPT);
    transport_ok(p->resp, p->init, "reflection did no harm");
}

static void test_transport_sizes(void **state)
{
    noise_pair *p = xx_done(state);
    size_t len = 0, got = 0;

    for (size_t short_len = 0; short_len < TAG; short_len++)
        assert_int_equal(secchat_noise_decrypt(p->resp, msg, short_len, pay, sizeof pay, &got),
                         SECCHAT_ERR_NOISE_MSG_TRUNCATED);
    assert_int_equal(secchat_noise_decrypt(p->resp, msg, MAX_MSG + 1, pay, sizeof pay, &got),
                     SECCHAT_ERR_NOISE_MSG_TOO_LARGE);

    randombytes_buf(pay2, SECCHAT_NOISE_MAX_PLAINTEXT + 1);
    assert_int_equal(secchat_noise_encrypt(p->init, pay2, SECCHAT_NOISE_MAX_PLAINTEXT + 1, msg, sizeof msg, &len),
                     SECCHAT_ERR_NOISE_MSG_TOO_LARGE);
    assert_int_equal(secchat_noise_encrypt(p->init, pay2, SECCHAT_NOISE_MAX_PLAINTEXT, msg, sizeof msg, &len),
                     SECCHAT_OK);
    assert_int_equal(len, MAX_MSG);
    assert_int_equal(secchat_noise_decrypt(p->resp, msg, len, pay, sizeof pay, &got), SECCHAT_OK);
    assert_int_equal(got, SECCHAT_NOISE_MAX_PLAINTEXT);
    assert_memory_equal(pay, pay2, got);

    /* An empty plaintext is a bare tag, and may be decrypted into no buffer. */
    assert_int_equal(secchat_noise_encrypt(p->init, NULL, 0, msg, sizeof msg, &len), SECCHAT_OK);
    assert_int_equal(len, TAG);
    got = 99;
    assert_int_equal(secchat_noise_decrypt(p->resp, msg, len, NULL, 0, &got), SECCHAT_OK);
    assert_int_equal(got, 0);
    transport_ok(p->init, p->resp, "after the limits");
}

/* out == in is documented for encrypt and decrypt. */
static void test_transport_in_place(void **state)
{
    noise_pair *p = xx_done(state);
    static const char text[] = "encrypted where it lies";
    uint8_t buf[sizeof text + TAG];
    size_t len = 0, got = 0;

    memcpy(buf, text, sizeof text);
    assert_int_equal(secchat_noise_encrypt(p->resp, buf, sizeof text, buf, sizeof buf, &len), SECCHAT_OK);
    assert_int_equal(len, sizeof buf);
    assert_memory_not_equal(buf, text, sizeof text);
    assert_int_equal(secchat_noise_decrypt(p->init, buf, len, buf, sizeof buf, &got), SECCHAT_OK);
    assert_int_equal(got, sizeof text);
    assert_memory_equal(buf, text, sizeof text);
}

/* Rekey (section 11.3) must be mirrored: sender's send key and receiver's receive key. */
static void test_rekey(void **state)
{
    noise_pair *p = xx_done(state);
    transport_ok(p->init, p->resp, "before");
    assert_int_equal(secchat_noise_rekey_send(p->init), SECCHAT_OK);
    assert_int_equal(secchat_noise_rekey_recv(p->resp), SECCHAT_OK);
    transport_ok(p->init, p->resp, "after rekey");
    transport_ok(p->resp, p->init, "other direction untouched");
    assert_int_equal(secchat_noise_rekey_send(p->resp), SECCHAT_OK);
    assert_int_equal(secchat_noise_rekey_recv(p->init), SECCHAT_OK);
    transport_ok(p->resp, p->init, "both rekeyed");

    /* Only the sender rekeys: the receiver cannot decrypt until it rekeys as well. */
    size_t len = 0, got = 0;
    assert_int_equal(secchat_noise_rekey_send(p->init), SECCHAT_OK);
    assert_int_equal(secchat_noise_encrypt(p->init, (const uint8_t *)"new key", 7, msg, sizeof msg, &len), SECCHAT_OK);
    assert_int_equal(secchat_noise_decrypt(p->resp, msg, len, pay, sizeof pay, &got), SECCHAT_ERR_NOISE_DECRYPT);
    assert_int_equal(secchat_noise_next_action(p->resp), SECCHAT_NOISE_ACTION_TRANSPORT);
    assert_int_equal(secchat_noise_rekey_recv(p->resp), SECCHAT_OK);
    assert_int_equal(secchat_noise_decrypt(p->resp, msg, len, pay, sizeof pay, &got), SECCHAT_OK);
    assert_memory_equal(pay, "new key", 7);

    /* Only the receiver rekeys: same failure the other way round. */
    assert_int_equal(secchat_noise_rekey_recv(p->init), SECCHAT_OK);
    assert_int_equal(secchat_noise_encrypt(p->resp, (const uint8_t *)"old key", 7, msg, sizeof msg, &len), SECCHAT_OK);
    assert_int_equal(secchat_noise_decrypt(p->init, msg, len, pay, sizeof pay, &got), SECCHAT_ERR_NOISE_DECRYPT);
}

/* ---- nonces ---- */

/* The hook really sets the nonce both sides use: one side alone moved breaks decryption. */
static void test_nonce_hook(void **state)
{
    noise_pair *p = xx_done(state);
    size_t len = 0, got = 0;
    assert_int_equal(sc_noise_set_nonce_for_testing(p->init, 1, 5), SECCHAT_OK);
    assert_int_equal(secchat_noise_encrypt(p->init, (const uint8_t *)"n5", 2, msg, sizeof msg, &len), SECCHAT_OK);
    assert_int_equal(secchat_noise_decrypt(p->resp, msg, len, pay, sizeof pay, &got), SECCHAT_ERR_NOISE_DECRYPT);
    assert_int_equal(sc_noise_set_nonce_for_testing(p->resp, 0, 5), SECCHAT_OK);
    assert_int_equal(secchat_noise_decrypt(p->resp, msg, len, pay, sizeof pay, &got), SECCHAT_OK);
    transport_ok(p->init, p->resp, "n6");
}

/* 2^64-1 is reserved (section 5.1): the last usable nonce is 2^64-2, then the session is over. */
static void test_nonce_exhausted_send(void **state)
{
    noise_pair *p = xx_done(state);
    size_t len = 0;
    assert_int_equal(sc_noise_set_nonce_for_testing(p->init, 1, UINT64_MAX - 1), SECCHAT_OK);
    assert_int_equal(sc_noise_set_nonce_for_testing(p->resp, 0, UINT64_MAX - 1), SECCHAT_OK);
    transport_ok(p->init, p->resp, "last message");

    assert_int_equal(secchat_noise_encrypt(p->init, (const uint8_t *)"one too many", 12, msg, sizeof msg, &len),
                     SECCHAT_ERR_NOISE_NONCE_EXHAUSTED);
    assert_int_equal(len, 0);
    assert_sticky(p->init, SECCHAT_ERR_NOISE_NONCE_EXHAUSTED);
}

static void test_nonce_exhausted_recv(void **state)
{
    noise_pair *p = xx_done(state);
    size_t len = 0, got = 0;
    assert_int_equal(sc_noise_set_nonce_for_testing(p->init, 1, UINT64_MAX - 1), SECCHAT_OK);
    assert_int_equal(sc_noise_set_nonce_for_testing(p->resp, 0, UINT64_MAX - 1), SECCHAT_OK);
    assert_int_equal(secchat_noise_encrypt(p->init, (const uint8_t *)"last", 4, msg, sizeof msg, &len), SECCHAT_OK);
    assert_int_equal(secchat_noise_decrypt(p->resp, msg, len, pay, sizeof pay, &got), SECCHAT_OK);

    /* The receiver is now at 2^64-1: any further message, even a replay, ends the session. */
    assert_int_equal(secchat_noise_decrypt(p->resp, msg, len, pay, sizeof pay, &got),
                     SECCHAT_ERR_NOISE_NONCE_EXHAUSTED);
    assert_sticky(p->resp, SECCHAT_ERR_NOISE_NONCE_EXHAUSTED);
}

/* ---- static key pinning ---- */

static void test_pinned_remote_static(void **state)
{
    uint8_t wrong_pub[KEY], wrong_priv[KEY], rs[KEY];
    assert_int_equal(secchat_keypair_generate(wrong_pub, wrong_priv), SECCHAT_OK);

    /* The responder's key arrives in message 2. */
    noise_pair *p = xx_pair(state);
    assert_int_equal(secchat_noise_set_remote_static(p->init, wrong_pub), SECCHAT_OK);
    assert_int_equal(noise_pair_transfer(p->init, p->resp, NULL, 0, NULL, NULL), SECCHAT_OK);
    assert_int_equal(noise_pair_transfer(p->resp, p->init, NULL, 0, NULL, NULL), SECCHAT_ERR_NOISE_PEER_KEY_MISMATCH);
    assert_sticky(p->init, SECCHAT_ERR_NOISE_PEER_KEY_MISMATCH);

    p = xx_pair(state);
    assert_int_equal(secchat_noise_set_remote_static(p->init, p->resp_pub), SECCHAT_OK);
    assert_int_equal(noise_pair_handshake(p, NULL, 0, NULL), SECCHAT_OK);
    assert_int_equal(secchat_noise_remote_static(p->init, rs), SECCHAT_OK);
    assert_memory_equal(rs, p->resp_pub, KEY);

    /* The initiator's key arrives in message 3. */
    p = xx_pair(state);
    assert_int_equal(secchat_noise_set_remote_static(p->resp, wrong_pub), SECCHAT_OK);
    assert_int_equal(noise_pair_transfer(p->init, p->resp, NULL, 0, NULL, NULL), SECCHAT_OK);
    assert_int_equal(noise_pair_transfer(p->resp, p->init, NULL, 0, NULL, NULL), SECCHAT_OK);
    assert_int_equal(noise_pair_transfer(p->init, p->resp, NULL, 0, NULL, NULL), SECCHAT_ERR_NOISE_PEER_KEY_MISMATCH);
    assert_sticky(p->resp, SECCHAT_ERR_NOISE_PEER_KEY_MISMATCH);

    p = xx_pair(state);
    assert_int_equal(secchat_noise_set_remote_static(p->resp, p->init_pub), SECCHAT_OK);
    assert_int_equal(noise_pair_handshake(p, NULL, 0, NULL), SECCHAT_OK);

    /* NN never conveys a static key: a pin could never be checked, so it is refused. */
    secchat_noise *nn = NULL;
    assert_int_equal(secchat_noise_new(&nn, "Noise_NN_25519_ChaChaPoly_SHA256", SECCHAT_NOISE_INITIATOR), SECCHAT_OK);
    assert_int_equal(secchat_noise_set_remote_static(nn, wrong_pub), SECCHAT_ERR_BAD_STATE);
    secchat_noise_free(nn);

    /* A pre-message key (NK) is known from the start. */
    secchat_noise *nk = NULL;
    assert_int_equal(secchat_noise_new(&nk, "Noise_NK_25519_ChaChaPoly_SHA256", SECCHAT_NOISE_INITIATOR), SECCHAT_OK);
    assert_int_equal(secchat_noise_set_remote_static(nk, wrong_pub), SECCHAT_OK);
    assert_int_equal(secchat_noise_remote_static(nk, rs), SECCHAT_OK);
    assert_memory_equal(rs, wrong_pub, KEY);
    secchat_noise_free(nk);
    secchat_memzero(wrong_priv, sizeof wrong_priv);
}

/* The peer's static key is only reported once it has been received and authenticated. */
static void test_remote_static_timing(void **state)
{
    noise_pair *p = xx_pair(state);
    uint8_t rs[KEY];
    assert_int_equal(secchat_noise_remote_static(p->init, rs), SECCHAT_ERR_BAD_STATE);
    assert_int_equal(noise_pair_transfer(p->init, p->resp, NULL, 0, NULL, NULL), SECCHAT_OK);
    assert_int_equal(secchat_noise_remote_static(p->init, rs), SECCHAT_ERR_BAD_STATE);
    assert_int_equal(secchat_noise_remote_static(p->resp, rs), SECCHAT_ERR_BAD_STATE);
    assert_int_equal(noise_pair_transfer(p->resp, p->init, NULL, 0, NULL, NULL), SECCHAT_OK);
    assert_int_equal(secchat_noise_remote_static(p->init, rs), SECCHAT_OK);
    assert_memory_equal(rs, p->resp_pub, KEY);
    assert_int_equal(secchat_noise_remote_static(p->resp, rs), SECCHAT_ERR_BAD_STATE);
}

/* ---- low-order public keys (NN: no PSK or static key stands in the way) ---- */

/* u = 0, u = 1 and a point of order 8: X25519 with any of them gives all zeros. */
static const uint8_t low_order[3][KEY] = {
    {0},
    {1},
    {0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a,
     0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},
};

/* NN message 1 is "e" only, with no DH: the responder fails on its own "ee", while writing message 2. */
static void test_low_order_at_responder(void **state)
{
    for (size_t k = 0; k < 3; k++) {
        noise_pair *p = new_pair(state, suite_of(state)->nn);
        size_t len = 0;
        read_ok(p->resp, low_order[k], KEY, NULL, 0);
        assert_int_equal(secchat_noise_write_message(p->resp, NULL, 0, msg, sizeof msg, &len), SECCHAT_ERR_NOISE_DH);
        assert_sticky(p->resp, SECCHAT_ERR_NOISE_DH);
    }
}

/* The initiator does "ee" while reading message 2, before the payload tag is checked. */
static void test_low_order_at_initiator(void **state)
{
    for (size_t k = 0; k < 3; k++) {
        noise_pair *p = new_pair(state, suite_of(state)->nn);
        size_t len = write_ok(p->init, NULL, 0), got = 0;
        assert_int_equal(len, KEY);
        memset(msg, 0, KEY + TAG);
        memcpy(msg, low_order[k], KEY);
        assert_int_equal(secchat_noise_read_message(p->init, msg, KEY + TAG, pay, sizeof pay, &got),
                         SECCHAT_ERR_NOISE_DH);
        assert_sticky(p->init, SECCHAT_ERR_NOISE_DH);
    }
}

/* ---- one-way pattern ---- */

/* N (section 7.4): the responder's static key is known in advance; only the initiator may send. */
static void test_one_way(void **state)
{
    noise_pair *p = new_pair(state, suite_of(state)->n);
    size_t lens[2] = {0}, count = 0, len = 0;
    uint8_t buf[64] = {0};

    assert_int_equal(secchat_noise_set_local_static(p->resp, p->resp_priv), SECCHAT_OK);
    /* The pre-message key is required. */
    assert_int_equal(secchat_noise_write_message(p->init, NULL, 0, msg, sizeof msg, &len),
                     SECCHAT_ERR_NOISE_MISSING_KEY);
    assert_int_equal(secchat_noise_set_remote_static(p->init, p->resp_pub), SECCHAT_OK);
    assert_int_equal(noise_pair_handshake(p, lens, 2, &count), SECCHAT_OK);
    assert_int_equal(count, 1);
    assert_int_equal(lens[0], KEY + TAG); /* e, es, then an encrypted empty payload */

    transport_ok(p->init, p->resp, "one way");
    assert_int_equal(secchat_noise_encrypt(p->resp, buf, 1, buf, sizeof buf, &len), SECCHAT_ERR_NOISE_ONE_WAY);
    assert_int_equal(secchat_noise_decrypt(p->init, buf, 17, buf + 32, 32, &len), SECCHAT_ERR_NOISE_ONE_WAY);
    assert_int_equal(secchat_noise_rekey_send(p->resp), SECCHAT_ERR_NOISE_ONE_WAY);
    assert_int_equal(secchat_noise_rekey_recv(p->init), SECCHAT_ERR_NOISE_ONE_WAY);
    /* Retryable: the allowed direction keeps working. */
    assert_int_equal(secchat_noise_next_action(p->resp), SECCHAT_NOISE_ACTION_TRANSPORT);
    transport_ok(p->init, p->resp, "still one way");
}

/* ---- arguments ---- */

static void test_null_arguments(void **state)
{
    noise_pair *p = xx_pair(state);
    uint8_t buf[64] = {0};
    size_t len = 0;

    secchat_noise_free(NULL);
    assert_int_equal(secchat_noise_next_action(NULL), SECCHAT_NOISE_ACTION_FAILED);
    assert_false(secchat_noise_is_complete(NULL));
    assert_int_equal(secchat_noise_message_len(NULL, 0), 0);
    assert_string_equal(secchat_noise_protocol_name(NULL), "");
    assert_string_equal(secchat_noise_protocol_name(p->init), suite_of(state)->xx);

    assert_int_equal(secchat_noise_write_message(NULL, NULL, 0, buf, sizeof buf, &len), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_noise_write_message(p->init, NULL, 1, buf, sizeof buf, &len),
                     SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_noise_write_message(p->init, NULL, 0, NULL, sizeof buf, &len),
                     SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_noise_write_message(p->init, NULL, 0, buf, sizeof buf, NULL),
                     SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_noise_read_message(NULL, buf, 48, buf, sizeof buf, &len), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_noise_set_local_static(p->init, NULL), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_noise_set_remote_static(p->init, NULL), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_noise_add_psk(p->init, NULL), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_noise_set_prologue(p->init, NULL, 3), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_noise_encrypt(NULL, buf, 1, buf, sizeof buf, &len), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_noise_decrypt(NULL, buf, 17, buf, sizeof buf, &len), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_noise_rekey_send(NULL), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_noise_handshake_hash(NULL, buf, sizeof buf, &len), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_noise_remote_static(NULL, buf), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_keypair_generate(NULL, buf), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_public_key_from_private(buf, NULL), SECCHAT_ERR_INVALID_ARGUMENT);

    /* None of that harmed the handles. */
    assert_int_equal(noise_pair_handshake(p, NULL, 0, NULL), SECCHAT_OK);
    assert_int_equal(secchat_noise_encrypt(p->init, NULL, 1, buf, sizeof buf, &len), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_noise_decrypt(p->init, buf, 17, NULL, 1, &len), SECCHAT_ERR_INVALID_ARGUMENT);
    transport_ok(p->init, p->resp, "arguments checked");
}

/* The public key the pair helper was given matches the library's own derivation. */
static void test_public_key_derivation(void **state)
{
    noise_pair *p = xx_pair(state);
    uint8_t pub[KEY];
    assert_int_equal(secchat_public_key_from_private(pub, p->init_priv), SECCHAT_OK);
    assert_memory_equal(pub, p->init_pub, KEY);
}

/* One case per test and suite, named after both. (clang-format would spread the braces over four lines.) */
/* clang-format off */
#define CASE(f, s) {#f " [" #s "]", f, setup, teardown, &(s)}
/* clang-format on */
#define ALL_CASES(s)                                                                                                   \
    CASE(test_handshake_completes, s), CASE(test_sessions_differ, s), CASE(test_handshake_payloads, s),                \
        CASE(test_prologue, s), CASE(test_tampered_handshake, s), CASE(test_wrong_psk, s),                             \
        CASE(test_truncated_handshake, s), CASE(test_read_oversized, s), CASE(test_write_too_large, s),                \
        CASE(test_buffer_too_small, s), CASE(test_out_of_turn, s), CASE(test_after_completion, s),                     \
        CASE(test_transport_before_completion, s), CASE(test_configure_after_start, s), CASE(test_missing_psk, s),     \
        CASE(test_missing_static, s), CASE(test_too_many_psks, s), CASE(test_transport_tampered, s),                   \
        CASE(test_transport_replay, s), CASE(test_transport_sizes, s), CASE(test_transport_in_place, s),               \
        CASE(test_rekey, s), CASE(test_nonce_hook, s), CASE(test_nonce_exhausted_send, s),                             \
        CASE(test_nonce_exhausted_recv, s), CASE(test_pinned_remote_static, s), CASE(test_remote_static_timing, s),    \
        CASE(test_low_order_at_responder, s), CASE(test_low_order_at_initiator, s), CASE(test_one_way, s),             \
        CASE(test_null_arguments, s), CASE(test_public_key_derivation, s)

int main(void)
{
    /* One group: tests/run-all.sh counts only the last PASSED line of a program. */
    const struct CMUnitTest tests[] = {ALL_CASES(aesgcm), ALL_CASES(chachapoly)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
