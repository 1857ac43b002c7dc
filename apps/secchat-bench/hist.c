/* Latency histogram: log-linear buckets, constant time per sample. */
#include "bench.h"

/* Values below HIST_SUB land in bucket v; above, the bucket is picked by
 * the position of the highest bit and the HIST_SUB_BITS bits below it. */
static unsigned bucket_of(uint64_t v)
{
    if (v < HIST_SUB)
        return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = msb - HIST_SUB_BITS;
    unsigned b = (shift + 1u) * HIST_SUB + (unsigned)((v >> shift) & (HIST_SUB - 1u));
    return b < HIST_BUCKETS ? b : HIST_BUCKETS - 1u;
}

/* The middle of a bucket's range. */
static uint64_t value_of(unsigned b)
{
    if (b < HIST_SUB)
        return b;
    unsigned shift = b / HIST_SUB - 1u;
    uint64_t lo = ((uint64_t)HIST_SUB + (b % HIST_SUB)) << shift;
    return lo + (((uint64_t)1 << shift) >> 1);
}

void hist_add(hist *h, uint64_t ns)
{
    h->count[bucket_of(ns)]++;
    h->n++;
    h->sum += ns;
    if (ns > h->max)
        h->max = ns;
}

uint64_t hist_quantile(const hist *h, double q)
{
    if (!h->n)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)h->n);
    if (rank >= h->n)
        rank = h->n - 1;
    uint64_t seen = 0;
    for (unsigned b = 0; b < HIST_BUCKETS; b++) {
        seen += h->count[b];
        if (seen > rank) {
            uint64_t v = value_of(b);
            return v > h->max ? h->max : v;
        }
    }
    return h->max;
}
