/*
 * The frame-stream driver shared by fuzz_ws_server_frames.c and
 * fuzz_ws_client_frames.c (included by each, with WS_DRIVER_SERVER set to
 * 1 or 0): an endpoint is upgraded in memory, then the input is its peer's
 * byte stream.
 *
 * Input: byte 0 = mode, bytes 1-2 = split seed, the rest = peer's bytes.
 *   mode bit 7 clear: differential. The stream is fed once whole and once
 *     cut by the seed with secchat_ws_trim after every piece; events,
 *     output and final code must match (the endpoint's promise that splits
 *     and trims change nothing).
 *   mode bit 7 set: actions. The stream is cut by the seed and between
 *     pieces the seed's generator also picks trims, sends of various sizes,
 *     pings, ping_overdue checks, closes and an end of file.
 *   mode bits 0-2: max_message (small limits reach 1009 quickly),
 *   mode bits 3-4: max_output (small limits reach WS_OUTPUT_FULL).
 */
#ifndef SC_FUZZ_WS_FRAMES_DRIVER_H
#define SC_FUZZ_WS_FRAMES_DRIVER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_common.h"

static const size_t max_messages[8] = {0, 1, 8, 125, 126, 127, 4096, 65534};
static const size_t max_outputs[4] = {0, 1, 64, 4096};

static secchat_ws *open_endpoint(uint8_t mode)
{
    secchat_ws_limits limits = {max_messages[mode & 7], max_outputs[(mode >> 3) & 3]};
    secchat_ws *ws = NULL;
#if WS_DRIVER_SERVER
    FUZZ_CHECK(secchat_ws_new_server(&ws, &limits) == SECCHAT_OK);
    FUZZ_CHECK(fz_ws_server_upgrade(ws) == 0);
#else
    FUZZ_CHECK(secchat_ws_new_client(&ws, "ws://chat.example:8080/chat", &limits) == SECCHAT_OK);
    FUZZ_CHECK(fz_ws_client_upgrade(ws) == 0);
#endif
    /* The OPEN event was taken by the upgrade helper. */
    return ws;
}

/* The sticky failure code: a feed of nothing returns it without side effects. */
static int sticky(secchat_ws *ws)
{
    return secchat_ws_feed(ws, NULL, 0);
}

static void check_state(secchat_ws *ws, int rc)
{
    enum secchat_ws_state st = secchat_ws_state(ws);
    FUZZ_CHECK(st >= SECCHAT_WS_STATE_OPEN && st <= SECCHAT_WS_STATE_CLOSED);
    if (rc != SECCHAT_OK)
        FUZZ_CHECK(st == SECCHAT_WS_STATE_CLOSED);
}

/* After each piece: the state fits the code, and a split run trims the endpoint. */
static void after_piece(secchat_ws *ws, int rc, void *arg)
{
    check_state(ws, rc);
    if (*(const uint16_t *)arg != 0) {
        if (fz_verbose())
            fprintf(stderr, " trim\n");
        secchat_ws_trim(ws);
    }
}

static void run_plain(uint8_t mode, const uint8_t *data, size_t size, uint16_t seed, fz_ws_run *res)
{
    secchat_ws *ws = open_endpoint(mode);
    fz_rng r;
    fz_rng_seed(&r, seed);
    (void)fz_ws_feed_split(ws, data, size, &r, res, after_piece, &seed);
    secchat_ws_free(ws);
}

static void differential(uint8_t mode, const uint8_t *data, size_t size, uint16_t seed)
{
    fz_ws_run whole = {0}, split = {0};
    fuzz_reset(3);
    if (fz_verbose())
        fprintf(stderr, "whole:\n");
    run_plain(mode, data, size, 0, &whole);
    if (seed != 0) {
        fuzz_reset(3);
        if (fz_verbose())
            fprintf(stderr, "split:\n");
        run_plain(mode, data, size, seed, &split);
        fz_ws_runs_check(&whole, &split);
    }
    fz_ws_run_free(&whole);
    fz_ws_run_free(&split);
}

/* Sizes worth sending: around the 7-bit and 16-bit length encodings. */
static const size_t send_sizes[8] = {0, 1, 125, 126, 127, 65535, 65536, 300};
static const uint16_t close_codes[8] = {1000, 1001, 1002, 1003, 1008, 1011, 3000, 4999};

static void actions(uint8_t mode, const uint8_t *data, size_t size, uint16_t seed)
{
    fuzz_reset(4);
    secchat_ws *ws = open_endpoint(mode);
    fz_rng r;
    fz_rng_seed(&r, seed ? seed : 1);
    static uint8_t payload[65536];
    int rc = SECCHAT_OK, closed = 0;
    uint64_t now = 1;
    size_t off = 0;
    while (off < size) {
        size_t n = fz_split(&r, size - off);
        int frc = secchat_ws_feed(ws, data + off, n);
        FUZZ_CHECK(rc == SECCHAT_OK || frc == rc || rc == SECCHAT_ERR_WS_CONNECTION_LOST);
        rc = frc;
        check_state(ws, rc);
        off += n;
        closed += fz_ws_drain(ws, &r, NULL, NULL);
        uint64_t a = fz_rng_next(&r);
        now += (a >> 40) & 0xfff;
        switch (a & 15) {
        case 0: case 1: case 2: case 3: case 4:
            secchat_ws_trim(ws);
            break;
        case 5: case 6: {
            size_t len = send_sizes[(a >> 4) & 7];
            /* The bytes are taken from the input, so the fuzzer sees them come back. */
            for (size_t i = 0; i < len; i++)
                payload[i] = size ? data[(off + i) % size] : 0;
            int src = secchat_ws_send(ws, payload, len);
            FUZZ_CHECK(src == SECCHAT_OK || src == SECCHAT_ERR_WS_CLOSED || src == SECCHAT_ERR_WS_OUTPUT_FULL ||
                       src == sticky(ws));
            break;
        }
        case 7: {
            int prc = secchat_ws_ping(ws, now);
            FUZZ_CHECK(prc == SECCHAT_OK || prc == SECCHAT_ERR_WS_CLOSED || prc == sticky(ws));
            break;
        }
        case 8:
            (void)secchat_ws_ping_overdue(ws, now, (a >> 8) & 0xff);
            break;
        case 9: {
            char reason[SECCHAT_WS_MAX_CLOSE_REASON + 1];
            size_t rl = (a >> 8) % 8;
            for (size_t i = 0; i < rl; i++)
                reason[i] = (char)('a' + (a >> (16 + i)) % 26);
            reason[rl] = '\0';
            int crc = secchat_ws_close(ws, close_codes[(a >> 4) & 7], reason);
            FUZZ_CHECK(crc == SECCHAT_OK || crc == sticky(ws));
            break;
        }
        case 10:
            if (((a >> 4) & 7) == 0)
                secchat_ws_feed_eof(ws);
            break;
        default:
            break;
        }
        closed += fz_ws_drain(ws, &r, NULL, NULL);
        FUZZ_CHECK(closed <= 1);
    }
    secchat_ws_feed_eof(ws);
    closed += fz_ws_drain(ws, &r, NULL, NULL);
    FUZZ_CHECK(closed == 1); /* after the end of the stream, exactly one CLOSED */
    secchat_ws_free(ws);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz f = {data, size};
    uint8_t mode = fz_u8(&f);
    uint16_t seed = fz_u16(&f);
    if (mode & 0x80)
        actions(mode, f.p, f.n, seed);
    else
        differential(mode, f.p, f.n, seed);
    return 0;
}

#endif /* SC_FUZZ_WS_FRAMES_DRIVER_H */
