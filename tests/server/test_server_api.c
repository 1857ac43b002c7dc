/*
 * The public server API (include/secchat/server.h), driven from inside the
 * process: a secchat_server on 127.0.0.1:0 with 2 worker threads and both
 * callbacks, and client secchat_sessions over loopback TCP on the test's
 * thread (tests/common/session_client.h).
 *
 * Every wait is bounded: clients poll in 20 ms steps up to WAIT_MS, events
 * are awaited on a condition variable with a deadline, and an alarm ends the
 * whole program if something still hangs (a deadlock would otherwise stall
 * `make test`). The event and command callbacks run on worker threads: they
 * copy what they get under a mutex.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/session_client.h"
#include "secchat.h"

#define WAIT_MS 5000
#define QUIET_MS 150 /* how long "nothing arrives" is watched (cross-worker delivery is sub-millisecond) */
#define MAX_EVENTS 512
#define MAX_CALLS 32
#define MAX_CLIENTS 6
#define PROMPT "{\"sender\":\"Server\",\"content\":\"Please enter your name:\"}"

/* One event as the callback saw it; strings copied, NULL recorded as has_* == 0. */
typedef struct rec_event {
    enum secchat_server_event_type type;
    uint64_t id;
    int has_address, has_name, has_room, has_target, has_text, has_fingerprint;
    char address[64], name[48], room[48], target[48], text[256], fingerprint[48], line[512];
    int error;
    uint16_t close_code;
} rec_event;

/* One call of the command callback. */
typedef struct cmd_call {
    char cmd[32], args[128];
    char name[48], room[48], address[64], fingerprint[48];
    uint8_t key[SECCHAT_KEY_LEN];
    int handled;
    int reply_rc;
} cmd_call;

typedef struct harness {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    rec_event events[MAX_EVENTS];
    size_t n_events;
    cmd_call calls[MAX_CALLS];
    size_t n_calls;

    uint8_t psk[SECCHAT_PSK_LEN];
    secchat_config *cfg;
    secchat_server *srv;
    char address[64];
    session_client c[MAX_CLIENTS];
} harness;

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- callbacks ------------------------------------------------------------ */

static void copy(char *dst, size_t cap, const char *src, int *has)
{
    *has = src != NULL;
    snprintf(dst, cap, "%s", src ? src : "");
}

static void on_event(void *arg, const secchat_server_event *ev)
{
    harness *h = arg;
    pthread_mutex_lock(&h->lock);
    if (h->n_events < MAX_EVENTS) {
        rec_event *r = &h->events[h->n_events++];
        memset(r, 0, sizeof *r);
        r->type = ev->type;
        r->id = ev->id;
        copy(r->address, sizeof r->address, ev->address, &r->has_address);
        copy(r->name, sizeof r->name, ev->name, &r->has_name);
        copy(r->room, sizeof r->room, ev->room, &r->has_room);
        copy(r->target, sizeof r->target, ev->target, &r->has_target);
        copy(r->text, sizeof r->text, ev->text, &r->has_text);
        copy(r->fingerprint, sizeof r->fingerprint, ev->fingerprint, &r->has_fingerprint);
        int ignored;
        copy(r->line, sizeof r->line, ev->line, &ignored);
        r->error = ev->error;
        r->close_code = ev->close_code;
    }
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
}

/* "/roll [what]" is answered here, to the member alone; everything else goes to the built-ins. */
static int on_command(void *arg, secchat_server_member *m, const char *cmd, const char *args)
{
    harness *h = arg;
    int handled = strcmp(cmd, "roll") == 0;
    int rc = SECCHAT_OK;
    if (handled) {
        char text[200];
        snprintf(text, sizeof text, "%s rolled %s", secchat_server_member_name(m), args[0] ? args : "4");
        rc = secchat_server_member_reply(m, text);
    }
    pthread_mutex_lock(&h->lock);
    if (h->n_calls < MAX_CALLS) {
        cmd_call *c = &h->calls[h->n_calls++];
        int has;
        memset(c, 0, sizeof *c);
        copy(c->cmd, sizeof c->cmd, cmd, &has);
        copy(c->args, sizeof c->args, args, &has);
        copy(c->name, sizeof c->name, secchat_server_member_name(m), &has);
        copy(c->room, sizeof c->room, secchat_server_member_room(m), &has);
        copy(c->address, sizeof c->address, secchat_server_member_address(m), &has);
        copy(c->fingerprint, sizeof c->fingerprint, secchat_server_member_fingerprint(m), &has);
        const uint8_t *key = secchat_server_member_key(m);
        if (key)
            memcpy(c->key, key, sizeof c->key);
        c->handled = handled;
        c->reply_rc = rc;
    }
    pthread_mutex_unlock(&h->lock);
    return handled;
}

/* ---- harness -------------------------------------------------------------- */

static void deadline_in(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static int harness_init(harness *h)
{
    memset(h, 0, sizeof *h);
    for (int i = 0; i < MAX_CLIENTS; i++)
        h->c[i].io.fd = -1;
    pthread_mutex_init(&h->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* deadlines immune to clock changes */
    pthread_cond_init(&h->cond, &ca);
    pthread_condattr_destroy(&ca);
    int rc = secchat_random_bytes(h->psk, sizeof h->psk);
    if (rc == SECCHAT_OK)
        rc = secchat_config_new(&h->cfg);
    if (rc == SECCHAT_OK)
        rc = secchat_config_set_psk(h->cfg, h->psk);
    return rc;
}

static const secchat_server_options two_threads = {.listen = "127.0.0.1:0", .threads = 2};

static int harness_new_server(harness *h, secchat_server **out)
{
    secchat_server_callbacks cb = {.arg = h, .event = on_event, .command = on_command};
    return secchat_server_new(out, h->cfg, &two_threads, &cb);
}

static int setup(void **state)
{
    harness *h = malloc(sizeof *h);
    if (!h || harness_init(h) != SECCHAT_OK)
        return -1;
    *state = h;
    if (harness_new_server(h, &h->srv) != SECCHAT_OK || secchat_server_start(h->srv) != SECCHAT_OK)
        return -1;
    snprintf(h->address, sizeof h->address, "%s", secchat_server_address(h->srv));
    return 0;
}

/* A harness whose server is created but not started. */
static int setup_unstarted(void **state)
{
    harness *h = malloc(sizeof *h);
    if (!h || harness_init(h) != SECCHAT_OK)
        return -1;
    *state = h;
    return harness_new_server(h, &h->srv) == SECCHAT_OK ? 0 : -1;
}

static int teardown(void **state)
{
    harness *h = *state;
    if (!h)
        return 0;
    for (int i = 0; i < MAX_CLIENTS; i++)
        session_client_free(&h->c[i]);
    secchat_server_free(h->srv); /* stops it first */
    secchat_config_free(h->cfg);
    pthread_cond_destroy(&h->cond);
    pthread_mutex_destroy(&h->lock);
    free(h);
    return 0;
}

/*
 * The index of the first event at or after from of type (and, when name is
 * not NULL, of that member; when id is not 0, of that connection), waiting up
 * to timeout_ms for it; -1 if none came.
 */
static long wait_event(harness *h, size_t from, enum secchat_server_event_type type, const char *name, uint64_t id,
                       int timeout_ms)
{
    struct timespec deadline;
    deadline_in(&deadline, timeout_ms);
    long found = -1;
    pthread_mutex_lock(&h->lock);
    for (;;) {
        for (size_t i = from; i < h->n_events && found < 0; i++) {
            const rec_event *e = &h->events[i];
            if (e->type == type && (!name || strcmp(e->name, name) == 0) && (!id || e->id == id))
                found = (long)i;
        }
        if (found >= 0 || pthread_cond_timedwait(&h->cond, &h->lock, &deadline) != 0)
            break;
    }
    /* One last look: the event may have come with the timeout. */
    for (size_t i = from; i < h->n_events && found < 0; i++) {
        const rec_event *e = &h->events[i];
        if (e->type == type && (!name || strcmp(e->name, name) == 0) && (!id || e->id == id))
            found = (long)i;
    }
    pthread_mutex_unlock(&h->lock);
    return found;
}

static size_t n_events(harness *h)
{
    pthread_mutex_lock(&h->lock);
    size_t n = h->n_events;
    pthread_mutex_unlock(&h->lock);
    return n;
}

static rec_event event_at(harness *h, long i)
{
    pthread_mutex_lock(&h->lock);
    rec_event e = h->events[i];
    pthread_mutex_unlock(&h->lock);
    return e;
}

static size_t count_events(harness *h, enum secchat_server_event_type type)
{
    size_t n = 0;
    pthread_mutex_lock(&h->lock);
    for (size_t i = 0; i < h->n_events; i++)
        n += h->events[i].type == type;
    pthread_mutex_unlock(&h->lock);
    return n;
}

static size_t n_calls(harness *h)
{
    pthread_mutex_lock(&h->lock);
    size_t n = h->n_calls;
    pthread_mutex_unlock(&h->lock);
    return n;
}

static cmd_call call_at(harness *h, size_t i)
{
    pthread_mutex_lock(&h->lock);
    cmd_call c = h->calls[i];
    pthread_mutex_unlock(&h->lock);
    return c;
}

/* ---- clients ---------------------------------------------------------------- */

/* Client i connects (static key from private_key, NULL: random) and completes the handshake. */
static session_client *secure_key(harness *h, int i, const uint8_t *private_key)
{
    char err[200];
    session_client *c = &h->c[i];
    if (session_client_open(c, h->address, h->psk, private_key, WAIT_MS, err, sizeof err) != 0)
        fail_msg("client %d: %s", i, err);
    assert_int_equal(session_client_wait_ready(c, WAIT_MS), 0);
    return c;
}

static session_client *secure(harness *h, int i)
{
    return secure_key(h, i, NULL);
}

/* Client i joins as name: prompt, name, own join notice, all byte for byte. */
static session_client *member(harness *h, int i, const char *name)
{
    session_client *c = secure(h, i);
    assert_int_equal(session_client_join(c, name, WAIT_MS), 0);
    return c;
}

static void expect(session_client *c, const char *want)
{
    char got[4096];
    long n = session_client_next(c, got, sizeof got, WAIT_MS);
    if (n < 0 || strcmp(got, want) != 0)
        fail_msg("%s: got '%s' (%ld, closed %d code %u), want '%s'", c->local, got, n, c->closed,
                 (unsigned)c->close_code, want);
}

/* The next message, which must be a message; its sender, content and type (type "" when absent). */
static void next_fields(session_client *c, char *sender, char *content, size_t content_cap, char *type)
{
    char got[8192];
    if (session_client_next(c, got, sizeof got, WAIT_MS) < 0)
        fail_msg("%s: no message (closed %d code %u)", c->local, c->closed, (unsigned)c->close_code);
    if (session_client_field(got, "sender", sender, 64) != 0 ||
        session_client_field(got, "content", content, content_cap) != 0)
        fail_msg("%s: not a message: '%s'", c->local, got);
    if (session_client_field(got, "type", type, 16) != 0)
        type[0] = '\0';
}

/* Reads and drops n messages (notices a step caused that this test does not look at). */
static void drop(session_client *c, int n)
{
    char got[4096];
    for (int i = 0; i < n; i++)
        if (session_client_next(c, got, sizeof got, WAIT_MS) < 0)
            fail_msg("%s: message %d of %d to skip did not come", c->local, i + 1, n);
}

/* Nothing arrives for QUIET_MS, and the answer to /rooms is the next message (commands are answered in order). */
static void expect_nothing(session_client *c)
{
    int64_t until = tcp_peer_now_ms() + QUIET_MS;
    while (tcp_peer_now_ms() < until && c->count == 0)
        session_client_pump(c, 10);
    if (c->count > 0)
        fail_msg("%s: unexpected message '%s'", c->local, c->queue[c->head]);
    assert_int_equal(session_client_say(c, "/rooms"), SECCHAT_OK);
    char sender[64], content[1024], type[16];
    next_fields(c, sender, content, sizeof content, type);
    if (strcmp(type, "system") != 0 || strncmp(content, "Rooms (", 7) != 0)
        fail_msg("%s: before the answer to /rooms came '%s' (type '%s')", c->local, content, type);
}

static void keypair(uint8_t pub[SECCHAT_KEY_LEN], uint8_t priv[SECCHAT_KEY_LEN])
{
    assert_int_equal(secchat_keypair_generate(pub, priv), SECCHAT_OK);
}

/* ---- events ------------------------------------------------------------------ */

static int in_order_type(enum secchat_server_event_type t)
{
    return t == SECCHAT_SERVER_EVENT_LISTENING || t == SECCHAT_SERVER_EVENT_CONNECTED ||
           t == SECCHAT_SERVER_EVENT_SECURE || t == SECCHAT_SERVER_EVENT_JOINED || t == SECCHAT_SERVER_EVENT_CHAT ||
           t == SECCHAT_SERVER_EVENT_LEFT || t == SECCHAT_SERVER_EVENT_STOPPED;
}

/* One client's life: LISTENING, CONNECTED, SECURE, JOINED, CHAT, LEFT, STOPPED, in that order. */
static void test_events_in_order(void **state)
{
    harness *h = *state;
    char bound[64];
    snprintf(bound, sizeof bound, "%s", secchat_server_address(h->srv));
    assert_int_equal(strncmp(bound, "127.0.0.1:", 10), 0);
    assert_true(atoi(bound + 10) > 0); /* the real port, not 0 */

    session_client *a = member(h, 0, "Alice");
    assert_int_equal(session_client_say(a, "hello"), SECCHAT_OK);
    assert_true(wait_event(h, 0, SECCHAT_SERVER_EVENT_CHAT, "Alice", 0, WAIT_MS) >= 0);
    session_client_close(a, 1000, WAIT_MS);
    assert_true(a->closed);
    assert_true(wait_event(h, 0, SECCHAT_SERVER_EVENT_LEFT, "Alice", 0, WAIT_MS) >= 0);
    secchat_server_stop(h->srv, 1000);

    static const enum secchat_server_event_type want[] = {
        SECCHAT_SERVER_EVENT_LISTENING, SECCHAT_SERVER_EVENT_CONNECTED, SECCHAT_SERVER_EVENT_SECURE,
        SECCHAT_SERVER_EVENT_JOINED,    SECCHAT_SERVER_EVENT_CHAT,      SECCHAT_SERVER_EVENT_LEFT,
        SECCHAT_SERVER_EVENT_STOPPED};
    rec_event seen[16];
    long pos[16];
    size_t n = 0, total = n_events(h);
    for (size_t i = 0; i < total; i++) {
        rec_event e = event_at(h, (long)i);
        if (in_order_type(e.type) && n < 16) {
            pos[n] = (long)i;
            seen[n++] = e;
        }
        if (e.type == SECCHAT_SERVER_EVENT_REFUSED)
            fail_msg("a REFUSED event for a clean close: '%s'", e.line);
    }
    for (size_t i = 0; i < n && i < 7; i++)
        if (seen[i].type != want[i])
            fail_msg("event %zu is type %d, want %d", i, (int)seen[i].type, (int)want[i]);
    assert_int_equal(n, 7);
    assert_int_equal(pos[6], (long)total - 1); /* STOPPED is the last */

    /* LISTENING: the bound address; STOPPED: no connection. */
    assert_int_equal(seen[0].id, 0);
    assert_string_equal(seen[0].address, bound);
    assert_int_equal(seen[6].id, 0);

    /* One connection id all along, from the client's own address. */
    uint64_t id = seen[1].id;
    assert_true(id != 0);
    for (int i = 1; i <= 5; i++)
        assert_int_equal(seen[i].id, id);
    assert_string_equal(seen[1].address, a->local);

    /* UPGRADED and HANDSHAKE, if reported, come between CONNECTED and SECURE. */
    for (size_t i = 0; i < total; i++) {
        rec_event e = event_at(h, (long)i);
        if (e.type == SECCHAT_SERVER_EVENT_UPGRADED || e.type == SECCHAT_SERVER_EVENT_HANDSHAKE)
            assert_true((long)i > pos[1] && (long)i < pos[2]);
    }

    assert_true(seen[2].has_fingerprint);
    assert_string_equal(seen[2].fingerprint, a->fingerprint);
    assert_string_equal(seen[3].name, "Alice");
    assert_string_equal(seen[3].room, "lobby");
    assert_string_equal(seen[4].name, "Alice");
    assert_string_equal(seen[4].room, "lobby");
    assert_string_equal(seen[5].name, "Alice");
    assert_string_equal(seen[5].fingerprint, a->fingerprint);
}

/*
 * The text fields server.h documents: CHAT "text: the line", PRIVATE "target"
 * and text, ROOM text "the old room". Checked together at the end so that
 * one report shows every field that is missing.
 */
static void test_event_text_fields(void **state)
{
    harness *h = *state;
    session_client *a = member(h, 0, "Alice");
    session_client *b = member(h, 1, "Bob");
    drop(a, 1); /* Bob joined */

    assert_int_equal(session_client_say(a, "hello there"), SECCHAT_OK);
    expect(b, "{\"sender\":\"Alice\",\"content\":\"hello there\"}");
    assert_int_equal(session_client_say(a, "/msg Bob psst"), SECCHAT_OK);
    drop(b, 1);
    assert_int_equal(session_client_say(a, "/join dev"), SECCHAT_OK);
    drop(a, 1); /* joined room dev */

    long chat = wait_event(h, 0, SECCHAT_SERVER_EVENT_CHAT, "Alice", 0, WAIT_MS);
    long dm = wait_event(h, 0, SECCHAT_SERVER_EVENT_PRIVATE, "Alice", 0, WAIT_MS);
    long room = wait_event(h, 0, SECCHAT_SERVER_EVENT_ROOM, "Alice", 0, WAIT_MS);
    assert_true(chat >= 0 && dm >= 0 && room >= 0);
    rec_event c = event_at(h, chat), d = event_at(h, dm), r = event_at(h, room);
    char report[1024] = "";
    size_t len = 0;
#define FIELD(cond, ...)                                                                                               \
    do {                                                                                                               \
        if (!(cond))                                                                                                   \
            len += (size_t)snprintf(report + len, len < sizeof report ? sizeof report - len : 0, __VA_ARGS__);         \
    } while (0)
    FIELD(c.has_text && strcmp(c.text, "hello there") == 0, " CHAT.text is %s%s%s (want \"hello there\");",
          c.has_text ? "\"" : "NULL", c.text, c.has_text ? "\"" : "");
    FIELD(c.has_room && strcmp(c.room, "lobby") == 0, " CHAT.room is '%s';", c.room);
    FIELD(d.has_target && strcmp(d.target, "Bob") == 0, " PRIVATE.target is %s'%s' (want \"Bob\");",
          d.has_target ? "" : "NULL ", d.target);
    FIELD(d.has_text && strcmp(d.text, "psst") == 0, " PRIVATE.text is %s'%s' (want \"psst\");",
          d.has_text ? "" : "NULL ", d.text);
    FIELD(r.has_room && strcmp(r.room, "dev") == 0, " ROOM.room is '%s' (want \"dev\");", r.room);
    FIELD(r.has_text && strcmp(r.text, "lobby") == 0, " ROOM.text is %s'%s' (want the old room \"lobby\");",
          r.has_text ? "" : "NULL ", r.text);
#undef FIELD
    if (len > 0)
        fail_msg("event fields documented in server.h are missing:%s (lines: '%s', '%s', '%s')", report, c.line, d.line,
                 r.line);
}

/* ---- commands ----------------------------------------------------------------- */

static void test_custom_command(void **state)
{
    harness *h = *state;
    session_client *a = member(h, 0, "Alice");
    session_client *b = member(h, 1, "Bob");
    drop(a, 1); /* Bob joined */
    char sender[64], content[1024], type[16];

    size_t calls = n_calls(h);
    assert_int_equal(session_client_say(a, "/roll 2d6"), SECCHAT_OK);
    next_fields(a, sender, content, sizeof content, type);
    assert_string_equal(sender, "Server");
    assert_string_equal(content, "Alice rolled 2d6");
    assert_int_equal(n_calls(h), calls + 1);
    cmd_call k = call_at(h, calls);
    assert_string_equal(k.cmd, "roll");
    assert_string_equal(k.args, "2d6");
    assert_true(k.handled);
    assert_int_equal(k.reply_rc, SECCHAT_OK);
    /* The member as the callback saw it. */
    assert_string_equal(k.name, "Alice");
    assert_string_equal(k.room, "lobby");
    assert_string_equal(k.address, a->local);
    assert_string_equal(k.fingerprint, a->fingerprint);
    assert_memory_equal(k.key, a->public_key, SECCHAT_KEY_LEN);

    assert_int_equal(session_client_say(a, "/roll"), SECCHAT_OK);
    next_fields(a, sender, content, sizeof content, type);
    assert_string_equal(content, "Alice rolled 4");
    assert_string_equal(call_at(h, calls + 1).args, ""); /* "" when there are none */

    /* The replies went to Alice alone. */
    expect_nothing(b);

    /* Returning 0 lets the built-ins run: /who, and the error for an unknown command. */
    calls = n_calls(h);
    assert_int_equal(session_client_say(a, "/who"), SECCHAT_OK);
    next_fields(a, sender, content, sizeof content, type);
    char want[512];
    snprintf(want, sizeof want, "Members of room lobby (2):\n  Alice  %s\n  Bob  %s", a->fingerprint, b->fingerprint);
    assert_string_equal(type, "system");
    assert_string_equal(content, want);
    assert_int_equal(n_calls(h), calls + 1);
    assert_string_equal(call_at(h, calls).cmd, "who");
    assert_false(call_at(h, calls).handled);

    assert_int_equal(session_client_say(a, "/zap now"), SECCHAT_OK);
    next_fields(a, sender, content, sizeof content, type);
    assert_string_equal(type, "error");
    assert_string_equal(sender, "Server");

    /* A chat line is not a command: no callback, it reaches the room. */
    calls = n_calls(h);
    assert_int_equal(session_client_say(a, "just text"), SECCHAT_OK);
    expect(b, "{\"sender\":\"Alice\",\"content\":\"just text\"}");
    assert_int_equal(n_calls(h), calls);
}

/* ---- operator calls -------------------------------------------------------- */

static void test_broadcast(void **state)
{
    harness *h = *state;
    session_client *a = member(h, 0, "Alice");
    session_client *b = member(h, 1, "Bob");
    drop(a, 1);
    assert_int_equal(session_client_say(b, "/join dev"), SECCHAT_OK);
    drop(b, 1);                       /* Bob joined room dev */
    drop(a, 1);                       /* Bob went to room dev */
    session_client *c = secure(h, 2); /* not a member yet: at the prompt */
    expect(c, PROMPT);

    assert_int_equal(secchat_server_broadcast(h->srv, "maintenance at 5"), SECCHAT_OK);
    expect(a, "{\"sender\":\"Server\",\"content\":\"maintenance at 5\"}");
    expect(b, "{\"sender\":\"Server\",\"content\":\"maintenance at 5\"}");
    /* serde_json's escaping, byte for byte. */
    assert_int_equal(secchat_server_broadcast(h->srv, "say \"hi\"\t\\ caf\xc3\xa9 </>"), SECCHAT_OK);
    expect(a, "{\"sender\":\"Server\",\"content\":\"say \\\"hi\\\"\\t\\\\ caf\xc3\xa9 </>\"}");
    expect(b, "{\"sender\":\"Server\",\"content\":\"say \\\"hi\\\"\\t\\\\ caf\xc3\xa9 </>\"}");

    /* Only members: the connection at the prompt got nothing; its next message is its own join notice. */
    int64_t until = tcp_peer_now_ms() + QUIET_MS;
    while (tcp_peer_now_ms() < until)
        session_client_pump(c, 10);
    assert_int_equal(c->count, 0);
    assert_int_equal(session_client_say(c, "Carol"), SECCHAT_OK);
    expect(c, "{\"sender\":\"Server\",\"content\":\"Carol joined the chat\"}");
}

static void test_send_to(void **state)
{
    harness *h = *state;
    session_client *a = member(h, 0, "Alice");
    session_client *b = member(h, 1, "Bob");
    drop(a, 1);

    assert_int_equal(secchat_server_send_to(h->srv, "aLiCe", "psst"), SECCHAT_OK); /* any case */
    expect(a, "{\"sender\":\"Server\",\"content\":\"psst\"}");
    expect_nothing(b);
    assert_int_equal(secchat_server_send_to(h->srv, "Bob", "you too"), SECCHAT_OK);
    expect(b, "{\"sender\":\"Server\",\"content\":\"you too\"}");
    expect_nothing(a);

    assert_int_equal(secchat_server_send_to(h->srv, "Nobody", "hello?"), SECCHAT_ERR_NO_SUCH_MEMBER);
    assert_int_equal(secchat_server_send_to(h->srv, "Alic", "hello?"), SECCHAT_ERR_NO_SUCH_MEMBER);
}

static void test_send_room(void **state)
{
    harness *h = *state;
    session_client *a = member(h, 0, "Alice");
    session_client *b = member(h, 1, "Bob");
    drop(a, 1);
    session_client *c = member(h, 2, "Carol");
    drop(a, 1);
    drop(b, 1);
    assert_int_equal(session_client_say(b, "/join dev"), SECCHAT_OK);
    drop(b, 1); /* Bob joined room dev */
    drop(a, 1);
    drop(c, 1); /* Bob went to room dev */
    assert_int_equal(session_client_say(c, "/join dev"), SECCHAT_OK);
    drop(c, 1);
    drop(b, 1); /* Carol joined room dev */
    drop(a, 1); /* Carol went to room dev */

    assert_int_equal(secchat_server_send_room(h->srv, "dev", "Bot", "deploy done"), SECCHAT_OK);
    expect(b, "{\"sender\":\"Bot\",\"content\":\"deploy done\"}");
    expect(c, "{\"sender\":\"Bot\",\"content\":\"deploy done\"}");
    expect_nothing(a);

    assert_int_equal(secchat_server_send_room(h->srv, "lobby", NULL, "hi lobby"), SECCHAT_OK);
    expect(a, "{\"sender\":\"Server\",\"content\":\"hi lobby\"}");
    expect_nothing(b);
    expect_nothing(c);

    assert_int_equal(secchat_server_send_room(h->srv, "nowhere", NULL, "anyone?"), SECCHAT_ERR_NO_SUCH_MEMBER);
}

static void test_kick(void **state)
{
    harness *h = *state;
    session_client *a = member(h, 0, "Alice");
    session_client *b = member(h, 1, "Bob");
    drop(a, 1);

    assert_int_equal(secchat_server_kick(h->srv, "BOB", NULL), SECCHAT_OK);
    assert_int_equal(session_client_wait_closed(b, WAIT_MS), 0);
    assert_int_equal(b->close_code, 1008);
    assert_string_equal(b->close_reason, "kicked by the operator");
    assert_int_equal(b->count, 0); /* nothing before the close */
    expect(a, "{\"sender\":\"Server\",\"content\":\"Bob left the chat\"}");
    assert_true(wait_event(h, 0, SECCHAT_SERVER_EVENT_LEFT, "Bob", 0, WAIT_MS) >= 0);
    assert_int_equal(secchat_server_kick(h->srv, "Bob", NULL), SECCHAT_ERR_NO_SUCH_MEMBER);
    assert_int_equal(secchat_server_kick(h->srv, "Nobody", NULL), SECCHAT_ERR_NO_SUCH_MEMBER);

    assert_int_equal(secchat_server_kick(h->srv, "alice", "spam"), SECCHAT_OK);
    assert_int_equal(session_client_wait_closed(a, WAIT_MS), 0);
    assert_int_equal(a->close_code, 1008);
    assert_string_equal(a->close_reason, "spam");
}

/* ---- snapshots ----------------------------------------------------------------- */

typedef struct list_acc {
    secchat_server *srv;
    int n;
    secchat_server_member_info m[8];
    char text[8][4][64]; /* name, room, address, fingerprint */
    int nested_rooms;
} list_acc;

static void count_room(void *arg, const char *room, unsigned members)
{
    (void)arg;
    (void)room;
    (void)members;
}

static void on_member(void *arg, const secchat_server_member_info *m)
{
    list_acc *acc = arg;
    if (acc->n >= 8)
        return;
    int i = acc->n++;
    acc->m[i] = *m;
    snprintf(acc->text[i][0], 64, "%s", m->name);
    snprintf(acc->text[i][1], 64, "%s", m->room);
    snprintf(acc->text[i][2], 64, "%s", m->address);
    snprintf(acc->text[i][3], 64, "%s", m->fingerprint);
    /* A snapshot: fn runs with no server lock held, so the API may be called from it. */
    acc->nested_rooms = secchat_server_rooms(acc->srv, count_room, NULL);
}

typedef struct rooms_acc {
    int n;
    char name[8][40];
    unsigned members[8];
} rooms_acc;

static void on_room(void *arg, const char *room, unsigned members)
{
    rooms_acc *acc = arg;
    if (acc->n >= 8)
        return;
    snprintf(acc->name[acc->n], sizeof acc->name[0], "%s", room);
    acc->members[acc->n++] = members;
}

/* Polls secchat_server_connections until it is want (connections are counted on worker threads). */
static unsigned wait_connections(harness *h, unsigned want)
{
    int64_t until = tcp_peer_now_ms() + WAIT_MS;
    unsigned n;
    while ((n = secchat_server_connections(h->srv)) != want && tcp_peer_now_ms() < until) {
        for (int i = 0; i < MAX_CLIENTS; i++)
            session_client_pump(&h->c[i], 0);
        nap_ms(2);
    }
    return n;
}

static void test_list_rooms_connections(void **state)
{
    harness *h = *state;
    assert_int_equal(secchat_server_connections(h->srv), 0);
    session_client *c = member(h, 0, "Carol");
    session_client *a = member(h, 1, "Alice");
    drop(c, 1);
    session_client *b = member(h, 2, "Bob");
    drop(c, 1);
    drop(a, 1);
    assert_int_equal(session_client_say(b, "/join dev"), SECCHAT_OK);
    drop(b, 1);
    drop(a, 1);
    drop(c, 1);
    session_client *d = secure(h, 3); /* connected, not named */
    expect(d, PROMPT);
    assert_int_equal(wait_connections(h, 4), 4);

    list_acc all = {.srv = h->srv};
    assert_int_equal(secchat_server_list(h->srv, NULL, on_member, &all), 3);
    assert_int_equal(all.n, 3);
    const char *names[] = {"Alice", "Bob", "Carol"}, *rooms[] = {"lobby", "dev", "lobby"};
    const session_client *who[] = {a, b, c};
    for (int i = 0; i < 3; i++) {
        assert_string_equal(all.text[i][0], names[i]); /* sorted by name */
        assert_string_equal(all.text[i][1], rooms[i]);
        assert_string_equal(all.text[i][2], who[i]->local);
        assert_string_equal(all.text[i][3], who[i]->fingerprint);
        assert_true(all.m[i].id != 0);
        for (int j = 0; j < i; j++)
            assert_true(all.m[i].id != all.m[j].id);
    }
    assert_int_equal(all.nested_rooms, 2);

    list_acc dev = {.srv = h->srv};
    assert_int_equal(secchat_server_list(h->srv, "dev", on_member, &dev), 1);
    assert_string_equal(dev.text[0][0], "Bob");
    list_acc lobby = {.srv = h->srv};
    assert_int_equal(secchat_server_list(h->srv, "lobby", on_member, &lobby), 2);
    assert_string_equal(lobby.text[0][0], "Alice");
    assert_string_equal(lobby.text[1][0], "Carol");

    rooms_acc r = {0};
    assert_int_equal(secchat_server_rooms(h->srv, on_room, &r), 2);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.name[0], "dev"); /* sorted by name */
    assert_int_equal(r.members[0], 1);
    assert_string_equal(r.name[1], "lobby");
    assert_int_equal(r.members[1], 2);

    /* The unnamed connection and then Bob go: the counts follow. */
    session_client_close(d, 1000, WAIT_MS);
    assert_int_equal(wait_connections(h, 3), 3);
    session_client_close(b, 1000, WAIT_MS);
    assert_int_equal(wait_connections(h, 2), 2);
    assert_true(wait_event(h, 0, SECCHAT_SERVER_EVENT_LEFT, "Bob", 0, WAIT_MS) >= 0);
    list_acc after = {.srv = h->srv};
    assert_int_equal(secchat_server_list(h->srv, NULL, on_member, &after), 2);
    assert_string_equal(after.text[0][0], "Alice");
    assert_string_equal(after.text[1][0], "Carol");
}

/* ---- trust ---------------------------------------------------------------------- */

static secchat_authorized_keys *parse_list(const char *text)
{
    secchat_authorized_keys *keys = NULL;
    unsigned line = 0;
    int rc = secchat_authorized_keys_parse(&keys, text, strlen(text), &line);
    if (rc != SECCHAT_OK)
        fail_msg("authorized keys line %u: %s", line, secchat_strerror(rc));
    return keys;
}

static void test_authorized_keys(void **state)
{
    harness *h = *state;
    uint8_t pa[32], ka[32], pn[32], kn[32], pm[32], km[32];
    keypair(pa, ka);
    keypair(pn, kn);
    keypair(pm, km);
    char b64a[SECCHAT_KEY_BASE64_LEN + 1], b64n[SECCHAT_KEY_BASE64_LEN + 1], text[256];
    assert_int_equal(secchat_key_to_base64(pa, b64a), SECCHAT_OK);
    assert_int_equal(secchat_key_to_base64(pn, b64n), SECCHAT_OK);
    snprintf(text, sizeof text, "# Alice: any name; Nina: only 'Nina'\n%s\n\n%s Nina\n", b64a, b64n);
    secchat_authorized_keys *keys = parse_list(text);
    assert_int_equal(secchat_authorized_keys_count(keys), 2);
    assert_int_equal(secchat_server_set_authorized_keys(h->srv, keys), SECCHAT_OK); /* the server owns it now */

    session_client *a = secure_key(h, 0, ka);
    assert_int_equal(session_client_join(a, "Alice", WAIT_MS), 0);

    /* Unlisted: the handshake completes, then 1008 before any application message. */
    size_t from = n_events(h);
    session_client *m = secure_key(h, 1, km);
    assert_int_equal(session_client_wait_closed(m, WAIT_MS), 0);
    assert_int_equal(m->close_code, 1008);
    assert_string_equal(m->close_reason, "key not authorized");
    assert_int_equal(m->received, 0); /* no prompt */
    long refused = wait_event(h, from, SECCHAT_SERVER_EVENT_REFUSED, NULL, 0, WAIT_MS);
    assert_true(refused >= 0);
    rec_event e = event_at(h, refused);
    char line[256];
    snprintf(line, sizeof line, "Refused %s: key %s is not in the authorized keys", m->local, m->fingerprint);
    assert_string_equal(e.line, line);
    assert_string_equal(e.fingerprint, m->fingerprint);
    assert_false(e.has_name);

    /* A key listed with a name may use only that name, in any case. */
    session_client *n = secure_key(h, 2, kn);
    expect(n, PROMPT);
    assert_int_equal(session_client_say(n, "Robert"), SECCHAT_OK);
    char sender[64], content[1024], type[16];
    next_fields(n, sender, content, sizeof content, type);
    assert_string_equal(type, "error");
    assert_string_equal(content, "This key may only use the name 'Nina'. Please enter your name:");
    assert_int_equal(session_client_say(n, "nINA"), SECCHAT_OK);
    next_fields(n, sender, content, sizeof content, type);
    assert_string_equal(sender, "Server");
    if (strcmp(content, "nINA joined the chat") != 0 && strcmp(content, "Nina joined the chat") != 0)
        fail_msg("Nina's key answering 'nINA': '%s'", content);
    drop(a, 1);

    /* NULL admits everyone with the PSK again; members already in stay. */
    assert_int_equal(secchat_server_set_authorized_keys(h->srv, NULL), SECCHAT_OK);
    session_client_free(m);
    m = secure_key(h, 1, km);
    assert_int_equal(session_client_join(m, "Mallory", WAIT_MS), 0);
    expect(a, "{\"sender\":\"Server\",\"content\":\"Mallory joined the chat\"}");

    /* A list without Alice: she stays connected, her next connection is refused. */
    snprintf(text, sizeof text, "%s Nina\n", b64n);
    assert_int_equal(secchat_server_set_authorized_keys(h->srv, parse_list(text)), SECCHAT_OK);
    assert_int_equal(session_client_say(a, "still here"), SECCHAT_OK);
    expect(m, "{\"sender\":\"Alice\",\"content\":\"still here\"}");
    session_client *a2 = secure_key(h, 3, ka);
    assert_int_equal(session_client_wait_closed(a2, WAIT_MS), 0);
    assert_int_equal(a2->close_code, 1008);
    assert_int_equal(a2->received, 0);
}

/* server.h: "REFUSED: a connection was closed for cause: error, close_code, text". */
static void test_refused_event_fields(void **state)
{
    harness *h = *state;
    uint8_t pa[32], ka[32];
    keypair(pa, ka);
    char b64[SECCHAT_KEY_BASE64_LEN + 1];
    assert_int_equal(secchat_key_to_base64(pa, b64), SECCHAT_OK);
    assert_int_equal(secchat_server_set_authorized_keys(h->srv, parse_list(b64)), SECCHAT_OK);
    session_client *m = secure(h, 0); /* a random key: not listed */
    assert_int_equal(session_client_wait_closed(m, WAIT_MS), 0);
    assert_int_equal(m->close_code, 1008);
    long i = wait_event(h, 0, SECCHAT_SERVER_EVENT_REFUSED, NULL, 0, WAIT_MS);
    assert_true(i >= 0);
    /* Any REFUSED event of that connection carrying the documented fields will do. */
    uint64_t id = event_at(h, i).id;
    int64_t until = tcp_peer_now_ms() + 1000;
    for (;;) {
        size_t total = n_events(h);
        for (size_t k = 0; k < total; k++) {
            rec_event e = event_at(h, (long)k);
            if (e.type == SECCHAT_SERVER_EVENT_REFUSED && e.id == id && e.error == SECCHAT_ERR_KEY_NOT_AUTHORIZED &&
                e.close_code == 1008 && e.has_text)
                return;
        }
        if (tcp_peer_now_ms() >= until)
            break;
        nap_ms(10);
    }
    rec_event e = event_at(h, i);
    fail_msg("REFUSED event for an unlisted key: error %d (want %d, KEY_NOT_AUTHORIZED), close_code %u (want 1008), "
             "text %s (want the reason); line '%s'",
             e.error, SECCHAT_ERR_KEY_NOT_AUTHORIZED, (unsigned)e.close_code, e.has_text ? e.text : "NULL", e.line);
}

/* ---- lifecycle -------------------------------------------------------------------- */

static void no_room(void *arg, const char *room, unsigned members)
{
    (void)room;
    (void)members;
    ++*(int *)arg;
}

static void no_member(void *arg, const secchat_server_member_info *m)
{
    (void)m;
    ++*(int *)arg;
}

static void test_not_running_and_bad_state(void **state)
{
    harness *h = *state; /* created, not started */
    assert_int_equal(secchat_server_broadcast(h->srv, "x"), SECCHAT_ERR_NOT_RUNNING);
    assert_int_equal(secchat_server_send_to(h->srv, "Alice", "x"), SECCHAT_ERR_NOT_RUNNING);
    assert_int_equal(secchat_server_send_room(h->srv, "lobby", NULL, "x"), SECCHAT_ERR_NOT_RUNNING);
    assert_int_equal(secchat_server_kick(h->srv, "Alice", NULL), SECCHAT_ERR_NOT_RUNNING);
    int called = 0;
    int n = secchat_server_list(h->srv, NULL, no_member, &called);
    assert_true(n == 0 || n == SECCHAT_ERR_NOT_RUNNING);
    n = secchat_server_rooms(h->srv, no_room, &called);
    assert_true(n == 0 || n == SECCHAT_ERR_NOT_RUNNING);
    assert_int_equal(called, 0);
    assert_int_equal(secchat_server_connections(h->srv), 0);
    assert_int_equal(count_events(h, SECCHAT_SERVER_EVENT_LISTENING), 0); /* nothing opened before start */

    assert_int_equal(secchat_server_start(h->srv), SECCHAT_OK);
    assert_int_equal(count_events(h, SECCHAT_SERVER_EVENT_LISTENING), 1);
    assert_int_equal(secchat_server_start(h->srv), SECCHAT_ERR_BAD_STATE);
    assert_int_equal(count_events(h, SECCHAT_SERVER_EVENT_LISTENING), 1);
    assert_int_equal(secchat_server_broadcast(h->srv, "nobody hears this"), SECCHAT_OK);

    secchat_server_stop(h->srv, 500);
    assert_int_equal(secchat_server_broadcast(h->srv, "x"), SECCHAT_ERR_NOT_RUNNING);
    assert_int_equal(secchat_server_send_to(h->srv, "Alice", "x"), SECCHAT_ERR_NOT_RUNNING);
    assert_int_equal(secchat_server_kick(h->srv, "Alice", NULL), SECCHAT_ERR_NOT_RUNNING);

    secchat_server *none = NULL;
    assert_int_equal(secchat_server_new(&none, NULL, &two_threads, NULL), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_null(none);
    secchat_server_free(NULL); /* a no-op */
}

static void test_bad_address(void **state)
{
    harness *h = *state;
    /* All refused before any name lookup: no DNS traffic. */
    static const char *const bad[] = {"127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:http",
                                      ":8080",     "[::1]8080",  "::1:8080",        "[::1:80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        secchat_server_options o = {.listen = bad[i], .threads = 2};
        secchat_server *srv = NULL;
        int rc = secchat_server_new(&srv, h->cfg, &o, NULL);
        if (rc != SECCHAT_ERR_ADDRESS)
            fail_msg("listen '%s': %d (%s), want SECCHAT_ERR_ADDRESS", bad[i], rc, secchat_strerror(rc));
        assert_null(srv);
    }
}

static void test_busy_port(void **state)
{
    harness *h = *state; /* running on h->address */
    secchat_server_options o = {.listen = h->address, .threads = 2};
    secchat_server_callbacks cb = {.arg = h, .event = on_event};
    secchat_server *other = NULL;
    assert_int_equal(secchat_server_new(&other, h->cfg, &o, &cb), SECCHAT_OK);
    assert_int_equal(secchat_server_start(other), SECCHAT_ERR_LISTEN);
    assert_int_equal(secchat_server_broadcast(other, "x"), SECCHAT_ERR_NOT_RUNNING);
    secchat_server_free(other);
    assert_int_equal(count_events(h, SECCHAT_SERVER_EVENT_LISTENING), 1); /* the first server's only */
    /* The first one is unharmed. */
    member(h, 0, "Alice");
}

typedef struct stopper {
    secchat_server *srv;
    unsigned grace_ms;
    int64_t took_ms;
} stopper;

static void *stop_thread(void *arg)
{
    stopper *s = arg;
    int64_t t0 = tcp_peer_now_ms();
    secchat_server_stop(s->srv, s->grace_ms);
    s->took_ms = tcp_peer_now_ms() - t0;
    return NULL;
}

static void test_stop(void **state)
{
    harness *h = *state;
    session_client *a = member(h, 0, "Alice");
    session_client *b = member(h, 1, "Bob");
    drop(a, 1);
    session_client *c = secure(h, 2); /* at the prompt */
    expect(c, PROMPT);

    /* stop blocks for the peers' answers, so it runs on a thread while this one answers for the clients. */
    stopper s = {.srv = h->srv, .grace_ms = 5000};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, stop_thread, &s), 0);
    int64_t until = tcp_peer_now_ms() + WAIT_MS;
    while (!(a->closed && b->closed && c->closed) && tcp_peer_now_ms() < until)
        for (int i = 0; i < 3; i++)
            session_client_pump(&h->c[i], 5);
    for (int i = 0; i < 3; i++) {
        session_client *x = &h->c[i];
        session_client_flush(x, 1000); /* our answer to the close frame */
        assert_true(x->closed);
        assert_int_equal(x->close_code, 1001);
        assert_string_equal(x->close_reason, "server shutting down");
        assert_int_equal(x->count, 0);
    }
    assert_int_equal(pthread_join(t, NULL), 0);
    /* Every peer answered at once: stop did not sit out its grace period. */
    if (s.took_ms >= 4000)
        fail_msg("secchat_server_stop took %lld ms though every client answered its close frame", (long long)s.took_ms);

    assert_int_equal(count_events(h, SECCHAT_SERVER_EVENT_STOPPED), 1);
    assert_int_equal(secchat_server_connections(h->srv), 0);
    secchat_server_stop(h->srv, 1000); /* safe twice */
    assert_int_equal(count_events(h, SECCHAT_SERVER_EVENT_STOPPED), 1);
    assert_int_equal(secchat_server_broadcast(h->srv, "x"), SECCHAT_ERR_NOT_RUNNING);
    /* The last event is STOPPED. */
    assert_int_equal(event_at(h, (long)n_events(h) - 1).type, SECCHAT_SERVER_EVENT_STOPPED);
    secchat_server_free(NULL);
}

int main(void)
{
    /* Backstop for a hang that no bounded wait can catch (a deadlock in the server): the default action ends us. */
    alarm(240);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_events_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_text_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_custom_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broadcast, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_to, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_room, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kick, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_rooms_connections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_authorized_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_event_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_running_and_bad_state, setup_unstarted, teardown),
        cmocka_unit_test_setup_teardown(test_bad_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_port, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
    };
    return cmocka_run_group_tests_name("server api", tests, NULL, NULL);
}
