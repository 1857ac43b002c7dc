/*
 * Client side of the opening handshake: writing the upgrade request
 * (RFC 6455 section 4.1) and checking the server's response (section 4.1,
 * the client's duties after sending it).
 */
#include <string.h>

#include "common/internal.h"
#include "ws/http.h"
#include "ws/http_fields.h"

/* Pieces of the request, appended after one reservation so a failure leaves no partial request. */
typedef struct piece {
    const char *ptr;
    size_t len;
} piece;

/* clang-format off */
#define LIT(s) {s, sizeof(s) - 1}
/* clang-format on */

/* Visible ASCII only: what goes into the request line or a field must not be able to end it. */
static int visible(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return 0;
    }
    return 1;
}

int sc_http_write_request(sc_buf *out, const secchat_ws_url *url, const char *key)
{
    if (out == NULL || url == NULL || key == NULL)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    /* The strings come from a parsed URL and a generated key; anything else is the caller's mistake. */
    size_t path_len = strnlen(url->path, sizeof url->path);
    size_t host_len = strnlen(url->host_header, sizeof url->host_header);
    size_t key_len = strnlen(key, SC_WS_KEY_LEN + 1);
    if (path_len == 0 || path_len == sizeof url->path || url->path[0] != '/' || !visible(url->path, path_len) ||
        host_len == 0 || host_len == sizeof url->host_header || !visible(url->host_header, host_len) ||
        key_len != SC_WS_KEY_LEN || !visible(key, key_len))
        return SECCHAT_ERR_INVALID_ARGUMENT;

    const piece pieces[] = {
        LIT("GET "),
        {url->path, path_len},
        LIT(" HTTP/1.1\r\nHost: "),
        {url->host_header, host_len},
        LIT("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "),
        {key, key_len},
        LIT("\r\nSec-WebSocket-Version: 13\r\n\r\n"),
    };
    size_t total = 0;
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++)
        total += pieces[i].len;
    int rc = sc_buf_reserve(out, total);
    if (rc != SECCHAT_OK)
        return rc;
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
        rc = sc_buf_append(out, pieces[i].ptr, pieces[i].len); /* cannot fail after the reservation */
        if (rc != SECCHAT_OK)
            return rc;
    }
    return SECCHAT_OK;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/*
 * "HTTP/1.1 SP 3DIGIT SP reason-phrase" (RFC 7230 3.1.2). The reason may be
 * empty, and the space before an empty reason may be missing too: servers
 * differ there and the code is all that matters. The reason may hold HTAB,
 * SP, visible ASCII and obs-text.
 */
static int parse_status_line(sc_http_span line, int *status)
{
    static const char version[] = "HTTP/1.1 ";
    const size_t vlen = sizeof version - 1;
    if (line.len < vlen + 3 || memcmp(line.ptr, version, vlen) != 0)
        return SECCHAT_ERR_HTTP_MALFORMED;
    const char *code = line.ptr + vlen;
    if (!is_digit(code[0]) || !is_digit(code[1]) || !is_digit(code[2]) || code[0] < '1' || code[0] > '5')
        return SECCHAT_ERR_HTTP_MALFORMED;
    size_t rest = line.len - vlen - 3;
    if (rest > 0 && code[3] != ' ')
        return SECCHAT_ERR_HTTP_MALFORMED; /* e.g. a fourth digit */
    for (size_t i = 1; i < rest; i++) {
        unsigned char c = (unsigned char)code[3 + i];
        if (c != '\t' && (c < 0x20 || c == 0x7f))
            return SECCHAT_ERR_HTTP_MALFORMED;
    }
    *status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
    return SECCHAT_OK;
}

/*
 * Precedence when a response has several problems:
 *   1. block over 8 KiB (TOO_LARGE), then the status line (MALFORMED);
 *   2. a status other than 101 (STATUS): the server refused, and the rest of
 *      its response is not ours to judge;
 *   3. each field line in block order (MALFORMED, or TOO_LARGE from the 65th);
 *   4. Upgrade without websocket or Connection without upgrade (NOT_WEBSOCKET);
 *   5. Sec-WebSocket-Accept missing, repeated or wrong (WS_ACCEPT): the server
 *      did not answer our key;
 *   6. any Sec-WebSocket-Extensions or -Protocol field (UNREQUESTED): we
 *      offered none, so any such field selects something never offered.
 */
int sc_http_check_response(const uint8_t *block, size_t len, const char *key, int *status)
{
    if (status != NULL)
        *status = 0;
    if (key == NULL || (block == NULL && len > 0))
        return SECCHAT_ERR_INVALID_ARGUMENT;
    if (len > SECCHAT_WS_MAX_HEADER_BLOCK)
        return SECCHAT_ERR_HTTP_TOO_LARGE;

    sc_http_reader r;
    sc_http_span line;
    int code = 0;
    sc_http_reader_init(&r, block, len);
    int rc = sc_http_reader_start_line(&r, &line);
    if (rc != SECCHAT_OK)
        return rc;
    rc = parse_status_line(line, &code);
    if (rc != SECCHAT_OK)
        return rc;
    if (status != NULL)
        *status = code;
    if (code != 101)
        return SECCHAT_ERR_HTTP_STATUS;

    int upgrade_websocket = 0;
    int connection_upgrade = 0;
    int unrequested = 0;
    size_t accept_count = 0;
    sc_http_span accept = {NULL, 0};
    sc_http_field f;
    while ((rc = sc_http_reader_next(&r, &f)) == 1) {
        if (sc_http_span_equals_nocase(f.name, "Upgrade")) {
            upgrade_websocket |= sc_http_list_contains(f.value, "websocket");
        } else if (sc_http_span_equals_nocase(f.name, "Connection")) {
            connection_upgrade |= sc_http_list_contains(f.value, "upgrade");
        } else if (sc_http_span_equals_nocase(f.name, "Sec-WebSocket-Accept")) {
            accept_count++;
            accept = f.value;
        } else if (sc_http_span_equals_nocase(f.name, "Sec-WebSocket-Extensions") ||
                   sc_http_span_equals_nocase(f.name, "Sec-WebSocket-Protocol")) {
            unrequested = 1;
        }
    }
    if (rc != 0)
        return rc;

    if (!upgrade_websocket || !connection_upgrade)
        return SECCHAT_ERR_HTTP_NOT_WEBSOCKET;
    char expected[SC_WS_ACCEPT_LEN + 1];
    sc_ws_accept_value(key, expected);
    if (accept_count != 1 || !sc_http_span_equals(accept, expected))
        return SECCHAT_ERR_HTTP_WS_ACCEPT;
    if (unrequested)
        return SECCHAT_ERR_HTTP_UNREQUESTED;
    return SECCHAT_OK;
}
