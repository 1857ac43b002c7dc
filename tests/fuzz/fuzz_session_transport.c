/*
 * A client and a server secchat_session, handshake completed in memory
 * (tests/common/session_pair.c), then the server is fed what a hostile
 * client can send after the handshake: raw bytes, well-formed frames with
 * arbitrary ciphertext, and arbitrary plaintexts the client encrypts
 * correctly. Every plaintext the server decrypts goes through what
 * lib/server/chat.c does with it (sc_chat_on_message): JSON decode, the
 * name check while the member has no name, then the line parser, the
 * commands' argument handling and the re-encoding of the relayed message,
 * which is also sent back through the server session to the client.
 *
 * Input: byte 0 = split seed for the byte transfers (0: whole), then steps
 * (at most 32): 1 byte ctl, then a chunk (fz_chunk). ctl & 7:
 *   0     the chunk as raw bytes to the server
 *   1-3   the client sends the chunk as one transport message (it must
 *         arrive intact while both sides are READY)
 *   4     a masked frame with the chunk as payload, opcode ctl >> 4
 *   5     the server sends the chunk; the client must receive it intact
 *   6     trim both, ping both, ping_overdue
 *   7     close: client, server, or end of file, by ctl >> 3
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/session_pair.h"
#include "fuzz/fuzz_common.h"
#include "server/line.h"
#include "server/names.h"

typedef struct chat_state {
    int member;
    char name[SECCHAT_NAME_MAX + 1];
    char room[SECCHAT_ROOM_MAX + 1];
} chat_state;

static int both_ready(session_pair *p)
{
    return secchat_session_state(p->client.session) == SECCHAT_SESSION_STATE_READY &&
           secchat_session_state(p->server.session) == SECCHAT_SESSION_STATE_READY;
}

/* Encodes m as the server would relay it; if it fits, checks it decodes back and sends it to the client. */
static void relay(session_pair *p, const secchat_message *m)
{
    size_t need = 0;
    int rc = secchat_message_encode(m, NULL, 0, &need);
    if (rc == SECCHAT_ERR_MESSAGE_TOO_LARGE)
        return; /* refused to its author in the server; never sent oversized */
    FUZZ_CHECK(rc == SECCHAT_ERR_BUFFER_TOO_SMALL);
    FUZZ_CHECK(need <= SECCHAT_MESSAGE_MAX);
    uint8_t *buf = malloc(need);
    size_t len = 0;
    FUZZ_CHECK(buf != NULL && secchat_message_encode(m, buf, need, &len) == SECCHAT_OK && len == need);
    char *scratch = malloc(SECCHAT_MESSAGE_SCRATCH(len));
    secchat_message back;
    FUZZ_CHECK(secchat_message_decode(&back, scratch, SECCHAT_MESSAGE_SCRATCH(len), buf, len) == SECCHAT_OK);
    FUZZ_CHECK(strcmp(back.content, m->content) == 0 && strcmp(back.sender, m->sender) == 0);
    free(scratch);
    int was_ready = both_ready(p);
    if (fz_verbose())
        fprintf(stderr, "relay %zu bytes (ready %d)\n", len, was_ready);
    rc = secchat_session_send(p->server.session, buf, len);
    if (was_ready) {
        FUZZ_CHECK(rc == SECCHAT_OK);
        size_t before = p->client.n_events;
        session_pair_pump(p);
        long i = session_pair_find_event(&p->client, SECCHAT_SESSION_EVENT_MESSAGE, before);
        FUZZ_CHECK(i >= 0 && p->client.events[i].len == len && memcmp(p->client.events[i].data, buf, len) == 0);
    }
    free(buf);
}

/* What sc_chat_on_message and the command functions of lib/server/chat.c do with a plaintext. */
static void chat_on_message(session_pair *p, chat_state *st, const uint8_t *data, size_t len)
{
    char *scratch = malloc(SECCHAT_MESSAGE_SCRATCH(len));
    FUZZ_CHECK(scratch != NULL);
    secchat_message msg;
    int rc = secchat_message_decode(&msg, scratch, SECCHAT_MESSAGE_SCRATCH(len), data, len);
    if (fz_verbose())
        fprintf(stderr, "server got %zu bytes: decode %d, member %d\n", len, rc, st->member);
    if (rc != SECCHAT_OK) {
        FUZZ_CHECK(msg.content == NULL && msg.sender == NULL); /* zeroed on error */
        free(scratch);
        return;
    }
    FUZZ_CHECK(msg.sender != NULL && msg.content != NULL && strlen(msg.content) == msg.content_len);
    if (!st->member) {
        enum sc_name_problem np = sc_name_check(msg.content, msg.content_len);
        (void)sc_name_problem_text(np);
        if (np == SC_NAME_OK) {
            FUZZ_CHECK(msg.content_len >= 1 && msg.content_len <= SECCHAT_NAME_MAX);
            memcpy(st->name, msg.content, msg.content_len);
            st->name[msg.content_len] = '\0';
            char folded[SECCHAT_NAME_MAX + 1];
            sc_name_fold(st->name, folded);
            FUZZ_CHECK(strlen(folded) == msg.content_len);
            FUZZ_CHECK(strcmp(folded, "server") != 0);
            st->member = 1;
        }
        free(scratch);
        return;
    }
    sc_line l;
    sc_line_parse(msg.content, msg.content_len, &l);
    const char *end = msg.content + msg.content_len;
    if (!l.is_command) {
        FUZZ_CHECK(l.text >= msg.content && l.text + l.text_len == end);
        secchat_message m = {.sender = st->name, .content = l.text};
        relay(p, &m);
    } else {
        FUZZ_CHECK(strlen(l.command) <= SC_COMMAND_MAX);
        FUZZ_CHECK(l.args >= msg.content && l.args <= end);
        if (strcmp(l.command, "join") == 0) {
            size_t alen = strlen(l.args);
            while (alen && (l.args[alen - 1] == ' ' || l.args[alen - 1] == '\t'))
                alen--;
            if (sc_room_name_check(l.args, alen) == SC_NAME_OK) {
                FUZZ_CHECK(alen <= SECCHAT_ROOM_MAX);
                memcpy(st->room, l.args, alen);
                st->room[alen] = '\0';
                char folded[SECCHAT_ROOM_MAX + 1];
                sc_name_fold(st->room, folded);
            }
        } else if (strcmp(l.command, "msg") == 0) {
            char target[SECCHAT_NAME_MAX + 1];
            const char *text = NULL;
            if (sc_line_first_word(l.args, target, sizeof target, &text) == 0) {
                FUZZ_CHECK(strlen(target) <= SECCHAT_NAME_MAX && text >= l.args && text <= end);
                if (*text) {
                    secchat_message m = {.sender = st->name, .content = text, .type = "dm", .to = target,
                                         .ts = 1700000000000, .has_ts = 1};
                    /* The server only relays to an existing member, whose name passed sc_name_check. */
                    if (sc_name_check(target, strlen(target)) == SC_NAME_OK)
                        relay(p, &m);
                }
            }
        } else if (strcmp(l.command, "me") == 0 && l.args[0]) {
            size_t n = strlen(st->name) + strlen(l.args) + 4;
            char *action = malloc(n);
            FUZZ_CHECK(action != NULL);
            snprintf(action, n, "* %s %s", st->name, l.args);
            secchat_message m = {.sender = st->name, .content = action, .type = "chat",
                                 .room = st->room[0] ? st->room : "lobby", .ts = 1700000000000, .has_ts = 1};
            relay(p, &m);
            free(action);
        }
    }
    free(scratch);
}

/* Processes (and forgets) the server's collected events. */
static void server_events(session_pair *p, chat_state *st)
{
    /* Copy out first: relay() pumps, which appends to the server's events. */
    size_t n = p->server.n_events;
    sp_event *evs = p->server.events;
    p->server.events = NULL;
    p->server.n_events = p->server.cap_events = 0;
    for (size_t i = 0; i < n; i++) {
        if (evs[i].type == SECCHAT_SESSION_EVENT_MESSAGE)
            chat_on_message(p, st, evs[i].data, evs[i].len);
        free(evs[i].data);
    }
    free(evs);
    session_pair_clear_events(&p->client);
}

static const uint16_t close_codes[4] = {1000, 1001, 1008, 4000};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_reset(6);
    fz f = {data, size};
    uint8_t seed = fz_u8(&f);
    session_pair p;
    FUZZ_CHECK(session_pair_init(&p) == SECCHAT_OK);
    FUZZ_CHECK(session_pair_start(&p) == SECCHAT_OK);
    if (seed)
        session_pair_seed(&p, seed);
    session_pair_pump(&p);
    FUZZ_CHECK(both_ready(&p));
    session_pair_clear_events(&p.client);
    session_pair_clear_events(&p.server);

    chat_state st;
    memset(&st, 0, sizeof st);
    uint64_t now = 1000;
    uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
    /* Raw bytes may leave half a frame in the server's parser: the client's frames then no longer line up. */
    int injected = 0;
    for (int steps = 0; steps < 32 && f.n > 0; steps++) {
        uint8_t ctl = fz_u8(&f);
        size_t clen;
        uint8_t *c = fz_chunk(&f, SECCHAT_NOISE_MAX_MESSAGE + 2, &clen);
        int ready = both_ready(&p) && !injected;
        switch (ctl & 7) {
        case 0:
            (void)session_pair_feed(&p, &p.server, c, clen);
            injected |= clen > 0;
            break;
        case 1:
        case 2:
        case 3: {
            size_t before = p.server.n_events;
            int rc = secchat_session_send(p.client.session, c, clen);
            if (clen > SECCHAT_NOISE_MAX_PLAINTEXT)
                FUZZ_CHECK(rc == SECCHAT_ERR_NOISE_MSG_TOO_LARGE || !ready);
            else if (ready)
                FUZZ_CHECK(rc == SECCHAT_OK);
            session_pair_pump(&p);
            if (ready && rc == SECCHAT_OK) {
                long i = session_pair_find_event(&p.server, SECCHAT_SESSION_EVENT_MESSAGE, before);
                FUZZ_CHECK(i >= 0 && p.server.events[i].len == clen &&
                           (clen == 0 || memcmp(p.server.events[i].data, c, clen) == 0));
            }
            break;
        }
        case 4: {
            sp_bytes frame = {0};
            FUZZ_CHECK(sp_frame_build(&frame, (uint8_t)(ctl >> 4), c, clen, mask) == SECCHAT_OK);
            (void)session_pair_feed(&p, &p.server, frame.data, frame.len);
            sp_bytes_free(&frame);
            session_pair_pump(&p);
            break;
        }
        case 5: {
            size_t before = p.client.n_events;
            int rc = secchat_session_send(p.server.session, c, clen);
            session_pair_pump(&p);
            if (ready && clen <= SECCHAT_NOISE_MAX_PLAINTEXT) {
                FUZZ_CHECK(rc == SECCHAT_OK);
                long i = session_pair_find_event(&p.client, SECCHAT_SESSION_EVENT_MESSAGE, before);
                FUZZ_CHECK(i >= 0 && p.client.events[i].len == clen &&
                           (clen == 0 || memcmp(p.client.events[i].data, c, clen) == 0));
            }
            break;
        }
        case 6:
            secchat_session_trim(p.client.session);
            secchat_session_trim(p.server.session);
            now += ctl;
            (void)secchat_session_ping(p.client.session, now);
            (void)secchat_session_ping(p.server.session, now + 1);
            session_pair_pump(&p);
            (void)secchat_session_ping_overdue(p.server.session, now + 5000, 1000);
            (void)secchat_session_ping_overdue(p.client.session, now, 0);
            break;
        case 7:
            switch ((ctl >> 3) & 3) {
            case 0:
                (void)secchat_session_close(p.client.session, close_codes[(ctl >> 5) & 3], "bye");
                break;
            case 1:
                (void)secchat_session_close(p.server.session, close_codes[(ctl >> 5) & 3], NULL);
                break;
            case 2:
                secchat_session_feed_eof(p.server.session);
                (void)session_pair_collect(&p.server);
                break;
            default:
                secchat_session_feed_eof(p.client.session);
                (void)session_pair_collect(&p.client);
                break;
            }
            session_pair_pump(&p);
            break;
        }
        free(c);
        server_events(&p, &st);
        /* A session that fell out of READY never comes back. */
        if (!ready && !injected)
            FUZZ_CHECK(!both_ready(&p));
    }
    session_pair_free(&p);
    return 0;
}
