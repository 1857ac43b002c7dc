/*
 * Test helper: a client and a server secchat_session talking through memory.
 *
 *     session_pair p;
 *     session_pair_init(&p);              two configs: shared PSK, own static keys
 *     ... adjust p.client.cfg / p.server.cfg (protocol, PSK, verify hook) ...
 *     session_pair_start(&p);             both sessions
 *     session_pair_pump(&p);              move bytes both ways until none is pending
 *     ... p.client.events[i], p.server.events[i] ...
 *     session_pair_free(&p);
 *
 * Bytes are handed over according to p.split: all at once, one byte at a
 * time, or in random pieces (a seeded xorshift, so a failure reproduces).
 * Every event of either side is copied into that side's array, because event
 * data is only valid until the next call on the session. Every byte a side
 * wrote is also kept in its wire log, for tests that look at the frames.
 *
 * Plain C with no cmocka dependency (every .c file of tests/common/ is linked into every
 * test program and benchmark): failures come back as SECCHAT_ERR_* codes.
 */
#ifndef SC_TESTS_SESSION_PAIR_H
#define SC_TESTS_SESSION_PAIR_H

#include <stddef.h>
#include <stdint.h>

#include "secchat.h"

#define SESSION_PAIR_URL "ws://chat.example:8080/chat"

/* One event, with its data copied. */
typedef struct sp_event {
    enum secchat_session_event_type type;
    uint8_t *data; /* MESSAGE: malloc'ed copy of the plaintext (NULL when len is 0) */
    size_t len;
    uint8_t peer_static[SECCHAT_NOISE_KEY_LEN]; /* READY */
    int has_peer_static;
    uint8_t hash[SECCHAT_NOISE_MAX_HASH_LEN]; /* READY */
    size_t hash_len;
    uint16_t close_code; /* CLOSED */
    char reason[SECCHAT_WS_MAX_CLOSE_REASON + 1];
    int error;
} sp_event;

/* A growable byte array. */
typedef struct sp_bytes {
    uint8_t *data;
    size_t len, cap;
} sp_bytes;

typedef struct sp_side {
    secchat_config *cfg;
    secchat_session *session;
    sp_event *events;
    size_t n_events, cap_events;
    int feed_rc;   /* first failure secchat_session_feed returned, else SECCHAT_OK */
    sp_bytes wire; /* every byte this side wrote, in order */
} sp_side;

typedef enum sp_split {
    SP_SPLIT_WHOLE = 0, /* each pending output in one feed call */
    SP_SPLIT_BYTES,     /* one byte per feed call */
    SP_SPLIT_RANDOM     /* random piece sizes from p.rng */
} sp_split;

typedef struct session_pair {
    sp_side client, server;
    sp_split split;
    uint64_t rng; /* xorshift64 state, never 0 */
} session_pair;

/* Two configs with the default protocol, one random PSK for both, each its
 * own random static key. No sessions yet. */
int session_pair_init(session_pair *p);

/* Creates the client (for SESSION_PAIR_URL) and the server session. */
int session_pair_start(session_pair *p);

/* session_pair_init + session_pair_start + pump until both sides are READY. */
int session_pair_connect(session_pair *p);

/* Frees the sessions, configs, events and wire logs (NULL-safe fields). */
void session_pair_free(session_pair *p);

/* Uses random splits from now on, seeded with seed. */
void session_pair_seed(session_pair *p, uint64_t seed);

/* The next xorshift64 number of the pair's generator. */
uint64_t session_pair_rand(session_pair *p);

/* The other side of the pair. */
sp_side *session_pair_peer(session_pair *p, const sp_side *side);

/* Copies all pending events of side into its array. */
int session_pair_collect(sp_side *side);

/* Feeds len bytes to side with the pair's split strategy, collecting its
 * events after each call. The first failure is kept in side->feed_rc. */
int session_pair_feed(session_pair *p, sp_side *to, const uint8_t *data, size_t len);

/* Moves all pending output of from into its peer; returns the bytes moved. */
size_t session_pair_transfer(session_pair *p, sp_side *from);

/* Transfers both ways until neither side has output pending; returns the
 * bytes moved. */
size_t session_pair_pump(session_pair *p);

/* Forgets the events collected so far (frees their data). */
void session_pair_clear_events(sp_side *side);

/* The index of the first event of type at or after index from, or -1. */
long session_pair_find_event(const sp_side *side, enum secchat_session_event_type type, size_t from);

/* How many events of type side has collected. */
size_t session_pair_count_events(const sp_side *side, enum secchat_session_event_type type);

/* ---- WebSocket frames (RFC 6455 section 5.2) ------------------------------ */

typedef struct sp_frame {
    int fin;
    uint8_t opcode;
    int masked;
    uint8_t mask[4];
    size_t header_len; /* bytes before the payload */
    size_t payload_len;
} sp_frame;

/* Parses the frame header at data[0..len): 1 and fills f when the whole frame
 * (header and payload) is there, else 0. */
int sp_frame_parse(const uint8_t *data, size_t len, sp_frame *f);

/* Length of the HTTP header block at the start of data (through the blank
 * line), or 0 when it is not complete. */
size_t sp_http_end(const uint8_t *data, size_t len);

/* Appends one final frame (opcode, payload) to out, masked with mask when
 * mask is not NULL, with the shortest length encoding. */
int sp_frame_build(sp_bytes *out, uint8_t opcode, const uint8_t *payload, size_t len, const uint8_t mask[4]);

/* Copies the unmasked payload of the frame at data (parsed into f) to out. */
void sp_frame_payload(const uint8_t *data, const sp_frame *f, uint8_t *out);

int sp_bytes_append(sp_bytes *b, const void *data, size_t len);
void sp_bytes_free(sp_bytes *b);

#endif /* SC_TESTS_SESSION_PAIR_H */
