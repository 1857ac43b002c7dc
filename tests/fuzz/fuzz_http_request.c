/*
 * Server side of the opening handshake: arbitrary bytes as the client's
 * upgrade request (and whatever follows it: frames pipelined behind the
 * header block go to the frame parser in the same feed call).
 *
 * Input: 2 bytes split seed (0: whole), then the bytes from the client.
 *
 * Each input runs twice: once fed whole, once cut into pieces by the seed
 * with the endpoint drained in between. The endpoint promises the outcome
 * does not depend on how reads cut the stream, so both runs must produce
 * the same events, the same output and the same final code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_common.h"

static void run(const uint8_t *data, size_t size, uint16_t seed, int eof, fz_ws_run *res)
{
    secchat_ws *ws = NULL;
    FUZZ_CHECK(secchat_ws_new_server(&ws, NULL) == SECCHAT_OK);
    fz_rng r;
    fz_rng_seed(&r, seed);
    (void)fz_ws_feed_split(ws, data, size, &r, res, NULL, NULL);
    if (secchat_ws_state(ws) != SECCHAT_WS_STATE_CONNECTING) {
        /* A refused request may not leave a path; an accepted one must have one. */
        const char *path = secchat_ws_request_path(ws);
        if (path != NULL) {
            fz_log_add(&res->events, path, strlen(path) + 1);
            FUZZ_CHECK(strlen(path) < 1024);
        }
    }
    if (secchat_ws_state(ws) == SECCHAT_WS_STATE_OPEN) {
        FUZZ_CHECK(secchat_ws_request_path(ws) != NULL);
        static const uint8_t hello[] = "hello";
        int src = secchat_ws_send(ws, hello, sizeof hello - 1);
        FUZZ_CHECK(src == SECCHAT_OK || src == SECCHAT_ERR_WS_CLOSED);
        (void)fz_ws_drain(ws, &r, &res->events, &res->output);
    }
    if (eof) {
        secchat_ws_feed_eof(ws);
        (void)fz_ws_drain(ws, &r, &res->events, &res->output);
    }
    secchat_ws_free(ws);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_reset(1);
    fz f = {data, size};
    uint16_t seed = fz_u16(&f);
    int eof = seed & 1;
    fz_ws_run whole = {0}, split = {0};
    run(f.p, f.n, 0, eof, &whole);
    if (seed > 1) {
        fuzz_reset(1);
        run(f.p, f.n, seed, eof, &split);
        fz_ws_runs_check(&whole, &split);
    }
    fz_ws_run_free(&whole);
    fz_ws_run_free(&split);
    return 0;
}
