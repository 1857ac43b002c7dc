/* The allow-list of client keys (lib/keys/authorized_keys.c): parsing, loading and checks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/tempdir.h"
#include "secchat.h"

/* ------------------------------------------------------------------------ */
/* A fresh directory per test                                               */
/* ------------------------------------------------------------------------ */

typedef tempdir_fixture fixture;

static int setup_dir(void **state)
{
    return tempdir_fixture_setup(state, "authz");
}

static const char *in_dir(fixture *fx, const char *name)
{
    return tempdir_fixture_path(fx, name);
}

static void write_raw(const char *path, const char *text, size_t len)
{
    assert_int_equal(tempdir_write_file(path, text, len, 0644), 0);
}

/* ------------------------------------------------------------------------ */
/* Keys                                                                     */
/* ------------------------------------------------------------------------ */

/* KEY_A is bytes 0..31, KEY_B bytes 32..63, KEY_C 32 bytes of 0xff (base64 by Python). */
#define B64_A "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define B64_B "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
#define B64_C "//////////////////////////////////////////8="
static uint8_t key_a[SECCHAT_KEY_LEN], key_b[SECCHAT_KEY_LEN], key_c[SECCHAT_KEY_LEN], key_d[SECCHAT_KEY_LEN];

static int setup_keys(void **state)
{
    (void)state;
    for (unsigned i = 0; i < SECCHAT_KEY_LEN; i++) {
        key_a[i] = (uint8_t)i;
        key_b[i] = (uint8_t)(i + 32);
        key_c[i] = 0xff;
        key_d[i] = 0x42; /* never listed */
    }
    return 0;
}

static secchat_authorized_keys *parse_ok(const char *text)
{
    secchat_authorized_keys *keys = NULL;
    unsigned line = 77;
    int rc = secchat_authorized_keys_parse(&keys, text, strlen(text), &line);
    if (rc != SECCHAT_OK)
        fail_msg("<<%s>> refused: rc %d line %u", text, rc, line);
    assert_int_equal(line, 0);
    assert_non_null(keys);
    return keys;
}

static void expect_name(const secchat_authorized_keys *keys, const uint8_t *key, const char *want)
{
    const char *name = "sentinel";
    assert_int_equal(secchat_authorized_keys_check(keys, key, &name), SECCHAT_OK);
    if (want == NULL)
        assert_null(name);
    else
        assert_string_equal(name, want);
    assert_int_equal(secchat_authorized_keys_check(keys, key, NULL), SECCHAT_OK);
}

static void expect_refused(const secchat_authorized_keys *keys, const uint8_t *key)
{
    const char *name = "sentinel";
    assert_int_equal(secchat_authorized_keys_check(keys, key, &name), SECCHAT_ERR_KEY_NOT_AUTHORIZED);
    assert_null(name);
}

/* ------------------------------------------------------------------------ */
/* Parsing and checks                                                       */
/* ------------------------------------------------------------------------ */

static void test_parse_with_and_without_names(void **state)
{
    (void)state;
    /* clang-format off */
    static const char text[] =
        "# clients\n"
        B64_A " alice\n"
        "\n"
        B64_B "\n"
        "   \t\n"
        "  # bob left\n"
        B64_C "\t\tZo\xc3\xab  \n";
    /* clang-format on */
    secchat_authorized_keys *keys = parse_ok(text);
    assert_int_equal(secchat_authorized_keys_count(keys), 3);
    expect_name(keys, key_a, "alice");
    expect_name(keys, key_b, NULL);
    expect_name(keys, key_c, "Zo\xc3\xab");
    expect_refused(keys, key_d);
    uint8_t near[SECCHAT_KEY_LEN];
    memcpy(near, key_a, sizeof near);
    near[31] ^= 0x80;
    expect_refused(keys, near);
    secchat_authorized_keys_free(keys);

    /* CRLF, no final newline, names of 1 and 32 bytes, punctuation. */
    keys = parse_ok(B64_A " a\r\n" B64_B " abcdefghijklmnopqrstuvwxyz012345\r\n" B64_C " <ops>@x.y_z-!");
    assert_int_equal(secchat_authorized_keys_count(keys), 3);
    expect_name(keys, key_a, "a");
    expect_name(keys, key_b, "abcdefghijklmnopqrstuvwxyz012345");
    expect_name(keys, key_c, "<ops>@x.y_z-!");
    secchat_authorized_keys_free(keys);
}

static void test_empty_lists(void **state)
{
    (void)state;
    /* The last entry is one commented-out line, concatenated on purpose. */
    static const char *const empties[] = {"", "\n", "# nobody yet\n", "\r\n  \n\t\n#x\n",
                                          "#" B64_A " alice"}; /* NOLINT(bugprone-suspicious-missing-comma) */
    for (size_t i = 0; i < sizeof empties / sizeof empties[0]; i++) {
        secchat_authorized_keys *keys = parse_ok(empties[i]);
        assert_int_equal(secchat_authorized_keys_count(keys), 0);
        expect_refused(keys, key_a);
        expect_refused(keys, key_d);
        secchat_authorized_keys_free(keys);
    }
    assert_int_equal(secchat_authorized_keys_count(NULL), 0);
    secchat_authorized_keys_free(NULL);
}

typedef struct bad_list {
    const char *text;
    unsigned line;
} bad_list;

static const bad_list bad_lists[] = {
    /* keys */
    {"alice\n", 1},
    {B64_A "x\n", 1},
    {"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==\n", 1}, /* 31 bytes */
    {"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g\n", 1}, /* 33 bytes */
    {"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=\n", 1}, /* non-canonical */
    {"alice " B64_A "\n", 1},                              /* fields swapped */
    {B64_A "\r\r\n", 1},
    {B64_A "\r", 1},
    /* names */
    {B64_A " abcdefghijklmnopqrstuvwxyz0123456\n", 1}, /* 33 bytes */
    {B64_A " alice bob\n", 1},                         /* three fields */
    {B64_A " al\x01ice\n", 1},
    {B64_A " al\x7fice\n", 1},
    {B64_A " al\vice\n", 1},
    {B64_A " al\fice\n", 1},
    {B64_A " al\xffxce\n", 1},         /* not UTF-8 */
    {B64_A " al\xc3\n", 1},            /* cut UTF-8 */
    {B64_A " al\xc0\xa0ice\n", 1},     /* overlong */
    {B64_A " al\xed\xa0\x80ice\n", 1}, /* surrogate */
    {B64_A " al\xc2\x85ice\n", 1},     /* U+0085 NEXT LINE */
    {B64_A " al\xc2\x9fice\n", 1},     /* U+009F, C1 control */
    /* duplicates: reported at the second occurrence */
    {B64_A "\n" B64_A "\n", 2},
    {B64_A " alice\n# x\n\n" B64_B "\n" B64_A " bob\n", 5},
    {B64_A "\n" B64_B "\n" B64_B "\n" B64_A "\n", 3},
    {B64_B "\n" B64_A "\n" B64_C "\n" B64_A "\n" B64_B "\n", 4},
    {B64_C "\n" B64_C "\n" B64_C "\n", 2},
    /* a bad line after good ones */
    {"# ok\n" B64_A " alice\n" B64_B " bob\nnot a key\n", 4},
};

static void test_malformed_lists(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_lists / sizeof bad_lists[0]; i++) {
        const bad_list *b = &bad_lists[i];
        secchat_authorized_keys *keys = (secchat_authorized_keys *)&keys; /* not NULL: must be reset */
        unsigned line = 0;
        int rc = secchat_authorized_keys_parse(&keys, b->text, strlen(b->text), &line);
        if (rc != SECCHAT_ERR_KEY_MALFORMED || line != b->line)
            fail_msg("case %zu <<%s>>: rc %d line %u, want MALFORMED at %u", i, b->text, rc, line, b->line);
        assert_null(keys);
        assert_int_equal(secchat_authorized_keys_parse(&keys, b->text, strlen(b->text), NULL),
                         SECCHAT_ERR_KEY_MALFORMED);
    }
}

/* Many entries: duplicates are still found (by sorting), at the right line. */
static void test_many_entries(void **state)
{
    (void)state;
    const size_t n = 5000;
    char *text = malloc(n * 64 + 64);
    assert_non_null(text);
    uint8_t *keys_bin = malloc(n * SECCHAT_KEY_LEN);
    assert_non_null(keys_bin);
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(secchat_random_bytes(keys_bin + i * SECCHAT_KEY_LEN, SECCHAT_KEY_LEN), SECCHAT_OK);
        char b64[SECCHAT_KEY_BASE64_LEN + 1];
        assert_int_equal(secchat_key_to_base64(keys_bin + i * SECCHAT_KEY_LEN, b64), SECCHAT_OK);
        len += (size_t)sprintf(text + len, i % 2 ? "%s user%zu\n" : "%s\n", b64, i);
    }
    secchat_authorized_keys *keys = parse_ok(text);
    assert_int_equal(secchat_authorized_keys_count(keys), n);
    char want[32];
    for (size_t i = 0; i < n; i += 97) {
        snprintf(want, sizeof want, "user%zu", i);
        expect_name(keys, keys_bin + i * SECCHAT_KEY_LEN, i % 2 ? want : NULL);
    }
    expect_name(keys, keys_bin + (n - 1) * SECCHAT_KEY_LEN, "user4999");
    expect_refused(keys, key_d);
    secchat_authorized_keys_free(keys);

    /* Repeat entry 1234 on a new last line. */
    char b64[SECCHAT_KEY_BASE64_LEN + 1];
    assert_int_equal(secchat_key_to_base64(keys_bin + 1234 * SECCHAT_KEY_LEN, b64), SECCHAT_OK);
    len += (size_t)sprintf(text + len, "%s\n", b64);
    unsigned line = 0;
    assert_int_equal(secchat_authorized_keys_parse(&keys, text, len, &line), SECCHAT_ERR_KEY_MALFORMED);
    assert_int_equal(line, n + 1);
    free(keys_bin);
    free(text);
}

static void test_invalid_arguments(void **state)
{
    (void)state;
    secchat_authorized_keys *keys = NULL;
    unsigned line = 5;
    assert_int_equal(secchat_authorized_keys_parse(NULL, "", 0, &line), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(line, 0);
    assert_int_equal(secchat_authorized_keys_parse(&keys, NULL, 0, &line), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_null(keys);
    assert_int_equal(secchat_authorized_keys_load(NULL, "/nonexistent", &line), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_authorized_keys_load(&keys, NULL, &line), SECCHAT_ERR_INVALID_ARGUMENT);
    keys = parse_ok(B64_A "\n");
    const char *name = "x";
    assert_int_equal(secchat_authorized_keys_check(NULL, key_a, &name), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_null(name);
    assert_int_equal(secchat_authorized_keys_check(keys, NULL, &name), SECCHAT_ERR_INVALID_ARGUMENT);
    secchat_authorized_keys_free(keys);
}

/* ------------------------------------------------------------------------ */
/* Files                                                                    */
/* ------------------------------------------------------------------------ */

static void test_load(void **state)
{
    fixture *fx = *state;
    const char *text = "# allowed\r\n" B64_A " alice\r\n" B64_B "\r\n";
    write_raw(in_dir(fx, "authorized_keys"), text, strlen(text));
    secchat_authorized_keys *keys = NULL;
    unsigned line = 9;
    assert_int_equal(secchat_authorized_keys_load(&keys, fx->path, &line), SECCHAT_OK);
    assert_int_equal(line, 0);
    assert_int_equal(secchat_authorized_keys_count(keys), 2);
    expect_name(keys, key_a, "alice");
    expect_name(keys, key_b, NULL);
    expect_refused(keys, key_c);
    secchat_authorized_keys_free(keys);

    write_raw(in_dir(fx, "empty"), "", 0);
    assert_int_equal(secchat_authorized_keys_load(&keys, fx->path, &line), SECCHAT_OK);
    assert_int_equal(secchat_authorized_keys_count(keys), 0);
    expect_refused(keys, key_a);
    secchat_authorized_keys_free(keys);

    const char *bad = B64_A "\n" B64_B " bad name\n";
    write_raw(in_dir(fx, "bad"), bad, strlen(bad));
    keys = (secchat_authorized_keys *)&keys;
    assert_int_equal(secchat_authorized_keys_load(&keys, fx->path, &line), SECCHAT_ERR_KEY_MALFORMED);
    assert_int_equal(line, 2);
    assert_null(keys);

    /* A missing allow-list is an error, never an empty list. */
    errno = 0;
    line = 9;
    assert_int_equal(secchat_authorized_keys_load(&keys, in_dir(fx, "missing"), &line), SECCHAT_ERR_KEY_IO);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(line, 0);
    assert_null(keys);
    assert_int_equal(mkdir(in_dir(fx, "dir"), 0700), 0);
    errno = 0;
    assert_int_equal(secchat_authorized_keys_load(&keys, fx->path, NULL), SECCHAT_ERR_KEY_IO);
    assert_int_equal(errno, EISDIR);
}

static void test_load_size_limit(void **state)
{
    fixture *fx = *state;
    size_t max = SECCHAT_KEY_LIST_MAX;
    char *big = malloc(max + 1);
    assert_non_null(big);
    /* A comment line that fills the file, then one entry at the very end. */
    const char *entry = B64_A " last\n";
    size_t entry_len = strlen(entry);
    memset(big, '#', max);
    big[max - entry_len - 1] = '\n';
    memcpy(big + max - entry_len, entry, entry_len);
    write_raw(in_dir(fx, "big"), big, max);
    secchat_authorized_keys *keys = NULL;
    assert_int_equal(secchat_authorized_keys_load(&keys, fx->path, NULL), SECCHAT_OK);
    assert_int_equal(secchat_authorized_keys_count(keys), 1);
    expect_name(keys, key_a, "last");
    secchat_authorized_keys_free(keys);
    big[max] = '\n';
    write_raw(fx->path, big, max + 1);
    assert_int_equal(secchat_authorized_keys_load(&keys, fx->path, NULL), SECCHAT_ERR_KEY_MALFORMED);
    assert_null(keys);
    free(big);
}

/* ------------------------------------------------------------------------ */
/* Threads                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct checker {
    const secchat_authorized_keys *keys;
    int failures;
} checker;

static void *check_many(void *arg)
{
    checker *c = arg;
    for (int i = 0; i < 20000; i++) {
        const char *name = NULL;
        if (secchat_authorized_keys_check(c->keys, key_a, &name) != SECCHAT_OK || name == NULL ||
            strcmp(name, "alice") != 0)
            c->failures++;
        if (secchat_authorized_keys_check(c->keys, key_d, &name) != SECCHAT_ERR_KEY_NOT_AUTHORIZED)
            c->failures++;
    }
    return NULL;
}

static void test_checks_from_threads(void **state)
{
    (void)state;
    secchat_authorized_keys *keys = parse_ok(B64_B "\n" B64_A " alice\n" B64_C " carol\n");
    pthread_t t[4];
    checker c[4];
    for (int i = 0; i < 4; i++) {
        c[i].keys = keys;
        c[i].failures = 0;
        assert_int_equal(pthread_create(&t[i], NULL, check_many, &c[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(c[i].failures, 0);
    }
    secchat_authorized_keys_free(keys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_with_and_without_names),
        cmocka_unit_test(test_empty_lists),
        cmocka_unit_test(test_malformed_lists),
        cmocka_unit_test(test_many_entries),
        cmocka_unit_test(test_invalid_arguments),
        cmocka_unit_test_setup_teardown(test_load, setup_dir, tempdir_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_load_size_limit, setup_dir, tempdir_fixture_teardown),
        cmocka_unit_test(test_checks_from_threads),
    };
    return cmocka_run_group_tests(tests, setup_keys, NULL);
}
