/* RFC 6455 framing, masking, fragmentation, close handshake and keepalive of secchat_ws, byte by byte. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/base64.h>
#include <nettle/sha1.h>

#include "secchat.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- growable byte buffer ------------------------------------------------ */

typedef struct bytes {
    uint8_t *p;
    size_t len;
    size_t cap;
} bytes;

static void bytes_put(bytes *b, const void *data, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        assert_non_null(p);
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void bytes_byte(bytes *b, uint8_t v)
{
    bytes_put(b, &v, 1);
}

static void bytes_be(bytes *b, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--)
        bytes_byte(b, (uint8_t)(v >> (8 * i)));
}

static void bytes_free(bytes *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ---- deterministic pseudo-random numbers (xorshift64*) -------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static void rng_seed(uint64_t seed)
{
    rng_state = seed * 0x9e3779b97f4a7c15u + 1;
}

static uint32_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1du) >> 32);
}

/* A payload whose bytes depend on its length and a tag, so mix-ups show. */
static uint8_t *pattern(size_t len, unsigned tag)
{
    uint8_t *p = malloc(len ? len : 1);
    assert_non_null(p);
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)((i * 31 + len + (size_t)tag * 7) & 0xff);
    return p;
}

/* ---- building frames ------------------------------------------------------ */

#define FIN 0x80u
#define OP_CONT 0x0u
#define OP_TEXT 0x1u
#define OP_BINARY 0x2u
#define OP_CLOSE 0x8u
#define OP_PING 0x9u
#define OP_PONG 0xAu

static const uint8_t rfc_mask[4] = {0x37, 0xfa, 0x21, 0x3d};

/* Appends one frame: b0 is FIN|RSV|opcode as sent; the length is minimally encoded. */
static void put_frame_key(bytes *b, uint8_t b0, int masked, const uint8_t key[4], const uint8_t *payload, size_t len)
{
    uint8_t mbit = masked ? 0x80 : 0x00;
    bytes_byte(b, b0);
    if (len < 126) {
        bytes_byte(b, (uint8_t)(mbit | len));
    } else if (len < 65536) {
        bytes_byte(b, (uint8_t)(mbit | 126));
        bytes_be(b, len, 2);
    } else {
        bytes_byte(b, (uint8_t)(mbit | 127));
        bytes_be(b, len, 8);
    }
    if (masked)
        bytes_put(b, key, 4);
    for (size_t i = 0; i < len; i++)
        bytes_byte(b, (uint8_t)(payload[i] ^ (masked ? key[i % 4] : 0)));
}

/* A frame as the peer of ws would send it: masked (random key) towards a server. */
static void put_frame(bytes *b, int to_server, uint8_t b0, const uint8_t *payload, size_t len)
{
    uint8_t key[4];
    for (int i = 0; i < 4; i++)
        key[i] = (uint8_t)rng_next();
    put_frame_key(b, b0, to_server, key, payload, len);
}

static void put_close(bytes *b, int to_server, uint16_t code, const char *reason)
{
    uint8_t payload[2 + 200];
    size_t rlen = reason ? strlen(reason) : 0;
    payload[0] = (uint8_t)(code >> 8);
    payload[1] = (uint8_t)code;
    memcpy(payload + 2, reason ? reason : "", rlen);
    put_frame(b, to_server, FIN | OP_CLOSE, payload, 2 + rlen);
}

/* ---- parsing what the endpoint writes -------------------------------------- */

typedef struct frame {
    uint8_t b0;
    int masked;
    uint8_t key[4];
    uint64_t len;
    uint8_t *payload; /* unmasked copy, malloc'd */
} frame;

/* Parses one complete frame at p; returns its size, or 0 when incomplete. */
static size_t parse_frame(const uint8_t *p, size_t n, frame *f)
{
    memset(f, 0, sizeof *f);
    if (n < 2)
        return 0;
    size_t h = 2;
    f->b0 = p[0];
    f->masked = p[1] >> 7;
    uint64_t len = p[1] & 0x7f;
    if (len == 126) {
        if (n < 4)
            return 0;
        len = (uint64_t)p[2] << 8 | p[3];
        h = 4;
    } else if (len == 127) {
        if (n < 10)
            return 0;
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | p[2 + i];
        h = 10;
    }
    if (f->masked) {
        if (n < h + 4)
            return 0;
        memcpy(f->key, p + h, 4);
        h += 4;
    }
    if (n - h < len)
        return 0;
    f->len = len;
    f->payload = malloc(len ? len : 1);
    assert_non_null(f->payload);
    for (size_t i = 0; i < len; i++)
        f->payload[i] = (uint8_t)(p[h + i] ^ (f->masked ? f->key[i % 4] : 0));
    return h + len;
}

/* Takes exactly one frame from ws's output (which must hold nothing else). */
static void take_frame(secchat_ws *ws, frame *f)
{
    size_t n;
    const uint8_t *out = secchat_ws_output(ws, &n);
    size_t used = parse_frame(out, n, f);
    if (used == 0 || used != n)
        fail_msg("expected exactly one frame in the output, have %zu bytes (frame takes %zu)", n, used);
    secchat_ws_output_consumed(ws, n);
}

/* Checks the output is one close frame with code (masked iff from a client) and returns its reason. */
static void expect_close_frame(secchat_ws *ws, int is_server, uint16_t code, char reason[128])
{
    frame f;
    take_frame(ws, &f);
    assert_int_equal(f.b0, FIN | OP_CLOSE);
    assert_int_equal(f.masked, is_server ? 0 : 1);
    assert_true(f.len >= 2 && f.len <= 125);
    uint16_t got = (uint16_t)(f.payload[0] << 8 | f.payload[1]);
    if (got != code)
        fail_msg("close frame code %u, want %u", got, code);
    assert_true(secchat_utf8_valid(f.payload + 2, f.len - 2));
    if (reason) {
        memcpy(reason, f.payload + 2, f.len - 2);
        reason[f.len - 2] = '\0';
    }
    free(f.payload);
}

static void expect_no_output(secchat_ws *ws)
{
    size_t n = 1;
    secchat_ws_output(ws, &n);
    if (n != 0)
        fail_msg("expected no output, have %zu bytes", n);
}

/* ---- events ---------------------------------------------------------------- */

static void expect_event(secchat_ws *ws, enum secchat_ws_event_type type, const uint8_t *data, size_t len)
{
    secchat_ws_event ev;
    if (!secchat_ws_next_event(ws, &ev))
        fail_msg("expected event %d, have none", type);
    if (ev.type != type)
        fail_msg("expected event %d, got %d", type, ev.type);
    if (type == SECCHAT_WS_EVENT_MESSAGE || type == SECCHAT_WS_EVENT_PONG) {
        assert_int_equal(ev.len, len);
        if (len)
            assert_memory_equal(ev.data, data, len);
    }
}

static void expect_closed_event(secchat_ws *ws, uint16_t code, const char *reason, int error)
{
    secchat_ws_event ev;
    if (!secchat_ws_next_event(ws, &ev))
        fail_msg("expected CLOSED, have no event");
    if (ev.type != SECCHAT_WS_EVENT_CLOSED)
        fail_msg("expected CLOSED, got event %d", ev.type);
    if (ev.close_code != code)
        fail_msg("CLOSED code %u, want %u", ev.close_code, code);
    if (ev.error != error)
        fail_msg("CLOSED error %d (%s), want %d (%s)", ev.error, secchat_strerror(ev.error), error,
                 secchat_strerror(error));
    assert_non_null(ev.reason);
    if (reason)
        assert_string_equal(ev.reason, reason);
    assert_int_equal(secchat_ws_next_event(ws, &ev), 0);
}

static void expect_no_event(secchat_ws *ws)
{
    secchat_ws_event ev;
    if (secchat_ws_next_event(ws, &ev))
        fail_msg("expected no event, got event %d (len %zu)", ev.type, ev.len);
}

/* ---- endpoints brought to OPEN -------------------------------------------- */

/* The request of RFC 6455 section 1.3 (its key and, below, its accept value). */
static const char rfc_request[] = "GET /chat HTTP/1.1\r\n"
                                  "Host: server.example.com\r\n"
                                  "Upgrade: websocket\r\n"
                                  "Connection: Upgrade\r\n"
                                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                  "Origin: http://example.com\r\n"
                                  "Sec-WebSocket-Version: 13\r\n"
                                  "\r\n";
static const char rfc_accept_line[] = "\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";

static int contains(const uint8_t *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++) {
        if (memcmp(hay + i, needle, k) == 0)
            return 1;
    }
    return 0;
}

/* Length of the HTTP header block at the start of p (through CRLF CRLF), or 0. */
static size_t header_block_len(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 4 <= n; i++) {
        if (memcmp(p + i, "\r\n\r\n", 4) == 0)
            return i + 4;
    }
    return 0;
}

/* Checks and consumes the 101 answer to rfc_request (frames may follow it in the output). */
static void expect_switching(secchat_ws *ws)
{
    size_t n;
    const uint8_t *out = secchat_ws_output(ws, &n);
    static const char status[] = "HTTP/1.1 101 ";
    size_t end = header_block_len(out, n);
    assert_true(end > sizeof status);
    assert_memory_equal(out, status, sizeof status - 1);
    assert_true(contains(out, end, rfc_accept_line));
    secchat_ws_output_consumed(ws, end);
}

static secchat_ws *open_server(const secchat_ws_limits *limits)
{
    secchat_ws *ws = NULL;
    assert_int_equal(secchat_ws_new_server(&ws, limits), SECCHAT_OK);
    assert_int_equal(secchat_ws_state(ws), SECCHAT_WS_STATE_CONNECTING);
    expect_no_output(ws);
    assert_int_equal(secchat_ws_feed(ws, (const uint8_t *)rfc_request, strlen(rfc_request)), SECCHAT_OK);
    expect_switching(ws);
    expect_event(ws, SECCHAT_WS_EVENT_OPEN, NULL, 0);
    expect_no_event(ws);
    assert_int_equal(secchat_ws_state(ws), SECCHAT_WS_STATE_OPEN);
    assert_string_equal(secchat_ws_request_path(ws), "/chat");
    return ws;
}

/* Computes the Sec-WebSocket-Accept for key independently of the library (nettle SHA-1 + base64). */
static void accept_for(const char *key, char accept[BASE64_ENCODE_RAW_LENGTH(SHA1_DIGEST_SIZE) + 1])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    struct sha1_ctx ctx;
    uint8_t digest[SHA1_DIGEST_SIZE];
    sha1_init(&ctx);
    sha1_update(&ctx, strlen(key), (const uint8_t *)key);
    sha1_update(&ctx, sizeof guid - 1, (const uint8_t *)guid);
    sha1_digest(&ctx, sizeof digest, digest);
    base64_encode_raw(accept, sizeof digest, digest);
    /* nettle's length macro computes in int; here it is the constant 28. */
    /* NOLINTNEXTLINE(bugprone-implicit-widening-of-multiplication-result) */
    accept[BASE64_ENCODE_RAW_LENGTH(SHA1_DIGEST_SIZE)] = '\0';
}

/* Takes the client's request from its output and builds the 101 response for its key into resp. */
static void response_for_client(secchat_ws *ws, bytes *resp)
{
    size_t n;
    const uint8_t *out = secchat_ws_output(ws, &n);
    static const char get[] = "GET /chat HTTP/1.1\r\n";
    static const char field[] = "\r\nSec-WebSocket-Key: ";
    assert_true(n > sizeof get);
    assert_memory_equal(out, get, sizeof get - 1);
    assert_true(contains(out, n, "\r\nHost: 127.0.0.1:8080\r\n"));
    assert_true(contains(out, n, "\r\nSec-WebSocket-Version: 13\r\n"));
    assert_memory_equal(out + n - 4, "\r\n\r\n", 4);
    char key[64] = {0};
    for (size_t i = 0; i + sizeof field - 1 <= n; i++) {
        if (memcmp(out + i, field, sizeof field - 1) == 0) {
            const uint8_t *k = out + i + sizeof field - 1;
            size_t kl = 0;
            while (k + kl < out + n && k[kl] != '\r' && kl < sizeof key - 1)
                kl++;
            memcpy(key, k, kl);
            break;
        }
    }
    assert_int_equal(strlen(key), 24);
    char accept[64];
    accept_for(key, accept);
    char text[256];
    int len = snprintf(text, sizeof text,
                       "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Accept: %s\r\n\r\n",
                       accept);
    assert_true(len > 0 && (size_t)len < sizeof text);
    bytes_put(resp, text, (size_t)len);
    secchat_ws_output_consumed(ws, n);
}

static secchat_ws *open_client(const secchat_ws_limits *limits)
{
    secchat_ws *ws = NULL;
    assert_int_equal(secchat_ws_new_client(&ws, "ws://127.0.0.1:8080/chat", limits), SECCHAT_OK);
    assert_int_equal(secchat_ws_state(ws), SECCHAT_WS_STATE_CONNECTING);
    bytes resp = {0};
    response_for_client(ws, &resp);
    assert_int_equal(secchat_ws_feed(ws, resp.p, resp.len), SECCHAT_OK);
    bytes_free(&resp);
    expect_no_output(ws);
    expect_event(ws, SECCHAT_WS_EVENT_OPEN, NULL, 0);
    expect_no_event(ws);
    assert_int_equal(secchat_ws_state(ws), SECCHAT_WS_STATE_OPEN);
    assert_null(secchat_ws_request_path(ws));
    return ws;
}

static secchat_ws *open_endpoint(int is_server, const secchat_ws_limits *limits)
{
    return is_server ? open_server(limits) : open_client(limits);
}

static int feed_bytes(secchat_ws *ws, const bytes *b)
{
    return secchat_ws_feed(ws, b->p, b->len);
}

/*
 * The peer broke the protocol: feed returned rc, which must be err; the output
 * is one close frame with code; the CLOSED event carries code and err; the
 * failure is sticky and nothing more comes out.
 */
static void expect_failed(secchat_ws *ws, int is_server, int rc, int err, uint16_t code)
{
    if (rc != err)
        fail_msg("feed returned %d (%s), want %d (%s)", rc, secchat_strerror(rc), err, secchat_strerror(err));
    assert_int_equal(secchat_ws_state(ws), SECCHAT_WS_STATE_CLOSED);
    char reason[128];
    expect_close_frame(ws, is_server, code, reason);
    secchat_ws_event ev;
    assert_int_equal(secchat_ws_next_event(ws, &ev), 1);
    assert_int_equal(ev.type, SECCHAT_WS_EVENT_CLOSED);
    if (ev.close_code != code)
        fail_msg("CLOSED code %u, want %u", ev.close_code, code);
    assert_int_equal(ev.error, err);
    assert_non_null(ev.reason);
    if (reason[0])
        assert_string_equal(ev.reason, reason);
    expect_no_event(ws);
    /* Sticky: more bytes change nothing. */
    static const uint8_t more[] = {0x82, 0x80, 1, 2, 3, 4};
    assert_int_equal(secchat_ws_feed(ws, more, sizeof more), err);
    expect_no_output(ws);
    expect_no_event(ws);
    assert_int_equal(secchat_ws_send(ws, more, 1), err);
}

/* Feeds one frame built by the caller to a fresh endpoint and expects failure err/code. */
static void expect_frame_refused(int is_server, const bytes *b, int err, uint16_t code)
{
    secchat_ws *ws = open_endpoint(is_server, NULL);
    expect_failed(ws, is_server, feed_bytes(ws, b), err, code);
    secchat_ws_free(ws);
}

/* ---- RFC 6455 section 5.7 examples --------------------------------------- */

static void test_rfc_unmasked_hello_text_refused_by_client(void **state)
{
    (void)state;
    static const uint8_t hello[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    secchat_ws *ws = open_client(NULL);
    int rc = secchat_ws_feed(ws, hello, sizeof hello);
    expect_failed(ws, 0, rc, SECCHAT_ERR_WS_TEXT_MESSAGE, SECCHAT_WS_CLOSE_UNSUPPORTED_DATA);
    secchat_ws_free(ws);
}

static void test_rfc_masked_hello_text_refused_by_server(void **state)
{
    (void)state;
    static const uint8_t hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    secchat_ws *ws = open_server(NULL);
    assert_int_equal(secchat_ws_feed(ws, hello, sizeof hello), SECCHAT_ERR_WS_TEXT_MESSAGE);
    /* Server -> client close: unmasked, 88 LL 03 EB reason. */
    size_t n;
    const uint8_t *out = secchat_ws_output(ws, &n);
    assert_true(n >= 4);
    assert_int_equal(out[0], 0x88);
    assert_int_equal(out[1], n - 2);
    assert_int_equal(out[2], 0x03);
    assert_int_equal(out[3], 0xEB);
    secchat_ws_event ev;
    assert_int_equal(secchat_ws_next_event(ws, &ev), 1);
    assert_int_equal(ev.type, SECCHAT_WS_EVENT_CLOSED);
    assert_int_equal(ev.close_code, 1003);
    assert_int_equal(ev.error, SECCHAT_ERR_WS_TEXT_MESSAGE);
    assert_int_equal(strlen(ev.reason), n - 4);
    assert_memory_equal(out + 4, ev.reason, n - 4);
    expect_no_event(ws);
    assert_int_equal(secchat_ws_state(ws), SECCHAT_WS_STATE_CLOSED);
    secchat_ws_free(ws);
}

/* The first fragment of a text message is enough to refuse it: the rest never matters. */
static void test_rfc_fragmented_text_refused_at_first_fragment(void **state)
{
    (void)state;
    static const uint8_t first[] = {0x01, 0x03, 0x48, 0x65, 0x6c};
    static const uint8_t last[] = {0x80, 0x02, 0x6c, 0x6f};
    secchat_ws *ws = open_client(NULL);
    int rc = secchat_ws_feed(ws, first, sizeof first);
    assert_int_equal(rc, SECCHAT_ERR_WS_TEXT_MESSAGE);
    char reason[128];
    expect_close_frame(ws, 0, 1003, reason);
    expect_closed_event(ws, 1003, NULL, SECCHAT_ERR_WS_TEXT_MESSAGE);
    assert_int_equal(secchat_ws_feed(ws, last, sizeof last), SECCHAT_ERR_WS_TEXT_MESSAGE);
    expect_no_output(ws);
    expect_no_event(ws);
    secchat_ws_free(ws);

    /* The same towards a server, masked: the header and the first payload byte are enough. */
    ws = open_server(NULL);
    static const uint8_t start[] = {0x01, 0x83, 0x37, 0xfa, 0x21, 0x3d, 0x48 ^ 0x37};
    expect_failed(ws, 1, secchat_ws_feed(ws, start, sizeof start), SECCHAT_ERR_WS_TEXT_MESSAGE, 1003);
    secchat_ws_free(ws);

    /* An empty text message is refused as well. */
    ws = open_client(NULL);
    static const uint8_t empty[] = {0x81, 0x00};
    expect_failed(ws, 0, secchat_ws_feed(ws, empty, sizeof empty), SECCHAT_ERR_WS_TEXT_MESSAGE, 1003);
    secchat_ws_free(ws);
}

static void test_rfc_unmasked_ping_answered_by_client(void **state)
{
    (void)state;
    static const uint8_t ping[] = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    secchat_ws *ws = open_client(NULL);
    assert_int_equal(secchat_ws_feed(ws, ping, sizeof ping), SECCHAT_OK);
    frame f;
    size_t n;
    const uint8_t *out = secchat_ws_output(ws, &n);
    assert_int_equal(n, 2 + 4 + 5);
    assert_int_equal(out[0], 0x8A);
    assert_int_equal(out[1], 0x85);
    take_frame(ws, &f);
    assert_int_equal(f.len, 5);
    assert_memory_equal(f.payload, "Hello", 5);
    free(f.payload);
    expect_no_event(ws); /* pings are answered, not reported */
    assert_int_equal(secchat_ws_state(ws), SECCHAT_WS_STATE_OPEN);
    secchat_ws_free(ws);
}

static void test_rfc_masked_ping_and_pong_to_server(void **state)
{
    (void)state;
    /* A masked ping gets the unmasked pong 8A 05 Hello. */
    static const uint8_t ping[] = {0x89, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    static const uint8_t pong_out[] = {0x8A, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    /* The masked pong of section 5.7 becomes a PONG event. */
    static const uint8_t pong_in[] = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    secchat_ws *ws = open_server(NULL);
    assert_int_equal(secchat_ws_feed(ws, ping, sizeof ping), SECCHAT_OK);
    size_t n;
    const uint8_t *out = secchat_ws_output(ws, &n);
    assert_int_equal(n, sizeof pong_out);
    assert_memory_equal(out, pong_out, sizeof pong_out);
    secchat_ws_output_consumed(ws, n);
    expect_no_event(ws);
    assert_int_equal(secchat_ws_feed(ws, pong_in, sizeof pong_in), SECCHAT_OK);
    expect_event(ws, SECCHAT_WS_EVENT_PONG, (const uint8_t *)"Hello", 5);
    expect_no_event(ws);
    expect_no_output(ws);
    secchat_ws_free(ws);
}

static void test_rfc_256_byte_binary(void **state)
{
    (void)state;
    uint8_t *payload = pattern(256, 1);
    for (int is_server = 0; is_server <= 1; is_server++) {
        bytes b = {0};
        put_frame_key(&b, FIN | OP_BINARY, is_server, rfc_mask, payload, 256);
        assert_int_equal(b.p[0], 0x82);
        assert_int_equal(b.p[1], is_server ? 0xFE : 0x7E);
        assert_int_equal(b.p[2], 0x01);
        assert_int_equal(b.p[3], 0x00);
        secchat_ws *ws = open_endpoint(is_server, NULL);
        assert_int_equal(feed_bytes(ws, &b), SECCHAT_OK);
        expect_event(ws, SECCHAT_WS_EVENT_MESSAGE, payload, 256);
        expect_no_event(ws);
        expect_no_output(ws);
        secchat_ws_free(ws);
        bytes_free(&b);
    }
    free(payload);
}

/*
 * 82 7F 00 00 00 00 00 01 00 00: over the default limit; refused with 1009 as
 * soon as the payload starts, without waiting for the 65536 bytes.
 */
static void test_rfc_64k_binary_too_big(void **state)
{
    (void)state;
    static const uint8_t start[] = {0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0xAB};
    secchat_ws *ws = open_client(NULL);
    expect_failed(ws, 0, secchat_ws_feed(ws, start, sizeof start), SECCHAT_ERR_WS_MESSAGE_TOO_BIG, 1009);
    secchat_ws_free(ws);

    /* With the whole payload, towards a server. */
    uint8_t *payload = pattern(65536, 2);
    bytes b = {0};
    put_frame(&b, 1, FIN | OP_BINARY, payload, 65536);
    ws = open_server(NULL);
    expect_failed(ws, 1, feed_bytes(ws, &b), SECCHAT_ERR_WS_MESSAGE_TOO_BIG, 1009);
    secchat_ws_free(ws);
    bytes_free(&b);
    free(payload);
}

static void test_max_message_65535_accepted(void **state)
{
    (void)state;
    uint8_t *payload = pattern(65535, 3);
    for (int is_server = 0; is_server <= 1; is_server++) {
        bytes b = {0};
        put_frame(&b, is_server, FIN | OP_BINARY, payload, 65535);
        assert_int_equal(b.p[1] & 0x7f, 126);
        assert_int_equal(b.p[2], 0xFF);
        assert_int_equal(b.p[3], 0xFF);
        secchat_ws *ws = open_endpoint(is_server, NULL);
        assert_int_equal(feed_bytes(ws, &b), SECCHAT_OK);
        expect_event(ws, SECCHAT_WS_EVENT_MESSAGE, payload, 65535);
        expect_no_event(ws);
        expect_no_output(ws);
        secchat_ws_free(ws);
        bytes_free(&b);
    }
    free(payload);
}

/* The limit counts the whole message: fragments adding up to 65536 are refused too. */
static void test_max_message_counts_fragments(void **state)
{
    (void)state;
    uint8_t *payload = pattern(65536, 4);
    bytes b = {0};
    put_frame(&b, 1, OP_BINARY, payload, 40000);
    put_frame(&b, 1, FIN | OP_CONT, payload + 40000, 25536);
    secchat_ws *ws = open_server(NULL);
    expect_failed(ws, 1, feed_bytes(ws, &b), SECCHAT_ERR_WS_MESSAGE_TOO_BIG, 1009);
    secchat_ws_free(ws);
    bytes_free(&b);

    /* One byte less fits. */
    put_frame(&b, 1, OP_BINARY, payload, 40000);
    put_frame(&b, 1, FIN | OP_CONT, payload + 40000, 25535);
    ws = open_server(NULL);
    assert_int_equal(feed_bytes(ws, &b), SECCHAT_OK);
    expect_event(ws, SECCHAT_WS_EVENT_MESSAGE, payload, 65535);
    expect_no_event(ws);
    secchat_ws_free(ws);
    bytes_free(&b);
    free(payload);
}

static void test_raised_limit_accepts_65536(void **state)
{
    (void)state;
    secchat_ws_limits limits = {65536, 0};
    uint8_t *payload = pattern(65537, 5);
    for (int is_server = 0; is_server <= 1; is_server++) {
        bytes b = {0};
        put_frame(&b, is_server, FIN | OP_BINARY, payload, 65536);
        assert_int_equal(b.p[1] & 0x7f, 127);
        secchat_ws *ws = open_endpoint(is_server, &limits);
        assert_int_equal(feed_bytes(ws, &b), SECCHAT_OK);
        expect_event(ws, SECCHAT_WS_EVENT_MESSAGE, payload, 65536);
        expect_no_event(ws);
        bytes_free(&b);
        /* 65537 is over the raised limit. */
        put_frame(&b, is_server, FIN | OP_BINARY, payload, 65537);
        expect_failed(ws, is_server, feed_bytes(ws, &b), SECCHAT_ERR_WS_MESSAGE_TOO_BIG, 1009);
        secchat_ws_free(ws);
        bytes_free(&b);
    }
    free(payload);

    /* A lowered limit is applied as well. */
    secchat_ws_limits small = {100, 0};
    uint8_t *p = pattern(101, 6);
    bytes b = {0};
    put_frame(&b, 1, FIN | OP_BINARY, p, 100);
    secchat_ws *ws = open_server(&small);
    assert_int_equal(feed_bytes(ws, &b), SECCHAT_OK);
    expect_event(ws, SECCHAT_WS_EVENT_MESSAGE, p, 100);
    bytes_free(&b);
    put_frame(&b, 1, FIN | OP_BINARY, p, 101);
    expect_failed(ws, 1, feed_bytes(ws, &b), SECCHAT_ERR_WS_MESSAGE_TOO_BIG, 1009);
    secchat_ws_free(ws);
    bytes_free(&b);
    free(p);

    /* Limits beyond 2^31-1 are refused. */
    secchat_ws_limits huge = {(size_t)0x80000000u, 0};
    secchat_ws *bad = (secchat_ws *)&huge;
    assert_int_equal(secchat_ws_new_server(&bad, &huge), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_null(bad);
}

/* ---- masking ------------------------------------------------------------------ */

static void test_server_refuses_unmasked_frame(void **state)
{
    (void)state;
    static const uint8_t unmasked[] = {0x82, 0x03, 1, 2, 3};
    secchat_ws *ws = open_server(NULL);
    int rc = secchat_ws_feed(ws, unmasked, sizeof unmasked);
    assert_int_equal(rc, SECCHAT_ERR_WS_PROTOCOL);
    size_t n;
    const uint8_t *out = secchat_ws_output(ws, &n);
    assert_true(n >= 4);
    assert_int_equal(out[0], 0x88);
    assert_int_equal(out[1], n - 2); /* unmasked, reason optional */
    assert_int_equal(out[2], 0x03);
    assert_int_equal(out[3], 0xEA);
    expect_failed(ws, 1, rc, SECCHAT_ERR_WS_PROTOCOL, 1002);
    secchat_ws_free(ws);

    /* Unmasked control frames too. */
    static const uint8_t ping[] = {0x89, 0x00};
    ws = open_server(NULL);
    expect_failed(ws, 1, secchat_ws_feed(ws, ping, sizeof ping), SECCHAT_ERR_WS_PROTOCOL, 1002);
    secchat_ws_free(ws);
}

static void test_client_refuses_masked_frame(void **state)
{
    (void)state;
    static const uint8_t masked[] = {0x82, 0x83, 0x37, 0xfa, 0x21, 0x3d, 1, 2, 3};
    secchat_ws *ws = open_client(NULL);
    expect_failed(ws, 0, secchat_ws_feed(ws, masked, sizeof masked), SECCHAT_ERR_WS_PROTOCOL, 1002);
    secchat_ws_free(ws);
}

static void test_client_frames_masked_with_fresh_keys(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 5, 125, 126, 127, 65535, 65536, 70000};
    secchat_ws *ws = open_client(NULL);
    uint8_t keys[2 * COUNT(sizes)][4];
    size_t nkeys = 0;
    for (size_t i = 0; i < COUNT(sizes); i++) {
        uint8_t *payload = pattern(sizes[i], 7);
        for (int rep = 0; rep < 2; rep++) {
            assert_int_equal(secchat_ws_send(ws, payload, sizes[i]), SECCHAT_OK);
            size_t n;
            const uint8_t *out = secchat_ws_output(ws, &n);
            size_t hdr = sizes[i] < 126 ? 2 : sizes[i] < 65536 ? 4 : 10;
            assert_int_equal(n, hdr + 4 + sizes[i]);
            assert_int_equal(out[0], 0x82);
            assert_int_equal(out[1] & 0x80, 0x80); /* mask bit, even for an empty payload */
            frame f;
            take_frame(ws, &f);
            assert_int_equal(f.len, sizes[i]);
            if (sizes[i])
                assert_memory_equal(f.payload, payload, sizes[i]);
            free(f.payload);
            memcpy(keys[nkeys++], f.key, 4);
        }
        free(payload);
    }
    /* Every frame got its own key (a repeat among 18 random 32-bit keys is negligible). */
    for (size_t i = 0; i < nkeys; i++) {
        for (size_t j = i + 1; j < nkeys; j++) {
            if (memcmp(keys[i], keys[j], 4) == 0)
                fail_msg("frames %zu and %zu used the same mask key", i, j);
        }
    }
    /* Two endpoints do not share a mask sequence either. */
    secchat_ws *other = open_client(NULL);
    assert_int_equal(secchat_ws_send(other, (const uint8_t *)"x", 1), SECCHAT_OK);
    frame f;
    take_frame(other, &f);
    assert_memory_not_equal(f.key, keys[0], 4);
    free(f.payload);
    secchat_ws_free(other);
    secchat_ws_free(ws);
}

static void test_server_frames_unmasked(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 5, 125, 126, 65535, 65536};
    secchat_ws *ws = open_server(NULL);
    for (size_t i = 0; i < COUNT(sizes); i++) {
        uint8_t *payload = pattern(sizes[i], 8);
        assert_int_equal(secchat_ws_send(ws, payload, sizes[i]), SECCHAT_OK);
        bytes want = {0};
        put_frame_key(&want, FIN | OP_BINARY, 0, NULL, payload, sizes[i]);
        size_t n;
        const uint8_t *out = secchat_ws_output(ws, &n);
        assert_int_equal(n, want.len);
        assert_memory_equal(out, want.p, n);
        secchat_ws_output_consumed(ws, n);
        bytes_free(&want);
        free(payload);
    }
    /* Spot-check the encodings themselves, not only agreement with our builder. */
    assert_int_equal(secchat_ws_send(ws, (const uint8_t *)"Hello", 5), SECCHAT_OK);
    static const uint8_t hello[] = {0x82, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    size_t n;
    const uint8_t *out = secchat_ws_output(ws, &n);
    assert_int_equal(n, sizeof hello);
    assert_memory_equal(out, hello, n);
    secchat_ws_output_consumed(ws, n);
    uint8_t *big = pattern(65536, 9);
    assert_int_equal(secchat_ws_send(ws, big, 65536), SECCHAT_OK);
    static const uint8_t hdr64[] = {0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00};
    out = secchat_ws_output(ws, &n);
    assert_int_equal(n, 10 + 65536);
    assert_memory_equal(out, hdr64, 10);
    assert_memory_equal(out + 10, big, 65536);
    secchat_ws_output_consumed(ws, n);
    free(big);
    secchat_ws_free(ws);
}

/* ---- fragmentation ------------------------------------------------------------ */

static void test_fragments_with_interleaved_control_frames(void **state)
{
    (void)state;
    uint8_t *payload = pattern(3000, 10);
    for (int is_server = 0; is_server <= 1; is_server++) {
        bytes b = {0};
        put_frame(&b, is_server, OP_BINARY, payload, 1000);
        put_frame(&b, is_server, FIN | OP_PING, (const uint8_t *)"ping!", 5);
        put_frame(&b, is_server, OP_CONT, payload + 1000, 1500);
        put_frame(&b, is_server, FIN | OP_PONG, (const uint8_t *)"pong", 4);
        put_frame(&b, is_server, FIN | OP_CONT, payload + 2500, 500);
        secchat_ws *ws = open_endpoint(is_server, NULL);
        assert_int_equal(feed_bytes(ws, &b), SECCHAT_OK);
        /* The ping got its pong ... */
        frame f;
        take_frame(ws, &f);
        assert_int_equal(f.b0, FIN | OP_PONG);
        assert_int_equal(f.masked, !is_server);
        assert_int_equal(f.len, 5);
        assert_memory_equal(f.payload, "ping!", 5);
        free(f.payload);
        /* ... the pong is reported first, and the message arrives whole after it. */
        expect_event(ws, SECCHAT_WS_EVENT_PONG, (const uint8_t *)"pong", 4);
        expect_event(ws, SECCHAT_WS_EVENT_MESSAGE, payload, 3000);
        expect_no_event(ws);
        assert_int_equal(secchat_ws_state(ws), SECCHAT_WS_STATE_OPEN);

        /* Empty fragments and a fragmented empty message are fine too. */
        bytes_free(&b);
        put_frame(&b, is_server, OP_BINARY, NULL, 0);
        put_frame(&b, is_server, OP_CONT, payload, 7);
        put_frame(&b, is_server, OP_CONT, NULL, 0);
        put_frame(&b, is_server, FIN | OP_CONT, NULL, 0);
        put_frame(&b, is_server, OP_BINARY, NULL, 0);
        put_frame(&b, is_server, FIN | OP_CONT, NULL, 0);
        assert_int_equal(feed_bytes(ws, &b), SECCHAT_OK);
        expect_event(ws, SECCHAT_WS_EVENT_MESSAGE, payload, 7);
        expect_event(ws, SECCHAT_WS_EVENT_MESSAGE, NULL, 0);
        expect_no_event(ws);
        expect_no_output(ws);
        secchat_ws_free(ws);
        bytes_free(&b);
    }
    free(payload);
}

/* ---- trimming ----------------------------------------------------------------- */

/* Every event of ws so far, flattened: type, length and data, one after another. */
static void take_events(secchat_ws *ws, bytes *log)
{
    secchat_ws_event ev;
    while (secchat_ws_next_event(ws, &ev)) {
        uint8_t head[5] = {(uint8_t)ev.type, (uint8_t)(ev.len >> 24), (uint8_t)(ev.len >> 16), (uint8_t)(ev.len >> 8),
                           (uint8_t)ev.len};
        bytes_put(log, head, sizeof head);
        if (ev.len)
            bytes_put(log, ev.data, ev.len);
        if (ev.type == SECCHAT_WS_EVENT_CLOSED) {
            uint8_t code[2] = {(uint8_t)(ev.close_code >> 8), (uint8_t)ev.close_code};
            bytes_put(log, code, 2);
        }
    }
}

static void take_output(secchat_ws *ws, bytes *out)
{
    size_t len;
    const uint8_t *o = secchat_ws_output(ws, &len);
    bytes_put(out, o, len);
    secchat_ws_output_consumed(ws, len);
}

/*
 * secchat_ws_trim may be called between any two feed calls, even inside a
 * frame header, a payload or a fragmented message: the events and the
 * output are the same as without it. (On the server side it also drops and
 * remakes wslay's parser between frames.)
 */
static void test_trim_anywhere(void **state)
{
    (void)state;
    uint8_t *payload = pattern(5000, 11);
    for (int is_server = 0; is_server <= 1; is_server++) {
        bytes b = {0};
        put_frame(&b, is_server, FIN | OP_BINARY, payload, 100);
        put_frame(&b, is_server, OP_BINARY, payload, 1000);
        put_frame(&b, is_server, FIN | OP_PING, (const uint8_t *)"ping!", 5);
        put_frame(&b, is_server, OP_CONT, NULL, 0);
        put_frame(&b, is_server, FIN | OP_CONT, payload + 1000, 3000);
        put_frame(&b, is_server, FIN | OP_BINARY, NULL, 0);
        put_frame(&b, is_server, FIN | OP_PONG, (const uint8_t *)"pong", 4);
        put_frame(&b, is_server, FIN | OP_BINARY, payload, 126);
        put_frame(&b, is_server, FIN | OP_BINARY, payload, 5000);
        put_close(&b, is_server, 1000, "bye");

        /* The reference: the whole stream in one call, no trim. */
        bytes want_events = {0}, want_out = {0};
        secchat_ws *ref = open_endpoint(is_server, NULL);
        take_output(ref, &want_out);
        assert_int_equal(feed_bytes(ref, &b), SECCHAT_OK);
        take_events(ref, &want_events);
        take_output(ref, &want_out);
        secchat_ws_free(ref);

        for (uint64_t seed = 1; seed <= 40; seed++) {
            rng_seed(seed);
            bytes got_events = {0}, got_out = {0};
            secchat_ws *ws = open_endpoint(is_server, NULL);
            take_output(ws, &got_out);
            for (size_t at = 0; at < b.len;) {
                size_t n = 1 + rng_next() % (seed < 10 ? 3 : 700); /* tiny pieces split every header */
                if (n > b.len - at)
                    n = b.len - at;
                assert_int_equal(secchat_ws_feed(ws, b.p + at, n), SECCHAT_OK);
                at += n;
                take_events(ws, &got_events);
                secchat_ws_trim(ws);
                take_output(ws, &got_out);
                secchat_ws_trim(ws);
            }
            assert_int_equal(got_events.len, want_events.len);
            assert_memory_equal(got_events.p, want_events.p, want_events.len);
            assert_int_equal(got_out.len, want_out.len);
            if (is_server) /* a client's frames carry random masks */
                assert_memory_equal(got_out.p, want_out.p, want_out.len);
            assert_int_equal(secchat_ws_state(ws), SECCHAT_WS_STATE_CLOSED);
            secchat_ws_trim(ws);
            secchat_ws_free(ws);
            bytes_free(&got_events);
            bytes_free(&got_out);
        }
        bytes_free(&want_events);
        bytes_free(&want_out);
        bytes_free(&b);
    }
    free(payload);
    secchat_ws_trim(NULL); /* a no-op */
}

/* A close between fragments is a control frame like any other: the handshake completes, the partial message is dropped.
 */
static void test_close_inside_fragmented_message(void **state)
{
    (void)state;
    for (int is_server = 0; is_server <= 1; is_server++) {
        bytes b = {0};
        put_frame(&b, is_server, OP_BINARY, (const uint8_t *)"part", 4);
        put_close(&b, is_server, 1001, "away");
        put_frame(&b, is_server, FIN | OP_CONT, (const uint8_t *)"rest", 4);
        secchat_ws *ws = open_endpoint(is_server, NULL);
        assert_int_equal(feed_bytes(ws, &b), SECCHAT_OK);
        expect_close_frame(ws, is_server, 1001, NULL);
        expect_closed_event(ws, 1001, "away", SECCHAT_OK);
        secchat_ws_free(ws);
        bytes_free(&b);
    }
}

static void test_continuation_without_start(void **state)
{
    (void)state;
    for (int is_server = 0; is_server <= 1; is_server++) {
        bytes b = {0};
        put_frame(&b, is_server, FIN | OP_CONT, (const uint8_t *)"abc", 3);
        expect_frame_refused(is_server, &b, SECCHAT_ERR_WS_PROTOCOL, 1002);
        bytes_free(&b);
        /* Also right after a complete message. */
        put_frame(&b, is_server, FIN | OP_BINARY, (const uint8_t *)"abc", 3);
        put_frame(&b, is_server, OP_CONT, (const uint8_t *)"abc", 3);
        secchat_ws *ws = open_endpoint(is_server, NULL);
        int rc = feed_bytes(ws, &b);
        expect_event(ws, SECCHAT_WS_EVENT_MESSAGE, (const uint8_t *)"abc", 3);
        expect_failed(ws, is_server, rc, SECCHAT_ERR_WS_PROTOCOL, 1002);
        secchat_ws_free(ws);
        bytes_free(&b);
    }
}

static void test_new_data_frame_inside_fragmented_message(void **state)
{
    (void)state;
    static const uint8_t second_ops[] = {FIN | OP_BINARY, OP_BINARY, FIN | OP_TEXT};
    for (int is_server = 0; is_server <= 1; is_server++) {
        for (size_t i = 0; i < COUNT(second_ops); i++) {
            bytes b = {0};
            put_frame(&b, is_server, OP_BINARY, (const uint8_t *)"abc", 3);
            put_frame(&b, is_server, second_ops[i], (const uint8_t *)"def", 3);
            expect_frame_refused(is_server, &b, SECCHAT_ERR_WS_PROTOCOL, 1002);
            bytes_free(&b);
        }
    }
}

static void test_fragmented_control_frames(void **state)
{
    (void)state;
    static const uint8_t ops[] = {OP_PING, OP_PONG, OP_CLOSE};
    for (int is_server = 0; is_server <= 1; is_server++) {
        for (size_t i = 0; i < COUNT(ops); i++) {
            bytes b = {0};
            put_frame(&b, is_server, ops[i], (const uint8_t *)"\x03\xe8x", 3); /* FIN clear */
            expect_frame_refused(is_server, &b, SECCHAT_ERR_WS_PROTOCOL, 1002);
            bytes_free(&b);
        }
    }
}

static void test_control_frame_126_bytes(void **state)
{
    (void)state;
    static const uint8_t ops[] = {OP_PING, OP_PONG, OP_CLOSE};
    uint8_t *payload = pattern(126, 11);
    payload[0] = 0x03;
    payload[1] = 0xe8;
    for (size_t k = 2; k < 126; k++)
        payload[k] = 'a';
    for (int is_server = 0; is_server <= 1; is_server++) {
        for (size_t i = 0; i < COUNT(ops); i++) {
            bytes b = {0};
            put_frame(&b, is_server, FIN | ops[i], payload, 126);
            expect_frame_refused(is_server, &b, SECCHAT_ERR_WS_PROTOCOL, 1002);
            bytes_free(&b);
            /* 125 is the largest control payload allowed. */
            if (ops[i] != OP_CLOSE) {
                put_frame(&b, is_server, FIN | ops[i], payload, 125);
                secchat_ws *ws = open_endpoint(is_server, NULL);
                assert_int_equal(feed_bytes(ws, &b), SECCHAT_OK);
                assert_int_equal(secchat_ws_state(ws), SECCHAT_WS_STATE_OPEN);
                secchat_ws_free(ws);
                bytes_free(&b);
            }
        }
    }
    free(payload);
}

/* Builds a frame header by hand with the given length field bytes, mask when to a server, then payload. */
static void put_raw_frame(bytes *b, int to_server, uint8_t b0, uint8_t len7, const uint8_t *ext, size_t ext_len,
                          const uint8_t *payload, size_t plen)
{
    bytes_byte(b, b0);
    bytes_byte(b, (uint8_t)((to_server ? 0x80 : 0) | len7));
    bytes_put(b, ext, ext_len);
    if (to_server)
        bytes_put(b, rfc_mask, 4);
    for (size_t i = 0; i < plen; i++)
        bytes_byte(b, (uint8_t)(payload[i] ^ (to_server ? rfc_mask[i % 4] : 0)));
}

static void test_non_minimal_lengths(void **state)
{
    (void)state;
    uint8_t *payload = pattern(65535, 12);
    static const uint8_t len16_0[] = {0x00, 0x00};
    static const uint8_t len16_125[] = {0x00, 0x7D};
    static const uint8_t len64_0[] = {0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t len64_125[] = {0, 0, 0, 0, 0, 0, 0, 0x7D};
    static const uint8_t len64_126[] = {0, 0, 0, 0, 0, 0, 0, 0x7E};
    static const uint8_t len64_65535[] = {0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    static const struct {
        uint8_t len7;
        const uint8_t *ext;
        size_t ext_len;
        size_t plen;
    } cases[] = {
        {126, len16_0, 2, 0},     {126, len16_125, 2, 125}, {127, len64_0, 8, 0},
        {127, len64_125, 8, 125}, {127, len64_126, 8, 126}, {127, len64_65535, 8, 65535},
    };
    for (int is_server = 0; is_server <= 1; is_server++) {
        for (size_t i = 0; i < COUNT(cases); i++) {
            bytes b = {0};
            put_raw_frame(&b, is_server, FIN | OP_BINARY, cases[i].len7, cases[i].ext, cases[i].ext_len, payload,
                          cases[i].plen);
            expect_frame_refused(is_server, &b, SECCHAT_ERR_WS_PROTOCOL, 1002);
            bytes_free(&b);
        }
    }
    free(payload);
}

static void test_64bit_length_msb_set(void **state)
{
    (void)state;
    static const uint8_t msb[] = {0x80, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t msb_small[] = {0x80, 0, 0, 0, 0, 0, 0, 0x05};
    static const uint8_t all_ones[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    const uint8_t *cases[] = {msb, msb_small, all_ones};
    /* With a limit that would not stop it on its own account. */
    secchat_ws_limits limits = {0x7fffffffu, 0};
    for (int is_server = 0; is_server <= 1; is_server++) {
        for (size_t i = 0; i < COUNT(cases); i++) {
            bytes b = {0};
            put_raw_frame(&b, is_server, FIN | OP_BINARY, 127, cases[i], 8, (const uint8_t *)"hello", 5);
            secchat_ws *ws = open_endpoint(is_server, &limits);
            expect_failed(ws, is_server, feed_bytes(ws, &b), SECCHAT_ERR_WS_PROTOCOL, 1002);
            secchat_ws_free(ws);
            bytes_free(&b);
        }
    }
}

static void test_reserved_bits(void **state)
{
    (void)state;
    static const uint8_t rsv[] = {0x40, 0x20, 0x10, 0x70};
    static const uint8_t ops[] = {OP_BINARY, OP_PING};
    for (int is_server = 0; is_server <= 1; is_server++) {
        for (size_t i = 0; i < COUNT(rsv); i++) {
            for (size_t j = 0; j < COUNT(ops); j++) {
                bytes b = {0};
                put_frame(&b, is_server, (uint8_t)(FIN | rsv[i] | ops[j]), (const uint8_t *)"abc", 3);
                expect_frame_refused(is_server, &b, SECCHAT_ERR_WS_PROTOCOL, 1002);
                bytes_free(&b);
            }
            /* On a continuation frame as well. */
            bytes b = {0};
            put_frame(&b, is_server, OP_BINARY, (const uint8_t *)"abc", 3);
            put_frame(&b, is_server, (uint8_t)(FIN | rsv[i] | OP_CONT), (const uint8_t *)"abc", 3);
            expect_frame_refused(is_server, &b, SECCHAT_ERR_WS_PROTOCOL, 1002);
            bytes_free(&b);
        }
    }
}

static void test_unknown_opcodes(void **state)
{
    (void)state;
    static const uint8_t ops[] = {0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF};
    for (int is_server = 0; is_server <= 1; is_server++) {
        for (size_t i = 0; i < COUNT(ops); i++) {
            bytes b = {0};
            put_frame(&b, is_server, (uint8_t)(FIN | ops[i]), (const uint8_t *)"abc", 3);
            expect_frame_refused(is_server, &b, SECCHAT_ERR_WS_PROTOCOL, 1002);
            bytes_free(&b);
            /* Inside a fragmented message. */
            put_frame(&b, is_server, OP_BINARY, (const uint8_t *)"abc", 3);
            put_frame(&b, is_server, (uint8_t)(FIN | ops[i]), (const uint8_t *)"abc", 3);
            expect_frame_refused(is_server, &b, SECCHAT_ERR_WS_PROTOCOL, 1002);
            bytes_free(&b);
        }
    }
}

/* ---- close handshake ------------------------------------------------------- */

static void test_peer_close_echoed(void **state)
{
    (void)state;
    for (int is_server = 0; is_server <= 1; is_server++) {
        bytes b = {0};
        put_close(&b, is_server, 1000, "bye");
        secchat_ws *ws = open_endpoint(is_server, NULL);
        assert_int_equal(feed_bytes(ws, &b), SECCHAT_OK);
        frame f;
        if (is_server) {
            static const uint8_t echo[] = {0x88, 0x05, 0x03, 0xE8, 0x62, 0x79, 0x65};
            size_t n;
            const uint8_t *out = secchat_ws_output(ws, &n);
            assert_int_equal(n, sizeof echo);
            assert_memory_equal(out, echo, n);
        }
        take_frame(ws, &f);
        assert_int_equal(f.b0, 0x88);
        assert_int_equal(f.masked, !is_server);
        assert_int_equal(f.len, 5);
        assert_memory_equal(f.payload,
                            "\x03\xe8"
                            "bye",
                            5);
        free(f.payload);
        assert_int_equal(secchat_ws_state(ws), SECCHAT_WS_STATE_CLOSED);
        expect_closed_event(ws, 1000, "bye", SECCHAT_OK);
        /* After the close: sends and pings are refused, bytes are ignored, close is a no-op. */
        assert_int_equal(secchat_ws_send(ws, (const uint8_t *)"x", 1), SECCHAT_ERR_WS_CLOSED);
        assert_int_equal(secchat_ws_ping(ws, 1), SECCHAT_ERR_WS_CLOSED);
        bytes_free(&b);
        put_frame(&b, is_server, FIN | OP_BINARY, (const uint8_t *)"late", 4);
        put_frame(&b, is_server, FIN | OP_PING, NULL, 0);
        put_frame(&b, is_server, 0xFF, NULL, 0);
        assert_int_equal(feed_bytes(ws, &b), SECCHAT_OK);
        expect_no_event(ws);
        expect_no_output(ws);
        assert_int_equal(secchat_ws_close(ws, 1000, NULL), SECCHAT_OK);
        expect_no_output(ws);
        expect_no_event(ws);
        secchat_ws_feed_eof(ws);
        expect_no_event(ws);
        assert_int_equal(secchat_ws_state(ws), SECCHAT_WS_STATE_CLOSED);
        secchat_ws_free(ws);
        bytes_free(&b);
    }
}

static void test_endpoint_initiated_close(void **state)
{
    (void)state;
    for (int is_server = 0; is_server <= 1; is_server++) {
        secchat_ws *ws = open_endpoint(is_server, NULL);
        assert_int_equal(secchat_ws_close(ws, 1000, "done"), SECCHAT_OK);
        frame f;
        if (is_server) {
            static const uint8_t close[] = {0x88, 0x06, 0x03, 0xE8, 0x64, 0x6f, 0x6e, 0x65};
            size_t n;
            const uint8_t *out = secchat_ws_output(ws, &n);
            assert_int_equal(n, sizeof close);
            assert_memory_equal(out, close, n);
        }
        take_frame(ws, &f);
        assert_int_equal(f.b0, 0x88);
        assert_int_equal(f.masked, !is_server);
        assert_int_equal(f.len, 6);
        assert_memory_equal(f.payload,
                            "\x03\xe8"
                            "done",
                            6);
        free(f.payload);
        assert_int_equal(secchat_ws_state(ws), SECCHAT_WS_STATE_CLOSING);
        expect_no_event(ws);
        /* No more messages once our close is out; a second close is a no-op. */
        assert_int_equal(secchat_ws_send(ws, (const uint8_t *)"x", 1), SECCHAT_ERR_WS_CLOSED);
        assert_int_equal(secchat_ws_close(ws, 1001, "again"), SECCHAT_OK);
        expect_no_output(ws);
        /* The peer may still send data before its close: it is delivered. */
        bytes b = {0};
        put_frame(&b, is_server, FIN | OP_BINARY, (const uint8_t *)"last", 4);
        assert_int_equal(feed_bytes(ws, &b), SECCHAT_OK);
        expect_event(ws, SECCHAT_WS_EVENT_MESSAGE, (const uint8_t *)"last", 4);
        assert_int_equal(secchat_ws_state(ws), SECCHAT_WS_STATE_CLOSING);
        bytes_free(&b);
        put_close(&b, is_server, 1000, "done");
        assert_int_equal(feed_bytes(ws, &b), SECCHAT_OK);
        expect_no_output(ws); /* no second close frame */
        assert_int_equal(secchat_ws_state(ws), SECCHAT_WS_STATE_CLOSED);
        expect_closed_event(ws, 1000, "done", SECCHAT_OK);
        assert_int_equal(secchat_ws_send(ws, (const uint8_t *)"x", 1), SECCHAT_ERR_WS_CLOSED);
        secchat_ws_free(ws);
        bytes_free(&b);
    }
}

static void test_close_empty_payload(void **state)
{
    (void)state;
    for (int is_server = 0; is_server <= 1; is_server++) {
        bytes b = {0};
        put_frame(&b, is_server, FIN | OP_CLOSE, NULL, 0);
        secchat_ws *ws = open_endpoint(is_server, NULL);
        assert_int_equal(feed_bytes(ws, &b), SECCHAT_OK);
        frame f;
        take_frame(ws, &f);
        assert_int_equal(f.b0, 0x88);
        assert_int_equal(f.masked, !is_server);
        assert_int_equal(f.len, 0); /* echoed without a code, as received */
        free(f.payload);
        assert_int_equal(secchat_ws_state(ws), SECCHAT_WS_STATE_CLOSED);
        expect_closed_event(ws, 1005, "", SECCHAT_OK);
        secchat_ws_free(ws);
        bytes_free(&b);
    }
}

static void test_close_one_byte_payload(void **state)
{
    (void)state;
    for (int is_server = 0; is_server <= 1; is_server++) {
        bytes b = {0};
        put_frame(&b, is_server, FIN | OP_CLOSE, (const uint8_t *)"\x03", 1);
        expect_frame_refused(is_server, &b, SECCHAT_ERR_WS_PROTOCOL, 1002);
        bytes_free(&b);
    }
}

static void test_close_invalid_codes(void **state)
{
    (void)state;
    static const uint16_t codes[] = {0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535};
    for (int is_server = 0; is_server <= 1; is_server++) {
        for (size_t i = 0; i < COUNT(codes); i++) {
            bytes b = {0};
            put_close(&b, is_server, codes[i], "r");
            secchat_ws *ws = open_endpoint(is_server, NULL);
            int rc = feed_bytes(ws, &b);
            if (rc != SECCHAT_ERR_WS_PROTOCOL)
                fail_msg("close code %u: feed returned %d, want WS_PROTOCOL", codes[i], rc);
            expect_failed(ws, is_server, rc, SECCHAT_ERR_WS_PROTOCOL, 1002);
            secchat_ws_free(ws);
            bytes_free(&b);
        }
    }
}

static void test_close_valid_codes(void **state)
{
    (void)state;
    static const uint16_t codes[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999};
    for (int is_server = 0; is_server <= 1; is_server++) {
        for (size_t i = 0; i < COUNT(codes); i++) {
            bytes b = {0};
            put_close(&b, is_server, codes[i], "why");
            secchat_ws *ws = open_endpoint(is_server, NULL);
            int rc = feed_bytes(ws, &b);
            if (rc != SECCHAT_OK)
                fail_msg("close code %u: feed returned %d (%s)", codes[i], rc, secchat_strerror(rc));
            frame f;
            take_frame(ws, &f);
            assert_int_equal(f.len, 5);
            assert_int_equal(f.payload[0] << 8 | f.payload[1], codes[i]);
            free(f.payload);
            expect_closed_event(ws, codes[i], "why", SECCHAT_OK);
            secchat_ws_free(ws);
            bytes_free(&b);
        }
    }
}

/*
 * 1012-1014 were registered with IANA after RFC 6455. wslay, which parses our
 * incoming close frames, treats them as invalid (as the RFC's own list does),
 * so the endpoint neither sends them nor accepts them: sending is refused up
 * front, and a peer's close with one of them fails the connection with 1002.
 * Both directions are checked so that the two sides can never disagree.
 */
static void test_close_registered_codes_1012_to_1014(void **state)
{
    (void)state;
    static const uint16_t codes[] = {1012, 1013, 1014};
    for (size_t i = 0; i < COUNT(codes); i++) {
        secchat_ws *server = open_server(NULL);
        assert_int_equal(secchat_ws_close(server, codes[i], "later"), SECCHAT_ERR_INVALID_ARGUMENT);
        assert_int_equal(secchat_ws_state(server), SECCHAT_WS_STATE_OPEN);
        secchat_ws_free(server);
        for (int is_server = 0; is_server <= 1; is_server++) {
            bytes b = {0};
            put_close(&b, is_server, codes[i], "later");
            secchat_ws *ws = open_endpoint(is_server, NULL);
            expect_failed(ws, is_server, feed_bytes(ws, &b), SECCHAT_ERR_WS_PROTOCOL, 1002);
            secchat_ws_free(ws);
            bytes_free(&b);
        }
    }
}

static void test_close_reason_invalid_utf8(void **state)
{
    (void)state;
    static const char *const reasons[] = {
        "\xff",                 /* never valid */
        "ok\xc3",               /* truncated two-byte sequence at the end */
        "\xc0\xaf",             /* overlong */
        "\xed\xa0\x80",         /* surrogate */
        "\xf4\x90\x80\x80",     /* above U+10FFFF */
        "fine \xe2\x82 broken", /* truncated in the middle */
    };
    for (int is_server = 0; is_server <= 1; is_server++) {
        for (size_t i = 0; i < COUNT(reasons); i++) {
            bytes b = {0};
            put_close(&b, is_server, 1000, reasons[i]);
            secchat_ws *ws = open_endpoint(is_server, NULL);
            expect_failed(ws, is_server, feed_bytes(ws, &b), SECCHAT_ERR_WS_INVALID_UTF8, 1007);
            secchat_ws_free(ws);
            bytes_free(&b);
        }
    }
    /* Valid multi-byte UTF-8 is accepted and reported as is. */
    bytes b = {0};
    put_close(&b, 1, 1000, "gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80");
    secchat_ws *ws = open_server(NULL);
    assert_int_equal(feed_bytes(ws, &b), SECCHAT_OK);
    expect_close_frame(ws, 1, 1000, NULL);
    expect_closed_event(ws, 1000, "gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80", SECCHAT_OK);
    secchat_ws_free(ws);
    bytes_free(&b);
}

/* The UTF-8 check of a close reason must not depend on how the frame was split across reads. */
static void test_close_reason_invalid_utf8_split(void **state)
{
    (void)state;
    int failures = 0;
    for (int is_server = 0; is_server <= 1; is_server++) {
        bytes b = {0};
        put_close(&b, is_server, 1000, "ab\xff");
        secchat_ws *ws = open_endpoint(is_server, NULL);
        int rc = SECCHAT_OK;
        for (size_t i = 0; i < b.len && rc == SECCHAT_OK; i++)
            rc = secchat_ws_feed(ws, b.p + i, 1);
        if (rc != SECCHAT_ERR_WS_INVALID_UTF8) {
            secchat_ws_event ev;
            int have = secchat_ws_next_event(ws, &ev);
            print_message("%s: close 1000 with reason \"ab\\xff\" fed 1 byte at a time: feed returned %d (%s), "
                          "event %d code %u error %d; want %d and a 1007 close\n",
                          is_server ? "server" : "client", rc, secchat_strerror(rc), have ? (int)ev.type : 0,
                          have ? ev.close_code : 0, have ? ev.error : 0, SECCHAT_ERR_WS_INVALID_UTF8);
            failures++;
        } else {
            expect_failed(ws, is_server, rc, SECCHAT_ERR_WS_INVALID_UTF8, 1007);
        }
        secchat_ws_free(ws);
        bytes_free(&b);
    }
    if (failures)
        fail_msg("invalid UTF-8 in a close reason went undetected when the frame came in pieces");
}

/* Feeds b split at cut (0: whole; SIZE_MAX: one byte at a time) and returns
 * the CLOSED event's code, error and reason; 0 when none came. */
static uint16_t closed_after_feed(int is_server, const bytes *b, size_t cut, int *error, char *reason, size_t rsize)
{
    secchat_ws *ws = open_endpoint(is_server, NULL);
    int rc = SECCHAT_OK;
    if (cut == SIZE_MAX) {
        for (size_t i = 0; i < b->len && rc == SECCHAT_OK; i++)
            rc = secchat_ws_feed(ws, b->p + i, 1);
    } else {
        rc = secchat_ws_feed(ws, b->p, cut);
        if (rc == SECCHAT_OK)
            rc = secchat_ws_feed(ws, b->p + cut, b->len - cut);
    }
    (void)rc; /* a failed feed shows as the CLOSED event */
    uint16_t code = 0;
    secchat_ws_event ev;
    while (secchat_ws_next_event(ws, &ev) == 1) {
        if (ev.type == SECCHAT_WS_EVENT_CLOSED) {
            code = ev.close_code;
            *error = ev.error;
            snprintf(reason, rsize, "%s", ev.reason ? ev.reason : "");
        }
    }
    secchat_ws_free(ws);
    return code;
}

/* A close frame whose code AND reason are both invalid is refused for its
 * code (1002), however its bytes were split and whatever came before it
 * (wslay checks the reason as it arrives but the code at the end). */
static void test_close_bad_code_and_bad_reason_any_split(void **state)
{
    (void)state;
    for (int is_server = 0; is_server <= 1; is_server++) {
        for (int with_ping = 0; with_ping <= 1; with_ping++) {
            bytes b = {0};
            if (with_ping)
                put_frame(&b, is_server, 0x89, (const uint8_t *)"x", 1);
            put_close(&b, is_server, 25209, "\x03\xe8" "e");
            for (size_t cut = 0; cut <= b.len + 1; cut++) {
                size_t how = cut == b.len + 1 ? SIZE_MAX : cut;
                int error = 0;
                char reason[128] = "";
                uint16_t code = closed_after_feed(is_server, &b, how, &error, reason, sizeof reason);
                if (code != 1002 || error != SECCHAT_ERR_WS_PROTOCOL || strcmp(reason, "invalid close code") != 0)
                    fail_msg("%s, %s ping, split at %zu: closed %u (%d, \"%s\"); want 1002 (%d, \"invalid close code\")",
                             is_server ? "server" : "client", with_ping ? "after a" : "no", cut, code, error, reason,
                             SECCHAT_ERR_WS_PROTOCOL);
            }
            bytes_free(&b);
        }
    }
}

/* A close reason is judged whole, however its frame was split: a bad one is
 * refused (1007), a good one (with multi-byte characters cut anywhere) is
 * accepted, and a close frame still incomplete is not judged yet. */
static void test_close_reason_judged_whole_any_split(void **state)
{
    (void)state;
    static const char good[] = "bye:pt\xce\xb4 : s3p \xe2\x82\xac \xf0\x9f\x98\x80";
    for (int is_server = 0; is_server <= 1; is_server++) {
        bytes bad = {0}, fine = {0};
        put_close(&bad, is_server, 1000, "ab\x87 and more text to come");
        put_close(&fine, is_server, 1000, good);
        for (size_t cut = 0; cut <= bad.len + 1; cut++) {
            int error = 0;
            char reason[128] = "";
            uint16_t code = closed_after_feed(is_server, &bad, cut == bad.len + 1 ? SIZE_MAX : cut, &error, reason,
                                              sizeof reason);
            if (code != 1007 || error != SECCHAT_ERR_WS_INVALID_UTF8)
                fail_msg("%s, bad reason split at %zu: closed %u (%d, \"%s\"); want 1007",
                         is_server ? "server" : "client", cut, code, error, reason);
        }
        for (size_t cut = 0; cut <= fine.len + 1; cut++) {
            int error = 0;
            char reason[128] = "";
            uint16_t code = closed_after_feed(is_server, &fine, cut == fine.len + 1 ? SIZE_MAX : cut, &error, reason,
                                              sizeof reason);
            if (code != 1000 || error != SECCHAT_OK || strcmp(reason, good) != 0)
                fail_msg("%s, good reason split at %zu: closed %u (%d, \"%s\"); want 1000 and the reason",
                         is_server ? "server" : "client", cut, code, error, reason);
        }
        /* Cut short just past the bad byte: nothing is decided yet. */
        bytes part = {.p = bad.p, .len = bad.len - strlen(" and more text to come")};
        secchat_ws *ws = open_endpoint(is_server, NULL);
        assert_int_equal(feed_bytes(ws, &part), SECCHAT_OK);
        assert_int_equal(secchat_ws_state(ws), SECCHAT_WS_STATE_OPEN);
        secchat_ws_free(ws);
        bytes_free(&bad);
        bytes_free(&fine);
    }
}

static void test_close_argument_checks(void **state)
{
    (void)state;
    secchat_ws *ws = open_server(NULL);
    static const uint16_t bad[] = {0, 999, 1004, 1005, 1006, 1015, 2999, 5000, 65535};
    for (size_t i = 0; i < COUNT(bad); i++) {
        if (secchat_ws_close(ws, bad[i], NULL) != SECCHAT_ERR_INVALID_ARGUMENT)
            fail_msg("secchat_ws_close accepted code %u", bad[i]);
    }
    char reason[200];
    memset(reason, 'r', sizeof reason);
    reason[124] = '\0';
    assert_int_equal(secchat_ws_close(ws, 1000, reason), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_ws_close(ws, 1000, "bad \xff utf-8"), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_ws_close(ws, 1000, "\xed\xa0\x80"), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_ws_close(NULL, 1000, NULL), SECCHAT_ERR_INVALID_ARGUMENT);
    /* None of the refusals changed anything. */
    expect_no_output(ws);
    assert_int_equal(secchat_ws_state(ws), SECCHAT_WS_STATE_OPEN);
    /* 123 bytes is the most a close frame carries. */
    reason[123] = '\0';
    assert_int_equal(secchat_ws_close(ws, 4999, reason), SECCHAT_OK);
    frame f;
    take_frame(ws, &f);
    assert_int_equal(f.len, 125);
    assert_int_equal(f.payload[0] << 8 | f.payload[1], 4999);
    assert_memory_equal(f.payload + 2, reason, 123);
    free(f.payload);
    secchat_ws_free(ws);

    /* A NULL reason sends the code alone. */
    ws = open_client(NULL);
    assert_int_equal(secchat_ws_close(ws, 3000, NULL), SECCHAT_OK);
    take_frame(ws, &f);
    assert_int_equal(f.len, 2);
    assert_int_equal(f.payload[0] << 8 | f.payload[1], 3000);
    free(f.payload);
    secchat_ws_free(ws);

    /* Before the upgrade. */
    assert_int_equal(secchat_ws_new_server(&ws, NULL), SECCHAT_OK);
    assert_int_equal(secchat_ws_close(ws, 1000, NULL), SECCHAT_ERR_BAD_STATE);
    secchat_ws_free(ws);
}

/*
 * After we sent our close, the peer still has to keep to the protocol: a
 * protocol violation while CLOSING fails the connection (CLOSED with the
 * error) instead of leaving the endpoint waiting for a close that is no longer read.
 */
static void test_protocol_error_while_closing(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        uint8_t b0;
        int unmasked; /* send unmasked to the server */
        int err;
    } cases[] = {
        {"unmasked frame", FIN | OP_BINARY, 1, SECCHAT_ERR_WS_PROTOCOL},
        {"RSV1 set", FIN | 0x40 | OP_BINARY, 0, SECCHAT_ERR_WS_PROTOCOL},
        {"opcode 0x3", FIN | 0x3, 0, SECCHAT_ERR_WS_PROTOCOL},
        {"text message", FIN | OP_TEXT, 0, SECCHAT_ERR_WS_TEXT_MESSAGE},
    };
    int failures = 0;
    for (size_t i = 0; i < COUNT(cases); i++) {
        secchat_ws *ws = open_server(NULL);
        assert_int_equal(secchat_ws_close(ws, 1000, NULL), SECCHAT_OK);
        secchat_ws_output_consumed(ws, SIZE_MAX);
        assert_int_equal(secchat_ws_state(ws), SECCHAT_WS_STATE_CLOSING);
        bytes b = {0};
        put_frame(&b, !cases[i].unmasked, cases[i].b0, (const uint8_t *)"abc", 3);
        int rc = feed_bytes(ws, &b);
        enum secchat_ws_state st = secchat_ws_state(ws);
        secchat_ws_event ev;
        int have = secchat_ws_next_event(ws, &ev);
        if (rc != cases[i].err || st != SECCHAT_WS_STATE_CLOSED || !have || ev.type != SECCHAT_WS_EVENT_CLOSED ||
            ev.error != cases[i].err) {
            print_message("%s while CLOSING: feed returned %d (%s), state %d, event %d; want %d (%s), state CLOSED "
                          "(%d), a CLOSED event (%d)\n",
                          cases[i].what, rc, secchat_strerror(rc), st, have ? (int)ev.type : 0, cases[i].err,
                          secchat_strerror(cases[i].err), SECCHAT_WS_STATE_CLOSED, SECCHAT_WS_EVENT_CLOSED);
            failures++;
        } else {
            expect_no_output(ws); /* our close frame already went out */
            expect_no_event(ws);
        }
        secchat_ws_free(ws);
        bytes_free(&b);
    }
    if (failures)
        fail_msg("%d of %zu protocol violations while CLOSING were not acted on", failures, COUNT(cases));
}

/*
 * RFC 6455 section 5.5.2: a ping gets a pong unless a close was received
 * before it. A ping followed by a close in the same read must be answered
 * (pong, then the close echo), as it is when they arrive in separate reads.
 */
static void test_pong_for_ping_read_with_close(void **state)
{
    (void)state;
    for (int is_server = 0; is_server <= 1; is_server++) {
        bytes b = {0};
        put_frame(&b, is_server, FIN | OP_PING, (const uint8_t *)"p1", 2);
        put_frame(&b, is_server, FIN | OP_BINARY, (const uint8_t *)"m", 1);
        put_frame(&b, is_server, FIN | OP_PING, (const uint8_t *)"p2", 2);
        put_close(&b, is_server, 1000, NULL);
        secchat_ws *ws = open_endpoint(is_server, NULL);
        assert_int_equal(feed_bytes(ws, &b), SECCHAT_OK);
        expect_event(ws, SECCHAT_WS_EVENT_MESSAGE, (const uint8_t *)"m", 1);
        expect_closed_event(ws, 1000, "", SECCHAT_OK);
        size_t n;
        const uint8_t *out = secchat_ws_output(ws, &n);
        size_t used = 0, k, pongs = 0, closes = 0;
        frame f;
        while ((k = parse_frame(out + used, n - used, &f)) > 0) {
            /* Nothing may follow the close; pongs before it must echo "p1", then "p2". */
            assert_int_equal(closes, 0);
            if (f.b0 == (FIN | OP_PONG)) {
                assert_int_equal(f.len, 2);
                assert_memory_equal(f.payload, pongs == 0 ? "p1" : "p2", 2);
                pongs++;
            } else {
                assert_int_equal(f.b0, FIN | OP_CLOSE);
                assert_int_equal(f.len, 2);
                closes++;
            }
            free(f.payload);
            used += k;
        }
        assert_int_equal(used, n);
        assert_int_equal(closes, 1);
        /* Both pings came before the close, so both get their pong, in
         * order, before the close echo (RFC 6455 section 5.5.2). */
        assert_int_equal(pongs, 2);
        secchat_ws_free(ws);
        bytes_free(&b);
    }
}

/* ---- split feeding ---------------------------------------------------------------- */

/* What the test expects from one stream: serialized events and normalized output frames. */
typedef struct trace {
    bytes events;
    bytes output;
} trace;

static void trace_event(bytes *t, const secchat_ws_event *ev)
{
    bytes_byte(t, (uint8_t)ev->type);
    bytes_be(t, ev->len, 4);
    bytes_put(t, ev->data, ev->len);
    if (ev->type == SECCHAT_WS_EVENT_CLOSED) {
        bytes_be(t, ev->close_code, 2);
        bytes_be(t, (uint32_t)ev->error, 4);
        bytes_put(t, ev->reason, strlen(ev->reason) + 1);
    }
}

/* Normalized output frame: b0, length, unmasked payload (masks are random on the client). */
static void trace_frame(bytes *t, uint8_t b0, const uint8_t *payload, size_t len)
{
    bytes_byte(t, b0);
    bytes_be(t, len, 8);
    bytes_put(t, payload, len);
}

/* Moves complete frames from ws's output into t, checking the masking rule. */
static void drain_output(secchat_ws *ws, int is_server, bytes *t)
{
    size_t n;
    const uint8_t *out = secchat_ws_output(ws, &n);
    size_t used = 0;
    for (;;) {
        frame f;
        size_t k = parse_frame(out + used, n - used, &f);
        if (k == 0)
            break;
        assert_int_equal(f.masked, !is_server);
        trace_frame(t, f.b0, f.payload, f.len);
        free(f.payload);
        used += k;
    }
    secchat_ws_output_consumed(ws, used);
}

static void drain_events(secchat_ws *ws, bytes *t)
{
    secchat_ws_event ev;
    while (secchat_ws_next_event(ws, &ev))
        trace_event(t, &ev);
}

/*
 * A stream the peer of an endpoint sends: messages of many sizes (with the
 * length-encoding boundaries), fragmented messages with control frames
 * between fragments, pings, pongs, and a close at the end. expect receives
 * what the endpoint must report and write.
 */
static void build_stream(int to_server, bytes *stream, trace *expect)
{
    static const size_t sizes[] = {0,    1,    2,    124,  125,   126,   127,   128,
                                   1000, 4095, 4096, 4097, 65535, 65536, 65537, 70000};
    secchat_ws_event ev;
    uint8_t *big = pattern(70000, 13);
    memset(&ev, 0, sizeof ev);
    for (size_t round = 0; round < 2; round++) {
        for (size_t i = 0; i < COUNT(sizes); i++) {
            size_t len = sizes[(i * 7 + round * 3) % COUNT(sizes)];
            put_frame(stream, to_server, FIN | OP_BINARY, big, len);
            ev.type = SECCHAT_WS_EVENT_MESSAGE;
            ev.data = big;
            ev.len = len;
            trace_event(&expect->events, &ev);
            if (i % 4 == 1) {
                size_t plen = (i * 13) % 126;
                put_frame(stream, to_server, FIN | OP_PING, big + 100, plen);
                trace_frame(&expect->output, FIN | OP_PONG, big + 100, plen);
            }
            if (i % 5 == 2) {
                size_t plen = (i * 29) % 126;
                put_frame(stream, to_server, FIN | OP_PONG, big + 7, plen);
                ev.type = SECCHAT_WS_EVENT_PONG;
                ev.data = big + 7;
                ev.len = plen;
                trace_event(&expect->events, &ev);
            }
        }
        /* Fragmented: 0 + 125 + 126 + 65535 + 4000 bytes with a ping and a pong between fragments. */
        put_frame(stream, to_server, OP_BINARY, big, 0);
        put_frame(stream, to_server, OP_CONT, big, 125);
        put_frame(stream, to_server, FIN | OP_PING, big + 3, 125);
        trace_frame(&expect->output, FIN | OP_PONG, big + 3, 125);
        put_frame(stream, to_server, OP_CONT, big + 125, 126);
        put_frame(stream, to_server, FIN | OP_PONG, NULL, 0);
        ev.type = SECCHAT_WS_EVENT_PONG;
        ev.data = NULL;
        ev.len = 0;
        trace_event(&expect->events, &ev);
        put_frame(stream, to_server, OP_CONT, big + 251, 65535);
        put_frame(stream, to_server, FIN | OP_CONT, big + 65786, 4000);
        ev.type = SECCHAT_WS_EVENT_MESSAGE;
        ev.data = big;
        ev.len = 69786;
        trace_event(&expect->events, &ev);
    }
    put_close(stream, to_server, 1001, "going");
    /* (run_stream feeds this close on its own: see test_pong_for_ping_read_with_close.) */
    uint8_t echo[7] = {0x03, 0xE9, 'g', 'o', 'i', 'n', 'g'};
    trace_frame(&expect->output, FIN | OP_CLOSE, echo, sizeof echo);
    ev.type = SECCHAT_WS_EVENT_CLOSED;
    ev.data = NULL;
    ev.len = 0;
    ev.close_code = 1001;
    ev.reason = "going";
    ev.error = SECCHAT_OK;
    trace_event(&expect->events, &ev);
    free(big);
}

/*
 * Runs the upgrade plus stream through a fresh endpoint in chunks: mode 0 all
 * at once, 1 byte at a time, 2 random sizes up to max_chunk.
 */
static void run_stream(int is_server, int mode, size_t max_chunk, trace *got)
{
    secchat_ws_limits limits = {1u << 17, 0};
    secchat_ws *ws = NULL;
    bytes all = {0};
    trace unused = {{0}, {0}};
    if (is_server) {
        assert_int_equal(secchat_ws_new_server(&ws, &limits), SECCHAT_OK);
        bytes_put(&all, rfc_request, strlen(rfc_request));
    } else {
        assert_int_equal(secchat_ws_new_client(&ws, "ws://127.0.0.1:8080/chat", &limits), SECCHAT_OK);
        response_for_client(ws, &all);
    }
    uint64_t saved = rng_state;
    rng_seed(77);
    build_stream(is_server, &all, &unused);
    rng_state = saved;
    /* The closing frame (2 + 4 mask bytes for a server + 7 payload) is always fed on its own. */
    size_t close_at = all.len - (2 + (is_server ? 4u : 0u) + 7);
    assert_int_equal(all.p[close_at], FIN | OP_CLOSE);
    int opened = 0;
    for (size_t off = 0; off < all.len;) {
        size_t end = off < close_at ? close_at : all.len;
        size_t n = mode == 0 ? end - off : mode == 1 ? 1 : 1 + rng_next() % max_chunk;
        if (n > end - off)
            n = end - off;
        int rc = secchat_ws_feed(ws, all.p + off, n);
        if (rc != SECCHAT_OK)
            fail_msg("mode %d: feed at offset %zu (+%zu) returned %d (%s)", mode, off, n, rc, secchat_strerror(rc));
        off += n;
        if (!opened && secchat_ws_state(ws) != SECCHAT_WS_STATE_CONNECTING) {
            /* The 101 response is not a frame: check and drop it once. */
            if (is_server)
                expect_switching(ws);
            opened = 1;
        }
        if (opened)
            drain_output(ws, is_server, &got->output);
        drain_events(ws, &got->events);
    }
    assert_int_equal(secchat_ws_state(ws), SECCHAT_WS_STATE_CLOSED);
    expect_no_output(ws);
    secchat_ws_free(ws);
    bytes_free(&all);
    bytes_free(&unused.events);
    bytes_free(&unused.output);
}

static void compare_traces(const char *what, const trace *want, const trace *got)
{
    if (got->events.len != want->events.len || memcmp(got->events.p, want->events.p, want->events.len) != 0)
        fail_msg("%s: events differ (%zu vs %zu serialized bytes)", what, got->events.len, want->events.len);
    if (got->output.len != want->output.len || memcmp(got->output.p, want->output.p, want->output.len) != 0)
        fail_msg("%s: output differs (%zu vs %zu serialized bytes)", what, got->output.len, want->output.len);
}

static void test_split_feeding_gives_same_events(void **state)
{
    (void)state;
    for (int is_server = 0; is_server <= 1; is_server++) {
        trace want = {{0}, {0}};
        bytes stream = {0};
        secchat_ws_event open_ev;
        memset(&open_ev, 0, sizeof open_ev);
        open_ev.type = SECCHAT_WS_EVENT_OPEN;
        trace_event(&want.events, &open_ev);
        rng_seed(77);
        build_stream(is_server, &stream, &want);
        bytes_free(&stream);

        static const struct {
            int mode;
            size_t max_chunk;
            uint64_t seed;
        } runs[] = {{0, 0, 0}, {1, 0, 0}, {2, 3, 1}, {2, 17, 2}, {2, 300, 3}, {2, 5000, 4}, {2, 70000, 5}};
        for (size_t r = 0; r < COUNT(runs); r++) {
            trace got = {{0}, {0}};
            rng_seed(1000 + runs[r].seed);
            run_stream(is_server, runs[r].mode, runs[r].max_chunk, &got);
            char what[96];
            snprintf(what, sizeof what, "%s, mode %d, chunks up to %zu", is_server ? "server" : "client", runs[r].mode,
                     runs[r].max_chunk);
            compare_traces(what, &want, &got);
            bytes_free(&got.events);
            bytes_free(&got.output);
        }
        bytes_free(&want.events);
        bytes_free(&want.output);
    }
}

/* ---- keepalive ---------------------------------------------------------------------- */

static void take_ping(secchat_ws *ws, int is_server, uint8_t payload[125], size_t *len)
{
    frame f;
    take_frame(ws, &f);
    assert_int_equal(f.b0, FIN | OP_PING);
    assert_int_equal(f.masked, !is_server);
    assert_true(f.len <= 125);
    memcpy(payload, f.payload, f.len);
    *len = f.len;
    free(f.payload);
}

static void test_keepalive(void **state)
{
    (void)state;
    for (int is_server = 0; is_server <= 1; is_server++) {
        secchat_ws *ws = open_endpoint(is_server, NULL);
        uint8_t ping[125];
        size_t plen;
        assert_int_equal(secchat_ws_ping_overdue(ws, 1000000, 0), 0); /* nothing outstanding */

        /* Ping answered in time: never overdue. */
        assert_int_equal(secchat_ws_ping(ws, 1000), SECCHAT_OK);
        take_ping(ws, is_server, ping, &plen);
        assert_int_equal(secchat_ws_ping_overdue(ws, 1500, 1000), 0);
        assert_int_equal(secchat_ws_ping_overdue(ws, 2000, 1000), 1);
        bytes b = {0};
        put_frame(&b, is_server, FIN | OP_PONG, ping, plen);
        assert_int_equal(feed_bytes(ws, &b), SECCHAT_OK);
        expect_event(ws, SECCHAT_WS_EVENT_PONG, ping, plen);
        assert_int_equal(secchat_ws_ping_overdue(ws, 1000000, 1000), 0);
        bytes_free(&b);

        /* Ping unanswered: overdue exactly from the timeout on. */
        assert_int_equal(secchat_ws_ping(ws, 5000), SECCHAT_OK);
        uint8_t ping2[125];
        size_t plen2;
        take_ping(ws, is_server, ping2, &plen2);
        assert_false(plen2 == plen && memcmp(ping, ping2, plen) == 0); /* each ping has its own payload */
        assert_int_equal(secchat_ws_ping_overdue(ws, 5000, 3000), 0);
        assert_int_equal(secchat_ws_ping_overdue(ws, 7999, 3000), 0);
        assert_int_equal(secchat_ws_ping_overdue(ws, 8000, 3000), 1);
        assert_int_equal(secchat_ws_ping_overdue(ws, 90000, 3000), 1);

        /* A ping while one is outstanding is a no-op: no frame, and the clock keeps the first. */
        assert_int_equal(secchat_ws_ping(ws, 7000), SECCHAT_OK);
        expect_no_output(ws);
        assert_int_equal(secchat_ws_ping_overdue(ws, 8000, 3000), 1);

        /* Pongs with other payloads (an old ping's, unsolicited, truncated) do not clear it. */
        uint8_t other[126];
        assert_true(plen2 >= 1 && plen2 < 125);
        memcpy(other, ping2, plen2);
        other[plen2] = 0;
        put_frame(&b, is_server, FIN | OP_PONG, ping, plen);
        put_frame(&b, is_server, FIN | OP_PONG, (const uint8_t *)"unsolicited", 11);
        put_frame(&b, is_server, FIN | OP_PONG, ping2, plen2 - 1);
        put_frame(&b, is_server, FIN | OP_PONG, other, plen2 + 1);
        assert_int_equal(feed_bytes(ws, &b), SECCHAT_OK);
        expect_event(ws, SECCHAT_WS_EVENT_PONG, ping, plen);
        expect_event(ws, SECCHAT_WS_EVENT_PONG, (const uint8_t *)"unsolicited", 11);
        expect_event(ws, SECCHAT_WS_EVENT_PONG, ping2, plen2 - 1);
        expect_event(ws, SECCHAT_WS_EVENT_PONG, other, plen2 + 1);
        expect_no_event(ws);
        assert_int_equal(secchat_ws_ping_overdue(ws, 8000, 3000), 1);
        bytes_free(&b);

        /* The right pong clears it, and a new ping can go out. */
        put_frame(&b, is_server, FIN | OP_PONG, ping2, plen2);
        assert_int_equal(feed_bytes(ws, &b), SECCHAT_OK);
        expect_event(ws, SECCHAT_WS_EVENT_PONG, ping2, plen2);
        assert_int_equal(secchat_ws_ping_overdue(ws, 90000, 3000), 0);
        assert_int_equal(secchat_ws_ping(ws, 9000), SECCHAT_OK);
        take_ping(ws, is_server, ping, &plen);
        assert_int_equal(secchat_ws_ping_overdue(ws, 9999, 1000), 0);
        assert_int_equal(secchat_ws_ping_overdue(ws, 10000, 1000), 1);
        bytes_free(&b);

        assert_int_equal(secchat_ws_ping(NULL, 1), SECCHAT_ERR_INVALID_ARGUMENT);
        assert_int_equal(secchat_ws_ping_overdue(NULL, 1, 0), 0);
        secchat_ws_free(ws);
    }
    /* Before the upgrade. */
    secchat_ws *ws;
    assert_int_equal(secchat_ws_new_server(&ws, NULL), SECCHAT_OK);
    assert_int_equal(secchat_ws_ping(ws, 1), SECCHAT_ERR_BAD_STATE);
    expect_no_output(ws);
    secchat_ws_free(ws);
}

/* ---- end of transport, call order, output limit ------------------------------------ */

static void test_eof_before_close(void **state)
{
    (void)state;
    for (int is_server = 0; is_server <= 1; is_server++) {
        secchat_ws *ws = open_endpoint(is_server, NULL);
        secchat_ws_feed_eof(ws);
        assert_int_equal(secchat_ws_state(ws), SECCHAT_WS_STATE_CLOSED);
        expect_no_output(ws);
        expect_closed_event(ws, 1006, NULL, SECCHAT_ERR_WS_CONNECTION_LOST);
        assert_int_equal(secchat_ws_send(ws, (const uint8_t *)"x", 1), SECCHAT_ERR_WS_CONNECTION_LOST);
        secchat_ws_feed_eof(ws); /* a second EOF adds nothing */
        expect_no_event(ws);
        secchat_ws_free(ws);

        /* While CLOSING (our close sent, the peer's never came). */
        ws = open_endpoint(is_server, NULL);
        assert_int_equal(secchat_ws_close(ws, 1000, NULL), SECCHAT_OK);
        secchat_ws_output_consumed(ws, SIZE_MAX);
        secchat_ws_feed_eof(ws);
        assert_int_equal(secchat_ws_state(ws), SECCHAT_WS_STATE_CLOSED);
        expect_closed_event(ws, 1006, NULL, SECCHAT_ERR_WS_CONNECTION_LOST);
        secchat_ws_free(ws);

        /* In the middle of a fragmented message: the partial message is not delivered. */
        ws = open_endpoint(is_server, NULL);
        bytes b = {0};
        put_frame(&b, is_server, OP_BINARY, (const uint8_t *)"part", 4);
        assert_int_equal(feed_bytes(ws, &b), SECCHAT_OK);
        secchat_ws_feed_eof(ws);
        expect_closed_event(ws, 1006, NULL, SECCHAT_ERR_WS_CONNECTION_LOST);
        secchat_ws_free(ws);
        bytes_free(&b);
    }
    /* During the upgrade. */
    secchat_ws *ws;
    assert_int_equal(secchat_ws_new_server(&ws, NULL), SECCHAT_OK);
    assert_int_equal(secchat_ws_feed(ws, (const uint8_t *)"GET / HTTP/1.1\r\n", 16), SECCHAT_OK);
    secchat_ws_feed_eof(ws);
    assert_int_equal(secchat_ws_state(ws), SECCHAT_WS_STATE_CLOSED);
    expect_closed_event(ws, 1006, NULL, SECCHAT_ERR_WS_CONNECTION_LOST);
    secchat_ws_free(ws);
}

static void test_send_before_open(void **state)
{
    (void)state;
    secchat_ws *ws;
    assert_int_equal(secchat_ws_new_server(&ws, NULL), SECCHAT_OK);
    assert_int_equal(secchat_ws_send(ws, (const uint8_t *)"x", 1), SECCHAT_ERR_BAD_STATE);
    expect_no_output(ws);
    expect_no_event(ws);
    secchat_ws_free(ws);
    assert_int_equal(secchat_ws_new_client(&ws, "ws://127.0.0.1:8080/chat", NULL), SECCHAT_OK);
    size_t before;
    secchat_ws_output(ws, &before);
    assert_int_equal(secchat_ws_send(ws, (const uint8_t *)"x", 1), SECCHAT_ERR_BAD_STATE);
    size_t after;
    secchat_ws_output(ws, &after);
    assert_int_equal(after, before); /* only the upgrade request */
    secchat_ws_free(ws);

    ws = open_server(NULL);
    assert_int_equal(secchat_ws_send(NULL, (const uint8_t *)"x", 1), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_ws_send(ws, NULL, 1), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_ws_send(ws, NULL, 0), SECCHAT_OK); /* an empty message */
    static const uint8_t empty[] = {0x82, 0x00};
    size_t n;
    const uint8_t *out = secchat_ws_output(ws, &n);
    assert_int_equal(n, 2);
    assert_memory_equal(out, empty, 2);
    secchat_ws_free(ws);
}

static void test_output_limit(void **state)
{
    (void)state;
    secchat_ws_limits limits = {0, 100};
    for (int is_server = 0; is_server <= 1; is_server++) {
        secchat_ws *ws = open_endpoint(is_server, &limits);
        uint8_t *payload = pattern(200, 14);
        assert_int_equal(secchat_ws_send(ws, payload, 60), SECCHAT_OK);
        size_t n;
        secchat_ws_output(ws, &n);
        assert_true(n <= 100);
        assert_int_equal(secchat_ws_send(ws, payload, 200), SECCHAT_OK); /* pending was under the limit */
        secchat_ws_output(ws, &n);
        assert_true(n > 100);
        assert_int_equal(secchat_ws_send(ws, payload, 1), SECCHAT_ERR_WS_OUTPUT_FULL);
        assert_int_equal(secchat_ws_send(ws, payload, 0), SECCHAT_ERR_WS_OUTPUT_FULL);
        size_t again;
        secchat_ws_output(ws, &again);
        assert_int_equal(again, n); /* the refused sends queued nothing */
        /* Consuming part of it, still over: still full. */
        secchat_ws_output_consumed(ws, n - 101);
        assert_int_equal(secchat_ws_send(ws, payload, 1), SECCHAT_ERR_WS_OUTPUT_FULL);
        secchat_ws_output_consumed(ws, 1);
        assert_int_equal(secchat_ws_send(ws, payload, 1), SECCHAT_OK);
        /* The state is intact: drain and the frames are whole. */
        secchat_ws_output_consumed(ws, SIZE_MAX);
        assert_int_equal(secchat_ws_send(ws, payload, 200), SECCHAT_OK);
        frame f;
        take_frame(ws, &f);
        assert_int_equal(f.len, 200);
        assert_memory_equal(f.payload, payload, 200);
        free(f.payload);
        /* Control frames (pongs, close echoes) are never refused for output space. */
        assert_int_equal(secchat_ws_send(ws, payload, 200), SECCHAT_OK);
        bytes b = {0};
        put_frame(&b, is_server, FIN | OP_PING, (const uint8_t *)"p", 1);
        assert_int_equal(feed_bytes(ws, &b), SECCHAT_OK);
        bytes_free(&b);
        put_close(&b, is_server, 1000, NULL);
        assert_int_equal(feed_bytes(ws, &b), SECCHAT_OK);
        expect_closed_event(ws, 1000, "", SECCHAT_OK);
        const uint8_t *out = secchat_ws_output(ws, &n);
        size_t used = 0, k;
        static const uint8_t kinds[] = {FIN | OP_BINARY, FIN | OP_PONG, FIN | OP_CLOSE};
        for (size_t i = 0; i < COUNT(kinds); i++) {
            k = parse_frame(out + used, n - used, &f);
            assert_true(k > 0);
            assert_int_equal(f.b0, kinds[i]);
            free(f.payload);
            used += k;
        }
        assert_int_equal(used, n);
        bytes_free(&b);
        free(payload);
        secchat_ws_free(ws);
    }
}

/* Two endpoints talking through memory: messages both ways, then the close handshake. */
static int shuttle(secchat_ws *from, secchat_ws *to)
{
    size_t n;
    const uint8_t *out = secchat_ws_output(from, &n);
    int rc = secchat_ws_feed(to, out, n);
    secchat_ws_output_consumed(from, n);
    return rc;
}

static void test_pair_in_memory(void **state)
{
    (void)state;
    secchat_ws *server = NULL, *client = NULL;
    assert_int_equal(secchat_ws_new_server(&server, NULL), SECCHAT_OK);
    assert_int_equal(secchat_ws_new_client(&client, "ws://[::1]:9/x?y=1", NULL), SECCHAT_OK);
    assert_int_equal(shuttle(client, server), SECCHAT_OK);
    assert_string_equal(secchat_ws_request_path(server), "/x?y=1");
    expect_event(server, SECCHAT_WS_EVENT_OPEN, NULL, 0);
    assert_int_equal(shuttle(server, client), SECCHAT_OK);
    expect_event(client, SECCHAT_WS_EVENT_OPEN, NULL, 0);
    static const size_t sizes[] = {0, 1, 125, 126, 65535};
    for (size_t i = 0; i < COUNT(sizes); i++) {
        uint8_t *p = pattern(sizes[i], 15);
        assert_int_equal(secchat_ws_send(client, p, sizes[i]), SECCHAT_OK);
        assert_int_equal(secchat_ws_send(server, p, sizes[i]), SECCHAT_OK);
        assert_int_equal(shuttle(client, server), SECCHAT_OK);
        assert_int_equal(shuttle(server, client), SECCHAT_OK);
        expect_event(server, SECCHAT_WS_EVENT_MESSAGE, p, sizes[i]);
        expect_event(client, SECCHAT_WS_EVENT_MESSAGE, p, sizes[i]);
        free(p);
    }
    assert_int_equal(secchat_ws_ping(client, 42), SECCHAT_OK);
    assert_int_equal(shuttle(client, server), SECCHAT_OK);
    assert_int_equal(shuttle(server, client), SECCHAT_OK);
    secchat_ws_event ev;
    assert_int_equal(secchat_ws_next_event(client, &ev), 1);
    assert_int_equal(ev.type, SECCHAT_WS_EVENT_PONG);
    assert_int_equal(secchat_ws_ping_overdue(client, 100000, 1), 0);
    assert_int_equal(secchat_ws_close(client, 1000, "bye"), SECCHAT_OK);
    assert_int_equal(secchat_ws_state(client), SECCHAT_WS_STATE_CLOSING);
    assert_int_equal(shuttle(client, server), SECCHAT_OK);
    expect_closed_event(server, 1000, "bye", SECCHAT_OK);
    assert_int_equal(shuttle(server, client), SECCHAT_OK);
    expect_closed_event(client, 1000, "bye", SECCHAT_OK);
    assert_int_equal(secchat_ws_state(server), SECCHAT_WS_STATE_CLOSED);
    assert_int_equal(secchat_ws_state(client), SECCHAT_WS_STATE_CLOSED);
    secchat_ws_free(server);
    secchat_ws_free(client);
}

/* ---- the HTTP phase through the endpoint -------------------------------------------- */

static void test_request_one_byte_at_a_time(void **state)
{
    (void)state;
    secchat_ws *ws;
    assert_int_equal(secchat_ws_new_server(&ws, NULL), SECCHAT_OK);
    size_t len = strlen(rfc_request);
    for (size_t i = 0; i + 1 < len; i++) {
        assert_int_equal(secchat_ws_feed(ws, (const uint8_t *)rfc_request + i, 1), SECCHAT_OK);
        expect_no_output(ws);
        expect_no_event(ws);
        assert_int_equal(secchat_ws_state(ws), SECCHAT_WS_STATE_CONNECTING);
        assert_null(secchat_ws_request_path(ws));
    }
    assert_int_equal(secchat_ws_feed(ws, (const uint8_t *)rfc_request + len - 1, 1), SECCHAT_OK);
    expect_switching(ws);
    expect_event(ws, SECCHAT_WS_EVENT_OPEN, NULL, 0);
    assert_int_equal(secchat_ws_state(ws), SECCHAT_WS_STATE_OPEN);
    secchat_ws_free(ws);

    /* A client's response, 1 byte at a time. */
    assert_int_equal(secchat_ws_new_client(&ws, "ws://127.0.0.1:8080/chat", NULL), SECCHAT_OK);
    bytes resp = {0};
    response_for_client(ws, &resp);
    for (size_t i = 0; i < resp.len; i++) {
        assert_int_equal(secchat_ws_state(ws), SECCHAT_WS_STATE_CONNECTING);
        assert_int_equal(secchat_ws_feed(ws, resp.p + i, 1), SECCHAT_OK);
    }
    expect_event(ws, SECCHAT_WS_EVENT_OPEN, NULL, 0);
    assert_int_equal(secchat_ws_state(ws), SECCHAT_WS_STATE_OPEN);
    expect_no_output(ws);
    secchat_ws_free(ws);
    bytes_free(&resp);
}

static void test_upgrade_and_first_frames_in_one_feed(void **state)
{
    (void)state;
    /* Server: the request, a message, a ping and half of the next frame in one read. */
    bytes b = {0};
    bytes_put(&b, rfc_request, strlen(rfc_request));
    put_frame(&b, 1, FIN | OP_BINARY, (const uint8_t *)"first", 5);
    put_frame(&b, 1, FIN | OP_PING, (const uint8_t *)"p", 1);
    bytes rest = {0};
    put_frame(&rest, 1, FIN | OP_BINARY, (const uint8_t *)"second", 6);
    bytes_put(&b, rest.p, 3);
    secchat_ws *ws;
    assert_int_equal(secchat_ws_new_server(&ws, NULL), SECCHAT_OK);
    assert_int_equal(feed_bytes(ws, &b), SECCHAT_OK);
    expect_event(ws, SECCHAT_WS_EVENT_OPEN, NULL, 0);
    expect_event(ws, SECCHAT_WS_EVENT_MESSAGE, (const uint8_t *)"first", 5);
    expect_no_event(ws);
    /* The output is the 101 response, then the pong. */
    expect_switching(ws);
    static const uint8_t pong[] = {0x8A, 0x01, 'p'};
    size_t n;
    const uint8_t *out = secchat_ws_output(ws, &n);
    assert_int_equal(n, sizeof pong);
    assert_memory_equal(out, pong, sizeof pong);
    secchat_ws_output_consumed(ws, n);
    assert_int_equal(secchat_ws_feed(ws, rest.p + 3, rest.len - 3), SECCHAT_OK);
    expect_event(ws, SECCHAT_WS_EVENT_MESSAGE, (const uint8_t *)"second", 6);
    expect_no_event(ws);
    secchat_ws_free(ws);
    bytes_free(&b);
    bytes_free(&rest);

    /* The request split so that its last byte arrives with a frame. */
    bytes_put(&b, rfc_request, strlen(rfc_request));
    put_frame(&b, 1, FIN | OP_BINARY, (const uint8_t *)"x", 1);
    assert_int_equal(secchat_ws_new_server(&ws, NULL), SECCHAT_OK);
    size_t cut = strlen(rfc_request) - 1;
    assert_int_equal(secchat_ws_feed(ws, b.p, cut), SECCHAT_OK);
    expect_no_event(ws);
    assert_int_equal(secchat_ws_feed(ws, b.p + cut, b.len - cut), SECCHAT_OK);
    expect_event(ws, SECCHAT_WS_EVENT_OPEN, NULL, 0);
    expect_event(ws, SECCHAT_WS_EVENT_MESSAGE, (const uint8_t *)"x", 1);
    secchat_ws_free(ws);
    bytes_free(&b);

    /* Client: the 101 and a server frame in one read; a bad frame right after the 101 fails it. */
    for (int bad = 0; bad <= 1; bad++) {
        assert_int_equal(secchat_ws_new_client(&ws, "ws://127.0.0.1:8080/chat", NULL), SECCHAT_OK);
        response_for_client(ws, &b);
        put_frame(&b, 0, FIN | (bad ? OP_TEXT : OP_BINARY), (const uint8_t *)"hi", 2);
        int rc = feed_bytes(ws, &b);
        expect_event(ws, SECCHAT_WS_EVENT_OPEN, NULL, 0);
        if (bad) {
            expect_failed(ws, 0, rc, SECCHAT_ERR_WS_TEXT_MESSAGE, 1003);
        } else {
            assert_int_equal(rc, SECCHAT_OK);
            expect_event(ws, SECCHAT_WS_EVENT_MESSAGE, (const uint8_t *)"hi", 2);
            expect_no_event(ws);
        }
        secchat_ws_free(ws);
        bytes_free(&b);
    }
}

static void test_header_block_too_large(void **state)
{
    (void)state;
    char *big = malloc(8193);
    assert_non_null(big);
    static const char start[] = "GET / HTTP/1.1\r\nHost: a\r\nX-Filler: ";
    memcpy(big, start, sizeof start - 1);
    memset(big + sizeof start - 1, 'a', 8193 - (sizeof start - 1));
    secchat_ws *ws;

    /* 8192 bytes without a blank line: still waiting. */
    assert_int_equal(secchat_ws_new_server(&ws, NULL), SECCHAT_OK);
    assert_int_equal(secchat_ws_feed(ws, (const uint8_t *)big, 8192), SECCHAT_OK);
    expect_no_output(ws);
    expect_no_event(ws);
    assert_int_equal(secchat_ws_state(ws), SECCHAT_WS_STATE_CONNECTING);
    /* The 8193rd byte: refused with 400. */
    assert_int_equal(secchat_ws_feed(ws, (const uint8_t *)big + 8192, 1), SECCHAT_ERR_HTTP_TOO_LARGE);
    size_t n;
    const uint8_t *out = secchat_ws_output(ws, &n);
    static const char status[] = "HTTP/1.1 400 ";
    assert_true(n > sizeof status);
    assert_memory_equal(out, status, sizeof status - 1);
    assert_true(contains(out, n, "\r\n\r\n"));
    secchat_ws_output_consumed(ws, n);
    assert_int_equal(secchat_ws_state(ws), SECCHAT_WS_STATE_CLOSED);
    secchat_ws_event ev;
    assert_int_equal(secchat_ws_next_event(ws, &ev), 1);
    assert_int_equal(ev.type, SECCHAT_WS_EVENT_CLOSED);
    assert_int_equal(ev.error, SECCHAT_ERR_HTTP_TOO_LARGE);
    expect_no_event(ws);
    /* Sticky, and no second refusal. */
    assert_int_equal(secchat_ws_feed(ws, (const uint8_t *)"\r\n\r\n", 4), SECCHAT_ERR_HTTP_TOO_LARGE);
    expect_no_output(ws);
    assert_int_equal(secchat_ws_send(ws, (const uint8_t *)"x", 1), SECCHAT_ERR_HTTP_TOO_LARGE);
    secchat_ws_free(ws);

    /* All 8193 at once, and one byte at a time, give the same. */
    assert_int_equal(secchat_ws_new_server(&ws, NULL), SECCHAT_OK);
    assert_int_equal(secchat_ws_feed(ws, (const uint8_t *)big, 8193), SECCHAT_ERR_HTTP_TOO_LARGE);
    out = secchat_ws_output(ws, &n);
    assert_memory_equal(out, status, sizeof status - 1);
    secchat_ws_free(ws);
    assert_int_equal(secchat_ws_new_server(&ws, NULL), SECCHAT_OK);
    int rc = SECCHAT_OK;
    size_t i = 0;
    for (; i < 8193 && rc == SECCHAT_OK; i++)
        rc = secchat_ws_feed(ws, (const uint8_t *)big + i, 1);
    assert_int_equal(rc, SECCHAT_ERR_HTTP_TOO_LARGE);
    assert_int_equal(i, 8193);
    out = secchat_ws_output(ws, &n);
    assert_memory_equal(out, status, sizeof status - 1);
    secchat_ws_free(ws);
    free(big);
}

static void test_client_refuses_bad_responses(void **state)
{
    (void)state;
    secchat_ws *ws;
    static const char not_101[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    assert_int_equal(secchat_ws_new_client(&ws, "ws://127.0.0.1:8080/chat", NULL), SECCHAT_OK);
    secchat_ws_output_consumed(ws, SIZE_MAX);
    assert_int_equal(secchat_ws_feed(ws, (const uint8_t *)not_101, strlen(not_101)), SECCHAT_ERR_HTTP_STATUS);
    assert_int_equal(secchat_ws_state(ws), SECCHAT_WS_STATE_CLOSED);
    expect_no_output(ws); /* a client has nothing to answer */
    secchat_ws_event ev;
    assert_int_equal(secchat_ws_next_event(ws, &ev), 1);
    assert_int_equal(ev.type, SECCHAT_WS_EVENT_CLOSED);
    assert_int_equal(ev.error, SECCHAT_ERR_HTTP_STATUS);
    expect_no_event(ws);
    assert_int_equal(secchat_ws_send(ws, (const uint8_t *)"x", 1), SECCHAT_ERR_HTTP_STATUS);
    secchat_ws_free(ws);

    /* A 101 answering another key (the RFC's, not ours). */
    static const char wrong[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    assert_int_equal(secchat_ws_new_client(&ws, "ws://127.0.0.1:8080/chat", NULL), SECCHAT_OK);
    secchat_ws_output_consumed(ws, SIZE_MAX);
    assert_int_equal(secchat_ws_feed(ws, (const uint8_t *)wrong, strlen(wrong)), SECCHAT_ERR_HTTP_WS_ACCEPT);
    assert_int_equal(secchat_ws_state(ws), SECCHAT_WS_STATE_CLOSED);
    assert_int_equal(secchat_ws_next_event(ws, &ev), 1);
    assert_int_equal(ev.type, SECCHAT_WS_EVENT_CLOSED);
    assert_int_equal(ev.error, SECCHAT_ERR_HTTP_WS_ACCEPT);
    expect_no_event(ws);
    secchat_ws_free(ws);

    /* The right accept with one character changed. */
    assert_int_equal(secchat_ws_new_client(&ws, "ws://127.0.0.1:8080/chat", NULL), SECCHAT_OK);
    bytes resp = {0};
    response_for_client(ws, &resp);
    uint8_t *acc = resp.p + resp.len - 4 - 28;
    acc[5] = acc[5] == 'A' ? 'B' : 'A';
    assert_int_equal(feed_bytes(ws, &resp), SECCHAT_ERR_HTTP_WS_ACCEPT);
    secchat_ws_free(ws);
    bytes_free(&resp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_unmasked_hello_text_refused_by_client),
        cmocka_unit_test(test_rfc_masked_hello_text_refused_by_server),
        cmocka_unit_test(test_rfc_fragmented_text_refused_at_first_fragment),
        cmocka_unit_test(test_rfc_unmasked_ping_answered_by_client),
        cmocka_unit_test(test_rfc_masked_ping_and_pong_to_server),
        cmocka_unit_test(test_rfc_256_byte_binary),
        cmocka_unit_test(test_rfc_64k_binary_too_big),
        cmocka_unit_test(test_max_message_65535_accepted),
        cmocka_unit_test(test_max_message_counts_fragments),
        cmocka_unit_test(test_raised_limit_accepts_65536),
        cmocka_unit_test(test_server_refuses_unmasked_frame),
        cmocka_unit_test(test_client_refuses_masked_frame),
        cmocka_unit_test(test_client_frames_masked_with_fresh_keys),
        cmocka_unit_test(test_server_frames_unmasked),
        cmocka_unit_test(test_fragments_with_interleaved_control_frames),
        cmocka_unit_test(test_trim_anywhere),
        cmocka_unit_test(test_close_inside_fragmented_message),
        cmocka_unit_test(test_continuation_without_start),
        cmocka_unit_test(test_new_data_frame_inside_fragmented_message),
        cmocka_unit_test(test_fragmented_control_frames),
        cmocka_unit_test(test_control_frame_126_bytes),
        cmocka_unit_test(test_non_minimal_lengths),
        cmocka_unit_test(test_64bit_length_msb_set),
        cmocka_unit_test(test_reserved_bits),
        cmocka_unit_test(test_unknown_opcodes),
        cmocka_unit_test(test_peer_close_echoed),
        cmocka_unit_test(test_endpoint_initiated_close),
        cmocka_unit_test(test_close_empty_payload),
        cmocka_unit_test(test_close_one_byte_payload),
        cmocka_unit_test(test_close_invalid_codes),
        cmocka_unit_test(test_close_valid_codes),
        cmocka_unit_test(test_close_registered_codes_1012_to_1014),
        cmocka_unit_test(test_close_reason_invalid_utf8),
        cmocka_unit_test(test_close_reason_invalid_utf8_split),
        cmocka_unit_test(test_close_bad_code_and_bad_reason_any_split),
        cmocka_unit_test(test_close_reason_judged_whole_any_split),
        cmocka_unit_test(test_close_argument_checks),
        cmocka_unit_test(test_protocol_error_while_closing),
        cmocka_unit_test(test_pong_for_ping_read_with_close),
        cmocka_unit_test(test_split_feeding_gives_same_events),
        cmocka_unit_test(test_keepalive),
        cmocka_unit_test(test_eof_before_close),
        cmocka_unit_test(test_send_before_open),
        cmocka_unit_test(test_output_limit),
        cmocka_unit_test(test_pair_in_memory),
        cmocka_unit_test(test_request_one_byte_at_a_time),
        cmocka_unit_test(test_upgrade_and_first_frames_in_one_feed),
        cmocka_unit_test(test_header_block_too_large),
        cmocka_unit_test(test_client_refuses_bad_responses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
