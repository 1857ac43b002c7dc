/*
 * libsecchat chat server: a multi-core runtime for the secchat protocol.
 *
 * One acceptor thread takes TCP connections and hands each to one of N worker
 * threads (an event loop each, libuv). A worker owns its connections: it runs
 * their sessions (upgrade, Noise handshake, transport), the name prompt and
 * the chat commands. A room message is decrypted once, on its author's
 * worker, and handed as one shared plaintext to every worker that has members
 * in the room; each worker encrypts it for its own members and writes all
 * frames pending for a connection with one system call per loop iteration.
 *
 * The protocol is docs/protocol.md: the original program's, byte for byte,
 * plus names, rooms, private messages and commands.
 *
 * Threads: every secchat_server_* call below is safe from any thread, except
 * that free must not race with other calls. Callbacks run on worker threads,
 * possibly several at once; they must not block for long, and they must not
 * call secchat_server_stop or secchat_server_free.
 */
#ifndef SECCHAT_SERVER_H
#define SECCHAT_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "chat.h"
#include "common.h"
#include "keys.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Defaults of secchat_server_options (a zero field means the default). */
#define SECCHAT_SERVER_DEFAULT_LISTEN "127.0.0.1:8080"
#define SECCHAT_SERVER_DEFAULT_MAX_CLIENTS 10000u
#define SECCHAT_SERVER_DEFAULT_QUEUE_BYTES 1048576u /* 1 MiB */
#define SECCHAT_SERVER_DEFAULT_QUEUE_MESSAGES 4096u
#define SECCHAT_SERVER_DEFAULT_HANDSHAKE_TIMEOUT_MS 10000u
#define SECCHAT_SERVER_DEFAULT_PING_INTERVAL_MS 30000u
#define SECCHAT_SERVER_DEFAULT_PONG_TIMEOUT_MS 20000u
#define SECCHAT_SERVER_DEFAULT_MAX_PENDING 1024u
#define SECCHAT_SERVER_DEFAULT_NAME_TIMEOUT_MS 120000u
#define SECCHAT_SERVER_DEFAULT_RATE 20u
#define SECCHAT_SERVER_DEFAULT_BURST 100u
#define SECCHAT_SERVER_DEFAULT_MAX_ROOMS 1000u
#define SECCHAT_SERVER_DEFAULT_MAX_ROOM_MEMBERS 10000u
/* For rate: no message rate limit. */
#define SECCHAT_SERVER_UNLIMITED 0xffffffffu
#define SECCHAT_SERVER_DEFAULT_ROOM "lobby"
/* Longest member name, in bytes of UTF-8. */
#define SECCHAT_NAME_MAX 32u
/* Longest room name, in bytes of UTF-8. */
#define SECCHAT_ROOM_MAX 32u
/* Name answers a connection may get wrong before it is closed. */
#define SECCHAT_NAME_ATTEMPTS 5u

typedef struct secchat_server_options {
    const char *listen;          /* "ADDR:PORT": 127.0.0.1:8080, [::1]:0, localhost:9000; port 0 picks one */
    unsigned threads;            /* worker threads; 0: one per online CPU */
    unsigned max_clients;        /* open connections, named or not; more are refused with HTTP 503 */
    size_t queue_bytes;          /* per connection: unwritten output allowed before it is closed (1008) */
    unsigned queue_messages;     /* per connection: unwritten messages allowed before it is closed (1008) */
    unsigned handshake_timeout_ms; /* TCP accept to secure channel; slower peers are closed */
    unsigned ping_interval_ms;   /* a member silent this long is pinged */
    unsigned pong_timeout_ms;    /* and closed when the pong is this late */
    unsigned max_pending;        /* connections not yet named; more are refused with HTTP 503 */
    unsigned name_timeout_ms;    /* secure channel to an accepted name; slower peers are closed (1008) */
    /* Chat lines and commands per second a member may send on average, and
     * how many at once (a token bucket). A line over the limit is not sent
     * and its author is told; after burst such lines in a row the member is
     * closed (1008). SECCHAT_SERVER_UNLIMITED: no limit. */
    unsigned rate;
    unsigned burst;
    unsigned max_rooms;          /* rooms at once, the default room included; /join of another is refused */
    unsigned max_room_members;   /* members per room; /join of a full room is refused */
    unsigned max_name_length;    /* longest member name in bytes, 1..SECCHAT_NAME_MAX (the default) */
} secchat_server_options;

typedef struct secchat_server secchat_server;

/* A member (a named connection) as callbacks see it; valid during the callback only. */
typedef struct secchat_server_member secchat_server_member;

SECCHAT_API uint64_t secchat_server_member_id(const secchat_server_member *m);
SECCHAT_API const char *secchat_server_member_name(const secchat_server_member *m);
SECCHAT_API const char *secchat_server_member_room(const secchat_server_member *m);
/* "127.0.0.1:54321" or "[::1]:54321". */
SECCHAT_API const char *secchat_server_member_address(const secchat_server_member *m);
/* The member's static public key (32 bytes) and its fingerprint (secchat_fingerprint). */
SECCHAT_API const uint8_t *secchat_server_member_key(const secchat_server_member *m);
SECCHAT_API const char *secchat_server_member_fingerprint(const secchat_server_member *m);

/*
 * Sends a Server message to this member alone (e.g. the answer to a custom
 * command). Only from inside a callback that was given this member.
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_server_member_reply(secchat_server_member *m, const char *text);

enum secchat_server_event_type {
    SECCHAT_SERVER_EVENT_LISTENING = 1, /* address: the bound address */
    SECCHAT_SERVER_EVENT_CONNECTED,     /* address: a new TCP connection */
    SECCHAT_SERVER_EVENT_UPGRADED,      /* the WebSocket upgrade succeeded */
    SECCHAT_SERVER_EVENT_HANDSHAKE,     /* the Noise handshake started */
    SECCHAT_SERVER_EVENT_SECURE,        /* the handshake completed: fingerprint */
    SECCHAT_SERVER_EVENT_JOINED,        /* member joined the chat (name, room) */
    SECCHAT_SERVER_EVENT_CHAT,          /* member said text in room */
    SECCHAT_SERVER_EVENT_PRIVATE,       /* member sent text to target (/msg) */
    SECCHAT_SERVER_EVENT_ROOM,          /* member moved from room (text) to room */
    SECCHAT_SERVER_EVENT_LEFT,          /* member left the chat */
    SECCHAT_SERVER_EVENT_REFUSED,       /* a connection was closed for cause: error, close_code, text */
    SECCHAT_SERVER_EVENT_STOPPED        /* the server finished shutting down */
};

typedef struct secchat_server_event {
    enum secchat_server_event_type type;
    uint64_t id;               /* connection id (0 for LISTENING/STOPPED) */
    const char *address;       /* peer "ADDR:PORT" (or the bound address for LISTENING) */
    const char *name;          /* member name once known, else NULL */
    const char *room;          /* JOINED, CHAT, ROOM, LEFT */
    const char *target;        /* PRIVATE: the recipient's name */
    const char *text;          /* CHAT, PRIVATE: the line; ROOM: the old room; REFUSED: why */
    const char *fingerprint;   /* SECURE and later: the peer's static key fingerprint */
    int error;                 /* REFUSED: SECCHAT_ERR_* */
    uint16_t close_code;       /* REFUSED: WebSocket close code sent, 0 if none */
    const char *line;          /* a console line in the original's words, e.g. "Alice joined the chat" */
} secchat_server_event;

typedef struct secchat_server_callbacks {
    void *arg;
    /* Something happened; ev and its strings are valid during the call. */
    void (*event)(void *arg, const secchat_server_event *ev);
    /*
     * A member typed "/cmd args": return 1 if the command was handled here
     * (answer with secchat_server_member_reply), 0 to let the built-in
     * commands run (they answer unknown ones with an error). args is "" when
     * there are none. Runs before the built-ins, so it can also replace them.
     */
    int (*command)(void *arg, secchat_server_member *m, const char *cmd, const char *args);
} secchat_server_callbacks;

/*
 * A server for cfg (protocol, PSK, static key, trust hook, limits), which is
 * shared, not copied: keep it alive until secchat_server_free. cfg may still
 * be configured until secchat_server_start, which freezes it.
 * opts and cb may be NULL (defaults; no callbacks); both are copied, the
 * listen string included. Nothing is opened until secchat_server_start.
 * Errors: INVALID_ARGUMENT, NO_MEMORY, ADDRESS (listen does not parse).
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_server_new(secchat_server **out, const secchat_config *cfg,
                                                       const secchat_server_options *opts,
                                                       const secchat_server_callbacks *cb);

/*
 * Binds, listens and starts the acceptor and worker threads; returns once the
 * server accepts connections. Errors: ADDRESS, LISTEN (errno says why: port in
 * use, permission), THREAD, BAD_STATE (already started), NO_MEMORY.
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_server_start(secchat_server *srv);

/* The bound address ("127.0.0.1:8080", "[::1]:40000"): the real port when 0 was asked. */
SECCHAT_API const char *secchat_server_address(const secchat_server *srv);

/*
 * Graceful shutdown: stops accepting, sends every connection a close frame
 * (1001, "server shutting down"), waits up to grace_ms for the peers' answers
 * and the output to drain, then closes what is left and joins the threads.
 * Safe to call twice. Must not be called from a callback.
 */
SECCHAT_API void secchat_server_stop(secchat_server *srv, unsigned grace_ms);

/* Stops (if running) and frees. NULL is a no-op. */
SECCHAT_API void secchat_server_free(secchat_server *srv);

/* Operator broadcast: a Server message to every member in every room. */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_server_broadcast(secchat_server *srv, const char *text);

/* A Server message to one member, by name (case-insensitive). Errors: NO_SUCH_MEMBER. */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_server_send_to(secchat_server *srv, const char *name, const char *text);

/*
 * A message from sender (NULL: "Server") to every member of room.
 * Errors: NO_SUCH_MEMBER (the room has no members).
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_server_send_room(secchat_server *srv, const char *room,
                                                             const char *sender, const char *text);

/* Closes a member's connection with 1008 and reason (NULL: "kicked by the operator"). */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_server_kick(secchat_server *srv, const char *name, const char *reason);

/* One member, as secchat_server_list reports it. */
typedef struct secchat_server_member_info {
    uint64_t id;
    const char *name;
    const char *room;
    const char *address;
    const char *fingerprint;
} secchat_server_member_info;

/*
 * Calls fn once per member, sorted by name, from the calling thread, on a
 * snapshot. Returns the number of members (or a negative error).
 */
SECCHAT_API int secchat_server_list(secchat_server *srv, const char *room_or_null,
                                    void (*fn)(void *arg, const secchat_server_member_info *m), void *arg);

/* Calls fn once per room with its member count, sorted by name; returns the number of rooms. */
SECCHAT_API int secchat_server_rooms(secchat_server *srv, void (*fn)(void *arg, const char *room, unsigned members),
                                     void *arg);

/*
 * Admits only clients whose static key is in keys (secchat_authorized_keys_load),
 * from now on: others are closed with 1008 right after the handshake, and a
 * listed key that names a member may only use that name. The server takes
 * ownership of keys and frees the list it replaces; NULL admits everyone who
 * has the PSK. Members already in stay (as with SSH). Any thread, any time
 * (e.g. on SIGHUP).
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_server_set_authorized_keys(secchat_server *srv,
                                                                       secchat_authorized_keys *keys);

/* Connections open now (named or not). */
SECCHAT_API unsigned secchat_server_connections(const secchat_server *srv);

#ifdef __cplusplus
}
#endif

#endif /* SECCHAT_SERVER_H */
