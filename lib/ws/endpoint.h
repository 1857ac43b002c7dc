/* Internal calls into secchat_ws for the layers above it (lib/chat). */
#ifndef SC_WS_ENDPOINT_H
#define SC_WS_ENDPOINT_H

#include <stdint.h>

#include "secchat/ws.h"

/*
 * Fails the connection on behalf of a higher layer (RFC 6455 section 7.1.7):
 * queues a close frame with code and reason (unless a close frame already
 * went out), stops all further reading and writing, and moves to CLOSED with
 * error as the sticky failure and the CLOSED event's error. Returns error.
 */
int sc_ws_fail(secchat_ws *ws, int error, uint16_t code, const char *reason);

/*
 * Hook for the layer above: OPEN and MESSAGE events go to it synchronously,
 * in wire order, instead of into the event queue, so that it can answer or
 * fail the connection (sc_ws_fail) before any later byte is looked at. The
 * event's data is valid during the call only. Other events stay queued.
 */
typedef void (*sc_ws_hook)(void *arg, const secchat_ws_event *ev);
void sc_ws_set_hook(secchat_ws *ws, sc_ws_hook hook, void *arg);

/*
 * Zero-copy sending of one binary message of exactly len bytes: begin
 * reserves the frame in the output and returns where the payload goes (or
 * NULL and *error: as secchat_ws_send). The caller fills it, then either
 * commits (the frame is masked if we are a client) or aborts (it vanishes).
 * Nothing else may touch the endpoint in between.
 */
uint8_t *sc_ws_message_begin(secchat_ws *ws, size_t len, int *error);
void sc_ws_message_commit(secchat_ws *ws);
void sc_ws_message_abort(secchat_ws *ws);

/* The sticky failure: SECCHAT_OK while the connection has not failed. */
int sc_ws_failure(const secchat_ws *ws);

#endif /* SC_WS_ENDPOINT_H */
