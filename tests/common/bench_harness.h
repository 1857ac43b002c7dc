/*
 * Benchmark helper: the timing method shared by the programs of tests/bench/
 * (docs/performance.md, "Method"). Workloads that are compared run in short
 * slices taken in turn, so that drifts in CPU speed, which on the reference
 * machine reach tens of percent over a few hundred milliseconds, hit them
 * alike; ratios are then taken slice by slice and their median reported.
 * Plain C with no cmocka dependency, because the Makefile links every .c
 * file of tests/common/ into every test program and benchmark.
 */
#ifndef SC_TESTS_BENCH_HARNESS_H
#define SC_TESTS_BENCH_HARNESS_H

#include <stddef.h>

#define BENCH_SLICE_SECONDS 0.05 /* the compared workloads take turns at this period */
#define BENCH_MAX_SLICES 200

/* Runs the measured operation iterations times on ctx. */
typedef void (*bench_fn)(void *ctx, unsigned long iterations);

typedef struct bench_workload {
    bench_fn fn;
    void *ctx;
    /* Filled by bench_measure: */
    unsigned long batch;            /* iterations between two clock reads */
    int slices;                     /* how many rates were measured */
    double rates[BENCH_MAX_SLICES]; /* ops/s of each slice */
    double ops;                     /* median of rates */
} bench_workload;

/* CLOCK_MONOTONIC in seconds. */
double bench_now(void);

/* The median of v[0..n), n > 0; sorts v. */
double bench_median(double *v, int n);

/*
 * Measures w[0..n-1] together. With iterations 0 each runs for seconds
 * after a warm-up that sizes its batches, interleaved with the others in
 * slices of about BENCH_SLICE_SECONDS (order reversed every other slice).
 * With iterations > 0 each runs exactly that many times, once, in order and
 * with no warm-up, as one slice: for instruction counters, where every
 * iteration counts and timing noise does not matter.
 */
void bench_measure(bench_workload *w, int n, double seconds, unsigned long iterations);

/*
 * The median over the slices of a's rate / b's rate, for two workloads of
 * one bench_measure call. As rate = 1 / cost, this is also b's cost / a's
 * cost: how many times a is faster than b.
 */
double bench_rate_ratio(const bench_workload *a, const bench_workload *b);

/* BENCH_SECONDS, or fallback when unset; prog names the program in the warning about a bad value. */
double bench_seconds_from_env(const char *prog, double fallback);

/* BENCH_ITERATIONS, or 0 (timed runs) when unset; prog as above. */
unsigned long bench_iterations_from_env(const char *prog);

/* The value of the first "key<spaces>: value" line of a /proc file, or fallback. */
void bench_proc_field(const char *path, const char *key, char *out, size_t cap, const char *fallback);

/* Prints "CPU: <model>; allowed CPUs: <list>": which CPUs a run was pinned to matters to its figures. */
void bench_print_cpus(void);

#endif
