/*
 * Protocol-name parser (noise-rev34 section 8, psk modifiers 9.4) through the
 * public secchat_noise_check_name() and secchat_noise_new().
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "secchat.h"

/* Every base pattern of sections 7.4 (one-way), 7.5 (fundamental) and 18.1 (deferred). */
static const char *const one_way[] = {"N", "K", "X"};
static const char *const fundamental[] = {"NN", "NK", "NX", "KN", "KK", "KX", "XN", "XK", "XX", "IN", "IK", "IX"};
static const char *const deferred[] = {"NK1",  "NX1", "X1N", "X1K",  "XK1",  "X1K1", "X1X", "XX1",
                                       "X1X1", "K1N", "K1K", "KK1",  "K1K1", "K1X",  "KX1", "K1X1",
                                       "I1N",  "I1K", "IK1", "I1K1", "I1X",  "IX1",  "I1X1"};
static const char *const ciphers[] = {"AESGCM", "ChaChaPoly"};
static const char *const hashes[] = {"SHA256", "SHA512", "BLAKE2b"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* A non-NULL handle value, to see secchat_noise_new() reset *out on failure. */
static char sentinel;
#define SENTINEL ((secchat_noise *)(void *)&sentinel)

/* Checks one name and reports it by name, which a bare assert_int_equal would not. */
static void expect(const char *name, int want)
{
    int got = secchat_noise_check_name(name);
    if (got != want)
        fail_msg("\"%s\": got %d (%s), want %d (%s)", name, got, secchat_strerror(got), want, secchat_strerror(want));
}

/* What a valid name must give: AESGCM depends on the CPU (libsodium needs AES-NI). */
static int valid_result(const char *cipher)
{
    if (strcmp(cipher, "AESGCM") == 0 && !crypto_aead_aes256gcm_is_available())
        return SECCHAT_ERR_NOISE_AESGCM_UNAVAILABLE;
    return SECCHAT_OK;
}

static void expect_all_suites(const char *pattern)
{
    char name[SECCHAT_NOISE_MAX_NAME_LEN + 1];
    for (size_t c = 0; c < COUNT(ciphers); c++) {
        for (size_t h = 0; h < COUNT(hashes); h++) {
            snprintf(name, sizeof name, "Noise_%s_25519_%s_%s", pattern, ciphers[c], hashes[h]);
            expect(name, valid_result(ciphers[c]));
        }
    }
}

static void test_accepts_every_pattern(void **state)
{
    (void)state;
    assert_int_equal(sodium_init() >= 0, 1);
    for (size_t i = 0; i < COUNT(one_way); i++)
        expect_all_suites(one_way[i]);
    for (size_t i = 0; i < COUNT(fundamental); i++)
        expect_all_suites(fundamental[i]);
    for (size_t i = 0; i < COUNT(deferred); i++)
        expect_all_suites(deferred[i]);
}

static void test_accepts_psk_modifiers(void **state)
{
    (void)state;
    static const char *const ok[] = {
        "Npsk0",    "Npsk1",   "Kpsk0",       "Xpsk1",  "NNpsk0",           "NNpsk2",
        "XXpsk2",   "XXpsk3",  "XXpsk0+psk2", "IKpsk1", "NXpsk0+psk1+psk2", "XXpsk0+psk1+psk2+psk3",
        "X1X1psk4", "XX1psk0", "I1K1psk3",
    };
    for (size_t i = 0; i < COUNT(ok); i++)
        expect_all_suites(ok[i]);
}

static void test_rejects_unsupported(void **state)
{
    (void)state;
    expect("Noise_XX_448_ChaChaPoly_SHA256", SECCHAT_ERR_NOISE_UNSUPPORTED);
    expect("Noise_XX_25519_ChaChaPoly_BLAKE2s", SECCHAT_ERR_NOISE_UNSUPPORTED);
    expect("Noise_IK_448_ChaChaPoly_BLAKE2b", SECCHAT_ERR_NOISE_UNSUPPORTED);
    expect("Noise_XXfallback_25519_ChaChaPoly_SHA256", SECCHAT_ERR_NOISE_UNSUPPORTED);
    expect("Noise_XXfallback+psk0_25519_ChaChaPoly_SHA256", SECCHAT_ERR_NOISE_UNSUPPORTED);
    expect("Noise_XX_25519_AES256GCM_SHA256", SECCHAT_ERR_NOISE_UNSUPPORTED);
    expect("Noise_XX_25519_ChaChaPoly_SHA3/256", SECCHAT_ERR_NOISE_UNSUPPORTED);
    /* Names are case-sensitive: "chachapoly" is simply an unknown cipher. */
    expect("Noise_XX_25519_chachapoly_SHA256", SECCHAT_ERR_NOISE_UNSUPPORTED);
    /* Well-formed modifiers other than pskN are valid names we do not implement. */
    expect("Noise_XXfoo_25519_ChaChaPoly_SHA256", SECCHAT_ERR_NOISE_UNSUPPORTED);
    expect("Noise_XXpsk0+hfs_25519_ChaChaPoly_SHA256", SECCHAT_ERR_NOISE_UNSUPPORTED);
    /* Several algorithm names in one section (8.2) are well formed, but none of ours use them. */
    expect("Noise_XX_25519_ChaChaPoly_SHA256+SHA512", SECCHAT_ERR_NOISE_UNSUPPORTED);
}

static void test_rejects_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "Noise_",
        "Noise",
        "XX_25519_ChaChaPoly_SHA256",       /* no prefix */
        "noise_XX_25519_ChaChaPoly_SHA256", /* prefix is case-sensitive */
        "Noise-XX_25519_ChaChaPoly_SHA256",
        "Noise_XX_25519_ChaChaPoly", /* three sections */
        "Noise_XX_25519",
        "Noise_XX_25519_ChaChaPoly_SHA256_", /* five sections */
        "Noise_XX_25519_ChaChaPoly_SHA256_X",
        "Noise__25519_ChaChaPoly_SHA256", /* empty sections */
        "Noise_XX__ChaChaPoly_SHA256",
        "Noise_XX_25519__SHA256",
        "Noise_XX_25519_ChaChaPoly_",
        "Noise_XY_25519_ChaChaPoly_SHA256", /* unknown base pattern */
        "Noise_NN2_25519_ChaChaPoly_SHA256",
        "Noise_xx_25519_ChaChaPoly_SHA256",      /* base must be uppercase */
        "Noise_psk0_25519_ChaChaPoly_SHA256",    /* modifier without a base */
        "Noise_XX-psk0_25519_ChaChaPoly_SHA256", /* invalid characters */
        "Noise_XX_25519_ChaCha-Poly_SHA256",
        "Noise_XX_25519_ChaChaPoly_SHA 256",
        "Noise_XX_25519_ChaChaPoly_SHA256\n",
        "Noise_XX_25\xc3\xa9_ChaChaPoly_SHA256",
        "Noise_NNpsk3_25519_ChaChaPoly_SHA256", /* psk beyond the last message */
        "Noise_Npsk2_25519_ChaChaPoly_SHA256",
        "Noise_XXpsk4_25519_ChaChaPoly_SHA256",
        "Noise_XXpsk2+psk2_25519_ChaChaPoly_SHA256", /* duplicate psk */
        "Noise_XXpsk02_25519_ChaChaPoly_SHA256",     /* leading zeros */
        "Noise_XXpsk00_25519_ChaChaPoly_SHA256",
        "Noise_XXpsk2+_25519_ChaChaPoly_SHA256", /* trailing '+' */
        "Noise_XX+psk2_25519_ChaChaPoly_SHA256", /* first modifier is appended, not '+'-joined */
        "Noise_XXpsk0++psk2_25519_ChaChaPoly_SHA256",
        "Noise_XXpsk0psk2_25519_ChaChaPoly_SHA256",
        "Noise_XXpsk99999999999999999999_25519_ChaChaPoly_SHA256",
        "Noise_XXpsk_25519_ChaChaPoly_SHA256",       /* psk without a number */
        "Noise_XXpsk2+psk0_25519_ChaChaPoly_SHA256", /* psk modifiers must be sorted (8.1) */
        "Noise_XXpsk3+psk1+psk2_25519_ChaChaPoly_SHA256",
        "Noise_XX_25519_ChaChaPoly_SHA256+", /* empty algorithm names around '+' (8.2) */
        "Noise_XX_+25519_ChaChaPoly_SHA256",
        "Noise_XX_25519_ChaChaPoly_SHA256++SHA512",
        /* A syntax error wins over an unsupported part. */
        "Noise_XXfallback+psk02_25519_ChaChaPoly_SHA256",
        "Noise_XY_448_ChaChaPoly_BLAKE2s",
    };
    for (size_t i = 0; i < COUNT(bad); i++)
        expect(bad[i], SECCHAT_ERR_NOISE_NAME);
}

/*
 * The limit is 255 bytes (section 8). An unknown but well-formed cipher name
 * pads the name: UNSUPPORTED at 255 bytes proves the length was accepted,
 * NAME at 256 that it was not.
 */
static void test_name_length_limit(void **state)
{
    (void)state;
    static const char head[] = "Noise_XX_25519_", tail[] = "_SHA256";
    static const size_t lens[] = {SECCHAT_NOISE_MAX_NAME_LEN, SECCHAT_NOISE_MAX_NAME_LEN + 1, 4000};
    char name[4001];

    for (size_t i = 0; i < COUNT(lens); i++) {
        size_t len = lens[i];
        size_t pad = len - (sizeof head - 1) - (sizeof tail - 1);
        memcpy(name, head, sizeof head - 1);
        memset(name + sizeof head - 1, 'A', pad);
        memcpy(name + sizeof head - 1 + pad, tail, sizeof tail);
        assert_int_equal(strlen(name), len);
        expect(name, len == SECCHAT_NOISE_MAX_NAME_LEN ? SECCHAT_ERR_NOISE_UNSUPPORTED : SECCHAT_ERR_NOISE_NAME);
    }
}

static void test_null_name(void **state)
{
    (void)state;
    assert_int_equal(secchat_noise_check_name(NULL), SECCHAT_ERR_INVALID_ARGUMENT);

    secchat_noise *n = SENTINEL; /* must be overwritten with NULL */
    assert_int_equal(secchat_noise_new(&n, NULL, SECCHAT_NOISE_INITIATOR), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_null(n);
    assert_int_equal(secchat_noise_new(NULL, "Noise_NN_25519_ChaChaPoly_SHA256", SECCHAT_NOISE_INITIATOR),
                     SECCHAT_ERR_INVALID_ARGUMENT);
}

static void test_new_rejects_bad_role(void **state)
{
    (void)state;
    static const int roles[] = {0, 3, -1};
    for (size_t i = 0; i < COUNT(roles); i++) {
        secchat_noise *n = SENTINEL;
        assert_int_equal(secchat_noise_new(&n, "Noise_NN_25519_ChaChaPoly_SHA256", (secchat_noise_role)roles[i]),
                         SECCHAT_ERR_INVALID_ARGUMENT);
        assert_null(n);
    }
}

/* secchat_noise_new reports the parser's verdict and leaves *out NULL. */
static void test_new_propagates_name_errors(void **state)
{
    (void)state;
    secchat_noise *n = SENTINEL;
    assert_int_equal(secchat_noise_new(&n, "Noise_XY_25519_ChaChaPoly_SHA256", SECCHAT_NOISE_RESPONDER),
                     SECCHAT_ERR_NOISE_NAME);
    assert_null(n);
    n = SENTINEL;
    assert_int_equal(secchat_noise_new(&n, "Noise_XX_448_ChaChaPoly_SHA256", SECCHAT_NOISE_RESPONDER),
                     SECCHAT_ERR_NOISE_UNSUPPORTED);
    assert_null(n);

    assert_int_equal(secchat_noise_new(&n, "Noise_XXpsk0+psk2_25519_ChaChaPoly_BLAKE2b", SECCHAT_NOISE_INITIATOR),
                     SECCHAT_OK);
    assert_non_null(n);
    assert_string_equal(secchat_noise_protocol_name(n), "Noise_XXpsk0+psk2_25519_ChaChaPoly_BLAKE2b");
    secchat_noise_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_every_pattern), cmocka_unit_test(test_accepts_psk_modifiers),
        cmocka_unit_test(test_rejects_unsupported),   cmocka_unit_test(test_rejects_malformed),
        cmocka_unit_test(test_name_length_limit),     cmocka_unit_test(test_null_name),
        cmocka_unit_test(test_new_rejects_bad_role),  cmocka_unit_test(test_new_propagates_name_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
