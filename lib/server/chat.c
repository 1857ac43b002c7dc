/*
 * The chat protocol on the server (docs/protocol.md): the name prompt, names,
 * rooms, commands and the fan-out of room messages.
 *
 * Part 1 messages (prompt, join and leave notices, chat lines, operator
 * lines) are byte-exact {"sender","content"} objects; answers that only Part 2
 * has (errors, /who, private messages) add "type", "room", "to" and "ts".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "common/internal.h"
#include "server/line.h"
#include "server/names.h"
#include "server/rate.h"
#include "server/runtime.h"

#define PROMPT "Please enter your name:"
#define SERVER_NAME "Server"

static int64_t unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sends msg to c alone (its own worker's thread). */
static void send_msg(sc_conn *c, const secchat_message *msg)
{
    int err;
    sc_blob *b = sc_blob_encode(msg, &err);
    if (!b)
        return; /* only NO_MEMORY is possible for the server's own texts */
    sc_conn_send_blob(c, b);
    sc_blob_unref(b);
}

static void tell_part1(sc_conn *c, const char *text)
{
    secchat_message m = {.sender = SERVER_NAME, .content = text};
    send_msg(c, &m);
}

void sc_chat_tell(sc_conn *c, const char *type, const char *text)
{
    secchat_message m = {.sender = SERVER_NAME, .content = text, .type = type, .ts = unix_ms(), .has_ts = 1};
    if (c->room)
        m.room = c->room->name;
    send_msg(c, &m);
}

void sc_chat_deliver_local(sc_worker *w, sc_room *room, const sc_blob *blob, uint64_t exclude)
{
    for (sc_conn *c = room->local[w->index].head; c; c = c->local_next)
        if (c->id != exclude)
            sc_conn_send_blob(c, blob);
}

void sc_chat_to_room(sc_worker *w, sc_room *room, sc_blob *blob, uint64_t exclude)
{
    secchat_server *srv = w->srv;
    for (unsigned i = 0; i < srv->nworkers; i++) {
        if (atomic_load_explicit(&room->local[i].count, memory_order_relaxed) == 0)
            continue;
        if (i == w->index) {
            sc_chat_deliver_local(w, room, blob, exclude);
            continue;
        }
        sc_item it = {.kind = SC_ITEM_ROOM, .fd = -1, .exclude = exclude};
        it.blob = sc_blob_ref(blob);
        it.room = room;
        atomic_fetch_add_explicit(&room->refs, 1, memory_order_relaxed);
        (void)sc_worker_push(&srv->workers[i], &it);
    }
}

/* A Part-1 notice from Server to a room. */
static void notice_room(sc_worker *w, sc_room *room, const char *text, uint64_t exclude)
{
    secchat_message m = {.sender = SERVER_NAME, .content = text};
    int err;
    sc_blob *b = sc_blob_encode(&m, &err);
    if (b) {
        sc_chat_to_room(w, room, b, exclude);
        sc_blob_unref(b);
    }
}

/* A Part-2 notice (type, room, ts) from Server to a room. */
static void notice_room_typed(sc_worker *w, sc_room *room, const char *type, const char *text, uint64_t exclude)
{
    secchat_message m = {.sender = SERVER_NAME, .content = text, .type = type, .room = room->name,
                         .ts = unix_ms(), .has_ts = 1};
    int err;
    sc_blob *b = sc_blob_encode(&m, &err);
    if (b) {
        sc_chat_to_room(w, room, b, exclude);
        sc_blob_unref(b);
    }
}

void sc_chat_refuse(sc_conn *c, int error, const char *reason)
{
    char line[SC_ADDRESS_TEXT_MAX + SECCHAT_NAME_MAX + 160];
    if (c->phase == SC_CONN_MEMBER)
        snprintf(line, sizeof line, "Connection %s (%s) closed: %s", c->address, c->name, reason);
    else
        snprintf(line, sizeof line, "Connection %s closed: %s", c->address, reason);
    secchat_server_event extra = {.error = error, .close_code = 1008, .text = reason};
    sc_event_conn_with(c, SECCHAT_SERVER_EVENT_REFUSED, line, &extra);
    sc_conn_close(c, 1008, reason);
}

/* The allow-list check, right after the handshake and before any chat. */
static int admitted(sc_conn *c)
{
    secchat_server *srv = c->worker->srv;
    int rc = SECCHAT_OK;
    pthread_rwlock_rdlock(&srv->allow_lock);
    if (srv->allow) {
        const char *name = NULL;
        rc = secchat_authorized_keys_check(srv->allow, c->peer_key, &name);
        if (rc == SECCHAT_OK && name)
            snprintf(c->required_name, sizeof c->required_name, "%s", name);
    }
    pthread_rwlock_unlock(&srv->allow_lock);
    if (rc == SECCHAT_OK)
        return 1;
    /* Not sc_chat_refuse: the operator needs the key in the line. */
    char line[SC_ADDRESS_TEXT_MAX + SECCHAT_FINGERPRINT_SIZE + 64];
    snprintf(line, sizeof line, "Refused %s: key %s is not in the authorized keys", c->address, c->fingerprint);
    secchat_server_event extra = {.error = SECCHAT_ERR_KEY_NOT_AUTHORIZED, .close_code = 1008,
                                  .text = "key not authorized"};
    sc_event_conn_with(c, SECCHAT_SERVER_EVENT_REFUSED, line, &extra);
    sc_conn_close(c, 1008, "key not authorized");
    return 0;
}

void sc_chat_on_secure(sc_conn *c)
{
    if (admitted(c))
        tell_part1(c, PROMPT);
}

void sc_chat_on_left(sc_worker *w, sc_conn *c, sc_room *room)
{
    char text[SECCHAT_NAME_MAX + 32];
    snprintf(text, sizeof text, "%s left the chat", c->name);
    notice_room(w, room, text, c->id);
}

static void refuse_name(sc_conn *c, const char *why)
{
    if (++c->name_attempts >= SECCHAT_NAME_ATTEMPTS) {
        sc_chat_refuse(c, SECCHAT_ERR_INVALID_ARGUMENT, "too many invalid names");
        return;
    }
    char text[256];
    snprintf(text, sizeof text, "%s. " PROMPT, why);
    sc_chat_tell(c, "error", text);
}

static void on_name(sc_conn *c, const char *name, size_t len)
{
    secchat_server *srv = c->worker->srv;
    enum sc_name_problem p = sc_name_check(name, len);
    if (p == SC_NAME_OK && len > srv->opts.max_name_length)
        p = SC_NAME_TOO_LONG;
    if (p != SC_NAME_OK) {
        char why[128];
        if (p == SC_NAME_TOO_LONG)
            snprintf(why, sizeof why, "Invalid name: names are at most %u bytes", srv->opts.max_name_length);
        else
            snprintf(why, sizeof why, "Invalid name: %s", sc_name_problem_text(p));
        refuse_name(c, why);
        return;
    }
    if (c->required_name[0]) {
        char want[SECCHAT_NAME_MAX + 1], got[SECCHAT_NAME_MAX + 1];
        sc_name_fold(c->required_name, want);
        memcpy(got, name, len);
        got[len] = '\0';
        sc_name_fold(got, got);
        if (strcmp(want, got) != 0) {
            char why[SECCHAT_NAME_MAX + 64];
            snprintf(why, sizeof why, "This key may only use the name '%s'", c->required_name);
            refuse_name(c, why);
            return;
        }
        name = c->required_name; /* the listed spelling */
        len = strlen(name);
    }
    memcpy(c->name, name, len);
    c->name[len] = '\0';
    int full = 0;
    int rc = sc_registry_join(&srv->reg, c, SECCHAT_SERVER_DEFAULT_ROOM, &full);
    if (rc == SECCHAT_ERR_LIMIT) {
        c->name[0] = '\0';
        sc_chat_refuse(c, rc, full ? "room " SECCHAT_SERVER_DEFAULT_ROOM " is full" : "too many rooms");
        return;
    }
    if (rc != SECCHAT_OK) {
        char why[SECCHAT_NAME_MAX + 64];
        snprintf(why, sizeof why, rc == SECCHAT_ERR_BAD_STATE ? "The name '%s' is taken" : "Cannot add '%s' now",
                 c->name);
        c->name[0] = '\0';
        refuse_name(c, why);
        return;
    }
    c->phase = SC_CONN_MEMBER;
    c->was_member = 1;
    atomic_fetch_sub(&srv->npending, 1);
    sc_conn_local_join(c);
    char text[SECCHAT_NAME_MAX + 32];
    snprintf(text, sizeof text, "%s joined the chat", c->name);
    sc_event_conn(c, SECCHAT_SERVER_EVENT_JOINED, text);
    notice_room(c->worker, c->room, text, 0); /* the newcomer too */
}

static void say(sc_conn *c, const char *text, size_t len, int is_action)
{
    char *action = NULL;
    secchat_message m = {.sender = c->name, .content = text};
    if (is_action) {
        /* "/me waves" -> "* Alice waves", a chat line Part-1 clients show as is. */
        size_t n = strlen(c->name) + len + 4;
        action = malloc(n);
        if (!action)
            return;
        snprintf(action, n, "* %s %s", c->name, text);
        m.content = action;
        m.type = "chat";
        m.room = c->room->name;
        m.ts = unix_ms();
        m.has_ts = 1;
    }
    int err;
    sc_blob *b = sc_blob_encode(&m, &err);
    if (!b) {
        sc_chat_tell(c, "error", err == SECCHAT_ERR_MESSAGE_TOO_LARGE ? "Message too long: not sent"
                                                                   : "Message not sent: out of memory");
    } else {
        if (c->worker->srv->cb.event) { /* the console line costs a printf: only when someone listens */
            /* The console shows the start of long lines only. */
            char line[200];
            size_t shown = is_action ? strlen(m.content) : len;
            int cut = (int)(shown > 120 ? 120 : shown);
            if (strcmp(c->room->name, SECCHAT_SERVER_DEFAULT_ROOM) == 0)
                snprintf(line, sizeof line, "%s: %.*s", c->name, cut, m.content);
            else
                snprintf(line, sizeof line, "[%s] %s: %.*s", c->room->name, c->name, cut, m.content);
            secchat_server_event extra = {.text = m.content};
            sc_event_conn_with(c, SECCHAT_SERVER_EVENT_CHAT, line, &extra);
        }
        sc_chat_to_room(c->worker, c->room, b, c->id);
        sc_blob_unref(b);
    }
    if (action) {
        sodium_memzero(action, strlen(action));
        free(action);
    }
}

static void cmd_msg(sc_conn *c, const char *args)
{
    char target[SECCHAT_NAME_MAX + 1];
    const char *text;
    if (sc_line_first_word(args, target, sizeof target, &text) != 0 || !*text) {
        sc_chat_tell(c, "error", "Usage: /msg NAME text");
        return;
    }
    sc_conn *t = sc_registry_find(&c->worker->srv->reg, target);
    if (!t) {
        char why[SECCHAT_NAME_MAX + 40];
        snprintf(why, sizeof why, "No member named '%s'", target);
        sc_chat_tell(c, "error", why);
        return;
    }
    /* t's name is stable while it is registered; copy it for the message. */
    secchat_message m = {.sender = c->name, .content = text, .type = "dm", .to = target, .ts = unix_ms(), .has_ts = 1};
    char to[SECCHAT_NAME_MAX + 1];
    pthread_mutex_lock(&c->worker->srv->reg.lock);
    memcpy(to, t->name, sizeof to);
    pthread_mutex_unlock(&c->worker->srv->reg.lock);
    m.to = to;
    int err;
    sc_blob *b = sc_blob_encode(&m, &err);
    if (!b) {
        sc_chat_tell(c, "error", "Message too long: not sent");
        sc_conn_unref(t);
        return;
    }
    char line[SECCHAT_NAME_MAX * 2 + 48];
    snprintf(line, sizeof line, "%s sent a private message to %s", c->name, to);
    secchat_server_event extra = {.text = text, .target = to};
    sc_event_conn_with(c, SECCHAT_SERVER_EVENT_PRIVATE, line, &extra);
    if (t->worker == c->worker) {
        if (!t->closed && t->phase == SC_CONN_MEMBER)
            sc_conn_send_blob(t, b);
        sc_blob_unref(b);
        sc_conn_unref(t);
    } else {
        sc_item it = {.kind = SC_ITEM_CONN, .fd = -1, .blob = b, .conn = t};
        (void)sc_worker_push(t->worker, &it); /* takes b and t */
    }
}

static void cmd_join(sc_conn *c, const char *args)
{
    size_t len = strlen(args);
    while (len && (args[len - 1] == ' ' || args[len - 1] == '\t'))
        len--;
    char room[SECCHAT_ROOM_MAX + 1];
    enum sc_name_problem p = sc_room_name_check(args, len);
    if (p != SC_NAME_OK) {
        char why[128];
        snprintf(why, sizeof why, "Usage: /join ROOM (%s)", p == SC_NAME_EMPTY ? "a room name is needed"
                                                                               : "room names are 1 to 32 bytes, no spaces");
        sc_chat_tell(c, "error", why);
        return;
    }
    memcpy(room, args, len);
    room[len] = '\0';
    char folded[SECCHAT_ROOM_MAX + 1];
    sc_name_fold(room, folded);
    if (strcmp(folded, c->room->folded) == 0) {
        char text[SECCHAT_ROOM_MAX + 32];
        snprintf(text, sizeof text, "You are already in room %s", c->room->name);
        sc_chat_tell(c, "system", text);
        return;
    }
    sc_worker *w = c->worker;
    sc_room *old = NULL;
    sc_room *was = c->room;
    sc_conn_local_leave(c, was);
    int full = 0;
    int rc = sc_registry_move(&w->srv->reg, c, room, &old, &full);
    if (rc != SECCHAT_OK) {
        sc_conn_local_join(c);
        char why[SECCHAT_ROOM_MAX + 96];
        if (rc == SECCHAT_ERR_LIMIT && full)
            snprintf(why, sizeof why, "Room %s is full (%u members)", room, w->srv->opts.max_room_members);
        else if (rc == SECCHAT_ERR_LIMIT)
            snprintf(why, sizeof why, "Cannot create room %s: the server has %u rooms, its limit", room,
                     w->srv->opts.max_rooms);
        else
            snprintf(why, sizeof why, "Cannot change rooms now");
        sc_chat_tell(c, "error", why);
        return;
    }
    sc_conn_local_join(c);
    char text[SECCHAT_NAME_MAX + SECCHAT_ROOM_MAX + 32];
    snprintf(text, sizeof text, "%s went to room %s", c->name, c->room->name);
    notice_room_typed(w, old, "leave", text, c->id);
    snprintf(text, sizeof text, "%s joined room %s", c->name, c->room->name);
    notice_room_typed(w, c->room, "join", text, 0);
    char line[SECCHAT_NAME_MAX + 2 * SECCHAT_ROOM_MAX + 32];
    snprintf(line, sizeof line, "%s moved from %s to %s", c->name, old->name, c->room->name);
    secchat_server_event extra = {.text = old->name};
    sc_event_conn_with(c, SECCHAT_SERVER_EVENT_ROOM, line, &extra);
    sc_room_unref(old);
}

/* Appends to a growing text, truncating at the message limit. */
typedef struct text_acc {
    char *buf;
    size_t len, cap;
} text_acc;

static void acc_add(text_acc *a, const char *s)
{
    size_t n = strlen(s);
    if (a->len + n + 1 > a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 256;
        while (cap < a->len + n + 1)
            cap *= 2;
        char *b = realloc(a->buf, cap);
        if (!b)
            return;
        a->buf = b;
        a->cap = cap;
    }
    memcpy(a->buf + a->len, s, n + 1);
    a->len += n;
}

/* Longest answer we build: leaves room for the JSON around it. */
#define ANSWER_MAX 60000u

/* Lines of a /who or /rooms answer, from the snapshots secchat_server_list
 * and secchat_server_rooms take (sorted, copied under the registry lock). */
typedef struct answer {
    text_acc body;
    unsigned lines, left_out;
} answer;

static void who_line(void *arg, const secchat_server_member_info *m)
{
    answer *ans = arg;
    char line[160];
    ans->lines++;
    if (ans->body.len > ANSWER_MAX) {
        ans->left_out++;
        return;
    }
    snprintf(line, sizeof line, "\n  %s  %s", m->name, m->fingerprint);
    acc_add(&ans->body, line);
}

static void room_line(void *arg, const char *room, unsigned members)
{
    answer *ans = arg;
    char line[128];
    ans->lines++;
    if (ans->body.len > ANSWER_MAX)
        return;
    snprintf(line, sizeof line, "\n  %s (%u)", room, members);
    acc_add(&ans->body, line);
}

/* Sends "head" followed by the body. */
static void tell_answer(sc_conn *c, int rc, const char *head, answer *ans)
{
    text_acc a = {0};
    if (rc >= 0) {
        acc_add(&a, head);
        if (ans->body.buf)
            acc_add(&a, ans->body.buf);
    }
    if (rc >= 0 && ans->left_out) {
        char more[48];
        snprintf(more, sizeof more, "\n  ... and %u more", ans->left_out);
        acc_add(&a, more);
    }
    sc_chat_tell(c, rc >= 0 ? "system" : "error", a.buf ? a.buf : "Out of memory");
    free(a.buf);
    free(ans->body.buf);
}

static void cmd_who(sc_conn *c)
{
    answer ans = {0};
    int rc = secchat_server_list(c->worker->srv, c->room->name, who_line, &ans);
    char head[SECCHAT_ROOM_MAX + 40];
    snprintf(head, sizeof head, "Members of room %s (%u):", c->room->name, ans.lines);
    tell_answer(c, rc, head, &ans);
}

static void cmd_rooms(sc_conn *c)
{
    answer ans = {0};
    int rc = secchat_server_rooms(c->worker->srv, room_line, &ans);
    char head[32];
    snprintf(head, sizeof head, "Rooms (%u):", ans.lines);
    tell_answer(c, rc, head, &ans);
}

static const char help_text[] = "Commands:\n"
                                "  /help              this list\n"
                                "  /who               members of your room, with their key fingerprints\n"
                                "  /rooms             rooms and how many are in each\n"
                                "  /join ROOM         leave your room and enter ROOM (created if new)\n"
                                "  /msg NAME text     a private message to NAME, in any room\n"
                                "  /me action         an action: * NAME action\n"
                                "  //text             send a line that starts with /\n"
                                "Anything else is said to your room.";

static void on_command(sc_conn *c, const sc_line *l)
{
    secchat_server *srv = c->worker->srv;
    if (srv->cb.command && l->command[0] && srv->cb.command(srv->cb.arg, c, l->command, l->args))
        return;
    if (strcmp(l->command, "help") == 0) {
        sc_chat_tell(c, "system", help_text);
    } else if (strcmp(l->command, "who") == 0) {
        cmd_who(c);
    } else if (strcmp(l->command, "rooms") == 0) {
        cmd_rooms(c);
    } else if (strcmp(l->command, "join") == 0) {
        cmd_join(c, l->args);
    } else if (strcmp(l->command, "msg") == 0) {
        cmd_msg(c, l->args);
    } else if (strcmp(l->command, "me") == 0) {
        if (!l->args[0])
            sc_chat_tell(c, "error", "Usage: /me action");
        else
            say(c, l->args, strlen(l->args), 1);
    } else {
        char text[96];
        snprintf(text, sizeof text, "Unknown command '/%s'. Type /help for the list.",
                 l->command[0] ? l->command : "?");
        sc_chat_tell(c, "error", text);
    }
}

/*
 * The message rate limit (rate.h): a line over it is not sent, and its
 * author is told at the first of each run of such lines; after burst of them
 * in a row the member is closed, since a client that goes on after the
 * warning is not a person typing.
 */
static int within_rate(sc_conn *c)
{
    const secchat_server_options *o = &c->worker->srv->opts;
    if (o->rate == SECCHAT_SERVER_UNLIMITED || sc_rate_allow(&c->rate_tat_us, sc_now_us(), o->rate, o->burst)) {
        c->rate_refused = 0;
        return 1;
    }
    if (++c->rate_refused >= o->burst) {
        sc_chat_refuse(c, SECCHAT_ERR_RATE_LIMITED, "message rate exceeded");
    } else if (c->rate_refused == 1) {
        char text[160];
        snprintf(text, sizeof text, "Slow down: at most %u messages a second (%u at once); this line was not sent",
                 o->rate, o->burst);
        sc_chat_tell(c, "error", text);
    }
    return 0;
}

void sc_chat_on_message(sc_conn *c, const uint8_t *data, size_t len)
{
    sc_worker *w = c->worker;
    secchat_message msg;
    int rc = secchat_message_decode(&msg, w->scratch, SECCHAT_MESSAGE_SCRATCH(len), data, len);
    if (rc != SECCHAT_OK) {
        char reason[100];
        snprintf(reason, sizeof reason, "invalid message: %s", secchat_strerror(rc));
        sc_chat_refuse(c, rc, reason);
        return;
    }
    if (c->phase == SC_CONN_NAMING) {
        on_name(c, msg.content, msg.content_len);
    } else if (c->phase == SC_CONN_MEMBER && within_rate(c)) {
        sc_line l;
        sc_line_parse(msg.content, msg.content_len, &l);
        if (l.is_command)
            on_command(c, &l);
        else
            say(c, l.text, l.text_len, 0);
    }
    sodium_memzero(w->scratch, SECCHAT_MESSAGE_SCRATCH(len)); /* plaintext */
}

/* ---- public member accessors (valid inside callbacks) ---- */

SECCHAT_API uint64_t secchat_server_member_id(const secchat_server_member *m)
{
    return m ? m->id : 0;
}

SECCHAT_API const char *secchat_server_member_name(const secchat_server_member *m)
{
    return m ? m->name : NULL;
}

SECCHAT_API const char *secchat_server_member_room(const secchat_server_member *m)
{
    return m && m->room ? m->room->name : NULL;
}

SECCHAT_API const char *secchat_server_member_address(const secchat_server_member *m)
{
    return m ? m->address : NULL;
}

SECCHAT_API const uint8_t *secchat_server_member_key(const secchat_server_member *m)
{
    return m ? m->peer_key : NULL;
}

SECCHAT_API const char *secchat_server_member_fingerprint(const secchat_server_member *m)
{
    return m ? m->fingerprint : NULL;
}

SECCHAT_API int secchat_server_member_reply(secchat_server_member *m, const char *text)
{
    if (!m || !text)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    if (m->closed || m->closing)
        return SECCHAT_ERR_NOT_RUNNING;
    secchat_message msg = {.sender = SERVER_NAME, .content = text, .type = "system", .ts = unix_ms(), .has_ts = 1};
    if (m->room)
        msg.room = m->room->name;
    int err;
    sc_blob *b = sc_blob_encode(&msg, &err);
    if (!b)
        return err;
    sc_conn_send_blob(m, b);
    sc_blob_unref(b);
    return SECCHAT_OK;
}
