/*
 * A worker: one thread running one libuv loop for its connections.
 *
 * Other threads reach it only through its inbox (a mutex-guarded array and a
 * uv_async wake-up): new sockets from the acceptor, room messages from other
 * workers, operator calls. The whole inbox is swapped out under the lock and
 * processed without it, so a burst of items costs one lock round.
 *
 * Output is written once per loop iteration: sending marks a connection
 * dirty, and the prepare hook (which runs before the loop waits again)
 * writes each dirty connection's whole pending output with one write().
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <sodium.h>

#include "common/internal.h"
#include "server/runtime.h"

#define TICK_MS 250u
#define READ_BUFFER 65536u

void sc_worker_item_release(sc_item *it)
{
    if (it->kind == SC_ITEM_ADOPT && it->fd >= 0)
        close(it->fd);
    sc_blob_unref(it->blob);
    sc_room_unref(it->room);
    if (it->conn)
        sc_conn_unref(it->conn);
    free(it->text);
}

int sc_worker_push(sc_worker *w, const sc_item *item)
{
    pthread_mutex_lock(&w->lock);
    if (w->inbox_closed) {
        pthread_mutex_unlock(&w->lock);
        sc_item copy = *item;
        sc_worker_item_release(&copy);
        return SECCHAT_ERR_NOT_RUNNING;
    }
    if (w->inbox_len == w->inbox_cap) {
        size_t cap = w->inbox_cap ? w->inbox_cap * 2 : 64;
        sc_item *n = realloc(w->inbox, cap * sizeof *n);
        if (!n) {
            pthread_mutex_unlock(&w->lock);
            sc_item copy = *item;
            sc_worker_item_release(&copy);
            return SECCHAT_ERR_NO_MEMORY;
        }
        w->inbox = n;
        w->inbox_cap = cap;
    }
    w->inbox[w->inbox_len++] = *item;
    pthread_mutex_unlock(&w->lock);
    uv_async_send(&w->wake); /* coalesces: one wake-up for many pushes */
    return SECCHAT_OK;
}

void sc_worker_mark_dirty(sc_worker *w, sc_conn *c)
{
    if (c->dirty)
        return;
    c->dirty = 1;
    sc_conn_ref(c);
    c->dirty_next = w->dirty;
    w->dirty = c;
}

static void close_all(sc_worker *w)
{
    for (sc_conn *c = w->conns, *next; c; c = next) {
        next = c->next;
        sc_conn_close(c, 1001, "server shutting down");
    }
}

static void maybe_finish(sc_worker *w);

static void process_item(sc_worker *w, sc_item *it)
{
    switch (it->kind) {
    case SC_ITEM_ADOPT:
        if (w->stopping) {
            close(it->fd);
            sc_server_release_slot(w->srv, 1);
        } else {
            sc_conn_adopt(w, it->fd, it->text);
        }
        it->fd = -1;
        break;
    case SC_ITEM_ROOM:
        sc_chat_deliver_local(w, it->room, it->blob, it->exclude);
        break;
    case SC_ITEM_ALL:
        for (sc_conn *c = w->conns; c; c = c->next)
            if (c->phase == SC_CONN_MEMBER)
                sc_conn_send_blob(c, it->blob);
        break;
    case SC_ITEM_CONN:
        if (!it->conn->closed && it->conn->phase == SC_CONN_MEMBER)
            sc_conn_send_blob(it->conn, it->blob);
        break;
    case SC_ITEM_KICK:
        if (!it->conn->closed)
            sc_conn_close(it->conn, 1008, it->text ? it->text : "kicked by the operator");
        break;
    case SC_ITEM_STOP:
        w->stopping = 1;
        w->stop_deadline_ms = sc_now_ms() + (uint64_t)it->exclude; /* grace period */
        close_all(w);
        break;
    }
    sc_worker_item_release(it);
}

static void on_wake(uv_async_t *h)
{
    sc_worker *w = h->data;
    pthread_mutex_lock(&w->lock);
    sc_item *items = w->inbox;
    size_t n = w->inbox_len;
    size_t cap = w->inbox_cap;
    w->inbox = w->work;
    w->inbox_cap = w->work_cap;
    w->inbox_len = 0;
    pthread_mutex_unlock(&w->lock);
    w->work = items;
    w->work_cap = cap;
    for (size_t i = 0; i < n; i++)
        process_item(w, &items[i]);
    maybe_finish(w);
}

static void on_flush(uv_prepare_t *h)
{
    sc_worker *w = h->data;
    /* Writing may doom or destroy connections, which may queue more output
     * (leave notices) on others: loop until nothing is dirty. */
    while (w->dirty) {
        sc_conn *list = w->dirty;
        w->dirty = NULL;
        while (list) {
            sc_conn *c = list;
            list = c->dirty_next;
            c->dirty = 0;
            c->dirty_next = NULL;
            if (!c->closed)
                sc_conn_flush(c);
            sc_conn_unref(c);
        }
    }
    maybe_finish(w);
}

static void on_tick(uv_timer_t *h)
{
    sc_worker *w = h->data;
    uint64_t now = sc_now_ms();
    unsigned trimmed = 0;
    for (sc_conn *c = w->conns, *next; c; c = next) {
        next = c->next;
        trimmed += sc_conn_tick(c, now);
    }
#ifdef __GLIBC__
    /* Buffers given back by idle connections sit between live objects, so
     * glibc keeps their pages; hand whole free pages back to the kernel,
     * at most once a second and only after a burst of trims. */
    w->trimmed_since += trimmed;
    if (w->trimmed_since >= 64 && now - w->last_malloc_trim_ms >= 1000) {
        malloc_trim(0);
        w->trimmed_since = 0;
        w->last_malloc_trim_ms = now;
    }
#endif
    if (w->stopping && now >= w->stop_deadline_ms) {
        for (sc_conn *c = w->conns, *next; c; c = next) {
            next = c->next;
            sc_conn_destroy(c, SECCHAT_ERR_TIMEOUT, "no answer to the close frame at shutdown");
        }
    }
    maybe_finish(w);
}

static void on_handle_closed(uv_handle_t *h)
{
    (void)h;
}

/* Once stopping and empty, close the loop's own handles so uv_run returns. */
static void maybe_finish(sc_worker *w)
{
    if (!w->stopping || w->conns || w->dirty || uv_is_closing((uv_handle_t *)&w->wake))
        return;
    pthread_mutex_lock(&w->lock);
    w->inbox_closed = 1; /* what is still queued is released by sc_worker_destroy */
    pthread_mutex_unlock(&w->lock);
    uv_close((uv_handle_t *)&w->wake, on_handle_closed);
    uv_close((uv_handle_t *)&w->tick, on_handle_closed);
    uv_close((uv_handle_t *)&w->flush, on_handle_closed);
}

int sc_worker_init(sc_worker *w, secchat_server *srv, unsigned index)
{
    memset(w, 0, sizeof *w);
    w->srv = srv;
    w->index = index;
    w->rbuf = malloc(READ_BUFFER);
    w->scratch = malloc(SECCHAT_MESSAGE_SCRATCH(65535));
    if (!w->rbuf || !w->scratch)
        goto fail;
    if (pthread_mutex_init(&w->lock, NULL) != 0)
        goto fail;
    if (uv_loop_init(&w->loop) != 0) {
        pthread_mutex_destroy(&w->lock);
        goto fail;
    }
    uv_async_init(&w->loop, &w->wake, on_wake);
    uv_timer_init(&w->loop, &w->tick);
    uv_prepare_init(&w->loop, &w->flush);
    w->wake.data = w->tick.data = w->flush.data = w;
    uv_timer_start(&w->tick, on_tick, TICK_MS, TICK_MS);
    uv_prepare_start(&w->flush, on_flush);
    return SECCHAT_OK;
fail:
    free(w->rbuf);
    free(w->scratch);
    w->rbuf = NULL;
    w->scratch = NULL;
    return SECCHAT_ERR_NO_MEMORY;
}

static void *worker_main(void *arg)
{
    sc_worker *w = arg;
    uv_run(&w->loop, UV_RUN_DEFAULT);
    return NULL;
}

int sc_worker_start(sc_worker *w)
{
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
        return SECCHAT_ERR_THREAD;
    w->started = 1;
    return SECCHAT_OK;
}

void sc_worker_join(sc_worker *w)
{
    if (w->started) {
        pthread_join(w->thread, NULL);
        w->started = 0;
    }
}

void sc_worker_destroy(sc_worker *w)
{
    if (!w->rbuf)
        return; /* never initialised */
    if (!uv_is_closing((uv_handle_t *)&w->wake)) {
        /* Never started: close the handles here. */
        uv_close((uv_handle_t *)&w->wake, on_handle_closed);
        uv_close((uv_handle_t *)&w->tick, on_handle_closed);
        uv_close((uv_handle_t *)&w->flush, on_handle_closed);
    }
    uv_run(&w->loop, UV_RUN_DEFAULT);
    uv_loop_close(&w->loop);
    for (size_t i = 0; i < w->inbox_len; i++)
        sc_worker_item_release(&w->inbox[i]);
    free(w->inbox);
    free(w->work);
    pthread_mutex_destroy(&w->lock);
    sodium_memzero(w->scratch, SECCHAT_MESSAGE_SCRATCH(65535));
    free(w->rbuf);
    free(w->scratch);
    w->rbuf = NULL;
}
