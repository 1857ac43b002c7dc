/*
 * secchat-bench: shared types of the load generator (see main.c for the
 * command line and the modes).
 *
 * One process, one libuv loop, raw non-blocking sockets watched with
 * uv_poll_t (as tests/server/chat_load.c does): a connection's output lives
 * in its session (or in the plaintext client's buffer) and is written
 * straight from there with send(), so the tool adds no copy and no request
 * object per write, and its own CPU cost stays small next to the server's.
 */
#ifndef SECCHAT_BENCH_H
#define SECCHAT_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "secchat.h"

#define PROG "secchat-bench"

/* ---- latency histogram (hist.c) ---- */

/* Log-linear buckets: 64 sub-buckets per power of two, so any reported
 * value is within 1.6% of the true one; ns up to 2^40 (about 18 minutes). */
#define HIST_SUB_BITS 6
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_BUCKETS (41u * HIST_SUB)

typedef struct hist {
    uint64_t count[HIST_BUCKETS];
    uint64_t n, max, sum;
} hist;

void hist_add(hist *h, uint64_t ns);
/* The value at quantile q (0..1) in ns, 0 when empty. */
uint64_t hist_quantile(const hist *h, double q);

/* ---- minimal plaintext RFC 6455 client (plainws.c) ---- */

typedef struct plainws plainws;

enum plainws_event { PWS_NONE, PWS_OPEN, PWS_MESSAGE, PWS_CLOSED };

/* A client for host_header/path offering subprotocol (NULL: none); the
 * upgrade request is pending output at once. NULL when out of memory. */
plainws *plainws_new(const char *host_header, const char *path, const char *subprotocol);
void plainws_free(plainws *p);
/* Feeds bytes read; calls back for each event. Returns 0, or -1 when the
 * peer broke the protocol (the connection is then useless). */
typedef void (*plainws_cb)(void *arg, enum plainws_event ev, const uint8_t *data, size_t len);
int plainws_feed(plainws *p, const uint8_t *data, size_t len, plainws_cb cb, void *arg);
/* One masked binary frame. */
int plainws_send(plainws *p, const uint8_t *data, size_t len);
/* A close frame (1000); further sends are refused. */
int plainws_close(plainws *p);
const uint8_t *plainws_output(const plainws *p, size_t *len);
void plainws_consumed(plainws *p, size_t n);
int plainws_open(const plainws *p);

/* ---- connections and the run (main.c) ---- */

enum mode { MODE_FANOUT, MODE_HANDSHAKE, MODE_IDLE };

enum cstate {
    CS_IDLE,       /* not started */
    CS_CONNECTING, /* TCP connect in progress */
    CS_SECURING,   /* upgrade (+ Noise handshake), waiting for the prompt or the 101 */
    CS_NAMING,     /* name sent, waiting for "<name> joined the chat" */
    CS_JOINING,    /* /join sent, waiting for "<name> joined room <room>" */
    CS_READY,      /* set up: chats or idles */
    CS_CLOSING,    /* close frame sent, waiting for the server's */
    CS_CLOSED,     /* close handshake done, waiting for the FIN */
    CS_DONE        /* socket closed */
};

struct bench;

typedef struct bconn {
    struct bench *B;
    int idx;
    int fd;
    uv_poll_t poll;
    int poll_init, poll_events;
    enum cstate state;
    secchat_session *s; /* secure mode */
    plainws *pw;        /* --plaintext */
    uint64_t t_start;   /* handshake mode: when the connect began (ns) */
    char name[24];
    int dirty;
    struct bconn *dirty_next;
} bconn;

#endif /* SECCHAT_BENCH_H */
