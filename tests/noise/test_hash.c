/*
 * Internal hash layer (lib/noise/hash.c): sc_hash_digest and the HKDF of
 * noise-rev34 section 4.3, checked against HMAC computed independently:
 * libsodium's crypto_auth_hmacsha256/512 for SHA256 and SHA512, and an
 * RFC 2104 HMAC written here over crypto_generichash for BLAKE2b (which
 * libsodium does not offer as HMAC; its keyed BLAKE2b is a different MAC).
 *
 * Noise's HKDF is not RFC 5869's: the chaining key is the HMAC key, there is
 * no info string, and outputs are HMAC(temp_key, prev || byte):
 *   temp_key = HMAC(ck, ikm)
 *   out1 = HMAC(temp_key, 0x01)
 *   out2 = HMAC(temp_key, out1 || 0x02)
 *   out3 = HMAC(temp_key, out2 || 0x03)
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include <sodium.h>

#include "noise/hash.h"

/* HMAC of one algorithm over a message given as two parts (prev || byte). */
typedef void (*hmac_fn)(const uint8_t *key, size_t key_len, const uint8_t *m1, size_t l1, const uint8_t *m2, size_t l2,
                        uint8_t *out);

static void hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *m1, size_t l1, const uint8_t *m2, size_t l2,
                        uint8_t *out)
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, key_len);
    crypto_auth_hmacsha256_update(&st, m1, l1);
    crypto_auth_hmacsha256_update(&st, m2, l2);
    crypto_auth_hmacsha256_final(&st, out);
}

static void hmac_sha512(const uint8_t *key, size_t key_len, const uint8_t *m1, size_t l1, const uint8_t *m2, size_t l2,
                        uint8_t *out)
{
    crypto_auth_hmacsha512_state st;
    crypto_auth_hmacsha512_init(&st, key, key_len);
    crypto_auth_hmacsha512_update(&st, m1, l1);
    crypto_auth_hmacsha512_update(&st, m2, l2);
    crypto_auth_hmacsha512_final(&st, out);
}

/* HASH(p1 || p2 || p3) in one go, the building block of the hand-written HMAC. */
typedef void (*hash3_fn)(uint8_t *out, const uint8_t *p1, size_t l1, const uint8_t *p2, size_t l2, const uint8_t *p3,
                         size_t l3);

static void blake2b_3(uint8_t *out, const uint8_t *p1, size_t l1, const uint8_t *p2, size_t l2, const uint8_t *p3,
                      size_t l3)
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 64); /* unkeyed, 64 bytes (section 12.8) */
    crypto_generichash_update(&st, p1, l1);
    crypto_generichash_update(&st, p2, l2);
    crypto_generichash_update(&st, p3, l3);
    crypto_generichash_final(&st, out, 64);
}

static void sha512_3(uint8_t *out, const uint8_t *p1, size_t l1, const uint8_t *p2, size_t l2, const uint8_t *p3,
                     size_t l3)
{
    crypto_hash_sha512_state st;
    crypto_hash_sha512_init(&st);
    crypto_hash_sha512_update(&st, p1, l1);
    crypto_hash_sha512_update(&st, p2, l2);
    crypto_hash_sha512_update(&st, p3, l3);
    crypto_hash_sha512_final(&st, out);
}

/* RFC 2104 HMAC for a 64-byte hash with a 128-byte block (SHA512 and BLAKE2b both are). */
static void manual_hmac(hash3_fn hash, const uint8_t *key, size_t key_len, const uint8_t *m1, size_t l1,
                        const uint8_t *m2, size_t l2, uint8_t *out)
{
    uint8_t k0[128] = {0}, ipad[128], opad[128], inner[64];

    assert_true(key_len <= sizeof k0); /* Noise keys are HASHLEN: never hashed down */
    memcpy(k0, key, key_len);
    for (size_t i = 0; i < sizeof k0; i++) {
        ipad[i] = (uint8_t)(k0[i] ^ 0x36);
        opad[i] = (uint8_t)(k0[i] ^ 0x5c);
    }
    hash(inner, ipad, sizeof ipad, m1, l1, m2, l2);
    hash(out, opad, sizeof opad, inner, sizeof inner, NULL, 0);
}

static void hmac_blake2b(const uint8_t *key, size_t key_len, const uint8_t *m1, size_t l1, const uint8_t *m2, size_t l2,
                         uint8_t *out)
{
    manual_hmac(blake2b_3, key, key_len, m1, l1, m2, l2, out);
}

struct algo {
    const char *name;
    size_t hash_len, block_len;
    hmac_fn hmac;
};

static const struct algo algos[] = {
    {"SHA256", 32, 64, hmac_sha256},
    {"SHA512", 64, 128, hmac_sha512},
    {"BLAKE2b", 64, 128, hmac_blake2b},
};

static const sc_hash *find(const char *name)
{
    const sc_hash *h = sc_hash_find(name, strlen(name));
    assert_non_null(h);
    return h;
}

/* The reference HKDF, from the formulas above. */
static void reference_hkdf(const struct algo *a, const uint8_t *ck, const uint8_t *ikm, size_t ikm_len, uint8_t *o1,
                           uint8_t *o2, uint8_t *o3)
{
    static const uint8_t one = 1, two = 2, three = 3;
    uint8_t temp_key[64];
    a->hmac(ck, a->hash_len, ikm, ikm_len, NULL, 0, temp_key);
    a->hmac(temp_key, a->hash_len, &one, 1, NULL, 0, o1);
    a->hmac(temp_key, a->hash_len, o1, a->hash_len, &two, 1, o2);
    a->hmac(temp_key, a->hash_len, o2, a->hash_len, &three, 1, o3);
}

static void test_find(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof algos / sizeof algos[0]; i++) {
        const sc_hash *h = find(algos[i].name);
        assert_string_equal(h->name, algos[i].name);
        assert_int_equal(h->hash_len, algos[i].hash_len);
        assert_int_equal(h->block_len, algos[i].block_len);
    }
    assert_null(sc_hash_find("BLAKE2s", 7));
    assert_null(sc_hash_find("SHA25", 5));
    assert_null(sc_hash_find("SHA2566", 7));
    assert_null(sc_hash_find("SHA256", 5)); /* a prefix is not a match */
    assert_null(sc_hash_find("sha256", 6));
}

/* The hand-written HMAC behind hmac_blake2b is trusted because, over SHA512, it matches libsodium's. */
static void test_reference_hmac_construction(void **state)
{
    (void)state;
    static const size_t key_lens[] = {0, 32, 64, 128};
    uint8_t key[128], msg[200], want[64], got[64];

    for (size_t i = 0; i < sizeof key_lens / sizeof key_lens[0]; i++) {
        randombytes_buf(key, sizeof key);
        randombytes_buf(msg, sizeof msg);
        hmac_sha512(key, key_lens[i], msg, 150, msg + 150, 50, want);
        manual_hmac(sha512_3, key, key_lens[i], msg, 150, msg + 150, 50, got);
        assert_memory_equal(got, want, sizeof want);
    }
}

/* sc_hash_digest(a, b) is HASH(a || b), computed here in one call. */
static void test_digest_is_hash_of_concatenation(void **state)
{
    (void)state;
    uint8_t data[300], want[64], got[64];
    randombytes_buf(data, sizeof data);
    static const size_t splits[][2] = {{0, 0}, {0, 1}, {1, 0}, {32, 32}, {64, 1}, {128, 172}, {300, 0}};

    for (size_t s = 0; s < sizeof splits / sizeof splits[0]; s++) {
        size_t la = splits[s][0], lb = splits[s][1];
        crypto_hash_sha256(want, data, la + lb);
        sc_hash_digest(find("SHA256"), data, la, data + la, lb, got);
        assert_memory_equal(got, want, 32);

        crypto_hash_sha512(want, data, la + lb);
        sc_hash_digest(find("SHA512"), data, la, data + la, lb, got);
        assert_memory_equal(got, want, 64);

        crypto_generichash(want, 64, data, la + lb, NULL, 0);
        sc_hash_digest(find("BLAKE2b"), data, la, data + la, lb, got);
        assert_memory_equal(got, want, 64);
    }

    /* b may be NULL with length 0. */
    crypto_hash_sha256(want, data, 10);
    sc_hash_digest(find("SHA256"), data, 10, NULL, 0, got);
    assert_memory_equal(got, want, 32);

    /* Known answer, so a wrong algorithm behind the right name is caught too: SHA256("abc"). */
    static const uint8_t abc_sha256[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
                                           0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
                                           0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    sc_hash_digest(find("SHA256"), (const uint8_t *)"ab", 2, (const uint8_t *)"c", 1, got);
    assert_memory_equal(got, abc_sha256, 32);
}

/* HKDF with 2 and 3 outputs, for ikm lengths Noise uses: 0 (Split), 32 (DH, PSK, e). */
static void test_hkdf_matches_reference(void **state)
{
    (void)state;
    static const size_t ikm_lens[] = {0, 1, 32, 64, 200};
    uint8_t ck[64], ikm[200];

    for (size_t a = 0; a < sizeof algos / sizeof algos[0]; a++) {
        const struct algo *al = &algos[a];
        const sc_hash *h = find(al->name);
        for (size_t i = 0; i < sizeof ikm_lens / sizeof ikm_lens[0]; i++) {
            uint8_t w1[64], w2[64], w3[64], o1[64], o2[64], o3[64];
            randombytes_buf(ck, sizeof ck);
            randombytes_buf(ikm, sizeof ikm);
            reference_hkdf(al, ck, ikm, ikm_lens[i], w1, w2, w3);

            sc_hkdf(h, ck, ikm, ikm_lens[i], 3, o1, o2, o3);
            assert_memory_equal(o1, w1, al->hash_len);
            assert_memory_equal(o2, w2, al->hash_len);
            assert_memory_equal(o3, w3, al->hash_len);

            /* Two outputs are the first two of three; out3 stays untouched. */
            memset(o3, 0xa5, sizeof o3);
            sc_hkdf(h, ck, ikm, ikm_lens[i], 2, o1, o2, NULL);
            assert_memory_equal(o1, w1, al->hash_len);
            assert_memory_equal(o2, w2, al->hash_len);
            sc_hkdf(h, ck, ikm, ikm_lens[i], 2, o1, o2, o3);
            for (size_t b = 0; b < sizeof o3; b++)
                assert_int_equal(o3[b], 0xa5);
        }
    }
}

/* MixKey writes ck = HKDF(ck, ...)[0] in place: an output may alias the chaining key. */
static void test_hkdf_output_aliases_chaining_key(void **state)
{
    (void)state;
    for (size_t a = 0; a < sizeof algos / sizeof algos[0]; a++) {
        const struct algo *al = &algos[a];
        uint8_t ck[64], ikm[32], w1[64], w2[64], w3[64], o2[64], o3[64];
        randombytes_buf(ck, sizeof ck);
        randombytes_buf(ikm, sizeof ikm);
        reference_hkdf(al, ck, ikm, sizeof ikm, w1, w2, w3);

        sc_hkdf(find(al->name), ck, ikm, sizeof ikm, 3, ck, o2, o3);
        assert_memory_equal(ck, w1, al->hash_len);
        assert_memory_equal(o2, w2, al->hash_len);
        assert_memory_equal(o3, w3, al->hash_len);
    }
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_reference_hmac_construction),
        cmocka_unit_test(test_digest_is_hash_of_concatenation),
        cmocka_unit_test(test_hkdf_matches_reference),
        cmocka_unit_test(test_hkdf_output_aliases_chaining_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
