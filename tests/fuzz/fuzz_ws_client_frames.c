/*
 * The WebSocket frame stream of a client endpoint after a successful upgrade:
 * arbitrary bytes from the server (frames unmasked),
 * split, trimmed and interleaved with our own sends, pings and closes.
 * The input format and the checks are in ws_frames_driver.h.
 */
#define WS_DRIVER_SERVER 0
#include "fuzz/ws_frames_driver.h"
