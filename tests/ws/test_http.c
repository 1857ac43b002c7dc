/*
 * The HTTP/1.1 side of the WebSocket opening handshake (lib/ws/http_request.c,
 * http_response.c, accept.c, http_fields.c) against RFC 6455 section 4 and
 * RFC 7230: requests real clients send are accepted, every refusal has its
 * exact code and a well-formed 400/426 answer, and the client side writes
 * and checks the other half.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/base64.h>

#include "common/buf.h"
#include "secchat.h"
#include "ws/http.h"

/* The sample handshake of RFC 6455 sections 1.2 and 1.3. */
#define SAMPLE_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define SAMPLE_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

/* Building blocks of requests: a valid one is RL GOOD END. */
#define RL "GET /chat HTTP/1.1\r\n"
#define H_HOST "Host: server.example.com\r\n"
#define H_UPG "Upgrade: websocket\r\n"
#define H_CONN "Connection: Upgrade\r\n"
#define H_KEY "Sec-WebSocket-Key: " SAMPLE_KEY "\r\n"
#define H_VER "Sec-WebSocket-Version: 13\r\n"
#define END "\r\n"
#define GOOD H_HOST H_UPG H_CONN H_KEY H_VER

/* Building blocks of responses: a valid one is SL R_GOOD END. */
#define SL "HTTP/1.1 101 Switching Protocols\r\n"
#define R_UPG "Upgrade: websocket\r\n"
#define R_CONN "Connection: Upgrade\r\n"
#define R_ACC "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n"
#define R_GOOD R_UPG R_CONN R_ACC

static int parse(const char *req, sc_http_request_info *info)
{
    return sc_http_parse_request((const uint8_t *)req, strlen(req), info);
}

static int check(const char *resp, int *status)
{
    return sc_http_check_response((const uint8_t *)resp, strlen(resp), SAMPLE_KEY, status);
}

/* The buffer's pending bytes as a NUL-terminated copy, for string comparisons. */
static char *buf_string(const sc_buf *b)
{
    size_t n = sc_buf_pending(b);
    char *s = malloc(n + 1);
    assert_non_null(s);
    if (n > 0)
        memcpy(s, sc_buf_peek(b), n);
    s[n] = '\0';
    return s;
}

/* Request or response blocks built at run time (sizes at the limits). */
typedef struct text {
    char *data;
    size_t len;
    size_t cap;
} text;

#if defined(__GNUC__)
static void text_add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#endif

static void text_add(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    if (t->len + (size_t)n + 1 > t->cap) {
        t->cap = (t->len + (size_t)n + 1) * 2;
        t->data = realloc(t->data, t->cap);
        assert_non_null(t->data);
    }
    va_start(ap, fmt);
    vsnprintf(t->data + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

/* Appends "X-Pad: aaa...\r\n" of exactly total bytes (total >= 10). */
static void text_pad_field(text *t, size_t total)
{
    size_t value = total - strlen("X-Pad: \r\n");
    char *v = malloc(value + 1);
    assert_non_null(v);
    memset(v, 'a', value);
    v[value] = '\0';
    text_add(t, "X-Pad: %s\r\n", v);
    free(v);
}

/* ---- sc_http_header_end ---- */

static void test_header_end(void **state)
{
    (void)state;
    const char *req = RL GOOD END;
    size_t len = strlen(req);
    assert_int_equal(sc_http_header_end((const uint8_t *)req, len), len);
    /* Each prefix is incomplete. */
    for (size_t n = 0; n < len; n++)
        assert_int_equal(sc_http_header_end((const uint8_t *)req, n), 0);
    /* The first empty line ends the block; frame bytes after it are not part of it. */
    const char *more = "GET / HTTP/1.1\r\n\r\n\x81\x05hello\r\n\r\n";
    assert_int_equal(sc_http_header_end((const uint8_t *)more, strlen(more)), 18);
    assert_int_equal(sc_http_header_end((const uint8_t *)"\r\n\r\n", 4), 4);
    /* Only CRLF CRLF counts: bare LF line ends never complete a block. */
    assert_int_equal(sc_http_header_end((const uint8_t *)"GET / HTTP/1.1\n\n", 16), 0);
    assert_int_equal(sc_http_header_end((const uint8_t *)"a\r\n\r", 4), 0);
    assert_int_equal(sc_http_header_end((const uint8_t *)"a\r\r\n\r\n", 6), 6);
    assert_int_equal(sc_http_header_end((const uint8_t *)"\r\r\r\r\n\r\n", 7), 7);
    assert_int_equal(sc_http_header_end(NULL, 0), 0);
    assert_int_equal(sc_http_header_end(NULL, 10), 0);
}

/* ---- accept value and keys ---- */

static void test_accept_value(void **state)
{
    (void)state;
    char accept[SC_WS_ACCEPT_LEN + 1];
    sc_ws_accept_value(SAMPLE_KEY, accept);
    assert_string_equal(accept, SAMPLE_ACCEPT);
    /* RFC 6455 section 4.2.2 step 5.4 computes it over the key's characters: another key, another value. */
    sc_ws_accept_value("x3JJHMbDL1EzLkh9GBhXDw==", accept);
    assert_string_equal(accept, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
    assert_int_equal(strlen(accept), SC_WS_ACCEPT_LEN);
}

static size_t decode_b64(const char *s, uint8_t *out, size_t cap)
{
    struct base64_decode_ctx ctx;
    size_t n = 0;
    assert_true(BASE64_DECODE_LENGTH(strlen(s)) <= cap);
    base64_decode_init(&ctx);
    assert_int_equal(base64_decode_update(&ctx, &n, out, strlen(s), s), 1);
    assert_int_equal(base64_decode_final(&ctx), 1);
    return n;
}

static void test_new_key(void **state)
{
    (void)state;
    char a[SC_WS_KEY_LEN + 1];
    char b[SC_WS_KEY_LEN + 1];
    memset(a, 'x', sizeof a);
    assert_int_equal(sc_ws_new_key(a), SECCHAT_OK);
    assert_int_equal(sc_ws_new_key(b), SECCHAT_OK);
    assert_int_equal(strlen(a), SC_WS_KEY_LEN);
    assert_int_equal(strlen(b), SC_WS_KEY_LEN);
    assert_string_not_equal(a, b);
    assert_true(a[22] == '=' && a[23] == '=');

    uint8_t raw[32];
    assert_int_equal(decode_b64(a, raw, sizeof raw), 16);
    assert_int_equal(decode_b64(b, raw, sizeof raw), 16);

    /* A generated key passes our own server's check. */
    char req[256];
    snprintf(req, sizeof req, RL H_HOST H_UPG H_CONN "Sec-WebSocket-Key: %s\r\n" H_VER END, a);
    sc_http_request_info info;
    assert_int_equal(parse(req, &info), SECCHAT_OK);
    assert_string_equal(info.key, a);

    assert_int_equal(sc_ws_new_key(NULL), SECCHAT_ERR_INVALID_ARGUMENT);
}

/* Many keys: all distinct and all 16 bytes (a weak but cheap sanity check of the randomness plumbing). */
static void test_new_key_many(void **state)
{
    (void)state;
    enum { N = 64 };
    char keys[N][SC_WS_KEY_LEN + 1];
    for (int i = 0; i < N; i++) {
        uint8_t raw[32];
        assert_int_equal(sc_ws_new_key(keys[i]), SECCHAT_OK);
        assert_int_equal(decode_b64(keys[i], raw, sizeof raw), 16);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(keys[i], keys[j]);
    }
}

/* ---- server: accepted requests ---- */

static void test_rfc_sample(void **state)
{
    (void)state;
    /* RFC 6455 section 1.2, verbatim (it offers subprotocols, which we ignore). */
    const char *req = "GET /chat HTTP/1.1\r\n"
                      "Host: server.example.com\r\n"
                      "Upgrade: websocket\r\n"
                      "Connection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Origin: http://example.com\r\n"
                      "Sec-WebSocket-Protocol: chat, superchat\r\n"
                      "Sec-WebSocket-Version: 13\r\n"
                      "\r\n";
    sc_http_request_info info;
    assert_int_equal(sc_http_header_end((const uint8_t *)req, strlen(req)), strlen(req));
    assert_int_equal(parse(req, &info), SECCHAT_OK);
    assert_string_equal(info.path, "/chat");
    assert_string_equal(info.key, SAMPLE_KEY);

    sc_buf out = {0};
    assert_int_equal(sc_http_write_switching(&out, info.key), SECCHAT_OK);
    char *resp = buf_string(&out);
    assert_string_equal(resp, "HTTP/1.1 101 Switching Protocols\r\n"
                              "Upgrade: websocket\r\n"
                              "Connection: Upgrade\r\n"
                              "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                              "\r\n");
    /* The client side accepts what the server side wrote. */
    int status = -1;
    assert_int_equal(check(resp, &status), SECCHAT_OK);
    assert_int_equal(status, 101);
    free(resp);
    sc_buf_free(&out);
}

typedef struct good_request {
    const char *name;
    const char *req;
    const char *path;
    const char *key;
} good_request;

static const good_request good_requests[] = {
    {"minimal", RL GOOD END, "/chat", SAMPLE_KEY},
    {"root path", "GET / HTTP/1.1\r\n" GOOD END, "/", SAMPLE_KEY},
    {"path with query", "GET /chat?room=1&x=%20y HTTP/1.1\r\n" GOOD END, "/chat?room=1&x=%20y", SAMPLE_KEY},
    {"names in odd case",
     RL "hOsT: server.example.com\r\nUPGRADE: websocket\r\nconnection: Upgrade\r\n"
        "sec-websocket-key: " SAMPLE_KEY "\r\nSEC-WEBSOCKET-VERSION: 13\r\n" END,
     "/chat", SAMPLE_KEY},
    {"Connection keep-alive, Upgrade", RL H_HOST H_UPG "Connection: keep-alive, Upgrade\r\n" H_KEY H_VER END, "/chat",
     SAMPLE_KEY},
    {"Connection upgrade lowercase", RL H_HOST H_UPG "Connection: upgrade\r\n" H_KEY H_VER END, "/chat", SAMPLE_KEY},
    {"Connection list with empty items and tabs",
     RL H_HOST H_UPG "Connection: ,\tkeep-alive ,, UPGRADE\t,\r\n" H_KEY H_VER END, "/chat", SAMPLE_KEY},
    {"Connection in two fields", RL H_HOST H_UPG "Connection: keep-alive\r\nConnection: Upgrade\r\n" H_KEY H_VER END,
     "/chat", SAMPLE_KEY},
    {"Upgrade WebSocket", RL H_HOST "Upgrade: WebSocket\r\n" H_CONN H_KEY H_VER END, "/chat", SAMPLE_KEY},
    {"Upgrade list", RL H_HOST "Upgrade: h2c, websocket\r\n" H_CONN H_KEY H_VER END, "/chat", SAMPLE_KEY},
    {"Upgrade in two fields", RL H_HOST "Upgrade: h2c\r\nUpgrade: websocket\r\n" H_CONN H_KEY H_VER END, "/chat",
     SAMPLE_KEY},
    {"optional whitespace around values",
     RL "Host:server.example.com\r\nUpgrade: \t websocket \t\r\nConnection:Upgrade  \r\n"
        "Sec-WebSocket-Key:\t" SAMPLE_KEY "\t\r\nSec-WebSocket-Version:   13   \r\n" END,
     "/chat", SAMPLE_KEY},
    {"fields in another order", RL H_VER H_KEY H_CONN H_UPG H_HOST END, "/chat", SAMPLE_KEY},
    {"extra fields ignored",
     RL GOOD "Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n"
             "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
             "User-Agent: test/1.0\r\nX-Empty:\r\nX-Also-Empty: \t \r\n" END,
     "/chat", SAMPLE_KEY},
    {"obs-text in a value", RL GOOD "User-Agent: caf\xc3\xa9/1.0 \x80\xff\r\n" END, "/chat", SAMPLE_KEY},
    {"Host with port and IPv6", RL "Host: [::1]:8080\r\n" H_UPG H_CONN H_KEY H_VER END, "/chat", SAMPLE_KEY},
    /* Python's websockets 10.4 client, as captured from the wire. */
    {"python websockets",
     "GET /chat?room=1 HTTP/1.1\r\n"
     "Host: 127.0.0.1:46771\r\n"
     "Upgrade: websocket\r\n"
     "Connection: Upgrade\r\n"
     "Sec-WebSocket-Key: eYlMmIKkPoxfb7+d9uLwaA==\r\n"
     "Sec-WebSocket-Version: 13\r\n"
     "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
     "User-Agent: Python/3.11 websockets/10.4\r\n"
     "\r\n",
     "/chat?room=1", "eYlMmIKkPoxfb7+d9uLwaA=="},
    /* Chromium. */
    {"chromium",
     "GET /chat HTTP/1.1\r\n"
     "Host: localhost:8080\r\n"
     "Connection: Upgrade\r\n"
     "Pragma: no-cache\r\n"
     "Cache-Control: no-cache\r\n"
     "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
     "Safari/537.36\r\n"
     "Upgrade: websocket\r\n"
     "Origin: http://localhost:8080\r\n"
     "Sec-WebSocket-Version: 13\r\n"
     "Accept-Encoding: gzip, deflate, br\r\n"
     "Accept-Language: en-US,en;q=0.9\r\n"
     "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n"
     "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
     "\r\n",
     "/chat", "x3JJHMbDL1EzLkh9GBhXDw=="},
    /* Firefox: "keep-alive, Upgrade", Upgrade last. */
    {"firefox",
     "GET /chat HTTP/1.1\r\n"
     "Host: localhost:8080\r\n"
     "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0\r\n"
     "Accept: */*\r\n"
     "Accept-Language: en-US,en;q=0.5\r\n"
     "Accept-Encoding: gzip, deflate, br\r\n"
     "Sec-WebSocket-Version: 13\r\n"
     "Origin: http://localhost:8080\r\n"
     "Sec-WebSocket-Extensions: permessage-deflate\r\n"
     "Sec-WebSocket-Key: 6Yp2pAP9lQ1J5j0XkqYFQw==\r\n"
     "Connection: keep-alive, Upgrade\r\n"
     "Sec-Fetch-Dest: empty\r\n"
     "Sec-Fetch-Mode: websocket\r\n"
     "Sec-Fetch-Site: same-origin\r\n"
     "Pragma: no-cache\r\n"
     "Cache-Control: no-cache\r\n"
     "Upgrade: websocket\r\n"
     "\r\n",
     "/chat", "6Yp2pAP9lQ1J5j0XkqYFQw=="},
};

static void test_accepted_requests(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof good_requests / sizeof good_requests[0]; i++) {
        const good_request *g = &good_requests[i];
        sc_http_request_info info;
        memset(&info, 0x55, sizeof info);
        size_t len = strlen(g->req);
        if (sc_http_header_end((const uint8_t *)g->req, len) != len)
            fail_msg("%s: header block not delimited", g->name);
        int rc = parse(g->req, &info);
        if (rc != SECCHAT_OK)
            fail_msg("%s: refused with %d (%s)", g->name, rc, secchat_strerror(rc));
        if (strcmp(info.path, g->path) != 0 || strcmp(info.key, g->key) != 0)
            fail_msg("%s: path '%s' key '%s'", g->name, info.path, info.key);
    }
}

/* ---- server: refusals ---- */

/*
 * A refusal must itself be a valid HTTP/1.1 response: status line, fields,
 * a Content-Length that matches the body, the 426 fields when upgrading is
 * the cure, and the error's text as the body. Checked here with plain string
 * handling, and once more with our own client-side parser.
 */
static void check_refusal(const char *name, int error)
{
    int want_status = (error == SECCHAT_ERR_HTTP_NOT_WEBSOCKET || error == SECCHAT_ERR_HTTP_WS_VERSION) ? 426 : 400;
    if (sc_http_status_for(error) != want_status)
        fail_msg("%s: status %d for %d", name, sc_http_status_for(error), error);

    sc_buf out = {0};
    assert_int_equal(sc_http_write_refusal(&out, error), SECCHAT_OK);
    char *resp = buf_string(&out);
    size_t total = strlen(resp);
    assert_int_equal(total, sc_buf_pending(&out));

    char *blank = strstr(resp, "\r\n\r\n");
    assert_non_null(blank);
    size_t head_len = (size_t)(blank - resp) + 4;
    assert_int_equal(sc_http_header_end((const uint8_t *)resp, total), head_len);
    const char *body = resp + head_len;

    const char *status_line = want_status == 426 ? "HTTP/1.1 426 Upgrade Required\r\n" : "HTTP/1.1 400 Bad Request\r\n";
    if (strncmp(resp, status_line, strlen(status_line)) != 0)
        fail_msg("%s: status line of %s", name, resp);

    /* Every field line is "Name: value"; collect the ones that matter. */
    long content_length = -1;
    int content_type = 0, conn_close = 0, upgrade = 0, version = 0, fields = 0;
    for (char *line = strstr(resp, "\r\n") + 2; line < blank + 2;) {
        char *eol = strstr(line, "\r\n");
        assert_non_null(eol);
        *eol = '\0';
        if (*line == '\0')
            break;
        char *colon = strchr(line, ':');
        assert_non_null(colon);
        assert_true(colon > line && colon[-1] != ' ');
        fields++;
        if (strncmp(line, "Content-Length: ", 16) == 0) {
            char *endp;
            content_length = strtol(line + 16, &endp, 10);
            assert_true(*endp == '\0');
        }
        content_type += strcmp(line, "Content-Type: text/plain; charset=utf-8") == 0;
        conn_close += strcmp(line, "Connection: close") == 0;
        upgrade += strcmp(line, "Upgrade: websocket") == 0;
        version += strcmp(line, "Sec-WebSocket-Version: 13") == 0;
        line = eol + 2;
    }
    assert_int_equal(content_type, 1);
    assert_int_equal(conn_close, 1);
    assert_int_equal(upgrade, want_status == 426);
    assert_int_equal(version, want_status == 426);
    assert_int_equal(fields, want_status == 426 ? 5 : 3);
    assert_int_equal(content_length, (long)(total - head_len));

    char want_body[512];
    snprintf(want_body, sizeof want_body, "%s\n", secchat_strerror(error));
    assert_string_equal(body, want_body);

    /* Our own client sees a well-formed refusal with that status. */
    int status = 0;
    int rc = sc_http_check_response(sc_buf_peek(&out), head_len, SAMPLE_KEY, &status);
    assert_int_equal(rc, SECCHAT_ERR_HTTP_STATUS);
    assert_int_equal(status, want_status);

    free(resp);
    sc_buf_free(&out);
}

typedef struct bad_request {
    const char *name;
    const char *req;
    size_t len; /* 0: strlen(req); else the length of a literal holding NUL */
    int code;
} bad_request;

/* clang-format off */
#define BAD(name, req, code) {name, req, 0, code}
#define BAD_BYTES(name, req, code) {name, req, sizeof(req) - 1, code}
/* clang-format on */

static void run_bad(const bad_request *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const bad_request *b = &cases[i];
        size_t len = b->len ? b->len : strlen(b->req);
        sc_http_request_info info;
        memset(&info, 0x55, sizeof info);
        int rc = sc_http_parse_request((const uint8_t *)b->req, len, &info);
        if (rc != b->code)
            fail_msg("%s: got %d (%s), want %d (%s)", b->name, rc, secchat_strerror(rc), b->code,
                     secchat_strerror(b->code));
        /* Nothing of a refused request is handed out. */
        if (info.path[0] != '\0' || info.key[0] != '\0')
            fail_msg("%s: output not cleared", b->name);
        check_refusal(b->name, rc);
    }
}

#define RUN_BAD(table) run_bad(table, sizeof(table) / sizeof(table)[0])

static void test_refuse_request_line(void **state)
{
    (void)state;
    static const bad_request cases[] = {
        BAD("missing version", "GET /chat\r\n" GOOD END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("missing target and version", "GET\r\n" GOOD END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("two spaces before target", "GET  /chat HTTP/1.1\r\n" GOOD END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("two spaces after target", "GET /chat  HTTP/1.1\r\n" GOOD END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("trailing space", "GET /chat HTTP/1.1 \r\n" GOOD END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("leading space", " GET /chat HTTP/1.1\r\n" GOOD END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("tab as separator", "GET\t/chat HTTP/1.1\r\n" GOOD END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("space inside target", "GET /ch at HTTP/1.1\r\n" GOOD END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("HTTP/1.0", "GET /chat HTTP/1.0\r\n" GOOD END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("HTTP/2.0", "GET /chat HTTP/2.0\r\n" GOOD END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("HTTP/1.10", "GET /chat HTTP/1.10\r\n" GOOD END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("lowercase version", "GET /chat http/1.1\r\n" GOOD END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("absolute-form target", "GET http://server.example.com/chat HTTP/1.1\r\n" GOOD END,
            SECCHAT_ERR_HTTP_MALFORMED),
        BAD("authority-form target", "GET server.example.com:80 HTTP/1.1\r\n" GOOD END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("asterisk-form target", "GET * HTTP/1.1\r\n" GOOD END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("non-ASCII in target", "GET /caf\xc3\xa9 HTTP/1.1\r\n" GOOD END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("DEL in target", "GET /a\x7f HTTP/1.1\r\n" GOOD END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD_BYTES("NUL in target", "GET /a\0b HTTP/1.1\r\n" GOOD END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("method not a token", "G(ET /chat HTTP/1.1\r\n" GOOD END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("empty request line", "\r\n" GOOD END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("only the empty line", "\r\n", SECCHAT_ERR_HTTP_MALFORMED),
        BAD("empty block", "", SECCHAT_ERR_HTTP_MALFORMED),
        BAD("request line without CRLF", "GET /chat HTTP/1.1", SECCHAT_ERR_HTTP_MALFORMED),
        /* Well-formed lines with another method: methods are case-sensitive, so "get" is not GET. */
        BAD("lowercase get", "get /chat HTTP/1.1\r\n" GOOD END, SECCHAT_ERR_HTTP_NOT_WEBSOCKET),
        BAD("Get", "Get /chat HTTP/1.1\r\n" GOOD END, SECCHAT_ERR_HTTP_NOT_WEBSOCKET),
        BAD("POST", "POST /chat HTTP/1.1\r\n" GOOD END, SECCHAT_ERR_HTTP_NOT_WEBSOCKET),
        BAD("HEAD", "HEAD /chat HTTP/1.1\r\n" GOOD END, SECCHAT_ERR_HTTP_NOT_WEBSOCKET),
        BAD("PRI", "PRI /chat HTTP/1.1\r\n" GOOD END, SECCHAT_ERR_HTTP_NOT_WEBSOCKET),
    };
    RUN_BAD(cases);
}

static void test_refuse_field_syntax(void **state)
{
    (void)state;
    static const bad_request cases[] = {
        BAD("obs-fold with space", RL GOOD "X-Folded: a\r\n b\r\n" END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("obs-fold with tab", RL GOOD "X-Folded: a\r\n\tb\r\n" END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("obs-fold of Upgrade", RL H_HOST "Upgrade:\r\n websocket\r\n" H_CONN H_KEY H_VER END,
            SECCHAT_ERR_HTTP_MALFORMED),
        BAD("whitespace before the first field", RL " Host: server.example.com\r\n" H_UPG H_CONN H_KEY H_VER END,
            SECCHAT_ERR_HTTP_MALFORMED),
        BAD("space before colon", RL "Host : server.example.com\r\n" H_UPG H_CONN H_KEY H_VER END,
            SECCHAT_ERR_HTTP_MALFORMED),
        BAD("tab before colon", RL GOOD "X-A\t: b\r\n" END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("space inside name", RL GOOD "X A: b\r\n" END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("no colon", RL GOOD "X-A b\r\n" END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("empty name", RL GOOD ": b\r\n" END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("separator in name", RL GOOD "X(A): b\r\n" END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("non-ASCII in name", RL GOOD "X-\xc3\xa9: b\r\n" END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("bare LF line ends",
            "GET /chat HTTP/1.1\nHost: server.example.com\nUpgrade: websocket\nConnection: Upgrade\n"
            "Sec-WebSocket-Key: " SAMPLE_KEY "\nSec-WebSocket-Version: 13\n\r\n\r\n",
            SECCHAT_ERR_HTTP_MALFORMED),
        BAD("bare LF after request line", "GET /chat HTTP/1.1\n" GOOD END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("one bare LF field", RL H_HOST "Upgrade: websocket\n" H_CONN H_KEY H_VER END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("bare LF as empty line", RL GOOD "\n\r\n", SECCHAT_ERR_HTTP_MALFORMED),
        BAD("bare CR inside value", RL GOOD "X-A: b\rc\r\n" END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("CR CR LF", RL GOOD "X-A: b\r\r\n" END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD_BYTES("NUL in value", RL GOOD "X-A: b\0c\r\n" END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD_BYTES("NUL in Host", RL "Host: server\0.example.com\r\n" H_UPG H_CONN H_KEY H_VER END,
                  SECCHAT_ERR_HTTP_MALFORMED),
        BAD("control byte in value", RL GOOD "X-A: b\001c\r\n" END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("escape in value", RL GOOD "User-Agent: \x1b[31mred\r\n" END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("DEL in value", RL GOOD "X-A: b\x7f\r\n" END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("vertical tab in value", RL GOOD "X-A: b\vc\r\n" END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("no empty line", RL GOOD, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("half an empty line", RL GOOD "\r", SECCHAT_ERR_HTTP_MALFORMED),
        BAD("bytes after the empty line", RL GOOD END "\x81\x00", SECCHAT_ERR_HTTP_MALFORMED),
        BAD("a second block after the first", RL GOOD END RL GOOD END, SECCHAT_ERR_HTTP_MALFORMED),
    };
    RUN_BAD(cases);
}

static void test_refuse_host(void **state)
{
    (void)state;
    static const bad_request cases[] = {
        BAD("missing Host", RL H_UPG H_CONN H_KEY H_VER END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("duplicate Host", RL H_HOST GOOD END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("duplicate Host, other case", RL "host: a.example\r\n" GOOD END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("empty Host", RL "Host:\r\n" H_UPG H_CONN H_KEY H_VER END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("Host list", RL "Host: a.example, b.example\r\n" H_UPG H_CONN H_KEY H_VER END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("Host with space", RL "Host: a.example b.example\r\n" H_UPG H_CONN H_KEY H_VER END,
            SECCHAT_ERR_HTTP_MALFORMED),
    };
    RUN_BAD(cases);
}

static void test_refuse_not_websocket(void **state)
{
    (void)state;
    static const bad_request cases[] = {
        BAD("missing Upgrade", RL H_HOST H_CONN H_KEY H_VER END, SECCHAT_ERR_HTTP_NOT_WEBSOCKET),
        BAD("Upgrade: h2c", RL H_HOST "Upgrade: h2c\r\n" H_CONN H_KEY H_VER END, SECCHAT_ERR_HTTP_NOT_WEBSOCKET),
        BAD("Upgrade: websockets", RL H_HOST "Upgrade: websockets\r\n" H_CONN H_KEY H_VER END,
            SECCHAT_ERR_HTTP_NOT_WEBSOCKET),
        BAD("Upgrade: websocket/13", RL H_HOST "Upgrade: websocket/13\r\n" H_CONN H_KEY H_VER END,
            SECCHAT_ERR_HTTP_NOT_WEBSOCKET),
        BAD("Upgrade: web socket", RL H_HOST "Upgrade: web socket\r\n" H_CONN H_KEY H_VER END,
            SECCHAT_ERR_HTTP_NOT_WEBSOCKET),
        BAD("empty Upgrade", RL H_HOST "Upgrade:\r\n" H_CONN H_KEY H_VER END, SECCHAT_ERR_HTTP_NOT_WEBSOCKET),
        BAD("websocket in another field", RL H_HOST "X-Upgrade: websocket\r\n" H_CONN H_KEY H_VER END,
            SECCHAT_ERR_HTTP_NOT_WEBSOCKET),
        BAD("missing Connection", RL H_HOST H_UPG H_KEY H_VER END, SECCHAT_ERR_HTTP_NOT_WEBSOCKET),
        BAD("Connection: close", RL H_HOST H_UPG "Connection: close\r\n" H_KEY H_VER END,
            SECCHAT_ERR_HTTP_NOT_WEBSOCKET),
        BAD("Connection: keep-alive", RL H_HOST H_UPG "Connection: keep-alive\r\n" H_KEY H_VER END,
            SECCHAT_ERR_HTTP_NOT_WEBSOCKET),
        BAD("Connection: Upgraded", RL H_HOST H_UPG "Connection: Upgraded\r\n" H_KEY H_VER END,
            SECCHAT_ERR_HTTP_NOT_WEBSOCKET),
        BAD("Connection: keep-alive Upgrade", RL H_HOST H_UPG "Connection: keep-alive Upgrade\r\n" H_KEY H_VER END,
            SECCHAT_ERR_HTTP_NOT_WEBSOCKET),
        BAD("plain GET", "GET / HTTP/1.1\r\nHost: server.example.com\r\nAccept: */*\r\n\r\n",
            SECCHAT_ERR_HTTP_NOT_WEBSOCKET),
    };
    RUN_BAD(cases);
}

static void test_refuse_version(void **state)
{
    (void)state;
    static const bad_request cases[] = {
        BAD("version 8", RL H_HOST H_UPG H_CONN H_KEY "Sec-WebSocket-Version: 8\r\n" END, SECCHAT_ERR_HTTP_WS_VERSION),
        BAD("missing version", RL H_HOST H_UPG H_CONN H_KEY END, SECCHAT_ERR_HTTP_WS_VERSION),
        BAD("version 13, 8", RL H_HOST H_UPG H_CONN H_KEY "Sec-WebSocket-Version: 13, 8\r\n" END,
            SECCHAT_ERR_HTTP_WS_VERSION),
        BAD("version 8, 13", RL H_HOST H_UPG H_CONN H_KEY "Sec-WebSocket-Version: 8, 13\r\n" END,
            SECCHAT_ERR_HTTP_WS_VERSION),
        BAD("version twice", RL GOOD H_VER END, SECCHAT_ERR_HTTP_WS_VERSION),
        BAD("empty version", RL H_HOST H_UPG H_CONN H_KEY "Sec-WebSocket-Version:\r\n" END,
            SECCHAT_ERR_HTTP_WS_VERSION),
        BAD("version 013", RL H_HOST H_UPG H_CONN H_KEY "Sec-WebSocket-Version: 013\r\n" END,
            SECCHAT_ERR_HTTP_WS_VERSION),
        BAD("version 14", RL H_HOST H_UPG H_CONN H_KEY "Sec-WebSocket-Version: 14\r\n" END,
            SECCHAT_ERR_HTTP_WS_VERSION),
    };
    RUN_BAD(cases);
}

#define KEY_REQ(k) RL H_HOST H_UPG H_CONN "Sec-WebSocket-Key: " k "\r\n" H_VER END

static void test_refuse_key(void **state)
{
    (void)state;
    static const bad_request cases[] = {
        BAD("missing key", RL H_HOST H_UPG H_CONN H_VER END, SECCHAT_ERR_HTTP_WS_KEY),
        BAD("key twice", RL GOOD H_KEY END, SECCHAT_ERR_HTTP_WS_KEY),
        BAD("key twice, different values", RL GOOD "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n" END,
            SECCHAT_ERR_HTTP_WS_KEY),
        BAD("empty key", KEY_REQ(""), SECCHAT_ERR_HTTP_WS_KEY),
        BAD("15-byte key", KEY_REQ("AAECAwQFBgcICQoLDA0O"), SECCHAT_ERR_HTTP_WS_KEY),
        BAD("17-byte key", KEY_REQ("AAECAwQFBgcICQoLDA0ODxA="), SECCHAT_ERR_HTTP_WS_KEY),
        BAD("18-byte key", KEY_REQ("AAECAwQFBgcICQoLDA0ODxAR"), SECCHAT_ERR_HTTP_WS_KEY),
        BAD("32-byte key", KEY_REQ("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="), SECCHAT_ERR_HTTP_WS_KEY),
        BAD("not base64", KEY_REQ("!!!!!!!!!!!!!!!!!!!!!!=="), SECCHAT_ERR_HTTP_WS_KEY),
        BAD("url-safe alphabet", KEY_REQ("-_hlIHNhbXBsZSBub25jZQ=="), SECCHAT_ERR_HTTP_WS_KEY),
        /* 'R' leaves non-zero bits after the 16th byte: not the canonical encoding, which nettle refuses. */
        BAD("non-canonical last character", KEY_REQ("dGhlIHNhbXBsZSBub25jZR=="), SECCHAT_ERR_HTTP_WS_KEY),
        BAD("no padding", KEY_REQ("dGhlIHNhbXBsZSBub25jZQ"), SECCHAT_ERR_HTTP_WS_KEY),
        BAD("one padding", KEY_REQ("dGhlIHNhbXBsZSBub25jZQ="), SECCHAT_ERR_HTTP_WS_KEY),
        BAD("three paddings", KEY_REQ("dGhlIHNhbXBsZSBub25jZ==="), SECCHAT_ERR_HTTP_WS_KEY),
        BAD("padding inside", KEY_REQ("dGhlIHNhbX=sZSBub25jZQ=="), SECCHAT_ERR_HTTP_WS_KEY),
        /* 24 characters, but nettle would skip the space and find 16 bytes: the alphabet check stops it. */
        BAD("space inside", KEY_REQ("dGhlIHNhbXBs ZSBub25jZQ="), SECCHAT_ERR_HTTP_WS_KEY),
        BAD("tab inside", KEY_REQ("dGhlIHNhbXBs\tZSBub25jZQ="), SECCHAT_ERR_HTTP_WS_KEY),
        BAD("two keys in one field", KEY_REQ(SAMPLE_KEY ", " SAMPLE_KEY), SECCHAT_ERR_HTTP_WS_KEY),
        BAD("key with obs-text", KEY_REQ("dGhlIHNhbXBsZSBub25jZ\xc3\xa9="), SECCHAT_ERR_HTTP_WS_KEY),
    };
    RUN_BAD(cases);
}

/* Several problems at once: the documented precedence of sc_http_parse_request. */
static void test_refuse_precedence(void **state)
{
    (void)state;
    static const bad_request cases[] = {
        BAD("syntax before method", "POST /chat HTTP/1.1\r\n" GOOD "X-A : b\r\n" END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("syntax before missing key", RL H_HOST H_UPG H_CONN H_VER "X-A\x01: b\r\n" END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("Host before Upgrade", RL H_CONN H_KEY H_VER END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("Host before method", "POST /chat HTTP/1.1\r\n" H_UPG H_CONN H_KEY H_VER END, SECCHAT_ERR_HTTP_MALFORMED),
        BAD("method before version", "POST /chat HTTP/1.1\r\n" H_HOST H_UPG H_CONN H_KEY END,
            SECCHAT_ERR_HTTP_NOT_WEBSOCKET),
        BAD("Upgrade before version", RL H_HOST H_CONN H_KEY "Sec-WebSocket-Version: 8\r\n" END,
            SECCHAT_ERR_HTTP_NOT_WEBSOCKET),
        BAD("Connection before key", RL H_HOST H_UPG H_VER END, SECCHAT_ERR_HTTP_NOT_WEBSOCKET),
        BAD("version before key", RL H_HOST H_UPG H_CONN "Sec-WebSocket-Version: 8\r\n" END,
            SECCHAT_ERR_HTTP_WS_VERSION),
        BAD("version before bad key",
            RL H_HOST H_UPG H_CONN "Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 8\r\n" END,
            SECCHAT_ERR_HTTP_WS_VERSION),
    };
    RUN_BAD(cases);
}

/* Runs one dynamically built request and its refusal. */
static void expect_request(const text *t, int code, const char *name)
{
    sc_http_request_info info;
    int rc = sc_http_parse_request((const uint8_t *)t->data, t->len, &info);
    if (rc != code)
        fail_msg("%s (%zu bytes): got %d, want %d", name, t->len, rc, code);
    if (code != SECCHAT_OK)
        check_refusal(name, rc);
}

static void test_limits_block_size(void **state)
{
    (void)state;
    /* Exactly 8192 bytes: accepted. */
    text t = {0};
    text_add(&t, RL GOOD);
    text_pad_field(&t, SECCHAT_WS_MAX_HEADER_BLOCK - t.len - 2);
    text_add(&t, END);
    assert_int_equal(t.len, SECCHAT_WS_MAX_HEADER_BLOCK);
    assert_int_equal(sc_http_header_end((const uint8_t *)t.data, t.len), t.len);
    expect_request(&t, SECCHAT_OK, "8192-byte block");
    free(t.data);

    /* 8193 bytes: too large, whatever the block holds. */
    memset(&t, 0, sizeof t);
    text_add(&t, RL GOOD);
    text_pad_field(&t, SECCHAT_WS_MAX_HEADER_BLOCK + 1 - t.len - 2);
    text_add(&t, END);
    assert_int_equal(t.len, SECCHAT_WS_MAX_HEADER_BLOCK + 1);
    expect_request(&t, SECCHAT_ERR_HTTP_TOO_LARGE, "8193-byte block");
    /* The size is judged before the syntax. */
    t.data[0] = ' ';
    expect_request(&t, SECCHAT_ERR_HTTP_TOO_LARGE, "8193 bytes of garbage");
    free(t.data);
}

static void test_limits_field_count(void **state)
{
    (void)state;
    /* GOOD has 5 fields; pad to 64 (accepted) and 65 (too many). */
    for (unsigned n = 63; n <= 66; n++) {
        text t = {0};
        text_add(&t, RL GOOD);
        for (unsigned i = 5; i < n; i++)
            text_add(&t, "X-Field-%u: %u\r\n", i, i);
        text_add(&t, END);
        char name[32];
        snprintf(name, sizeof name, "%u fields", n);
        expect_request(&t, n <= SECCHAT_WS_MAX_HEADER_FIELDS ? SECCHAT_OK : SECCHAT_ERR_HTTP_TOO_LARGE, name);
        free(t.data);
    }

    /* Empty-valued fields count too. */
    text t = {0};
    text_add(&t, RL GOOD);
    for (unsigned i = 5; i < 65; i++)
        text_add(&t, "X:\r\n");
    text_add(&t, END);
    expect_request(&t, SECCHAT_ERR_HTTP_TOO_LARGE, "65 fields, 60 empty");
    free(t.data);

    /* Counting is in block order: a 65th field comes before a later syntax error, a syntax error before it wins. */
    memset(&t, 0, sizeof t);
    text_add(&t, RL GOOD);
    for (unsigned i = 5; i < 65; i++)
        text_add(&t, "X-Field-%u: %u\r\n", i, i);
    text_add(&t, "X A: b\r\n" END);
    expect_request(&t, SECCHAT_ERR_HTTP_TOO_LARGE, "65 fields, then a bad one");
    free(t.data);

    memset(&t, 0, sizeof t);
    text_add(&t, RL "X A: b\r\n" GOOD);
    for (unsigned i = 5; i < 70; i++)
        text_add(&t, "X-Field-%u: %u\r\n", i, i);
    text_add(&t, END);
    expect_request(&t, SECCHAT_ERR_HTTP_MALFORMED, "a bad field, then 70");
    free(t.data);
}

static void test_limits_target(void **state)
{
    (void)state;
    sc_http_request_info info;
    for (size_t n = 1022; n <= 1025; n++) {
        text t = {0};
        char *path = malloc(n + 1);
        assert_non_null(path);
        memset(path, 'p', n);
        path[0] = '/';
        path[n] = '\0';
        text_add(&t, "GET %s HTTP/1.1\r\n" GOOD END, path);
        char name[32];
        snprintf(name, sizeof name, "%zu-byte target", n);
        expect_request(&t, n < sizeof info.path ? SECCHAT_OK : SECCHAT_ERR_HTTP_TOO_LARGE, name);
        if (n < sizeof info.path) {
            assert_int_equal(sc_http_parse_request((const uint8_t *)t.data, t.len, &info), SECCHAT_OK);
            assert_string_equal(info.path, path);
        }
        free(path);
        free(t.data);
    }
    /* A broken version is reported before the length of the target. */
    text t = {0};
    char path[2001];
    memset(path, 'p', 2000);
    path[0] = '/';
    path[2000] = '\0';
    text_add(&t, "GET %s HTTP/1.0\r\n" GOOD END, path);
    expect_request(&t, SECCHAT_ERR_HTTP_MALFORMED, "long target, HTTP/1.0");
    free(t.data);
}

static void test_parse_arguments(void **state)
{
    (void)state;
    const char *req = RL GOOD END;
    sc_http_request_info info;
    assert_int_equal(sc_http_parse_request((const uint8_t *)req, strlen(req), NULL), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(sc_http_parse_request(NULL, 10, &info), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(sc_http_parse_request(NULL, 0, &info), SECCHAT_ERR_HTTP_MALFORMED);
    /* Cut anywhere before its end, a valid request is refused as malformed (never read past len). */
    for (size_t n = 0; n < strlen(req); n++) {
        char *copy = malloc(n ? n : 1);
        assert_non_null(copy);
        memcpy(copy, req, n);
        assert_int_equal(sc_http_parse_request((const uint8_t *)copy, n, &info), SECCHAT_ERR_HTTP_MALFORMED);
        free(copy);
    }
}

/* ---- server: responses ---- */

static void test_write_switching(void **state)
{
    (void)state;
    sc_buf out = {0};
    /* Appends after what is already queued. */
    assert_int_equal(sc_buf_append(&out, "x", 1), SECCHAT_OK);
    assert_int_equal(sc_http_write_switching(&out, "x3JJHMbDL1EzLkh9GBhXDw=="), SECCHAT_OK);
    char *s = buf_string(&out);
    assert_string_equal(s, "xHTTP/1.1 101 Switching Protocols\r\n"
                           "Upgrade: websocket\r\n"
                           "Connection: Upgrade\r\n"
                           "Sec-WebSocket-Accept: HSmrc0sMlYUkAGmm5OPpG2HaGWk=\r\n"
                           "\r\n");
    free(s);
    assert_int_equal(sc_http_write_switching(NULL, SAMPLE_KEY), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(sc_http_write_switching(&out, NULL), SECCHAT_ERR_INVALID_ARGUMENT);
    sc_buf_free(&out);
}

static void test_write_refusal(void **state)
{
    (void)state;
    sc_buf out = {0};
    assert_int_equal(sc_http_write_refusal(&out, SECCHAT_ERR_HTTP_WS_VERSION), SECCHAT_OK);
    char *s = buf_string(&out);
    const char *text426 = "unsupported WebSocket version: only Sec-WebSocket-Version 13 is spoken\n";
    char want[512];
    snprintf(want, sizeof want,
             "HTTP/1.1 426 Upgrade Required\r\n"
             "Content-Type: text/plain; charset=utf-8\r\n"
             "Content-Length: %zu\r\n"
             "Connection: close\r\n"
             "Upgrade: websocket\r\n"
             "Sec-WebSocket-Version: 13\r\n"
             "\r\n"
             "%s",
             strlen(text426), text426);
    assert_string_equal(s, want);
    free(s);
    sc_buf_free(&out);

    assert_int_equal(sc_http_write_refusal(&out, SECCHAT_ERR_HTTP_MALFORMED), SECCHAT_OK);
    s = buf_string(&out);
    assert_string_equal(s, "HTTP/1.1 400 Bad Request\r\n"
                           "Content-Type: text/plain; charset=utf-8\r\n"
                           "Content-Length: 35\r\n"
                           "Connection: close\r\n"
                           "\r\n"
                           "malformed HTTP request or response\n");
    free(s);
    sc_buf_free(&out);

    /* Every server-side code, and codes the endpoint may fail with otherwise (e.g. NO_MEMORY), give a valid 400/426. */
    static const int codes[] = {SECCHAT_ERR_HTTP_MALFORMED,     SECCHAT_ERR_HTTP_TOO_LARGE,
                                SECCHAT_ERR_HTTP_NOT_WEBSOCKET, SECCHAT_ERR_HTTP_WS_VERSION,
                                SECCHAT_ERR_HTTP_WS_KEY,        SECCHAT_ERR_NO_MEMORY,
                                SECCHAT_ERR_INVALID_ARGUMENT,   -399};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        check_refusal("code table", codes[i]);
    assert_int_equal(sc_http_status_for(SECCHAT_ERR_HTTP_NOT_WEBSOCKET), 426);
    assert_int_equal(sc_http_status_for(SECCHAT_ERR_HTTP_WS_VERSION), 426);
    assert_int_equal(sc_http_status_for(SECCHAT_ERR_HTTP_WS_KEY), 400);
    assert_int_equal(sc_http_status_for(SECCHAT_ERR_HTTP_TOO_LARGE), 400);
    assert_int_equal(sc_http_status_for(SECCHAT_ERR_HTTP_MALFORMED), 400);

    assert_int_equal(sc_http_write_refusal(&out, SECCHAT_OK), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(sc_http_write_refusal(&out, 5), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(sc_http_write_refusal(NULL, SECCHAT_ERR_HTTP_MALFORMED), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(sc_buf_pending(&out), 0);
    sc_buf_free(&out);
}

/* ---- client: request ---- */

static void test_write_request(void **state)
{
    (void)state;
    secchat_ws_url url;
    sc_buf out = {0};
    assert_int_equal(secchat_ws_url_parse(&url, "ws://example.com:8080/chat?x=1"), SECCHAT_OK);
    assert_int_equal(sc_http_write_request(&out, &url, SAMPLE_KEY), SECCHAT_OK);
    char *s = buf_string(&out);
    assert_string_equal(s, "GET /chat?x=1 HTTP/1.1\r\n"
                           "Host: example.com:8080\r\n"
                           "Upgrade: websocket\r\n"
                           "Connection: Upgrade\r\n"
                           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                           "Sec-WebSocket-Version: 13\r\n"
                           "\r\n");
    /* Our server takes what our client writes. */
    sc_http_request_info info;
    assert_int_equal(parse(s, &info), SECCHAT_OK);
    assert_string_equal(info.path, "/chat?x=1");
    assert_string_equal(info.key, SAMPLE_KEY);
    free(s);
    sc_buf_free(&out);

    assert_int_equal(secchat_ws_url_parse(&url, "ws://[::1]"), SECCHAT_OK);
    assert_int_equal(sc_http_write_request(&out, &url, SAMPLE_KEY), SECCHAT_OK);
    s = buf_string(&out);
    assert_string_equal(s, "GET / HTTP/1.1\r\n"
                           "Host: [::1]\r\n"
                           "Upgrade: websocket\r\n"
                           "Connection: Upgrade\r\n"
                           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                           "Sec-WebSocket-Version: 13\r\n"
                           "\r\n");
    free(s);
    sc_buf_free(&out);
}

static void test_write_request_arguments(void **state)
{
    (void)state;
    secchat_ws_url url;
    sc_buf out = {0};
    assert_int_equal(secchat_ws_url_parse(&url, "ws://example.com/"), SECCHAT_OK);
    assert_int_equal(sc_http_write_request(NULL, &url, SAMPLE_KEY), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(sc_http_write_request(&out, NULL, SAMPLE_KEY), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(sc_http_write_request(&out, &url, NULL), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(sc_http_write_request(&out, &url, "short"), SECCHAT_ERR_INVALID_ARGUMENT);
    /* A hand-made URL that would break the request's framing is refused, and nothing is written. */
    secchat_ws_url bad = url;
    strcpy(bad.path, "/a b");
    assert_int_equal(sc_http_write_request(&out, &bad, SAMPLE_KEY), SECCHAT_ERR_INVALID_ARGUMENT);
    bad = url;
    strcpy(bad.host_header, "a\r\nX-Evil: 1");
    assert_int_equal(sc_http_write_request(&out, &bad, SAMPLE_KEY), SECCHAT_ERR_INVALID_ARGUMENT);
    bad = url;
    strcpy(bad.path, "chat");
    assert_int_equal(sc_http_write_request(&out, &bad, SAMPLE_KEY), SECCHAT_ERR_INVALID_ARGUMENT);
    bad = url;
    memset(bad.path, '/', sizeof bad.path); /* unterminated */
    assert_int_equal(sc_http_write_request(&out, &bad, SAMPLE_KEY), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(sc_buf_pending(&out), 0);
    sc_buf_free(&out);
}

/* ---- client: response ---- */

typedef struct response_case {
    const char *name;
    const char *resp;
    size_t len; /* 0: strlen */
    int code;
    int status;
} response_case;

/* clang-format off */
#define RESP(name, resp, code, status) {name, resp, 0, code, status}
#define RESP_BYTES(name, resp, code, status) {name, resp, sizeof(resp) - 1, code, status}
/* clang-format on */

static void run_responses(const response_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const response_case *c = &cases[i];
        int status = -1;
        size_t len = c->len ? c->len : strlen(c->resp);
        int rc = sc_http_check_response((const uint8_t *)c->resp, len, SAMPLE_KEY, &status);
        if (rc != c->code || status != c->status)
            fail_msg("%s: got %d status %d, want %d status %d", c->name, rc, status, c->code, c->status);
        /* The status pointer is optional. */
        assert_int_equal(sc_http_check_response((const uint8_t *)c->resp, len, SAMPLE_KEY, NULL), c->code);
    }
}

static void test_response_accepted(void **state)
{
    (void)state;
    static const response_case cases[] = {
        RESP("RFC 6455 sample", SL R_GOOD END, SECCHAT_OK, 101),
        RESP("empty reason", "HTTP/1.1 101 \r\n" R_GOOD END, SECCHAT_OK, 101),
        RESP("no reason, no space", "HTTP/1.1 101\r\n" R_GOOD END, SECCHAT_OK, 101),
        RESP("other reason", "HTTP/1.1 101 Web Socket Protocol Handshake\r\n" R_GOOD END, SECCHAT_OK, 101),
        RESP("names in odd case",
             SL "UPGRADE: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: " SAMPLE_ACCEPT "\r\n" END,
             SECCHAT_OK, 101),
        RESP("Upgrade WebSocket, Connection upgrade",
             SL "Upgrade: WebSocket\r\nConnection: keep-alive, upgrade\r\n" R_ACC END, SECCHAT_OK, 101),
        RESP("extra fields", SL "Server: test\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n" R_GOOD "X-Empty:\r\n" END,
             SECCHAT_OK, 101),
        RESP("whitespace around accept", SL R_UPG R_CONN "Sec-WebSocket-Accept: \t" SAMPLE_ACCEPT " \r\n" END,
             SECCHAT_OK, 101),
        /* Python websockets 10.4 server. */
        RESP("python websockets",
             "HTTP/1.1 101 Switching Protocols\r\n"
             "Upgrade: websocket\r\n"
             "Connection: Upgrade\r\n"
             "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n"
             "Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
             "Server: Python/3.11 websockets/10.4\r\n"
             "\r\n",
             SECCHAT_OK, 101),
    };
    run_responses(cases, sizeof cases / sizeof cases[0]);
}

static void test_response_refused(void **state)
{
    (void)state;
    static const response_case cases[] = {
        RESP("wrong accept", SL R_UPG R_CONN "Sec-WebSocket-Accept: HSmrc0sMlYUkAGmm5OPpG2HaGWk=\r\n" END,
             SECCHAT_ERR_HTTP_WS_ACCEPT, 101),
        RESP("accept in another case", SL R_UPG R_CONN "Sec-WebSocket-Accept: S3PPLMBITXAQ9KYGZZHZRBK+XOO=\r\n" END,
             SECCHAT_ERR_HTTP_WS_ACCEPT, 101),
        RESP("accept cut short", SL R_UPG R_CONN "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xO\r\n" END,
             SECCHAT_ERR_HTTP_WS_ACCEPT, 101),
        RESP("accept is the key", SL R_UPG R_CONN "Sec-WebSocket-Accept: " SAMPLE_KEY "\r\n" END,
             SECCHAT_ERR_HTTP_WS_ACCEPT, 101),
        RESP("missing accept", SL R_UPG R_CONN END, SECCHAT_ERR_HTTP_WS_ACCEPT, 101),
        RESP("empty accept", SL R_UPG R_CONN "Sec-WebSocket-Accept:\r\n" END, SECCHAT_ERR_HTTP_WS_ACCEPT, 101),
        RESP("accept twice", SL R_GOOD R_ACC END, SECCHAT_ERR_HTTP_WS_ACCEPT, 101),
        RESP("status 200", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", SECCHAT_ERR_HTTP_STATUS, 200),
        RESP("status 400", "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n", SECCHAT_ERR_HTTP_STATUS, 400),
        RESP("status 403", "HTTP/1.1 403 Forbidden\r\n\r\n", SECCHAT_ERR_HTTP_STATUS, 403),
        RESP("status 426", "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n\r\n",
             SECCHAT_ERR_HTTP_STATUS, 426),
        RESP("status 302", "HTTP/1.1 302 Found\r\nLocation: ws://elsewhere/\r\n\r\n", SECCHAT_ERR_HTTP_STATUS, 302),
        RESP("status 100", "HTTP/1.1 100 Continue\r\n\r\n", SECCHAT_ERR_HTTP_STATUS, 100),
        /* A refusal is reported as such even when its fields are broken or it carries the 101 fields. */
        RESP("status 503 with broken fields", "HTTP/1.1 503 Busy\r\nX A: b\r\n\r\n", SECCHAT_ERR_HTTP_STATUS, 503),
        RESP("status 200 with 101 fields", "HTTP/1.1 200 OK\r\n" R_GOOD END, SECCHAT_ERR_HTTP_STATUS, 200),
        RESP("missing Upgrade", SL R_CONN R_ACC END, SECCHAT_ERR_HTTP_NOT_WEBSOCKET, 101),
        RESP("Upgrade: h2c", SL "Upgrade: h2c\r\n" R_CONN R_ACC END, SECCHAT_ERR_HTTP_NOT_WEBSOCKET, 101),
        RESP("missing Connection", SL R_UPG R_ACC END, SECCHAT_ERR_HTTP_NOT_WEBSOCKET, 101),
        RESP("Connection: close", SL R_UPG "Connection: close\r\n" R_ACC END, SECCHAT_ERR_HTTP_NOT_WEBSOCKET, 101),
        RESP("extension selected", SL R_GOOD "Sec-WebSocket-Extensions: permessage-deflate\r\n" END,
             SECCHAT_ERR_HTTP_UNREQUESTED, 101),
        RESP("protocol selected", SL R_GOOD "Sec-WebSocket-Protocol: chat\r\n" END, SECCHAT_ERR_HTTP_UNREQUESTED, 101),
        RESP("empty protocol field", SL R_GOOD "sec-websocket-protocol:\r\n" END, SECCHAT_ERR_HTTP_UNREQUESTED, 101),
        RESP("wrong accept and an extension", SL R_UPG R_CONN "Sec-WebSocket-Extensions: x\r\n" END,
             SECCHAT_ERR_HTTP_WS_ACCEPT, 101),
        RESP("HTTP/1.0", "HTTP/1.0 101 Switching Protocols\r\n" R_GOOD END, SECCHAT_ERR_HTTP_MALFORMED, 0),
        RESP("lowercase version", "http/1.1 101 Switching Protocols\r\n" R_GOOD END, SECCHAT_ERR_HTTP_MALFORMED, 0),
        RESP("four-digit status", "HTTP/1.1 1010 Switching\r\n" R_GOOD END, SECCHAT_ERR_HTTP_MALFORMED, 0),
        RESP("two-digit status", "HTTP/1.1 10 Switching\r\n" R_GOOD END, SECCHAT_ERR_HTTP_MALFORMED, 0),
        RESP("status 000", "HTTP/1.1 000 Zero\r\n" R_GOOD END, SECCHAT_ERR_HTTP_MALFORMED, 0),
        RESP("status 601", "HTTP/1.1 601 Six\r\n" R_GOOD END, SECCHAT_ERR_HTTP_MALFORMED, 0),
        RESP("letters for status", "HTTP/1.1 1O1 Switching\r\n" R_GOOD END, SECCHAT_ERR_HTTP_MALFORMED, 0),
        RESP("two spaces before status", "HTTP/1.1  101 Switching\r\n" R_GOOD END, SECCHAT_ERR_HTTP_MALFORMED, 0),
        RESP("tab after status", "HTTP/1.1 101\tSwitching\r\n" R_GOOD END, SECCHAT_ERR_HTTP_MALFORMED, 0),
        RESP("control byte in reason", "HTTP/1.1 101 Swi\x01tching\r\n" R_GOOD END, SECCHAT_ERR_HTTP_MALFORMED, 0),
        RESP("empty status line", "\r\n" R_GOOD END, SECCHAT_ERR_HTTP_MALFORMED, 0),
        RESP("bare LF status line", "HTTP/1.1 101 Switching Protocols\n" R_GOOD END, SECCHAT_ERR_HTTP_MALFORMED, 0),
        RESP("obs-fold", SL R_GOOD "X-A: b\r\n c\r\n" END, SECCHAT_ERR_HTTP_MALFORMED, 101),
        RESP("space before colon", SL "Upgrade : websocket\r\n" R_CONN R_ACC END, SECCHAT_ERR_HTTP_MALFORMED, 101),
        RESP("bare LF field", SL "Upgrade: websocket\n" R_CONN R_ACC END, SECCHAT_ERR_HTTP_MALFORMED, 101),
        RESP_BYTES("NUL in a value", SL R_GOOD "Server: a\0b\r\n" END, SECCHAT_ERR_HTTP_MALFORMED, 101),
        RESP("no empty line", SL R_GOOD, SECCHAT_ERR_HTTP_MALFORMED, 101),
        RESP("frame bytes after the block", SL R_GOOD END "\x82\x00", SECCHAT_ERR_HTTP_MALFORMED, 101),
        RESP("empty block", "", SECCHAT_ERR_HTTP_MALFORMED, 0),
    };
    run_responses(cases, sizeof cases / sizeof cases[0]);
}

static void test_response_limits(void **state)
{
    (void)state;
    int status = -1;
    /* 8192 bytes: fine; 8193: too large. */
    for (size_t total = SECCHAT_WS_MAX_HEADER_BLOCK; total <= SECCHAT_WS_MAX_HEADER_BLOCK + 1; total++) {
        text t = {0};
        text_add(&t, SL R_GOOD);
        text_pad_field(&t, total - t.len - 2);
        text_add(&t, END);
        assert_int_equal(t.len, total);
        int want = total <= SECCHAT_WS_MAX_HEADER_BLOCK ? SECCHAT_OK : SECCHAT_ERR_HTTP_TOO_LARGE;
        assert_int_equal(sc_http_check_response((const uint8_t *)t.data, t.len, SAMPLE_KEY, &status), want);
        assert_int_equal(status, want == SECCHAT_OK ? 101 : 0);
        free(t.data);
    }
    /* 64 fields: fine; 65: too many. */
    for (unsigned n = 64; n <= 65; n++) {
        text t = {0};
        text_add(&t, SL R_GOOD);
        for (unsigned i = 3; i < n; i++)
            text_add(&t, "X-Field-%u: %u\r\n", i, i);
        text_add(&t, END);
        int want = n <= SECCHAT_WS_MAX_HEADER_FIELDS ? SECCHAT_OK : SECCHAT_ERR_HTTP_TOO_LARGE;
        assert_int_equal(sc_http_check_response((const uint8_t *)t.data, t.len, SAMPLE_KEY, &status), want);
        free(t.data);
    }
}

static void test_response_arguments(void **state)
{
    (void)state;
    const char *resp = SL R_GOOD END;
    int status = -1;
    assert_int_equal(sc_http_check_response((const uint8_t *)resp, strlen(resp), NULL, &status),
                     SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(status, 0);
    assert_int_equal(sc_http_check_response(NULL, 5, SAMPLE_KEY, &status), SECCHAT_ERR_INVALID_ARGUMENT);
    /* Cut anywhere, the response is never accepted. */
    for (size_t n = 0; n < strlen(resp); n++) {
        char *copy = malloc(n ? n : 1);
        assert_non_null(copy);
        memcpy(copy, resp, n);
        assert_int_not_equal(sc_http_check_response((const uint8_t *)copy, n, SAMPLE_KEY, &status), SECCHAT_OK);
        free(copy);
    }
    /* Checked against the key we sent: another key's accept does not do. */
    assert_int_equal(sc_http_check_response((const uint8_t *)resp, strlen(resp), "x3JJHMbDL1EzLkh9GBhXDw==", &status),
                     SECCHAT_ERR_HTTP_WS_ACCEPT);
}

/* Both halves together, with a fresh key, the way the endpoint will use them. */
static void test_handshake_round_trip(void **state)
{
    (void)state;
    secchat_ws_url url;
    char key[SC_WS_KEY_LEN + 1];
    sc_buf c2s = {0};
    sc_buf s2c = {0};
    sc_http_request_info info;
    int status = 0;

    assert_int_equal(secchat_ws_url_parse(&url, "ws://[2001:db8::7]:9000/room/1?user=a"), SECCHAT_OK);
    assert_int_equal(sc_ws_new_key(key), SECCHAT_OK);
    assert_int_equal(sc_http_write_request(&c2s, &url, key), SECCHAT_OK);

    size_t end = sc_http_header_end(sc_buf_peek(&c2s), sc_buf_pending(&c2s));
    assert_int_equal(end, sc_buf_pending(&c2s));
    assert_int_equal(sc_http_parse_request(sc_buf_peek(&c2s), end, &info), SECCHAT_OK);
    assert_string_equal(info.path, "/room/1?user=a");
    assert_string_equal(info.key, key);

    assert_int_equal(sc_http_write_switching(&s2c, info.key), SECCHAT_OK);
    end = sc_http_header_end(sc_buf_peek(&s2c), sc_buf_pending(&s2c));
    assert_int_equal(end, sc_buf_pending(&s2c));
    assert_int_equal(sc_http_check_response(sc_buf_peek(&s2c), end, key, &status), SECCHAT_OK);
    assert_int_equal(status, 101);

    sc_buf_free(&c2s);
    sc_buf_free(&s2c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_end),
        cmocka_unit_test(test_accept_value),
        cmocka_unit_test(test_new_key),
        cmocka_unit_test(test_new_key_many),
        cmocka_unit_test(test_rfc_sample),
        cmocka_unit_test(test_accepted_requests),
        cmocka_unit_test(test_refuse_request_line),
        cmocka_unit_test(test_refuse_field_syntax),
        cmocka_unit_test(test_refuse_host),
        cmocka_unit_test(test_refuse_not_websocket),
        cmocka_unit_test(test_refuse_version),
        cmocka_unit_test(test_refuse_key),
        cmocka_unit_test(test_refuse_precedence),
        cmocka_unit_test(test_limits_block_size),
        cmocka_unit_test(test_limits_field_count),
        cmocka_unit_test(test_limits_target),
        cmocka_unit_test(test_parse_arguments),
        cmocka_unit_test(test_write_switching),
        cmocka_unit_test(test_write_refusal),
        cmocka_unit_test(test_write_request),
        cmocka_unit_test(test_write_request_arguments),
        cmocka_unit_test(test_response_accepted),
        cmocka_unit_test(test_response_refused),
        cmocka_unit_test(test_response_limits),
        cmocka_unit_test(test_response_arguments),
        cmocka_unit_test(test_handshake_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
