/*
 * Server side of the opening handshake: parsing the client's upgrade request
 * (RFC 6455 section 4.2.1 over RFC 7230 syntax) and writing the 101 response
 * or the 400/426 refusal.
 */
#include <stdio.h>
#include <string.h>

#include <nettle/base64.h>

#include "common/internal.h"
#include "ws/http.h"
#include "ws/http_fields.h"

size_t sc_http_header_end(const uint8_t *buf, size_t len)
{
    if (buf == NULL)
        return 0;
    /* Jump from CR to CR with memchr: the caller rescans its whole buffer after every read. */
    for (size_t i = 0; i + 4 <= len;) {
        const uint8_t *cr = memchr(buf + i, '\r', len - i - 3);
        if (cr == NULL)
            return 0;
        i = (size_t)(cr - buf);
        if (memcmp(cr, "\r\n\r\n", 4) == 0)
            return i + 4;
        i++;
    }
    return 0;
}

/*
 * A Sec-WebSocket-Key must be base64 of 16 bytes: 22 characters of the
 * standard alphabet and "==". The alphabet is checked here because nettle's
 * decoder skips whitespace, which would let other lengths through. nettle
 * also refuses a last character whose unused low bits are not zero, so only
 * the canonical spelling passes, which is what every client generates.
 */
static int valid_key(sc_http_span key)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (key.len != SC_WS_KEY_LEN || key.ptr[22] != '=' || key.ptr[23] != '=')
        return 0;
    for (size_t i = 0; i < 22; i++) {
        if (key.ptr[i] == '\0' || strchr(alphabet, key.ptr[i]) == NULL)
            return 0;
    }
    struct base64_decode_ctx ctx;
    uint8_t raw[BASE64_DECODE_LENGTH(SC_WS_KEY_LEN)];
    size_t raw_len = 0;
    base64_decode_init(&ctx);
    if (!base64_decode_update(&ctx, &raw_len, raw, key.len, key.ptr) || !base64_decode_final(&ctx))
        return 0;
    return raw_len == 16;
}

/*
 * Host must be present once (RFC 7230 5.4: otherwise 400). Its value is not
 * parsed as uri-host[:port], only refused when empty or when it holds
 * whitespace or a comma, the signs of two Host values merged into one.
 */
static int valid_host(sc_http_span host)
{
    if (host.len == 0)
        return 0;
    for (size_t i = 0; i < host.len; i++) {
        char c = host.ptr[i];
        if (c == ' ' || c == '\t' || c == ',')
            return 0;
    }
    return 1;
}

/* What the request line says, once it is known to be well-formed. */
typedef struct request_line {
    int is_get;
    sc_http_span target;
} request_line;

/*
 * "method SP request-target SP HTTP/1.1" (RFC 7230 3.1.1) with exactly one
 * space on each side of the target. Only origin-form targets are taken
 * (a path starting with '/'; no absolute-form, authority-form or '*'), and
 * only printable ASCII. A well-formed line with another method, including
 * "get" (methods are case-sensitive, RFC 7230 3.1.1), is not malformed: it is
 * simply not a WebSocket upgrade, which the caller reports later.
 */
static int parse_request_line(sc_http_span line, request_line *rl)
{
    const char *sp1 = memchr(line.ptr, ' ', line.len);
    if (sp1 == NULL)
        return SECCHAT_ERR_HTTP_MALFORMED;
    size_t method_len = (size_t)(sp1 - line.ptr);
    size_t rest = line.len - method_len - 1;
    const char *target = sp1 + 1;
    const char *sp2 = memchr(target, ' ', rest);
    if (sp2 == NULL)
        return SECCHAT_ERR_HTTP_MALFORMED;
    size_t target_len = (size_t)(sp2 - target);
    sc_http_span version = {sp2 + 1, rest - target_len - 1};

    if (method_len == 0)
        return SECCHAT_ERR_HTTP_MALFORMED;
    for (size_t i = 0; i < method_len; i++) {
        if (!sc_http_is_tchar((unsigned char)line.ptr[i]))
            return SECCHAT_ERR_HTTP_MALFORMED;
    }
    if (target_len == 0 || target[0] != '/')
        return SECCHAT_ERR_HTTP_MALFORMED;
    for (size_t i = 0; i < target_len; i++) {
        unsigned char c = (unsigned char)target[i];
        if (c <= 0x20 || c >= 0x7f)
            return SECCHAT_ERR_HTTP_MALFORMED;
    }
    /* The version is case-sensitive (RFC 7230 2.6); HTTP/1.0 has no Upgrade and is refused as well. */
    if (!sc_http_span_equals(version, "HTTP/1.1"))
        return SECCHAT_ERR_HTTP_MALFORMED;

    sc_http_span method = {line.ptr, method_len};
    rl->is_get = sc_http_span_equals(method, "GET");
    rl->target.ptr = target;
    rl->target.len = target_len;
    return SECCHAT_OK;
}

/* The fields the server cares about, gathered in one pass. */
typedef struct request_fields {
    size_t host_count;
    sc_http_span host;
    int upgrade_websocket;  /* some Upgrade field lists "websocket" */
    int connection_upgrade; /* some Connection field lists "upgrade" */
    size_t version_count;
    sc_http_span version;
    size_t key_count;
    sc_http_span key;
} request_fields;

static void note_field(request_fields *rf, const sc_http_field *f)
{
    /* Repeated list fields count as one comma-joined list (RFC 7230 3.2.2), so any of them may hold the token. */
    if (sc_http_span_equals_nocase(f->name, "Host")) {
        rf->host_count++;
        rf->host = f->value;
    } else if (sc_http_span_equals_nocase(f->name, "Upgrade")) {
        rf->upgrade_websocket |= sc_http_list_contains(f->value, "websocket");
    } else if (sc_http_span_equals_nocase(f->name, "Connection")) {
        rf->connection_upgrade |= sc_http_list_contains(f->value, "upgrade");
    } else if (sc_http_span_equals_nocase(f->name, "Sec-WebSocket-Version")) {
        rf->version_count++;
        rf->version = f->value;
    } else if (sc_http_span_equals_nocase(f->name, "Sec-WebSocket-Key")) {
        rf->key_count++;
        rf->key = f->value;
    }
    /* Everything else (Origin, Sec-WebSocket-Protocol, -Extensions, ...) is ignored: we select nothing. */
}

/*
 * Precedence when a request has several problems, so the answer never
 * depends on field order beyond the first syntax error:
 *   1. size and syntax, in block order: block over 8 KiB (TOO_LARGE), request
 *      line (MALFORMED; an overlong target is TOO_LARGE), each field line
 *      (MALFORMED, or TOO_LARGE from the 65th field on);
 *   2. Host missing, repeated or unusable (MALFORMED);
 *   3. method not GET, Upgrade without websocket, Connection without upgrade
 *      (NOT_WEBSOCKET);
 *   4. Sec-WebSocket-Version missing, repeated or not exactly 13 (WS_VERSION);
 *   5. Sec-WebSocket-Key missing, repeated or not base64 of 16 bytes (WS_KEY).
 */
int sc_http_parse_request(const uint8_t *block, size_t len, sc_http_request_info *out)
{
    if (out == NULL || (block == NULL && len > 0))
        return SECCHAT_ERR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    if (len > SECCHAT_WS_MAX_HEADER_BLOCK)
        return SECCHAT_ERR_HTTP_TOO_LARGE;

    sc_http_reader r;
    sc_http_span line;
    request_line rl;
    sc_http_reader_init(&r, block, len);
    int rc = sc_http_reader_start_line(&r, &line);
    if (rc != SECCHAT_OK)
        return rc;
    rc = parse_request_line(line, &rl);
    if (rc != SECCHAT_OK)
        return rc;
    if (rl.target.len >= sizeof out->path)
        return SECCHAT_ERR_HTTP_TOO_LARGE;

    request_fields rf;
    memset(&rf, 0, sizeof rf);
    sc_http_field f;
    while ((rc = sc_http_reader_next(&r, &f)) == 1)
        note_field(&rf, &f);
    if (rc != 0)
        return rc;

    if (rf.host_count != 1 || !valid_host(rf.host))
        return SECCHAT_ERR_HTTP_MALFORMED;
    if (!rl.is_get || !rf.upgrade_websocket || !rf.connection_upgrade)
        return SECCHAT_ERR_HTTP_NOT_WEBSOCKET;
    /* Exactly "13": a list such as "13, 8" is an offer we cannot read as a single version (section 4.2.1 item 6). */
    if (rf.version_count != 1 || !sc_http_span_equals(rf.version, "13"))
        return SECCHAT_ERR_HTTP_WS_VERSION;
    if (rf.key_count != 1 || !valid_key(rf.key))
        return SECCHAT_ERR_HTTP_WS_KEY;

    memcpy(out->path, rl.target.ptr, rl.target.len);
    memcpy(out->key, rf.key.ptr, rf.key.len);
    return SECCHAT_OK;
}

int sc_http_status_for(int error)
{
    switch (error) {
    case SECCHAT_ERR_HTTP_NOT_WEBSOCKET:
    case SECCHAT_ERR_HTTP_WS_VERSION:
        return 426;
    default:
        return 400;
    }
}

int sc_http_write_switching(sc_buf *out, const char *key)
{
    if (out == NULL || key == NULL)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    char accept[SC_WS_ACCEPT_LEN + 1];
    sc_ws_accept_value(key, accept);

    char resp[160];
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 101 Switching Protocols\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n"
                     "\r\n",
                     accept);
    if (n < 0 || (size_t)n >= sizeof resp)
        return SECCHAT_ERR_INVALID_ARGUMENT; /* cannot happen: the accept value has a fixed length */
    /* One append: on NO_MEMORY nothing half-written is left in the output. */
    return sc_buf_append(out, resp, (size_t)n);
}

int sc_http_write_refusal(sc_buf *out, int error)
{
    if (out == NULL || error >= 0)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    int status = sc_http_status_for(error);
    const char *reason = status == 426 ? "Upgrade Required" : "Bad Request";
    /* 426 must say what to upgrade to (RFC 7231 6.5.15); RFC 6455 4.4 names the version we speak. */
    const char *upgrade = status == 426 ? "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n" : "";
    const char *text = secchat_strerror(error);

    char resp[512];
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: %zu\r\n"
                     "Connection: close\r\n"
                     "%s"
                     "\r\n"
                     "%s\n",
                     status, reason, strlen(text) + 1, upgrade, text);
    if (n < 0 || (size_t)n >= sizeof resp)
        return SECCHAT_ERR_INVALID_ARGUMENT; /* every strerror text is far shorter */
    return sc_buf_append(out, resp, (size_t)n);
}
