/* Shared helpers of the fuzz targets: see fuzz_common.h. */
#include "fuzz/fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ws/http.h"

volatile uint64_t fz_sink;

void fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "FUZZ CHECK FAILED %s:%d: %s\n", file, line, what);
    abort();
}

/* ---- deterministic RNG ---------------------------------------------------------
 * libsodium's own generator would make runs irreproducible (a crash that
 * depends on a mask or key would not replay). splitmix64 is plenty: these
 * keys protect nothing. */

static uint64_t rng_state;

static uint64_t splitmix(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static const char *rng_name(void)
{
    return "secchat-fuzz-deterministic";
}

static uint32_t rng_random(void)
{
    return (uint32_t)splitmix();
}

static void rng_buf(void *const buf, const size_t size)
{
    uint8_t *p = buf;
    for (size_t i = 0; i < size; i += 8) {
        uint64_t v = splitmix();
        size_t n = size - i < 8 ? size - i : 8;
        memcpy(p + i, &v, n);
    }
}

static randombytes_implementation fuzz_rng = {
    .implementation_name = rng_name,
    .random = rng_random,
    .buf = rng_buf,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_init();
    if (fz_target_init != NULL)
        fz_target_init();
    return 0;
}

void fuzz_init(void)
{
    /* Must come before sodium_init, which would otherwise pick the system RNG. */
    if (randombytes_set_implementation(&fuzz_rng) != 0 || sodium_init() < 0) {
        fprintf(stderr, "fuzz: libsodium initialization failed\n");
        abort();
    }
    /* The default protocol is AESGCM: without AES-NI every Noise target would test only refusals. */
    if (!crypto_aead_aes256gcm_is_available())
        fprintf(stderr, "fuzz: warning: no AES-NI, AESGCM handshakes will be refused\n");
}

void fuzz_reset(uint64_t seed)
{
    rng_state = seed;
}

/* ---- input reader ---------------------------------------------------------- */

uint8_t fz_u8(fz *f)
{
    if (f->n == 0)
        return 0;
    f->n--;
    return *f->p++;
}

uint16_t fz_u16(fz *f)
{
    uint16_t hi = fz_u8(f);
    return (uint16_t)(hi << 8 | fz_u8(f));
}

uint32_t fz_u32(fz *f)
{
    uint32_t hi = fz_u16(f);
    return hi << 16 | fz_u16(f);
}

const uint8_t *fz_take(fz *f, size_t want, size_t *got)
{
    size_t n = want < f->n ? want : f->n;
    const uint8_t *p = f->p;
    f->p += n;
    f->n -= n;
    *got = n;
    return p;
}

uint8_t *fz_chunk(fz *f, size_t cap, size_t *len)
{
    size_t want = (size_t)fz_u8(f) << 16;
    want |= fz_u16(f);
    if (want > cap)
        want = cap;
    size_t have;
    const uint8_t *p = fz_take(f, want, &have);
    /* +1: malloc(0) may return NULL; the extra byte is never handed out as data. */
    uint8_t *out = malloc(want + 1);
    if (out == NULL)
        abort();
    if (have > 0)
        memcpy(out, p, have);
    for (size_t i = have; i < want; i++)
        out[i] = have ? out[i % have] : 0;
    *len = want;
    return out;
}

/* ---- xorshift -------------------------------------------------------------- */

void fz_rng_seed(fz_rng *r, uint64_t seed)
{
    r->s = seed;
}

uint64_t fz_rng_next(fz_rng *r)
{
    uint64_t x = r->s ? r->s : 0x2545f4914f6cdd1du;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return r->s = x;
}

size_t fz_split(fz_rng *r, size_t left)
{
    if (r == NULL || r->s == 0)
        return left;
    uint64_t v = fz_rng_next(r);
    static const size_t limits[4] = {1, 3, 16, 600};
    size_t n = 1 + (size_t)((v >> 8) % limits[v & 3]);
    if ((v & 0xf0) == 0xf0)
        n = left; /* now and then the whole rest */
    return n < left ? n : left;
}

uint64_t fz_touch(const uint8_t *p, size_t len)
{
    uint64_t s = 0;
    for (size_t i = 0; i < len; i++)
        s = s * 31 + p[i];
    fz_sink += s;
    return s;
}

/* ---- WebSocket ------------------------------------------------------------- */

void fz_log_add(fz_log *log, const void *data, size_t len)
{
    if (log->len + len > log->cap) {
        size_t cap = log->cap ? log->cap : 256;
        while (cap < log->len + len)
            cap *= 2;
        uint8_t *p = realloc(log->data, cap);
        if (p == NULL)
            abort();
        log->data = p;
        log->cap = cap;
    }
    if (len > 0)
        memcpy(log->data + log->len, data, len);
    log->len += len;
}

void fz_log_free(fz_log *log)
{
    free(log->data);
    memset(log, 0, sizeof *log);
}

int fz_log_equal(const fz_log *a, const fz_log *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

int fz_verbose(void)
{
    static int v = -1;
    if (v < 0)
        v = getenv("FUZZ_VERBOSE") != NULL;
    return v;
}

int fz_lenient(void)
{
    static int v = -1;
    if (v < 0)
        v = getenv("FUZZ_LENIENT") != NULL;
    return v;
}

int fz_ws_feed_split(secchat_ws *ws, const uint8_t *data, size_t size, fz_rng *r, fz_ws_run *res,
                     void (*after_piece)(secchat_ws *ws, int rc, void *arg), void *arg)
{
    int rc = SECCHAT_OK;
    size_t off = 0;
    while (off < size) {
        size_t n = fz_split(r, size - off);
        int frc = secchat_ws_feed(ws, data + off, n);
        if (fz_verbose())
            fprintf(stderr, " feed [%zu, %zu) -> %d state %d\n", off, off + n, frc, (int)secchat_ws_state(ws));
        FUZZ_CHECK(rc == SECCHAT_OK || frc == rc); /* once failed, the code is sticky */
        rc = frc;
        off += n;
        (void)fz_ws_drain(ws, r, &res->events, &res->output);
        if (after_piece != NULL)
            after_piece(ws, rc, arg);
    }
    res->rc = rc;
    return rc;
}

void fz_ws_runs_check(const fz_ws_run *whole, const fz_ws_run *split)
{
    FUZZ_CHECK(fz_log_equal(&whole->events, &split->events));
    FUZZ_CHECK(fz_lenient() || whole->rc == split->rc);
    FUZZ_CHECK(fz_lenient() || fz_log_equal(&whole->output, &split->output));
}

void fz_ws_run_free(fz_ws_run *res)
{
    fz_log_free(&res->events);
    fz_log_free(&res->output);
}

int fz_ws_drain(secchat_ws *ws, fz_rng *r, fz_log *events, fz_log *output)
{
    int closed = 0;
    secchat_ws_event ev;
    while (secchat_ws_next_event(ws, &ev)) {
        if (fz_verbose())
            fprintf(stderr, "  event %d len %zu code %u error %d reason '%s'\n", (int)ev.type, ev.len, ev.close_code,
                    ev.error, ev.reason ? ev.reason : "");
        FUZZ_CHECK(ev.type >= SECCHAT_WS_EVENT_OPEN && ev.type <= SECCHAT_WS_EVENT_CLOSED);
        FUZZ_CHECK(ev.len == 0 || ev.data != NULL);
        fz_touch(ev.data, ev.len);
        if (ev.type == SECCHAT_WS_EVENT_MESSAGE)
            FUZZ_CHECK(ev.len <= SECCHAT_WS_DEFAULT_MAX_MESSAGE);
        if (ev.type == SECCHAT_WS_EVENT_PONG)
            FUZZ_CHECK(ev.len <= 125);
        if (ev.type == SECCHAT_WS_EVENT_CLOSED) {
            closed++;
            FUZZ_CHECK(ev.reason != NULL);
            FUZZ_CHECK(strlen(ev.reason) <= SECCHAT_WS_MAX_CLOSE_REASON);
            FUZZ_CHECK(secchat_ws_state(ws) == SECCHAT_WS_STATE_CLOSED);
        }
        if (events != NULL && !(fz_lenient() && ev.type == SECCHAT_WS_EVENT_CLOSED)) {
            /* Everything the owner can see of the event, in a fixed layout. */
            uint32_t head[4] = {(uint32_t)ev.type, (uint32_t)ev.len, ev.close_code, (uint32_t)ev.error};
            fz_log_add(events, head, sizeof head);
            fz_log_add(events, ev.data, ev.len);
            if (ev.reason != NULL)
                fz_log_add(events, ev.reason, strlen(ev.reason) + 1);
        }
    }
    size_t len;
    const uint8_t *out = secchat_ws_output(ws, &len);
    while (len > 0) {
        size_t n = fz_split(r, len);
        fz_touch(out, n);
        if (fz_verbose())
            fprintf(stderr, "  output %zu bytes\n", n);
        if (output != NULL)
            fz_log_add(output, out, n);
        secchat_ws_output_consumed(ws, n);
        out = secchat_ws_output(ws, &len);
    }
    return closed;
}

const char fz_upgrade_request[] = "GET /chat HTTP/1.1\r\n"
                                  "Host: chat.example:8080\r\n"
                                  "Upgrade: websocket\r\n"
                                  "Connection: Upgrade\r\n"
                                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                  "Sec-WebSocket-Version: 13\r\n"
                                  "\r\n";

int fz_ws_server_upgrade(secchat_ws *ws)
{
    int rc = secchat_ws_feed(ws, (const uint8_t *)fz_upgrade_request, sizeof fz_upgrade_request - 1);
    (void)fz_ws_drain(ws, NULL, NULL, NULL);
    return rc == SECCHAT_OK && secchat_ws_state(ws) == SECCHAT_WS_STATE_OPEN ? 0 : -1;
}

int fz_accept_for_request(const uint8_t *req, size_t len, char accept[29])
{
    static const char field[] = "Sec-WebSocket-Key: ";
    size_t fl = sizeof field - 1;
    for (size_t i = 0; i + fl + SC_WS_KEY_LEN <= len; i++) {
        if (memcmp(req + i, field, fl) == 0) {
            char key[SC_WS_KEY_LEN + 1];
            memcpy(key, req + i + fl, SC_WS_KEY_LEN);
            key[SC_WS_KEY_LEN] = '\0';
            sc_ws_accept_value(key, accept);
            return 0;
        }
    }
    return -1;
}

int fz_ws_client_upgrade(secchat_ws *ws)
{
    size_t len;
    const uint8_t *req = secchat_ws_output(ws, &len);
    char accept[SC_WS_ACCEPT_LEN + 1];
    if (fz_accept_for_request(req, len, accept) != 0)
        return -1;
    secchat_ws_output_consumed(ws, len);
    char resp[256];
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n\r\n",
                     accept);
    int rc = secchat_ws_feed(ws, (const uint8_t *)resp, (size_t)n);
    (void)fz_ws_drain(ws, NULL, NULL, NULL);
    return rc == SECCHAT_OK && secchat_ws_state(ws) == SECCHAT_WS_STATE_OPEN ? 0 : -1;
}
