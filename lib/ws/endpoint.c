/*
 * secchat_ws: one WebSocket endpoint as a sans-I/O engine.
 *
 * Before the upgrade the endpoint collects the HTTP header block (http_*.c
 * check it). After it, wslay's event API parses and validates every
 * incoming frame and keeps the close-handshake state: its recv callback is
 * served from the bytes of the current secchat_ws_feed call, and its
 * callbacks turn complete messages into events. wslay runs unbuffered for
 * data frames: their payload goes straight into one reassembly buffer here.
 *
 * Every byte we send is written here (frame.c), not by wslay: binary
 * messages go straight into the output queue without a copy, control frames
 * (pong, close, ping) as soon as they are due. wslay's own output, which
 * mirrors the control frames for its bookkeeping, is discarded. That lets
 * one wslay setup serve both roles: wslay always runs as a client-side
 * parser, reading unmasked frames; a server endpoint first passes its input
 * through unmask.c, which checks and strips the clients' masks a word at a
 * time (wslay's byte-at-a-time loop cost a quarter of the message path).
 *
 * Failing the connection (RFC 6455 section 7.1.7) happens on two paths:
 *  - what wslay detects (reserved bits, unknown opcodes, bad fragmentation,
 *    oversized control frames, non-minimal lengths, bad close codes, masked
 *    server frames) it answers by queueing a close frame; we read its code
 *    back and write that close frame ourselves;
 *  - what we detect (unmasked client frames, text messages, oversized
 *    messages, 1-byte close payloads, bad UTF-8 in a close reason, and any
 *    failure of the layer above) we close ourselves, after stopping wslay.
 */
#include <stdlib.h>
#include <string.h>
#include <wslay/wslay.h>

#include "common/buf.h"
#include "common/internal.h"
#include "secchat/message.h"
#include "secchat/ws.h"
#include "ws/close_hold.h"
#include "ws/endpoint.h"
#include "ws/frame.h"
#include "ws/http.h"
#include "ws/mask.h"
#include "ws/unmask.h"

/* Events wait in a byte queue as a header followed by their data. */
typedef struct ws_event_record {
    uint32_t type;
    uint32_t len;
} ws_event_record;

struct secchat_ws {
    int is_server;
    enum secchat_ws_state state;
    int failure; /* sticky: 0, or why the connection failed */
    secchat_ws_limits limits;
    wslay_event_context_ptr wslay;

    sc_buf http_in;                   /* header bytes until the upgrade is done */
    char key[SC_WS_KEY_LEN + 1];      /* client: our Sec-WebSocket-Key */
    char *path;                       /* server: the accepted request's target (heap: mostly short) */

    const uint8_t *in; /* bytes of the current feed call not yet given to wslay */
    size_t in_len;
    int in_recv; /* inside wslay_event_recv: wslay's output is pumped after it */
    sc_buf msg;  /* the incoming data message being reassembled */
    int frame_is_data;
    int frame_is_close;
    uint8_t close_head[2]; /* the first payload bytes of a close frame: its code */
    size_t close_seen;
    int in_message; /* a fragmented data message has begun and not ended */
    sc_ws_hook hook;
    void *hook_arg;
    size_t frame_start; /* sc_ws_message_begin: where the frame begins in out */
    size_t frame_header;
    size_t frame_len;
    sc_buf out;
    sc_buf events;
    size_t event_to_release; /* bytes of the event handed out last */
    int closed_delivered; /* the CLOSED event went out (it is never queued) */

    /* Failure detected inside a wslay callback, acted on after wslay returns. */
    int pending_error;
    uint16_t pending_code;
    const char *pending_reason;

    int close_initiated; /* we sent the first close frame */
    int close_written;   /* a close frame of ours is in the output: nothing may follow it */
    uint16_t close_code;
    char close_reason[SECCHAT_WS_MAX_CLOSE_REASON + 1];

    int ping_outstanding;
    uint64_t ping_sent_ms;
    uint8_t ping_payload[8];

    sc_ws_masker *masker;    /* client: masks (a server sends none, and has many connections) */
    sc_ws_unmasker unmasker; /* server: the clients' frames */
    int unmask_failed;       /* an unmasked client frame was met */
    sc_ws_close_hold close_hold; /* the first close frame, given to wslay whole */
};

/* ---- events ------------------------------------------------------------- */

static int queue_event(secchat_ws *ws, enum secchat_ws_event_type type, const uint8_t *data, size_t len)
{
    ws_event_record rec = {(uint32_t)type, (uint32_t)len};
    uint8_t *p = sc_buf_extend(&ws->events, sizeof rec + len);
    if (!p)
        return SECCHAT_ERR_NO_MEMORY;
    memcpy(p, &rec, sizeof rec);
    if (len)
        memcpy(p + sizeof rec, data, len);
    return SECCHAT_OK;
}

/* The data of the event handed out last stays valid until the next call. */
static void release_event(secchat_ws *ws)
{
    if (ws->event_to_release) {
        sc_buf_consume(&ws->events, ws->event_to_release);
        ws->event_to_release = 0;
    }
}

static void set_close_reason(secchat_ws *ws, uint16_t code, const uint8_t *reason, size_t len)
{
    if (len > SECCHAT_WS_MAX_CLOSE_REASON)
        len = SECCHAT_WS_MAX_CLOSE_REASON;
    ws->close_code = code;
    if (len)
        memcpy(ws->close_reason, reason, len);
    ws->close_reason[len] = '\0';
}

/* Moves to CLOSED. The CLOSED event is not queued: it is always the last
 * one, so next_event hands it out once the queue is empty, and no failed
 * allocation can lose it. */
static void enter_closed(secchat_ws *ws)
{
    ws->state = SECCHAT_WS_STATE_CLOSED;
}

/* ---- failing the connection ------------------------------------------- */

/* Writes one final control frame (masked when we are the client). */
static int write_control(secchat_ws *ws, uint8_t opcode, const uint8_t *payload, size_t len)
{
    uint8_t frame[SC_WS_MAX_FRAME_HEADER + 125];
    uint8_t mask[4];
    if (len > 125)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    if (!ws->is_server)
        sc_ws_masker_fill(ws->masker, mask, sizeof mask);
    size_t n = sc_ws_frame_header(frame, opcode, len, ws->is_server ? NULL : mask);
    if (len)
        memcpy(frame + n, payload, len);
    if (!ws->is_server)
        sc_ws_mask(frame + n, len, mask);
    return sc_buf_append(&ws->out, frame, n + len);
}

/* Writes our close frame: code 0 means an empty payload (no status code). */
static int write_close(secchat_ws *ws, uint16_t code, const uint8_t *reason, size_t rlen)
{
    uint8_t payload[2 + SECCHAT_WS_MAX_CLOSE_REASON];
    size_t n = 0;
    if (rlen > SECCHAT_WS_MAX_CLOSE_REASON)
        rlen = SECCHAT_WS_MAX_CLOSE_REASON;
    if (code) {
        payload[0] = (uint8_t)(code >> 8);
        payload[1] = (uint8_t)code;
        if (rlen)
            memcpy(payload + 2, reason, rlen);
        n = 2 + rlen;
    }
    ws->close_written = 1;
    return write_control(ws, WSLAY_CONNECTION_CLOSE, payload, n);
}

/*
 * Fails the connection with our own close frame (unless one already went
 * out) and no further wslay I/O. Returns error for convenience.
 */
static int fail_with_close(secchat_ws *ws, int error, uint16_t code, const char *reason)
{
    if (ws->failure)
        return ws->failure;
    ws->failure = error;
    if (ws->wslay) {
        wslay_event_shutdown_read(ws->wslay);
        wslay_event_shutdown_write(ws->wslay);
    }
    if (!ws->close_written && code) {
        if (write_close(ws, code, (const uint8_t *)reason, reason ? strlen(reason) : 0) != SECCHAT_OK)
            ws->failure = SECCHAT_ERR_NO_MEMORY;
        set_close_reason(ws, code, (const uint8_t *)reason, reason ? strlen(reason) : 0);
    } else if (!ws->close_code) {
        set_close_reason(ws, SECCHAT_WS_CLOSE_ABNORMAL, (const uint8_t *)reason, reason ? strlen(reason) : 0);
    }
    enter_closed(ws);
    return ws->failure;
}

int sc_ws_fail(secchat_ws *ws, int error, uint16_t code, const char *reason)
{
    return fail_with_close(ws, error, code, reason);
}

void sc_ws_set_hook(secchat_ws *ws, sc_ws_hook hook, void *arg)
{
    ws->hook = hook;
    ws->hook_arg = arg;
    /* Under a secure session, messages in and out are Noise ciphertext. */
    ws->out.wipe = ws->msg.wipe = 0;
}

int sc_ws_failure(const secchat_ws *ws)
{
    return ws->failure;
}

/* Called from inside wslay callbacks: stop reading, act once wslay returns. */
static void fail_later(secchat_ws *ws, int error, uint16_t code, const char *reason)
{
    if (ws->pending_error)
        return;
    ws->pending_error = error;
    ws->pending_code = code;
    ws->pending_reason = reason;
    wslay_event_shutdown_read(ws->wslay);
}

/* ---- wslay callbacks ----------------------------------------------------- */

/* Puts up to len bytes of the feed call into buf in the form wslay reads
 * (a server's input unmasked); 0 when the input is used up. */
static size_t next_input(secchat_ws *ws, uint8_t *buf, size_t len)
{
    if (!ws->is_server) {
        size_t n = len < ws->in_len ? len : ws->in_len;
        memcpy(buf, ws->in, n);
        ws->in += n;
        ws->in_len -= n;
        return n;
    }
    /* Clients' frames are unmasked straight into wslay's buffer (the output
     * is never longer than the input). Bytes that only complete a mask key
     * give no output: go on until some does, or the input runs out. */
    while (!ws->unmask_failed && ws->in_len > 0) {
        size_t take = len < ws->in_len ? len : ws->in_len, out = 0;
        if (sc_ws_unmask_stream(&ws->unmasker, ws->in, take, buf, &out) != 0)
            ws->unmask_failed = 1; /* what came before it is still read */
        ws->in += take; /* on failure the rest is never read: the connection fails */
        ws->in_len -= take;
        if (out > 0)
            return out;
    }
    return 0;
}

static ssize_t on_wslay_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
    (void)flags;
    secchat_ws *ws = user;
    for (;;) {
        /* A close frame goes to wslay only whole (close_hold.h). */
        size_t n = sc_ws_close_hold_take(&ws->close_hold, buf, len);
        if (n > 0)
            return (ssize_t)n;
        n = next_input(ws, buf, len);
        if (n == 0)
            break;
        long pass = sc_ws_close_hold_filter(&ws->close_hold, buf, n);
        if (pass < 0) {
            fail_later(ws, SECCHAT_ERR_NO_MEMORY, SECCHAT_WS_CLOSE_INTERNAL_ERROR, "out of memory");
            break;
        }
        if (pass > 0)
            return (ssize_t)pass;
    }
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    return -1;
}

/* wslay's copy of our control frames: it only keeps its state by them. */
static ssize_t on_wslay_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *user)
{
    (void)ctx, (void)data, (void)flags, (void)user;
    return (ssize_t)len;
}

static int on_wslay_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user)
{
    (void)ctx, (void)user;
    memset(buf, 0, len); /* masks a frame that is discarded */
    return 0;
}

static void on_wslay_frame_start(wslay_event_context_ptr ctx, const struct wslay_event_on_frame_recv_start_arg *arg,
                                 void *user)
{
    (void)ctx;
    secchat_ws *ws = user;
    ws->frame_is_data = 0;
    ws->frame_is_close = arg->opcode == WSLAY_CONNECTION_CLOSE;
    ws->close_seen = 0;
    if (arg->opcode == WSLAY_TEXT_FRAME) {
        fail_later(ws, SECCHAT_ERR_WS_TEXT_MESSAGE, SECCHAT_WS_CLOSE_UNSUPPORTED_DATA,
                   "text messages are not accepted: binary only");
    } else if (arg->opcode == WSLAY_CONNECTION_CLOSE && arg->payload_length == 1) {
        fail_later(ws, SECCHAT_ERR_WS_PROTOCOL, SECCHAT_WS_CLOSE_PROTOCOL_ERROR, "close frame with a 1-byte payload");
    } else if (arg->opcode == WSLAY_BINARY_FRAME || arg->opcode == WSLAY_CONTINUATION_FRAME) {
        ws->in_message = !arg->fin;
        /* Unbuffered, wslay checks each frame against the limit; the whole
         * message is checked here, before any of this frame is stored. */
        if (arg->payload_length > ws->limits.max_message - sc_buf_pending(&ws->msg))
            fail_later(ws, SECCHAT_ERR_WS_MESSAGE_TOO_BIG, SECCHAT_WS_CLOSE_MESSAGE_TOO_BIG, "message too big");
        else if (sc_buf_reserve(&ws->msg, (size_t)arg->payload_length) != SECCHAT_OK)
            fail_later(ws, SECCHAT_ERR_NO_MEMORY, SECCHAT_WS_CLOSE_INTERNAL_ERROR, "out of memory");
        else
            ws->frame_is_data = 1;
    }
}

#define INVALID_CLOSE_CODE "invalid close code"

/* The codes a peer may send (RFC 6455 section 7.4), as wslay judges them. */
static int valid_received_close_code(uint16_t code)
{
    return (code >= 1000 && code <= 1011 && code != 1004 && code != 1005 && code != 1006) ||
           (code >= 3000 && code <= 4999);
}

static void on_wslay_chunk(wslay_event_context_ptr ctx, const struct wslay_event_on_frame_recv_chunk_arg *arg,
                           void *user)
{
    (void)ctx;
    secchat_ws *ws = user;
    /* A close frame comes whole (close_hold.h): its code is judged here,
     * before wslay would at the end, once the reason has passed its check. */
    if (ws->frame_is_close && ws->close_seen < 2) {
        for (size_t i = 0; i < arg->data_length && ws->close_seen < 2; i++)
            ws->close_head[ws->close_seen++] = arg->data[i];
        if (ws->close_seen == 2 && !valid_received_close_code((uint16_t)(ws->close_head[0] << 8 | ws->close_head[1])))
            fail_later(ws, SECCHAT_ERR_WS_PROTOCOL, SECCHAT_WS_CLOSE_PROTOCOL_ERROR, INVALID_CLOSE_CODE);
    }
    /* Room was reserved at the frame's start. */
    if (ws->frame_is_data && !ws->pending_error && sc_buf_append(&ws->msg, arg->data, arg->data_length) != SECCHAT_OK)
        fail_later(ws, SECCHAT_ERR_NO_MEMORY, SECCHAT_WS_CLOSE_INTERNAL_ERROR, "out of memory");
}

/* Hands a complete event to the hook, or queues it. */
static int deliver(secchat_ws *ws, enum secchat_ws_event_type type, const uint8_t *data, size_t len)
{
    if (!ws->hook)
        return queue_event(ws, type, data, len);
    secchat_ws_event ev = {.type = type, .data = data, .len = len};
    ws->hook(ws->hook_arg, &ev);
    return SECCHAT_OK;
}

/* Big reassembly buffers are not kept: idle connections stay small. */
#define WS_KEEP_MESSAGE_BUFFER 4096

static void reset_message(secchat_ws *ws)
{
    if (ws->msg.cap > WS_KEEP_MESSAGE_BUFFER)
        sc_buf_free(&ws->msg);
    else
        sc_buf_consume(&ws->msg, sc_buf_pending(&ws->msg));
}

static void on_wslay_message(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg, void *user)
{
    (void)ctx;
    secchat_ws *ws = user;
    if (ws->pending_error)
        return;
    int rc = SECCHAT_OK;
    switch (arg->opcode) {
    case WSLAY_BINARY_FRAME: /* unbuffered: the message is in ws->msg */
        rc = deliver(ws, SECCHAT_WS_EVENT_MESSAGE, sc_buf_peek(&ws->msg), sc_buf_pending(&ws->msg));
        reset_message(ws);
        break;
    case WSLAY_PING: /* wslay queued its pong; ours goes out now, in order */
        if (!ws->close_written)
            rc = write_control(ws, WSLAY_PONG, arg->msg, arg->msg_length);
        break;
    case WSLAY_PONG:
        if (ws->ping_outstanding && arg->msg_length == sizeof ws->ping_payload &&
            memcmp(arg->msg, ws->ping_payload, sizeof ws->ping_payload) == 0)
            ws->ping_outstanding = 0;
        rc = queue_event(ws, SECCHAT_WS_EVENT_PONG, arg->msg, arg->msg_length);
        break;
    case WSLAY_CONNECTION_CLOSE:
        /* wslay has checked the code and the reason and queued the echo;
         * the reason is checked again here, whole, to depend on nothing. */
        if (arg->msg_length > 2 && !secchat_utf8_valid(arg->msg + 2, arg->msg_length - 2)) {
            fail_later(ws, SECCHAT_ERR_WS_INVALID_UTF8, SECCHAT_WS_CLOSE_INVALID_PAYLOAD,
                       "close reason is not UTF-8");
            break;
        }
        /* Nothing after a close frame is read (RFC 6455 section 5.5.1), so
         * whether more bytes came in the same feed call changes nothing. */
        wslay_event_shutdown_read(ws->wslay);
        if (!ws->close_initiated) {
            uint16_t code = arg->status_code ? arg->status_code : SECCHAT_WS_CLOSE_NO_STATUS;
            size_t rlen = arg->msg_length >= 2 ? arg->msg_length - 2 : 0;
            const uint8_t *reason = arg->msg_length >= 2 ? arg->msg + 2 : NULL;
            set_close_reason(ws, code, reason, rlen);
            /* The echo carries the peer's code (RFC 6455 section 5.5.1). */
            if (!ws->close_written)
                rc = write_close(ws, arg->status_code, reason, rlen);
        }
        break;
    default: /* TEXT never gets here: it failed at its start */
        break;
    }
    if (rc != SECCHAT_OK)
        fail_later(ws, rc, SECCHAT_WS_CLOSE_INTERNAL_ERROR, "out of memory");
}

/* ---- driving wslay ------------------------------------------------------- */

/* The close reason we give for a failure wslay detected by itself: the same
 * words as when we detect it (it depends on how the bytes were split). */
static const char *reason_for_code(uint16_t code)
{
    switch (code) {
    case SECCHAT_WS_CLOSE_MESSAGE_TOO_BIG:
        return "message too big";
    case SECCHAT_WS_CLOSE_INVALID_PAYLOAD:
        return "close reason is not UTF-8";
    case SECCHAT_WS_CLOSE_UNSUPPORTED_DATA:
        return "text messages are not accepted: binary only";
    default:
        return "invalid frame";
    }
}

static int error_for_code(uint16_t code)
{
    switch (code) {
    case SECCHAT_WS_CLOSE_MESSAGE_TOO_BIG:
        return SECCHAT_ERR_WS_MESSAGE_TOO_BIG;
    case SECCHAT_WS_CLOSE_INVALID_PAYLOAD:
        return SECCHAT_ERR_WS_INVALID_UTF8;
    case SECCHAT_WS_CLOSE_UNSUPPORTED_DATA:
        return SECCHAT_ERR_WS_TEXT_MESSAGE;
    default:
        return SECCHAT_ERR_WS_PROTOCOL;
    }
}

/* Moves wslay's queued frames into our output and updates the state. */
static int pump_output(secchat_ws *ws)
{
    if (ws->failure || !ws->wslay || ws->in_recv)
        return ws->failure;
    /* wslay only updates its close state here; skip the call when idle. */
    if (wslay_event_want_write(ws->wslay) && wslay_event_send(ws->wslay) != 0)
        return fail_with_close(ws, SECCHAT_ERR_NO_MEMORY, 0, "out of memory");
    int sent = wslay_event_get_close_sent(ws->wslay);
    int received = wslay_event_get_close_received(ws->wslay);
    if (sent && received) {
        enter_closed(ws);
    } else if (!received && !wslay_event_get_read_enabled(ws->wslay)) {
        /* wslay failed the connection by itself. Its close frame tells why;
         * if ours had gone out first (we were closing), it could not send one. */
        uint16_t code = sent && !ws->close_initiated ? wslay_event_get_status_code_sent(ws->wslay) : 0;
        /* 1007 comes only from a close reason; when that frame's code is
         * bad too, refuse it for the code, as when the reason is good. */
        uint16_t peer_code;
        int bad_code = code == SECCHAT_WS_CLOSE_INVALID_PAYLOAD &&
                       sc_ws_close_hold_code(&ws->close_hold, &peer_code) && !valid_received_close_code(peer_code);
        if (bad_code)
            code = SECCHAT_WS_CLOSE_PROTOCOL_ERROR;
        ws->failure = code ? error_for_code(code) : SECCHAT_ERR_WS_PROTOCOL;
        const char *text = bad_code ? INVALID_CLOSE_CODE : code ? reason_for_code(code) : secchat_strerror(ws->failure);
        if (code && !ws->close_written && write_close(ws, code, (const uint8_t *)text, strlen(text)) != SECCHAT_OK)
            ws->failure = SECCHAT_ERR_NO_MEMORY;
        set_close_reason(ws, code ? code : ws->close_code, (const uint8_t *)text, strlen(text));
        enter_closed(ws);
    } else if (sent || received) {
        ws->state = SECCHAT_WS_STATE_CLOSING;
    }
    return ws->failure;
}

static int create_wslay(secchat_ws *ws);

/* A parser released by sc_ws_trim had not seen a close: trim requires it. */
static int close_received(const secchat_ws *ws)
{
    return ws->wslay && wslay_event_get_close_received(ws->wslay);
}


/* Runs wslay over bytes in the form it reads: unmasked frames. */
static int run_wslay(secchat_ws *ws, const uint8_t *data, size_t len)
{
    ws->in = data;
    ws->in_len = len;
    ws->in_recv = 1;
    int r = wslay_event_recv(ws->wslay);
    ws->in_recv = 0;
    ws->in = NULL;
    ws->in_len = 0;
    if (ws->failure) /* failed by the layer above, from its hook */
        return ws->failure;
    if (ws->pending_error)
        return fail_with_close(ws, ws->pending_error, ws->pending_code, ws->pending_reason);
    if (r == WSLAY_ERR_NOMEM)
        return fail_with_close(ws, SECCHAT_ERR_NO_MEMORY, SECCHAT_WS_CLOSE_INTERNAL_ERROR, "out of memory");
    if (r != 0) /* a framing error wslay would close without a status code */
        return fail_with_close(ws, SECCHAT_ERR_WS_PROTOCOL, SECCHAT_WS_CLOSE_PROTOCOL_ERROR, "invalid frame");
    return pump_output(ws);
}

static int feed_frames(secchat_ws *ws, const uint8_t *data, size_t len)
{
    if (!ws->wslay && create_wslay(ws) != SECCHAT_OK)
        return fail_with_close(ws, SECCHAT_ERR_NO_MEMORY, SECCHAT_WS_CLOSE_INTERNAL_ERROR, "out of memory");
    int rc = run_wslay(ws, data, len);
    /* RFC 6455 section 5.1: a server closes on an unmasked frame, unless it
     * came after the peer's close frame: nothing after that is read. */
    if (rc == SECCHAT_OK && ws->unmask_failed && !close_received(ws))
        return fail_with_close(ws, SECCHAT_ERR_WS_PROTOCOL, SECCHAT_WS_CLOSE_PROTOCOL_ERROR, "client frame not masked");
    return rc;
}

/* A fresh wslay parser; also after sc_ws_trim released the previous one. */
static int create_wslay(secchat_ws *ws)
{
    static const struct wslay_event_callbacks callbacks = {
        on_wslay_recv, on_wslay_send, on_wslay_genmask, on_wslay_frame_start, on_wslay_chunk, NULL, on_wslay_message,
    };
    /* Both roles: wslay reads unmasked frames (see the top of this file). */
    int r = wslay_event_context_client_init(&ws->wslay, &callbacks, ws);
    if (r != 0) {
        ws->wslay = NULL;
        return SECCHAT_ERR_NO_MEMORY;
    }
    wslay_event_config_set_no_buffering(ws->wslay, 1);
    wslay_event_config_set_max_recv_msg_length(ws->wslay, ws->limits.max_message);
    return SECCHAT_OK;
}

static int open_wslay(secchat_ws *ws)
{
    int rc = create_wslay(ws);
    if (rc != SECCHAT_OK)
        return rc;
    ws->state = SECCHAT_WS_STATE_OPEN;
    return deliver(ws, SECCHAT_WS_EVENT_OPEN, NULL, 0);
}

/* ---- the opening handshake ----------------------------------------------- */

static int fail_upgrade(secchat_ws *ws, int error)
{
    ws->failure = error;
    const char *text = secchat_strerror(error);
    if (ws->is_server && sc_http_write_refusal(&ws->out, error) != SECCHAT_OK)
        ws->failure = SECCHAT_ERR_NO_MEMORY;
    /* No WebSocket close code exists yet; report it as a protocol error. */
    set_close_reason(ws, SECCHAT_WS_CLOSE_PROTOCOL_ERROR, (const uint8_t *)text, strlen(text));
    enter_closed(ws);
    return ws->failure;
}

static int feed_upgrade(secchat_ws *ws, const uint8_t *data, size_t len)
{
    size_t before = sc_buf_pending(&ws->http_in);
    if (sc_buf_append(&ws->http_in, data, len) != SECCHAT_OK)
        return fail_upgrade(ws, SECCHAT_ERR_NO_MEMORY);
    const uint8_t *block = sc_buf_peek(&ws->http_in);
    size_t have = sc_buf_pending(&ws->http_in);
    size_t end = sc_http_header_end(block, have);
    if (end == 0)
        return have > SECCHAT_WS_MAX_HEADER_BLOCK ? fail_upgrade(ws, SECCHAT_ERR_HTTP_TOO_LARGE) : SECCHAT_OK;
    if (end > SECCHAT_WS_MAX_HEADER_BLOCK)
        return fail_upgrade(ws, SECCHAT_ERR_HTTP_TOO_LARGE);

    int rc;
    if (ws->is_server) {
        sc_http_request_info request;
        rc = sc_http_parse_request(block, end, &request);
        if (rc != SECCHAT_OK)
            return fail_upgrade(ws, rc);
        ws->path = strdup(request.path);
        if (!ws->path)
            return fail_upgrade(ws, SECCHAT_ERR_NO_MEMORY);
        rc = sc_http_write_switching(&ws->out, request.key);
    } else {
        int status = 0;
        rc = sc_http_check_response(block, end, ws->key, &status);
    }
    if (rc != SECCHAT_OK)
        return fail_upgrade(ws, rc);
    rc = open_wslay(ws);
    if (rc != SECCHAT_OK)
        return fail_upgrade(ws, rc);
    /* Bytes after the header block already belong to the WebSocket stream;
     * they are the tail of this call's data, so no copy is needed. */
    size_t rest = before + len - end;
    sc_buf_free(&ws->http_in);
    return rest ? feed_frames(ws, data + len - rest, rest) : SECCHAT_OK;
}

/* ---- public API ----------------------------------------------------------- */

static int ws_new(secchat_ws **out, int is_server, const secchat_ws_limits *limits)
{
    int rc = sc_crypto_init();
    if (rc != SECCHAT_OK)
        return rc;
    /* No libsodium state inside: plain calloc, without aligned_alloc's padding. */
    secchat_ws *ws = calloc(1, sizeof *ws);
    if (!ws)
        return SECCHAT_ERR_NO_MEMORY;
    ws->is_server = is_server;
    ws->state = SECCHAT_WS_STATE_CONNECTING;
    /* Used on its own, the endpoint carries the application's plaintext. */
    ws->out.wipe = ws->msg.wipe = ws->events.wipe = 1;
    ws->limits.max_message = SECCHAT_WS_DEFAULT_MAX_MESSAGE;
    ws->limits.max_output = SECCHAT_WS_DEFAULT_MAX_OUTPUT;
    if (limits && limits->max_message)
        ws->limits.max_message = limits->max_message;
    if (limits && limits->max_output)
        ws->limits.max_output = limits->max_output;
    rc = SECCHAT_OK;
    if (!is_server)
        rc = (ws->masker = malloc(sizeof *ws->masker)) ? sc_ws_masker_init(ws->masker) : SECCHAT_ERR_NO_MEMORY;
    if (rc != SECCHAT_OK) {
        secchat_ws_free(ws);
        return rc;
    }
    *out = ws;
    return SECCHAT_OK;
}

SECCHAT_API int secchat_ws_new_server(secchat_ws **out, const secchat_ws_limits *limits)
{
    if (!out)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (limits && limits->max_message > 0x7fffffffu)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    return ws_new(out, 1, limits);
}

SECCHAT_API int secchat_ws_new_client(secchat_ws **out, const char *url, const secchat_ws_limits *limits)
{
    if (!out || !url)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (limits && limits->max_message > 0x7fffffffu)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    secchat_ws_url parsed;
    int rc = secchat_ws_url_parse(&parsed, url);
    if (rc != SECCHAT_OK)
        return rc;
    secchat_ws *ws;
    rc = ws_new(&ws, 0, limits);
    if (rc != SECCHAT_OK)
        return rc;
    rc = sc_ws_new_key(ws->key);
    if (rc == SECCHAT_OK)
        rc = sc_http_write_request(&ws->out, &parsed, ws->key);
    if (rc != SECCHAT_OK) {
        secchat_ws_free(ws);
        return rc;
    }
    *out = ws;
    return SECCHAT_OK;
}

SECCHAT_API void secchat_ws_free(secchat_ws *ws)
{
    if (!ws)
        return;
    if (ws->wslay)
        wslay_event_context_free(ws->wslay);
    sc_buf_free(&ws->http_in);
    sc_buf_free(&ws->msg);
    sc_buf_free(&ws->out);
    sc_buf_free(&ws->events);
    free(ws->path);
    sc_ws_close_hold_free(&ws->close_hold);
    if (ws->masker)
        sc_free_secret(ws->masker, sizeof *ws->masker);
    sc_free_secret(ws, sizeof *ws);
}

SECCHAT_API int secchat_ws_feed(secchat_ws *ws, const uint8_t *data, size_t len)
{
    if (!ws || (!data && len))
        return SECCHAT_ERR_INVALID_ARGUMENT;
    release_event(ws);
    if (ws->failure)
        return ws->failure;
    if (len == 0 || ws->state == SECCHAT_WS_STATE_CLOSED)
        return SECCHAT_OK; /* bytes after the close handshake mean nothing */
    if (ws->state == SECCHAT_WS_STATE_CONNECTING)
        return feed_upgrade(ws, data, len);
    return feed_frames(ws, data, len);
}

SECCHAT_API void secchat_ws_feed_eof(secchat_ws *ws)
{
    if (!ws || ws->state == SECCHAT_WS_STATE_CLOSED)
        return;
    release_event(ws);
    if (!ws->failure)
        ws->failure = SECCHAT_ERR_WS_CONNECTION_LOST;
    if (ws->wslay) {
        wslay_event_shutdown_read(ws->wslay);
        wslay_event_shutdown_write(ws->wslay);
    }
    const char *text = secchat_strerror(SECCHAT_ERR_WS_CONNECTION_LOST);
    set_close_reason(ws, SECCHAT_WS_CLOSE_ABNORMAL, (const uint8_t *)text, strlen(text));
    enter_closed(ws);
}

SECCHAT_API const uint8_t *secchat_ws_output(const secchat_ws *ws, size_t *len)
{
    if (!ws) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = sc_buf_pending(&ws->out);
    return sc_buf_peek(&ws->out);
}

SECCHAT_API void secchat_ws_output_consumed(secchat_ws *ws, size_t n)
{
    if (ws)
        sc_buf_consume(&ws->out, n);
}

SECCHAT_API int secchat_ws_next_event(secchat_ws *ws, secchat_ws_event *ev)
{
    if (!ws || !ev)
        return 0;
    release_event(ws);
    memset(ev, 0, sizeof *ev);
    if (sc_buf_pending(&ws->events) == 0) {
        if (ws->state != SECCHAT_WS_STATE_CLOSED || ws->closed_delivered)
            return 0;
        ws->closed_delivered = 1;
        ev->type = SECCHAT_WS_EVENT_CLOSED;
        ev->close_code = ws->close_code;
        ev->reason = ws->close_reason;
        ev->error = ws->failure;
        return 1;
    }
    ws_event_record rec;
    const uint8_t *p = sc_buf_peek(&ws->events);
    memcpy(&rec, p, sizeof rec);
    ev->type = (enum secchat_ws_event_type)rec.type;
    ev->data = rec.len ? p + sizeof rec : NULL;
    ev->len = rec.len;
    ws->event_to_release = sizeof rec + rec.len;
    return 1;
}

/* Why a message or control frame cannot be sent now. */
static int send_refusal(const secchat_ws *ws)
{
    if (ws->failure)
        return ws->failure;
    if (ws->state == SECCHAT_WS_STATE_CONNECTING)
        return SECCHAT_ERR_BAD_STATE;
    if (ws->state != SECCHAT_WS_STATE_OPEN || ws->close_written || close_received(ws))
        return SECCHAT_ERR_WS_CLOSED;
    return SECCHAT_OK;
}

uint8_t *sc_ws_message_begin(secchat_ws *ws, size_t len, int *error)
{
    int rc = len > 0x7fffffffu ? SECCHAT_ERR_INVALID_ARGUMENT : send_refusal(ws);
    if (rc == SECCHAT_OK && sc_buf_pending(&ws->out) > ws->limits.max_output)
        rc = SECCHAT_ERR_WS_OUTPUT_FULL;
    uint8_t header[SC_WS_MAX_FRAME_HEADER], mask[4];
    size_t hlen = 0;
    uint8_t *frame = NULL;
    if (rc == SECCHAT_OK) {
        if (!ws->is_server)
            sc_ws_masker_fill(ws->masker, mask, sizeof mask);
        hlen = sc_ws_frame_header(header, WSLAY_BINARY_FRAME, len, ws->is_server ? NULL : mask);
        frame = sc_buf_extend(&ws->out, hlen + len);
        if (!frame)
            rc = SECCHAT_ERR_NO_MEMORY;
    }
    if (rc != SECCHAT_OK) {
        *error = rc;
        return NULL;
    }
    memcpy(frame, header, hlen);
    ws->frame_start = (size_t)(frame - ws->out.data);
    ws->frame_header = hlen;
    ws->frame_len = len;
    return frame + hlen;
}

void sc_ws_message_commit(secchat_ws *ws)
{
    uint8_t *frame = ws->out.data + ws->frame_start;
    if (!ws->is_server) /* the key is the last 4 bytes of the header */
        sc_ws_mask(frame + ws->frame_header, ws->frame_len, frame + ws->frame_header - 4);
}

void sc_ws_message_abort(secchat_ws *ws)
{
    size_t n = ws->frame_header + ws->frame_len;
    secchat_memzero(ws->out.data + ws->frame_start, n);
    ws->out.len -= n;
}

SECCHAT_API int secchat_ws_send(secchat_ws *ws, const uint8_t *msg, size_t len)
{
    if (!ws || (!msg && len))
        return SECCHAT_ERR_INVALID_ARGUMENT;
    int rc;
    uint8_t *payload = sc_ws_message_begin(ws, len, &rc);
    if (!payload)
        return rc;
    if (len)
        memcpy(payload, msg, len);
    sc_ws_message_commit(ws);
    return SECCHAT_OK;
}

/* The codes RFC 6455 section 7.4 defines for sending, and the 3000-4999
 * ranges. 1012-1014 (registered later with IANA) are left out: wslay, and
 * with it our own receiving side, treats them as invalid. */
static int sendable_close_code(uint16_t code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) || (code >= 3000 && code <= 4999);
}

SECCHAT_API int secchat_ws_close(secchat_ws *ws, uint16_t code, const char *reason)
{
    size_t rlen = reason ? strlen(reason) : 0;
    if (!ws || !sendable_close_code(code) || rlen > SECCHAT_WS_MAX_CLOSE_REASON ||
        !secchat_utf8_valid((const uint8_t *)reason, rlen))
        return SECCHAT_ERR_INVALID_ARGUMENT;
    if (ws->state == SECCHAT_WS_STATE_CONNECTING && !ws->failure)
        return SECCHAT_ERR_BAD_STATE;
    if (ws->failure || ws->state != SECCHAT_WS_STATE_OPEN || ws->close_written || close_received(ws))
        return SECCHAT_OK; /* already closing or closed */
    if (!ws->wslay && create_wslay(ws) != SECCHAT_OK)
        return fail_with_close(ws, SECCHAT_ERR_NO_MEMORY, SECCHAT_WS_CLOSE_INTERNAL_ERROR, "out of memory");
    /* wslay gets the close too: it keeps the close-handshake state. */
    int r = wslay_event_queue_close(ws->wslay, code, (const uint8_t *)reason, rlen);
    if (r == WSLAY_ERR_NOMEM || (r == 0 && write_close(ws, code, (const uint8_t *)reason, rlen) != SECCHAT_OK))
        return fail_with_close(ws, SECCHAT_ERR_NO_MEMORY, SECCHAT_WS_CLOSE_INTERNAL_ERROR, "out of memory");
    if (r != 0)
        return SECCHAT_OK;
    ws->close_initiated = 1;
    set_close_reason(ws, code, (const uint8_t *)reason, rlen);
    return pump_output(ws);
}

SECCHAT_API int secchat_ws_ping(secchat_ws *ws, uint64_t now_ms)
{
    if (!ws)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    int rc = send_refusal(ws);
    if (rc != SECCHAT_OK || ws->ping_outstanding)
        return rc;
    /* The payload names this ping, so a late pong for an older one is told apart. */
    sc_store64_be(ws->ping_payload, now_ms);
    rc = write_control(ws, WSLAY_PING, ws->ping_payload, sizeof ws->ping_payload);
    if (rc == SECCHAT_OK) {
        ws->ping_outstanding = 1;
        ws->ping_sent_ms = now_ms;
    }
    return rc;
}

SECCHAT_API int secchat_ws_ping_overdue(const secchat_ws *ws, uint64_t now_ms, uint64_t timeout_ms)
{
    return ws && ws->ping_outstanding && now_ms >= ws->ping_sent_ms && now_ms - ws->ping_sent_ms >= timeout_ms;
}

SECCHAT_API enum secchat_ws_state secchat_ws_state(const secchat_ws *ws)
{
    return ws ? ws->state : SECCHAT_WS_STATE_CLOSED;
}

SECCHAT_API const char *secchat_ws_request_path(const secchat_ws *ws)
{
    return ws ? ws->path : NULL;
}

SECCHAT_API void secchat_ws_trim(secchat_ws *ws)
{
    if (!ws || ws->in_recv)
        return;
    release_event(ws);
    /* Empty queues give their memory back; the next use allocates again. */
    if (sc_buf_pending(&ws->out) == 0)
        sc_buf_free(&ws->out);
    if (sc_buf_pending(&ws->events) == 0)
        sc_buf_free(&ws->events);
    if (sc_buf_pending(&ws->msg) == 0 && !ws->in_message)
        sc_buf_free(&ws->msg);
    /*
     * wslay's parser holds two 4 KiB buffers. It can be dropped and made
     * again only where it keeps no state we need: between whole frames (the
     * unmask filter, which sees every byte before wslay does, is at a frame
     * boundary, so wslay parsed all of it), outside a fragmented message,
     * with nothing queued and no close sent or received. The client role
     * has no such filter, so it keeps its parser.
     */
    if (ws->is_server && ws->wslay && ws->state == SECCHAT_WS_STATE_OPEN && !ws->failure && !ws->in_message &&
        sc_ws_unmask_at_boundary(&ws->unmasker) && !sc_ws_close_hold_active(&ws->close_hold) &&
        !wslay_event_want_write(ws->wslay) &&
        !wslay_event_get_close_sent(ws->wslay) && !wslay_event_get_close_received(ws->wslay)) {
        wslay_event_context_free(ws->wslay);
        ws->wslay = NULL;
    }
}
