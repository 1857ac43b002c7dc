/*
 * The client runtime's private state, shared by its files:
 *   client.c   the public API (new, send, close, run, free)
 *   loop.c     the libuv side: resolve, connect, read, write, timers, teardown
 *   dispatch.c session events -> client events, the name prompt
 *   inbox.c    lines and close requests from other threads
 * Everything below "loop thread only" is touched by the thread inside
 * secchat_client_run alone; other threads reach the client through the inbox.
 */
#ifndef SC_CLIENT_RUNTIME_H
#define SC_CLIENT_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "client/inbox.h"
#include "secchat/chat.h"
#include "secchat/client.h"
#include "secchat/ws.h"

/* Bound on the close handshake once started, and on the wait for the
 * server's TCP close after it (RFC 6455 7.1.1: the server closes first). */
#define SC_CLIENT_CLOSE_WAIT_MS 3000u
#define SC_CLIENT_LINGER_MS 2000u
/* With options.name, lines typed early wait for the server's name prompt
 * (so that the prompt is answered by the name, not by them), at most this long. */
#define SC_CLIENT_PROMPT_WAIT_MS 3000u
/* Automatic answers to "error ... Please enter your name:" re-prompts: the
 * same name is usually refused again, so after this many the application
 * (which sees every prompt as a MESSAGE) answers. */
#define SC_CLIENT_NAME_RETRIES 1
#define SC_CLIENT_READ_CHUNK 65536u

#define SC_CLIENT_PROMPT "Please enter your name:"

typedef void (*sc_client_event_fn)(void *arg, const secchat_client_event *ev);

enum sc_client_phase {
    SC_PHASE_IDLE = 0,   /* before run */
    SC_PHASE_RESOLVING,  /* uv_getaddrinfo in flight */
    SC_PHASE_CONNECTING, /* uv_tcp_connect in flight */
    SC_PHASE_OPEN,       /* TCP up: the session runs */
    SC_PHASE_DRAINING,   /* session CLOSED: write what is left, wait for the server's EOF */
    SC_PHASE_DONE        /* handles closing; the loop ends */
};

/* What the single close_timer is counting down. */
enum sc_client_timer {
    SC_TIMER_NONE = 0,
    SC_TIMER_PROMPT, /* waiting for the name prompt before sending held lines */
    SC_TIMER_CLOSE,  /* waiting for the server's close frame */
    SC_TIMER_LINGER  /* waiting for the output to drain and the server's EOF */
};

struct secchat_client {
    const secchat_config *cfg;
    char *url;
    secchat_ws_url where;
    char service[8];
    unsigned timeout_ms;
    char *name; /* options.name, or NULL */
    sc_client_event_fn event;
    void *arg;
    sc_inbox inbox;
    int ran; /* run has been called (it runs once) */

    /* ---- loop thread only ---- */
    uv_loop_t loop;
    uv_getaddrinfo_t resolver;
    struct addrinfo *addrs, *next_addr;
    int last_connect_error; /* libuv code of the last failed connect */
    uv_connect_t connector;
    uv_tcp_t tcp;
    int tcp_inited;         /* tcp is initialised and not yet closed */
    int tcp_connected;      /* ... and connected */
    uv_timer_t deadline;    /* connect + upgrade + handshake */
    uv_timer_t close_timer; /* see enum sc_client_timer */
    enum sc_client_timer timer_kind;
    uv_async_t wake;
    uv_write_t writer;
    uv_shutdown_t shutter;
    uint8_t *wbuf; /* the copy of the output a uv_write is sending */
    size_t wcap;
    int writing, write_failed, shutdown_sent, peer_eof;
    uint8_t *rbuf; /* SC_CLIENT_READ_CHUNK bytes for uv_read */
    char *scratch; /* decode scratch for the largest plaintext */
    secchat_session *session;
    enum sc_client_phase phase;
    int again; /* pump: something changed that needs another round */

    /* chat state */
    int handshake_reported; /* HANDSHAKE event sent */
    int secure;             /* SECURE event sent */
    int holding;            /* lines wait for the name prompt */
    int name_answered, name_retries;
    int close_sent;  /* our close frame is queued */
    int local_error; /* a failure we detected (bad message): overrides the session's */

    /* the outcome, reported by the CLOSED event once the loop has ended */
    int have_outcome;
    int error;
    uint16_t close_code;
    char close_reason[SECCHAT_WS_MAX_CLOSE_REASON + 1];
};

/* loop.c: runs the loop until the connection is over (the outcome is set). */
void sc_client_loop(secchat_client *c);

/* loop.c: one round of work after anything happened: events, queued lines,
 * close, output, and the end of the connection. */
void sc_client_pump(secchat_client *c);

/* loop.c: (re)starts the close_timer for kind. */
void sc_client_timer_start(secchat_client *c, enum sc_client_timer kind, uint64_t ms);

/* loop.c: records the outcome unless one is recorded already (the first cause wins). */
void sc_client_set_outcome(secchat_client *c, int error, uint16_t code, const char *reason);

/* dispatch.c: takes every session event and turns it into client events. */
void sc_client_dispatch(secchat_client *c);

/* dispatch.c: reports HANDSHAKE once the session has left UPGRADING. */
void sc_client_check_upgrade(secchat_client *c);

/* dispatch.c: calls the application's callback (if any). */
void sc_client_emit(secchat_client *c, const secchat_client_event *ev);

#endif /* SC_CLIENT_RUNTIME_H */
