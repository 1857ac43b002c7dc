/*
 * The WebSocket frame stream of a server endpoint after a successful upgrade:
 * arbitrary bytes from the client (which must mask every frame),
 * split, trimmed and interleaved with our own sends, pings and closes.
 * The input format and the checks are in ws_frames_driver.h.
 */
#define WS_DRIVER_SERVER 1
#include "fuzz/ws_frames_driver.h"
