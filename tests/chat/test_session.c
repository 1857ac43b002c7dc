/* secchat_session end to end in memory: upgrade, Noise handshake, transport, failures, trust hook, close. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/session_pair.h"
#include "secchat.h"

#define KEY SECCHAT_NOISE_KEY_LEN
#define TAG SECCHAT_NOISE_TAG_LEN
#define MAX_PLAIN SECCHAT_NOISE_MAX_PLAINTEXT
#define POLICY SECCHAT_WS_CLOSE_POLICY_VIOLATION

#define EV_READY SECCHAT_SESSION_EVENT_READY
#define EV_MESSAGE SECCHAT_SESSION_EVENT_MESSAGE
#define EV_CLOSED SECCHAT_SESSION_EVENT_CLOSED

static const char CHACHA[] = "Noise_XXpsk2_25519_ChaChaPoly_SHA256";

/* Plaintexts are large: static, to keep stacks small. */
static uint8_t buf[MAX_PLAIN + 64], expect[MAX_PLAIN + 64];
static char scratch[SECCHAT_MESSAGE_SCRATCH(MAX_PLAIN)];

/* ---- fixture and small helpers ------------------------------------------- */

/* Each test gets one zeroed pair, freed by teardown even when an assertion fails. */
static int setup(void **state)
{
    session_pair *p = calloc(1, sizeof *p);
    *state = p;
    return p ? 0 : -1;
}

static int teardown(void **state)
{
    session_pair_free(*state);
    free(*state);
    return 0;
}

static void init_pair(session_pair *p)
{
    assert_int_equal(session_pair_init(p), SECCHAT_OK);
}

static void start_pair(session_pair *p)
{
    assert_int_equal(session_pair_start(p), SECCHAT_OK);
}

static void connect_pair(session_pair *p)
{
    assert_int_equal(session_pair_connect(p), SECCHAT_OK);
}

/* Moves one side's pending output to its peer; there must be some. */
static void step(session_pair *p, sp_side *from)
{
    assert_true(session_pair_transfer(p, from) > 0);
}

/* Upgrade request, 101, message 1, message 2: the client is READY, message 3 waits in its output. */
static void run_until_client_ready(session_pair *p)
{
    step(p, &p->client);
    step(p, &p->server);
    step(p, &p->client);
    step(p, &p->server);
    assert_int_equal(secchat_session_state(p->client.session), SECCHAT_SESSION_STATE_READY);
}

static void public_key(const secchat_config *cfg, uint8_t out[KEY])
{
    assert_int_equal(secchat_config_public_key(cfg, out), SECCHAT_OK);
}

static enum secchat_session_state state_of(const sp_side *side)
{
    return secchat_session_state(side->session);
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* Deterministic bytes for message number seed. */
static void fill(uint8_t *out, size_t len, uint64_t seed)
{
    uint64_t x = seed * 0x9e3779b97f4a7c15u + 1;
    for (size_t i = 0; i < len; i++) {
        if (i % 8 == 0)
            xorshift(&x);
        out[i] = (uint8_t)(x >> (8 * (i % 8)));
    }
}

static void send_filled(sp_side *from, size_t len, uint64_t seed)
{
    fill(buf, len, seed);
    assert_int_equal(secchat_session_send(from->session, buf, len), SECCHAT_OK);
}

static void assert_message(const sp_event *ev, size_t len, uint64_t seed)
{
    assert_int_equal(ev->type, EV_MESSAGE);
    assert_int_equal(ev->len, len);
    fill(expect, len, seed);
    if (len > 0)
        assert_memory_equal(ev->data, expect, len);
}

/* side's only CLOSED event is its last event, with this code and error; the session is CLOSED. */
static const sp_event *assert_closed(const sp_side *side, uint16_t code, int error)
{
    assert_int_equal(session_pair_count_events(side, EV_CLOSED), 1);
    const sp_event *ev = &side->events[side->n_events - 1];
    assert_int_equal(ev->type, EV_CLOSED);
    assert_int_equal(ev->close_code, code);
    assert_int_equal(ev->error, error);
    assert_int_equal(state_of(side), SECCHAT_SESSION_STATE_CLOSED);
    return ev;
}

/* The failing side closed with 1008 and error; the peer, once the close frame arrived, with 1008 and no error. */
static void assert_failed_1008(session_pair *p, sp_side *failed, int error)
{
    assert_int_equal(failed->feed_rc, error);
    assert_closed(failed, POLICY, error);
    session_pair_pump(p);
    sp_side *peer = session_pair_peer(p, failed);
    assert_int_equal(peer->feed_rc, SECCHAT_OK);
    assert_closed(peer, POLICY, SECCHAT_OK);
}

/* Splits data[0..len) into frames (they must fill it exactly); returns how many. */
static size_t parse_frames(const uint8_t *data, size_t len, size_t *offsets, sp_frame *frames, size_t max)
{
    size_t off = 0, n = 0;
    while (off < len) {
        assert_true(n < max);
        assert_true(sp_frame_parse(data + off, len - off, &frames[n]));
        offsets[n] = off;
        off += frames[n].header_len + frames[n].payload_len;
        n++;
    }
    return n;
}

/* The frames a side wrote after its HTTP header block; *base receives where they start in its wire log. */
static size_t wire_frames(const sp_side *side, size_t *base, size_t *offsets, sp_frame *frames, size_t max)
{
    *base = sp_http_end(side->wire.data, side->wire.len);
    assert_true(*base > 0);
    return parse_frames(side->wire.data + *base, side->wire.len - *base, offsets, frames, max);
}

/* data holds exactly one close frame with this code, masked as the sender's role requires. */
static void assert_close_frame(const uint8_t *data, size_t len, int masked, uint16_t code)
{
    sp_frame f;
    assert_true(sp_frame_parse(data, len, &f));
    assert_int_equal(f.header_len + f.payload_len, len);
    assert_int_equal(f.opcode, 0x8);
    assert_int_equal(f.masked, masked);
    assert_true(f.payload_len >= 2);
    uint8_t payload[125];
    sp_frame_payload(data, &f, payload);
    assert_int_equal(payload[0] << 8 | payload[1], code);
}

/* Copies side's pending output into out and marks it written (it is not delivered). */
static void take_output(sp_side *side, sp_bytes *out)
{
    size_t len = 0;
    const uint8_t *data = secchat_session_output(side->session, &len);
    assert_int_equal(sp_bytes_append(out, data, len), SECCHAT_OK);
    assert_int_equal(sp_bytes_append(&side->wire, data, len), SECCHAT_OK);
    secchat_session_output_consumed(side->session, len);
}

/* ---- the handshake -------------------------------------------------------- */

static void test_handshake(void **state)
{
    session_pair *p = *state;
    init_pair(p);
    start_pair(p);
    assert_int_equal(state_of(&p->client), SECCHAT_SESSION_STATE_UPGRADING);
    assert_int_equal(state_of(&p->server), SECCHAT_SESSION_STATE_UPGRADING);

    step(p, &p->client); /* upgrade request */
    assert_int_equal(state_of(&p->server), SECCHAT_SESSION_STATE_HANDSHAKING);
    assert_int_equal(state_of(&p->client), SECCHAT_SESSION_STATE_UPGRADING);
    step(p, &p->server); /* 101 */
    assert_int_equal(state_of(&p->client), SECCHAT_SESSION_STATE_HANDSHAKING);
    step(p, &p->client); /* message 1 */
    assert_int_equal(state_of(&p->server), SECCHAT_SESSION_STATE_HANDSHAKING);
    step(p, &p->server); /* message 2 */
    assert_int_equal(state_of(&p->client), SECCHAT_SESSION_STATE_READY);
    assert_int_equal(state_of(&p->server), SECCHAT_SESSION_STATE_HANDSHAKING);
    assert_int_equal(p->server.n_events, 0);
    step(p, &p->client); /* message 3 */
    assert_int_equal(state_of(&p->server), SECCHAT_SESSION_STATE_READY);
    assert_int_equal(session_pair_pump(p), 0);

    uint8_t client_pub[KEY], server_pub[KEY];
    public_key(p->client.cfg, client_pub);
    public_key(p->server.cfg, server_pub);
    assert_int_equal(p->client.n_events, 1);
    assert_int_equal(p->server.n_events, 1);
    const sp_event *c = &p->client.events[0], *s = &p->server.events[0];
    assert_int_equal(c->type, EV_READY);
    assert_int_equal(s->type, EV_READY);
    assert_true(c->has_peer_static && s->has_peer_static);
    assert_memory_equal(c->peer_static, server_pub, KEY);
    assert_memory_equal(s->peer_static, client_pub, KEY);
    assert_int_equal(c->hash_len, 32);
    assert_int_equal(s->hash_len, 32);
    assert_memory_equal(c->hash, s->hash, 32);

    /* On the wire (docs/protocol.md): 48 + 6, 96 + 2 and 64 + 6 bytes, client frames masked. */
    size_t base, off[4];
    sp_frame f[4];
    assert_int_equal(wire_frames(&p->client, &base, off, f, 4), 2);
    assert_memory_equal(p->client.wire.data, "GET /chat HTTP/1.1\r\n", 20);
    assert_int_equal(f[0].payload_len, 48);
    assert_int_equal(f[1].payload_len, 64);
    for (int i = 0; i < 2; i++) {
        assert_true(f[i].fin && f[i].masked);
        assert_int_equal(f[i].opcode, 0x2);
    }
    assert_int_equal(f[0].header_len + f[0].payload_len, 54);
    assert_int_equal(f[1].header_len + f[1].payload_len, 70);

    assert_int_equal(wire_frames(&p->server, &base, off, f, 4), 1);
    assert_memory_equal(p->server.wire.data, "HTTP/1.1 101 ", 13);
    assert_int_equal(f[0].payload_len, 96);
    assert_true(f[0].fin && !f[0].masked);
    assert_int_equal(f[0].opcode, 0x2);
    assert_int_equal(f[0].header_len + f[0].payload_len, 98);
    assert_string_equal(secchat_ws_request_path(secchat_session_ws(p->server.session)), "/chat");
}

/* Fresh ephemeral keys: two handshakes between the same configs never share a hash. */
static void test_handshake_hash_differs(void **state)
{
    session_pair *p = *state;
    connect_pair(p);
    uint8_t first[32];
    memcpy(first, p->client.events[0].hash, 32);
    secchat_session_free(p->client.session);
    secchat_session_free(p->server.session);
    p->client.session = p->server.session = NULL;
    session_pair_clear_events(&p->client);
    session_pair_clear_events(&p->server);
    start_pair(p);
    session_pair_pump(p);
    assert_int_equal(p->client.events[0].type, EV_READY);
    assert_memory_equal(p->client.events[0].hash, p->server.events[0].hash, 32);
    assert_memory_not_equal(p->client.events[0].hash, first, 32);
}

/* ---- transport ------------------------------------------------------------ */

/* Mostly small, some medium, a few up to the maximum. */
static size_t random_size(uint64_t *rng)
{
    uint64_t r = xorshift(rng);
    unsigned pick = (unsigned)(r % 100);
    r >>= 8;
    if (pick < 90)
        return (size_t)(r % 200);
    if (pick < 99)
        return 200 + (size_t)(r % 3900);
    return 4096 + (size_t)(r % (MAX_PLAIN - 4096 + 1));
}

#define MANY 10000
#define BATCH 64

static void test_many_messages(void **state)
{
    session_pair *p = *state;
    connect_pair(p);
    session_pair_clear_events(&p->client);
    session_pair_clear_events(&p->server);
    static size_t sizes[2][BATCH];
    uint64_t rng = 0x5e55107;
    size_t done = 0;
    while (done < MANY) {
        /* A batch stays well under the 1 MiB output limit. */
        size_t n = 0, bytes = 0;
        for (; n < BATCH && done + n < MANY && bytes < (size_t)256 * 1024; n++) {
            for (int dir = 0; dir < 2; dir++) {
                sizes[dir][n] = random_size(&rng);
                send_filled(dir ? &p->server : &p->client, sizes[dir][n], 2 * (done + n) + (size_t)dir);
                bytes += sizes[dir][n];
            }
        }
        session_pair_pump(p);
        assert_int_equal(p->server.n_events, n);
        assert_int_equal(p->client.n_events, n);
        for (size_t k = 0; k < n; k++) {
            assert_message(&p->server.events[k], sizes[0][k], 2 * (done + k));
            assert_message(&p->client.events[k], sizes[1][k], 2 * (done + k) + 1);
        }
        session_pair_clear_events(&p->client);
        session_pair_clear_events(&p->server);
        done += n;
    }
    assert_int_equal(p->client.feed_rc, SECCHAT_OK);
    assert_int_equal(p->server.feed_rc, SECCHAT_OK);
}

/* One message of each size each way, one at a time, checking its frame. */
static void test_message_sizes(void **state)
{
    static const size_t selected[] = {109, 110, 111, 125, 126, 127, 1000, 4096, 65000, MAX_PLAIN - 1, MAX_PLAIN};
    session_pair *p = *state;
    connect_pair(p);
    for (size_t i = 0; i < 65 + sizeof selected / sizeof selected[0]; i++) {
        size_t len = i < 65 ? i : selected[i - 65];
        for (int dir = 0; dir < 2; dir++) {
            sp_side *from = dir ? &p->server : &p->client, *to = session_pair_peer(p, from);
            session_pair_clear_events(to);
            send_filled(from, len, len);
            size_t out_len = 0;
            const uint8_t *out = secchat_session_output(from->session, &out_len);
            sp_frame f;
            assert_true(sp_frame_parse(out, out_len, &f));
            assert_int_equal(f.header_len + f.payload_len, out_len);
            assert_int_equal(f.payload_len, len + TAG);
            assert_int_equal(f.masked, from == &p->client);
            assert_int_equal(f.header_len, (f.payload_len < 126 ? 2 : 4) + (f.masked ? 4 : 0));
            session_pair_pump(p);
            assert_int_equal(to->n_events, 1);
            assert_message(&to->events[0], len, len);
        }
    }
    /* One byte too many is refused, and the session goes on. */
    assert_int_equal(secchat_session_send(p->client.session, buf, MAX_PLAIN + 1), SECCHAT_ERR_NOISE_MSG_TOO_LARGE);
    assert_int_equal(secchat_session_send(p->server.session, buf, MAX_PLAIN + 1), SECCHAT_ERR_NOISE_MSG_TOO_LARGE);
    size_t out_len = 1;
    secchat_session_output(p->client.session, &out_len);
    assert_int_equal(out_len, 0);
    session_pair_clear_events(&p->server);
    send_filled(&p->client, 3, 77);
    session_pair_pump(p);
    assert_int_equal(p->server.n_events, 1);
    assert_message(&p->server.events[0], 3, 77);
}

/* ---- delivery in pieces --------------------------------------------------- */

/* The byte stream of one conversation; keys are fixed so that runs compare. */
static void run_conversation(session_pair *p, sp_split split, uint64_t seed)
{
    static const uint8_t psk[32] = {1, 2, 3}, client_key[32] = {4, 5, 6}, server_key[32] = {7, 8, 9};
    init_pair(p);
    assert_int_equal(secchat_config_set_psk(p->client.cfg, psk), SECCHAT_OK);
    assert_int_equal(secchat_config_set_psk(p->server.cfg, psk), SECCHAT_OK);
    assert_int_equal(secchat_config_set_static_key(p->client.cfg, client_key), SECCHAT_OK);
    assert_int_equal(secchat_config_set_static_key(p->server.cfg, server_key), SECCHAT_OK);
    if (split == SP_SPLIT_RANDOM)
        session_pair_seed(p, seed);
    else
        p->split = split;
    start_pair(p);
    run_until_client_ready(p);
    /* Message 3 and four transport messages reach the server in one stream. */
    static const size_t c1[] = {0, 1, 200, MAX_PLAIN}, s1[] = {5, 126, 3000}, c2[] = {17, 40000};
    for (size_t i = 0; i < 4; i++)
        send_filled(&p->client, c1[i], 100 + i);
    step(p, &p->client);
    for (size_t i = 0; i < 3; i++)
        send_filled(&p->server, s1[i], 200 + i);
    for (size_t i = 0; i < 2; i++)
        send_filled(&p->client, c2[i], 300 + i);
    session_pair_pump(p);
    assert_int_equal(secchat_session_close(p->client.session, 4000, "bye"), SECCHAT_OK);
    session_pair_pump(p);

    /* What a whole delivery gives. */
    assert_int_equal(p->client.n_events, 5);
    assert_int_equal(p->client.events[0].type, EV_READY);
    for (size_t i = 0; i < 3; i++)
        assert_message(&p->client.events[1 + i], s1[i], 200 + i);
    assert_int_equal(p->server.n_events, 8);
    assert_int_equal(p->server.events[0].type, EV_READY);
    for (size_t i = 0; i < 4; i++)
        assert_message(&p->server.events[1 + i], c1[i], 100 + i);
    for (size_t i = 0; i < 2; i++)
        assert_message(&p->server.events[5 + i], c2[i], 300 + i);
    assert_string_equal(assert_closed(&p->client, 4000, SECCHAT_OK)->reason, "bye");
    assert_string_equal(assert_closed(&p->server, 4000, SECCHAT_OK)->reason, "bye");
}

static void assert_same_events(const sp_side *a, const sp_side *b)
{
    assert_int_equal(a->n_events, b->n_events);
    for (size_t i = 0; i < a->n_events; i++) {
        const sp_event *x = &a->events[i], *y = &b->events[i];
        assert_int_equal(x->type, y->type);
        assert_int_equal(x->len, y->len);
        if (x->len > 0)
            assert_memory_equal(x->data, y->data, x->len);
        assert_int_equal(x->has_peer_static, y->has_peer_static);
        assert_memory_equal(x->peer_static, y->peer_static, KEY);
        assert_int_equal(x->hash_len, y->hash_len); /* the hash itself depends on the ephemeral keys */
        assert_int_equal(x->close_code, y->close_code);
        assert_string_equal(x->reason, y->reason);
        assert_int_equal(x->error, y->error);
    }
}

static void test_split_delivery(void **state)
{
    session_pair *whole = *state, other;
    run_conversation(whole, SP_SPLIT_WHOLE, 0);
    for (uint64_t run = 0; run < 9; run++) {
        memset(&other, 0, sizeof other);
        run_conversation(&other, run == 0 ? SP_SPLIT_BYTES : SP_SPLIT_RANDOM, run);
        assert_same_events(&whole->client, &other.client);
        assert_same_events(&whole->server, &other.server);
        /* Same bytes on the wire, apart from random keys and masks. */
        assert_int_equal(whole->client.wire.len, other.client.wire.len);
        assert_int_equal(whole->server.wire.len, other.server.wire.len);
        session_pair_free(&other);
    }
}

/* ---- protocols -------------------------------------------------------------- */

static void check_protocol(const char *name, size_t hash_len)
{
    session_pair p;
    init_pair(&p);
    assert_int_equal(secchat_config_set_protocol(p.client.cfg, name), SECCHAT_OK);
    assert_int_equal(secchat_config_set_protocol(p.server.cfg, name), SECCHAT_OK);
    start_pair(&p);
    session_pair_pump(&p);
    assert_int_equal(state_of(&p.client), SECCHAT_SESSION_STATE_READY);
    assert_int_equal(state_of(&p.server), SECCHAT_SESSION_STATE_READY);
    assert_int_equal(p.client.events[0].hash_len, hash_len);
    assert_memory_equal(p.client.events[0].hash, p.server.events[0].hash, hash_len);
    send_filled(&p.client, 1000, 1);
    send_filled(&p.server, 10, 2);
    session_pair_pump(&p);
    assert_int_equal(p.server.n_events, 2);
    assert_message(&p.server.events[1], 1000, 1);
    assert_int_equal(p.client.n_events, 2);
    assert_message(&p.client.events[1], 10, 2);
    session_pair_free(&p);
}

static void test_other_protocols(void **state)
{
    (void)state;
    check_protocol(CHACHA, 32);
    check_protocol("Noise_XXpsk2_25519_ChaChaPoly_BLAKE2b", 64);
    check_protocol("Noise_XXpsk2_25519_AESGCM_BLAKE2b", 64);
    check_protocol("Noise_XXpsk2_25519_AESGCM_SHA512", 64);
}

/* Different protocol names: the server cannot verify message 1's tag. */
static void check_mismatch(const char *client_name, const char *server_name)
{
    session_pair p;
    init_pair(&p);
    assert_int_equal(secchat_config_set_protocol(p.client.cfg, client_name), SECCHAT_OK);
    assert_int_equal(secchat_config_set_protocol(p.server.cfg, server_name), SECCHAT_OK);
    start_pair(&p);
    session_pair_pump(&p);
    assert_int_equal(session_pair_count_events(&p.client, EV_READY), 0);
    assert_int_equal(session_pair_count_events(&p.server, EV_READY), 0);
    assert_failed_1008(&p, &p.server, SECCHAT_ERR_SESSION_HANDSHAKE);
    session_pair_free(&p);
}

static void test_protocol_mismatch(void **state)
{
    (void)state;
    check_mismatch(SECCHAT_DEFAULT_PROTOCOL, CHACHA);
    check_mismatch(CHACHA, SECCHAT_DEFAULT_PROTOCOL);
    check_mismatch(SECCHAT_DEFAULT_PROTOCOL, "Noise_XXpsk2_25519_AESGCM_BLAKE2b");
    check_mismatch("Noise_XXpsk2_25519_AESGCM_SHA512", SECCHAT_DEFAULT_PROTOCOL);
}

/* XXpsk2 mixes the PSK at the end of message 2: the client finds out. */
static void test_wrong_psk(void **state)
{
    session_pair *p = *state;
    init_pair(p);
    uint8_t other[SECCHAT_PSK_LEN] = {42};
    assert_int_equal(secchat_config_set_psk(p->server.cfg, other), SECCHAT_OK);
    start_pair(p);
    step(p, &p->client);
    step(p, &p->server);
    step(p, &p->client); /* message 1 reads fine */
    assert_int_equal(p->server.feed_rc, SECCHAT_OK);
    step(p, &p->server); /* message 2 does not */
    assert_int_equal(session_pair_count_events(&p->client, EV_READY), 0);
    assert_failed_1008(p, &p->client, SECCHAT_ERR_SESSION_HANDSHAKE);
    assert_int_equal(session_pair_count_events(&p->server, EV_READY), 0);
}

/* ---- configuration ------------------------------------------------------------ */

static void test_missing_psk(void **state)
{
    (void)state;
    secchat_config *cfg;
    assert_int_equal(secchat_config_new(&cfg), SECCHAT_OK);
    secchat_session *s = (secchat_session *)&s; /* any non-NULL value: *out must be reset */
    assert_int_equal(secchat_session_new_server(&s, cfg), SECCHAT_ERR_NOISE_MISSING_KEY);
    assert_null(s);
    s = (secchat_session *)&s;
    assert_int_equal(secchat_session_new_client(&s, cfg, SESSION_PAIR_URL), SECCHAT_ERR_NOISE_MISSING_KEY);
    assert_null(s);
    secchat_config_free(cfg);
}

static int accept_all(void *arg, const uint8_t peer_static[KEY])
{
    (void)arg;
    (void)peer_static;
    return 0;
}

static void test_config_frozen(void **state)
{
    session_pair *p = *state;
    init_pair(p);
    start_pair(p);
    uint8_t key[KEY] = {1}, pub[KEY];
    secchat_ws_limits limits = {1000, 0};
    for (int i = 0; i < 2; i++) {
        secchat_config *cfg = i ? p->server.cfg : p->client.cfg;
        assert_int_equal(secchat_config_set_protocol(cfg, CHACHA), SECCHAT_ERR_BAD_STATE);
        assert_int_equal(secchat_config_set_psk(cfg, key), SECCHAT_ERR_BAD_STATE);
        assert_int_equal(secchat_config_set_static_key(cfg, key), SECCHAT_ERR_BAD_STATE);
        assert_int_equal(secchat_config_set_verify(cfg, accept_all, NULL), SECCHAT_ERR_BAD_STATE);
        assert_int_equal(secchat_config_set_ws_limits(cfg, &limits), SECCHAT_ERR_BAD_STATE);
        assert_int_equal(secchat_config_public_key(cfg, pub), SECCHAT_OK);
    }
    /* Nothing changed: the sessions still connect. */
    session_pair_pump(p);
    assert_int_equal(state_of(&p->server), SECCHAT_SESSION_STATE_READY);
}

/* A frozen config still makes sessions, any number of them. */
static void test_config_shared(void **state)
{
    session_pair *p = *state;
    connect_pair(p);
    secchat_session *more[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(secchat_session_new_server(&more[i], p->server.cfg), SECCHAT_OK);
    for (int i = 0; i < 3; i++)
        secchat_session_free(more[i]);
}

static void test_send_before_ready(void **state)
{
    session_pair *p = *state;
    init_pair(p);
    start_pair(p);
    static const uint8_t hi[] = "hi";
    secchat_message m = {.sender = "", .content = "hi"};
    assert_int_equal(secchat_session_send(p->client.session, hi, 2), SECCHAT_ERR_NOISE_HANDSHAKE_PENDING);
    assert_int_equal(secchat_session_send(p->server.session, hi, 2), SECCHAT_ERR_NOISE_HANDSHAKE_PENDING);
    step(p, &p->client);
    assert_int_equal(secchat_session_send(p->server.session, hi, 2), SECCHAT_ERR_NOISE_HANDSHAKE_PENDING);
    assert_int_equal(secchat_session_send_message(p->server.session, &m), SECCHAT_ERR_NOISE_HANDSHAKE_PENDING);
    step(p, &p->server);
    step(p, &p->client);
    assert_int_equal(secchat_session_send(p->client.session, hi, 2), SECCHAT_ERR_NOISE_HANDSHAKE_PENDING);
    assert_int_equal(secchat_session_send_message(p->client.session, &m), SECCHAT_ERR_NOISE_HANDSHAKE_PENDING);
    step(p, &p->server);
    step(p, &p->client);
    assert_int_equal(secchat_session_send(p->server.session, hi, 2), SECCHAT_OK);
    session_pair_pump(p);
    assert_int_equal(p->client.n_events, 2);
    assert_int_equal(p->client.events[1].len, 2);
}

static void test_null_arguments(void **state)
{
    session_pair *p = *state;
    init_pair(p);
    secchat_session *s = NULL;
    assert_int_equal(secchat_session_new_server(NULL, p->server.cfg), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_session_new_server(&s, NULL), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_session_new_client(&s, p->client.cfg, NULL), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_session_new_client(&s, p->client.cfg, "http://x/"), SECCHAT_ERR_WS_URL);
    assert_null(s);
    assert_int_equal(secchat_session_feed(NULL, buf, 1), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_session_send(NULL, buf, 1), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_session_send_message(NULL, NULL), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_session_close(NULL, 1000, NULL), SECCHAT_ERR_INVALID_ARGUMENT);
    secchat_session_event ev;
    assert_int_equal(secchat_session_next_event(NULL, &ev), 0);
    assert_int_equal(secchat_session_state(NULL), SECCHAT_SESSION_STATE_CLOSED);
    assert_null(secchat_session_ws(NULL));
    secchat_session_feed_eof(NULL);
    secchat_session_free(NULL);
    start_pair(p);
    assert_int_equal(secchat_session_feed(p->server.session, NULL, 1), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(secchat_session_feed(p->server.session, NULL, 0), SECCHAT_OK);
    assert_int_equal(secchat_session_next_event(p->server.session, NULL), 0);
}

/* ---- failures after the handshake ----------------------------------------------- */

/* from sends four messages; the third is altered in transit. */
static void check_tampered(session_pair *p, sp_side *from)
{
    connect_pair(p);
    sp_side *to = session_pair_peer(p, from);
    session_pair_clear_events(to);
    static const size_t sizes[4] = {10, 200, 50, 5};
    for (size_t i = 0; i < 4; i++)
        send_filled(from, sizes[i], i);
    sp_bytes stream = {0};
    take_output(from, &stream);
    size_t off[4];
    sp_frame f[4];
    assert_int_equal(parse_frames(stream.data, stream.len, off, f, 4), 4);
    /* Flipping a masked byte flips the same bit of the payload: no need to unmask. */
    stream.data[off[2] + f[2].header_len + 3] ^= 0x20;
    assert_int_equal(session_pair_feed(p, to, stream.data, stream.len), SECCHAT_ERR_SESSION_DECRYPT);
    sp_bytes_free(&stream);

    assert_int_equal(to->n_events, 3); /* the two before it, then CLOSED; nothing for the fourth */
    assert_message(&to->events[0], sizes[0], 0);
    assert_message(&to->events[1], sizes[1], 1);
    /* Sticky: later bytes are not looked at. */
    assert_int_equal(secchat_session_feed(to->session, buf, 1), SECCHAT_ERR_SESSION_DECRYPT);
    assert_int_equal(secchat_session_send(to->session, buf, 1), SECCHAT_ERR_SESSION_DECRYPT);
    size_t len = 0;
    const uint8_t *out = secchat_session_output(to->session, &len);
    assert_close_frame(out, len, to == &p->client, POLICY);
    assert_failed_1008(p, to, SECCHAT_ERR_SESSION_DECRYPT);
}

static void test_tampered_server_to_client(void **state)
{
    session_pair *p = *state;
    check_tampered(p, &p->server);
}

static void test_tampered_client_to_server(void **state)
{
    session_pair *p = *state;
    check_tampered(p, &p->client);
}

/* Handshake message k (0, 1, 2) of the wire logs, fed again to its reader after READY. */
static void check_replayed_handshake(session_pair *p, int k)
{
    connect_pair(p);
    sp_side *writer = k == 1 ? &p->server : &p->client, *reader = session_pair_peer(p, writer);
    size_t base, off[2];
    sp_frame f[2];
    wire_frames(writer, &base, off, f, 2);
    size_t i = k == 2 ? 1 : 0;
    const uint8_t *frame = writer->wire.data + base + off[i];
    assert_int_equal(session_pair_feed(p, reader, frame, f[i].header_len + f[i].payload_len),
                     SECCHAT_ERR_SESSION_DECRYPT);
    assert_int_equal(session_pair_count_events(reader, EV_MESSAGE), 0);
    assert_failed_1008(p, reader, SECCHAT_ERR_SESSION_DECRYPT);
}

static void test_replayed_message1(void **state)
{
    check_replayed_handshake(*state, 0);
}

static void test_replayed_message2(void **state)
{
    check_replayed_handshake(*state, 1);
}

static void test_replayed_message3(void **state)
{
    check_replayed_handshake(*state, 2);
}

/* A binary message of len random bytes, to the server. */
static void check_garbage(session_pair *p, size_t len)
{
    connect_pair(p);
    static const uint8_t mask[4] = {1, 2, 3, 4};
    sp_bytes frame = {0};
    fill(buf, len, 9);
    assert_int_equal(sp_frame_build(&frame, 0x2, buf, len, mask), SECCHAT_OK);
    assert_int_equal(session_pair_feed(p, &p->server, frame.data, frame.len), SECCHAT_ERR_SESSION_DECRYPT);
    sp_bytes_free(&frame);
    assert_int_equal(session_pair_count_events(&p->server, EV_MESSAGE), 0);
    assert_failed_1008(p, &p->server, SECCHAT_ERR_SESSION_DECRYPT);
}

static void test_garbage_message(void **state)
{
    check_garbage(*state, 80);
}

static void test_short_message(void **state)
{
    check_garbage(*state, TAG - 1);
}

static void test_empty_message(void **state)
{
    check_garbage(*state, 0);
}

/* A transport message fed a second time: its nonce is behind the receiver's. */
static void check_replayed_transport(session_pair *p, sp_side *from)
{
    connect_pair(p);
    sp_side *to = session_pair_peer(p, from);
    send_filled(from, 30, 5);
    sp_bytes copy = {0};
    take_output(from, &copy);
    assert_int_equal(session_pair_feed(p, to, copy.data, copy.len), SECCHAT_OK);
    assert_int_equal(session_pair_feed(p, to, copy.data, copy.len), SECCHAT_ERR_SESSION_DECRYPT);
    sp_bytes_free(&copy);
    assert_int_equal(session_pair_count_events(to, EV_MESSAGE), 1);
    assert_message(&to->events[1], 30, 5);
    assert_failed_1008(p, to, SECCHAT_ERR_SESSION_DECRYPT);
}

static void test_replayed_transport_to_server(void **state)
{
    session_pair *p = *state;
    check_replayed_transport(p, &p->client);
}

static void test_replayed_transport_to_client(void **state)
{
    session_pair *p = *state;
    check_replayed_transport(p, &p->server);
}

/* ---- failures during the handshake ------------------------------------------------ */

/* Handshake message k (0, 1, 2) arrives as a complete binary message of its first cut bytes (cut > its
 * length: with cut - length extra bytes). */
static void check_cut_handshake(int k, size_t cut)
{
    session_pair p;
    init_pair(&p);
    start_pair(&p);
    step(&p, &p.client);
    step(&p, &p.server);
    for (int i = 0; i < k; i++)
        step(&p, i % 2 ? &p.server : &p.client);
    sp_side *writer = k % 2 ? &p.server : &p.client, *reader = session_pair_peer(&p, writer);
    sp_bytes out = {0}, frame = {0};
    take_output(writer, &out);
    sp_frame f;
    assert_true(sp_frame_parse(out.data, out.len, &f));
    assert_int_equal(f.header_len + f.payload_len, out.len);
    sp_frame_payload(out.data, &f, buf);
    memset(buf + f.payload_len, 0xa5, 8); /* the extra bytes when cut is longer */
    static const uint8_t mask[4] = {9, 8, 7, 6};
    assert_int_equal(sp_frame_build(&frame, 0x2, buf, cut, writer == &p.client ? mask : NULL), SECCHAT_OK);
    assert_int_equal(session_pair_feed(&p, reader, frame.data, frame.len), SECCHAT_ERR_SESSION_HANDSHAKE);
    sp_bytes_free(&out);
    sp_bytes_free(&frame);
    assert_int_equal(session_pair_count_events(reader, EV_READY), 0);
    assert_failed_1008(&p, reader, SECCHAT_ERR_SESSION_HANDSHAKE);
    session_pair_free(&p);
}

static void test_truncated_handshake(void **state)
{
    (void)state;
    static const size_t lens[3] = {48, 96, 64};
    for (int k = 0; k < 3; k++) {
        check_cut_handshake(k, 10);
        check_cut_handshake(k, 0);
        check_cut_handshake(k, lens[k] - 1);
        check_cut_handshake(k, lens[k] + 1);
    }
}

/* Handshake message k with one bit flipped. */
static void test_corrupted_handshake(void **state)
{
    (void)state;
    for (int k = 0; k < 3; k++) {
        session_pair p;
        init_pair(&p);
        start_pair(&p);
        step(&p, &p.client);
        step(&p, &p.server);
        for (int i = 0; i < k; i++)
            step(&p, i % 2 ? &p.server : &p.client);
        sp_side *writer = k % 2 ? &p.server : &p.client, *reader = session_pair_peer(&p, writer);
        sp_bytes out = {0};
        take_output(writer, &out);
        out.data[out.len - 20] ^= 0x01;
        assert_int_equal(session_pair_feed(&p, reader, out.data, out.len), SECCHAT_ERR_SESSION_HANDSHAKE);
        sp_bytes_free(&out);
        assert_failed_1008(&p, reader, SECCHAT_ERR_SESSION_HANDSHAKE);
        session_pair_free(&p);
    }
}

/* The transport ends in the middle of the handshake. */
static void test_eof_during_handshake(void **state)
{
    session_pair *p = *state;
    init_pair(p);
    start_pair(p);
    step(p, &p->client);
    step(p, &p->server);
    assert_int_equal(state_of(&p->client), SECCHAT_SESSION_STATE_HANDSHAKING);
    secchat_session_feed_eof(p->client.session);
    secchat_session_feed_eof(p->server.session);
    assert_int_equal(session_pair_collect(&p->client), SECCHAT_OK);
    assert_int_equal(session_pair_collect(&p->server), SECCHAT_OK);
    assert_closed(&p->client, SECCHAT_WS_CLOSE_ABNORMAL, SECCHAT_ERR_WS_CONNECTION_LOST);
    assert_closed(&p->server, SECCHAT_WS_CLOSE_ABNORMAL, SECCHAT_ERR_WS_CONNECTION_LOST);
    assert_int_equal(session_pair_count_events(&p->client, EV_READY), 0);
    assert_int_equal(secchat_session_feed(p->client.session, buf, 1), SECCHAT_ERR_WS_CONNECTION_LOST);
    /* A second EOF adds nothing. */
    secchat_session_feed_eof(p->client.session);
    assert_int_equal(session_pair_collect(&p->client), SECCHAT_OK);
    assert_int_equal(session_pair_count_events(&p->client, EV_CLOSED), 1);
}

/* ---- trust hook ----------------------------------------------------------------- */

typedef struct hook {
    int calls;
    int result;
    uint8_t key[KEY];
} hook;

static int record_peer(void *arg, const uint8_t peer_static[KEY])
{
    hook *h = arg;
    h->calls++;
    memcpy(h->key, peer_static, KEY);
    return h->result;
}

static void test_client_rejects_server(void **state)
{
    session_pair *p = *state;
    hook h = {0, 1, {0}};
    init_pair(p);
    assert_int_equal(secchat_config_set_verify(p->client.cfg, record_peer, &h), SECCHAT_OK);
    start_pair(p);
    session_pair_pump(p);
    uint8_t server_pub[KEY];
    public_key(p->server.cfg, server_pub);
    assert_int_equal(h.calls, 1);
    assert_memory_equal(h.key, server_pub, KEY);
    assert_int_equal(session_pair_count_events(&p->client, EV_READY), 0);
    assert_int_equal(session_pair_count_events(&p->server, EV_READY), 0);
    assert_int_equal(p->client.feed_rc, SECCHAT_ERR_SESSION_PEER_REJECTED);
    assert_closed(&p->client, POLICY, SECCHAT_ERR_SESSION_PEER_REJECTED);
    assert_closed(&p->server, POLICY, SECCHAT_OK);
    /* Right after message 2: the client never sent message 3 (its static key), only the close frame. */
    size_t base, off[3];
    sp_frame f[3];
    assert_int_equal(wire_frames(&p->client, &base, off, f, 3), 2);
    assert_int_equal(f[0].payload_len, 48);
    assert_close_frame(p->client.wire.data + base + off[1], f[1].header_len + f[1].payload_len, 1, POLICY);
}

static void test_server_rejects_client(void **state)
{
    session_pair *p = *state;
    hook h = {0, -1, {0}};
    init_pair(p);
    assert_int_equal(secchat_config_set_verify(p->server.cfg, record_peer, &h), SECCHAT_OK);
    start_pair(p);
    run_until_client_ready(p);
    assert_int_equal(h.calls, 0);
    /* A transport message right behind message 3, in the same feed, is dropped with it. */
    send_filled(&p->client, 20, 1);
    step(p, &p->client);
    uint8_t client_pub[KEY];
    public_key(p->client.cfg, client_pub);
    assert_int_equal(h.calls, 1);
    assert_memory_equal(h.key, client_pub, KEY);
    assert_int_equal(p->server.n_events, 1);
    assert_failed_1008(p, &p->server, SECCHAT_ERR_SESSION_PEER_REJECTED);
    assert_int_equal(p->client.n_events, 2);
    assert_int_equal(p->client.events[0].type, EV_READY);
}

static void test_hooks_accept(void **state)
{
    session_pair *p = *state;
    hook hc = {0, 0, {0}}, hs = {0, 0, {0}};
    init_pair(p);
    assert_int_equal(secchat_config_set_verify(p->client.cfg, record_peer, &hc), SECCHAT_OK);
    assert_int_equal(secchat_config_set_verify(p->server.cfg, record_peer, &hs), SECCHAT_OK);
    start_pair(p);
    session_pair_pump(p);
    assert_int_equal(state_of(&p->client), SECCHAT_SESSION_STATE_READY);
    assert_int_equal(state_of(&p->server), SECCHAT_SESSION_STATE_READY);
    uint8_t client_pub[KEY], server_pub[KEY];
    public_key(p->client.cfg, client_pub);
    public_key(p->server.cfg, server_pub);
    assert_int_equal(hc.calls, 1);
    assert_int_equal(hs.calls, 1);
    assert_memory_equal(hc.key, server_pub, KEY);
    assert_memory_equal(hs.key, client_pub, KEY);
    assert_memory_equal(p->client.events[0].peer_static, server_pub, KEY);
    /* Traffic does not call the hooks again. */
    send_filled(&p->client, 10, 1);
    send_filled(&p->server, 10, 2);
    session_pair_pump(p);
    assert_int_equal(hc.calls + hs.calls, 2);
}

/* ---- application messages --------------------------------------------------------- */

static const sp_event *last_message(const sp_side *side)
{
    assert_true(side->n_events > 0);
    const sp_event *ev = &side->events[side->n_events - 1];
    assert_int_equal(ev->type, EV_MESSAGE);
    return ev;
}

static void decode(secchat_message *m, const sp_event *ev)
{
    assert_int_equal(secchat_message_decode(m, scratch, sizeof scratch, ev->data, ev->len), SECCHAT_OK);
}

static void test_send_message(void **state)
{
    session_pair *p = *state;
    connect_pair(p);
    secchat_message prompt = {.sender = "Server", .content = "Please enter your name:"};
    assert_int_equal(secchat_session_send_message(p->server.session, &prompt), SECCHAT_OK);
    session_pair_pump(p);
    static const char want[] = "{\"sender\":\"Server\",\"content\":\"Please enter your name:\"}";
    const sp_event *ev = last_message(&p->client);
    assert_int_equal(ev->len, sizeof want - 1);
    assert_memory_equal(ev->data, want, sizeof want - 1);
    secchat_message m;
    decode(&m, ev);
    assert_string_equal(m.sender, "Server");
    assert_string_equal(m.content, "Please enter your name:");
    assert_int_equal(m.content_len, 23);
    assert_null(m.type);
    assert_null(m.room);
    assert_null(m.to);
    assert_false(m.has_ts);

    secchat_message full = {.sender = "Alice",
                            .content = "hi \"Bob\"\n\xc3\xa9",
                            .type = "dm",
                            .room = "lobby",
                            .to = "Bob",
                            .ts = 1764201600000,
                            .has_ts = 1};
    assert_int_equal(secchat_session_send_message(p->client.session, &full), SECCHAT_OK);
    session_pair_pump(p);
    static const char want_full[] = "{\"sender\":\"Alice\",\"content\":\"hi \\\"Bob\\\"\\n\xc3\xa9\",\"type\":\"dm\","
                                    "\"room\":\"lobby\",\"to\":\"Bob\",\"ts\":1764201600000}";
    ev = last_message(&p->server);
    assert_int_equal(ev->len, sizeof want_full - 1);
    assert_memory_equal(ev->data, want_full, sizeof want_full - 1);
    decode(&m, ev);
    assert_string_equal(m.sender, full.sender);
    assert_string_equal(m.content, full.content);
    assert_string_equal(m.type, full.type);
    assert_string_equal(m.room, full.room);
    assert_string_equal(m.to, full.to);
    assert_true(m.has_ts);
    assert_true(m.ts == full.ts);
}

/* Past the 2 KiB the session encodes on its stack, up to the largest message. */
static void test_send_message_sizes(void **state)
{
    session_pair *p = *state;
    connect_pair(p);
    static char content[MAX_PLAIN + 2];
    size_t overhead = sizeof "{\"sender\":\"\",\"content\":\"\"}" - 1;
    static const size_t sizes[] = {0, 2000, 2048, 5000, MAX_PLAIN - 26};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        memset(content, 'a' + (int)i, sizes[i]);
        content[sizes[i]] = '\0';
        secchat_message msg = {.content = content};
        assert_int_equal(secchat_session_send_message(p->client.session, &msg), SECCHAT_OK);
        session_pair_pump(p);
        const sp_event *ev = last_message(&p->server);
        assert_int_equal(ev->len, overhead + sizes[i]);
        secchat_message m;
        decode(&m, ev);
        assert_string_equal(m.sender, "");
        assert_int_equal(m.content_len, sizes[i]);
        assert_string_equal(m.content, content);
    }
    assert_int_equal(overhead, 26);
    /* One more byte and the JSON no longer fits a transport message; bad UTF-8 never gets out. */
    size_t before = p->server.n_events;
    memset(content, 'z', MAX_PLAIN - 25);
    content[MAX_PLAIN - 25] = '\0';
    secchat_message big = {.content = content};
    assert_int_equal(secchat_session_send_message(p->client.session, &big), SECCHAT_ERR_MESSAGE_TOO_LARGE);
    secchat_message bad = {.content = "\xff"};
    assert_int_equal(secchat_session_send_message(p->client.session, &bad), SECCHAT_ERR_MESSAGE_UTF8);
    assert_int_equal(session_pair_pump(p), 0);
    assert_int_equal(p->server.n_events, before);
    assert_int_equal(state_of(&p->client), SECCHAT_SESSION_STATE_READY);
}

/* ---- closing ------------------------------------------------------------------------ */

static void check_close(sp_side *closer, session_pair *p, uint16_t code, const char *reason)
{
    assert_int_equal(secchat_session_close(closer->session, code, reason), SECCHAT_OK);
    assert_int_equal(state_of(closer), SECCHAT_SESSION_STATE_CLOSING);
    assert_int_equal(secchat_session_send(closer->session, buf, 1), SECCHAT_ERR_WS_CLOSED);
    session_pair_pump(p);
    assert_string_equal(assert_closed(&p->client, code, SECCHAT_OK)->reason, reason);
    assert_string_equal(assert_closed(&p->server, code, SECCHAT_OK)->reason, reason);
    assert_int_equal(secchat_session_send(p->client.session, buf, 1), SECCHAT_ERR_WS_CLOSED);
    assert_int_equal(secchat_session_send(p->server.session, buf, 1), SECCHAT_ERR_WS_CLOSED);
    assert_int_equal(p->client.feed_rc, SECCHAT_OK);
    assert_int_equal(p->server.feed_rc, SECCHAT_OK);
}

static void test_client_closes(void **state)
{
    session_pair *p = *state;
    connect_pair(p);
    check_close(&p->client, p, SECCHAT_WS_CLOSE_NORMAL, "bye");
}

static void test_server_closes(void **state)
{
    session_pair *p = *state;
    connect_pair(p);
    check_close(&p->server, p, SECCHAT_WS_CLOSE_GOING_AWAY, "server shutting down");
}

/* Messages sent before the close frame still arrive. */
static void test_close_after_messages(void **state)
{
    session_pair *p = *state;
    connect_pair(p);
    send_filled(&p->server, 100, 1);
    send_filled(&p->server, 5, 2);
    assert_int_equal(secchat_session_close(p->server.session, 4000, ""), SECCHAT_OK);
    session_pair_pump(p);
    assert_int_equal(p->client.n_events, 4);
    assert_message(&p->client.events[1], 100, 1);
    assert_message(&p->client.events[2], 5, 2);
    assert_string_equal(assert_closed(&p->client, 4000, SECCHAT_OK)->reason, "");
}

static void test_ping(void **state)
{
    session_pair *p = *state;
    connect_pair(p);
    assert_int_equal(secchat_session_ping(p->client.session, 1000), SECCHAT_OK);
    assert_int_equal(secchat_session_ping_overdue(p->client.session, 6000, 5000), 1);
    session_pair_pump(p);
    assert_int_equal(secchat_session_ping_overdue(p->client.session, 6000, 5000), 0);
    assert_int_equal(p->client.n_events, 1); /* the pong is not a session event */
    assert_int_equal(p->server.n_events, 1);
}

/* ---- WebSocket violations after READY ---------------------------------------------------- */

/* Feeds a frame built by hand to side; it fails with error and close code, its peer sees the code. */
static void check_injected(session_pair *p, sp_side *to, uint8_t opcode, int masked, uint8_t first_byte_or,
                           uint16_t code, int error)
{
    connect_pair(p);
    static const uint8_t mask[4] = {0x11, 0x22, 0x33, 0x44};
    sp_bytes frame = {0};
    assert_int_equal(sp_frame_build(&frame, opcode, (const uint8_t *)"hello", 5, masked ? mask : NULL), SECCHAT_OK);
    frame.data[0] |= first_byte_or;
    assert_int_equal(session_pair_feed(p, to, frame.data, frame.len), error);
    sp_bytes_free(&frame);
    assert_int_equal(session_pair_count_events(to, EV_MESSAGE), 0);
    assert_closed(to, code, error);
    session_pair_pump(p);
    assert_closed(session_pair_peer(p, to), code, SECCHAT_OK);
}

static void test_text_to_server(void **state)
{
    session_pair *p = *state;
    check_injected(p, &p->server, 0x1, 1, 0, SECCHAT_WS_CLOSE_UNSUPPORTED_DATA, SECCHAT_ERR_WS_TEXT_MESSAGE);
}

static void test_text_to_client(void **state)
{
    session_pair *p = *state;
    check_injected(p, &p->client, 0x1, 0, 0, SECCHAT_WS_CLOSE_UNSUPPORTED_DATA, SECCHAT_ERR_WS_TEXT_MESSAGE);
}

static void test_unmasked_to_server(void **state)
{
    session_pair *p = *state;
    check_injected(p, &p->server, 0x2, 0, 0, SECCHAT_WS_CLOSE_PROTOCOL_ERROR, SECCHAT_ERR_WS_PROTOCOL);
}

static void test_masked_to_client(void **state)
{
    session_pair *p = *state;
    check_injected(p, &p->client, 0x2, 1, 0, SECCHAT_WS_CLOSE_PROTOCOL_ERROR, SECCHAT_ERR_WS_PROTOCOL);
}

static void test_reserved_bit(void **state)
{
    session_pair *p = *state;
    check_injected(p, &p->server, 0x2, 1, 0x40, SECCHAT_WS_CLOSE_PROTOCOL_ERROR, SECCHAT_ERR_WS_PROTOCOL);
}

/* The config's WebSocket limit bounds what the peer may send. */
static void test_message_over_limit(void **state)
{
    session_pair *p = *state;
    init_pair(p);
    secchat_ws_limits limits = {1000, 0};
    assert_int_equal(secchat_config_set_ws_limits(p->server.cfg, &limits), SECCHAT_OK);
    start_pair(p);
    session_pair_pump(p);
    send_filled(&p->client, 1000 - TAG, 1);
    session_pair_pump(p);
    assert_message(&p->server.events[1], 1000 - TAG, 1);
    send_filled(&p->client, 1001 - TAG, 2);
    session_pair_pump(p);
    assert_int_equal(session_pair_count_events(&p->server, EV_MESSAGE), 1);
    assert_int_equal(p->server.feed_rc, SECCHAT_ERR_WS_MESSAGE_TOO_BIG);
    assert_closed(&p->server, SECCHAT_WS_CLOSE_MESSAGE_TOO_BIG, SECCHAT_ERR_WS_MESSAGE_TOO_BIG);
    assert_closed(&p->client, SECCHAT_WS_CLOSE_MESSAGE_TOO_BIG, SECCHAT_OK);
}

/* ---- how many bytes one feed call holds must not matter ------------------------------------ */

/*
 * The client sends a 100-byte message, then (tamper) flips a byte of it, then appends either a text frame or
 * its own close frame; the server gets it all in one feed call, or one byte per call. Returns the server's
 * events through p.
 */
static void feed_message_then(session_pair *p, sp_split split, int tamper, int then_close)
{
    connect_pair(p);
    session_pair_clear_events(&p->server);
    send_filled(&p->client, 100, 1);
    if (then_close)
        assert_int_equal(secchat_session_close(p->client.session, SECCHAT_WS_CLOSE_NORMAL, "bye"), SECCHAT_OK);
    sp_bytes stream = {0};
    take_output(&p->client, &stream);
    if (tamper)
        stream.data[10] ^= 0x01; /* inside the first frame's payload */
    static const uint8_t mask[4] = {1, 2, 3, 4};
    if (!then_close)
        assert_int_equal(sp_frame_build(&stream, 0x1, (const uint8_t *)"hi", 2, mask), SECCHAT_OK);
    p->split = split;
    (void)session_pair_feed(p, &p->server, stream.data, stream.len);
    sp_bytes_free(&stream);
}

/* A binary message and then a text frame: the message came first and is delivered, whatever the split. */
static void test_message_before_violation(void **state)
{
    session_pair *p = *state;
    for (int split = SP_SPLIT_BYTES; split >= SP_SPLIT_WHOLE; split--) {
        feed_message_then(p, (sp_split)split, 0, 0);
        assert_int_equal(p->server.feed_rc, SECCHAT_ERR_WS_TEXT_MESSAGE);
        assert_int_equal(p->server.n_events, 2);
        assert_message(&p->server.events[0], 100, 1);
        assert_closed(&p->server, SECCHAT_WS_CLOSE_UNSUPPORTED_DATA, SECCHAT_ERR_WS_TEXT_MESSAGE);
        session_pair_free(p);
    }
}

/* A forged message and then the sender's close frame: the forgery is answered with 1008, not with an
 * orderly echo of the close, whatever the split. */
static void test_forgery_before_close(void **state)
{
    session_pair *p = *state;
    for (int split = SP_SPLIT_BYTES; split >= SP_SPLIT_WHOLE; split--) {
        feed_message_then(p, (sp_split)split, 1, 1);
        assert_int_equal(p->server.feed_rc, SECCHAT_ERR_SESSION_DECRYPT);
        assert_int_equal(p->server.n_events, 1);
        assert_closed(&p->server, POLICY, SECCHAT_ERR_SESSION_DECRYPT);
        size_t len = 0;
        const uint8_t *out = secchat_session_output(p->server.session, &len);
        assert_close_frame(out, len, 0, POLICY);
        session_pair_free(p);
    }
}

/* chat.h: both sides must send their static key and neither may need the other's in advance. Anything else
 * would make sessions without the trust hook ever seeing a key (NN: both sides READY, peer_static NULL). */
static void test_protocol_must_be_xx_shaped(void **state)
{
    static const char *const refused[] = {
        "Noise_NN_25519_AESGCM_SHA256",     "Noise_NNpsk0_25519_AESGCM_SHA256", "Noise_NX_25519_AESGCM_SHA256",
        "Noise_XNpsk3_25519_AESGCM_SHA256", "Noise_NK_25519_AESGCM_SHA256",     "Noise_IK_25519_AESGCM_SHA256",
        "Noise_KK_25519_AESGCM_SHA256",     "Noise_N_25519_AESGCM_SHA256",
    };
    session_pair *p = *state;
    init_pair(p);
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        int rc = secchat_config_set_protocol(p->server.cfg, refused[i]);
        if (rc == SECCHAT_OK)
            print_error("accepted: %s\n", refused[i]);
        assert_int_equal(secchat_error_class(rc), -200);
    }
    /* XX and IX shapes stay accepted: every peer key reaches the trust hook. */
    assert_int_equal(secchat_config_set_protocol(p->server.cfg, "Noise_IXpsk2_25519_AESGCM_SHA256"), SECCHAT_OK);
    assert_int_equal(secchat_config_set_protocol(p->server.cfg, "Noise_XXpsk3_25519_AESGCM_SHA256"), SECCHAT_OK);
    assert_int_equal(secchat_config_set_protocol(p->server.cfg, "Noise_XX_25519_ChaChaPoly_BLAKE2b"), SECCHAT_OK);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_handshake),
        T(test_handshake_hash_differs),
        T(test_many_messages),
        T(test_message_sizes),
        T(test_split_delivery),
        T(test_other_protocols),
        T(test_protocol_mismatch),
        T(test_wrong_psk),
        T(test_missing_psk),
        T(test_config_frozen),
        T(test_config_shared),
        T(test_send_before_ready),
        T(test_null_arguments),
        T(test_tampered_server_to_client),
        T(test_tampered_client_to_server),
        T(test_replayed_message1),
        T(test_replayed_message2),
        T(test_replayed_message3),
        T(test_garbage_message),
        T(test_short_message),
        T(test_empty_message),
        T(test_replayed_transport_to_client),
        T(test_replayed_transport_to_server),
        T(test_truncated_handshake),
        T(test_corrupted_handshake),
        T(test_eof_during_handshake),
        T(test_client_rejects_server),
        T(test_server_rejects_client),
        T(test_hooks_accept),
        T(test_send_message),
        T(test_send_message_sizes),
        T(test_client_closes),
        T(test_server_closes),
        T(test_close_after_messages),
        T(test_ping),
        T(test_text_to_server),
        T(test_text_to_client),
        T(test_unmasked_to_server),
        T(test_masked_to_client),
        T(test_reserved_bit),
        T(test_message_over_limit),
        T(test_message_before_violation),
        T(test_forgery_before_close),
        T(test_protocol_must_be_xx_shaped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
