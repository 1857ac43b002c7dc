/*
 * The client's inbox: what other threads hand to the loop thread. Chat lines
 * (already encoded as JSON) wait here, in order, until the channel is secure;
 * a close request waits behind them. Every access takes the inbox's mutex;
 * the loop is woken through the uv_async_t attached while it runs.
 */
#ifndef SC_CLIENT_INBOX_H
#define SC_CLIENT_INBOX_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

/* One encoded chat line; its bytes are plaintext and are wiped when freed. */
typedef struct sc_line {
    struct sc_line *next;
    size_t len;
    uint8_t data[];
} sc_line;

enum sc_inbox_state {
    SC_INBOX_OPEN = 0, /* lines and a close request are accepted */
    SC_INBOX_CLOSING,  /* closing: no more lines, close is a no-op */
    SC_INBOX_FINISHED  /* run is over (or ending): nothing is accepted */
};

typedef struct sc_inbox {
    pthread_mutex_t lock;
    sc_line *head, *tail;
    enum sc_inbox_state state;
    int close_requested;
    uv_async_t *wake; /* the running loop's wake-up, NULL outside run */
} sc_inbox;

/* SECCHAT_OK or NO_MEMORY (the mutex could not be made). */
int sc_inbox_init(sc_inbox *in);

/* Wipes and frees the lines left, destroys the mutex. */
void sc_inbox_destroy(sc_inbox *in);

/* Allocates a line of len bytes (NULL when out of memory). */
sc_line *sc_line_new(size_t len);

/* Wipes and frees a line. NULL is a no-op. */
void sc_line_free(sc_line *line);

/* Appends line (taking it) and wakes the loop. NOT_RUNNING (line freed)
 * once the client is closing or finished. */
int sc_inbox_push(sc_inbox *in, sc_line *line);

/* Asks for the close handshake and wakes the loop: SECCHAT_OK (also when
 * already asked), NOT_RUNNING once run is over. */
int sc_inbox_request_close(sc_inbox *in);

/* Loop thread: takes the first line, or NULL. */
sc_line *sc_inbox_pop(sc_inbox *in);

/* Loop thread: puts a line it could not send yet back in front. */
void sc_inbox_unpop(sc_inbox *in, sc_line *line);

/* 1 when a close was asked for. */
int sc_inbox_close_requested(sc_inbox *in);

/* 1 when no line is waiting. */
int sc_inbox_empty(sc_inbox *in);

/* Loop thread: moves to state (never backwards) and attaches or detaches
 * the wake-up handle; detaching under the lock means no other thread can be
 * inside uv_async_send when the handle is closed. */
void sc_inbox_set_state(sc_inbox *in, enum sc_inbox_state state);
void sc_inbox_attach(sc_inbox *in, uv_async_t *wake);

#endif /* SC_CLIENT_INBOX_H */
