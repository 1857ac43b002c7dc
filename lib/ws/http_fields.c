/* Header-block tokenizing (RFC 7230 sections 3, 3.2, 7) for both handshake directions. */
#include "ws/http_fields.h"

#include <string.h>

#include "common/internal.h"
#include "secchat/ws.h"

void sc_http_reader_init(sc_http_reader *r, const uint8_t *block, size_t len)
{
    r->block = (const char *)block;
    r->len = block ? len : 0;
    r->pos = 0;
    r->fields = 0;
}

/*
 * Takes the line at r->pos up to its CRLF. A lone LF or a CR not followed by
 * LF is refused rather than tolerated (RFC 7230 3.5 allows either): peers
 * that disagree on where a line ends are how requests get smuggled.
 */
static int read_line(sc_http_reader *r, sc_http_span *line)
{
    for (size_t i = r->pos; i < r->len; i++) {
        char c = r->block[i];
        if (c == '\n')
            return SECCHAT_ERR_HTTP_MALFORMED;
        if (c == '\r') {
            if (i + 1 >= r->len || r->block[i + 1] != '\n')
                return SECCHAT_ERR_HTTP_MALFORMED;
            line->ptr = r->block + r->pos;
            line->len = i - r->pos;
            r->pos = i + 2;
            return SECCHAT_OK;
        }
    }
    return SECCHAT_ERR_HTTP_MALFORMED; /* no CRLF before the end of the block */
}

int sc_http_reader_start_line(sc_http_reader *r, sc_http_span *line)
{
    return read_line(r, line);
}

int sc_http_is_tchar(unsigned char c)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* field-vchar plus SP/HTAB; obs-text (0x80-0xFF) is allowed since RFC 7230 still permits it in values. */
static int is_value_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

int sc_http_reader_next(sc_http_reader *r, sc_http_field *f)
{
    sc_http_span line;
    int rc = read_line(r, &line);
    if (rc != SECCHAT_OK)
        return rc;
    if (line.len == 0)
        return r->pos == r->len ? 0 : SECCHAT_ERR_HTTP_MALFORMED;

    /* Counted before the syntax check: a 65th line is one too many whatever it holds. */
    if (++r->fields > SECCHAT_WS_MAX_HEADER_FIELDS)
        return SECCHAT_ERR_HTTP_TOO_LARGE;

    /* A line opening with whitespace is obs-fold (or whitespace before the first field): both refused, 3.2.4. */
    size_t i = 0;
    while (i < line.len && sc_http_is_tchar((unsigned char)line.ptr[i]))
        i++;
    /* No whitespace between name and colon (3.2.4), and the name is a non-empty token. */
    if (i == 0 || i == line.len || line.ptr[i] != ':')
        return SECCHAT_ERR_HTTP_MALFORMED;
    f->name.ptr = line.ptr;
    f->name.len = i;

    size_t start = i + 1;
    size_t end = line.len;
    while (start < end && is_ows(line.ptr[start]))
        start++;
    while (end > start && is_ows(line.ptr[end - 1]))
        end--;
    for (size_t j = start; j < end; j++) {
        if (!is_value_char((unsigned char)line.ptr[j]))
            return SECCHAT_ERR_HTTP_MALFORMED;
    }
    f->value.ptr = line.ptr + start;
    f->value.len = end - start;
    return 1;
}

int sc_http_span_equals_nocase(sc_http_span s, const char *str)
{
    size_t n = strlen(str);
    if (s.len != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (sc_http_lower(s.ptr[i]) != sc_http_lower(str[i]))
            return 0;
    }
    return 1;
}

int sc_http_span_equals(sc_http_span s, const char *str)
{
    size_t n = strlen(str);
    return s.len == n && memcmp(s.ptr, str, n) == 0;
}

int sc_http_list_contains(sc_http_span value, const char *token)
{
    size_t pos = 0;
    while (pos <= value.len) {
        const char *comma = pos < value.len ? memchr(value.ptr + pos, ',', value.len - pos) : NULL;
        size_t end = comma ? (size_t)(comma - value.ptr) : value.len;
        sc_http_span item = {value.ptr + pos, end - pos};
        while (item.len > 0 && is_ows(item.ptr[0])) {
            item.ptr++;
            item.len--;
        }
        while (item.len > 0 && is_ows(item.ptr[item.len - 1]))
            item.len--;
        if (sc_http_span_equals_nocase(item, token))
            return 1;
        if (!comma)
            break;
        pos = end + 1;
    }
    return 0;
}
