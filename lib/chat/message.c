/*
 * Application messages: compact JSON objects (include/secchat/message.h).
 *
 * Encoding is written by hand to stay byte-identical to the original
 * program's serde_json output (jansson escapes differently, e.g. \u001F).
 *
 * Decoding tries the strict fast path of json_fast.c first, since jansson
 * costs ~3.5 us for a 100-byte message against a ~300 ns budget; whatever
 * the fast path does not cover is parsed again from the start by jansson,
 * whose answer defines the result. Both run after the same two checks, so
 * that their outcome is decided before either parser looks at the input:
 * invalid UTF-8 anywhere is MESSAGE_UTF8, and a first non-whitespace byte
 * other than '{' is MESSAGE_NOT_OBJECT (whatever follows, well-formed or not;
 * empty or all-whitespace input is MESSAGE_JSON).
 */
#include <string.h>

#include <jansson.h>

#include "chat/json_fast.h"
#include "chat/utf8.h"
#include "common/internal.h"
#include "secchat/message.h"

/* ------------------------------------------------------------------------ */
/* Encoding                                                                 */
/* ------------------------------------------------------------------------ */

/*
 * The bytes each character adds when serde_json writes it in a string: 1 for
 * \" \\ \b \f \n \r \t, 5 for the other controls (\u00xx, lowercase hex), 0
 * for the rest of ASCII, which is copied as is (DEL and '/' included). Bytes
 * from 0x80 are NON_ASCII: copied as is once their UTF-8 is checked.
 */
#define NON_ASCII 0xFF
#define NA NON_ASCII
static const uint8_t escape_extra[256] = {
    5,  5,  5,  5,  5,  5,  5,  5,  1,  1,  1,  5,  1,  1,  5,  5,  /* 0x00 */
    5,  5,  5,  5,  5,  5,  5,  5,  5,  5,  5,  5,  5,  5,  5,  5,  /* 0x10 */
    0,  0,  1,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  /* 0x20 */
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  /* 0x30 */
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  /* 0x40 */
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  1,  0,  0,  0,  /* 0x50 */
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  /* 0x60 */
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  /* 0x70 */
    NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, /* 0x80 */
    NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, /* 0x90 */
    NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, /* 0xA0 */
    NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, /* 0xB0 */
    NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, /* 0xC0 */
    NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, /* 0xD0 */
    NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, /* 0xE0 */
    NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, /* 0xF0 */
};
#undef NA

/* The letter after the backslash for the short escapes ('u' for \u00xx). */
static const char escape_letter[32] = {
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
};

/* Length of s[0..n) once escaped, or SIZE_MAX if it is not valid UTF-8. */
static size_t escaped_len(const uint8_t *s, size_t n)
{
    size_t extra = 0, i = 0;
    while (i < n) {
        /* Words with nothing to escape and no UTF-8 to check go by 8 bytes at a time. */
        if (n - i >= 8) {
            uint64_t m = sc_swar_json_special(sc_swar_load(s + i));
            if (m == 0) {
                i += 8;
                continue;
            }
            i += sc_swar_first(m);
        }
        uint8_t c = s[i];
        if (escape_extra[c] != NON_ASCII) {
            extra += escape_extra[c];
            i++;
            continue;
        }
        size_t k = sc_utf8_char_len(s + i, n - i);
        if (k == 0)
            return SIZE_MAX;
        i += k;
    }
    return n + extra;
}

/*
 * Writes s[0..n) escaped at d and returns the end, or NULL if s is not valid
 * UTF-8. The caller guarantees room for the escaped string before out_end;
 * words are stored whole (even when only their first bytes count) while at
 * least 8 bytes remain before out_end.
 */
static uint8_t *escape_into(uint8_t *d, const uint8_t *out_end, const uint8_t *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i = 0;
    for (;;) {
        if (n - i >= 8 && out_end - d >= 8) {
            uint64_t w = sc_swar_load(s + i);
            uint64_t m = sc_swar_json_special(w);
            memcpy(d, &w, 8);
            if (m == 0) {
                d += 8;
                i += 8;
                continue;
            }
            size_t k = sc_swar_first(m);
            d += k;
            i += k;
        } else {
            /* The tail (and short strings): plain ASCII in a tight loop. */
            while (i < n && escape_extra[s[i]] == 0)
                *d++ = s[i++];
            if (i == n)
                return d;
        }
        uint8_t c = s[i];
        if (c >= 0x80) {
            size_t k = sc_utf8_char_len(s + i, n - i);
            if (k == 0)
                return NULL;
            if (n - i >= 4 && out_end - d >= 4) { /* 4 bytes at once, as above */
                memcpy(d, s + i, 4);
            } else {
                for (size_t j = 0; j < k; j++)
                    d[j] = s[i + j];
            }
            d += k;
            i += k;
            continue;
        }
        i++;
        if (escape_extra[c] == 0) { /* a false alarm, or any byte where sc_swar_first is not exact */
            *d++ = c;
            continue;
        }
        *d++ = '\\';
        if (c >= 0x20) { /* '"' or '\\' */
            *d++ = c;
            continue;
        }
        *d++ = (uint8_t)escape_letter[c];
        if (escape_letter[c] == 'u') {
            *d++ = '0';
            *d++ = '0';
            *d++ = (uint8_t)hex[c >> 4];
            *d++ = (uint8_t)hex[c & 15];
        }
    }
}

/* Number of decimal digits of u. */
static size_t decimal_digits(uint64_t u)
{
    static const uint64_t pow10[20] = {
        UINT64_C(1),
        UINT64_C(10),
        UINT64_C(100),
        UINT64_C(1000),
        UINT64_C(10000),
        UINT64_C(100000),
        UINT64_C(1000000),
        UINT64_C(10000000),
        UINT64_C(100000000),
        UINT64_C(1000000000),
        UINT64_C(10000000000),
        UINT64_C(100000000000),
        UINT64_C(1000000000000),
        UINT64_C(10000000000000),
        UINT64_C(100000000000000),
        UINT64_C(1000000000000000),
        UINT64_C(10000000000000000),
        UINT64_C(100000000000000000),
        UINT64_C(1000000000000000000),
        UINT64_C(10000000000000000000),
    };
#if defined(__GNUC__)
    /* bits * log10(2) gives the count or one less (Bit Twiddling Hacks, "IntegerLog10"). */
    size_t t = (size_t)(64 - __builtin_clzll(u | 1)) * 1233 >> 12;
    return t + (u >= pow10[t]) + (u == 0);
#else
    size_t n = 1;
    while (n < 20 && u >= pow10[n])
        n++;
    return n;
#endif
}

/* Writes v in decimal at out, which has room for its len bytes (decimal_digits, plus 1 if negative). */
static void write_i64(uint8_t *out, size_t len, int64_t v)
{
    static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                "8081828384858687888990919293949596979899";
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    uint8_t *p = out + len;
    while (u >= 100000000) { /* eight digits at a time, then 32-bit arithmetic, which is cheaper */
        uint32_t lo = (uint32_t)(u % 100000000);
        u /= 100000000;
        for (int k = 0; k < 4; k++) {
            uint32_t r = lo % 100 * 2;
            lo /= 100;
            *--p = (uint8_t)pairs[r + 1];
            *--p = (uint8_t)pairs[r];
        }
    }
    uint32_t x = (uint32_t)u;
    while (x >= 100) {
        uint32_t r = x % 100 * 2;
        x /= 100;
        *--p = (uint8_t)pairs[r + 1];
        *--p = (uint8_t)pairs[r];
    }
    if (x >= 10) {
        *--p = (uint8_t)pairs[(size_t)x * 2 + 1];
        *--p = (uint8_t)pairs[(size_t)x * 2];
    } else {
        *--p = (uint8_t)('0' + x);
    }
    if (v < 0)
        *--p = '-';
}

/* The keys with the punctuation around them: each closes the string before it. */
#define KEY_SENDER "{\"sender\":\""
#define KEY_CONTENT "\",\"content\":\""
#define KEY_TYPE "\",\"type\":\""
#define KEY_ROOM "\",\"room\":\""
#define KEY_TO "\",\"to\":\""
#define KEY_TS "\",\"ts\":"
#define LIT_LEN(lit) (sizeof(lit) - 1)

enum { F_SENDER, F_CONTENT, F_TYPE, F_ROOM, F_TO, F_COUNT };

static const uint8_t field_key_len[F_COUNT] = {LIT_LEN(KEY_SENDER), LIT_LEN(KEY_CONTENT), LIT_LEN(KEY_TYPE),
                                               LIT_LEN(KEY_ROOM), LIT_LEN(KEY_TO)};

/* Bytes of the message around its strings, and the length of ts's digits. */
static size_t frame_len(const secchat_message *msg, const char *const str[F_COUNT], size_t *ts_len)
{
    size_t n = 2; /* the last string's '"' and the final '}' */
    for (int i = 0; i < F_COUNT; i++)
        if (str[i] != NULL)
            n += field_key_len[i];
    *ts_len = 0;
    if (msg->has_ts) {
        uint64_t u = msg->ts < 0 ? 0 - (uint64_t)msg->ts : (uint64_t)msg->ts;
        *ts_len = decimal_digits(u) + (msg->ts < 0);
        n += LIT_LEN(KEY_TS) - 1 + *ts_len; /* its '"' replaces the one before '}' */
    }
    return n;
}

/* Writes key (a literal, so the copy is inlined) and the escaped string s; NULL if s is not valid UTF-8. */
static inline uint8_t *put_field(uint8_t *d, const uint8_t *out_end, const char *key, size_t key_len, const char *s,
                                 size_t n)
{
    memcpy(d, key, key_len);
    return escape_into(d + key_len, out_end, (const uint8_t *)s, n);
}

/* Writes the whole message at out; NULL if a string is not valid UTF-8. Room is the caller's business. */
static uint8_t *write_message(uint8_t *out, const uint8_t *out_end, const secchat_message *msg,
                              const char *const str[F_COUNT], const size_t slen[F_COUNT], size_t ts_len)
{
    uint8_t *d = put_field(out, out_end, KEY_SENDER, LIT_LEN(KEY_SENDER), str[F_SENDER], slen[F_SENDER]);
    if (d != NULL)
        d = put_field(d, out_end, KEY_CONTENT, LIT_LEN(KEY_CONTENT), str[F_CONTENT], slen[F_CONTENT]);
    if (d != NULL && str[F_TYPE] != NULL)
        d = put_field(d, out_end, KEY_TYPE, LIT_LEN(KEY_TYPE), str[F_TYPE], slen[F_TYPE]);
    if (d != NULL && str[F_ROOM] != NULL)
        d = put_field(d, out_end, KEY_ROOM, LIT_LEN(KEY_ROOM), str[F_ROOM], slen[F_ROOM]);
    if (d != NULL && str[F_TO] != NULL)
        d = put_field(d, out_end, KEY_TO, LIT_LEN(KEY_TO), str[F_TO], slen[F_TO]);
    if (d == NULL)
        return NULL;
    if (msg->has_ts) {
        memcpy(d, KEY_TS, LIT_LEN(KEY_TS));
        write_i64(d + LIT_LEN(KEY_TS), ts_len, msg->ts);
        d += LIT_LEN(KEY_TS) + ts_len;
    } else {
        *d++ = '"';
    }
    *d++ = '}';
    return d;
}

SECCHAT_API int secchat_message_encode(const secchat_message *msg, uint8_t *out, size_t cap, size_t *out_len)
{
    if (out_len != NULL)
        *out_len = 0;
    if (msg == NULL || msg->content == NULL || out_len == NULL || (out == NULL && cap > 0))
        return SECCHAT_ERR_INVALID_ARGUMENT;

    const char *str[F_COUNT] = {msg->sender != NULL ? msg->sender : "", msg->content, msg->type, msg->room, msg->to};
    size_t slen[F_COUNT] = {0}, ts_len;
    size_t frame = frame_len(msg, str, &ts_len);
    size_t worst = frame; /* every byte escaped as \u00xx */
    int huge = 0;
    for (int i = 0; i < F_COUNT; i++) {
        if (str[i] == NULL)
            continue;
        slen[i] = strlen(str[i]);
        if (slen[i] > SECCHAT_MESSAGE_MAX)
            huge = 1; /* too large whatever its escapes */
        else
            worst += 6 * slen[i]; /* bounded: 5 * 6 * 65519 */
    }

    /* The usual case, a buffer the size of the largest message: one pass, checking as it writes. */
    if (!huge && worst <= cap) {
        uint8_t *end = write_message(out, out + cap, msg, str, slen, ts_len);
        if (end == NULL)
            return SECCHAT_ERR_MESSAGE_UTF8;
        size_t need = (size_t)(end - out);
        if (need > SECCHAT_MESSAGE_MAX)
            return SECCHAT_ERR_MESSAGE_TOO_LARGE;
        *out_len = need;
        return SECCHAT_OK;
    }

    /*
     * Otherwise the exact length first, then the bytes. Every string's UTF-8
     * is checked before the size is judged, as in the one-pass case, so that
     * MESSAGE_UTF8 does not depend on the buffer or the other lengths.
     */
    size_t need = frame;
    for (int i = 0; i < F_COUNT; i++) {
        if (str[i] == NULL)
            continue;
        const uint8_t *s = (const uint8_t *)str[i];
        size_t e =
            slen[i] > SECCHAT_MESSAGE_MAX ? (secchat_utf8_valid(s, slen[i]) ? 0 : SIZE_MAX) : escaped_len(s, slen[i]);
        if (e == SIZE_MAX)
            return SECCHAT_ERR_MESSAGE_UTF8;
        need += e;
    }
    if (huge || need > SECCHAT_MESSAGE_MAX)
        return SECCHAT_ERR_MESSAGE_TOO_LARGE;
    *out_len = need;
    if (need > cap)
        return SECCHAT_ERR_BUFFER_TOO_SMALL;
    (void)write_message(out, out + need, msg, str, slen, ts_len); /* cannot fail: checked above */
    return SECCHAT_OK;
}

/* ------------------------------------------------------------------------ */
/* Decoding                                                                 */
/* ------------------------------------------------------------------------ */

static int map_jansson_error(const json_error_t *err)
{
    switch (json_error_code(err)) {
    case json_error_duplicate_key:
        return SECCHAT_ERR_MESSAGE_DUPLICATE;
    case json_error_null_character:   /* \u0000 in a value */
    case json_error_null_byte_in_key: /* \u0000 in a key */
        return SECCHAT_ERR_MESSAGE_NUL;
    case json_error_invalid_utf8: /* not reached: checked before */
        return SECCHAT_ERR_MESSAGE_UTF8;
    case json_error_out_of_memory:
        return SECCHAT_ERR_NO_MEMORY;
    default: /* syntax, premature end, trailing bytes, number overflow, nesting over 2048 */
        return SECCHAT_ERR_MESSAGE_JSON;
    }
}

/* Copies string value v with a NUL into scratch at *w, which must have room. */
static const char *copy_string(const json_t *v, char **w)
{
    size_t n = json_string_length(v);
    char *s = *w;
    memcpy(s, json_string_value(v), n);
    s[n] = '\0';
    *w = s + n + 1;
    return s;
}

/* The field rules of message.h applied to jansson's tree. */
static int take_fields(secchat_message *msg, char *scratch, size_t scratch_len, const json_t *root)
{
    static const char *const names[4] = {"sender", "type", "room", "to"};
    if (!json_is_object(root))
        return SECCHAT_ERR_MESSAGE_NOT_OBJECT; /* not reached: the input starts with '{' */
    const json_t *content = json_object_get(root, "content");
    const json_t *ts = json_object_get(root, "ts");
    const json_t *opt[4];
    if (!json_is_string(content))
        return SECCHAT_ERR_MESSAGE_NO_CONTENT;
    for (int i = 0; i < 4; i++) {
        opt[i] = json_object_get(root, names[i]);
        if (json_is_null(opt[i]))
            opt[i] = NULL; /* null is absent */
        if (opt[i] != NULL && !json_is_string(opt[i]))
            return SECCHAT_ERR_MESSAGE_FIELD_TYPE;
    }
    if (ts != NULL && !json_is_null(ts) && !json_is_integer(ts))
        return SECCHAT_ERR_MESSAGE_FIELD_TYPE;

    /*
     * Each member appears once (duplicates were rejected) and its string
     * unescapes to fewer bytes than its quoted form, NUL included, and the
     * object adds at least "{}" for an empty sender: it all fits in
     * json_len + 1 bytes. Checked all the same, since it is cheap.
     */
    size_t need = json_string_length(content) + 1 + (opt[0] == NULL);
    for (int i = 0; i < 4; i++)
        if (opt[i] != NULL)
            need += json_string_length(opt[i]) + 1;
    if (need > scratch_len)
        return SECCHAT_ERR_BUFFER_TOO_SMALL;

    char *w = scratch;
    const char *s[4] = {NULL};
    msg->content = copy_string(content, &w);
    msg->content_len = json_string_length(content);
    for (int i = 0; i < 4; i++)
        if (opt[i] != NULL)
            s[i] = copy_string(opt[i], &w);
    if (s[0] == NULL) {
        *w = '\0';
        s[0] = w;
    }
    msg->sender = s[0];
    msg->type = s[1];
    msg->room = s[2];
    msg->to = s[3];
    if (ts != NULL && json_is_integer(ts)) {
        msg->ts = (int64_t)json_integer_value(ts);
        msg->has_ts = 1;
    }
    return SECCHAT_OK;
}

static int decode_jansson(secchat_message *msg, char *scratch, size_t scratch_len, const uint8_t *json, size_t json_len)
{
    /*
     * A raw NUL byte is a syntax error where it stands, but jansson 2.14
     * skips one that directly follows a number or true/false/null (its
     * reader takes an unread NUL for the end of its one-character buffer),
     * so it accepts {"ts":1\0}. So jansson reads only the bytes before the
     * first NUL: any error it finds there comes first; if there is none, the
     * NUL is the first error.
     */
    const uint8_t *nul = memchr(json, 0, json_len);
    size_t len = nul != NULL ? (size_t)(nul - json) : json_len;
    json_error_t err;
    /* No JSON_ALLOW_NUL (\u0000 is an error), no JSON_DECODE_ANY (the top level is checked before). */
    json_t *root = json_loadb((const char *)json, len, JSON_REJECT_DUPLICATES, &err);
    if (root == NULL)
        return map_jansson_error(&err);
    int rc = nul != NULL ? SECCHAT_ERR_MESSAGE_JSON : take_fields(msg, scratch, scratch_len, root);
    json_decref(root);
    return rc;
}

SECCHAT_API int secchat_message_decode(secchat_message *msg, char *scratch, size_t scratch_len, const uint8_t *json,
                                       size_t json_len)
{
    if (msg == NULL)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    memset(msg, 0, sizeof *msg);
    if (scratch == NULL || (json == NULL && json_len > 0))
        return SECCHAT_ERR_INVALID_ARGUMENT;
    if (scratch_len <= json_len) /* scratch_len < json_len + 1, without overflow */
        return SECCHAT_ERR_BUFFER_TOO_SMALL;

    size_t i = 0;
    while (i < json_len && (json[i] == ' ' || json[i] == '\n' || json[i] == '\r' || json[i] == '\t'))
        i++;
    int rc;
    if (i == json_len)
        rc = SECCHAT_ERR_MESSAGE_JSON;
    else if (json[i] != '{')
        rc = SECCHAT_ERR_MESSAGE_NOT_OBJECT;
    else
        rc = sc_json_decode_fast(msg, scratch, json, json_len);
    if (rc == SECCHAT_OK)
        return rc; /* the fast path has checked every byte's UTF-8 on the way */
    /* Invalid UTF-8 anywhere wins over every other finding (and jansson is
     * only given valid UTF-8). */
    if (!secchat_utf8_valid(json, json_len))
        rc = SECCHAT_ERR_MESSAGE_UTF8;
    else if (rc == SC_JSON_FALLBACK)
        rc = decode_jansson(msg, scratch, scratch_len, json, json_len);
    if (rc != SECCHAT_OK)
        memset(msg, 0, sizeof *msg);
    return rc;
}
