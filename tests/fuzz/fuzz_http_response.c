/*
 * Client side of the opening handshake: arbitrary bytes as the server's
 * answer to our upgrade request (and frames pipelined behind it).
 *
 * Input: 2 bytes split seed (0: whole), then the server's bytes. The first
 * "@ACCEPT@" in them is replaced by the correct Sec-WebSocket-Accept for
 * the request the endpoint wrote, so the corpus stays valid whatever key
 * the endpoint picks and the fuzzer can get past the accept check.
 *
 * As in fuzz_http_request, every input runs whole and split, and both runs
 * must give the same events, output and final code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_common.h"

#define URL "ws://chat.example:8080/chat"

static uint8_t *with_accept(const uint8_t *data, size_t size, const char *accept, size_t *out_len)
{
    static const char token[] = "@ACCEPT@";
    size_t tl = sizeof token - 1, al = strlen(accept);
    uint8_t *out = malloc(size + al + 1);
    if (out == NULL)
        abort();
    for (size_t i = 0; i + tl <= size; i++) {
        if (memcmp(data + i, token, tl) == 0) {
            memcpy(out, data, i);
            memcpy(out + i, accept, al);
            memcpy(out + i + al, data + i + tl, size - i - tl);
            *out_len = size - tl + al;
            return out;
        }
    }
    if (size > 0)
        memcpy(out, data, size);
    *out_len = size;
    return out;
}

static void run(const uint8_t *data, size_t size, uint16_t seed, int eof, fz_ws_run *res)
{
    secchat_ws *ws = NULL;
    FUZZ_CHECK(secchat_ws_new_client(&ws, URL, NULL) == SECCHAT_OK);
    size_t req_len;
    const uint8_t *req = secchat_ws_output(ws, &req_len);
    char accept[29];
    FUZZ_CHECK(fz_accept_for_request(req, req_len, accept) == 0);
    secchat_ws_output_consumed(ws, req_len);
    size_t len;
    uint8_t *resp = with_accept(data, size, accept, &len);

    fz_rng r;
    fz_rng_seed(&r, seed);
    (void)fz_ws_feed_split(ws, resp, len, &r, res, NULL, NULL);
    FUZZ_CHECK(secchat_ws_request_path(ws) == NULL); /* a server-side notion only */
    if (secchat_ws_state(ws) == SECCHAT_WS_STATE_OPEN) {
        static const uint8_t hello[] = "hello";
        int src = secchat_ws_send(ws, hello, sizeof hello - 1);
        FUZZ_CHECK(src == SECCHAT_OK || src == SECCHAT_ERR_WS_CLOSED);
        (void)secchat_ws_ping(ws, 1000);
        (void)secchat_ws_close(ws, SECCHAT_WS_CLOSE_NORMAL, "bye");
        (void)fz_ws_drain(ws, &r, &res->events, &res->output);
    }
    if (eof) {
        secchat_ws_feed_eof(ws);
        (void)fz_ws_drain(ws, &r, &res->events, &res->output);
    }
    free(resp);
    secchat_ws_free(ws);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz f = {data, size};
    uint16_t seed = fz_u16(&f);
    int eof = seed & 1;
    fz_ws_run whole = {0}, split = {0};
    /* Same RNG seed for both runs: same key, same masks, so the same output. */
    fuzz_reset(2);
    run(f.p, f.n, 0, eof, &whole);
    if (seed > 1) {
        fuzz_reset(2);
        run(f.p, f.n, seed, eof, &split);
        fz_ws_runs_check(&whole, &split);
    }
    fz_ws_run_free(&whole);
    fz_ws_run_free(&split);
    return 0;
}
