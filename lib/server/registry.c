/*
 * The registry: who is named what and in which room, for the whole server.
 * One mutex guards it. It is taken when members join, move or leave and for
 * name lookups (/msg, the operator), never per room message: a room message
 * travels by the room pointer its author already holds.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "server/names.h"
#include "server/runtime.h"

static size_t hash_name(const char *folded, size_t nbuckets)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)folded; *p; p++)
        h = (h ^ *p) * 1099511628211u;
    return (size_t)(h & (nbuckets - 1));
}

int sc_registry_init(sc_registry *reg, unsigned nworkers)
{
    memset(reg, 0, sizeof *reg);
    reg->nbuckets = 256;
    reg->buckets = calloc(reg->nbuckets, sizeof *reg->buckets); /* NOLINT(bugprone-sizeof-expression): pointers */
    if (!reg->buckets)
        return SECCHAT_ERR_NO_MEMORY;
    if (pthread_mutex_init(&reg->lock, NULL) != 0) {
        free(reg->buckets);
        return SECCHAT_ERR_NO_MEMORY;
    }
    reg->nworkers = nworkers;
    reg->max_rooms = reg->max_room_members = UINT_MAX;
    return SECCHAT_OK;
}

void sc_registry_destroy(sc_registry *reg)
{
    /* Rooms outlive their members only while items still hold them; by now
     * every worker has stopped and released its items. */
    free(reg->buckets);
    reg->buckets = NULL;
    pthread_mutex_destroy(&reg->lock);
}

/* Doubles the table when it is full, so chains stay short. */
static void grow(sc_registry *reg)
{
    size_t n = reg->nbuckets * 2;
    sc_conn **b = calloc(n, sizeof *b); /* NOLINT(bugprone-sizeof-expression): an array of pointers */
    if (!b)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < reg->nbuckets; i++) {
        sc_conn *c = reg->buckets[i];
        while (c) {
            sc_conn *next = c->name_next;
            size_t h = hash_name(c->folded, n);
            c->name_next = b[h];
            b[h] = c;
            c = next;
        }
    }
    free(reg->buckets);
    reg->buckets = b;
    reg->nbuckets = n;
}

static sc_conn *find_locked(sc_registry *reg, const char *folded)
{
    for (sc_conn *c = reg->buckets[hash_name(folded, reg->nbuckets)]; c; c = c->name_next)
        if (strcmp(c->folded, folded) == 0)
            return c;
    return NULL;
}

static sc_room *find_room_locked(sc_registry *reg, const char *folded)
{
    for (sc_room *r = reg->rooms; r; r = r->next)
        if (strcmp(r->folded, folded) == 0)
            return r;
    return NULL;
}

/*
 * The room of that name with room for one more member, created when absent
 * (the registry keeps one reference while it has members); NULL and *rc:
 * LIMIT when it is full or would be one room too many, NO_MEMORY. leaving:
 * the room the caller's member moves out of (NULL when joining).
 * *full (if full is not NULL) tells which limit: 1 the room's size.
 */
static sc_room *room_get_locked(sc_registry *reg, const char *name, const sc_room *leaving, int *rc, int *full)
{
    char folded[SECCHAT_NAME_MAX + 1];
    sc_name_fold(name, folded);
    sc_room *r = find_room_locked(reg, folded);
    if (r) {
        *rc = r->members < reg->max_room_members ? SECCHAT_OK : SECCHAT_ERR_LIMIT;
        if (full)
            *full = *rc == SECCHAT_ERR_LIMIT;
        return *rc == SECCHAT_OK ? r : NULL;
    }
    if (full)
        *full = 0;
    /* The default room always counts, present or not: newcomers must have
     * somewhere to go. A room the mover leaves empty frees its slot. */
    int is_default = strcmp(folded, SECCHAT_SERVER_DEFAULT_ROOM) == 0;
    unsigned counted = reg->nrooms + !find_room_locked(reg, SECCHAT_SERVER_DEFAULT_ROOM);
    if (leaving && leaving->members == 1 && strcmp(leaving->folded, SECCHAT_SERVER_DEFAULT_ROOM) != 0)
        counted--;
    *rc = SECCHAT_ERR_LIMIT;
    if (!is_default && counted >= reg->max_rooms)
        return NULL;
    *rc = SECCHAT_ERR_NO_MEMORY;
    r = calloc(1, sizeof *r + reg->nworkers * sizeof r->local[0]);
    if (!r)
        return NULL;
    *rc = SECCHAT_OK;
    atomic_init(&r->refs, 1);
    snprintf(r->name, sizeof r->name, "%s", name);
    memcpy(r->folded, folded, sizeof r->folded);
    for (unsigned i = 0; i < reg->nworkers; i++)
        atomic_init(&r->local[i].count, 0);
    r->next = reg->rooms;
    reg->rooms = r;
    reg->nrooms++;
    return r;
}

static void room_add_locked(sc_room *r, sc_conn *c)
{
    c->room = r;
    atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed); /* c's reference */
    c->member_prev = NULL;
    c->member_next = r->member_head;
    if (r->member_head)
        r->member_head->member_prev = c;
    r->member_head = c;
    r->members++;
}

/* Takes c out of its room; returns the room, whose reference from c passes to the caller. */
static sc_room *room_remove_locked(sc_registry *reg, sc_conn *c)
{
    sc_room *r = c->room;
    if (c->member_prev)
        c->member_prev->member_next = c->member_next;
    else
        r->member_head = c->member_next;
    if (c->member_next)
        c->member_next->member_prev = c->member_prev;
    c->member_next = c->member_prev = NULL;
    c->room = NULL;
    if (--r->members == 0) {
        /* Empty rooms disappear; in-flight items keep the memory alive. */
        for (sc_room **pp = &reg->rooms; *pp; pp = &(*pp)->next) {
            if (*pp == r) {
                *pp = r->next;
                break;
            }
        }
        reg->nrooms--;
        sc_room_unref(r); /* the registry's reference; c's is still held */
    }
    return r; /* NOLINT(clang-analyzer-unix.Malloc): c's reference keeps r alive (refs >= 2 above) */
}

int sc_registry_join(sc_registry *reg, sc_conn *c, const char *room_name, int *full)
{
    sc_name_fold(c->name, c->folded);
    pthread_mutex_lock(&reg->lock);
    int rc = SECCHAT_OK;
    if (find_locked(reg, c->folded)) {
        rc = SECCHAT_ERR_BAD_STATE;
    } else {
        sc_room *r = room_get_locked(reg, room_name, NULL, &rc, full);
        if (r) {
            if (reg->count >= reg->nbuckets)
                grow(reg);
            size_t h = hash_name(c->folded, reg->nbuckets);
            c->name_next = reg->buckets[h];
            reg->buckets[h] = c;
            reg->count++;
            room_add_locked(r, c);
        }
    }
    pthread_mutex_unlock(&reg->lock);
    return rc;
}

int sc_registry_move(sc_registry *reg, sc_conn *c, const char *room_name, sc_room **old_room, int *full)
{
    pthread_mutex_lock(&reg->lock);
    int rc = SECCHAT_OK;
    /* Take the new room first, so a failure leaves c where it was. */
    atomic_fetch_add_explicit(&c->room->refs, 1, memory_order_relaxed); /* keep old alive across the swap */
    sc_room *r = room_get_locked(reg, room_name, c->room, &rc, full);
    if (!r) {
        sc_room_unref(c->room);
        *old_room = NULL;
    } else {
        sc_room *old = room_remove_locked(reg, c);
        room_add_locked(r, c);
        sc_room_unref(old); /* the extra reference taken above */
        *old_room = old;    /* c's former reference */
    }
    pthread_mutex_unlock(&reg->lock);
    return rc;
}

void sc_registry_leave(sc_registry *reg, sc_conn *c, sc_room **old_room)
{
    pthread_mutex_lock(&reg->lock);
    size_t h = hash_name(c->folded, reg->nbuckets);
    for (sc_conn **pp = &reg->buckets[h]; *pp; pp = &(*pp)->name_next) {
        if (*pp == c) {
            *pp = c->name_next;
            reg->count--;
            break;
        }
    }
    c->name_next = NULL;
    *old_room = room_remove_locked(reg, c);
    pthread_mutex_unlock(&reg->lock);
}

sc_conn *sc_registry_find(sc_registry *reg, const char *name)
{
    char folded[SECCHAT_NAME_MAX + 1];
    if (strlen(name) > SECCHAT_NAME_MAX)
        return NULL;
    sc_name_fold(name, folded);
    pthread_mutex_lock(&reg->lock);
    sc_conn *c = find_locked(reg, folded);
    if (c)
        sc_conn_ref(c);
    pthread_mutex_unlock(&reg->lock);
    return c;
}

sc_room *sc_registry_find_room(sc_registry *reg, const char *name)
{
    char folded[SECCHAT_NAME_MAX + 1];
    if (strlen(name) > SECCHAT_ROOM_MAX)
        return NULL;
    sc_name_fold(name, folded);
    pthread_mutex_lock(&reg->lock);
    sc_room *r = find_room_locked(reg, folded);
    if (r)
        atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&reg->lock);
    return r;
}

void sc_room_unref(sc_room *r)
{
    if (r && atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1)
        free(r);
}
