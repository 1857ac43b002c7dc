/*
 * Message codec benchmark: secchat_message_encode / secchat_message_decode
 * next to jansson doing the same job. Run by `make bench`.
 *
 *   encode   secchat_message_encode of one message into a buffer, compared
 *            with json_dumpb(JSON_COMPACT) of a jansson tree holding the same
 *            fields (built once, outside the timing).
 *   decode   secchat_message_decode of that message's JSON (the fast path),
 *            compared with json_loadb + json_decref of the same bytes. The
 *            same message with one unknown member shows what the jansson
 *            fallback path costs.
 *
 * Two sizes: a 100-byte content (sender, type, room and ts set; one escape)
 * and a 4 KiB content (mixed ASCII and 2-byte UTF-8, a few escapes).
 *
 * Timing by tests/common/bench_harness.c, as in noise_bench.c: a short
 * warm-up sizes the batches, then each case runs BENCH_SECONDS (default 0.3)
 * in 50 ms slices interleaved with the jansson case it is compared with;
 * ops/s is the median slice and the ratio is the median of the
 * slice-by-slice ratios. BENCH_ITERATIONS=n runs every case exactly n times
 * instead (for instruction counters).
 *
 * A benchmark is a measurement: nothing here fails on timing. The program
 * exits non-zero only when a call fails or a result is wrong.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/bench_harness.h"
#include "secchat.h"

#define DEFAULT_SECONDS 0.3

static double bench_seconds = DEFAULT_SECONDS;
static unsigned long bench_iterations; /* BENCH_ITERATIONS, 0 when timing */

static void die(const char *what, int code)
{
    fprintf(stderr, "message_bench: %s failed: %d (%s)\n", what, code, secchat_strerror(code));
    exit(1);
}

/* ------------------------------------------------------------------------ */
/* Cases                                                                     */
/* ------------------------------------------------------------------------ */

typedef struct msg_case {
    secchat_message msg;
    uint8_t *json; /* msg encoded */
    size_t json_len;
    uint8_t *json_unknown; /* the same with an unknown member first: the jansson path */
    size_t json_unknown_len;
    json_t *tree;  /* the same fields as a jansson object, for json_dumpb */
    uint8_t *out;  /* SECCHAT_MESSAGE_MAX */
    char *scratch; /* SECCHAT_MESSAGE_SCRATCH(SECCHAT_MESSAGE_MAX + 64) */
    size_t sink;   /* keeps results observable */
} msg_case;

static void work_encode(void *ctx, unsigned long iterations)
{
    msg_case *c = ctx;
    int rc = SECCHAT_OK;
    for (unsigned long i = 0; i < iterations && rc == SECCHAT_OK; i++) {
        size_t len;
        rc = secchat_message_encode(&c->msg, c->out, SECCHAT_MESSAGE_MAX, &len);
        c->sink += len;
    }
    if (rc != SECCHAT_OK)
        die("secchat_message_encode", rc);
}

static void work_dumpb(void *ctx, unsigned long iterations)
{
    msg_case *c = ctx;
    for (unsigned long i = 0; i < iterations; i++) {
        size_t len = json_dumpb(c->tree, (char *)c->out, SECCHAT_MESSAGE_MAX, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (len == 0 || len > SECCHAT_MESSAGE_MAX)
            die("json_dumpb", -1);
        c->sink += len;
    }
}

static void decode_loop(msg_case *c, const uint8_t *json, size_t len, unsigned long iterations)
{
    int rc = SECCHAT_OK;
    for (unsigned long i = 0; i < iterations && rc == SECCHAT_OK; i++) {
        secchat_message m;
        rc = secchat_message_decode(&m, c->scratch, SECCHAT_MESSAGE_SCRATCH(len), json, len);
        c->sink += m.content_len;
    }
    if (rc != SECCHAT_OK)
        die("secchat_message_decode", rc);
}

static void work_decode(void *ctx, unsigned long iterations)
{
    msg_case *c = ctx;
    decode_loop(c, c->json, c->json_len, iterations);
}

static void work_decode_fallback(void *ctx, unsigned long iterations)
{
    msg_case *c = ctx;
    decode_loop(c, c->json_unknown, c->json_unknown_len, iterations);
}

static void work_loadb(void *ctx, unsigned long iterations)
{
    msg_case *c = ctx;
    for (unsigned long i = 0; i < iterations; i++) {
        json_error_t err;
        json_t *root = json_loadb((const char *)c->json, c->json_len, JSON_REJECT_DUPLICATES, &err);
        if (root == NULL)
            die("json_loadb", -1);
        c->sink += json_object_size(root);
        json_decref(root);
    }
}

/* Builds the case for a content of content_len bytes and checks every path once. */
static void setup_case(msg_case *c, const char *content)
{
    memset(c, 0, sizeof *c);
    c->msg = (secchat_message){
        .sender = "Alice", .content = content, .type = "chat", .room = "lobby", .ts = 1700000000123, .has_ts = 1};
    c->out = malloc(SECCHAT_MESSAGE_MAX);
    c->json = malloc(SECCHAT_MESSAGE_MAX);
    c->json_unknown = malloc(SECCHAT_MESSAGE_MAX + 64);
    c->scratch = malloc(SECCHAT_MESSAGE_SCRATCH(SECCHAT_MESSAGE_MAX + 64));
    if (c->out == NULL || c->json == NULL || c->json_unknown == NULL || c->scratch == NULL)
        die("malloc", SECCHAT_ERR_NO_MEMORY);

    int rc = secchat_message_encode(&c->msg, c->json, SECCHAT_MESSAGE_MAX, &c->json_len);
    if (rc != SECCHAT_OK)
        die("secchat_message_encode", rc);
    static const char extra[] = "{\"id\":42,";
    memcpy(c->json_unknown, extra, sizeof extra - 1);
    memcpy(c->json_unknown + sizeof extra - 1, c->json + 1, c->json_len - 1);
    c->json_unknown_len = c->json_len + sizeof extra - 2;

    c->tree = json_pack("{s:s, s:s, s:s, s:s, s:I}", "sender", c->msg.sender, "content", content, "type", c->msg.type,
                        "room", c->msg.room, "ts", (json_int_t)c->msg.ts);
    if (c->tree == NULL)
        die("json_pack", -1);

    /* Both decode paths give the message back. */
    const uint8_t *inputs[2] = {c->json, c->json_unknown};
    size_t lens[2] = {c->json_len, c->json_unknown_len};
    for (int i = 0; i < 2; i++) {
        secchat_message m;
        rc = secchat_message_decode(&m, c->scratch, SECCHAT_MESSAGE_SCRATCH(lens[i]), inputs[i], lens[i]);
        if (rc != SECCHAT_OK)
            die("secchat_message_decode", rc);
        if (strcmp(m.content, content) != 0 || strcmp(m.sender, "Alice") != 0 || m.ts != c->msg.ts) {
            fprintf(stderr, "message_bench: decode does not give the message back\n");
            exit(1);
        }
    }
}

static void free_case(msg_case *c)
{
    json_decref(c->tree);
    free(c->out);
    free(c->json);
    free(c->json_unknown);
    free(c->scratch);
}

/* ------------------------------------------------------------------------ */
/* Report                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * One case; vs (if not NULL) is the jansson case it was interleaved with.
 * "x faster" is w's rate / vs's rate (= vs's cost / w's cost), slice by slice.
 */
static void print_row(const char *name, const bench_workload *w, size_t bytes, const bench_workload *vs,
                      const char *vs_name)
{
    printf("  %-28s %10.1f %12.0f %9.1f", name, 1e9 / w->ops, w->ops, w->ops * (double)bytes / 1e6);
    if (vs != NULL)
        printf("   %5.1fx faster than %s", bench_rate_ratio(w, vs), vs_name);
    printf("\n");
}

static void bench_size(const char *label, const char *content)
{
    msg_case c;
    setup_case(&c, content);
    printf("%s: content %zu B, JSON %zu B\n", label, strlen(content), c.json_len);

    bench_workload enc[2] = {{.fn = work_encode, .ctx = &c}, {.fn = work_dumpb, .ctx = &c}};
    bench_measure(enc, 2, bench_seconds, bench_iterations);
    print_row("secchat_message_encode", &enc[0], c.json_len, &enc[1], "json_dumpb");
    print_row("jansson json_dumpb", &enc[1], c.json_len, NULL, NULL);

    bench_workload dec[3] = {
        {.fn = work_decode, .ctx = &c}, {.fn = work_loadb, .ctx = &c}, {.fn = work_decode_fallback, .ctx = &c}};
    bench_measure(dec, 3, bench_seconds, bench_iterations);
    print_row("secchat_message_decode", &dec[0], c.json_len, &dec[1], "json_loadb");
    print_row("jansson json_loadb+decref", &dec[1], c.json_len, NULL, NULL);
    print_row("decode, fallback path (*)", &dec[2], c.json_unknown_len, NULL, NULL);
    printf("\n");
    fflush(stdout);
    if (c.sink == 0)
        printf("(sink %zu)\n", c.sink);
    free_case(&c);
}

int main(void)
{
    bench_seconds = bench_seconds_from_env("message_bench", DEFAULT_SECONDS);
    bench_iterations = bench_iterations_from_env("message_bench");

    printf("message_bench: libsecchat %s, jansson %s\n", secchat_version_string(), jansson_version_str());
    bench_print_cpus();
    if (bench_iterations > 0)
        printf("%lu iterations per case (BENCH_ITERATIONS), once, no warm-up: timings not representative.\n",
               bench_iterations);
    else
        printf("%.2f s per case (BENCH_SECONDS), interleaved with jansson in %.0f ms slices.\n", bench_seconds,
               BENCH_SLICE_SECONDS * 1000);
    printf("One core. Pin with: taskset -c 1 build/tests/bench/message_bench\n\n");
    printf("  %-28s %10s %12s %9s\n", "case", "ns/op", "ops/s", "MB/s");

    /* 100 bytes of chat text with two quotes to escape. */
    static const char content100[] =
        "Hey, is anyone around? I pushed the \"fix\" for the flaky test; please review it today, thanks! -- Al.";
    _Static_assert(sizeof content100 - 1 == 100, "100 bytes");
    bench_size("100-byte content", content100);

    /* 4 KiB: lines of text with accents and a newline each, so there are escapes and 2-byte UTF-8. */
    static const char line[] = "Caf\xc3\xa9 cr\xc3\xa8me br\xc3\xbbl\xc3\xa9"
                               "e, na\xc3\xafve r\xc3\xa9sum\xc3\xa9 \"ok\"\n";
    char *content4k = malloc(4097);
    if (content4k == NULL)
        die("malloc", SECCHAT_ERR_NO_MEMORY);
    size_t n = 0;
    while (n + sizeof line - 1 <= 4096) {
        memcpy(content4k + n, line, sizeof line - 1);
        n += sizeof line - 1;
    }
    memset(content4k + n, 'x', 4096 - n);
    content4k[4096] = '\0';
    bench_size("4 KiB content", content4k);
    free(content4k);

    printf("ns/op and ops/s: medians of the slices; MB/s: 10^6 bytes of JSON per second; \"x faster\": median of\n"
           "the slice-by-slice cost ratios. Encode vs json_dumpb(JSON_COMPACT) of a tree built once; decode vs\n"
           "json_loadb(JSON_REJECT_DUPLICATES) + json_decref. (*) the same message with an unknown member\n"
           "\"id\":42 first, which the fast path hands to jansson: json_loadb plus the fast path's attempt.\n");
    return 0;
}
