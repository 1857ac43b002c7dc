/*
 * Shared helpers of the libFuzzer targets in tests/fuzz/.
 *
 * - A deterministic libsodium RNG (fuzz_init installs it before sodium_init;
 *   fuzz_reset reseeds it at the start of each input), so every input runs
 *   the same way twice: same WebSocket keys, masks, Noise keys.
 * - A reader over the input (fz_*) that never fails: past the end it yields
 *   zeros, so targets need no length checks of their own.
 * - A small xorshift generator for split sizes and actions, seeded from
 *   input bytes, so the input decides where feeds are cut.
 * - WebSocket helpers: drain an endpoint (touching every byte it hands out,
 *   so ASan sees reads past a buffer), and complete an upgrade in memory.
 *
 * FUZZ_CHECK aborts with a message: libFuzzer then saves the input as a
 * crash, so broken invariants are reported like memory errors.
 */
#ifndef SC_FUZZ_COMMON_H
#define SC_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "secchat.h"

#define FUZZ_CHECK(cond)                                                                                           \
    do {                                                                                                           \
        if (!(cond))                                                                                               \
            fuzz_fail(__FILE__, __LINE__, #cond);                                                                  \
    } while (0)

_Noreturn void fuzz_fail(const char *file, int line, const char *what);

/* Installs the deterministic RNG and initializes libsodium. LLVMFuzzerInitialize,
 * defined once in fuzz_common.c for every target, calls it. */
void fuzz_init(void);

/* A target's own set-up (fixed keys and the like), if it defines one: run by
 * LLVMFuzzerInitialize after fuzz_init. */
void fz_target_init(void) __attribute__((weak));

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reseeds the deterministic RNG; call first thing in LLVMFuzzerTestOneInput. */
void fuzz_reset(uint64_t seed);

/* ---- input reader ---------------------------------------------------------- */

typedef struct fz {
    const uint8_t *p;
    size_t n;
} fz;

uint8_t fz_u8(fz *f);
uint16_t fz_u16(fz *f);
uint32_t fz_u32(fz *f);
/* Up to want bytes (fewer at the end); *got receives how many. */
const uint8_t *fz_take(fz *f, size_t want, size_t *got);

/*
 * A chunk: a 24-bit big-endian length, then that many bytes. When the input
 * has fewer, the bytes that are there are repeated (zeros if none) up to the
 * length, capped at cap: short inputs can thus reach the 65535/65536 limits.
 * Returns a malloc'ed buffer of exactly *len bytes (never NULL; free it).
 */
uint8_t *fz_chunk(fz *f, size_t cap, size_t *len);

/* ---- xorshift ---------------------------------------------------------------- */

typedef struct fz_rng {
    uint64_t s;
} fz_rng;

void fz_rng_seed(fz_rng *r, uint64_t seed);
uint64_t fz_rng_next(fz_rng *r);
/*
 * The size of the next piece to feed, 1..left (left > 0). A seed of 0
 * means "everything at once"; otherwise mostly short pieces (cutting
 * headers and lengths) with a long one now and then.
 */
size_t fz_split(fz_rng *r, size_t left);

/* A sum of the bytes, so the compiler cannot skip reading them. */
uint64_t fz_touch(const uint8_t *p, size_t len);
extern volatile uint64_t fz_sink;

/* ---- WebSocket endpoints -------------------------------------------------- */

/* 1 when FUZZ_VERBOSE is set: targets then narrate feeds and events on stderr (for triage). */
int fz_verbose(void);

/*
 * 1 when FUZZ_LENIENT is set: the checks that found the issues recorded in
 * tests/fuzz/regressions/ are relaxed, so a long campaign can look for
 * other ones: the split/whole comparisons look only at the data delivered
 * (MESSAGE and PONG events), not at how the connection ended (CLOSED
 * event, output, final code), and key texts need not be canonical base64.
 * Never set by run.sh.
 */
int fz_lenient(void);

/* A growable byte log, to compare two runs of the same input. */
typedef struct fz_log {
    uint8_t *data;
    size_t len, cap;
} fz_log;

void fz_log_add(fz_log *log, const void *data, size_t len);
void fz_log_free(fz_log *log);
/* 1 if both logs hold the same bytes. */
int fz_log_equal(const fz_log *a, const fz_log *b);

/*
 * Takes every pending event (checking their fields are sane) and consumes
 * the output, in pieces chosen by r (NULL: all at once). Events and output
 * are appended to the logs when these are not NULL. Returns the number of
 * CLOSED events seen.
 */
int fz_ws_drain(secchat_ws *ws, fz_rng *r, fz_log *events, fz_log *output);

/* What one run of a whole-versus-split differential saw. */
typedef struct fz_ws_run {
    fz_log events, output;
    int rc; /* the last feed's code */
} fz_ws_run;

/*
 * Feeds data to ws in pieces chosen by r (a seed of 0: whole), checking
 * that a failure code, once returned, is sticky, and drains ws into res
 * after each piece; then after_piece(ws, rc, arg), if not NULL. Sets and
 * returns res->rc.
 */
int fz_ws_feed_split(secchat_ws *ws, const uint8_t *data, size_t size, fz_rng *r, fz_ws_run *res,
                     void (*after_piece)(secchat_ws *ws, int rc, void *arg), void *arg);

/* The differential's verdict: the split run saw what the whole run saw
 * (FUZZ_LENIENT relaxes the code and output checks). */
void fz_ws_runs_check(const fz_ws_run *whole, const fz_ws_run *split);

void fz_ws_run_free(fz_ws_run *res);

/* A valid upgrade request for path "/chat". */
extern const char fz_upgrade_request[];

/* Feeds fz_upgrade_request to a server endpoint; 0 if it is OPEN afterwards. */
int fz_ws_server_upgrade(secchat_ws *ws);

/*
 * Answers a client endpoint's upgrade request (taken from its output) with a
 * correct 101 response; 0 if it is OPEN afterwards.
 */
int fz_ws_client_upgrade(secchat_ws *ws);

/*
 * Writes the Sec-WebSocket-Accept value for the Sec-WebSocket-Key found in
 * the request text req[0..len) into accept (29 bytes). 0, or -1 if none.
 */
int fz_accept_for_request(const uint8_t *req, size_t len, char accept[29]);

#endif /* SC_FUZZ_COMMON_H */
