/*
 * A reference reading of the list files (known_servers, authorized_keys),
 * written from their documentation (docs/keys.md, keys.h, and the line and
 * field rules stated in lib/keys/file_io.h) without the library's helpers,
 * so the fuzz targets can compare the library's answer, and the line it
 * blames, with an independent one.
 *
 * Lines end at '\n', a '\r' before it is dropped; fields are separated by
 * runs of spaces and tabs; a line whose first non-blank byte is '#', or
 * with no field, is skipped.
 */
#ifndef SC_FUZZ_LIST_REF_H
#define SC_FUZZ_LIST_REF_H

#include <stddef.h>
#include <string.h>

#include "secchat.h"

#define REF_MAX_FIELDS 3

typedef struct ref_line {
    unsigned number;
    size_t count; /* fields, up to REF_MAX_FIELDS (more are counted as REF_MAX_FIELDS) */
    const char *field[REF_MAX_FIELDS];
    size_t len[REF_MAX_FIELDS];
} ref_line;

typedef struct ref_reader {
    const char *text;
    size_t len, pos;
    unsigned number;
} ref_reader;

static int ref_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* The next line with fields: 1 and fills l, or 0 at the end. */
static int ref_next(ref_reader *r, ref_line *l)
{
    while (r->pos < r->len) {
        const char *s = r->text + r->pos;
        size_t left = r->len - r->pos, n = 0;
        while (n < left && s[n] != '\n')
            n++;
        r->pos += n < left ? n + 1 : n;
        if (n < left && n > 0 && s[n - 1] == '\r')
            n--; /* CRLF; a lone '\r' at the very end stays content */
        r->number++;
        size_t i = 0;
        while (i < n && ref_blank(s[i]))
            i++;
        if (i == n || s[i] == '#')
            continue;
        memset(l, 0, sizeof *l);
        l->number = r->number;
        while (i < n) {
            size_t start = i;
            while (i < n && !ref_blank(s[i]))
                i++;
            if (l->count < REF_MAX_FIELDS) {
                l->field[l->count] = s + start;
                l->len[l->count] = i - start;
            }
            if (l->count < REF_MAX_FIELDS)
                l->count++;
            while (i < n && ref_blank(s[i]))
                i++;
        }
        return 1;
    }
    return 0;
}

/* A field a person could have typed: no byte up to space, no DEL. */
static int ref_printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] == 0x7f)
            return 0;
    return 1;
}

/* The key of a 44-character base64 field (through the public call, on a NUL-terminated copy). */
static int ref_key(const char *s, size_t n, uint8_t key[SECCHAT_KEY_LEN])
{
    char buf[SECCHAT_KEY_BASE64_LEN + 1];
    if (n != SECCHAT_KEY_BASE64_LEN || memchr(s, 0, n) != NULL)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return secchat_key_from_base64(buf, key) == SECCHAT_OK ? 0 : -1;
}

#endif /* SC_FUZZ_LIST_REF_H */
