/*
 * The Noise driver shared by fuzz_noise_responder.c and
 * fuzz_noise_initiator.c (each defines VICTIM_ROLE first). The handle under
 * test (the "victim") runs Noise_XXpsk2_25519_AESGCM_SHA256 with fixed keys
 * and PSK against an honest peer handle, and the input decides what the
 * victim reads: arbitrary bytes, the honest peer's message, or that message
 * damaged. This reaches every read path, including those behind a valid
 * first message, and gives checks beyond "no crash":
 *
 *   - while the two are in step, an honest message is accepted and a damaged
 *     one refused (every byte of a XXpsk2 message is authenticated);
 *   - a refused handshake message is fatal and sticky;
 *   - write_message produces secchat_noise_message_len bytes;
 *   - BUFFER_TOO_SMALL changes nothing: the retry gives the same result;
 *   - after the handshake both sides agree on the hash and static keys;
 *     transport messages round-trip; a damaged one fails with the nonce
 *     unchanged, so the next honest one still decrypts.
 *
 * Input: byte 0 = flags, then steps until the input ends (at most 24):
 *   flags bit 0: ChaChaPoly variant (same pattern; covers the other cipher)
 *         bit 1: victim pins the honest peer's static key
 *         bit 2: ... pins a wrong key instead (PEER_KEY_MISMATCH)
 *         bit 3: both set a prologue; bit 4: the peer's prologue differs
 *         bit 5: the peer has another PSK
 *         bit 6: fixed ephemeral keys (set_ephemeral_for_testing)
 *   step: 1 byte ctl, then a chunk (fz_chunk: 24-bit length, bytes).
 *     victim to write: the chunk is the payload; ctl bit 6 first tries
 *       a buffer one byte short.
 *     victim to read, ctl & 3: 0 the chunk as the message; 1 the peer's
 *       message with the chunk as payload; 2 the peer's message XOR the
 *       chunk (at offset ctl >> 4); 3 the peer's message cut or extended
 *       to the chunk's length. ctl bit 6 first tries a too small payload
 *       buffer.
 *     transport, ctl & 3: 0 decrypt the chunk; 1 peer encrypts the chunk,
 *       victim decrypts; 2 the same, damaged, then the undamaged one;
 *       3 victim encrypts the chunk, peer decrypts. ctl bit 2: rekey one
 *       direction on both sides first.
 */
#ifndef SC_FUZZ_NOISE_DRIVER_H
#define SC_FUZZ_NOISE_DRIVER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_common.h"

#define PROTO_AESGCM "Noise_XXpsk2_25519_AESGCM_SHA256"
#define PROTO_CHACHA "Noise_XXpsk2_25519_ChaChaPoly_SHA256"
#define BUF_CAP (SECCHAT_NOISE_MAX_MESSAGE + 256)

static uint8_t init_static[32], resp_static[32], init_eph[32], resp_eph[32], psk[32], other_psk[32];
static uint8_t init_pub[32], resp_pub[32];
static uint8_t msg[BUF_CAP], damaged[BUF_CAP], payload[BUF_CAP], out[BUF_CAP];

static void fixed_key(uint8_t k[32], uint8_t v)
{
    for (int i = 0; i < 32; i++)
        k[i] = (uint8_t)(v + i * 7);
}

void fz_target_init(void)
{
    fixed_key(init_static, 0x11);
    fixed_key(resp_static, 0x22);
    fixed_key(init_eph, 0x33);
    fixed_key(resp_eph, 0x44);
    fixed_key(psk, 0x55);
    fixed_key(other_psk, 0x66);
    FUZZ_CHECK(secchat_public_key_from_private(init_pub, init_static) == SECCHAT_OK);
    FUZZ_CHECK(secchat_public_key_from_private(resp_pub, resp_static) == SECCHAT_OK);
}

static secchat_noise *make(const char *proto, secchat_noise_role role, uint8_t flags, int victim)
{
    secchat_noise *n = NULL;
    FUZZ_CHECK(secchat_noise_new(&n, proto, role) == SECCHAT_OK);
    int init = role == SECCHAT_NOISE_INITIATOR;
    FUZZ_CHECK(secchat_noise_set_local_static(n, init ? init_static : resp_static) == SECCHAT_OK);
    FUZZ_CHECK(secchat_noise_add_psk(n, !victim && (flags & 0x20) ? other_psk : psk) == SECCHAT_OK);
    if (flags & 0x08) {
        const char *pro = !victim && (flags & 0x10) ? "secchat-other" : "secchat-prologue";
        FUZZ_CHECK(secchat_noise_set_prologue(n, (const uint8_t *)pro, strlen(pro)) == SECCHAT_OK);
    }
    if (flags & 0x40)
        FUZZ_CHECK(secchat_noise_set_ephemeral_for_testing(n, init ? init_eph : resp_eph) == SECCHAT_OK);
    if (victim && (flags & 0x06)) {
        const uint8_t *peer = init ? resp_pub : init_pub;
        FUZZ_CHECK(secchat_noise_set_remote_static(n, (flags & 0x04) ? psk : peer) == SECCHAT_OK);
    }
    return n;
}

/* A failed handle stays failed, whatever is asked of it. */
static void check_dead(secchat_noise *n, int code)
{
    FUZZ_CHECK(secchat_noise_next_action(n) == SECCHAT_NOISE_ACTION_FAILED);
    FUZZ_CHECK(!secchat_noise_is_complete(n));
    size_t len;
    FUZZ_CHECK(secchat_noise_encrypt(n, payload, 1, out, sizeof out, &len) == code);
    FUZZ_CHECK(secchat_noise_message_len(n, 0) == 0);
}

/* The honest peer writes its next message (payload p); 0 if it can. */
static int peer_write(secchat_noise *peer, const uint8_t *p, size_t plen, size_t *mlen)
{
    if (secchat_noise_next_action(peer) != SECCHAT_NOISE_ACTION_WRITE)
        return -1;
    return secchat_noise_write_message(peer, p, plen, msg, sizeof msg, mlen) == SECCHAT_OK ? 0 : -1;
}

static void step_write(secchat_noise *v, secchat_noise *peer, uint8_t ctl, const uint8_t *c, size_t clen,
                       int *in_step)
{
    size_t want = secchat_noise_message_len(v, clen), len = 0;
    FUZZ_CHECK(want > clen || clen > SECCHAT_NOISE_MAX_MESSAGE);
    if ((ctl & 0x40) && want > 0 && want <= SECCHAT_NOISE_MAX_MESSAGE) {
        FUZZ_CHECK(secchat_noise_write_message(v, c, clen, out, want - 1, &len) == SECCHAT_ERR_BUFFER_TOO_SMALL);
        FUZZ_CHECK(secchat_noise_next_action(v) == SECCHAT_NOISE_ACTION_WRITE);
    }
    int rc = secchat_noise_write_message(v, c, clen, out, sizeof out, &len);
    if (want > SECCHAT_NOISE_MAX_MESSAGE) {
        FUZZ_CHECK(rc == SECCHAT_ERR_NOISE_MSG_TOO_LARGE);
        return;
    }
    FUZZ_CHECK(rc == SECCHAT_OK);
    FUZZ_CHECK(len == want);
    if (secchat_noise_next_action(peer) != SECCHAT_NOISE_ACTION_READ)
        return;
    size_t plen;
    rc = secchat_noise_read_message(peer, out, len, payload, sizeof payload, &plen);
    if (*in_step == 1)
        FUZZ_CHECK(rc == SECCHAT_OK);
    if (rc == SECCHAT_OK)
        FUZZ_CHECK(plen == clen && (clen == 0 || memcmp(payload, c, clen) == 0));
    if (rc != SECCHAT_OK)
        *in_step = 0;
}

static void step_read(secchat_noise *v, secchat_noise *peer, uint8_t ctl, const uint8_t *c, size_t clen, int *in_step,
                      int config_matches)
{
    const uint8_t *m = c;
    size_t mlen = clen;
    int honest = 0, changed = 1;
    size_t plen_sent = 0;
    const uint8_t *sent = NULL;
    switch (ctl & 3) {
    case 1:
        if (peer_write(peer, c, clen > 60000 ? 60000 : clen, &mlen) == 0) {
            m = msg;
            honest = 1;
            changed = 0;
            sent = c;
            plen_sent = clen > 60000 ? 60000 : clen;
        }
        break;
    case 2:
    case 3:
        if (peer_write(peer, NULL, 0, &mlen) == 0) {
            honest = 1;
            memcpy(damaged, msg, mlen);
            if ((ctl & 3) == 2) {
                size_t at = (size_t)(ctl >> 4) * 4;
                changed = 0;
                for (size_t i = 0; i < clen && at + i < mlen; i++) {
                    damaged[at + i] ^= c[i];
                    changed |= c[i] != 0;
                }
            } else {
                size_t nl = clen < sizeof damaged ? clen : sizeof damaged;
                /* cppcheck-suppress knownConditionTrueFalse ; peer_write set mlen to the honest length */
                for (size_t i = mlen; i < nl; i++)
                    damaged[i] = c[i];
                changed = nl != mlen;
                mlen = nl;
            }
            m = damaged;
        }
        break;
    default:
        break;
    }
    size_t plen = 0;
    int rc = SECCHAT_ERR_BUFFER_TOO_SMALL;
    if (ctl & 0x40) {
        /* No room for any payload: refused with nothing changed, unless the payload is empty. */
        rc = secchat_noise_read_message(v, m, mlen, payload, 0, &plen);
        if (rc == SECCHAT_ERR_BUFFER_TOO_SMALL)
            FUZZ_CHECK(secchat_noise_next_action(v) == SECCHAT_NOISE_ACTION_READ);
    }
    if (rc == SECCHAT_ERR_BUFFER_TOO_SMALL)
        rc = secchat_noise_read_message(v, m, mlen, payload, sizeof payload, &plen);
    if (fz_verbose())
        fprintf(stderr, "read %zu bytes (honest %d changed %d in_step %d) -> %d\n", mlen, honest, changed, *in_step,
                rc);
    if (mlen > SECCHAT_NOISE_MAX_MESSAGE) {
        FUZZ_CHECK(rc == SECCHAT_ERR_NOISE_MSG_TOO_LARGE);
        FUZZ_CHECK(secchat_noise_next_action(v) == SECCHAT_NOISE_ACTION_READ);
        if (honest)
            *in_step = 0; /* the peer moved on, the victim did not */
        return;
    }
    if (*in_step && honest && config_matches) {
        /* In step: the honest message must pass and any change to it must not. */
        if (!changed) {
            FUZZ_CHECK(rc == SECCHAT_OK);
            FUZZ_CHECK(plen == plen_sent && (plen == 0 || memcmp(payload, sent, plen) == 0));
        } else {
            FUZZ_CHECK(rc != SECCHAT_OK);
        }
    }
    if (rc == SECCHAT_OK) {
        FUZZ_CHECK(plen <= mlen);
    } else {
        check_dead(v, rc);
    }
    if (rc != SECCHAT_OK || !honest || changed)
        *in_step = 0;
}

static void step_transport(secchat_noise *v, secchat_noise *peer, uint8_t ctl, const uint8_t *c, size_t clen,
                           int in_step)
{
    size_t len, plen;
    int peer_ok = in_step && secchat_noise_is_complete(peer);
    if (ctl & 4) {
        /* Rekey one direction on both ends, keeping them in step. */
        if (ctl & 8) {
            FUZZ_CHECK(secchat_noise_rekey_send(v) == SECCHAT_OK);
            if (peer_ok)
                FUZZ_CHECK(secchat_noise_rekey_recv(peer) == SECCHAT_OK);
        } else {
            FUZZ_CHECK(secchat_noise_rekey_recv(v) == SECCHAT_OK);
            if (peer_ok)
                FUZZ_CHECK(secchat_noise_rekey_send(peer) == SECCHAT_OK);
        }
    }
    size_t pt = clen > SECCHAT_NOISE_MAX_PLAINTEXT ? SECCHAT_NOISE_MAX_PLAINTEXT : clen;
    switch (ctl & 3) {
    case 0: {
        int rc = secchat_noise_decrypt(v, c, clen, out, sizeof out, &len);
        if (clen > SECCHAT_NOISE_MAX_MESSAGE)
            FUZZ_CHECK(rc == SECCHAT_ERR_NOISE_MSG_TOO_LARGE);
        else if (clen < SECCHAT_NOISE_TAG_LEN)
            FUZZ_CHECK(rc == SECCHAT_ERR_NOISE_MSG_TRUNCATED);
        else if (rc == SECCHAT_OK)
            FUZZ_CHECK(len == clen - SECCHAT_NOISE_TAG_LEN);
        else
            FUZZ_CHECK(rc == SECCHAT_ERR_NOISE_DECRYPT);
        /* A forgery of 16+ random bytes would be a broken AEAD (or an all-zero key). */
        FUZZ_CHECK(rc != SECCHAT_OK || !peer_ok);
        break;
    }
    case 1:
    case 2:
        if (!peer_ok)
            break;
        FUZZ_CHECK(secchat_noise_encrypt(peer, c, pt, msg, sizeof msg, &len) == SECCHAT_OK);
        FUZZ_CHECK(len == pt + SECCHAT_NOISE_TAG_LEN);
        if ((ctl & 3) == 2) {
            memcpy(damaged, msg, len);
            damaged[(ctl >> 4) % len] ^= (uint8_t)(1u << (ctl & 7));
            FUZZ_CHECK(secchat_noise_decrypt(v, damaged, len, out, sizeof out, &plen) == SECCHAT_ERR_NOISE_DECRYPT);
            FUZZ_CHECK(secchat_noise_decrypt(v, damaged, len - 1, out, sizeof out, &plen) ==
                       (len - 1 < SECCHAT_NOISE_TAG_LEN ? SECCHAT_ERR_NOISE_MSG_TRUNCATED : SECCHAT_ERR_NOISE_DECRYPT));
        }
        if (len > SECCHAT_NOISE_TAG_LEN)
            FUZZ_CHECK(secchat_noise_decrypt(v, msg, len, out, len - SECCHAT_NOISE_TAG_LEN - 1, &plen) ==
                       SECCHAT_ERR_BUFFER_TOO_SMALL);
        FUZZ_CHECK(secchat_noise_decrypt(v, msg, len, out, sizeof out, &plen) == SECCHAT_OK);
        FUZZ_CHECK(plen == pt && (pt == 0 || memcmp(out, c, pt) == 0));
        break;
    case 3: {
        int rc = secchat_noise_encrypt(v, c, clen, out, sizeof out, &len);
        if (clen > SECCHAT_NOISE_MAX_PLAINTEXT) {
            FUZZ_CHECK(rc == SECCHAT_ERR_NOISE_MSG_TOO_LARGE);
            break;
        }
        FUZZ_CHECK(rc == SECCHAT_OK && len == clen + SECCHAT_NOISE_TAG_LEN);
        if (peer_ok) {
            /* NOLINTNEXTLINE(readability-suspicious-call-argument): out is encrypt's output, the ciphertext */
            FUZZ_CHECK(secchat_noise_decrypt(peer, out, len, payload, sizeof payload, &plen) == SECCHAT_OK);
            FUZZ_CHECK(plen == clen && (clen == 0 || memcmp(payload, c, clen) == 0));
        }
        break;
    }
    }
}

static void check_complete(secchat_noise *v, secchat_noise *peer, int in_step, int victim_is_init)
{
    uint8_t h1[64], h2[64], rs[32];
    size_t l1, l2;
    FUZZ_CHECK(secchat_noise_handshake_hash(v, h1, sizeof h1, &l1) == SECCHAT_OK && l1 == 32);
    FUZZ_CHECK(secchat_noise_handshake_hash(v, h1, 31, &l1) == SECCHAT_ERR_BUFFER_TOO_SMALL);
    FUZZ_CHECK(secchat_noise_remote_static(v, rs) == SECCHAT_OK);
    if (in_step && secchat_noise_is_complete(peer)) {
        FUZZ_CHECK(secchat_noise_handshake_hash(peer, h2, sizeof h2, &l2) == SECCHAT_OK);
        FUZZ_CHECK(l1 == l2 && memcmp(h1, h2, l1) == 0);
        FUZZ_CHECK(memcmp(rs, victim_is_init ? resp_pub : init_pub, 32) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_reset(5);
    fz f = {data, size};
    uint8_t flags = fz_u8(&f);
    const char *proto = (flags & 1) ? PROTO_CHACHA : PROTO_AESGCM;
    int victim_is_init = VICTIM_ROLE == SECCHAT_NOISE_INITIATOR; /* NOLINT(misc-redundant-expression): per target */
    secchat_noise *v = make(proto, VICTIM_ROLE, flags, 1);
    /* cppcheck-suppress knownConditionTrueFalse ; VICTIM_ROLE is fixed per fuzz target */
    secchat_noise_role peer_role = victim_is_init ? SECCHAT_NOISE_RESPONDER : SECCHAT_NOISE_INITIATOR;
    secchat_noise *peer = make(proto, peer_role, flags, 0);
    /* Differences the victim must notice: a wrong pin, prologue or PSK. */
    int config_matches = !(flags & 0x04) && !((flags & 0x18) == 0x18) && !(flags & 0x20);
    int in_step = config_matches ? 1 : 2; /* 2: in step so far, but the peer is not who the victim expects */
    int was_complete = 0;
    for (int steps = 0; steps < 24 && f.n > 0; steps++) {
        uint8_t ctl = fz_u8(&f);
        size_t clen;
        uint8_t *c = fz_chunk(&f, SECCHAT_NOISE_MAX_MESSAGE + 2, &clen);
        switch (secchat_noise_next_action(v)) {
        case SECCHAT_NOISE_ACTION_WRITE:
            step_write(v, peer, ctl, c, clen, &in_step);
            break;
        case SECCHAT_NOISE_ACTION_READ:
            step_read(v, peer, ctl, c, clen, &in_step, config_matches);
            break;
        case SECCHAT_NOISE_ACTION_TRANSPORT:
            if (!was_complete) {
                check_complete(v, peer, in_step == 1, victim_is_init);
                was_complete = 1;
            }
            step_transport(v, peer, ctl, c, clen, in_step == 1);
            break;
        case SECCHAT_NOISE_ACTION_FAILED:
            break;
        }
        free(c);
        if (secchat_noise_next_action(v) == SECCHAT_NOISE_ACTION_FAILED)
            break;
    }
    if (!was_complete && secchat_noise_is_complete(v))
        check_complete(v, peer, in_step == 1, victim_is_init);
    /* With a wrong pin, prologue or PSK the victim may never complete in step with this peer. */
    if (!config_matches && in_step == 2 && secchat_noise_is_complete(v) && secchat_noise_is_complete(peer))
        fuzz_fail(__FILE__, __LINE__, "handshake completed although the peer's key, prologue or PSK was wrong");
    secchat_noise_free(v);
    secchat_noise_free(peer);
    return 0;
}

#endif /* SC_FUZZ_NOISE_DRIVER_H */
