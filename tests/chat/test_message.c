/*
 * Application messages (lib/chat/message.c, json_fast.c, utf8.c) against
 * include/secchat/message.h.
 *
 *  - Encoding is compared byte for byte with serde_json's output, both for
 *    fixed messages and for random ones against an escaper written here.
 *  - Decoding is compared with a reference written here purely over jansson
 *    (ref_decode: the mapping rules of message.c, with its own UTF-8 check),
 *    on thousands of generated and mutated inputs: the final result must be
 *    identical, and so must every result the fast path gives when it does not
 *    fall back, which proves the fast path agrees with jansson.
 *  - secchat_utf8_valid is compared with a slow decoder written here.
 *
 * Inputs and scratch buffers are heap blocks of the exact size, so that the
 * sanitizer build catches any read or write past them.
 *
 * \u0000 is rejected anywhere (MESSAGE_NUL), as jansson does without
 * JSON_ALLOW_NUL: in the known fields, in unknown members' values and in keys.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "chat/json_fast.h"
#include "secchat.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

/* xorshift64*: fixed seeds, reproducible on every platform. */
typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rnd(rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * UINT64_C(2685821657736338717);
}

/* Uniform enough in [0, n) for test data. */
static size_t rnd_below(rng *r, size_t n)
{
    return (size_t)(rnd(r) % n);
}

/* 1 with probability 1/n. */
static int one_in(rng *r, size_t n)
{
    return rnd_below(r, n) == 0;
}

/* A growable byte string. */
typedef struct bytes {
    uint8_t *p;
    size_t len, cap;
} bytes;

static void put(bytes *b, const void *data, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (b->len + n + 1 > cap)
            cap *= 2;
        b->p = realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
    if (data != NULL && n > 0) /* NULL data: only make room, the caller fills it */
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = 0; /* always NUL-terminated, for use as a C string */
}

static void put_str(bytes *b, const char *s)
{
    put(b, s, strlen(s));
}

static void put_byte(bytes *b, uint8_t c)
{
    put(b, &c, 1);
}

static void put_utf8(bytes *b, uint32_t cp)
{
    uint8_t u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (uint8_t)(0xC0 | cp >> 6);
        u[1] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (uint8_t)(0xE0 | cp >> 12);
        u[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
        u[2] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (uint8_t)(0xF0 | cp >> 18);
        u[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
        u[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
        u[3] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 4;
    }
    put(b, u, n);
}

/* A heap copy of exactly n bytes (at least 1 byte allocated), so ASan sees any overrun. */
static uint8_t *exact_copy(const void *data, size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    if (n > 0)
        memcpy(p, data, n);
    return p;
}

/* Prints the input with C escapes, for failure messages. */
static void print_input(const uint8_t *in, size_t len)
{
    char line[1200];
    size_t o = 0;
    for (size_t i = 0; i < len && o < sizeof line - 8; i++) {
        uint8_t c = in[i];
        if (c >= 0x20 && c < 0x7F && c != '\\')
            line[o++] = (char)c;
        else
            o += (size_t)snprintf(line + o, sizeof line - o, "\\x%02x", c);
    }
    line[o] = 0;
    print_error("input (%zu bytes): %s\n", len, line);
}

/* ------------------------------------------------------------------------ */
/* References                                                               */
/* ------------------------------------------------------------------------ */

/* Slow, obvious UTF-8 check: decode each sequence, then test the code point. */
static int ref_utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint32_t c = s[i], min;
        size_t len;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2;
            c &= 0x1F;
            min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            c &= 0x0F;
            min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            c &= 0x07;
            min = 0x10000;
        } else {
            return 0;
        }
        if (n - i < len)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            c = c << 6 | (s[i + k] & 0x3Fu);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

/* serde_json's string escaping, byte by byte. */
static void ref_escape(bytes *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    put_byte(b, '"');
    for (const uint8_t *p = (const uint8_t *)s; *p; p++) {
        switch (*p) {
        case '"':
            put_str(b, "\\\"");
            break;
        case '\\':
            put_str(b, "\\\\");
            break;
        case 0x08:
            put_str(b, "\\b");
            break;
        case 0x0C:
            put_str(b, "\\f");
            break;
        case 0x0A:
            put_str(b, "\\n");
            break;
        case 0x0D:
            put_str(b, "\\r");
            break;
        case 0x09:
            put_str(b, "\\t");
            break;
        default:
            if (*p < 0x20) {
                char u[7] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15], 0};
                put_str(b, u);
            } else {
                put_byte(b, *p);
            }
        }
    }
    put_byte(b, '"');
}

/* serde_json's output for msg, built the slow way. */
static void ref_encode(bytes *b, const secchat_message *m)
{
    put_str(b, "{\"sender\":");
    ref_escape(b, m->sender ? m->sender : "");
    put_str(b, ",\"content\":");
    ref_escape(b, m->content);
    const char *names[3] = {"type", "room", "to"};
    const char *vals[3] = {m->type, m->room, m->to};
    for (int i = 0; i < 3; i++) {
        if (vals[i] == NULL)
            continue;
        char key[16];
        snprintf(key, sizeof key, ",\"%s\":", names[i]);
        put_str(b, key);
        ref_escape(b, vals[i]);
    }
    if (m->has_ts) {
        char ts[40];
        snprintf(ts, sizeof ts, ",\"ts\":%lld", (long long)m->ts);
        put_str(b, ts);
    }
    put_byte(b, '}');
}

/* Result of the reference decoder: field pointers into root (decref'd by ref_free). */
typedef struct ref_result {
    int rc;
    json_t *root;
    const char *sender, *content, *type, *room, *to;
    int has_ts;
    int64_t ts;
} ref_result;

static int is_ws(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * The decoding rules of the brief, purely over jansson: UTF-8 of the whole
 * input first, then the first non-whitespace byte must be '{' (else
 * NOT_OBJECT; none at all is JSON), then json_loadb with
 * JSON_REJECT_DUPLICATES and its error mapped, then the field rules.
 * The one correction: a raw NUL byte is an error where it stands.
 */
static void ref_decode(ref_result *r, const uint8_t *in, size_t len)
{
    memset(r, 0, sizeof *r);
    if (!ref_utf8_valid(in, len)) {
        r->rc = SECCHAT_ERR_MESSAGE_UTF8;
        return;
    }
    size_t i = 0;
    while (i < len && is_ws(in[i]))
        i++;
    if (i == len) {
        r->rc = SECCHAT_ERR_MESSAGE_JSON;
        return;
    }
    if (in[i] != '{') {
        r->rc = SECCHAT_ERR_MESSAGE_NOT_OBJECT;
        return;
    }
    /* A raw NUL byte is a syntax error where it stands; jansson 2.14 skips one right after a number or a
     * literal ({"ts":1\0} parses), so it reads only what comes before the first NUL. */
    const uint8_t *nul = memchr(in, 0, len);
    json_error_t err;
    json_t *root = json_loadb((const char *)in, nul ? (size_t)(nul - in) : len, JSON_REJECT_DUPLICATES, &err);
    if (root != NULL && nul != NULL) {
        json_decref(root);
        r->rc = SECCHAT_ERR_MESSAGE_JSON;
        return;
    }
    if (root == NULL) {
        switch (json_error_code(&err)) {
        case json_error_duplicate_key:
            r->rc = SECCHAT_ERR_MESSAGE_DUPLICATE;
            break;
        case json_error_null_character:
        case json_error_null_byte_in_key:
            r->rc = SECCHAT_ERR_MESSAGE_NUL;
            break;
        default:
            r->rc = SECCHAT_ERR_MESSAGE_JSON;
        }
        return;
    }
    r->root = root;
    assert_true(json_is_object(root));
    json_t *c = json_object_get(root, "content");
    if (!json_is_string(c)) {
        r->rc = SECCHAT_ERR_MESSAGE_NO_CONTENT;
        return;
    }
    r->content = json_string_value(c);
    const char **dst[4] = {&r->sender, &r->type, &r->room, &r->to};
    const char *names[4] = {"sender", "type", "room", "to"};
    for (int k = 0; k < 4; k++) {
        json_t *v = json_object_get(root, names[k]);
        if (v == NULL || json_is_null(v))
            continue;
        if (!json_is_string(v)) {
            r->rc = SECCHAT_ERR_MESSAGE_FIELD_TYPE;
            return;
        }
        *dst[k] = json_string_value(v);
    }
    if (r->sender == NULL)
        r->sender = "";
    json_t *ts = json_object_get(root, "ts");
    if (ts != NULL && !json_is_null(ts)) {
        if (!json_is_integer(ts)) {
            r->rc = SECCHAT_ERR_MESSAGE_FIELD_TYPE;
            return;
        }
        r->has_ts = 1;
        r->ts = (int64_t)json_integer_value(ts);
    }
    r->rc = SECCHAT_OK;
}

static void ref_free(ref_result *r)
{
    json_decref(r->root);
    r->root = NULL;
}

static int str_same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static int in_scratch(const char *p, const char *scratch, size_t scratch_len)
{
    return p == NULL || (p >= scratch && p + strlen(p) < scratch + scratch_len);
}

/* 1 if msg (decoded into scratch with result rc) is exactly what the reference gives. */
static int same_result(int rc, const secchat_message *m, const char *scratch, size_t scratch_len, const ref_result *r)
{
    if (rc != r->rc)
        return 0;
    /* Every pointer stays inside scratch, whatever the outcome. */
    if (!in_scratch(m->sender, scratch, scratch_len) || !in_scratch(m->content, scratch, scratch_len) ||
        !in_scratch(m->type, scratch, scratch_len) || !in_scratch(m->room, scratch, scratch_len) ||
        !in_scratch(m->to, scratch, scratch_len))
        return 0;
    if (rc != SECCHAT_OK)
        return 1;
    return m->sender != NULL && m->content != NULL && str_same(m->sender, r->sender) &&
           str_same(m->content, r->content) && m->content_len == strlen(r->content) && str_same(m->type, r->type) &&
           str_same(m->room, r->room) && str_same(m->to, r->to) && m->has_ts == r->has_ts &&
           (!m->has_ts || m->ts == r->ts);
}

/* ------------------------------------------------------------------------ */
/* Decode helpers                                                           */
/* ------------------------------------------------------------------------ */

/* A decode with input and scratch in exact-size heap blocks; the caller frees *scratch. */
static int decode_exact(secchat_message *m, char **scratch, const void *json, size_t len)
{
    uint8_t *in = exact_copy(json, len);
    *scratch = malloc(SECCHAT_MESSAGE_SCRATCH(len));
    assert_non_null(*scratch);
    int rc = secchat_message_decode(m, *scratch, SECCHAT_MESSAGE_SCRATCH(len), in, len);
    free(in);
    return rc;
}

/* Decodes a C string, checks the result against the reference and returns the code. */
static int decode_checked(const char *json)
{
    size_t len = strlen(json);
    secchat_message m;
    char *scratch;
    int rc = decode_exact(&m, &scratch, json, len);
    ref_result r;
    ref_decode(&r, (const uint8_t *)json, len);
    if (!same_result(rc, &m, scratch, SECCHAT_MESSAGE_SCRATCH(len), &r)) {
        print_input((const uint8_t *)json, len);
        print_error("decode gave %d, reference %d\n", rc, r.rc);
        fail();
    }
    ref_free(&r);
    free(scratch);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Encoding                                                                 */
/* ------------------------------------------------------------------------ */

static void expect_encoding(const secchat_message *m, const char *want)
{
    uint8_t out[2048];
    size_t len = 12345;
    assert_int_equal(secchat_message_encode(m, out, sizeof out, &len), SECCHAT_OK);
    assert_int_equal(len, strlen(want));
    if (memcmp(out, want, len) != 0) {
        print_input(out, len);
        fail_msg("expected %s", want);
    }
    /* The exact size is enough, and one byte less reports the size. */
    assert_true(len > 0); /* an encoding is never empty (and len - 1 below must not wrap) */
    uint8_t *exact = malloc(len);
    assert_non_null(exact);
    size_t len2 = 0;
    assert_int_equal(secchat_message_encode(m, exact, len, &len2), SECCHAT_OK);
    assert_int_equal(len2, len);
    assert_memory_equal(exact, want, len);
    assert_int_equal(secchat_message_encode(m, exact, len - 1, &len2), SECCHAT_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(len2, len);
    free(exact);
}

static void test_encode_exact(void **state)
{
    (void)state;
    secchat_message m = {.sender = "Server", .content = "Please enter your name:"};
    expect_encoding(&m, "{\"sender\":\"Server\",\"content\":\"Please enter your name:\"}");

    secchat_message anon = {.sender = NULL, .content = "Alice"};
    expect_encoding(&anon, "{\"sender\":\"\",\"content\":\"Alice\"}");
    anon.sender = "";
    expect_encoding(&anon, "{\"sender\":\"\",\"content\":\"Alice\"}");

    secchat_message full = {.sender = "Alice",
                            .content = "Hello",
                            .type = "chat",
                            .room = "lobby",
                            .to = "Bob",
                            .ts = 1700000000000,
                            .has_ts = 1};
    expect_encoding(&full, "{\"sender\":\"Alice\",\"content\":\"Hello\",\"type\":\"chat\",\"room\":\"lobby\",\"to\":"
                           "\"Bob\",\"ts\":1700000000000}");
    /* Each optional field alone, in its place. */
    secchat_message one = {.sender = "A", .content = "B", .type = "dm"};
    expect_encoding(&one, "{\"sender\":\"A\",\"content\":\"B\",\"type\":\"dm\"}");
    one = (secchat_message){.sender = "A", .content = "B", .room = "r"};
    expect_encoding(&one, "{\"sender\":\"A\",\"content\":\"B\",\"room\":\"r\"}");
    one = (secchat_message){.sender = "A", .content = "B", .to = "t"};
    expect_encoding(&one, "{\"sender\":\"A\",\"content\":\"B\",\"to\":\"t\"}");
    one = (secchat_message){.sender = "A", .content = "B", .has_ts = 1};
    expect_encoding(&one, "{\"sender\":\"A\",\"content\":\"B\",\"ts\":0}");
    /* Empty strings are written, not dropped; content_len is ignored. */
    one = (secchat_message){.sender = "", .content = "", .type = "", .room = "", .to = "", .content_len = 99};
    expect_encoding(&one, "{\"sender\":\"\",\"content\":\"\",\"type\":\"\",\"room\":\"\",\"to\":\"\"}");
}

static void test_encode_escapes(void **state)
{
    (void)state;
    secchat_message m = {.sender = "s"};
    const struct {
        const char *in, *out;
    } cases[] = {
        {"\"", "\\\""},
        {"\\", "\\\\"},
        {"\b", "\\b"},
        {"\f", "\\f"},
        {"\n", "\\n"},
        {"\r", "\\r"},
        {"\t", "\\t"},
        {"\x01", "\\u0001"},
        {"\x0b", "\\u000b"},
        {"\x1f", "\\u001f"}, /* lowercase hex, unlike jansson's \u001F */
        {"\x1b[0m", "\\u001b[0m"},
        {"\x7f", "\x7f"},                                                 /* DEL is not escaped */
        {"/", "/"},                                                       /* nor the solidus */
        {"\xc3\xa9", "\xc3\xa9"},                                         /* é raw */
        {"\xe2\x82\xac", "\xe2\x82\xac"},                                 /* € raw */
        {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},                         /* U+1F600 raw */
        {"\xef\xbf\xbf\xf4\x8f\xbf\xbf", "\xef\xbf\xbf\xf4\x8f\xbf\xbf"}, /* U+FFFF, U+10FFFF */
        {"a\"b\\c\nd", "a\\\"b\\\\c\\nd"},
        {"0123456789abcdef\x1e", "0123456789abcdef\\u001e"}, /* past the first 8- and 16-byte words */
        {"01234567\"", "01234567\\\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char want[128];
        snprintf(want, sizeof want, "{\"sender\":\"s\",\"content\":\"%s\"}", cases[i].out);
        m.content = cases[i].in;
        expect_encoding(&m, want);
    }
    /* Every control character in one string, in every field. */
    char ctl[32];
    for (int c = 1; c < 32; c++)
        ctl[c - 1] = (char)c;
    ctl[31] = 0;
    static const char ctl_out[] =
        "\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f"
        "\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b"
        "\\u001c\\u001d\\u001e\\u001f";
    m = (secchat_message){.sender = ctl, .content = ctl, .type = ctl, .room = ctl, .to = ctl};
    char want[1024];
    snprintf(want, sizeof want, "{\"sender\":\"%s\",\"content\":\"%s\",\"type\":\"%s\",\"room\":\"%s\",\"to\":\"%s\"}",
             ctl_out, ctl_out, ctl_out, ctl_out, ctl_out);
    expect_encoding(&m, want);
}

static void test_encode_ts(void **state)
{
    (void)state;
    const struct {
        int64_t ts;
        const char *out;
    } cases[] = {
        {0, "0"},
        {1, "1"},
        {-1, "-1"},
        {9, "9"},
        {10, "10"},
        {-1700000000000, "-1700000000000"},
        {INT64_MAX, "9223372036854775807"},
        {INT64_MIN, "-9223372036854775808"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        secchat_message m = {.sender = "a", .content = "b", .ts = cases[i].ts, .has_ts = 1};
        char want[128];
        snprintf(want, sizeof want, "{\"sender\":\"a\",\"content\":\"b\",\"ts\":%s}", cases[i].out);
        expect_encoding(&m, want);
        /* And back. */
        secchat_message d;
        char *scratch;
        assert_int_equal(decode_exact(&d, &scratch, want, strlen(want)), SECCHAT_OK);
        assert_true(d.has_ts);
        assert_true(d.ts == cases[i].ts);
        free(scratch);
    }
    /* has_ts == 0 ignores ts. */
    secchat_message m = {.sender = "a", .content = "b", .ts = 5};
    expect_encoding(&m, "{\"sender\":\"a\",\"content\":\"b\"}");
}

static void test_encode_errors(void **state)
{
    (void)state;
    uint8_t out[256];
    size_t len;
    secchat_message m = {.sender = "a", .content = "b"};

    assert_int_equal(secchat_message_encode(NULL, out, sizeof out, &len), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_message_encode(&m, out, sizeof out, NULL), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_message_encode(&m, NULL, 10, &len), SECCHAT_ERR_INVALID_ARGUMENT);
    secchat_message nocontent = {.sender = "a"};
    assert_int_equal(secchat_message_encode(&nocontent, out, sizeof out, &len), SECCHAT_ERR_INVALID_ARGUMENT);

    /* A size query: no buffer, the needed length back. */
    len = 0;
    assert_int_equal(secchat_message_encode(&m, NULL, 0, &len), SECCHAT_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(len, strlen("{\"sender\":\"a\",\"content\":\"b\"}"));
    assert_int_equal(secchat_message_encode(&m, out, 5, &len), SECCHAT_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(len, strlen("{\"sender\":\"a\",\"content\":\"b\"}"));

    /* Invalid UTF-8 in each field, whatever its position. */
    static const char *const bad[] = {
        "\xc0\x80",         /* overlong NUL */
        "\xc1\xbf",         /* overlong */
        "\xe0\x80\xaf",     /* overlong '/' */
        "\xed\xa0\x80",     /* U+D800 */
        "\xed\xbf\xbf",     /* U+DFFF */
        "\xf4\x90\x80\x80", /* U+110000 */
        "\xf5\x80\x80\x80",
        "\xff",
        "\x80",
        "abc\xe2\x82",                  /* truncated at the end */
        "\xe2\x82x",                    /* truncated before a byte */
        "0123456789abcdef0123\xc3",     /* after whole words */
        "\xf0\x9f\x98\x80\xf0\x9f\x98", /* valid then truncated */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        for (int f = 0; f < 5; f++) {
            secchat_message x = {.sender = "a", .content = "b"};
            const char **slot[5] = {&x.sender, &x.content, &x.type, &x.room, &x.to};
            *slot[f] = bad[i];
            len = 99;
            assert_int_equal(secchat_message_encode(&x, out, sizeof out, &len), SECCHAT_ERR_MESSAGE_UTF8);
            assert_int_equal(len, 0);
            /* Even with no room at all, the UTF-8 error comes first. */
            assert_int_equal(secchat_message_encode(&x, NULL, 0, &len), SECCHAT_ERR_MESSAGE_UTF8);
        }
    }
}

/* A heap string of n copies of c. */
static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = 0;
    return s;
}

static void test_encode_limits(void **state)
{
    (void)state;
    const size_t overhead = strlen("{\"sender\":\"\",\"content\":\"\"}"); /* 26 */
    uint8_t *out = malloc(SECCHAT_MESSAGE_MAX + 100);
    assert_non_null(out);
    size_t len;

    /* Exactly at the limit: accepted, and it decodes back. */
    char *s = repeat('a', SECCHAT_MESSAGE_MAX - overhead);
    secchat_message m = {.content = s};
    assert_int_equal(secchat_message_encode(&m, out, SECCHAT_MESSAGE_MAX, &len), SECCHAT_OK);
    assert_int_equal(len, SECCHAT_MESSAGE_MAX);
    assert_int_equal(secchat_message_encode(&m, out, SECCHAT_MESSAGE_MAX - 1, &len), SECCHAT_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(len, SECCHAT_MESSAGE_MAX);
    secchat_message d;
    char *scratch;
    assert_int_equal(decode_exact(&d, &scratch, out, SECCHAT_MESSAGE_MAX), SECCHAT_OK);
    assert_string_equal(d.content, s);
    assert_int_equal(d.content_len, SECCHAT_MESSAGE_MAX - overhead);
    free(scratch);
    free(s);

    /* One over: too large, whatever the buffer. */
    s = repeat('a', SECCHAT_MESSAGE_MAX - overhead + 1);
    m.content = s;
    len = 7;
    assert_int_equal(secchat_message_encode(&m, out, SECCHAT_MESSAGE_MAX + 100, &len), SECCHAT_ERR_MESSAGE_TOO_LARGE);
    assert_int_equal(len, 0);
    assert_int_equal(secchat_message_encode(&m, NULL, 0, &len), SECCHAT_ERR_MESSAGE_TOO_LARGE);
    free(s);

    /* Escapes count: 10919 control bytes become 65514 bytes of \u00xx. */
    size_t n = (SECCHAT_MESSAGE_MAX - overhead) / 6;
    s = repeat('\x01', n);
    m.content = s;
    assert_int_equal(secchat_message_encode(&m, NULL, 0, &len), SECCHAT_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(len, overhead + 6 * n);
    size_t spare = SECCHAT_MESSAGE_MAX - len; /* fill to exactly the limit with a sender */
    char *sender = repeat('b', spare);
    m.sender = sender;
    assert_int_equal(secchat_message_encode(&m, out, SECCHAT_MESSAGE_MAX, &len), SECCHAT_OK);
    assert_int_equal(len, SECCHAT_MESSAGE_MAX);
    free(sender);
    sender = repeat('b', spare + 1);
    m.sender = sender;
    assert_int_equal(secchat_message_encode(&m, out, SECCHAT_MESSAGE_MAX + 100, &len), SECCHAT_ERR_MESSAGE_TOO_LARGE);
    free(sender);
    free(s);

    /* The fields and ts add up: a ts that pushes it over. */
    s = repeat('a', SECCHAT_MESSAGE_MAX - overhead - strlen(",\"ts\":1"));
    m = (secchat_message){.content = s, .ts = 1, .has_ts = 1};
    assert_int_equal(secchat_message_encode(&m, out, SECCHAT_MESSAGE_MAX, &len), SECCHAT_OK);
    assert_int_equal(len, SECCHAT_MESSAGE_MAX);
    m.ts = 10;
    assert_int_equal(secchat_message_encode(&m, out, SECCHAT_MESSAGE_MAX + 100, &len), SECCHAT_ERR_MESSAGE_TOO_LARGE);
    free(s);

    /* Too large while the buffer has room for any escaping of it (the encoder's one-pass case). */
    size_t big_cap = 7 * (size_t)SECCHAT_MESSAGE_MAX;
    uint8_t *big = malloc(big_cap);
    assert_non_null(big);
    s = repeat('a', SECCHAT_MESSAGE_MAX - overhead + 1);
    m = (secchat_message){.content = s};
    len = 7;
    assert_int_equal(secchat_message_encode(&m, big, big_cap, &len), SECCHAT_ERR_MESSAGE_TOO_LARGE);
    assert_int_equal(len, 0);
    s[SECCHAT_MESSAGE_MAX - overhead] = 0; /* one byte less: exactly the limit */
    assert_int_equal(secchat_message_encode(&m, big, big_cap, &len), SECCHAT_OK);
    assert_int_equal(len, SECCHAT_MESSAGE_MAX);
    s[100] = (char)0xc0; /* and invalid UTF-8 is found while writing */
    assert_int_equal(secchat_message_encode(&m, big, big_cap, &len), SECCHAT_ERR_MESSAGE_UTF8);
    assert_int_equal(len, 0);
    free(big);
    free(s);

    /* A string far above the limit is too large, but its UTF-8 is still checked first. */
    s = repeat('a', 200000);
    m = (secchat_message){.content = s};
    assert_int_equal(secchat_message_encode(&m, out, SECCHAT_MESSAGE_MAX, &len), SECCHAT_ERR_MESSAGE_TOO_LARGE);
    s[150000] = (char)0xff;
    m.sender = "x";
    assert_int_equal(secchat_message_encode(&m, out, SECCHAT_MESSAGE_MAX, &len), SECCHAT_ERR_MESSAGE_UTF8);
    free(s);
    free(out);
}

/* ------------------------------------------------------------------------ */
/* Random messages                                                          */
/* ------------------------------------------------------------------------ */

/* A random code point (never U+0000) with the classes that matter weighted up. */
static uint32_t rnd_cp(rng *r)
{
    switch (rnd_below(r, 12)) {
    case 0:
        return 1 + (uint32_t)rnd_below(r, 0x1F); /* control */
    case 1: {
        static const uint32_t special[] = {'"',     '\\',     '/',    0x7F,   0x80,   0x7FF, 0x800, 0xFFFF,
                                           0x10000, 0x10FFFF, 0xD7FF, 0xE000, 0xFEFF, ' ',   'u'};
        return special[rnd_below(r, sizeof special / sizeof special[0])];
    }
    case 2:
        return 0x80 + (uint32_t)rnd_below(r, 0x800 - 0x80);
    case 3: {
        uint32_t c;
        do
            c = 0x800 + (uint32_t)rnd_below(r, 0x10000 - 0x800);
        while (c >= 0xD800 && c <= 0xDFFF);
        return c;
    }
    case 4:
        return 0x10000 + (uint32_t)rnd_below(r, 0x110000 - 0x10000);
    default:
        return 0x20 + (uint32_t)rnd_below(r, 0x5F); /* printable ASCII */
    }
}

/* A random valid UTF-8 string without NUL, up to max_cps code points. */
static void rnd_string(rng *r, bytes *b, size_t max_cps)
{
    size_t n = rnd_below(r, max_cps + 1);
    b->len = 0;
    put(b, NULL, 0);
    for (size_t i = 0; i < n; i++)
        put_utf8(b, rnd_cp(r));
}

typedef struct rnd_msg {
    bytes s[5]; /* sender, content, type, room, to */
    secchat_message m;
} rnd_msg;

static int64_t rnd_ts(rng *r)
{
    switch (rnd_below(r, 6)) {
    case 0:
        return INT64_MAX - (int64_t)rnd_below(r, 3);
    case 1:
        return INT64_MIN + (int64_t)rnd_below(r, 3);
    case 2:
        return (int64_t)rnd_below(r, 100) - 50;
    case 3:
        return (int64_t)rnd(r);
    default:
        return 1700000000000 + (int64_t)rnd_below(r, 1000000000);
    }
}

static void rnd_message(rng *r, rnd_msg *x, size_t max_cps)
{
    const char **slot[5] = {&x->m.sender, &x->m.content, &x->m.type, &x->m.room, &x->m.to};
    memset(&x->m, 0, sizeof x->m);
    for (int f = 0; f < 5; f++) {
        rnd_string(r, &x->s[f], f == 1 ? max_cps : max_cps / 4 + 1);
        /* content always; sender NULL sometimes (means ""); the others half the time */
        *slot[f] = (f == 1 || (f == 0 ? !one_in(r, 4) : one_in(r, 2))) ? (const char *)x->s[f].p : NULL;
    }
    x->m.has_ts = one_in(r, 2);
    x->m.ts = x->m.has_ts ? rnd_ts(r) : 0;
}

static void rnd_msg_free(rnd_msg *x)
{
    for (int f = 0; f < 5; f++)
        free(x->s[f].p);
}

/* Encode matches the slow serde_json escaper, and decodes back to the same fields. */
static void test_roundtrip_random(void **state)
{
    (void)state;
    rng r = {UINT64_C(0x9E3779B97F4A7C15)};
    rnd_msg x = {0};
    bytes want = {0};
    uint8_t *out = malloc(SECCHAT_MESSAGE_MAX);
    assert_non_null(out);
    for (int iter = 0; iter < 3000; iter++) {
        rnd_message(&r, &x, iter < 2500 ? 40 : 3000);
        want.len = 0;
        ref_encode(&want, &x.m);
        size_t len;
        int rc = secchat_message_encode(&x.m, out, SECCHAT_MESSAGE_MAX, &len);
        if (want.len > SECCHAT_MESSAGE_MAX) {
            assert_int_equal(rc, SECCHAT_ERR_MESSAGE_TOO_LARGE);
            continue;
        }
        assert_int_equal(rc, SECCHAT_OK);
        assert_int_equal(len, want.len);
        assert_memory_equal(out, want.p, len);
        /* The same bytes into a buffer of exactly that size (the encoder's two-pass case). */
        uint8_t *exact = malloc(len);
        assert_non_null(exact);
        size_t len2;
        assert_int_equal(secchat_message_encode(&x.m, exact, len, &len2), SECCHAT_OK);
        assert_int_equal(len2, len);
        assert_memory_equal(exact, want.p, len);
        free(exact);

        secchat_message d;
        char *scratch;
        assert_int_equal(decode_exact(&d, &scratch, out, len), SECCHAT_OK);
        assert_string_equal(d.sender, x.m.sender ? x.m.sender : "");
        assert_string_equal(d.content, x.m.content);
        assert_int_equal(d.content_len, strlen(x.m.content));
        assert_true(str_same(d.type, x.m.type));
        assert_true(str_same(d.room, x.m.room));
        assert_true(str_same(d.to, x.m.to));
        assert_int_equal(d.has_ts, x.m.has_ts);
        assert_true(d.ts == x.m.ts);
        free(scratch);
    }
    rnd_msg_free(&x);
    free(want.p);
    free(out);
}

/* The bytes cp takes in the encoded JSON: a two-character escape, \u00XX, or its UTF-8. */
static size_t encoded_size(uint32_t cp)
{
    if (cp != 0 && cp < 0x80 && strchr("\"\\\b\f\n\r\t", (int)cp))
        return 2;
    if (cp < 0x20)
        return 6;
    if (cp < 0x80)
        return 1;
    if (cp < 0x800)
        return 2;
    return cp < 0x10000 ? 3 : 4;
}

/* Messages at and around the size limit, with random multi-byte and escaped content. */
static void test_roundtrip_large(void **state)
{
    (void)state;
    rng r = {12345};
    bytes s = {0};
    uint8_t *out = malloc(SECCHAT_MESSAGE_MAX);
    assert_non_null(out);
    for (int iter = 0; iter < 6; iter++) {
        s.len = 0;
        put(&s, NULL, 0);
        secchat_message m = {.sender = "big", .type = "chat", .has_ts = 1, .ts = -5};
        size_t need = 0, base = 0;
        m.content = "";
        assert_int_equal(secchat_message_encode(&m, NULL, 0, &base), SECCHAT_ERR_BUFFER_TOO_SMALL);
        /* Grow random content while it stays under the limit (counting each character's escaped size here),
         * then pad with ASCII to exactly the limit. */
        size_t target = iter % 2 ? SECCHAT_MESSAGE_MAX - 8 : 1000 + 5000 * (size_t)iter;
        for (size_t est = base; est < target;) {
            uint32_t cp = rnd_cp(&r);
            size_t grow = encoded_size(cp);
            if (est + grow > target)
                break;
            put_utf8(&s, cp);
            est += grow;
        }
        m.content = (const char *)s.p;
        assert_int_equal(secchat_message_encode(&m, NULL, 0, &need), SECCHAT_ERR_BUFFER_TOO_SMALL);
        if (iter % 2 == 1) {
            while (need < SECCHAT_MESSAGE_MAX) {
                put_byte(&s, 'z');
                need++;
            }
        }
        m.content = (const char *)s.p;
        size_t len;
        assert_int_equal(secchat_message_encode(&m, out, SECCHAT_MESSAGE_MAX, &len), SECCHAT_OK);
        assert_int_equal(len, need);
        secchat_message d;
        char *scratch;
        assert_int_equal(decode_exact(&d, &scratch, out, len), SECCHAT_OK);
        assert_string_equal(d.content, m.content);
        assert_int_equal(d.content_len, s.len);
        free(scratch);
        if (len == SECCHAT_MESSAGE_MAX) {
            put_byte(&s, 'z');
            m.content = (const char *)s.p;
            assert_int_equal(secchat_message_encode(&m, out, SECCHAT_MESSAGE_MAX, &len), SECCHAT_ERR_MESSAGE_TOO_LARGE);
        }
    }
    free(s.p);
    free(out);
}

/* ------------------------------------------------------------------------ */
/* Decoding: fixed cases                                                    */
/* ------------------------------------------------------------------------ */

static void test_decode_basic(void **state)
{
    (void)state;
    secchat_message m;
    char *scratch;
    const char *in = "{\"sender\":\"Alice\",\"content\":\"Hello\",\"type\":\"chat\",\"room\":\"lobby\",\"to\":\"Bob\","
                     "\"ts\":1700000000000}";
    assert_int_equal(decode_exact(&m, &scratch, in, strlen(in)), SECCHAT_OK);
    assert_string_equal(m.sender, "Alice");
    assert_string_equal(m.content, "Hello");
    assert_int_equal(m.content_len, 5);
    assert_string_equal(m.type, "chat");
    assert_string_equal(m.room, "lobby");
    assert_string_equal(m.to, "Bob");
    assert_true(m.has_ts);
    assert_true(m.ts == 1700000000000);
    free(scratch);

    /* Only content: sender is "" (inside scratch), the rest absent. */
    in = "{\"content\":\"x\"}";
    assert_int_equal(decode_exact(&m, &scratch, in, strlen(in)), SECCHAT_OK);
    assert_string_equal(m.sender, "");
    assert_true(m.sender >= scratch && m.sender < scratch + SECCHAT_MESSAGE_SCRATCH(strlen(in)));
    assert_null(m.type);
    assert_null(m.room);
    assert_null(m.to);
    assert_false(m.has_ts);
    free(scratch);

    /* Whitespace everywhere, members reversed. */
    in = " \t\r\n{ \n\"ts\" :\t-42 ,\r\"to\"\n:\"b\" , \"room\" : \"r\" ,\"type\": \"t\",\"content\" :\"c\" , "
         "\"sender\":\"s\"\n}\n\t \r";
    assert_int_equal(decode_checked(in), SECCHAT_OK);
    assert_int_equal(decode_exact(&m, &scratch, in, strlen(in)), SECCHAT_OK);
    assert_string_equal(m.sender, "s");
    assert_string_equal(m.content, "c");
    assert_string_equal(m.type, "t");
    assert_string_equal(m.room, "r");
    assert_string_equal(m.to, "b");
    assert_true(m.ts == -42);
    free(scratch);

    /* Escapes: every short one, \u in both cases, a surrogate pair, \/ */
    in = "{\"content\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\u00E9\\u20AC\\ud83d\\ude00\\uD83D\\uDE00\\u001f/\"}";
    assert_int_equal(decode_exact(&m, &scratch, in, strlen(in)), SECCHAT_OK);
    assert_string_equal(m.content, "\"\\/\b\f\n\r\tA\xc3\xa9\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf0\x9f\x98\x80\x1f/");
    assert_int_equal(m.content_len, strlen(m.content));
    free(scratch);
    assert_int_equal(decode_checked(in), SECCHAT_OK);

    /* Escaped key names are the same keys. */
    in = "{\"c\\u006fntent\":\"x\",\"\\u0073ender\":\"y\"}";
    assert_int_equal(decode_exact(&m, &scratch, in, strlen(in)), SECCHAT_OK);
    assert_string_equal(m.content, "x");
    assert_string_equal(m.sender, "y");
    free(scratch);

    /* Raw UTF-8 and DEL pass through. */
    in = "{\"content\":\"\xc3\xa9\xf0\x9f\x98\x80\x7f\",\"sender\":\"\xe2\x82\xac\"}";
    assert_int_equal(decode_exact(&m, &scratch, in, strlen(in)), SECCHAT_OK);
    assert_string_equal(m.content, "\xc3\xa9\xf0\x9f\x98\x80\x7f");
    assert_string_equal(m.sender, "\xe2\x82\xac");
    free(scratch);

    /* Empty strings. */
    in = "{\"sender\":\"\",\"content\":\"\",\"type\":\"\",\"room\":\"\",\"to\":\"\"}";
    assert_int_equal(decode_exact(&m, &scratch, in, strlen(in)), SECCHAT_OK);
    assert_string_equal(m.content, "");
    assert_int_equal(m.content_len, 0);
    assert_string_equal(m.to, "");
    free(scratch);

    /* ts edge values. */
    assert_int_equal(decode_checked("{\"content\":\"x\",\"ts\":-0}"), SECCHAT_OK);
    assert_int_equal(decode_checked("{\"content\":\"x\",\"ts\":999999999999999999}"), SECCHAT_OK);
    assert_int_equal(decode_checked("{\"content\":\"x\",\"ts\":9223372036854775807}"), SECCHAT_OK);
    assert_int_equal(decode_checked("{\"content\":\"x\",\"ts\":-9223372036854775808}"), SECCHAT_OK);
}

/* Members the fast path hands to jansson: nulls, unknown keys of every type. */
static void test_decode_jansson_path(void **state)
{
    (void)state;
    secchat_message m;
    char *scratch;

    /* null is absent for the optional fields and sender. */
    const char *in = "{\"sender\":null,\"content\":\"c\",\"type\":null,\"room\":null,\"to\":null,\"ts\":null}";
    assert_int_equal(decode_exact(&m, &scratch, in, strlen(in)), SECCHAT_OK);
    assert_string_equal(m.sender, "");
    assert_true(m.sender >= scratch && m.sender < scratch + SECCHAT_MESSAGE_SCRATCH(strlen(in)));
    assert_string_equal(m.content, "c");
    assert_null(m.type);
    assert_null(m.room);
    assert_null(m.to);
    assert_false(m.has_ts);
    free(scratch);
    assert_int_equal(decode_checked(in), SECCHAT_OK);

    /* Unknown members of every JSON type are ignored; known fields keep their escapes. */
    in = "{\"a\":1,\"b\":-2.5e-3,\"c\":true,\"d\":false,\"e\":null,\"f\":\"s\\u0041\",\"g\":[1,[2,{}],\"x\"],"
         "\"h\":{\"content\":5,\"k\":{\"l\":[]}},\"sender\":\"S\\n\",\"content\":\"\\ud83d\\ude00\",\"type\":\"dm\","
         "\"to\":\"T\",\"room\":\"R\",\"ts\":123,\"\":\"\",\"i\":12345678901234567890123e10}";
    assert_int_equal(decode_exact(&m, &scratch, in, strlen(in)), SECCHAT_OK);
    assert_string_equal(m.sender, "S\n");
    assert_string_equal(m.content, "\xf0\x9f\x98\x80");
    assert_int_equal(m.content_len, 4);
    assert_string_equal(m.type, "dm");
    assert_string_equal(m.room, "R");
    assert_string_equal(m.to, "T");
    assert_true(m.has_ts && m.ts == 123);
    free(scratch);
    assert_int_equal(decode_checked(in), SECCHAT_OK);

    /* Integers the fast path leaves alone: 19 digits, the extremes. */
    in = "{\"content\":\"x\",\"ts\":-9223372036854775808}";
    assert_int_equal(decode_exact(&m, &scratch, in, strlen(in)), SECCHAT_OK);
    assert_true(m.has_ts && m.ts == INT64_MIN);
    free(scratch);
    in = "{\"ts\":1000000000000000000,\"content\":\"x\"}";
    assert_int_equal(decode_exact(&m, &scratch, in, strlen(in)), SECCHAT_OK);
    assert_true(m.has_ts && m.ts == 1000000000000000000);
    free(scratch);

    /* Deep nesting within jansson's limit. */
    bytes deep = {0};
    put_str(&deep, "{\"content\":\"x\",\"n\":");
    for (int i = 0; i < 1000; i++)
        put_byte(&deep, '[');
    for (int i = 0; i < 1000; i++)
        put_byte(&deep, ']');
    put_byte(&deep, '}');
    assert_int_equal(decode_checked((const char *)deep.p), SECCHAT_OK);
    free(deep.p);
}

/* Decoding in gives want, as does the reference; the message is zeroed. */
static void expect_decode_error(const char *in, size_t len, int want)
{
    secchat_message m;
    char *scratch;
    int rc = decode_exact(&m, &scratch, in, len);
    ref_result r;
    ref_decode(&r, (const uint8_t *)in, len);
    if (rc != want || r.rc != want) {
        print_input((const uint8_t *)in, len);
        fail_msg("got %d, reference %d, expected %d", rc, r.rc, want);
    }
    assert_null(m.content);
    assert_null(m.sender);
    assert_int_equal(m.content_len, 0);
    ref_free(&r);
    free(scratch);
}

/* At least two inputs for every error code, each checked against the reference too. */
static void test_decode_errors(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int rc;
    } cases[] = {
        /* Not well-formed. */
        {"", SECCHAT_ERR_MESSAGE_JSON},
        {" \n\t\r", SECCHAT_ERR_MESSAGE_JSON},
        {"{", SECCHAT_ERR_MESSAGE_JSON},
        {"{\"content\":\"abc", SECCHAT_ERR_MESSAGE_JSON},
        {"{\"content\":\"abc\"", SECCHAT_ERR_MESSAGE_JSON},
        {"{\"content\":", SECCHAT_ERR_MESSAGE_JSON},
        {"{\"content\"", SECCHAT_ERR_MESSAGE_JSON},
        {"{\"content\":\"a\",}", SECCHAT_ERR_MESSAGE_JSON},
        {"{\"content\":\"a\"}x", SECCHAT_ERR_MESSAGE_JSON},
        {"{\"content\":\"a\"}{}", SECCHAT_ERR_MESSAGE_JSON},
        {"{\"content\":\"a\"} \"", SECCHAT_ERR_MESSAGE_JSON},
        {"{'content':'a'}", SECCHAT_ERR_MESSAGE_JSON},
        {"{\"content\":'a'}", SECCHAT_ERR_MESSAGE_JSON},
        {"{\"content\":\"a\nb\"}", SECCHAT_ERR_MESSAGE_JSON},
        {"{\"content\":\"a\tb\"}", SECCHAT_ERR_MESSAGE_JSON},
        {"{\"content\":\"a\x1f\"}", SECCHAT_ERR_MESSAGE_JSON},
        {"{\"content\":\"\\x41\"}", SECCHAT_ERR_MESSAGE_JSON},
        {"{\"content\":\"\\U0041\"}", SECCHAT_ERR_MESSAGE_JSON},
        {"{\"content\":\"\\u00g1\"}", SECCHAT_ERR_MESSAGE_JSON},
        {"{\"content\":\"\\u00\"}", SECCHAT_ERR_MESSAGE_JSON},
        {"{\"content\":\"\\ud800\"}", SECCHAT_ERR_MESSAGE_JSON},
        {"{\"content\":\"\\ud800x\"}", SECCHAT_ERR_MESSAGE_JSON},
        {"{\"content\":\"\\udc00\\ud800\"}", SECCHAT_ERR_MESSAGE_JSON},
        {"{\"content\":\"\\ud800\\ud800\"}", SECCHAT_ERR_MESSAGE_JSON},
        {"{\"content\":\"\\ud800\\n\"}", SECCHAT_ERR_MESSAGE_JSON},
        {"{\"content\":\"\\udfff\"}", SECCHAT_ERR_MESSAGE_JSON},
        {"{\"content\" \"a\"}", SECCHAT_ERR_MESSAGE_JSON},
        {"{\"content\":\"a\" \"sender\":\"b\"}", SECCHAT_ERR_MESSAGE_JSON},
        {"{\"content\":\"a\",,\"sender\":\"b\"}", SECCHAT_ERR_MESSAGE_JSON},
        {"{content:\"a\"}", SECCHAT_ERR_MESSAGE_JSON},
        {"{\"content\":\"a\",\"ts\":01}", SECCHAT_ERR_MESSAGE_JSON},
        {"{\"content\":\"a\",\"ts\":-}", SECCHAT_ERR_MESSAGE_JSON},
        {"{\"content\":\"a\",\"ts\":1.}", SECCHAT_ERR_MESSAGE_JSON},
        {"{\"content\":\"a\",\"ts\":1x}", SECCHAT_ERR_MESSAGE_JSON},
        {"{\"content\":\"a\",\"ts\":+1}", SECCHAT_ERR_MESSAGE_JSON},
        {"{\"content\":\"a\",\"ts\":99999999999999999999}", SECCHAT_ERR_MESSAGE_JSON}, /* overflows int64 */
        {"{\"content\":\"a\",\"x\":tru}", SECCHAT_ERR_MESSAGE_JSON},
        {"{\"content\":\"a\",\"x\":nulll}", SECCHAT_ERR_MESSAGE_JSON},
        {"{\"content\":\"a\",\"x\":[1,]}", SECCHAT_ERR_MESSAGE_JSON},
        {"{\"content\":\"a\"]", SECCHAT_ERR_MESSAGE_JSON},
        /* Not an object, decided by the first non-whitespace byte. */
        {"[]", SECCHAT_ERR_MESSAGE_NOT_OBJECT},
        {"[{\"content\":\"a\"}]", SECCHAT_ERR_MESSAGE_NOT_OBJECT},
        {"\"x\"", SECCHAT_ERR_MESSAGE_NOT_OBJECT},
        {"1", SECCHAT_ERR_MESSAGE_NOT_OBJECT},
        {"null", SECCHAT_ERR_MESSAGE_NOT_OBJECT},
        {" true", SECCHAT_ERR_MESSAGE_NOT_OBJECT},
        {"\n[1,", SECCHAT_ERR_MESSAGE_NOT_OBJECT}, /* even when what follows is not JSON */
        {"}", SECCHAT_ERR_MESSAGE_NOT_OBJECT},
        /* No content. */
        {"{}", SECCHAT_ERR_MESSAGE_NO_CONTENT},
        {"{\"sender\":\"a\"}", SECCHAT_ERR_MESSAGE_NO_CONTENT},
        {"{\"Content\":\"a\"}", SECCHAT_ERR_MESSAGE_NO_CONTENT},
        {"{\"content\":5}", SECCHAT_ERR_MESSAGE_NO_CONTENT},
        {"{\"content\":null}", SECCHAT_ERR_MESSAGE_NO_CONTENT},
        {"{\"content\":{}}", SECCHAT_ERR_MESSAGE_NO_CONTENT},
        {"{\"content\":[\"a\"]}", SECCHAT_ERR_MESSAGE_NO_CONTENT},
        {"{\"content\":true}", SECCHAT_ERR_MESSAGE_NO_CONTENT},
        {"{\"sender\":5}", SECCHAT_ERR_MESSAGE_NO_CONTENT}, /* content is checked before the others */
        /* Known fields of the wrong type. */
        {"{\"sender\":5,\"content\":\"a\"}", SECCHAT_ERR_MESSAGE_FIELD_TYPE},
        {"{\"content\":\"a\",\"type\":[]}", SECCHAT_ERR_MESSAGE_FIELD_TYPE},
        {"{\"content\":\"a\",\"room\":{}}", SECCHAT_ERR_MESSAGE_FIELD_TYPE},
        {"{\"content\":\"a\",\"to\":false}", SECCHAT_ERR_MESSAGE_FIELD_TYPE},
        {"{\"content\":\"a\",\"ts\":\"1\"}", SECCHAT_ERR_MESSAGE_FIELD_TYPE},
        {"{\"content\":\"a\",\"ts\":1.5}", SECCHAT_ERR_MESSAGE_FIELD_TYPE},
        {"{\"content\":\"a\",\"ts\":1e3}", SECCHAT_ERR_MESSAGE_FIELD_TYPE},
        {"{\"content\":\"a\",\"ts\":1.0}", SECCHAT_ERR_MESSAGE_FIELD_TYPE},
        {"{\"content\":\"a\",\"ts\":true}", SECCHAT_ERR_MESSAGE_FIELD_TYPE},
        /* Invalid UTF-8 wins over everything, wherever it is. */
        {"{\"content\":\"\xc0\x80\"}", SECCHAT_ERR_MESSAGE_UTF8},
        {"{\"content\":\"\xed\xa0\x80\"}", SECCHAT_ERR_MESSAGE_UTF8},
        {"{\"content\":\"\xf5\x80\x80\x80\"}", SECCHAT_ERR_MESSAGE_UTF8},
        {"{\"content\":\"\xf4\x90\x80\x80\"}", SECCHAT_ERR_MESSAGE_UTF8},
        {"{\"content\":\"\xe2\x82\"}", SECCHAT_ERR_MESSAGE_UTF8},
        {"{\"content\":\"a\"}\xe2\x82", SECCHAT_ERR_MESSAGE_UTF8},
        {"\xff{\"content\":\"a\"}", SECCHAT_ERR_MESSAGE_UTF8},
        {"[\xc1\xbf]", SECCHAT_ERR_MESSAGE_UTF8},
        {"{\"content\":'a' \x80}", SECCHAT_ERR_MESSAGE_UTF8},
        {"{\"x\xc0\xaf\":1,\"content\":\"a\"}", SECCHAT_ERR_MESSAGE_UTF8},
        /* U+0000 anywhere: known fields, unknown values, keys. */
        {"{\"content\":\"a\\u0000b\"}", SECCHAT_ERR_MESSAGE_NUL},
        {"{\"sender\":\"\\u0000\",\"content\":\"a\"}", SECCHAT_ERR_MESSAGE_NUL},
        {"{\"content\":\"a\",\"x\":\"\\u0000\"}", SECCHAT_ERR_MESSAGE_NUL},
        {"{\"content\":\"a\",\"x\":[\"\\u0000\"]}", SECCHAT_ERR_MESSAGE_NUL},
        {"{\"con\\u0000tent\":\"a\"}", SECCHAT_ERR_MESSAGE_NUL},
        {"{\"content\":\"a\",\"ts\":\"\\u0000\"}", SECCHAT_ERR_MESSAGE_NUL},
        {"{\"content\":\"\\u0000\",", SECCHAT_ERR_MESSAGE_NUL},     /* found before the syntax error after it */
        {"{\"content\":\"\\u0000\\x\"}", SECCHAT_ERR_MESSAGE_JSON}, /* but a bad escape in the same string wins */
        /* Duplicates, known or not, escaped or not. */
        {"{\"content\":\"a\",\"content\":\"a\"}", SECCHAT_ERR_MESSAGE_DUPLICATE},
        {"{\"content\":\"a\",\"c\\u006fntent\":\"b\"}", SECCHAT_ERR_MESSAGE_DUPLICATE},
        {"{\"ts\":1,\"content\":\"a\",\"ts\":1}", SECCHAT_ERR_MESSAGE_DUPLICATE},
        {"{\"sender\":null,\"content\":\"a\",\"sender\":\"b\"}", SECCHAT_ERR_MESSAGE_DUPLICATE},
        {"{\"x\":1,\"content\":\"a\",\"x\":2}", SECCHAT_ERR_MESSAGE_DUPLICATE},
        {"{\"content\":\"a\",\"y\":{\"k\":1,\"k\":2}}", SECCHAT_ERR_MESSAGE_DUPLICATE},
        {"{\"content\":\"a\",\"content\"", SECCHAT_ERR_MESSAGE_DUPLICATE}, /* before the missing ':' */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_decode_error(cases[i].in, strlen(cases[i].in), cases[i].rc);
    /* Raw NUL bytes: after the object, and inside a string. */
    static const char nul_after[] = "{\"content\":\"a\"}\0", nul_inside[] = "{\"content\":\"a\0\"}";
    expect_decode_error(nul_after, sizeof nul_after - 1, SECCHAT_ERR_MESSAGE_JSON);
    expect_decode_error(nul_inside, sizeof nul_inside - 1, SECCHAT_ERR_MESSAGE_JSON);
    /* jansson alone would accept these: it skips a NUL right after a number or a literal. */
    static const char nul_ts[] = "{\"content\":\"a\",\"ts\":-12\0}", nul_lit[] = "{\"content\":\"a\",\"x\":true\0}";
    expect_decode_error(nul_ts, sizeof nul_ts - 1, SECCHAT_ERR_MESSAGE_JSON);
    expect_decode_error(nul_lit, sizeof nul_lit - 1, SECCHAT_ERR_MESSAGE_JSON);
    /* Errors before the NUL still come first. */
    static const char dup_nul[] = "{\"x\":1,\"x\":2\0}", esc_nul[] = "{\"y\":1,\"content\":\"\\u0000\"\0";
    expect_decode_error(dup_nul, sizeof dup_nul - 1, SECCHAT_ERR_MESSAGE_DUPLICATE);
    expect_decode_error(esc_nul, sizeof esc_nul - 1, SECCHAT_ERR_MESSAGE_NUL);
}

static void test_decode_args(void **state)
{
    (void)state;
    const char *in = "{\"content\":\"a\"}";
    size_t len = strlen(in);
    char scratch[64];
    secchat_message m;

    assert_int_equal(secchat_message_decode(NULL, scratch, sizeof scratch, (const uint8_t *)in, len),
                     SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_message_decode(&m, NULL, sizeof scratch, (const uint8_t *)in, len),
                     SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_message_decode(&m, scratch, sizeof scratch, NULL, len), SECCHAT_ERR_INVALID_ARGUMENT);
    /* NULL with length 0 is empty input. */
    assert_int_equal(secchat_message_decode(&m, scratch, sizeof scratch, NULL, 0), SECCHAT_ERR_MESSAGE_JSON);
    /* Scratch: json_len + 1 is needed, even when the strings are short. */
    assert_int_equal(secchat_message_decode(&m, scratch, len, (const uint8_t *)in, len), SECCHAT_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(secchat_message_decode(&m, scratch, 0, (const uint8_t *)in, len), SECCHAT_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(secchat_message_decode(&m, scratch, SIZE_MAX, (const uint8_t *)in, SIZE_MAX),
                     SECCHAT_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(secchat_message_decode(&m, scratch, len + 1, (const uint8_t *)in, len), SECCHAT_OK);
    assert_string_equal(m.content, "a");

    /* The densest inputs for scratch: many short strings, both paths, exact-size blocks. */
    static const char *const dense[] = {
        "{\"sender\":\"\",\"content\":\"\",\"type\":\"\",\"room\":\"\",\"to\":\"\"}",
        "{\"content\":\"\"}",
        "{\"to\":\"\",\"content\":\"\"}",
        "{\"sender\":null,\"content\":\"\",\"type\":\"\",\"room\":\"\",\"to\":\"\"}",
        "{\"content\":\"\",\"\":0}",
        "{\"content\":\"\\ud83d\\ude00\\ud83d\\ude00\",\"sender\":\"\\u00e9\",\"type\":\"\\u20ac\"}",
        "{\"content\":\"\\n\",\"sender\":\"\\\\\",\"to\":\"\\/\",\"room\":\"\\\"\",\"type\":\"\\t\"}",
        "{\"content\":\"\\n\",\"sender\":\"\\\\\",\"to\":\"\\/\",\"room\":\"\\\"\",\"type\":\"\\t\",\"x\":0}",
    };
    for (size_t i = 0; i < sizeof dense / sizeof dense[0]; i++)
        assert_int_equal(decode_checked(dense[i]), SECCHAT_OK);
}

/* ------------------------------------------------------------------------ */
/* Differential test: fast path + fallback against pure jansson             */
/* ------------------------------------------------------------------------ */

static void put_ws(rng *r, bytes *b)
{
    static const char ws[] = " \t\n\r";
    if (!one_in(r, 3))
        return;
    size_t n = 1 + rnd_below(r, 3);
    for (size_t i = 0; i < n; i++)
        put_byte(b, (uint8_t)ws[rnd_below(r, 4)]);
}

static void put_hex4(rng *r, bytes *b, uint32_t v)
{
    char u[8];
    snprintf(u, sizeof u, one_in(r, 2) ? "\\u%04x" : "\\u%04X", (unsigned)v);
    put_str(b, u);
}

/* s (valid UTF-8) as a JSON string, each character written raw or escaped at random. */
static void put_json_string(rng *r, bytes *b, const uint8_t *s, size_t n)
{
    put_byte(b, '"');
    size_t i = 0;
    while (i < n) {
        /* Decode one code point. */
        uint32_t c = s[i];
        size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        if (len > 1) {
            c &= len == 2 ? 0x1Fu : len == 3 ? 0x0Fu : 0x07u;
            for (size_t k = 1; k < len; k++)
                c = c << 6 | (s[i + k] & 0x3Fu);
        }
        const char *shortesc = c == '"'    ? "\\\""
                               : c == '\\' ? "\\\\"
                               : c == '\b' ? "\\b"
                               : c == '\f' ? "\\f"
                               : c == '\n' ? "\\n"
                               : c == '\r' ? "\\r"
                               : c == '\t' ? "\\t"
                               : c == '/'  ? "\\/"
                                           : NULL;
        int must = c < 0x20 || c == '"' || c == '\\';
        size_t pick = rnd_below(r, 4);
        if (shortesc != NULL && (pick == 0 || (must && pick < 3))) {
            put_str(b, shortesc);
        } else if (must || pick == 1) {
            if (c >= 0x10000) {
                put_hex4(r, b, 0xD800 + ((c - 0x10000) >> 10));
                put_hex4(r, b, 0xDC00 + ((c - 0x10000) & 0x3FF));
            } else {
                put_hex4(r, b, c);
            }
        } else {
            put(b, s + i, len);
        }
        i += len;
    }
    put_byte(b, '"');
}

/* A random JSON value (for unknown members and wrong types). */
static void put_json_value(rng *r, bytes *b, int depth, bytes *tmp)
{
    static const char *const atoms[] = {
        "0",  "-1", "1.5", "-0.0e+1", "1E400", "true", "false", "null", "12345678901234567890",
        "[]", "{}", "-0",  "3e-2"};
    size_t kind = rnd_below(r, depth > 2 ? 2 : 4);
    if (kind == 0) {
        put_str(b, atoms[rnd_below(r, sizeof atoms / sizeof atoms[0])]);
    } else if (kind == 1) {
        rnd_string(r, tmp, 6);
        put_json_string(r, b, tmp->p, tmp->len);
    } else if (kind == 2) {
        put_byte(b, '[');
        size_t n = rnd_below(r, 3);
        for (size_t i = 0; i < n; i++) {
            if (i)
                put_byte(b, ',');
            put_ws(r, b);
            put_json_value(r, b, depth + 1, tmp);
            put_ws(r, b);
        }
        put_byte(b, ']');
    } else {
        put_byte(b, '{');
        size_t n = rnd_below(r, 3);
        for (size_t i = 0; i < n; i++) {
            if (i)
                put_byte(b, ',');
            char key[32];
            snprintf(key, sizeof key, "\"k%zu\":", i);
            put_str(b, key);
            put_json_value(r, b, depth + 1, tmp);
        }
        put_byte(b, '}');
    }
}

static const char *const known_keys[6] = {"sender", "content", "type", "room", "to", "ts"};

/* A key name, written plainly or with random \u escapes. */
static void put_key(rng *r, bytes *b, const char *key)
{
    if (one_in(r, 8))
        put_json_string(r, b, (const uint8_t *)key, strlen(key));
    else {
        put_byte(b, '"');
        put_str(b, key);
        put_byte(b, '"');
    }
}

/* A message written the way other programs might: any order, whitespace, escapes, extras. */
static void gen_message_json(rng *r, bytes *b, bytes *tmp)
{
    bytes members[12] = {{0}};
    size_t n = 0;
    for (int k = 0; k < 6; k++) {
        if (k != 1 && one_in(r, 2))
            continue;
        if (k == 1 && one_in(r, 30))
            continue; /* no content */
        bytes *m = &members[n++];
        put_key(r, m, known_keys[k]);
        put_ws(r, m);
        put_byte(m, ':');
        put_ws(r, m);
        if (one_in(r, 15)) {
            put_json_value(r, m, 0, tmp); /* likely the wrong type */
        } else if (one_in(r, 12)) {
            put_str(m, "null");
        } else if (k == 5) {
            char ts[32];
            switch (rnd_below(r, 8)) {
            case 0:
                snprintf(ts, sizeof ts, "%lld", (long long)rnd_ts(r));
                break;
            case 1:
                snprintf(ts, sizeof ts, "-0");
                break;
            case 2:
                snprintf(ts, sizeof ts, "%lld.%d", (long long)rnd_below(r, 1000), (int)rnd_below(r, 10));
                break;
            default:
                snprintf(ts, sizeof ts, "%lld", 1700000000000LL + (long long)rnd_below(r, 1000000));
            }
            put_str(m, ts);
        } else {
            rnd_string(r, tmp, k == 1 ? 30 : 6);
            put_json_string(r, m, tmp->p, tmp->len);
        }
    }
    if (one_in(r, 4)) { /* unknown members */
        size_t extra = 1 + rnd_below(r, 2);
        for (size_t i = 0; i < extra && n < 10; i++) {
            bytes *m = &members[n++];
            static const char *const unknown_keys[] = {"x", "", "Content", "contents", "tss", "id", "sender2"};
            put_key(r, m, unknown_keys[rnd_below(r, sizeof unknown_keys / sizeof unknown_keys[0])]);
            put_byte(m, ':');
            put_ws(r, m);
            put_json_value(r, m, 0, tmp);
        }
    }
    if (n > 0 && n < 12 && one_in(r, 20)) { /* a duplicate member */
        size_t src = rnd_below(r, n);
        put(&members[n], members[src].p, members[src].len);
        n++;
    }
    /* Shuffle, then join. */
    for (size_t i = n; i > 1; i--) {
        size_t j = rnd_below(r, i);
        bytes t = members[i - 1];
        members[i - 1] = members[j];
        members[j] = t;
    }
    b->len = 0;
    put_ws(r, b);
    put_byte(b, '{');
    put_ws(r, b);
    for (size_t i = 0; i < n; i++) {
        if (i) {
            put_ws(r, b);
            put_byte(b, ',');
            put_ws(r, b);
        }
        put(b, members[i].p, members[i].len);
    }
    put_ws(r, b);
    put_byte(b, '}');
    put_ws(r, b);
    for (size_t i = 0; i < 12; i++)
        free(members[i].p);
}

/* Random damage: byte changes, insertions, deletions, cuts, repeated slices. */
static void mutate(rng *r, bytes *b)
{
    static const uint8_t interesting[] = {'"',  '\\', '{',  '}',  '[',  ']',  ',',  ':',  ' ',  '\n', 'u',  '0',
                                          'd',  '8',  'c',  'n',  'x',  '/',  '-',  '.',  'e',  '1',  0x00, 0x01,
                                          0x1f, 0x7f, 0x80, 0xbf, 0xc0, 0xc3, 0xe0, 0xed, 0xf0, 0xf4, 0xf5, 0xff};
    size_t ops = 1 + rnd_below(r, 3);
    for (size_t o = 0; o < ops; o++) {
        uint8_t c = one_in(r, 4) ? (uint8_t)rnd(r) : interesting[rnd_below(r, sizeof interesting)];
        size_t pos = b->len ? rnd_below(r, b->len + 1) : 0;
        switch (rnd_below(r, 5)) {
        case 0: /* change */
            if (pos < b->len)
                b->p[pos] = c;
            break;
        case 1: /* insert */
            put(b, NULL, 1);
            memmove(b->p + pos + 1, b->p + pos, b->len - 1 - pos);
            b->p[pos] = c;
            break;
        case 2: /* delete */
            if (pos < b->len) {
                memmove(b->p + pos, b->p + pos + 1, b->len - pos - 1);
                b->len--;
            }
            break;
        case 3: /* cut */
            if (one_in(r, 3))
                b->len = pos;
            break;
        default: { /* repeat a slice somewhere else (duplicate members, nested damage) */
            if (b->len == 0)
                break;
            size_t from = rnd_below(r, b->len), n = 1 + rnd_below(r, 24);
            if (n > b->len - from)
                n = b->len - from;
            uint8_t slice[24];
            memcpy(slice, b->p + from, n);
            size_t at = rnd_below(r, b->len + 1);
            put(b, NULL, n);
            memmove(b->p + at + n, b->p + at, b->len - n - at);
            memcpy(b->p + at, slice, n);
        }
        }
    }
}

typedef struct diff_stats {
    unsigned inputs, fast_decided, fallback;
    unsigned by_rc[20]; /* fast-path decisions per result: index -rc % 100 for -5xx, 0 for OK */
} diff_stats;

/* Decodes one input three ways (public API, fast path alone, reference) and checks they agree. */
static void check_input(const uint8_t *data, size_t len, diff_stats *st)
{
    uint8_t *in = exact_copy(data, len);
    size_t scratch_len = SECCHAT_MESSAGE_SCRATCH(len);
    char *scratch = malloc(scratch_len);
    assert_non_null(scratch);
    secchat_message m;
    int rc = secchat_message_decode(&m, scratch, scratch_len, in, len);
    ref_result r;
    ref_decode(&r, in, len);
    if (!same_result(rc, &m, scratch, scratch_len, &r)) {
        print_input(in, len);
        fail_msg("decode gave %d, jansson reference %d", rc, r.rc);
    }
    st->inputs++;

    /* The fast path alone (its precondition: valid UTF-8). */
    if (ref_utf8_valid(in, len)) {
        secchat_message f;
        memset(&f, 0, sizeof f);
        int frc = sc_json_decode_fast(&f, scratch, in, len);
        if (frc == SC_JSON_FALLBACK) {
            st->fallback++;
        } else {
            if (!same_result(frc, &f, scratch, scratch_len, &r)) {
                print_input(in, len);
                fail_msg("fast path gave %d, jansson reference %d", frc, r.rc);
            }
            st->fast_decided++;
            st->by_rc[frc == 0 ? 0 : (-frc) % 100]++;
        }
    }
    ref_free(&r);
    free(scratch);
    free(in);
}

/* Rounds and seed of the differential test; a longer run: -DDIFF_ROUNDS=200000 -DDIFF_SEED=7. */
#ifndef DIFF_ROUNDS
#define DIFF_ROUNDS 2500
#endif
#ifndef DIFF_SEED
#define DIFF_SEED 0xD1B54A32D192ED03u
#endif

static void test_decode_differential(void **state)
{
    (void)state;
    rng r = {(uint64_t)DIFF_SEED};
    diff_stats st = {0};
    bytes b = {0}, base = {0}, tmp = {0};
    rnd_msg x = {0};
    uint8_t *enc = malloc(SECCHAT_MESSAGE_MAX);
    assert_non_null(enc);

    /* Hand-written variants, each also damaged many ways. */
    static const char *const hand[] = {
        "{\"sender\":\"Server\",\"content\":\"Please enter your name:\"}",
        "{\"content\":\"\\ud83d\\ude00 \\u00e9\\/\\\"\\\\\",\"ts\":-12}",
        "{ \"content\" : \"a\" , \"sender\" : null , \"x\" : [ 1 , { \"y\" : \"z\" } ] }",
        "{\"to\":\"b\",\"room\":\"r\",\"type\":\"dm\",\"content\":\"c\",\"sender\":\"s\",\"ts\":1}",
        "{\"content\":\"0123456789abcdef0123456789abcdef\\n0123456789abcdef\"}",
        "{\"content\":\"a\",\"content\":\"b\"}",
        "{\"content\":\"\\u0000\"}",
        "{}",
        "{\"ts\":123456789012345678,\"content\":\"\"}",
    };
    for (size_t h = 0; h < sizeof hand / sizeof hand[0]; h++) {
        check_input((const uint8_t *)hand[h], strlen(hand[h]), &st);
        for (int k = 0; k < 200; k++) {
            b.len = 0;
            put_str(&b, hand[h]);
            mutate(&r, &b);
            check_input(b.p, b.len, &st);
        }
    }

    for (int iter = 0; iter < DIFF_ROUNDS; iter++) {
        /* Half our own encoder's output, half other writers' style. */
        if (iter % 2 == 0) {
            rnd_message(&r, &x, 30);
            size_t len;
            assert_int_equal(secchat_message_encode(&x.m, enc, SECCHAT_MESSAGE_MAX, &len), SECCHAT_OK);
            base.len = 0;
            put(&base, enc, len);
        } else {
            gen_message_json(&r, &base, &tmp);
        }
        check_input(base.p, base.len, &st);
        for (int k = 0; k < 3; k++) {
            b.len = 0;
            put(&b, base.p, base.len);
            mutate(&r, &b);
            check_input(b.p, b.len, &st);
        }
    }

    print_message("differential: %u inputs; fast path decided %u (OK %u, JSON %u, NO_CONTENT %u, NUL %u, "
                  "DUPLICATE %u), fell back on %u\n",
                  st.inputs, st.fast_decided, st.by_rc[0], st.by_rc[1], st.by_rc[3], st.by_rc[6], st.by_rc[7],
                  st.fallback);
    /* The fast path really decides most inputs, errors included, and the fallback is exercised too. */
    assert_true(st.inputs > 10000);
    assert_true(st.by_rc[0] > 2000);
    assert_true(st.by_rc[1] > 500);
    assert_true(st.by_rc[3] > 20);
    assert_true(st.by_rc[6] > 20);
    assert_true(st.by_rc[7] > 20);
    assert_true(st.fallback > 1000);
    /* It never answers FIELD_TYPE, NOT_OBJECT or UTF8: those are not its to decide. */
    assert_int_equal(st.by_rc[2] + st.by_rc[4] + st.by_rc[5], 0);

    rnd_msg_free(&x);
    free(b.p);
    free(base.p);
    free(tmp.p);
    free(enc);
}

/* ------------------------------------------------------------------------ */
/* UTF-8                                                                    */
/* ------------------------------------------------------------------------ */

static void test_utf8_kuhn(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int valid;
    } cases[] = {
        {"", 1},
        {"\x7f", 1},                                         /* U+007F */
        {"\xc2\x80", 1},                                     /* U+0080 */
        {"\xdf\xbf", 1},                                     /* U+07FF */
        {"\xe0\xa0\x80", 1},                                 /* U+0800 */
        {"\xef\xbf\xbf", 1},                                 /* U+FFFF */
        {"\xf0\x90\x80\x80", 1},                             /* U+10000 */
        {"\xf4\x8f\xbf\xbf", 1},                             /* U+10FFFF */
        {"\xed\x9f\xbf", 1},                                 /* U+D7FF */
        {"\xee\x80\x80", 1},                                 /* U+E000 */
        {"\xef\xbf\xbe", 1},                                 /* U+FFFE: a noncharacter, still valid UTF-8 */
        {"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", 1}, /* kosme */
        {"\xf4\x90\x80\x80", 0},                             /* U+110000 */
        {"\xf7\xbf\xbf\xbf", 0},                             /* U+1FFFFF */
        {"\xf8\x88\x80\x80\x80", 0},                         /* 5-byte form */
        {"\xfc\x84\x80\x80\x80\x80", 0},
        {"\x80", 0}, /* lone continuations */
        {"\xbf", 0},
        {"\x80\xbf\x80", 0},
        {"\xc0\x80", 0}, /* overlong U+0000 */
        {"\xc0\xaf", 0}, /* overlong '/' */
        {"\xc1\xbf", 0}, /* overlong U+007F */
        {"\xe0\x80\xaf", 0},
        {"\xe0\x9f\xbf", 0}, /* overlong U+07FF */
        {"\xf0\x80\x80\xaf", 0},
        {"\xf0\x8f\xbf\xbf", 0},         /* overlong U+FFFF */
        {"\xed\xa0\x80", 0},             /* U+D800 */
        {"\xed\xad\xbf", 0},             /* U+DB7F */
        {"\xed\xae\x80", 0},             /* U+DB80 */
        {"\xed\xaf\xbf", 0},             /* U+DBFF */
        {"\xed\xb0\x80", 0},             /* U+DC00 */
        {"\xed\xbf\xbf", 0},             /* U+DFFF */
        {"\xed\xa0\x80\xed\xb0\x80", 0}, /* a surrogate pair in CESU-8 */
        {"\xc2", 0},                     /* truncated */
        {"\xe0\xa0", 0},
        {"\xf0\x90\x80", 0},
        {"\xf4\x8f\xbf", 0},
        {"\xc2\x41", 0},
        {"\xe2\x82\x41", 0},
        {"\xf0\x9f\x98\x41", 0},
        {"\xfe", 0},
        {"\xff", 0},
        {"\xfe\xfe\xff\xff", 0},
        {"abcdefghijklmno\xc3", 0},             /* truncated after a 16-byte run */
        {"abcdefghijklmnopqrstuvw\xe2\x82", 0}, /* after 16 + 7 */
        {"abcdefghijklmnopqrstuvw\xe2\x82\xac", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const uint8_t *s = (const uint8_t *)cases[i].s;
        size_t len = strlen(cases[i].s);
        uint8_t *copy = exact_copy(s, len);
        if (secchat_utf8_valid(copy, len) != cases[i].valid || ref_utf8_valid(copy, len) != cases[i].valid) {
            print_input(copy, len);
            fail_msg("case %zu: expected %d", i, cases[i].valid);
        }
        free(copy);
    }
    /* U+0000 is valid UTF-8 (the JSON layer rejects it, not this one). */
    assert_int_equal(secchat_utf8_valid((const uint8_t *)"\0", 1), 1);
    assert_int_equal(secchat_utf8_valid(NULL, 0), 1);
    assert_int_equal(secchat_utf8_valid(NULL, 1), 0);
}

/* Exhaustive short strings, then each one at every offset of an ASCII run (word boundaries). */
static void test_utf8_exhaustive(void **state)
{
    (void)state;
    uint8_t s[4];
    for (unsigned a = 0; a < 256; a++) {
        s[0] = (uint8_t)a;
        assert_int_equal(secchat_utf8_valid(s, 1), ref_utf8_valid(s, 1));
        for (unsigned b = 0; b < 256; b++) {
            s[1] = (uint8_t)b;
            assert_int_equal(secchat_utf8_valid(s, 2), ref_utf8_valid(s, 2));
            if (a < 0xC0)
                continue;
            for (unsigned c = 0; c < 256; c++) {
                s[2] = (uint8_t)c;
                if (secchat_utf8_valid(s, 3) != ref_utf8_valid(s, 3))
                    fail_msg("3 bytes %02x %02x %02x", a, b, c);
            }
        }
    }
    static const uint8_t tails[] = {0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff};
    for (unsigned a = 0xE0; a < 0x100; a++)
        for (unsigned b = 0; b < 256; b++)
            for (size_t c = 0; c < sizeof tails; c++)
                for (size_t d = 0; d < sizeof tails; d++) {
                    uint8_t t[4] = {(uint8_t)a, (uint8_t)b, tails[c], tails[d]};
                    if (secchat_utf8_valid(t, 4) != ref_utf8_valid(t, 4))
                        fail_msg("4 bytes %02x %02x %02x %02x", a, b, tails[c], tails[d]);
                }

    static const char *const seqs[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xc3", "\xe2\x82",
                                       "\x80",     "\xed\xa0\x80", "\xc0\x80",         "\xff", "\x7f"};
    uint8_t buf[48];
    for (size_t q = 0; q < sizeof seqs / sizeof seqs[0]; q++) {
        size_t n = strlen(seqs[q]);
        for (size_t off = 0; off + n <= sizeof buf; off++)
            for (size_t total = off + n; total <= sizeof buf; total += 7) {
                memset(buf, 'a', sizeof buf);
                memcpy(buf + off, seqs[q], n);
                uint8_t *copy = exact_copy(buf, total);
                assert_int_equal(secchat_utf8_valid(copy, total), ref_utf8_valid(copy, total));
                free(copy);
            }
    }
}

/* Random byte strings, mostly valid text with some damage, against the slow decoder. */
static void test_utf8_random(void **state)
{
    (void)state;
    rng r = {42};
    bytes b = {0};
    unsigned valid = 0, invalid = 0;
    for (int iter = 0; iter < 20000; iter++) {
        b.len = 0;
        put(&b, NULL, 0);
        size_t n = rnd_below(&r, iter < 15000 ? 24 : 200);
        for (size_t i = 0; i < n; i++)
            put_utf8(&b, one_in(&r, 3) ? 0x20 + (uint32_t)rnd_below(&r, 0x5F) : rnd_cp(&r));
        size_t flips = rnd_below(&r, 3);
        for (size_t f = 0; f < flips && b.len > 0; f++)
            b.p[rnd_below(&r, b.len)] = (uint8_t)rnd(&r);
        if (one_in(&r, 4) && b.len > 0)
            b.len = rnd_below(&r, b.len);
        uint8_t *copy = exact_copy(b.p, b.len);
        int want = ref_utf8_valid(copy, b.len);
        if (secchat_utf8_valid(copy, b.len) != want) {
            print_input(copy, b.len);
            fail_msg("expected %d", want);
        }
        free(copy);
        want ? valid++ : invalid++;
    }
    assert_true(valid > 5000 && invalid > 5000);
    free(b.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* Encoding. */
        cmocka_unit_test(test_encode_exact),
        cmocka_unit_test(test_encode_escapes),
        cmocka_unit_test(test_encode_ts),
        cmocka_unit_test(test_encode_errors),
        cmocka_unit_test(test_encode_limits),
        cmocka_unit_test(test_roundtrip_random),
        cmocka_unit_test(test_roundtrip_large),
        /* Decoding. */
        cmocka_unit_test(test_decode_basic),
        cmocka_unit_test(test_decode_jansson_path),
        cmocka_unit_test(test_decode_errors),
        cmocka_unit_test(test_decode_args),
        cmocka_unit_test(test_decode_differential),
        /* UTF-8. */
        cmocka_unit_test(test_utf8_kuhn),
        cmocka_unit_test(test_utf8_exhaustive),
        cmocka_unit_test(test_utf8_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
