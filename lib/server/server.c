/* The public server API: lifecycle and the calls any thread may make. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chat/config.h"
#include "common/internal.h"
#include "server/names.h"
#include "server/runtime.h"

static unsigned online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1u;
}

static void apply_defaults(secchat_server_options *o)
{
    if (!o->threads)
        o->threads = online_cpus();
    if (o->threads > 256)
        o->threads = 256;
    if (!o->max_clients)
        o->max_clients = SECCHAT_SERVER_DEFAULT_MAX_CLIENTS;
    if (!o->queue_bytes)
        o->queue_bytes = SECCHAT_SERVER_DEFAULT_QUEUE_BYTES;
    if (!o->queue_messages)
        o->queue_messages = SECCHAT_SERVER_DEFAULT_QUEUE_MESSAGES;
    if (!o->handshake_timeout_ms)
        o->handshake_timeout_ms = SECCHAT_SERVER_DEFAULT_HANDSHAKE_TIMEOUT_MS;
    if (!o->ping_interval_ms)
        o->ping_interval_ms = SECCHAT_SERVER_DEFAULT_PING_INTERVAL_MS;
    if (!o->pong_timeout_ms)
        o->pong_timeout_ms = SECCHAT_SERVER_DEFAULT_PONG_TIMEOUT_MS;
    if (!o->max_pending)
        o->max_pending = SECCHAT_SERVER_DEFAULT_MAX_PENDING;
    if (!o->name_timeout_ms)
        o->name_timeout_ms = SECCHAT_SERVER_DEFAULT_NAME_TIMEOUT_MS;
    if (!o->rate)
        o->rate = SECCHAT_SERVER_DEFAULT_RATE;
    if (!o->burst)
        o->burst = SECCHAT_SERVER_DEFAULT_BURST;
    if (!o->max_rooms)
        o->max_rooms = SECCHAT_SERVER_DEFAULT_MAX_ROOMS;
    if (!o->max_room_members)
        o->max_room_members = SECCHAT_SERVER_DEFAULT_MAX_ROOM_MEMBERS;
    if (!o->max_name_length || o->max_name_length > SECCHAT_NAME_MAX)
        o->max_name_length = SECCHAT_NAME_MAX;
}

SECCHAT_API int secchat_server_new(secchat_server **out, const secchat_config *cfg, const secchat_server_options *opts,
                                   const secchat_server_callbacks *cb)
{
    if (!out || !cfg)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    *out = NULL;
    int rc = sc_crypto_init();
    if (rc != SECCHAT_OK)
        return rc;
    secchat_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return SECCHAT_ERR_NO_MEMORY;
    srv->cfg = cfg;
    srv->listen_fd = -1;
    if (opts)
        srv->opts = *opts;
    apply_defaults(&srv->opts);
    if (cb)
        srv->cb = *cb;
    srv->listen_text = strdup(srv->opts.listen ? srv->opts.listen : SECCHAT_SERVER_DEFAULT_LISTEN);
    srv->opts.listen = srv->listen_text;
    if (!srv->listen_text) {
        free(srv->listen_text);
        free(srv);
        return SECCHAT_ERR_NO_MEMORY;
    }
    /* Refuse a bad address now rather than at start. */
    struct sockaddr_storage ss;
    socklen_t len;
    rc = sc_address_parse(srv->listen_text, &ss, &len);
    if (rc == SECCHAT_OK)
        rc = sc_registry_init(&srv->reg, srv->opts.threads);
    srv->reg.max_rooms = srv->opts.max_rooms;
    srv->reg.max_room_members = srv->opts.max_room_members;
    if (rc != SECCHAT_OK) {
        free(srv->listen_text);
        free(srv);
        return rc;
    }
    pthread_mutex_init(&srv->state_lock, NULL);
    pthread_rwlock_init(&srv->allow_lock, NULL);
    pthread_rwlock_init(&srv->run_lock, NULL);
    atomic_init(&srv->nconns, 0);
    atomic_init(&srv->npending, 0);
    atomic_init(&srv->next_id, 0);
    atomic_init(&srv->next_worker, 0);
    *out = srv;
    return SECCHAT_OK;
}

static void teardown_workers(secchat_server *srv)
{
    if (!srv->workers)
        return;
    for (unsigned i = 0; i < srv->nworkers; i++)
        sc_worker_join(&srv->workers[i]);
    for (unsigned i = 0; i < srv->nworkers; i++)
        sc_worker_destroy(&srv->workers[i]);
    free(srv->workers);
    srv->workers = NULL;
    srv->nworkers = 0;
}

SECCHAT_API int secchat_server_start(secchat_server *srv)
{
    if (!srv)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    pthread_mutex_lock(&srv->state_lock);
    int rc = SECCHAT_OK;
    if (srv->running || srv->stopped) {
        rc = SECCHAT_ERR_BAD_STATE;
        goto out;
    }
    /* The keys may be set in cfg after secchat_server_new; from here on they are fixed. */
    sc_config_freeze(srv->cfg);
    snprintf(srv->protocol, sizeof srv->protocol, "%s", srv->cfg->protocol);
    uint8_t pub[SECCHAT_KEY_LEN];
    if (secchat_config_public_key(srv->cfg, pub) != SECCHAT_OK || secchat_fingerprint(pub, srv->fingerprint) != SECCHAT_OK)
        srv->fingerprint[0] = '\0';
    rc = sc_acceptor_open(srv);
    if (rc != SECCHAT_OK)
        goto out;
    srv->workers = calloc(srv->opts.threads, sizeof *srv->workers);
    if (!srv->workers) {
        rc = SECCHAT_ERR_NO_MEMORY;
        goto fail;
    }
    for (unsigned i = 0; i < srv->opts.threads; i++) {
        rc = sc_worker_init(&srv->workers[i], srv, i);
        if (rc != SECCHAT_OK)
            goto fail;
        srv->nworkers = i + 1;
    }
    for (unsigned i = 0; i < srv->nworkers; i++) {
        rc = sc_worker_start(&srv->workers[i]);
        if (rc != SECCHAT_OK)
            goto fail;
    }
    pthread_rwlock_wrlock(&srv->run_lock);
    srv->running = 1;
    pthread_rwlock_unlock(&srv->run_lock);
    /* Before the acceptor runs, so LISTENING is the first event: connections
     * wait in the kernel's backlog meanwhile. */
    secchat_server_event ev = {.type = SECCHAT_SERVER_EVENT_LISTENING, .address = srv->bound,
                               .fingerprint = srv->fingerprint};
    char line[SC_ADDRESS_TEXT_MAX + 32];
    snprintf(line, sizeof line, "Server listening on: %s", srv->bound);
    ev.line = line;
    sc_event_emit(srv, &ev);
    rc = sc_acceptor_start(srv);
    if (rc != SECCHAT_OK) {
        pthread_rwlock_wrlock(&srv->run_lock);
        srv->running = 0;
        pthread_rwlock_unlock(&srv->run_lock);
        goto fail;
    }
    goto out;
fail:
    if (srv->workers) {
        for (unsigned i = 0; i < srv->nworkers; i++) {
            sc_item stop = {.kind = SC_ITEM_STOP, .fd = -1};
            if (srv->workers[i].started)
                (void)sc_worker_push(&srv->workers[i], &stop);
        }
    }
    teardown_workers(srv);
    sc_acceptor_stop(srv);
out:
    pthread_mutex_unlock(&srv->state_lock);
    return rc;
}

SECCHAT_API const char *secchat_server_address(const secchat_server *srv)
{
    return srv ? srv->bound : NULL;
}

SECCHAT_API unsigned secchat_server_connections(const secchat_server *srv)
{
    return srv ? atomic_load(&((secchat_server *)srv)->nconns) : 0;
}

SECCHAT_API void secchat_server_stop(secchat_server *srv, unsigned grace_ms)
{
    if (!srv)
        return;
    pthread_mutex_lock(&srv->state_lock);
    pthread_rwlock_wrlock(&srv->run_lock);
    int was_running = srv->running;
    srv->running = 0;
    pthread_rwlock_unlock(&srv->run_lock);
    if (was_running) {
        sc_acceptor_stop(srv);
        for (unsigned i = 0; i < srv->nworkers; i++) {
            sc_item stop = {.kind = SC_ITEM_STOP, .fd = -1, .exclude = grace_ms};
            (void)sc_worker_push(&srv->workers[i], &stop);
        }
        teardown_workers(srv);
        srv->stopped = 1;
        secchat_server_event ev = {.type = SECCHAT_SERVER_EVENT_STOPPED, .line = "Server stopped"};
        sc_event_emit(srv, &ev);
    }
    pthread_mutex_unlock(&srv->state_lock);
}

SECCHAT_API void secchat_server_free(secchat_server *srv)
{
    if (!srv)
        return;
    secchat_server_stop(srv, 0);
    sc_registry_destroy(&srv->reg);
    secchat_authorized_keys_free(srv->allow);
    pthread_rwlock_destroy(&srv->allow_lock);
    pthread_rwlock_destroy(&srv->run_lock);
    pthread_mutex_destroy(&srv->state_lock);
    free(srv->listen_text);
    free(srv);
}

/* Queues one item per worker; each gets its own references. */
static int push_all(secchat_server *srv, enum sc_item_kind kind, sc_blob *b, sc_room *room)
{
    for (unsigned i = 0; i < srv->nworkers; i++) {
        if (room && atomic_load_explicit(&room->local[i].count, memory_order_relaxed) == 0)
            continue;
        sc_item it = {.kind = kind, .fd = -1, .blob = sc_blob_ref(b)};
        if (room) {
            atomic_fetch_add_explicit(&room->refs, 1, memory_order_relaxed);
            it.room = room;
        }
        (void)sc_worker_push(&srv->workers[i], &it);
    }
    return SECCHAT_OK;
}

/* On SECCHAT_OK the caller holds run_lock for reading and must call leave(). */
static int enter(secchat_server *srv, const char *text)
{
    if (!srv || !text)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    pthread_rwlock_rdlock(&srv->run_lock);
    if (!srv->running) {
        pthread_rwlock_unlock(&srv->run_lock);
        return SECCHAT_ERR_NOT_RUNNING;
    }
    return SECCHAT_OK;
}

static int leave(secchat_server *srv, int rc)
{
    pthread_rwlock_unlock(&srv->run_lock);
    return rc;
}

SECCHAT_API int secchat_server_broadcast(secchat_server *srv, const char *text)
{
    int rc = enter(srv, text);
    if (rc != SECCHAT_OK)
        return rc;
    secchat_message m = {.sender = "Server", .content = text};
    sc_blob *b = sc_blob_encode(&m, &rc);
    if (!b)
        return leave(srv, rc);
    push_all(srv, SC_ITEM_ALL, b, NULL);
    sc_blob_unref(b);
    return leave(srv, SECCHAT_OK);
}

SECCHAT_API int secchat_server_send_to(secchat_server *srv, const char *name, const char *text)
{
    if (!name)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    int rc = enter(srv, text);
    if (rc != SECCHAT_OK)
        return rc;
    secchat_message m = {.sender = "Server", .content = text};
    sc_blob *b = sc_blob_encode(&m, &rc);
    if (!b)
        return leave(srv, rc);
    sc_conn *c = sc_registry_find(&srv->reg, name);
    if (!c) {
        sc_blob_unref(b);
        return leave(srv, SECCHAT_ERR_NO_SUCH_MEMBER);
    }
    sc_item it = {.kind = SC_ITEM_CONN, .fd = -1, .blob = b, .conn = c};
    return leave(srv, sc_worker_push(c->worker, &it));
}

SECCHAT_API int secchat_server_send_room(secchat_server *srv, const char *room, const char *sender, const char *text)
{
    if (!room)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    int rc = enter(srv, text);
    if (rc != SECCHAT_OK)
        return rc;
    sc_room *r = sc_registry_find_room(&srv->reg, room);
    if (!r)
        return leave(srv, SECCHAT_ERR_NO_SUCH_MEMBER);
    secchat_message m = {.sender = sender ? sender : "Server", .content = text};
    sc_blob *b = sc_blob_encode(&m, &rc);
    if (b) {
        push_all(srv, SC_ITEM_ROOM, b, r);
        sc_blob_unref(b);
        rc = SECCHAT_OK;
    }
    sc_room_unref(r);
    return leave(srv, rc);
}

SECCHAT_API int secchat_server_kick(secchat_server *srv, const char *name, const char *reason)
{
    int rc = enter(srv, name);
    if (rc != SECCHAT_OK)
        return rc;
    sc_conn *c = sc_registry_find(&srv->reg, name);
    if (!c)
        return leave(srv, SECCHAT_ERR_NO_SUCH_MEMBER);
    sc_item it = {.kind = SC_ITEM_KICK, .fd = -1, .conn = c, .text = reason ? strdup(reason) : NULL};
    return leave(srv, sc_worker_push(c->worker, &it));
}

typedef struct list_entry {
    uint64_t id;
    char name[SECCHAT_NAME_MAX + 1];
    char room[SECCHAT_ROOM_MAX + 1];
    char address[SC_ADDRESS_TEXT_MAX];
    char fingerprint[SECCHAT_FINGERPRINT_SIZE];
} list_entry;

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const list_entry *)a)->name, ((const list_entry *)b)->name);
}

SECCHAT_API int secchat_server_list(secchat_server *srv, const char *room_or_null,
                                    void (*fn)(void *arg, const secchat_server_member_info *m), void *arg)
{
    if (!srv || !fn)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    char folded[SECCHAT_ROOM_MAX + 1] = "";
    if (room_or_null) {
        if (strlen(room_or_null) > SECCHAT_ROOM_MAX)
            return 0;
        sc_name_fold(room_or_null, folded);
    }
    pthread_mutex_lock(&srv->reg.lock);
    size_t cap = srv->reg.count;
    list_entry *e = calloc(cap ? cap : 1, sizeof *e);
    size_t n = 0;
    if (e) {
        for (size_t b = 0; b < srv->reg.nbuckets; b++) {
            for (sc_conn *c = srv->reg.buckets[b]; c && n < cap; c = c->name_next) {
                if (room_or_null && strcmp(c->room->folded, folded) != 0)
                    continue;
                e[n].id = c->id;
                memcpy(e[n].name, c->name, sizeof e[n].name);
                memcpy(e[n].room, c->room->name, sizeof e[n].room);
                memcpy(e[n].address, c->address, sizeof e[n].address);
                memcpy(e[n].fingerprint, c->fingerprint, sizeof e[n].fingerprint);
                n++;
            }
        }
    }
    pthread_mutex_unlock(&srv->reg.lock);
    if (!e)
        return SECCHAT_ERR_NO_MEMORY;
    qsort(e, n, sizeof *e, cmp_entry);
    for (size_t i = 0; i < n; i++) {
        secchat_server_member_info info = {.id = e[i].id, .name = e[i].name, .room = e[i].room,
                                           .address = e[i].address, .fingerprint = e[i].fingerprint};
        fn(arg, &info);
    }
    free(e);
    return (int)n;
}

typedef struct room_row {
    char name[SECCHAT_ROOM_MAX + 1];
    unsigned members;
} room_row;

static int cmp_row(const void *a, const void *b)
{
    return strcmp(((const room_row *)a)->name, ((const room_row *)b)->name);
}

SECCHAT_API int secchat_server_rooms(secchat_server *srv, void (*fn)(void *arg, const char *room, unsigned members),
                                     void *arg)
{
    if (!srv || !fn)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    pthread_mutex_lock(&srv->reg.lock);
    unsigned cap = srv->reg.nrooms;
    room_row *rows = calloc(cap ? cap : 1, sizeof *rows);
    unsigned n = 0;
    if (rows)
        for (sc_room *r = srv->reg.rooms; r && n < cap; r = r->next, n++) {
            memcpy(rows[n].name, r->name, sizeof rows[n].name);
            rows[n].members = r->members;
        }
    pthread_mutex_unlock(&srv->reg.lock);
    if (!rows)
        return SECCHAT_ERR_NO_MEMORY;
    qsort(rows, n, sizeof *rows, cmp_row);
    for (unsigned i = 0; i < n; i++)
        fn(arg, rows[i].name, rows[i].members);
    free(rows);
    return (int)n;
}

SECCHAT_API int secchat_server_set_authorized_keys(secchat_server *srv, secchat_authorized_keys *keys)
{
    if (!srv)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    pthread_rwlock_wrlock(&srv->allow_lock);
    secchat_authorized_keys *old = srv->allow;
    srv->allow = keys;
    pthread_rwlock_unlock(&srv->allow_lock);
    secchat_authorized_keys_free(old); /* no reader holds it: they copy what they need under the lock */
    return SECCHAT_OK;
}
