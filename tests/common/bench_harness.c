/* Timing of benchmark workloads in interleaved slices; see bench_harness.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/bench_harness.h"

#define MIN_SLICES 3         /* fewer would leave no median to speak of */
#define MAX_WARMUP 0.05      /* seconds of warm-up per workload, at most */
#define MAX_BATCH_TIME 0.002 /* seconds between two clock reads, at most */
#define MAX_ITERATIONS (1UL << 30)

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, int n)
{
    /* cppcheck-suppress uninitvar ; both callers fill v[0..n-1] first (a memcpy, a loop) */
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * Warm-up: doubles the iteration count until one call lasts batch_target,
 * then sizes the batch from that and keeps running until warmup has passed.
 * A batch keeps the clock reads out of the measured work, yet stays short
 * next to a slice so that a slice ends close to its planned length.
 */
static void bench_calibrate(bench_workload *w, double warmup, double batch_target)
{
    unsigned long iters = 1;
    double spent = 0, dt;
    for (;;) {
        double t0 = bench_now();
        w->fn(w->ctx, iters);
        dt = bench_now() - t0;
        spent += dt;
        if (dt >= batch_target || spent >= warmup || iters >= MAX_ITERATIONS)
            break;
        iters *= 2;
    }
    double scaled = dt > 0 ? (double)iters * batch_target / dt : (double)iters;
    w->batch = scaled < 1 ? 1 : (unsigned long)scaled;
    while (spent < warmup) {
        double t0 = bench_now();
        w->fn(w->ctx, w->batch);
        spent += bench_now() - t0;
    }
}

/* Whole batches for at least seconds; ops/s over the time they really took. */
static double bench_run_slice(bench_workload *w, double seconds)
{
    unsigned long total = 0;
    double t0 = bench_now(), t;
    do {
        w->fn(w->ctx, w->batch);
        total += w->batch;
        t = bench_now();
    } while (t - t0 < seconds);
    return (double)total / (t - t0);
}

void bench_measure(bench_workload *w, int n, double seconds, unsigned long iterations)
{
    if (iterations > 0) {
        for (int i = 0; i < n; i++) {
            double t0 = bench_now();
            w[i].fn(w[i].ctx, iterations);
            w[i].batch = iterations;
            w[i].slices = 1;
            w[i].rates[0] = w[i].ops = (double)iterations / (bench_now() - t0);
        }
        return;
    }
    int slices = (int)(seconds / BENCH_SLICE_SECONDS + 0.5);
    slices = slices < MIN_SLICES ? MIN_SLICES : slices > BENCH_MAX_SLICES ? BENCH_MAX_SLICES : slices;
    double slice = seconds / slices;
    double warmup = seconds / 10 < MAX_WARMUP ? seconds / 10 : MAX_WARMUP;
    double batch_target = slice / 20 < MAX_BATCH_TIME ? slice / 20 : MAX_BATCH_TIME;
    double tmp[BENCH_MAX_SLICES];

    for (int i = 0; i < n; i++)
        bench_calibrate(&w[i], warmup, batch_target);
    /* Reversing the order every other slice keeps any workload from always following the same one. */
    for (int s = 0; s < slices; s++)
        for (int j = 0; j < n; j++) {
            int k = (s % 2 == 0) ? j : n - 1 - j;
            w[k].rates[s] = bench_run_slice(&w[k], slice);
        }
    for (int i = 0; i < n; i++) {
        w[i].slices = slices;
        memcpy(tmp, w[i].rates, (size_t)slices * sizeof *tmp);
        w[i].ops = bench_median(tmp, slices);
    }
}

double bench_rate_ratio(const bench_workload *a, const bench_workload *b)
{
    /* Slices next to each other ran at the same CPU speed: their ratio is free of its drifts, the medians' is not. */
    double tmp[BENCH_MAX_SLICES];
    int slices = a->slices < b->slices ? a->slices : b->slices;
    for (int s = 0; s < slices; s++)
        tmp[s] = a->rates[s] / b->rates[s];
    return bench_median(tmp, slices);
}

double bench_seconds_from_env(const char *prog, double fallback)
{
    const char *s = getenv("BENCH_SECONDS");
    if (s == NULL || *s == '\0')
        return fallback;
    char *end;
    double v = strtod(s, &end);
    if (*end != '\0' || !(v > 0) || v > 3600) {
        fprintf(stderr, "%s: ignoring BENCH_SECONDS=%s (want seconds > 0)\n", prog, s);
        return fallback;
    }
    return v;
}

unsigned long bench_iterations_from_env(const char *prog)
{
    const char *s = getenv("BENCH_ITERATIONS");
    if (s == NULL || *s == '\0')
        return 0;
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*end != '\0' || v == 0 || v > MAX_ITERATIONS) {
        fprintf(stderr, "%s: ignoring BENCH_ITERATIONS=%s (want a count > 0)\n", prog, s);
        return 0;
    }
    return v;
}

void bench_proc_field(const char *path, const char *key, char *out, size_t cap, const char *fallback)
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
    (void)fclose(f); /* read only: nothing to lose */
}

void bench_print_cpus(void)
{
    char model[256], allowed[256];
    bench_proc_field("/proc/cpuinfo", "model name", model, sizeof model, "unknown");
    bench_proc_field("/proc/self/status", "Cpus_allowed_list", allowed, sizeof allowed, "unknown");
    printf("CPU: %s; allowed CPUs: %s\n", model, allowed);
}
