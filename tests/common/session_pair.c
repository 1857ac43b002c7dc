/* A client and a server session talking through memory; see session_pair.h. */
#include <stdlib.h>
#include <string.h>

#include "common/session_pair.h"

int sp_bytes_append(sp_bytes *b, const void *data, size_t len)
{
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len)
            cap *= 2;
        uint8_t *p = realloc(b->data, cap);
        if (p == NULL)
            return SECCHAT_ERR_NO_MEMORY;
        b->data = p;
        b->cap = cap;
    }
    if (len > 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    return SECCHAT_OK;
}

void sp_bytes_free(sp_bytes *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* ---- set-up ----------------------------------------------------------------- */

int session_pair_init(session_pair *p)
{
    memset(p, 0, sizeof *p);
    p->rng = 1;
    uint8_t psk[SECCHAT_PSK_LEN];
    int rc = secchat_random_bytes(psk, sizeof psk);
    if (rc == SECCHAT_OK)
        rc = secchat_config_new(&p->client.cfg);
    if (rc == SECCHAT_OK)
        rc = secchat_config_new(&p->server.cfg);
    if (rc == SECCHAT_OK)
        rc = secchat_config_set_psk(p->client.cfg, psk);
    if (rc == SECCHAT_OK)
        rc = secchat_config_set_psk(p->server.cfg, psk);
    secchat_memzero(psk, sizeof psk);
    return rc;
}

int session_pair_start(session_pair *p)
{
    int rc = secchat_session_new_client(&p->client.session, p->client.cfg, SESSION_PAIR_URL);
    if (rc == SECCHAT_OK)
        rc = secchat_session_new_server(&p->server.session, p->server.cfg);
    return rc;
}

int session_pair_connect(session_pair *p)
{
    int rc = session_pair_init(p);
    if (rc == SECCHAT_OK)
        rc = session_pair_start(p);
    if (rc != SECCHAT_OK)
        return rc;
    session_pair_pump(p);
    if (p->client.feed_rc != SECCHAT_OK)
        return p->client.feed_rc;
    if (p->server.feed_rc != SECCHAT_OK)
        return p->server.feed_rc;
    int ready = secchat_session_state(p->client.session) == SECCHAT_SESSION_STATE_READY &&
                secchat_session_state(p->server.session) == SECCHAT_SESSION_STATE_READY;
    return ready ? SECCHAT_OK : SECCHAT_ERR_BAD_STATE;
}

void session_pair_clear_events(sp_side *side)
{
    for (size_t i = 0; i < side->n_events; i++)
        free(side->events[i].data);
    side->n_events = 0;
}

static void free_side(sp_side *side)
{
    secchat_session_free(side->session);
    secchat_config_free(side->cfg); /* after the session: a config must outlive its sessions */
    session_pair_clear_events(side);
    free(side->events);
    sp_bytes_free(&side->wire);
    memset(side, 0, sizeof *side);
}

void session_pair_free(session_pair *p)
{
    free_side(&p->client);
    free_side(&p->server);
}

void session_pair_seed(session_pair *p, uint64_t seed)
{
    p->split = SP_SPLIT_RANDOM;
    p->rng = seed ? seed : 0x9e3779b97f4a7c15u;
}

uint64_t session_pair_rand(session_pair *p)
{
    uint64_t x = p->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return p->rng = x;
}

sp_side *session_pair_peer(session_pair *p, const sp_side *side)
{
    return side == &p->client ? &p->server : &p->client;
}

/* ---- events ----------------------------------------------------------------- */

static int copy_event(sp_event *dst, const secchat_session_event *ev)
{
    memset(dst, 0, sizeof *dst);
    dst->type = ev->type;
    dst->len = ev->len;
    if (ev->type == SECCHAT_SESSION_EVENT_MESSAGE && ev->len > 0) {
        dst->data = malloc(ev->len);
        if (dst->data == NULL)
            return SECCHAT_ERR_NO_MEMORY;
        memcpy(dst->data, ev->data, ev->len);
    }
    if (ev->peer_static != NULL) {
        memcpy(dst->peer_static, ev->peer_static, SECCHAT_NOISE_KEY_LEN);
        dst->has_peer_static = 1;
    }
    if (ev->handshake_hash != NULL && ev->hash_len <= sizeof dst->hash) {
        memcpy(dst->hash, ev->handshake_hash, ev->hash_len);
        dst->hash_len = ev->hash_len;
    }
    dst->close_code = ev->close_code;
    if (ev->reason != NULL)
        strncpy(dst->reason, ev->reason, sizeof dst->reason - 1);
    dst->error = ev->error;
    return SECCHAT_OK;
}

int session_pair_collect(sp_side *side)
{
    secchat_session_event ev;
    while (secchat_session_next_event(side->session, &ev)) {
        if (side->n_events == side->cap_events) {
            size_t cap = side->cap_events ? side->cap_events * 2 : 16;
            sp_event *events = realloc(side->events, cap * sizeof *events);
            if (events == NULL)
                return SECCHAT_ERR_NO_MEMORY;
            side->events = events;
            side->cap_events = cap;
        }
        int rc = copy_event(&side->events[side->n_events], &ev);
        if (rc != SECCHAT_OK)
            return rc;
        side->n_events++;
    }
    return SECCHAT_OK;
}

long session_pair_find_event(const sp_side *side, enum secchat_session_event_type type, size_t from)
{
    for (size_t i = from; i < side->n_events; i++)
        if (side->events[i].type == type)
            return (long)i;
    return -1;
}

size_t session_pair_count_events(const sp_side *side, enum secchat_session_event_type type)
{
    size_t n = 0;
    for (size_t i = 0; i < side->n_events; i++)
        n += side->events[i].type == type;
    return n;
}

/* ---- moving bytes ------------------------------------------------------------ */

/* Size of the next piece to feed, at most left (> 0). */
static size_t piece(session_pair *p, size_t left)
{
    size_t n = left;
    if (p->split == SP_SPLIT_BYTES) {
        n = 1;
    } else if (p->split == SP_SPLIT_RANDOM) {
        uint64_t r = session_pair_rand(p);
        /* Mostly short pieces, so that headers get cut, with long ones now and then. */
        static const size_t limits[4] = {1, 8, 300, 70000};
        n = 1 + (size_t)((r >> 8) % limits[r & 3]);
    }
    return n < left ? n : left;
}

int session_pair_feed(session_pair *p, sp_side *to, const uint8_t *data, size_t len)
{
    size_t off = 0;
    do {
        size_t n = len - off > 0 ? piece(p, len - off) : 0;
        int rc = secchat_session_feed(to->session, data + off, n);
        if (rc != SECCHAT_OK && to->feed_rc == SECCHAT_OK)
            to->feed_rc = rc;
        int collected = session_pair_collect(to);
        if (collected != SECCHAT_OK)
            return collected;
        off += n;
    } while (off < len);
    return to->feed_rc;
}

size_t session_pair_transfer(session_pair *p, sp_side *from)
{
    size_t len = 0;
    const uint8_t *out = secchat_session_output(from->session, &len);
    if (len == 0)
        return 0;
    if (sp_bytes_append(&from->wire, out, len) != SECCHAT_OK)
        return 0;
    /* out stays valid: feeding the peer does not touch from. */
    (void)session_pair_feed(p, session_pair_peer(p, from), out, len);
    secchat_session_output_consumed(from->session, len);
    return len;
}

size_t session_pair_pump(session_pair *p)
{
    size_t total = 0, moved;
    (void)session_pair_collect(&p->client);
    (void)session_pair_collect(&p->server);
    /* Bounded, so that two sessions answering each other forever cannot hang a test. */
    for (int round = 0; round < 1000; round++) {
        moved = session_pair_transfer(p, &p->client);
        moved += session_pair_transfer(p, &p->server);
        total += moved;
        if (moved == 0)
            break;
    }
    return total;
}

/* ---- frames ------------------------------------------------------------------ */

int sp_frame_parse(const uint8_t *data, size_t len, sp_frame *f)
{
    if (len < 2)
        return 0;
    memset(f, 0, sizeof *f);
    f->fin = data[0] >> 7;
    f->opcode = data[0] & 0x0f;
    f->masked = data[1] >> 7;
    size_t n = 2;
    uint64_t plen = data[1] & 0x7f;
    size_t ext = plen == 126 ? 2 : plen == 127 ? 8 : 0;
    if (len < n + ext)
        return 0;
    if (ext > 0) {
        plen = 0;
        for (size_t i = 0; i < ext; i++)
            plen = plen << 8 | data[n + i];
        n += ext;
    }
    if (f->masked) {
        if (len < n + 4)
            return 0;
        memcpy(f->mask, data + n, 4);
        n += 4;
    }
    if (plen > len - n)
        return 0;
    f->header_len = n;
    f->payload_len = (size_t)plen;
    return 1;
}

size_t sp_http_end(const uint8_t *data, size_t len)
{
    for (size_t i = 0; i + 4 <= len; i++)
        if (memcmp(data + i, "\r\n\r\n", 4) == 0)
            return i + 4;
    return 0;
}

int sp_frame_build(sp_bytes *out, uint8_t opcode, const uint8_t *payload, size_t len, const uint8_t mask[4])
{
    uint8_t h[14];
    size_t n = 0;
    h[n++] = (uint8_t)(0x80 | opcode);
    uint8_t m = mask ? 0x80 : 0x00;
    if (len < 126) {
        h[n++] = (uint8_t)(m | len);
    } else if (len <= 0xffff) {
        h[n++] = m | 126;
        h[n++] = (uint8_t)(len >> 8);
        h[n++] = (uint8_t)len;
    } else {
        h[n++] = m | 127;
        for (int i = 7; i >= 0; i--)
            h[n++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    if (mask) {
        memcpy(h + n, mask, 4);
        n += 4;
    }
    size_t start = out->len + n;
    int rc = sp_bytes_append(out, h, n);
    if (rc == SECCHAT_OK)
        rc = sp_bytes_append(out, payload, len);
    if (rc == SECCHAT_OK && mask)
        for (size_t i = 0; i < len; i++)
            out->data[start + i] ^= mask[i % 4];
    return rc;
}

void sp_frame_payload(const uint8_t *data, const sp_frame *f, uint8_t *out)
{
    for (size_t i = 0; i < f->payload_len; i++)
        out[i] = (uint8_t)(data[f->header_len + i] ^ (f->masked ? f->mask[i % 4] : 0));
}
