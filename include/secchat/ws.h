/*
 * libsecchat WebSocket endpoint (RFC 6455), sans-I/O.
 *
 * One secchat_ws is one end of one connection, client or server. It never
 * touches a socket, a clock or a thread: the owner feeds it the bytes it
 * read, writes out the bytes it produces, and pulls events from it.
 *
 *     feed(bytes read)  ->  [HTTP upgrade | frames via wslay]  ->  events
 *     send(message)     ->  frames                             ->  output
 *
 * The HTTP/1.1 opening handshake is checked strictly (bounded header block,
 * required headers, version 13, 16-byte key) and refused with a 400 or 426
 * response. After it, only binary messages are accepted, up to max_message
 * bytes (65535 by default); text messages close with 1003, larger messages
 * with 1009, framing violations with 1002. Pings are answered by the engine.
 *
 * A secchat_ws is not thread-safe; distinct endpoints may be used from
 * distinct threads.
 */
#ifndef SECCHAT_WS_H
#define SECCHAT_WS_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest binary message accepted by default: one Noise message. */
#define SECCHAT_WS_DEFAULT_MAX_MESSAGE 65535u
/* Default bound on output waiting to be written (see secchat_ws_send). */
#define SECCHAT_WS_DEFAULT_MAX_OUTPUT 1048576u
/* Limits of the HTTP opening handshake. */
#define SECCHAT_WS_MAX_HEADER_BLOCK 8192u
#define SECCHAT_WS_MAX_HEADER_FIELDS 64u

/* Close status codes (RFC 6455 section 7.4.1). */
enum secchat_ws_close_code {
    SECCHAT_WS_CLOSE_NORMAL = 1000,
    SECCHAT_WS_CLOSE_GOING_AWAY = 1001,
    SECCHAT_WS_CLOSE_PROTOCOL_ERROR = 1002,
    SECCHAT_WS_CLOSE_UNSUPPORTED_DATA = 1003,
    SECCHAT_WS_CLOSE_NO_STATUS = 1005,       /* never sent: the peer's close had no code */
    SECCHAT_WS_CLOSE_ABNORMAL = 1006,        /* never sent: no close frame at all */
    SECCHAT_WS_CLOSE_INVALID_PAYLOAD = 1007, /* e.g. a close reason that is not UTF-8 */
    SECCHAT_WS_CLOSE_POLICY_VIOLATION = 1008,
    SECCHAT_WS_CLOSE_MESSAGE_TOO_BIG = 1009,
    SECCHAT_WS_CLOSE_INTERNAL_ERROR = 1011
};

/* Longest close reason a close frame can carry (125 - 2 bytes of code). */
#define SECCHAT_WS_MAX_CLOSE_REASON 123u

typedef struct secchat_ws secchat_ws;

/* Limits; a zero field means "use the default". */
typedef struct secchat_ws_limits {
    size_t max_message; /* largest message accepted from the peer, <= 2^31-1 */
    size_t max_output;  /* secchat_ws_send refuses while more output is pending */
} secchat_ws_limits;

/* A parsed ws:// URL. host has no brackets; host_header is what goes into
 * the Host field ("[::1]:8080", or without the port when it is 80). */
typedef struct secchat_ws_url {
    char host[256];
    char host_header[264];
    char path[1024]; /* "/" when the URL has none; includes any "?query" */
    uint16_t port;   /* 80 when the URL has none */
    int is_ipv6;     /* host was written as [address] */
} secchat_ws_url;

/*
 * Parses "ws://host[:port][/path][?query]". The host is a name, an IPv4
 * address or a bracketed IPv6 address. wss://, user info, fragments, empty
 * hosts, bad ports and control characters are refused with WS_URL.
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_ws_url_parse(secchat_ws_url *out, const char *url);

/*
 * Creates a server endpoint waiting for an HTTP upgrade request.
 * limits may be NULL. Errors: INVALID_ARGUMENT, NO_MEMORY.
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_ws_new_server(secchat_ws **out, const secchat_ws_limits *limits);

/*
 * Creates a client endpoint for url; its upgrade request (with a fresh random
 * Sec-WebSocket-Key) is pending output at once. limits may be NULL.
 * Errors: INVALID_ARGUMENT, WS_URL, NO_MEMORY, CRYPTO_INIT.
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_ws_new_client(secchat_ws **out, const char *url,
                                                          const secchat_ws_limits *limits);

/* Frees the endpoint and wipes its buffers. NULL is a no-op. */
SECCHAT_API void secchat_ws_free(secchat_ws *ws);

/*
 * Processes len bytes received from the peer. All of them are consumed;
 * complete messages and state changes become events (secchat_ws_next_event)
 * and any reply (upgrade response, pong, close) becomes output.
 *
 * Returns SECCHAT_OK, or the reason the connection failed: an HTTP_* or WS_*
 * code when the peer misbehaved (the refusal, a 400/426 response or a close
 * frame, is already in the output: write it, then close the socket). Once
 * failed, every later call returns the same code. NO_MEMORY is also fatal.
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_ws_feed(secchat_ws *ws, const uint8_t *data, size_t len);

/*
 * Tells the endpoint that the peer closed the transport (read returned 0 or
 * failed). If the close handshake had not finished, a CLOSED event with code
 * 1006 and error WS_CONNECTION_LOST follows.
 */
SECCHAT_API void secchat_ws_feed_eof(secchat_ws *ws);

/* Output: bytes waiting to be written to the peer, in order. The pointer
 * stays valid until the next call that changes the endpoint. */
SECCHAT_API const uint8_t *secchat_ws_output(const secchat_ws *ws, size_t *len);

/* Marks the first n output bytes as written (n larger than pending drains it). */
SECCHAT_API void secchat_ws_output_consumed(secchat_ws *ws, size_t n);

enum secchat_ws_event_type {
    SECCHAT_WS_EVENT_NONE = 0,
    SECCHAT_WS_EVENT_OPEN,    /* upgrade done: messages may flow */
    SECCHAT_WS_EVENT_MESSAGE, /* one complete binary message: data, len */
    SECCHAT_WS_EVENT_PONG,    /* a pong arrived: data, len = its payload */
    SECCHAT_WS_EVENT_CLOSED   /* connection over: close_code, reason, error */
};

typedef struct secchat_ws_event {
    enum secchat_ws_event_type type;
    const uint8_t *data; /* MESSAGE, PONG: valid until the next call on the endpoint */
    size_t len;
    /* CLOSED: the code that ended the connection (the peer's, or the one we
     * sent when we failed it; 1006 when the transport just ended) ... */
    uint16_t close_code;
    /* ... its reason as text (NUL-terminated, possibly empty) ... */
    const char *reason;
    /* ... and SECCHAT_OK for an orderly close, else the error that caused it. */
    int error;
} secchat_ws_event;

/*
 * Takes the next event: returns 1 and fills ev, or 0 when there is none.
 * Events come in the order things happened on the wire; CLOSED is the last.
 */
SECCHAT_API int secchat_ws_next_event(secchat_ws *ws, secchat_ws_event *ev);

/*
 * Queues one binary message (len <= max_message of the peer; our own limit
 * is not applied to what we send, but 2^31-1 is). The frames appear in the
 * output; client frames are masked with a fresh random key.
 * Errors: INVALID_ARGUMENT, BAD_STATE (upgrade not done), WS_CLOSED,
 * WS_OUTPUT_FULL (more than max_output pending; retry later), NO_MEMORY,
 * or the sticky failure code.
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_ws_send(secchat_ws *ws, const uint8_t *msg, size_t len);

/*
 * Starts the close handshake with code (1000-1003, 1007-1011 or 3000-4999:
 * the codes RFC 6455 defines for sending, plus the application ranges) and
 * an optional UTF-8 reason (NULL or at most 123 bytes). The CLOSED event
 * follows when the peer answers. A second call is a no-op.
 * Errors: INVALID_ARGUMENT, BAD_STATE (before the upgrade).
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_ws_close(secchat_ws *ws, uint16_t code, const char *reason);

/*
 * Keepalive. secchat_ws_ping sends a ping unless one is still unanswered;
 * now_ms is any monotonic clock in milliseconds, kept to measure the wait.
 * secchat_ws_ping_overdue returns 1 when a ping sent at least timeout_ms ago
 * is still unanswered, else 0: the owner then closes (e.g. with 1001).
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_ws_ping(secchat_ws *ws, uint64_t now_ms);
SECCHAT_API int secchat_ws_ping_overdue(const secchat_ws *ws, uint64_t now_ms, uint64_t timeout_ms);

enum secchat_ws_state {
    SECCHAT_WS_STATE_CONNECTING = 1, /* HTTP upgrade in progress */
    SECCHAT_WS_STATE_OPEN,
    SECCHAT_WS_STATE_CLOSING, /* a close frame went one way only */
    SECCHAT_WS_STATE_CLOSED   /* done: write the remaining output, then close the socket */
};

SECCHAT_API enum secchat_ws_state secchat_ws_state(const secchat_ws *ws);

/*
 * Gives back memory an idle endpoint does not need: emptied queues and, on
 * the server side between whole frames, the frame parser's buffers (about
 * 9 KiB in all); they are made again when next needed. For servers holding
 * many quiet connections: call it on those without recent traffic. The data
 * of the last event taken becomes invalid.
 */
SECCHAT_API void secchat_ws_trim(secchat_ws *ws);

/* Server: the request target of the upgrade request ("/" or "/chat?x=1"),
 * or NULL before it arrived. */
SECCHAT_API const char *secchat_ws_request_path(const secchat_ws *ws);

#ifdef __cplusplus
}
#endif

#endif /* SECCHAT_WS_H */
