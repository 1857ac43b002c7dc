/*
 * The per-member message rate limit: a token bucket of burst tokens that
 * refills at rate tokens a second, kept as one number, the theoretical
 * arrival time of the next message (the "generic cell rate algorithm"): a
 * message may come at most burst - 1 intervals before it is due.
 */
#ifndef SC_SERVER_RATE_H
#define SC_SERVER_RATE_H

#include <stdint.h>

/*
 * 1 if a message at now_us fits the limit (and counts it in *tat_us, which
 * starts at 0), 0 if it does not (nothing counted). rate >= 1, burst >= 1.
 */
int sc_rate_allow(uint64_t *tat_us, uint64_t now_us, unsigned rate, unsigned burst);

#endif /* SC_SERVER_RATE_H */
