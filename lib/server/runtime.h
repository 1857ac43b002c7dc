/*
 * The server's internal types, shared by its files:
 *
 *   secchat_server   options, the registry, the acceptor, N workers
 *   sc_worker        one thread + libuv loop; owns its connections; has an
 *                    inbox other threads push items into
 *   sc_conn          one connection (secchat_server_member once named):
 *                    socket, session, phase, name, room
 *   sc_room          a room: its members (registry lock) and, per worker,
 *                    the worker's own members (that worker's thread only)
 *
 * Who may touch what: a connection's socket, session and lists belong to its
 * worker. Its name, room pointer and registry links change only under the
 * registry lock, and other threads read them only under it. A connection is
 * freed when its last reference goes: its worker holds one while it is open,
 * and every queued item that names it holds one.
 */
#ifndef SC_SERVER_RUNTIME_H
#define SC_SERVER_RUNTIME_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

#include "secchat/keys.h"
#include "secchat/server.h"
#include "server/address.h"
#include "server/blob.h"

typedef struct sc_worker sc_worker;
typedef struct sc_room sc_room;
typedef struct secchat_server_member sc_conn;

enum sc_conn_phase {
    SC_CONN_SECURING = 1, /* upgrade and Noise handshake */
    SC_CONN_NAMING,       /* secure; waiting for an acceptable name */
    SC_CONN_MEMBER        /* named, in a room */
};

struct secchat_server_member {
    atomic_uint refs;
    sc_worker *worker;
    uint64_t id;
    int fd;
    uv_poll_t poll;
    int poll_events;
    secchat_session *session;
    enum sc_conn_phase phase;
    enum secchat_session_state last_state;
    int closing;      /* our close frame is queued; waiting for the answer */
    int doomed;       /* drop at the next flush: it stopped reading */
    int closed;       /* torn down: deliveries still queued for it are dropped */
    int was_member;
    int active;  /* had traffic since the last tick; idle ones give memory back */
    int trimmed; /* and has done so since its last traffic */
    uint16_t close_code; /* the close code of a failed session, for the REFUSED event */
    unsigned name_attempts;
    unsigned rate_refused;    /* lines refused by the rate limit since one was let through */
    uint64_t rate_tat_us;     /* the rate limit's state (rate.h) */
    unsigned queued_messages; /* messages appended since the output last drained */
    uint64_t deadline_ms;     /* SECURING: handshake deadline; NAMING: name deadline; closing: stop waiting */
    uint64_t last_rx_ms;

    /* Registry-owned: written under the registry lock. */
    char name[SECCHAT_NAME_MAX + 1];
    char folded[SECCHAT_NAME_MAX + 1];
    sc_room *room;
    sc_conn *name_next;
    sc_conn *member_next, *member_prev; /* the room's members */

    /* Worker-owned. */
    sc_conn *local_next, *local_prev; /* the room's members on this worker */
    sc_conn *next, *prev;             /* every connection of the worker */
    sc_conn *dirty_next;              /* has output to write this iteration */
    int dirty;

    char address[SC_ADDRESS_TEXT_MAX];
    uint8_t peer_key[SECCHAT_KEY_LEN];
    char fingerprint[SECCHAT_FINGERPRINT_SIZE];
    char required_name[SECCHAT_NAME_MAX + 1]; /* from the allow-list; "" when any name will do */
};

typedef struct sc_room_local {
    sc_conn *head;
    atomic_uint count; /* read by other workers to decide whether to hand over */
} sc_room_local;

struct sc_room {
    atomic_uint refs;
    char name[SECCHAT_ROOM_MAX + 1];
    char folded[SECCHAT_ROOM_MAX + 1];
    unsigned members;    /* registry lock */
    sc_conn *member_head; /* registry lock */
    sc_room *next;        /* registry lock */
    sc_room_local local[];
};

typedef struct sc_registry {
    pthread_mutex_t lock;
    sc_conn **buckets; /* members by folded name */
    size_t nbuckets;
    size_t count;
    sc_room *rooms;
    unsigned nrooms;
    unsigned nworkers;
    unsigned max_rooms;        /* limits, set once before the server starts */
    unsigned max_room_members;
} sc_registry;

enum sc_item_kind {
    SC_ITEM_ADOPT = 1, /* fd, text: a new connection from the acceptor */
    SC_ITEM_ROOM,      /* blob to the worker's members of room, but exclude */
    SC_ITEM_ALL,       /* blob to every member of the worker */
    SC_ITEM_CONN,      /* blob to conn */
    SC_ITEM_KICK,      /* close conn with 1008 and text */
    SC_ITEM_STOP       /* close everything with 1001 and stop */
};

typedef struct sc_item {
    enum sc_item_kind kind;
    int fd;
    sc_blob *blob;
    sc_room *room;
    sc_conn *conn;
    uint64_t exclude;
    char *text;
} sc_item;

struct sc_worker {
    secchat_server *srv;
    unsigned index;
    uv_loop_t loop;
    uv_async_t wake;
    uv_timer_t tick;
    uv_prepare_t flush;
    pthread_t thread;
    int started;

    pthread_mutex_t lock; /* guards inbox and inbox_closed */
    int inbox_closed;     /* the loop is finishing: pushes are dropped */
    sc_item *inbox;
    size_t inbox_len, inbox_cap;
    sc_item *work; /* the inbox being processed, swapped with it */
    size_t work_cap;

    sc_conn *conns;
    unsigned nconns;
    sc_conn *dirty;
    int stopping;
    uint64_t stop_deadline_ms;
    unsigned trimmed_since;       /* connections trimmed since the last malloc_trim */
    uint64_t last_malloc_trim_ms;

    uint8_t *rbuf; /* socket reads */
    char *scratch; /* message decoding */
};

struct secchat_server {
    const secchat_config *cfg;
    secchat_server_options opts;
    char *listen_text;
    secchat_server_callbacks cb;
    char protocol[SECCHAT_NOISE_MAX_NAME_LEN + 1];
    char bound[SC_ADDRESS_TEXT_MAX];
    char fingerprint[SECCHAT_FINGERPRINT_SIZE];

    unsigned nworkers;
    sc_worker *workers;
    sc_registry reg;
    atomic_uint nconns;
    atomic_uint npending; /* of which not yet named (max_pending) */
    atomic_ullong next_id;
    atomic_uint next_worker;

    int listen_fd;
    uv_loop_t accept_loop;
    uv_poll_t accept_poll;
    uv_async_t accept_stop;
    uv_timer_t accept_pause;
    pthread_t accept_thread;
    int accept_started;

    pthread_rwlock_t allow_lock; /* guards allow: read at handshakes, written on reload */
    secchat_authorized_keys *allow;

    pthread_mutex_t state_lock; /* serialises start and stop */
    int stopped;
    /* Operator calls hold it for reading while they use the workers; stop
     * takes it for writing only to clear running, so no call can reach a
     * worker that is being torn down, and a callback that makes such a call
     * during a stop cannot deadlock it. */
    pthread_rwlock_t run_lock;
    int running;
};

/* ---- registry.c ---- */
int sc_registry_init(sc_registry *reg, unsigned nworkers);
void sc_registry_destroy(sc_registry *reg);
/* Names c (c->name set by the caller) and puts it in room_name. SECCHAT_OK,
 * SECCHAT_ERR_BAD_STATE (name taken), LIMIT (room full: *full = 1; or too
 * many rooms: *full = 0), NO_MEMORY. full may be NULL. */
int sc_registry_join(sc_registry *reg, sc_conn *c, const char *room_name, int *full);
/* Moves c to room_name; *old_room gets a reference to the room it left.
 * LIMIT (as for join) and NO_MEMORY leave c where it was. */
int sc_registry_move(sc_registry *reg, sc_conn *c, const char *room_name, sc_room **old_room, int *full);
/* Removes c; *old_room gets a reference to its room. */
void sc_registry_leave(sc_registry *reg, sc_conn *c, sc_room **old_room);
/* The member of that name with a reference, or NULL. */
sc_conn *sc_registry_find(sc_registry *reg, const char *name);
/* The room of that name with a reference, or NULL. */
sc_room *sc_registry_find_room(sc_registry *reg, const char *name);
void sc_room_unref(sc_room *r);

/* ---- conn.c ---- */
void sc_conn_unref(sc_conn *c);
static inline sc_conn *sc_conn_ref(sc_conn *c)
{
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    return c;
}
/* Adopts an accepted socket on w. */
void sc_conn_adopt(sc_worker *w, int fd, const char *address);
/* Encrypts blob for c and queues it; dooms c past its queue bound. */
void sc_conn_send_blob(sc_conn *c, const sc_blob *blob);
/* Starts the close handshake (or drops c at once if it has no WebSocket yet). */
void sc_conn_close(sc_conn *c, uint16_t code, const char *reason);
/* Writes c's pending output; returns 0, or -1 when c is gone. */
int sc_conn_flush(sc_conn *c);
/* Tears down at once: leave notice, registry, socket, session. */
void sc_conn_destroy(sc_conn *c, int error, const char *why);
/* Timers of c; returns 1 when it was idle and gave memory back. */
int sc_conn_tick(sc_conn *c, uint64_t now);
/* Enters / leaves the worker-local member list of c->room / r. */
void sc_conn_local_join(sc_conn *c);
void sc_conn_local_leave(sc_conn *c, sc_room *r);
uint64_t sc_now_ms(void);
/* A connection is gone: one less counted against max_clients and, if it
 * never got a name, against max_pending. */
static inline void sc_server_release_slot(secchat_server *srv, int pending)
{
    atomic_fetch_sub(&srv->nconns, 1);
    if (pending)
        atomic_fetch_sub(&srv->npending, 1);
}
uint64_t sc_now_us(void);

/* ---- chat.c ---- */
/* Closes c with 1008 and reason, reported as a REFUSED event with error. */
void sc_chat_refuse(sc_conn *c, int error, const char *reason);
void sc_chat_on_secure(sc_conn *c);
void sc_chat_on_message(sc_conn *c, const uint8_t *data, size_t len);
/* Sends a Part-2 Server message (type, ts) to c only. */
void sc_chat_tell(sc_conn *c, const char *type, const char *text);
/* Notices for the room that c left (disconnect): "NAME left the chat". */
void sc_chat_on_left(sc_worker *w, sc_conn *c, sc_room *room);
/* Delivers blob to room's members everywhere, except the member with id exclude. */
void sc_chat_to_room(sc_worker *w, sc_room *room, sc_blob *blob, uint64_t exclude);
void sc_chat_deliver_local(sc_worker *w, sc_room *room, const sc_blob *blob, uint64_t exclude);

/* ---- worker.c ---- */
int sc_worker_init(sc_worker *w, secchat_server *srv, unsigned index);
int sc_worker_start(sc_worker *w);
void sc_worker_join(sc_worker *w);
void sc_worker_destroy(sc_worker *w);
/* Queues an item for w (any thread); it owns the item's references from now on. */
int sc_worker_push(sc_worker *w, const sc_item *item);
void sc_worker_mark_dirty(sc_worker *w, sc_conn *c);
void sc_worker_item_release(sc_item *it);

/* ---- acceptor.c ---- */
int sc_acceptor_open(secchat_server *srv);
int sc_acceptor_start(secchat_server *srv);
void sc_acceptor_stop(secchat_server *srv);

/* ---- events.c ---- */
void sc_event_emit(secchat_server *srv, secchat_server_event *ev);
void sc_event_conn(sc_conn *c, enum secchat_server_event_type type, const char *line);
/* The same, with the fields extra sets (text, target, error, close_code). */
void sc_event_conn_with(sc_conn *c, enum secchat_server_event_type type, const char *line,
                        secchat_server_event *extra);

#endif /* SC_SERVER_RUNTIME_H */
