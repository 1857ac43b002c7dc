/*
 * Key files, base64 keys, fingerprints and the config directory
 * (lib/keys/keyfile.c, fingerprint.c, configdir.c, file_io.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/tempdir.h"
#include "secchat.h"

/* ------------------------------------------------------------------------ */
/* A fresh directory per test                                               */
/* ------------------------------------------------------------------------ */

typedef tempdir_fixture fixture;

static int setup_dir(void **state)
{
    return tempdir_fixture_setup(state, "keys");
}

static const char *in_dir(fixture *fx, const char *name)
{
    return tempdir_fixture_path(fx, name);
}

/* Number of entries in dir other than "." and "..". */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    }
    closedir(d);
    return n;
}

static void write_raw(const char *path, const char *text, size_t len, mode_t mode)
{
    assert_int_equal(tempdir_write_file(path, text, len, mode), 0);
}

/* The whole content of path (at most cap - 1 bytes), NUL-terminated. */
static void read_raw(const char *path, char *out, size_t cap)
{
    assert_true(tempdir_read_file(path, out, cap) >= 0);
}

static unsigned file_mode(const char *path)
{
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    return (unsigned)(st.st_mode & 07777);
}

/* ------------------------------------------------------------------------ */
/* Known values                                                             */
/* ------------------------------------------------------------------------ */

/* Bytes 0, 1, ..., 31 and their base64 (computed with Python's base64 module). */
static uint8_t seq_key[SECCHAT_KEY_LEN];
#define SEQ_B64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define SEQ_B64_31 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==" /* bytes 0..30 */
#define SEQ_B64_33 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g" /* bytes 0..32 */
/* SHA-256(bytes 0..31), first 16 bytes (Python hashlib). */
#define SEQ_FINGERPRINT "630d:cd29:66c4:3366:9112:5448:bbb2:5b4f"

static int setup_globals(void **state)
{
    (void)state;
    for (unsigned i = 0; i < SECCHAT_KEY_LEN; i++)
        seq_key[i] = (uint8_t)i;
    return 0;
}

static const enum secchat_key_type all_types[] = {SECCHAT_KEY_PSK, SECCHAT_KEY_PRIVATE, SECCHAT_KEY_PUBLIC};
static const char *const all_headers[] = {SECCHAT_KEY_HEADER_PSK, SECCHAT_KEY_HEADER_PRIVATE,
                                          SECCHAT_KEY_HEADER_PUBLIC};

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0)
            return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Format and parse                                                         */
/* ------------------------------------------------------------------------ */

static void test_format_parse_round_trip(void **state)
{
    (void)state;
    for (size_t t = 0; t < 3; t++) {
        for (int round = 0; round < 50; round++) {
            uint8_t key[SECCHAT_KEY_LEN], back[SECCHAT_KEY_LEN];
            assert_int_equal(secchat_random_bytes(key, sizeof key), SECCHAT_OK);
            char text[SECCHAT_KEY_FILE_MAX];
            size_t len = 0;
            assert_int_equal(secchat_key_format(all_types[t], key, text, sizeof text, &len), SECCHAT_OK);
            assert_int_equal(len, strlen(all_headers[t]) + 1 + SECCHAT_KEY_BASE64_LEN + 1);
            assert_true(len < SECCHAT_KEY_FILE_MAX);
            assert_int_equal(text[len], '\0');
            assert_memory_equal(text, all_headers[t], strlen(all_headers[t]));
            unsigned line = 99;
            assert_int_equal(secchat_key_parse(all_types[t], text, len, back, &line), SECCHAT_OK);
            assert_int_equal(line, 0);
            assert_memory_equal(key, back, sizeof key);

            char b64[SECCHAT_KEY_BASE64_LEN + 1];
            assert_int_equal(secchat_key_to_base64(key, b64), SECCHAT_OK);
            assert_int_equal(strlen(b64), SECCHAT_KEY_BASE64_LEN);
            assert_memory_equal(text + strlen(all_headers[t]) + 1, b64, SECCHAT_KEY_BASE64_LEN);
            memset(back, 0, sizeof back);
            assert_int_equal(secchat_key_from_base64(b64, back), SECCHAT_OK);
            assert_memory_equal(key, back, sizeof key);
        }
    }
}

static void test_format_exact_text_and_capacity(void **state)
{
    (void)state;
    static const char want[] = SECCHAT_KEY_HEADER_PSK "\n" SEQ_B64 "\n";
    const size_t need = sizeof want - 1;
    char out[128];
    size_t len = 0;

    memset(out, '#', sizeof out);
    assert_int_equal(secchat_key_format(SECCHAT_KEY_PSK, seq_key, out, sizeof out, &len), SECCHAT_OK);
    assert_int_equal(len, need);
    assert_string_equal(out, want);

    memset(out, '#', sizeof out);
    assert_int_equal(secchat_key_format(SECCHAT_KEY_PUBLIC, seq_key, out, sizeof out, &len), SECCHAT_OK);
    assert_string_equal(out, SECCHAT_KEY_HEADER_PUBLIC "\n" SEQ_B64 "\n");

    /* Exactly the text's length: no room for a NUL, none written. */
    memset(out, '#', sizeof out);
    assert_int_equal(secchat_key_format(SECCHAT_KEY_PSK, seq_key, out, need, &len), SECCHAT_OK);
    assert_int_equal(len, need);
    assert_memory_equal(out, want, need);
    assert_int_equal(out[need], '#');

    /* One byte short: BUFFER_TOO_SMALL, the needed length reported, nothing written. */
    memset(out, '#', sizeof out);
    len = 0;
    assert_int_equal(secchat_key_format(SECCHAT_KEY_PSK, seq_key, out, need - 1, &len), SECCHAT_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(len, need);
    assert_int_equal(out[0], '#');
    assert_int_equal(secchat_key_format(SECCHAT_KEY_PSK, seq_key, NULL, 0, &len), SECCHAT_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(len, need);

    char b64[SECCHAT_KEY_BASE64_LEN + 1];
    assert_int_equal(secchat_key_to_base64(seq_key, b64), SECCHAT_OK);
    assert_string_equal(b64, SEQ_B64);

    unsigned line = 7;
    uint8_t key[SECCHAT_KEY_LEN];
    assert_int_equal(secchat_key_parse(SECCHAT_KEY_PSK, want, need, key, &line), SECCHAT_OK);
    assert_memory_equal(key, seq_key, sizeof key);
    assert_int_equal(line, 0);
}

typedef struct parse_case {
    enum secchat_key_type type;
    const char *text;
    int rc;
    unsigned line;
} parse_case;

#define PSK SECCHAT_KEY_PSK
#define PRIV SECCHAT_KEY_PRIVATE
#define PUB SECCHAT_KEY_PUBLIC
#define H_PSK SECCHAT_KEY_HEADER_PSK
#define H_PRIV SECCHAT_KEY_HEADER_PRIVATE
#define H_PUB SECCHAT_KEY_HEADER_PUBLIC
#define MAL SECCHAT_ERR_KEY_MALFORMED
#define WRONG SECCHAT_ERR_KEY_WRONG_TYPE

static const parse_case parse_cases[] = {
    /* accepted line ends */
    {PSK, H_PSK "\n" SEQ_B64 "\n", SECCHAT_OK, 0},
    {PSK, H_PSK "\n" SEQ_B64, SECCHAT_OK, 0},
    {PSK, H_PSK "\r\n" SEQ_B64 "\r\n", SECCHAT_OK, 0},
    {PSK, H_PSK "\r\n" SEQ_B64, SECCHAT_OK, 0},
    {PRIV, H_PRIV "\n" SEQ_B64 "\r\n", SECCHAT_OK, 0},
    {PUB, H_PUB "\r\n" SEQ_B64 "\n", SECCHAT_OK, 0},
    /* header line */
    {PSK, "", MAL, 1},
    {PSK, "\n", MAL, 1},
    {PSK, "\n" SEQ_B64 "\n", MAL, 1},
    {PSK, "secchat-psk-v2\n" SEQ_B64 "\n", MAL, 1},
    {PSK, "SECCHAT-PSK-V1\n" SEQ_B64 "\n", MAL, 1},
    {PSK, "secchat-psk\n" SEQ_B64 "\n", MAL, 1},
    {PSK, " " H_PSK "\n" SEQ_B64 "\n", MAL, 1},
    {PSK, H_PSK " \n" SEQ_B64 "\n", MAL, 1},
    {PSK, H_PSK "\t\n" SEQ_B64 "\n", MAL, 1},
    {PSK, H_PSK "\r" SEQ_B64 "\n", MAL, 1},
    {PSK, H_PSK "\r\r\n" SEQ_B64 "\n", MAL, 1},
    {PSK, "# comment\n" H_PSK "\n" SEQ_B64 "\n", MAL, 1},
    {PSK, SEQ_B64 "\n", MAL, 1},
    /* a well-formed file of another type */
    {PSK, H_PUB "\n" SEQ_B64 "\n", WRONG, 1},
    {PSK, H_PRIV "\n" SEQ_B64 "\n", WRONG, 1},
    {PRIV, H_PUB "\n" SEQ_B64 "\n", WRONG, 1},
    {PRIV, H_PSK "\r\n" SEQ_B64, WRONG, 1},
    {PUB, H_PRIV "\n" SEQ_B64 "\n", WRONG, 1},
    {PUB, H_PSK "\n" SEQ_B64 "\n", WRONG, 1},
    /* ... but a damaged one of another type is malformed where the damage is */
    {PUB, H_PRIV "\n" SEQ_B64_31 "\n", MAL, 2},
    {PUB, H_PRIV "\n" SEQ_B64 "\nmore\n", MAL, 3},
    {PSK, H_PUB "\n", MAL, 2},
    /* missing key line */
    {PSK, H_PSK, MAL, 2},
    {PSK, H_PSK "\n", MAL, 2},
    {PSK, H_PSK "\r\n", MAL, 2},
    {PSK, H_PSK "\n\n", MAL, 2},
    {PSK, H_PSK "\n\n" SEQ_B64 "\n", MAL, 2},
    /* key line: length */
    {PSK, H_PSK "\n" SEQ_B64_31 "\n", MAL, 2},
    {PSK, H_PSK "\n" SEQ_B64_33 "\n", MAL, 2},
    {PSK, H_PSK "\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n", MAL, 2},   /* padding dropped */
    {PSK, H_PSK "\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8==\n", MAL, 2}, /* padding doubled */
    {PSK, H_PSK "\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=A\n", MAL, 2},
    {PSK, H_PSK "\n" SEQ_B64 SEQ_B64 "\n", MAL, 2},
    /* key line: characters */
    {PSK, H_PSK "\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=\n", MAL, 2}, /* non-zero bits before '=' */
    {PSK, H_PSK "\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH*8=\n", MAL, 2},
    {PSK, H_PSK "\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH-8=\n", MAL, 2}, /* URL-safe alphabet */
    {PSK, H_PSK "\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH_8=\n", MAL, 2},
    {PSK, H_PSK "\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8.\n", MAL, 2},
    {PSK, H_PSK "\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH=8=\n", MAL, 2},
    /* key line: whitespace */
    {PSK, H_PSK "\n " SEQ_B64 "\n", MAL, 2},
    {PSK, H_PSK "\n" SEQ_B64 " \n", MAL, 2},
    {PSK, H_PSK "\n" SEQ_B64 "\t\n", MAL, 2},
    {PSK, H_PSK "\nAAECAwQFBgcICQoLDA0O DxAREhMUFRYXGBkaGxwdHh8=\n", MAL, 2}, /* 44 with a space */
    {PSK, H_PSK "\nAAECAwQFBgcICQoLDA0O ODxAREhMUFRYXGBkaGxwdHh8=\n", MAL, 2},
    {PSK, H_PSK "\nAAECAwQFBgcICQoLDA0O\nODxAREhMUFRYXGBkaGxwdHh8=\n", MAL, 2},
    {PSK, H_PSK "\n" SEQ_B64 "\r", MAL, 2}, /* CR without LF */
    {PSK, H_PSK "\n" SEQ_B64 "\r\r\n", MAL, 2},
    /* trailing content */
    {PSK, H_PSK "\n" SEQ_B64 "\n\n", MAL, 3},
    {PSK, H_PSK "\n" SEQ_B64 "\n\r\n", MAL, 3},
    {PSK, H_PSK "\n" SEQ_B64 "\n ", MAL, 3},
    {PSK, H_PSK "\n" SEQ_B64 "\nextra\n", MAL, 3},
    {PSK, H_PSK "\n" SEQ_B64 "\n# comment\n", MAL, 3},
    {PSK, H_PSK "\n" SEQ_B64 "\n" SEQ_B64 "\n", MAL, 3},
};

static void test_parse_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
        const parse_case *c = &parse_cases[i];
        uint8_t key[SECCHAT_KEY_LEN];
        memset(key, 0xAA, sizeof key);
        unsigned line = 99;
        int rc = secchat_key_parse(c->type, c->text, strlen(c->text), key, &line);
        if (rc != c->rc || line != c->line)
            fail_msg("case %zu (%s): rc %d line %u, want rc %d line %u", i, c->text, rc, line, c->rc, c->line);
        if (rc == SECCHAT_OK)
            assert_memory_equal(key, seq_key, sizeof key);
        else if (!all_zero(key, sizeof key))
            fail_msg("case %zu: key not wiped after error %d", i, rc);
        /* line may be NULL */
        assert_int_equal(secchat_key_parse(c->type, c->text, strlen(c->text), key, NULL), c->rc);
    }
}

static void test_parse_nul_and_lengths(void **state)
{
    (void)state;
    static const char good[] = H_PSK "\n" SEQ_B64 "\n";
    uint8_t key[SECCHAT_KEY_LEN];
    unsigned line = 0;
    /* The length given, not a NUL, ends the text. */
    char buf[sizeof good + 8];
    memcpy(buf, good, sizeof good);
    assert_int_equal(secchat_key_parse(PSK, buf, sizeof good, key, &line), MAL); /* the NUL is a third line */
    assert_int_equal(line, 3);
    assert_int_equal(secchat_key_parse(PSK, buf, sizeof good - 2, key, &line), SECCHAT_OK); /* no final newline */
    assert_int_equal(secchat_key_parse(PSK, buf, sizeof good - 3, key, &line), MAL);        /* cut in the key */
    assert_int_equal(line, 2);
    buf[3] = '\0';
    assert_int_equal(secchat_key_parse(PSK, buf, sizeof good - 1, key, &line), MAL);
    assert_int_equal(line, 1);
    memcpy(buf, good, sizeof good);
    buf[sizeof H_PSK + 5] = '\0'; /* inside the base64 */
    assert_int_equal(secchat_key_parse(PSK, buf, sizeof good - 1, key, &line), MAL);
    assert_int_equal(line, 2);

    /* A long header line is refused without trouble. */
    char big[4096];
    memset(big, 'a', sizeof big);
    assert_int_equal(secchat_key_parse(PSK, big, sizeof big, key, &line), MAL);
    assert_int_equal(line, 1);
    assert_int_equal(secchat_key_parse(PSK, big, 0, key, &line), MAL);
    assert_int_equal(line, 1);
}

static void test_invalid_arguments(void **state)
{
    (void)state;
    char out[SECCHAT_KEY_FILE_MAX];
    size_t len;
    uint8_t key[SECCHAT_KEY_LEN];
    unsigned line;
    const char *text = H_PSK "\n" SEQ_B64 "\n";
    assert_int_equal(secchat_key_format((enum secchat_key_type)0, seq_key, out, sizeof out, &len),
                     SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_key_format((enum secchat_key_type)4, seq_key, out, sizeof out, &len),
                     SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_key_format(PSK, NULL, out, sizeof out, &len), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_key_format(PSK, seq_key, NULL, sizeof out, &len), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_key_format(PSK, seq_key, out, sizeof out, NULL), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_key_parse((enum secchat_key_type)0, text, strlen(text), key, &line),
                     SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_key_parse(PSK, NULL, 10, key, &line), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_key_parse(PSK, text, strlen(text), NULL, &line), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_key_file_write(NULL, PSK, seq_key, 0), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_key_file_write("/tmp/x", (enum secchat_key_type)9, seq_key, 0),
                     SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_key_file_write("/tmp/x", PSK, NULL, 0), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_key_file_write("", PSK, seq_key, 0), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_key_file_write("/tmp/", PSK, seq_key, 0), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_key_file_read(NULL, PSK, key), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_key_file_read("/tmp/x", (enum secchat_key_type)0, key), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_key_file_read("/tmp/x", PSK, NULL), SECCHAT_ERR_INVALID_ARGUMENT);
    char b64[SECCHAT_KEY_BASE64_LEN + 1];
    assert_int_equal(secchat_key_to_base64(NULL, b64), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_key_to_base64(seq_key, NULL), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_key_from_base64(NULL, key), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_key_from_base64(SEQ_B64, NULL), SECCHAT_ERR_INVALID_ARGUMENT);
    char fp[SECCHAT_FINGERPRINT_SIZE];
    assert_int_equal(secchat_fingerprint(NULL, fp), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_fingerprint(seq_key, NULL), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_fingerprint_matches(NULL, SEQ_FINGERPRINT), 0);
    assert_int_equal(secchat_fingerprint_matches(seq_key, NULL), 0);
    assert_int_equal(secchat_user_config_dir(NULL, 10), SECCHAT_ERR_INVALID_ARGUMENT);
}

static void test_from_base64(void **state)
{
    (void)state;
    uint8_t key[SECCHAT_KEY_LEN];
    assert_int_equal(secchat_key_from_base64(SEQ_B64, key), SECCHAT_OK);
    assert_memory_equal(key, seq_key, sizeof key);
    static const char *const bad[] = {
        "",
        SEQ_B64_31,
        SEQ_B64_33,
        SEQ_B64 " ",
        " " SEQ_B64,
        SEQ_B64 "\n",
        SEQ_B64 "=",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH-8=",
        "AAECAwQFBgcICQoLDA0O DxAREhMUFRYXGBkaGxwdHh8=",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        /* bytes above 0x7F, which libsodium 1.0.18 decodes as letters (found by fuzzing) */
        "AAECAwQFBgcICQoLDA0ODxAREhM\xaa\xb9\xad\xa6XGBkaGxwdHh8=",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(key, 0xAA, sizeof key);
        if (secchat_key_from_base64(bad[i], key) != SECCHAT_ERR_KEY_MALFORMED)
            fail_msg("accepted '%s'", bad[i]);
        assert_true(all_zero(key, sizeof key));
    }
}

/* ------------------------------------------------------------------------ */
/* Files                                                                    */
/* ------------------------------------------------------------------------ */

static void test_write_modes_and_content(void **state)
{
    fixture *fx = *state;
    mode_t old = umask(022);
    for (size_t t = 0; t < 3; t++) {
        char name[32];
        snprintf(name, sizeof name, "key%zu", t);
        const char *path = in_dir(fx, name);
        assert_int_equal(secchat_key_file_write(path, all_types[t], seq_key, 0), SECCHAT_OK);
        assert_int_equal(file_mode(path), all_types[t] == PUB ? 0644u : 0600u);
        char text[256], want[256];
        read_raw(path, text, sizeof text);
        snprintf(want, sizeof want, "%s\n%s\n", all_headers[t], SEQ_B64);
        assert_string_equal(text, want);
        uint8_t key[SECCHAT_KEY_LEN];
        assert_int_equal(secchat_key_file_read(path, all_types[t], key), SECCHAT_OK);
        assert_memory_equal(key, seq_key, sizeof key);
    }
    /* A restrictive umask removes bits; a permissive one adds none. */
    umask(077);
    assert_int_equal(secchat_key_file_write(in_dir(fx, "pub077"), PUB, seq_key, 0), SECCHAT_OK);
    assert_int_equal(file_mode(fx->path), 0600u);
    umask(0);
    assert_int_equal(secchat_key_file_write(in_dir(fx, "psk000"), PSK, seq_key, 0), SECCHAT_OK);
    assert_int_equal(file_mode(fx->path), 0600u);
    assert_int_equal(secchat_key_file_write(in_dir(fx, "pub000"), PUB, seq_key, 0), SECCHAT_OK);
    assert_int_equal(file_mode(fx->path), 0644u);
    umask(old);
    assert_int_equal(count_entries(fx->dir), 6); /* the keys, and no temporary file */
}

static void test_write_refuses_to_overwrite(void **state)
{
    fixture *fx = *state;
    uint8_t other[SECCHAT_KEY_LEN];
    memset(other, 0x5A, sizeof other);
    const char *path = in_dir(fx, "psk");
    assert_int_equal(secchat_key_file_write(path, PSK, seq_key, 0), SECCHAT_OK);
    char before[256], after[256];
    read_raw(path, before, sizeof before);

    assert_int_equal(secchat_key_file_write(path, PSK, other, 0), SECCHAT_ERR_KEY_EXISTS);
    assert_int_equal(secchat_key_file_write(path, PUB, other, 0), SECCHAT_ERR_KEY_EXISTS);
    read_raw(path, after, sizeof after);
    assert_string_equal(before, after);
    assert_int_equal(count_entries(fx->dir), 1);

    /* Any existing name counts, even one that is not a key file or a symlink to nowhere. */
    write_raw(in_dir(fx, "notes"), "hello\n", 6, 0644);
    assert_int_equal(secchat_key_file_write(fx->path, PSK, other, 0), SECCHAT_ERR_KEY_EXISTS);
    read_raw(fx->path, after, sizeof after);
    assert_string_equal(after, "hello\n");
    assert_int_equal(symlink("/nonexistent/secchat-target", in_dir(fx, "dangling")), 0);
    assert_int_equal(secchat_key_file_write(fx->path, PSK, other, 0), SECCHAT_ERR_KEY_EXISTS);
    assert_int_equal(mkdir(in_dir(fx, "subdir"), 0700), 0);
    assert_int_equal(secchat_key_file_write(fx->path, PSK, other, 0), SECCHAT_ERR_KEY_EXISTS);
    assert_int_equal(count_entries(fx->dir), 4);

    /* overwrite = 1 replaces it, with the mode of the new type. */
    path = in_dir(fx, "psk");
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(secchat_key_file_write(path, PSK, other, 1), SECCHAT_OK);
    assert_int_equal(file_mode(path), 0600u);
    uint8_t key[SECCHAT_KEY_LEN];
    assert_int_equal(secchat_key_file_read(path, PSK, key), SECCHAT_OK);
    assert_memory_equal(key, other, sizeof key);
    assert_int_equal(secchat_key_file_write(path, PUB, seq_key, 1), SECCHAT_OK);
    assert_int_equal(file_mode(path), 0644u);
    assert_int_equal(secchat_key_file_read(path, PSK, key), SECCHAT_ERR_KEY_WRONG_TYPE);
    assert_int_equal(secchat_key_file_read(path, PUB, key), SECCHAT_OK);
    assert_memory_equal(key, seq_key, sizeof key);
    /* overwrite also works when nothing is there */
    assert_int_equal(secchat_key_file_write(in_dir(fx, "fresh"), PRIV, seq_key, 1), SECCHAT_OK);
    assert_int_equal(file_mode(fx->path), 0600u);
    assert_int_equal(count_entries(fx->dir), 5);
}

static void test_write_failures_leave_nothing(void **state)
{
    fixture *fx = *state;
    errno = 0;
    assert_int_equal(secchat_key_file_write(in_dir(fx, "missing/psk"), PSK, seq_key, 0), SECCHAT_ERR_KEY_IO);
    assert_int_equal(errno, ENOENT);
    errno = 0;
    assert_int_equal(secchat_key_file_write(in_dir(fx, "missing/psk"), PSK, seq_key, 1), SECCHAT_ERR_KEY_IO);
    assert_int_equal(errno, ENOENT);

    /* Replacing a directory fails in rename (EISDIR); the temporary file must be gone. */
    assert_int_equal(mkdir(in_dir(fx, "dir"), 0700), 0);
    errno = 0;
    assert_int_equal(secchat_key_file_write(fx->path, PSK, seq_key, 1), SECCHAT_ERR_KEY_IO);
    assert_int_equal(errno, EISDIR);
    assert_int_equal(count_entries(fx->dir), 1);

    /* A directory nobody may write to (root ignores modes, so only as a normal user). */
    if (geteuid() != 0) {
        assert_int_equal(mkdir(in_dir(fx, "ro"), 0500), 0);
        errno = 0;
        assert_int_equal(secchat_key_file_write(in_dir(fx, "ro/psk"), PSK, seq_key, 0), SECCHAT_ERR_KEY_IO);
        assert_int_equal(errno, EACCES);
        assert_int_equal(count_entries(in_dir(fx, "ro")), 0);
    }
}

static void test_write_relative_path(void **state)
{
    fixture *fx = *state;
    char cwd[1024];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(fx->dir), 0);
    int rc = secchat_key_file_write("plain-name", PUB, seq_key, 0);
    uint8_t key[SECCHAT_KEY_LEN];
    int rc2 = secchat_key_file_read("plain-name", PUB, key);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(rc, SECCHAT_OK);
    assert_int_equal(rc2, SECCHAT_OK);
    assert_memory_equal(key, seq_key, sizeof key);
    assert_int_equal(count_entries(fx->dir), 1);
}

static void test_read_permissions(void **state)
{
    fixture *fx = *state;
    char text[SECCHAT_KEY_FILE_MAX];
    size_t len;
    static const unsigned refused[] = {0640, 0604, 0660, 0620, 0602, 0610, 0601, 0644, 0666, 0700 | 004};
    static const unsigned accepted[] = {0600, 0400, 0700};
    for (size_t t = 0; t < 2; t++) { /* PSK, PRIVATE */
        assert_int_equal(secchat_key_format(all_types[t], seq_key, text, sizeof text, &len), SECCHAT_OK);
        const char *path = in_dir(fx, "secret");
        uint8_t key[SECCHAT_KEY_LEN];
        for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
            write_raw(path, text, len, (mode_t)refused[i]);
            memset(key, 0xAA, sizeof key);
            if (secchat_key_file_read(path, all_types[t], key) != SECCHAT_ERR_KEY_PERMISSIONS)
                fail_msg("type %zu mode %o accepted", t, refused[i]);
            assert_true(all_zero(key, sizeof key));
        }
        for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
            write_raw(path, text, len, (mode_t)accepted[i]);
            if (secchat_key_file_read(path, all_types[t], key) != SECCHAT_OK)
                fail_msg("type %zu mode %o refused", t, accepted[i]);
            assert_memory_equal(key, seq_key, sizeof key);
        }
        /* A symlink is followed, and the mode that counts is the target's. */
        assert_int_equal(symlink("secret", in_dir(fx, "link")), 0);
        write_raw(in_dir(fx, "secret"), text, len, 0600);
        assert_int_equal(secchat_key_file_read(in_dir(fx, "link"), all_types[t], key), SECCHAT_OK);
        assert_memory_equal(key, seq_key, sizeof key);
        assert_int_equal(chmod(in_dir(fx, "secret"), 0640), 0);
        assert_int_equal(secchat_key_file_read(in_dir(fx, "link"), all_types[t], key), SECCHAT_ERR_KEY_PERMISSIONS);
        assert_int_equal(unlink(in_dir(fx, "link")), 0);
    }

    /* The mode is checked whatever the content, bar one case: a public key file given where a secret
     * belongs is reported as the wrong type, which is the mistake to fix (not its mode). */
    write_raw(in_dir(fx, "junk"), "junk\n", 5, 0644);
    uint8_t k[SECCHAT_KEY_LEN];
    assert_int_equal(secchat_key_file_read(fx->path, PSK, k), SECCHAT_ERR_KEY_PERMISSIONS);
    assert_int_equal(secchat_key_file_read(fx->path, PUB, k), SECCHAT_ERR_KEY_MALFORMED);
    write_raw(fx->path, "", 0, 0604);
    assert_int_equal(secchat_key_file_read(fx->path, PRIV, k), SECCHAT_ERR_KEY_PERMISSIONS);
    assert_int_equal(secchat_key_format(PUB, seq_key, text, sizeof text, &len), SECCHAT_OK);
    write_raw(in_dir(fx, "pub-as-secret"), text, len, 0644);
    assert_int_equal(secchat_key_file_read(fx->path, PSK, k), SECCHAT_ERR_KEY_WRONG_TYPE);
    assert_int_equal(secchat_key_file_read(fx->path, PRIV, k), SECCHAT_ERR_KEY_WRONG_TYPE);
    assert_int_equal(secchat_key_format(PRIV, seq_key, text, sizeof text, &len), SECCHAT_OK);
    write_raw(in_dir(fx, "priv-as-psk"), text, len, 0644);
    assert_int_equal(secchat_key_file_read(fx->path, PSK, k), SECCHAT_ERR_KEY_WRONG_TYPE);

    /* A public key file only has to be a regular file. */
    assert_int_equal(secchat_key_format(PUB, seq_key, text, sizeof text, &len), SECCHAT_OK);
    static const unsigned public_modes[] = {0644, 0600, 0666, 0444};
    for (size_t i = 0; i < sizeof public_modes / sizeof public_modes[0]; i++) {
        write_raw(in_dir(fx, "pub"), text, len, (mode_t)public_modes[i]);
        uint8_t key[SECCHAT_KEY_LEN];
        assert_int_equal(secchat_key_file_read(fx->path, PUB, key), SECCHAT_OK);
        assert_memory_equal(key, seq_key, sizeof key);
    }
}

/*
 * Decision: whatever is not a regular file (directory, FIFO, device) is
 * KEY_PERMISSIONS for every key type; reading a FIFO must not block.
 */
static void test_read_not_regular_files(void **state)
{
    fixture *fx = *state;
    uint8_t key[SECCHAT_KEY_LEN];
    assert_int_equal(mkdir(in_dir(fx, "dir"), 0700), 0);
    assert_int_equal(mkfifo(in_dir(fx, "fifo"), 0600), 0);
    for (size_t t = 0; t < 3; t++) {
        assert_int_equal(secchat_key_file_read(in_dir(fx, "dir"), all_types[t], key), SECCHAT_ERR_KEY_PERMISSIONS);
        assert_int_equal(secchat_key_file_read(in_dir(fx, "fifo"), all_types[t], key), SECCHAT_ERR_KEY_PERMISSIONS);
        assert_int_equal(secchat_key_file_read("/dev/null", all_types[t], key), SECCHAT_ERR_KEY_PERMISSIONS);
    }
}

static void test_read_errors(void **state)
{
    fixture *fx = *state;
    uint8_t key[SECCHAT_KEY_LEN];
    errno = 0;
    assert_int_equal(secchat_key_file_read(in_dir(fx, "missing"), PSK, key), SECCHAT_ERR_KEY_IO);
    assert_int_equal(errno, ENOENT);
    errno = 0;
    assert_int_equal(secchat_key_file_read(in_dir(fx, "missing/psk"), PUB, key), SECCHAT_ERR_KEY_IO);
    assert_int_equal(errno, ENOENT);
    write_raw(in_dir(fx, "file"), "x", 1, 0600);
    errno = 0;
    assert_int_equal(secchat_key_file_read(in_dir(fx, "file/psk"), PSK, key), SECCHAT_ERR_KEY_IO);
    assert_int_equal(errno, ENOTDIR);
    if (geteuid() != 0) {
        char text[SECCHAT_KEY_FILE_MAX];
        size_t len;
        assert_int_equal(secchat_key_format(PSK, seq_key, text, sizeof text, &len), SECCHAT_OK);
        write_raw(in_dir(fx, "unreadable"), text, len, 0200);
        errno = 0;
        assert_int_equal(secchat_key_file_read(fx->path, PSK, key), SECCHAT_ERR_KEY_IO);
        assert_int_equal(errno, EACCES);
    }

    /* Contents: too long (with and without a valid start), malformed, another type, empty. */
    char big[SECCHAT_KEY_FILE_MAX + 100];
    size_t len = 0;
    assert_int_equal(secchat_key_format(PSK, seq_key, big, sizeof big, &len), SECCHAT_OK);
    memset(big + len, '\n', sizeof big - len);
    write_raw(in_dir(fx, "long"), big, SECCHAT_KEY_FILE_MAX + 1, 0600);
    assert_int_equal(secchat_key_file_read(fx->path, PSK, key), SECCHAT_ERR_KEY_MALFORMED);
    memset(big, 'A', sizeof big);
    write_raw(fx->path, big, sizeof big, 0600);
    assert_int_equal(secchat_key_file_read(fx->path, PSK, key), SECCHAT_ERR_KEY_MALFORMED);
    /* Exactly SECCHAT_KEY_FILE_MAX bytes is read in full (and refused for its content, not its size). */
    write_raw(fx->path, big, SECCHAT_KEY_FILE_MAX, 0600);
    assert_int_equal(secchat_key_file_read(fx->path, PSK, key), SECCHAT_ERR_KEY_MALFORMED);

    write_raw(in_dir(fx, "empty"), "", 0, 0600);
    assert_int_equal(secchat_key_file_read(fx->path, PSK, key), SECCHAT_ERR_KEY_MALFORMED);
    static const char crlf[] = H_PRIV "\r\n" SEQ_B64 "\r\n";
    write_raw(in_dir(fx, "crlf"), crlf, sizeof crlf - 1, 0600);
    assert_int_equal(secchat_key_file_read(fx->path, PRIV, key), SECCHAT_OK);
    assert_memory_equal(key, seq_key, sizeof key);
    memset(key, 0xAA, sizeof key);
    assert_int_equal(secchat_key_file_read(fx->path, PUB, key), SECCHAT_ERR_KEY_WRONG_TYPE);
    assert_true(all_zero(key, sizeof key)); /* the private key did not reach the caller */
    assert_int_equal(secchat_key_file_read(fx->path, PSK, key), SECCHAT_ERR_KEY_WRONG_TYPE);
}

/* ------------------------------------------------------------------------ */
/* Fingerprints                                                             */
/* ------------------------------------------------------------------------ */

/* SHA-256 of the key's 32 bytes by /usr/bin/sha256sum, in fingerprint form; 0 if it cannot run. */
static int fingerprint_by_sha256sum(fixture *fx, const uint8_t key[SECCHAT_KEY_LEN], char out[SECCHAT_FINGERPRINT_SIZE])
{
    if (access("/usr/bin/sha256sum", X_OK) != 0)
        return 0;
    const char *path = in_dir(fx, "raw-key");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, key, SECCHAT_KEY_LEN), SECCHAT_KEY_LEN);
    close(fd);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "/usr/bin/sha256sum '%s'", path);
    /* The path is this test's own mkdtemp directory; the shell runs a fixed program on it. */
    FILE *p = popen(cmd, "r"); /* NOLINT(cert-env33-c): an independent SHA-256 is the point */
    assert_non_null(p);
    char hex[65] = {0};
    size_t got = fread(hex, 1, 64, p);
    assert_int_equal(pclose(p), 0);
    assert_int_equal(got, 64);
    unlink(path);
    char *o = out;
    for (int i = 0; i < 32; i++) {
        if (i > 0 && i % 4 == 0)
            *o++ = ':';
        *o++ = hex[i];
    }
    *o = '\0';
    return 1;
}

static void test_fingerprint_values(void **state)
{
    fixture *fx = *state;
    char fp[SECCHAT_FINGERPRINT_SIZE];
    memset(fp, '#', sizeof fp);
    assert_int_equal(secchat_fingerprint(seq_key, fp), SECCHAT_OK);
    assert_string_equal(fp, SEQ_FINGERPRINT);
    assert_int_equal(strlen(fp), SECCHAT_FINGERPRINT_SIZE - 1);

    char want[SECCHAT_FINGERPRINT_SIZE];
    if (!fingerprint_by_sha256sum(fx, seq_key, want))
        skip();
    assert_string_equal(want, SEQ_FINGERPRINT);
    for (int i = 0; i < 20; i++) {
        uint8_t key[SECCHAT_KEY_LEN];
        assert_int_equal(secchat_random_bytes(key, sizeof key), SECCHAT_OK);
        assert_int_equal(secchat_fingerprint(key, fp), SECCHAT_OK);
        assert_true(fingerprint_by_sha256sum(fx, key, want));
        assert_string_equal(fp, want);
        assert_true(secchat_fingerprint_matches(key, want));
    }
}

static void test_fingerprint_matches(void **state)
{
    (void)state;
    static const char *const good[] = {
        SEQ_FINGERPRINT,
        "630D:CD29:66C4:3366:9112:5448:BBB2:5B4F",
        "630dcd2966c4336691125448bbb25b4f",
        "630DCD2966c4336691125448BBB25B4F",
        "630dcd29:66c43366:91125448:bbb25b4f",
        ":630d:cd29:66c4:3366:9112:5448:bbb2:5b4f:",
        "630d::cd29:66c4:3366:9112:5448:bbb2:5b4f",
    };
    static const char *const bad[] = {
        "",
        ":",
        "630d:cd29:66c4:3366:9112:5448:bbb2:5b4",   /* 31 digits */
        "630d:cd29:66c4:3366:9112:5448:bbb2:5b4f0", /* 33 digits */
        "630d:cd29:66c4:3366:9112:5448:bbb2:5b4e",  /* last digit wrong */
        "730d:cd29:66c4:3366:9112:5448:bbb2:5b4f",  /* first digit wrong */
        "630d:cd29:66c4:3366:9112:5448:bbb2:5b4g",  /* not hex */
        "630d cd29 66c4 3366 9112 5448 bbb2 5b4f",  /* spaces are not separators */
        "630d-cd29-66c4-3366-9112-5448-bbb2-5b4f",
        " 630d:cd29:66c4:3366:9112:5448:bbb2:5b4f",
        "630d:cd29:66c4:3366:9112:5448:bbb2:5b4f\n",
        "630dcd2966c4336691125448bbb25b4f630dcd2966c4336691125448bbb25b4f", /* the whole SHA-256 length */
        "0x630dcd2966c4336691125448bbb25b4f",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        if (secchat_fingerprint_matches(seq_key, good[i]) != 1)
            fail_msg("'%s' did not match", good[i]);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (secchat_fingerprint_matches(seq_key, bad[i]) != 0)
            fail_msg("'%s' matched", bad[i]);
    }
    uint8_t other[SECCHAT_KEY_LEN];
    memcpy(other, seq_key, sizeof other);
    other[31] ^= 1;
    assert_int_equal(secchat_fingerprint_matches(other, SEQ_FINGERPRINT), 0);
}

/* ------------------------------------------------------------------------ */
/* Config directory                                                         */
/* ------------------------------------------------------------------------ */

typedef struct saved_env {
    char *xdg;
    char *home;
} saved_env;

static char *dup_env(const char *name)
{
    const char *v = getenv(name);
    return v == NULL ? NULL : strdup(v);
}

static void restore_env(const char *name, char *value)
{
    if (value == NULL) {
        unsetenv(name);
    } else {
        setenv(name, value, 1);
        free(value);
    }
}

static void set_env(const char *name, const char *value)
{
    if (value == NULL)
        assert_int_equal(unsetenv(name), 0);
    else
        assert_int_equal(setenv(name, value, 1), 0);
}

static int save_env(void **state)
{
    saved_env *s = calloc(1, sizeof *s);
    if (s == NULL)
        return -1;
    s->xdg = dup_env("XDG_CONFIG_HOME");
    s->home = dup_env("HOME");
    *state = s;
    return 0;
}

static int restore_env_teardown(void **state)
{
    saved_env *s = *state;
    restore_env("XDG_CONFIG_HOME", s->xdg);
    restore_env("HOME", s->home);
    free(s);
    return 0;
}

typedef struct dir_case {
    const char *xdg;
    const char *home;
    int rc;
    const char *want;
} dir_case;

static const dir_case dir_cases[] = {
    {"/x/config", "/home/u", SECCHAT_OK, "/x/config/secchat"},
    {"/x/config/", "/home/u", SECCHAT_OK, "/x/config/secchat"},
    {"/x/config//", NULL, SECCHAT_OK, "/x/config/secchat"},
    {"/", "/home/u", SECCHAT_OK, "/secchat"},
    {"relative/config", "/home/u", SECCHAT_OK, "/home/u/.config/secchat"}, /* relative: ignored */
    {"./config", "/home/u", SECCHAT_OK, "/home/u/.config/secchat"},
    {"~/config", "/home/u", SECCHAT_OK, "/home/u/.config/secchat"},
    {"", "/home/u", SECCHAT_OK, "/home/u/.config/secchat"},
    {NULL, "/home/u", SECCHAT_OK, "/home/u/.config/secchat"},
    {NULL, "/home/u/", SECCHAT_OK, "/home/u/.config/secchat"},
    {NULL, "/", SECCHAT_OK, "/.config/secchat"},
    {NULL, NULL, SECCHAT_ERR_KEY_IO, NULL},
    {NULL, "", SECCHAT_ERR_KEY_IO, NULL},
    {"", "", SECCHAT_ERR_KEY_IO, NULL},
    {"relative", NULL, SECCHAT_ERR_KEY_IO, NULL},
};

static void test_config_dir(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof dir_cases / sizeof dir_cases[0]; i++) {
        const dir_case *c = &dir_cases[i];
        set_env("XDG_CONFIG_HOME", c->xdg);
        set_env("HOME", c->home);
        char out[256];
        memset(out, '#', sizeof out);
        errno = 0;
        int rc = secchat_user_config_dir(out, sizeof out);
        if (rc != c->rc)
            fail_msg("case %zu: rc %d, want %d", i, rc, c->rc);
        if (rc == SECCHAT_OK)
            assert_string_equal(out, c->want);
        else
            assert_int_equal(errno, ENOENT);
    }
}

static void test_config_dir_capacity(void **state)
{
    (void)state;
    set_env("XDG_CONFIG_HOME", "/cfg");
    set_env("HOME", "/home/u");
    static const char want[] = "/cfg/secchat";
    char out[64];
    memset(out, '#', sizeof out);
    assert_int_equal(secchat_user_config_dir(out, sizeof want), SECCHAT_OK); /* exact fit, NUL included */
    assert_string_equal(out, want);
    memset(out, '#', sizeof out);
    assert_int_equal(secchat_user_config_dir(out, sizeof want - 1), SECCHAT_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(out[0], '\0');
    assert_int_equal(secchat_user_config_dir(out, 0), SECCHAT_ERR_BUFFER_TOO_SMALL);

    char home[600];
    memset(home, 'h', sizeof home);
    home[0] = '/';
    home[sizeof home - 1] = '\0';
    set_env("XDG_CONFIG_HOME", NULL);
    set_env("HOME", home);
    char big[700];
    assert_int_equal(secchat_user_config_dir(big, sizeof big), SECCHAT_OK);
    assert_int_equal(strlen(big), strlen(home) + strlen("/.config/secchat"));
    assert_int_equal(secchat_user_config_dir(out, sizeof out), SECCHAT_ERR_BUFFER_TOO_SMALL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_parse_round_trip),
        cmocka_unit_test(test_format_exact_text_and_capacity),
        cmocka_unit_test(test_parse_cases),
        cmocka_unit_test(test_parse_nul_and_lengths),
        cmocka_unit_test(test_invalid_arguments),
        cmocka_unit_test(test_from_base64),
        cmocka_unit_test_setup_teardown(test_write_modes_and_content, setup_dir, tempdir_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_write_refuses_to_overwrite, setup_dir, tempdir_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_write_failures_leave_nothing, setup_dir, tempdir_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_write_relative_path, setup_dir, tempdir_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_read_permissions, setup_dir, tempdir_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_read_not_regular_files, setup_dir, tempdir_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_read_errors, setup_dir, tempdir_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_fingerprint_values, setup_dir, tempdir_fixture_teardown),
        cmocka_unit_test(test_fingerprint_matches),
        cmocka_unit_test_setup_teardown(test_config_dir, save_env, restore_env_teardown),
        cmocka_unit_test_setup_teardown(test_config_dir_capacity, save_env, restore_env_teardown),
    };
    return cmocka_run_group_tests(tests, setup_globals, NULL);
}
