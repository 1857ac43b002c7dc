/*
 * Header-block tokenizing shared by the server's request parser and the
 * client's response check (RFC 7230 sections 3 and 7): CRLF lines, the start
 * line, "name: value" fields and comma-separated token lists. Nothing here
 * knows about WebSocket; it only enforces HTTP/1.1 syntax and the limits of
 * secchat/ws.h, so both directions refuse exactly the same malformed input.
 */
#ifndef SC_WS_HTTP_FIELDS_H
#define SC_WS_HTTP_FIELDS_H

#include <stddef.h>
#include <stdint.h>

/* A slice of the header block; not NUL-terminated. */
typedef struct sc_http_span {
    const char *ptr;
    size_t len;
} sc_http_span;

typedef struct sc_http_field {
    sc_http_span name;
    sc_http_span value; /* without the optional whitespace around it */
} sc_http_field;

/* Walks one header block line by line; the block is only read. */
typedef struct sc_http_reader {
    const char *block;
    size_t len;
    size_t pos;    /* start of the next line */
    size_t fields; /* fields returned so far */
} sc_http_reader;

void sc_http_reader_init(sc_http_reader *r, const uint8_t *block, size_t len);

/*
 * The first line (request or status line) without its CRLF. Only the line
 * ending is checked here. SECCHAT_OK, or HTTP_MALFORMED for a bare CR or LF
 * or a missing CRLF.
 */
int sc_http_reader_start_line(sc_http_reader *r, sc_http_span *line);

/*
 * The next header field: returns 1 and fills *f, 0 at the empty line, which
 * must end the block exactly, or HTTP_MALFORMED (bad line ending, obs-fold,
 * bad name, whitespace before the colon, control character in the value,
 * bytes after the empty line) or HTTP_TOO_LARGE (more than
 * SECCHAT_WS_MAX_HEADER_FIELDS fields).
 */
int sc_http_reader_next(sc_http_reader *r, sc_http_field *f);

/* 1 when s equals the NUL-terminated str, ignoring ASCII case, else 0. */
int sc_http_span_equals_nocase(sc_http_span s, const char *str);

/* 1 when s equals the NUL-terminated str byte for byte, else 0. */
int sc_http_span_equals(sc_http_span s, const char *str);

/*
 * 1 when the field value, read as a "#token" list (items separated by commas
 * with optional whitespace, empty items allowed), has an item equal to token
 * ignoring ASCII case, else 0.
 */
int sc_http_list_contains(sc_http_span value, const char *token);

/* 1 for RFC 7230 tchar, the characters of a token (field names, methods). */
int sc_http_is_tchar(unsigned char c);

/* ASCII-only lowercase, independent of the C locale (a table: no int-to-char arithmetic). */
static inline char sc_http_lower(char c)
{
    static const char lower[] = "abcdefghijklmnopqrstuvwxyz";
    if (c >= 'A' && c <= 'Z')
        return lower[c - 'A'];
    return c;
}

#endif /* SC_WS_HTTP_FIELDS_H */
