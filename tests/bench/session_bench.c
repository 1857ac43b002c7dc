/*
 * Secure session benchmark: the whole per-message path of a session next to
 * the raw AEAD work inside it. Run by `make bench`; method as noise_bench.c.
 *
 *   path   one application message from one session to its peer, both in
 *          this process after the handshake: secchat_session_send_message
 *          (JSON encode, Noise encrypt, WebSocket framing; client frames
 *          masked), secchat_session_output/_output_consumed, then on the peer
 *          secchat_session_feed, secchat_session_next_event and
 *          secchat_message_decode of the plaintext.
 *   raw    secchat_noise_encrypt + secchat_noise_decrypt of a plaintext as
 *          long as that JSON, on a completed Noise pair of the same protocol.
 *
 * Contents of 100 B and 4 KiB, client -> server and server -> client. Each
 * case runs BENCH_SECONDS (default 0.8) per workload after a short warm-up,
 * in 50 ms slices alternating with its raw case, so that changes in CPU speed
 * hit both alike; msg/s is the median slice, path/raw the median of the
 * slice-by-slice cost ratios. Nothing fails on timing: the program exits
 * non-zero only when a call fails or a message arrives altered.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "common/noise_pair.h"
#include "common/session_pair.h"
#include "secchat.h"

#define SLICE_SECONDS 0.05
#define MAX_SLICES 100
#define DEFAULT_SECONDS 0.8
#define TARGET_RATIO 2.0 /* the project's target for 100-byte messages */

static double bench_seconds = DEFAULT_SECONDS;

static void check(int rc, const char *what)
{
    if (rc != SECCHAT_OK) {
        fprintf(stderr, "session_bench: %s failed: %d (%s)\n", what, rc, secchat_strerror(rc));
        exit(1);
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- workloads ---------------------------------------------------------------- */

typedef void (*work_fn)(void *ctx, unsigned long iterations);

/* One direction of a connected session pair, and the message it carries. */
typedef struct path_ctx {
    secchat_session *tx, *rx;
    secchat_message msg;
    char *scratch;
    size_t scratch_len;
} path_ctx;

static void work_path(void *ctx, unsigned long iterations)
{
    path_ctx *c = ctx;
    for (unsigned long i = 0; i < iterations; i++) {
        check(secchat_session_send_message(c->tx, &c->msg), "secchat_session_send_message");
        size_t len = 0;
        const uint8_t *out = secchat_session_output(c->tx, &len);
        check(secchat_session_feed(c->rx, out, len), "secchat_session_feed");
        secchat_session_output_consumed(c->tx, len);
        secchat_session_event ev;
        if (!secchat_session_next_event(c->rx, &ev) || ev.type != SECCHAT_SESSION_EVENT_MESSAGE)
            check(SECCHAT_ERR_BAD_STATE, "secchat_session_next_event");
        secchat_message m;
        check(secchat_message_decode(&m, c->scratch, c->scratch_len, ev.data, ev.len), "secchat_message_decode");
        if (m.content_len != strlen(c->msg.content))
            check(SECCHAT_ERR_BAD_STATE, "message content");
    }
}

typedef struct raw_ctx {
    secchat_noise *tx, *rx;
    uint8_t *plain, *sealed, *opened;
    size_t len;
} raw_ctx;

static void work_raw(void *ctx, unsigned long iterations)
{
    raw_ctx *c = ctx;
    for (unsigned long i = 0; i < iterations; i++) {
        size_t sealed_len, opened_len;
        check(secchat_noise_encrypt(c->tx, c->plain, c->len, c->sealed, c->len + SECCHAT_NOISE_TAG_LEN, &sealed_len),
              "secchat_noise_encrypt");
        check(secchat_noise_decrypt(c->rx, c->sealed, sealed_len, c->opened, c->len, &opened_len),
              "secchat_noise_decrypt");
    }
}

/* ---- measurement ------------------------------------------------------------------ */

/* Iterations that take about ms milliseconds (found by doubling, which also warms up). */
static unsigned long batch_for(work_fn fn, void *ctx, double ms)
{
    unsigned long n = 1;
    for (;;) {
        double t0 = now();
        fn(ctx, n);
        double dt = now() - t0;
        if (dt >= ms / 1000 || n >= (1UL << 30))
            return dt > 0 ? (unsigned long)((double)n * ms / 1000 / dt) + 1 : n;
        n *= 2;
    }
}

static double run_slice(work_fn fn, void *ctx, unsigned long batch, double seconds)
{
    unsigned long total = 0;
    double t0 = now(), t;
    do {
        fn(ctx, batch);
        total += batch;
        t = now();
    } while (t - t0 < seconds);
    return (double)total / (t - t0);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

typedef struct result {
    double path_ops, raw_ops; /* messages per second, median slice */
    double ratio;             /* path cost / raw cost, median of the slice ratios */
} result;

static result measure(path_ctx *path, raw_ctx *raw)
{
    int slices = (int)(bench_seconds / SLICE_SECONDS + 0.5);
    slices = slices < 3 ? 3 : slices > MAX_SLICES ? MAX_SLICES : slices;
    double slice = bench_seconds / slices;
    unsigned long path_batch = batch_for(work_path, path, 1), raw_batch = batch_for(work_raw, raw, 1);
    double p[MAX_SLICES], r[MAX_SLICES], ratio[MAX_SLICES];
    for (int s = 0; s < slices; s++) {
        if (s % 2 == 0) {
            p[s] = run_slice(work_path, path, path_batch, slice);
            r[s] = run_slice(work_raw, raw, raw_batch, slice);
        } else {
            r[s] = run_slice(work_raw, raw, raw_batch, slice);
            p[s] = run_slice(work_path, path, path_batch, slice);
        }
        ratio[s] = r[s] / p[s];
    }
    result res = {median(p, slices), median(r, slices), median(ratio, slices)};
    return res;
}

/* The length secchat_message_encode gives msg (asked with no buffer). */
static size_t json_length(const secchat_message *msg)
{
    size_t len = 0;
    int rc = secchat_message_encode(msg, NULL, 0, &len);
    check(rc == SECCHAT_ERR_BUFFER_TOO_SMALL ? SECCHAT_OK : rc, "secchat_message_encode");
    return len;
}

/* ---- report ------------------------------------------------------------------------ */

static void print_allowed_cpus(void)
{
    char line[256] = "", *found = NULL;
    FILE *f = fopen("/proc/self/status", "r");
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "Cpus_allowed_list:", 18) == 0) {
            found = line + 18 + strspn(line + 18, " \t");
            found[strcspn(found, "\n")] = '\0';
            break;
        }
    if (f != NULL)
        fclose(f);
    printf("allowed CPUs: %s\n", found ? found : "unknown");
}

static double seconds_from_env(void)
{
    const char *s = getenv("BENCH_SECONDS");
    if (s == NULL || *s == '\0')
        return DEFAULT_SECONDS;
    char *end;
    double v = strtod(s, &end);
    if (*end != '\0' || !(v > 0) || v > 3600) {
        fprintf(stderr, "session_bench: ignoring BENCH_SECONDS=%s (want seconds > 0)\n", s);
        return DEFAULT_SECONDS;
    }
    return v;
}

int main(void)
{
    if (sodium_init() < 0) {
        fprintf(stderr, "session_bench: sodium_init failed\n");
        return 1;
    }
    bench_seconds = seconds_from_env();
    const char *protocol =
        crypto_aead_aes256gcm_is_available() ? SECCHAT_DEFAULT_PROTOCOL : "Noise_XXpsk2_25519_ChaChaPoly_SHA256";

    static session_pair pair;
    check(session_pair_init(&pair), "session_pair_init");
    check(secchat_config_set_protocol(pair.client.cfg, protocol), "secchat_config_set_protocol");
    check(secchat_config_set_protocol(pair.server.cfg, protocol), "secchat_config_set_protocol");
    check(session_pair_start(&pair), "session_pair_start");
    session_pair_pump(&pair);
    if (secchat_session_state(pair.client.session) != SECCHAT_SESSION_STATE_READY ||
        secchat_session_state(pair.server.session) != SECCHAT_SESSION_STATE_READY)
        check(SECCHAT_ERR_SESSION_HANDSHAKE, "session handshake");
    noise_pair np;
    check(noise_pair_new(&np, protocol), "noise_pair_new");
    check(noise_pair_configure(&np), "noise_pair_configure");
    check(noise_pair_handshake(&np, NULL, 0, NULL), "noise_pair_handshake");

    printf("session_bench: libsecchat %s, libsodium %s, %s\n", secchat_version_string(), sodium_version_string(),
           protocol);
    print_allowed_cpus();
    printf("%.2f s per workload, path and raw alternating in %.0f ms slices. Pin with: taskset -c 1\n\n", bench_seconds,
           SLICE_SECONDS * 1000);
    printf("%-16s %7s %6s %12s %9s %12s %9s %9s\n", "direction", "content", "JSON", "path msg/s", "path GB/s",
           "raw msg/s", "raw GB/s", "path/raw");
    fflush(stdout);

    static const size_t contents[] = {100, 4096};
    double ratio_100[2] = {0, 0};
    for (int dir = 0; dir < 2; dir++) {
        for (size_t i = 0; i < sizeof contents / sizeof contents[0]; i++) {
            char *content = malloc(contents[i] + 1);
            if (content == NULL)
                check(SECCHAT_ERR_NO_MEMORY, "malloc");
            memset(content, 'x', contents[i]);
            content[contents[i]] = '\0';
            path_ctx path = {.tx = dir ? pair.server.session : pair.client.session,
                             .rx = dir ? pair.client.session : pair.server.session,
                             .msg = {.sender = dir ? "Server" : "", .content = content}};
            size_t json_len = json_length(&path.msg);
            path.scratch_len = SECCHAT_MESSAGE_SCRATCH(json_len);
            raw_ctx raw = {.tx = dir ? np.resp : np.init, .rx = dir ? np.init : np.resp, .len = json_len};
            raw.plain = calloc(1, json_len);
            raw.sealed = malloc(json_len + SECCHAT_NOISE_TAG_LEN);
            raw.opened = malloc(json_len);
            path.scratch = malloc(path.scratch_len);
            if (path.scratch == NULL || raw.plain == NULL || raw.sealed == NULL || raw.opened == NULL)
                check(SECCHAT_ERR_NO_MEMORY, "malloc");

            result res = measure(&path, &raw);
            if (contents[i] == 100)
                ratio_100[dir] = res.ratio;
            printf("%-16s %5zu B %4zu B %12.0f %9.3f %12.0f %9.3f %8.2fx\n",
                   dir ? "server -> client" : "client -> server", contents[i], json_len, res.path_ops,
                   res.path_ops * (double)json_len / 1e9, res.raw_ops, res.raw_ops * (double)json_len / 1e9, res.ratio);
            fflush(stdout);
            free(content);
            free(path.scratch);
            free(raw.plain);
            free(raw.sealed);
            free(raw.opened);
        }
    }
    printf("\nTarget: the whole path for 100-byte contents costs under %.1fx the raw AEAD: client -> server "
           "%.2fx (%s), server -> client %.2fx (%s).\n",
           TARGET_RATIO, ratio_100[0], ratio_100[0] < TARGET_RATIO ? "met" : "NOT met", ratio_100[1],
           ratio_100[1] < TARGET_RATIO ? "met" : "NOT met");
    printf("GB/s = 10^9 bytes of JSON (the Noise plaintext) per second. path/raw = path cost / raw cost (cost =\n"
           "1 / msg/s), the median of the slice-by-slice ratios; msg/s columns are medians of the slices.\n"
           "path: send_message (encode + encrypt + frame, client frames masked) + feed + next_event + decode.\n"
           "raw: secchat_noise_encrypt + secchat_noise_decrypt of as many bytes, on a completed Noise pair.\n");
    noise_pair_free(&np);
    session_pair_free(&pair);
    return 0;
}
