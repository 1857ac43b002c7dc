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
 * Timing as in noise_bench.c: a short warm-up sizes the batches, then each
 * case runs BENCH_SECONDS (default 0.3) in 50 ms slices interleaved with the
 * jansson case it is compared with; ops/s is the median slice and the ratio
 * is the median of the slice-by-slice ratios. BENCH_ITERATIONS=n runs every
 * case exactly n times instead (for instruction counters).
 *
 * A benchmark is a measurement: nothing here fails on timing. The program
 * exits non-zero only when a call fails or a result is wrong.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "secchat.h"

#define SLICE_SECONDS 0.05
#define MIN_SLICES 3
#define MAX_SLICES 200
#define DEFAULT_SECONDS 0.3

static double bench_seconds = DEFAULT_SECONDS;
static unsigned long bench_iterations; /* BENCH_ITERATIONS, 0 when timing */

static void die(const char *what, int code)
{
    fprintf(stderr, "message_bench: %s failed: %d (%s)\n", what, code, secchat_strerror(code));
    exit(1);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------------------ */
/* Measurement harness (as in noise_bench.c)                                */
/* ------------------------------------------------------------------------ */

typedef void (*work_fn)(void *ctx, unsigned long iterations);

typedef struct workload {
    work_fn fn;
    void *ctx;
    unsigned long batch;      /* iterations between two clock reads */
    double rates[MAX_SLICES]; /* ops/s of each slice */
    double ops;               /* median of rates */
    double ratio;             /* median over slices of w[0]'s rate / this rate: how many times faster w[0] is */
} workload;

static void calibrate(workload *w, double warmup, double batch_target)
{
    unsigned long iters = 1;
    double spent = 0, dt;
    for (;;) {
        double t0 = now();
        w->fn(w->ctx, iters);
        dt = now() - t0;
        spent += dt;
        if (dt >= batch_target || spent >= warmup || iters >= (1UL << 30))
            break;
        iters *= 2;
    }
    double scaled = dt > 0 ? (double)iters * batch_target / dt : (double)iters;
    w->batch = scaled < 1 ? 1 : (unsigned long)scaled;
    while (spent < warmup) {
        double t0 = now();
        w->fn(w->ctx, w->batch);
        spent += now() - t0;
    }
}

static double run_slice(workload *w, double seconds)
{
    unsigned long total = 0;
    double t0 = now(), t;
    do {
        w->fn(w->ctx, w->batch);
        total += w->batch;
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

/* Runs w[0..n-1] for bench_seconds each, interleaved in slices (order reversed every other slice). */
static void measure(workload *w, int n)
{
    if (bench_iterations > 0) {
        for (int i = 0; i < n; i++) {
            double t0 = now();
            w[i].fn(w[i].ctx, bench_iterations);
            w[i].ops = (double)bench_iterations / (now() - t0);
        }
        for (int i = 0; i < n; i++)
            w[i].ratio = w[0].ops / w[i].ops;
        return;
    }
    int slices = (int)(bench_seconds / SLICE_SECONDS + 0.5);
    slices = slices < MIN_SLICES ? MIN_SLICES : slices > MAX_SLICES ? MAX_SLICES : slices;
    double slice = bench_seconds / slices;
    double warmup = bench_seconds / 10 < 0.05 ? bench_seconds / 10 : 0.05;
    double batch_target = slice / 20 < 0.002 ? slice / 20 : 0.002;
    double tmp[MAX_SLICES];

    for (int i = 0; i < n; i++)
        calibrate(&w[i], warmup, batch_target);
    for (int s = 0; s < slices; s++)
        for (int j = 0; j < n; j++) {
            int k = (s % 2 == 0) ? j : n - 1 - j;
            w[k].rates[s] = run_slice(&w[k], slice);
        }
    for (int i = 0; i < n; i++) {
        for (int s = 0; s < slices; s++)
            tmp[s] = w[0].rates[s] / w[i].rates[s];
        w[i].ratio = median(tmp, slices);
        memcpy(tmp, w[i].rates, (size_t)slices * sizeof *tmp);
        w[i].ops = median(tmp, slices);
    }
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

/* The value of the first "key<spaces>: value" line of a /proc file, or fallback. */
static void proc_field(const char *path, const char *key, char *out, size_t cap, const char *fallback)
{
    snprintf(out, cap, "%s", fallback);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    char line[1024];
    size_t key_len = strlen(key);
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, key, key_len) != 0 || (line[key_len] != ' ' && line[key_len] != '\t' && line[key_len] != ':'))
            continue;
        char *v = strchr(line, ':');
        if (v == NULL)
            continue;
        v++;
        while (*v == ' ' || *v == '\t')
            v++;
        v[strcspn(v, "\n")] = '\0';
        snprintf(out, cap, "%s", v);
        break;
    }
    fclose(f);
}

/* One case; vs (if not NULL) is the jansson case it was interleaved with. */
static void print_row(const char *name, const workload *w, size_t bytes, const workload *vs, const char *vs_name)
{
    printf("  %-28s %10.1f %12.0f %9.1f", name, 1e9 / w->ops, w->ops, w->ops * (double)bytes / 1e6);
    if (vs != NULL)
        printf("   %5.1fx faster than %s", vs->ratio, vs_name);
    printf("\n");
}

static double env_seconds(void)
{
    const char *s = getenv("BENCH_SECONDS");
    if (s == NULL || *s == '\0')
        return DEFAULT_SECONDS;
    char *end;
    double v = strtod(s, &end);
    if (*end != '\0' || !(v > 0) || v > 3600) {
        fprintf(stderr, "message_bench: ignoring BENCH_SECONDS=%s (want seconds > 0)\n", s);
        return DEFAULT_SECONDS;
    }
    return v;
}

static unsigned long env_iterations(void)
{
    const char *s = getenv("BENCH_ITERATIONS");
    if (s == NULL || *s == '\0')
        return 0;
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*end != '\0' || v == 0 || v > (1UL << 30)) {
        fprintf(stderr, "message_bench: ignoring BENCH_ITERATIONS=%s (want a count > 0)\n", s);
        return 0;
    }
    return v;
}

static void bench_size(const char *label, const char *content)
{
    msg_case c;
    setup_case(&c, content);
    printf("%s: content %zu B, JSON %zu B\n", label, strlen(content), c.json_len);

    workload enc[2] = {{.fn = work_encode, .ctx = &c}, {.fn = work_dumpb, .ctx = &c}};
    measure(enc, 2);
    print_row("secchat_message_encode", &enc[0], c.json_len, &enc[1], "json_dumpb");
    print_row("jansson json_dumpb", &enc[1], c.json_len, NULL, NULL);

    workload dec[3] = {
        {.fn = work_decode, .ctx = &c}, {.fn = work_loadb, .ctx = &c}, {.fn = work_decode_fallback, .ctx = &c}};
    measure(dec, 3);
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
    bench_seconds = env_seconds();
    bench_iterations = env_iterations();

    char model[256], allowed[256];
    proc_field("/proc/cpuinfo", "model name", model, sizeof model, "unknown");
    proc_field("/proc/self/status", "Cpus_allowed_list", allowed, sizeof allowed, "unknown");
    printf("message_bench: libsecchat %s, jansson %s\n", secchat_version_string(), jansson_version_str());
    printf("CPU: %s; allowed CPUs: %s\n", model, allowed);
    if (bench_iterations > 0)
        printf("%lu iterations per case (BENCH_ITERATIONS), once, no warm-up: timings not representative.\n",
               bench_iterations);
    else
        printf("%.2f s per case (BENCH_SECONDS), interleaved with jansson in %.0f ms slices.\n", bench_seconds,
               SLICE_SECONDS * 1000);
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
