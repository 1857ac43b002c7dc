/*
 * Secure session benchmark: the whole per-message path of a session next to
 * the raw AEAD work inside it. Run by `make bench`; method as noise_bench.c
 * (tests/common/bench_harness.c).
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

#include <sodium.h>

#include "common/bench_harness.h"
#include "common/noise_pair.h"
#include "common/session_pair.h"
#include "secchat.h"

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

/* ---- workloads ---------------------------------------------------------------- */

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

/* The length secchat_message_encode gives msg (asked with no buffer). */
static size_t json_length(const secchat_message *msg)
{
    size_t len = 0;
    int rc = secchat_message_encode(msg, NULL, 0, &len);
    check(rc == SECCHAT_ERR_BUFFER_TOO_SMALL ? SECCHAT_OK : rc, "secchat_message_encode");
    return len;
}

int main(void)
{
    if (sodium_init() < 0) {
        fprintf(stderr, "session_bench: sodium_init failed\n");
        return 1;
    }
    bench_seconds = bench_seconds_from_env("session_bench", DEFAULT_SECONDS);
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
    bench_print_cpus();
    printf("%.2f s per workload, path and raw alternating in %.0f ms slices. Pin with: taskset -c 1\n\n", bench_seconds,
           BENCH_SLICE_SECONDS * 1000);
    printf("%-16s %7s %6s %12s %9s %12s %9s %9s\n", "direction", "content", "JSON", "path msg/s", "path GB/s",
           "raw msg/s", "raw GB/s", "path/raw");
    fflush(stdout);

    static const size_t contents[] = {100, 4096};
    double ratio_100[2] = {0, 0};
    for (int dir = 0; dir < 2; dir++) {
        for (size_t i = 0; i < sizeof contents / sizeof contents[0]; i++) {
            char *content = malloc(contents[i] + 1);
            if (content == NULL) {
                fputs("session_bench: out of memory\n", stderr);
                exit(1);
            }
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

            /* No BENCH_ITERATIONS here: always timed, the path next to its raw case. */
            bench_workload w[2] = {{.fn = work_path, .ctx = &path}, {.fn = work_raw, .ctx = &raw}};
            bench_measure(w, 2, bench_seconds, 0);
            double ratio = bench_rate_ratio(&w[1], &w[0]); /* path cost / raw cost = raw rate / path rate */
            if (contents[i] == 100)
                ratio_100[dir] = ratio;
            printf("%-16s %5zu B %4zu B %12.0f %9.3f %12.0f %9.3f %8.2fx\n",
                   dir ? "server -> client" : "client -> server", contents[i], json_len, w[0].ops,
                   w[0].ops * (double)json_len / 1e9, w[1].ops, w[1].ops * (double)json_len / 1e9, ratio);
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
