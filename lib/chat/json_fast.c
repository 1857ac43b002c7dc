/*
 * Fast path of the message decoder (see json_fast.h). It must agree exactly
 * with jansson 2.14's json_loadb(JSON_REJECT_DUPLICATES) plus the field rules
 * of message.c, so it only decides where jansson's answer is certain:
 *
 *  - Errors come in document order, as in jansson: everything before the
 *    point where this parser stops is valid JSON, so its first error is
 *    jansson's first error too.
 *  - Any syntax error inside a string is MESSAGE_JSON. \u0000 is reported
 *    only once the whole string has lexed cleanly, as jansson checks for it
 *    after the string token (a later bad escape in the same string wins).
 *  - A key's U+0000 comes before the duplicate check, which comes before ':'.
 *  - Where a token would not be a string (or an integer for ts) the value's
 *    grammar is jansson's business: fall back, even if it is malformed.
 */
#include <string.h>

#include "chat/json_fast.h"
#include "chat/utf8.h"
#include "common/internal.h"

enum { K_SENDER, K_CONTENT, K_TYPE, K_ROOM, K_TO, K_TS };

/* The known key named by the n bytes at k, or -1. */
static int key_id(const char *k, size_t n)
{
    switch (n) {
    case 2:
        if (k[0] == 't' && k[1] == 'o')
            return K_TO;
        if (k[0] == 't' && k[1] == 's')
            return K_TS;
        break;
    case 4:
        if (memcmp(k, "type", 4) == 0)
            return K_TYPE;
        if (memcmp(k, "room", 4) == 0)
            return K_ROOM;
        break;
    case 6:
        if (memcmp(k, "sender", 6) == 0)
            return K_SENDER;
        break;
    case 7:
        if (memcmp(k, "content", 7) == 0)
            return K_CONTENT;
        break;
    default:
        break;
    }
    return -1;
}

/* JSON's four whitespace bytes (RFC 8259), the ones jansson skips; compact input has none. */
static inline const uint8_t *skip_ws(const uint8_t *p, const uint8_t *end)
{
    while (p < end && *p <= ' ' && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

/* The first n (<= 8) bytes of s as a word, the rest zero: constant-folded for literals. */
static inline uint64_t word_of(const char *s, size_t n)
{
    uint64_t w = 0;
    memcpy(&w, s, n);
    return w;
}

/* 1 if the 8 bytes in w start with the n bytes of lit. */
static inline int starts_with(uint64_t w, const char *lit, size_t n)
{
    return (w & word_of("\xff\xff\xff\xff\xff\xff\xff\xff", n)) == word_of(lit, n);
}

/* id, with *skip = n, if w starts with the n bytes of lit; else -1. */
static inline int key_if(uint64_t w, const char *lit, size_t n, int id, size_t *skip)
{
    if (!starts_with(w, lit, n))
        return -1;
    *skip = n;
    return id;
}

/*
 * The common case of a key: a known one written plainly, with its closing
 * quote, at p (just after the opening quote), with 8 input bytes to look at.
 * Returns its id and sets *skip to the bytes up to and including the closing
 * quote, or -1 for anything else (escapes, unknown keys), which scan_string
 * then handles.
 */
static inline int plain_key(const uint8_t *p, const uint8_t *end, size_t *skip)
{
    if (end - p < 8)
        return -1;
    uint64_t w = sc_swar_load(p);
    int k = -1;
#define KEY(lit, id) key_if(w, lit, sizeof(lit) - 1, id, skip)
    switch (*p) {
    case 'c':
        k = KEY("content\"", K_CONTENT);
        break;
    case 's':
        k = KEY("sender\"", K_SENDER);
        break;
    case 'r':
        k = KEY("room\"", K_ROOM);
        break;
    case 't':
        k = KEY("type\"", K_TYPE);
        if (k < 0)
            k = KEY("ts\"", K_TS);
        if (k < 0)
            k = KEY("to\"", K_TO);
        break;
    default:
        break;
    }
#undef KEY
    return k;
}

/* The 4 hex digits at p (either case), or -1. */
static long hex4(const uint8_t *p, const uint8_t *end)
{
    if (end - p < 4)
        return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t c = p[i];
        long d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v << 4 | d;
    }
    return v;
}

static char *put_utf8(char *d, long cp)
{
    if (cp < 0x80) {
        *d++ = (char)cp;
    } else if (cp < 0x800) {
        *d++ = (char)(0xC0 | cp >> 6);
        *d++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *d++ = (char)(0xE0 | cp >> 12);
        *d++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *d++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *d++ = (char)(0xF0 | cp >> 18);
        *d++ = (char)(0x80 | (cp >> 12 & 0x3F));
        *d++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *d++ = (char)(0x80 | (cp & 0x3F));
    }
    return d;
}

/*
 * Lexes the JSON string whose opening quote is just before p, unescaping it
 * into dst with a NUL after it. Returns the position after the closing
 * quote, or NULL on any syntax error (MESSAGE_JSON). *len gets the unescaped
 * length, *nul whether it holds U+0000.
 *
 * The output never outruns the input: plain bytes copy 1:1, "\n" (2 bytes)
 * gives 1, "\uXXXX" (6) at most 3, a surrogate pair (12) gives 4. The caller
 * keeps dst no further into scratch than the opening quote is into the
 * input, so at every step d - scratch < p - json: the string and its NUL fit
 * in the bytes the quoted string occupied, and an 8-byte store at d while 8
 * input bytes remain at p ends before scratch[json_len - 1].
 */
static const uint8_t *scan_string(const uint8_t *p, const uint8_t *end, char *dst, size_t *len, int *nul)
{
    char *d = dst;
    int has_nul = 0;
    for (;;) {
        /* Copy the plain run (anything but '"', '\\' and controls) 8 bytes at a time; the
         * whole word is stored even when only its first k bytes count (see above). A flagged
         * byte may be a false alarm: the byte-wise code below copies it. */
        if (end - p >= 8) {
            uint64_t w = sc_swar_load(p);
            uint64_t m = sc_swar_json_special(w); /* also bytes from 0x80: their UTF-8 is checked here */
            memcpy(d, &w, 8);
            if (m == 0) {
                d += 8;
                p += 8;
                continue;
            }
            size_t k = sc_swar_first(m);
            d += k;
            p += k;
        }
        if (p == end)
            return NULL; /* unterminated */
        uint8_t c = *p++;
        if (c == '"')
            break;
        if (c < 0x20)
            return NULL; /* raw control character */
        if (c >= 0x80) {
            /* Invalid UTF-8 fails here like a syntax error; the caller then
             * checks the whole input so that MESSAGE_UTF8 wins. */
            size_t k = sc_utf8_char_len(p - 1, (size_t)(end - (p - 1)));
            if (k == 0)
                return NULL;
            memcpy(d, p - 1, k);
            d += k;
            p += k - 1;
            continue;
        }
        if (c != '\\') {
            *d++ = (char)c;
            continue;
        }
        if (p == end)
            return NULL;
        switch (*p++) {
        case '"':
            *d++ = '"';
            break;
        case '\\':
            *d++ = '\\';
            break;
        case '/':
            *d++ = '/';
            break;
        case 'b':
            *d++ = '\b';
            break;
        case 'f':
            *d++ = '\f';
            break;
        case 'n':
            *d++ = '\n';
            break;
        case 'r':
            *d++ = '\r';
            break;
        case 't':
            *d++ = '\t';
            break;
        case 'u': {
            long cp = hex4(p, end);
            if (cp < 0)
                return NULL;
            p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                /* A high surrogate must be followed at once by an escaped low one. */
                if (end - p < 2 || p[0] != '\\' || p[1] != 'u')
                    return NULL;
                long lo = hex4(p + 2, end);
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return NULL;
                p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return NULL; /* lone low surrogate */
            } else if (cp == 0) {
                has_nul = 1; /* reported after the string, as jansson does */
            }
            d = put_utf8(d, cp);
            break;
        }
        default:
            return NULL; /* invalid escape */
        }
    }
    *d = '\0';
    *len = (size_t)(d - dst);
    *nul = has_nul;
    return p;
}

/*
 * ts in the form -?(0|[1-9][0-9]{0,17}): at most 18 digits, so it cannot
 * overflow. Returns the position after it, or NULL for anything else (a
 * longer or malformed number, a fraction, an exponent, not a number).
 */
static const uint8_t *scan_int(const uint8_t *p, const uint8_t *end, int64_t *out)
{
    int neg = p < end && *p == '-';
    p += neg;
    const uint8_t *start = p, *lim = end - p > 18 ? p + 18 : end;
    int64_t v = 0;
    while (p < lim && (unsigned)(*p - '0') <= 9)
        v = v * 10 + (*p++ - '0');
    if (p == start || (*start == '0' && p - start > 1))
        return NULL; /* no digits, or "01": jansson's call */
    if (p < end && ((unsigned)(*p - '0') <= 9 || *p == '.' || *p == 'e' || *p == 'E'))
        return NULL; /* 19+ digits, a fraction, an exponent: jansson's call */
    *out = neg ? -v : v;
    return p;
}

int sc_json_decode_fast(secchat_message *msg, char *scratch, const uint8_t *json, size_t json_len)
{
    const uint8_t *p = json, *end = json + json_len;
    char *w = scratch; /* next free byte of scratch; never further in than p is in json */
    const char *field[K_TS] = {NULL};
    size_t content_len = 0, len;
    unsigned seen = 0;
    int64_t ts = 0;
    int nul;

    p = skip_ws(p, end);
    if (p == end || *p != '{')
        return SC_JSON_FALLBACK;
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}') {
        p++;
    } else {
        for (;;) {
            if (p == end || *p != '"')
                return SECCHAT_ERR_MESSAGE_JSON;
            size_t skip;
            int k = plain_key(p + 1, end, &skip);
            if (k >= 0) {
                p += 1 + skip;
            } else {
                /* Any other key: unescaped into scratch at w, compared, then overwritten by the value. */
                p = scan_string(p + 1, end, w, &len, &nul);
                if (p == NULL)
                    return SECCHAT_ERR_MESSAGE_JSON;
                if (nul)
                    return SECCHAT_ERR_MESSAGE_NUL;
                k = key_id(w, len);
                if (k < 0)
                    return SC_JSON_FALLBACK; /* unknown members: jansson checks them for duplicates */
            }
            if (seen & (1u << k))
                return SECCHAT_ERR_MESSAGE_DUPLICATE;
            seen |= 1u << k;

            p = skip_ws(p, end);
            if (p == end || *p != ':')
                return SECCHAT_ERR_MESSAGE_JSON;
            p = skip_ws(p + 1, end);
            if (k == K_TS) {
                p = scan_int(p, end, &ts);
                if (p == NULL)
                    return SC_JSON_FALLBACK;
            } else {
                if (p == end || *p != '"')
                    return SC_JSON_FALLBACK; /* null, a number, an object...: jansson's rules */
                p = scan_string(p + 1, end, w, &len, &nul);
                if (p == NULL)
                    return SECCHAT_ERR_MESSAGE_JSON;
                if (nul)
                    return SECCHAT_ERR_MESSAGE_NUL;
                field[k] = w;
                if (k == K_CONTENT)
                    content_len = len;
                w += len + 1;
            }

            p = skip_ws(p, end);
            if (p == end)
                return SECCHAT_ERR_MESSAGE_JSON;
            if (*p == '}') {
                p++;
                break;
            }
            if (*p != ',')
                return SECCHAT_ERR_MESSAGE_JSON;
            p = skip_ws(p + 1, end);
        }
    }
    if (skip_ws(p, end) != end)
        return SECCHAT_ERR_MESSAGE_JSON; /* trailing bytes */
    if (field[K_CONTENT] == NULL)
        return SECCHAT_ERR_MESSAGE_NO_CONTENT;

    if (field[K_SENDER] == NULL) {
        *w = '\0'; /* fits: w is at most the index of the last closing quote + 1, before the '}' */
        field[K_SENDER] = w;
    }
    msg->sender = field[K_SENDER];
    msg->content = field[K_CONTENT];
    msg->content_len = content_len;
    msg->type = field[K_TYPE];
    msg->room = field[K_ROOM];
    msg->to = field[K_TO];
    msg->ts = ts;
    msg->has_ts = (seen & (1u << K_TS)) != 0;
    return SECCHAT_OK;
}
