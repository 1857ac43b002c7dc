/*
 * UTF-8 and word-at-a-time byte helpers shared by the UTF-8 check
 * (utf8.c), the message encoder (message.c) and the fast JSON path
 * (json_fast.c). Not installed.
 */
#ifndef SC_CHAT_UTF8_H
#define SC_CHAT_UTF8_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * Length (2..4) of the valid, shortest-form UTF-8 sequence starting at s, of
 * at most n (>= 1) bytes, whose lead byte s[0] is >= 0x80; 0 if it is not
 * valid RFC 3629 UTF-8 (stray continuation, C0/C1, overlong, surrogate,
 * above U+10FFFF, or cut short by n).
 */
static inline size_t sc_utf8_char_len(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    if (c >= 0xC2 && c <= 0xDF) /* the most common: Latin, Greek, Cyrillic, Hebrew, Arabic */
        return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;

    uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    size_t len;
    if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong below U+0800 */
        else if (c == 0xED)
            hi = 0x9F; /* U+D800..DFFF are surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong below U+10000 */
        else if (c == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else {
        return 0; /* continuation byte, C0/C1 (overlong), F5..FF */
    }
    if (n < len || s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80)
        return 0;
    if (len == 4 && (s[3] & 0xC0) != 0x80)
        return 0;
    return len;
}

/*
 * Word-at-a-time tests on 8 bytes loaded in memory order. Each returns a
 * mask with bit 7 set in every byte where the test holds, and possibly in
 * some others (borrows carry into the next byte up): a flagged byte may be
 * a false alarm that the caller checks itself, but every byte before the
 * first flagged one fails the test.
 */
#define SC_SWAR_ONES UINT64_C(0x0101010101010101)
#define SC_SWAR_HIGH UINT64_C(0x8080808080808080)

/* sc_swar_first gives the exact index only on little-endian machines. */
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SC_SWAR_LE 1
#else
#define SC_SWAR_LE 0
#endif

static inline uint64_t sc_swar_load(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

/*
 * Bytes that JSON cannot hold raw in a string (controls, '"', '\\') and
 * bytes from 0x80 (UTF-8 to check). The '"' and '\\' tests may flag other
 * bytes from 0x80 too, which are flagged anyway.
 */
static inline uint64_t sc_swar_json_special(uint64_t w)
{
    uint64_t q = w ^ (SC_SWAR_ONES * '"'), b = w ^ (SC_SWAR_ONES * '\\');
    return ((w - SC_SWAR_ONES * 0x20) | w | (q - SC_SWAR_ONES) | (b - SC_SWAR_ONES)) & SC_SWAR_HIGH;
}

/* Controls, '"' and '\\' only: bytes from 0x80 are not flagged (but may cause false alarms above them). */
static inline uint64_t sc_swar_json_escape(uint64_t w)
{
    uint64_t t = w & ~SC_SWAR_HIGH;
    uint64_t q = t ^ (SC_SWAR_ONES * '"'), b = t ^ (SC_SWAR_ONES * '\\');
    return ((t - SC_SWAR_ONES * 0x20) | (q - SC_SWAR_ONES) | (b - SC_SWAR_ONES)) & ~w & SC_SWAR_HIGH;
}

/*
 * Index in memory order of the first flagged byte of a nonzero mask. Where
 * that is not the lowest byte (not little-endian), it answers 0, which
 * callers treat as "look at the next byte yourself": slower, never wrong.
 */
static inline size_t sc_swar_first(uint64_t mask)
{
#if SC_SWAR_LE
    return (size_t)__builtin_ctzll(mask) / 8;
#else
    (void)mask;
    return 0;
#endif
}

#endif /* SC_CHAT_UTF8_H */
