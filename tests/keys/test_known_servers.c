/* known_servers (lib/keys/known_servers.c): lookups in text and files, and appending. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
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
    return tempdir_fixture_setup(state, "known");
}

static const char *in_dir(fixture *fx, const char *name)
{
    return tempdir_fixture_path(fx, name);
}

static void write_raw(const char *path, const char *text, size_t len, mode_t mode)
{
    assert_int_equal(tempdir_write_file(path, text, len, mode), 0);
}

static void read_raw(const char *path, char *out, size_t cap)
{
    assert_true(tempdir_read_file(path, out, cap) >= 0);
}

/* ------------------------------------------------------------------------ */
/* Keys                                                                     */
/* ------------------------------------------------------------------------ */

/* KEY_A is bytes 0..31, KEY_B bytes 32..63, KEY_C 32 bytes of 0xff (base64 by Python). */
#define B64_A "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define B64_B "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
#define B64_C "//////////////////////////////////////////8="
static uint8_t key_a[SECCHAT_KEY_LEN], key_b[SECCHAT_KEY_LEN], key_c[SECCHAT_KEY_LEN];

static int setup_keys(void **state)
{
    (void)state;
    for (unsigned i = 0; i < SECCHAT_KEY_LEN; i++) {
        key_a[i] = (uint8_t)i;
        key_b[i] = (uint8_t)(i + 32);
        key_c[i] = 0xff;
    }
    return 0;
}

/* find on a NUL-terminated text; checks the stored key and line when they are given. */
static void expect_find(const char *text, const char *server, const uint8_t *key, int want_rc, unsigned want_line,
                        const uint8_t *want_stored)
{
    uint8_t stored[SECCHAT_KEY_LEN];
    memset(stored, 0xAA, sizeof stored);
    unsigned line = 12345;
    int rc = secchat_known_servers_find(text, strlen(text), server, key, stored, &line);
    if (rc != want_rc || line != want_line)
        fail_msg("find '%s' in <<%s>>: rc %d line %u, want rc %d line %u", server, text, rc, line, want_rc, want_line);
    if (want_stored != NULL) {
        assert_memory_equal(stored, want_stored, sizeof stored);
    } else {
        uint8_t zero[SECCHAT_KEY_LEN] = {0};
        assert_memory_equal(stored, zero, sizeof stored);
    }
    /* stored and line are optional */
    assert_int_equal(secchat_known_servers_find(text, strlen(text), server, key, NULL, NULL), want_rc);
}

/* ------------------------------------------------------------------------ */
/* Lookups in text                                                          */
/* ------------------------------------------------------------------------ */

static void test_find_ok_unknown_changed(void **state)
{
    (void)state;
    const char *text = "127.0.0.1:8080 " B64_A "\n"
                       "example.com:9000 " B64_B "\n"
                       "[::1]:8080 " B64_C "\n";
    expect_find(text, "127.0.0.1:8080", key_a, SECCHAT_OK, 1, key_a);
    expect_find(text, "example.com:9000", key_b, SECCHAT_OK, 2, key_b);
    expect_find(text, "[::1]:8080", key_c, SECCHAT_OK, 3, key_c);
    expect_find(text, "127.0.0.1:8080", key_b, SECCHAT_ERR_KNOWN_SERVER_CHANGED, 1, key_a);
    expect_find(text, "example.com:9000", key_c, SECCHAT_ERR_KNOWN_SERVER_CHANGED, 2, key_b);
    expect_find(text, "[::1]:8080", key_a, SECCHAT_ERR_KNOWN_SERVER_CHANGED, 3, key_c);
    /* names are compared whole and byte for byte */
    expect_find(text, "127.0.0.1:808", key_a, SECCHAT_ERR_KNOWN_SERVER_UNKNOWN, 0, NULL);
    expect_find(text, "127.0.0.1:80800", key_a, SECCHAT_ERR_KNOWN_SERVER_UNKNOWN, 0, NULL);
    expect_find(text, "127.0.0.1", key_a, SECCHAT_ERR_KNOWN_SERVER_UNKNOWN, 0, NULL);
    expect_find(text, "Example.com:9000", key_b, SECCHAT_ERR_KNOWN_SERVER_UNKNOWN, 0, NULL);
    expect_find(text, "[::1]:8081", key_c, SECCHAT_ERR_KNOWN_SERVER_UNKNOWN, 0, NULL);
    expect_find(text, "::1:8080", key_c, SECCHAT_ERR_KNOWN_SERVER_UNKNOWN, 0, NULL);
    expect_find(text, "[::2]:8080", key_c, SECCHAT_ERR_KNOWN_SERVER_UNKNOWN, 0, NULL);
    expect_find("", "127.0.0.1:8080", key_a, SECCHAT_ERR_KNOWN_SERVER_UNKNOWN, 0, NULL);
    /* a key alone does not identify a server */
    expect_find(text, B64_A, key_a, SECCHAT_ERR_KNOWN_SERVER_UNKNOWN, 0, NULL);
}

static void test_find_first_line_decides(void **state)
{
    (void)state;
    const char *text = "h:1 " B64_A "\n"
                       "h:1 " B64_B "\n";
    expect_find(text, "h:1", key_a, SECCHAT_OK, 1, key_a);
    expect_find(text, "h:1", key_b, SECCHAT_ERR_KNOWN_SERVER_CHANGED, 1, key_a);
}

static void test_find_comments_blank_crlf_whitespace(void **state)
{
    (void)state;
    const char *text = "# known servers\r\n"
                       "\r\n"
                       "\n"
                       "   \t \n"
                       "#h:1 " B64_B "\n" /* commented out */
                       "   # indented comment\n"
                       "h:1\t" B64_A "\r\n"        /* tab */
                       "h:2   \t  " B64_B "\r\n"   /* a run of blanks */
                       "  h:3 " B64_C "  \t\r\n"   /* leading and trailing blanks */
                       "[2001:db8::1]:443 " B64_A; /* no final newline */
    expect_find(text, "h:1", key_a, SECCHAT_OK, 7, key_a);
    expect_find(text, "h:2", key_b, SECCHAT_OK, 8, key_b);
    expect_find(text, "h:3", key_c, SECCHAT_OK, 9, key_c);
    expect_find(text, "[2001:db8::1]:443", key_a, SECCHAT_OK, 10, key_a);
    expect_find(text, "[2001:db8::1]:443", key_b, SECCHAT_ERR_KNOWN_SERVER_CHANGED, 10, key_a);
    expect_find("# only\n\n#comments\r\n", "h:1", key_a, SECCHAT_ERR_KNOWN_SERVER_UNKNOWN, 0, NULL);
}

typedef struct bad_text {
    const char *text;
    unsigned line;
} bad_text;

static const bad_text bad_texts[] = {
    {"h:1\n", 1},
    {"h:1 \n", 1},
    {B64_A "\n", 1},
    {"h:1 " B64_A " comment\n", 1},
    {"h:1 " B64_A " " B64_B "\n", 1},
    {"h:1 " B64_A "x\n", 1},
    {"h:1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==\n", 1}, /* 31 bytes */
    {"h:1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g\n", 1}, /* 33 bytes */
    {"h:1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=\n", 1}, /* non-canonical */
    {"h:1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH-8=\n", 1}, /* URL-safe */
    {"h:1 " B64_A "\r\r\n", 1},                                /* a CR left over */
    {"h:1 " B64_A "\r", 1},                                    /* CR at the end without LF */
    {"h\v:1 " B64_A "\n", 1},                                  /* control character in the name */
    {"h:1\v" B64_A "\n", 1},                                   /* not a separator */
    {"h\x7f:1 " B64_A "\n", 1},
    {"# fine\n\nh:1 " B64_A "\nh:2\n", 4},
    {"h:1 " B64_A "\r\nh:2 " B64_B "\r\n\r\nbroken line here\r\n", 4},
};

static void test_find_malformed_lines(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_texts / sizeof bad_texts[0]; i++) {
        const bad_text *b = &bad_texts[i];
        uint8_t stored[SECCHAT_KEY_LEN];
        unsigned line = 0;
        int rc = secchat_known_servers_find(b->text, strlen(b->text), "h:1", key_a, stored, &line);
        if (rc != SECCHAT_ERR_KEY_MALFORMED || line != b->line)
            fail_msg("case %zu <<%s>>: rc %d line %u, want MALFORMED at %u", i, b->text, rc, line, b->line);
    }
    /* A bad line after the one that decides is still reported: the whole file must be sound. */
    const char *text = "h:1 " B64_A "\nh:2 nonsense\n";
    expect_find(text, "h:1", key_a, SECCHAT_ERR_KEY_MALFORMED, 2, NULL);
    /* A NUL inside a line (the length, not a NUL, ends the text). */
    static const char with_nul[] = "h:1 " B64_A "\nh:\0002 " B64_B "\n";
    unsigned line = 0;
    assert_int_equal(secchat_known_servers_find(with_nul, sizeof with_nul - 1, "h:1", key_a, NULL, &line),
                     SECCHAT_ERR_KEY_MALFORMED);
    assert_int_equal(line, 2);
    assert_int_equal(secchat_known_servers_find(with_nul, 4 + 44 + 1, "h:1", key_a, NULL, &line), SECCHAT_OK);
    assert_int_equal(line, 1);
}

static void test_find_invalid_arguments(void **state)
{
    (void)state;
    const char *text = "h:1 " B64_A "\n";
    size_t len = strlen(text);
    static const char *const bad_servers[] = {"", "h 1", "h:1 ", " h:1", "h\t1", "h:1\n", "h\r:1", "#h:1", "h\x7f"};
    for (size_t i = 0; i < sizeof bad_servers / sizeof bad_servers[0]; i++) {
        unsigned line = 9;
        if (secchat_known_servers_find(text, len, bad_servers[i], key_a, NULL, &line) != SECCHAT_ERR_INVALID_ARGUMENT)
            fail_msg("server '%s' accepted", bad_servers[i]);
        assert_int_equal(line, 0);
    }
    assert_int_equal(secchat_known_servers_find(NULL, 0, "h:1", key_a, NULL, NULL), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_known_servers_find(text, len, NULL, key_a, NULL, NULL), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_known_servers_find(text, len, "h:1", NULL, NULL, NULL), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_known_servers_find_file(NULL, "h:1", key_a, NULL, NULL), SECCHAT_ERR_INVALID_ARGUMENT);
    /* checked before the file: a missing file does not hide a bad call */
    assert_int_equal(secchat_known_servers_find_file("/nonexistent/known", "h 1", key_a, NULL, NULL),
                     SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_known_servers_find_file("/nonexistent/known", "h:1", NULL, NULL, NULL),
                     SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_known_servers_add(NULL, "h:1", key_a), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_known_servers_add("/nonexistent/known", NULL, key_a), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_known_servers_add("/nonexistent/known", "h:1", NULL), SECCHAT_ERR_INVALID_ARGUMENT);
}

/* ------------------------------------------------------------------------ */
/* Files                                                                    */
/* ------------------------------------------------------------------------ */

static void test_find_file(void **state)
{
    fixture *fx = *state;
    uint8_t stored[SECCHAT_KEY_LEN];
    unsigned line = 7;
    /* a missing file (or directory) knows no server */
    assert_int_equal(secchat_known_servers_find_file(in_dir(fx, "known_servers"), "h:1", key_a, stored, &line),
                     SECCHAT_ERR_KNOWN_SERVER_UNKNOWN);
    assert_int_equal(line, 0);
    assert_int_equal(secchat_known_servers_find_file(in_dir(fx, "no/such/dir"), "h:1", key_a, stored, &line),
                     SECCHAT_ERR_KNOWN_SERVER_UNKNOWN);

    const char *text = "# mine\nh:1 " B64_A "\r\n[::1]:8080 " B64_B "\n";
    write_raw(in_dir(fx, "known_servers"), text, strlen(text), 0600);
    assert_int_equal(secchat_known_servers_find_file(fx->path, "h:1", key_a, stored, &line), SECCHAT_OK);
    assert_int_equal(line, 2);
    assert_int_equal(secchat_known_servers_find_file(fx->path, "[::1]:8080", key_a, stored, &line),
                     SECCHAT_ERR_KNOWN_SERVER_CHANGED);
    assert_int_equal(line, 3);
    assert_memory_equal(stored, key_b, sizeof stored);
    assert_int_equal(secchat_known_servers_find_file(fx->path, "h:2", key_a, stored, &line),
                     SECCHAT_ERR_KNOWN_SERVER_UNKNOWN);
    /* world-readable is fine: the file holds public keys only */
    assert_int_equal(chmod(fx->path, 0644), 0);
    assert_int_equal(secchat_known_servers_find_file(fx->path, "h:1", key_a, NULL, NULL), SECCHAT_OK);

    write_raw(in_dir(fx, "bad"), "h:1 " B64_A "\nh:2\n", strlen("h:1 " B64_A "\nh:2\n"), 0600);
    assert_int_equal(secchat_known_servers_find_file(fx->path, "h:1", key_a, NULL, &line), SECCHAT_ERR_KEY_MALFORMED);
    assert_int_equal(line, 2);

    /* other errors are KEY_IO with errno */
    assert_int_equal(mkdir(in_dir(fx, "dir"), 0700), 0);
    errno = 0;
    assert_int_equal(secchat_known_servers_find_file(fx->path, "h:1", key_a, NULL, &line), SECCHAT_ERR_KEY_IO);
    assert_int_equal(errno, EISDIR);
    errno = 0;
    assert_int_equal(secchat_known_servers_find_file(in_dir(fx, "known_servers/x"), "h:1", key_a, NULL, NULL),
                     SECCHAT_ERR_KEY_IO);
    assert_int_equal(errno, ENOTDIR);
}

static void test_find_file_size_limit(void **state)
{
    fixture *fx = *state;
    /* Exactly SECCHAT_KEY_LIST_MAX bytes: comment lines and then the entry, read in full. */
    size_t max = SECCHAT_KEY_LIST_MAX;
    char *big = malloc(max + 1);
    assert_non_null(big);
    const char *entry = "h:1 " B64_A "\n";
    size_t entry_len = strlen(entry);
    memset(big, '#', max - entry_len);
    for (size_t i = 99; i < max - entry_len; i += 100)
        big[i] = '\n';
    big[max - entry_len - 1] = '\n';
    memcpy(big + max - entry_len, entry, entry_len);
    write_raw(in_dir(fx, "big"), big, max, 0600);
    unsigned line = 0;
    assert_int_equal(secchat_known_servers_find_file(fx->path, "h:1", key_a, NULL, &line), SECCHAT_OK);
    unsigned want = 1;
    for (size_t i = 0; i < max - entry_len; i++)
        want += big[i] == '\n';
    assert_int_equal(line, want);
    /* One byte more is refused. */
    big[max] = '\n';
    write_raw(fx->path, big, max + 1, 0600);
    assert_int_equal(secchat_known_servers_find_file(fx->path, "h:1", key_a, NULL, &line), SECCHAT_ERR_KEY_MALFORMED);
    free(big);
}

static void test_add_then_find(void **state)
{
    fixture *fx = *state;
    mode_t old = umask(022);
    const char *path = in_dir(fx, "known_servers");
    assert_int_equal(secchat_known_servers_add(path, "127.0.0.1:8080", key_a), SECCHAT_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(secchat_known_servers_add(path, "[::1]:9000", key_b), SECCHAT_OK);
    assert_int_equal(secchat_known_servers_add(path, "[fe80::1%25eth0]:1", key_c), SECCHAT_OK);
    umask(old);

    char text[512];
    read_raw(path, text, sizeof text);
    assert_string_equal(text, "127.0.0.1:8080 " B64_A "\n[::1]:9000 " B64_B "\n[fe80::1%25eth0]:1 " B64_C "\n");
    uint8_t stored[SECCHAT_KEY_LEN];
    unsigned line = 0;
    assert_int_equal(secchat_known_servers_find_file(path, "127.0.0.1:8080", key_a, stored, &line), SECCHAT_OK);
    assert_int_equal(line, 1);
    assert_int_equal(secchat_known_servers_find_file(path, "[::1]:9000", key_b, stored, &line), SECCHAT_OK);
    assert_int_equal(line, 2);
    assert_int_equal(secchat_known_servers_find_file(path, "[::1]:9000", key_a, stored, &line),
                     SECCHAT_ERR_KNOWN_SERVER_CHANGED);
    assert_memory_equal(stored, key_b, sizeof stored);
    assert_int_equal(secchat_known_servers_find_file(path, "[fe80::1%25eth0]:1", key_c, stored, &line), SECCHAT_OK);
    assert_int_equal(line, 3);

    /* An existing file keeps its mode. */
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(secchat_known_servers_add(path, "h:4", key_a), SECCHAT_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    assert_int_equal(secchat_known_servers_find_file(path, "h:4", key_a, NULL, &line), SECCHAT_OK);
    assert_int_equal(line, 4);
}

static void test_add_without_final_newline(void **state)
{
    fixture *fx = *state;
    const char *path = in_dir(fx, "known_servers");
    const char *start = "# edited by hand\nh:1 " B64_A;
    write_raw(path, start, strlen(start), 0600);
    assert_int_equal(secchat_known_servers_add(path, "h:2", key_b), SECCHAT_OK);
    char text[512];
    read_raw(path, text, sizeof text);
    assert_string_equal(text, "# edited by hand\nh:1 " B64_A "\nh:2 " B64_B "\n");
    unsigned line = 0;
    assert_int_equal(secchat_known_servers_find_file(path, "h:1", key_a, NULL, &line), SECCHAT_OK);
    assert_int_equal(line, 2);
    assert_int_equal(secchat_known_servers_find_file(path, "h:2", key_b, NULL, &line), SECCHAT_OK);
    assert_int_equal(line, 3);

    /* A CRLF file: its last "\r\n" is a newline; nothing is added before the new line. */
    const char *crlf = "h:1 " B64_A "\r\n";
    write_raw(path, crlf, strlen(crlf), 0600);
    assert_int_equal(secchat_known_servers_add(path, "h:2", key_b), SECCHAT_OK);
    read_raw(path, text, sizeof text);
    assert_string_equal(text, "h:1 " B64_A "\r\nh:2 " B64_B "\n");

    /* An empty file gets no newline first. */
    write_raw(path, "", 0, 0600);
    assert_int_equal(secchat_known_servers_add(path, "h:3", key_c), SECCHAT_OK);
    read_raw(path, text, sizeof text);
    assert_string_equal(text, "h:3 " B64_C "\n");
}

static void test_add_refusals(void **state)
{
    fixture *fx = *state;
    const char *path = in_dir(fx, "known_servers");
    static const char *const bad_servers[] = {"",      "h 1",   "h\t1",     "h:1\n", "h:1\r",
                                              "\x01h", "h\x7f", "#comment", " h:1"};
    for (size_t i = 0; i < sizeof bad_servers / sizeof bad_servers[0]; i++) {
        if (secchat_known_servers_add(path, bad_servers[i], key_a) != SECCHAT_ERR_INVALID_ARGUMENT)
            fail_msg("server '%s' accepted", bad_servers[i]);
    }
    struct stat st;
    assert_int_equal(stat(path, &st), -1); /* nothing was created */

    errno = 0;
    assert_int_equal(secchat_known_servers_add(in_dir(fx, "missing/known_servers"), "h:1", key_a), SECCHAT_ERR_KEY_IO);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(mkdir(in_dir(fx, "dir"), 0700), 0);
    errno = 0;
    assert_int_equal(secchat_known_servers_add(fx->path, "h:1", key_a), SECCHAT_ERR_KEY_IO);
    assert_int_equal(errno, EISDIR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_ok_unknown_changed),
        cmocka_unit_test(test_find_first_line_decides),
        cmocka_unit_test(test_find_comments_blank_crlf_whitespace),
        cmocka_unit_test(test_find_malformed_lines),
        cmocka_unit_test(test_find_invalid_arguments),
        cmocka_unit_test_setup_teardown(test_find_file, setup_dir, tempdir_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_find_file_size_limit, setup_dir, tempdir_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_add_then_find, setup_dir, tempdir_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_add_without_final_newline, setup_dir, tempdir_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_add_refusals, setup_dir, tempdir_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, setup_keys, NULL);
}
