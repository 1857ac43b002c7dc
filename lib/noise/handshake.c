/*
 * HandshakeState (noise-rev34 section 5.3) for any pattern of pattern.c,
 * then the two transport CipherStates it splits into. One handle carries a
 * party from Initialize() to the end of the session; see secchat/noise.h.
 *
 * Token processing follows 5.3 and 9.2: with any psk modifier, "e" is
 * followed by MixKey(e.public_key).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../common/internal.h"
#include "dh.h"
#include "handshake.h"
#include "protocol.h"
#include "symmetric.h"

/*
 * What only the handshake needs: its own allocation, wiped and freed at
 * Split(), so that a session holds just its two transport CipherStates
 * (a server keeps thousands of them).
 */
typedef struct sc_noise_hs {
    sc_symmetric ss; /* first: the AES-GCM state needs 16-byte alignment */
    uint8_t s_priv[SC_DH_LEN], s_pub[SC_DH_LEN];
    uint8_t e_priv[SC_DH_LEN], e_pub[SC_DH_LEN];
    uint8_t re[SC_DH_LEN];
    uint8_t psk[SC_PATTERN_MAX_PSKS][SECCHAT_NOISE_KEY_LEN];
} sc_noise_hs;

struct secchat_noise {
    /* AES-GCM states need 16-byte alignment: keep them first. */
    sc_cipher_state send;
    sc_cipher_state recv;
    sc_noise_hs *hs; /* NULL once the handshake is over (or failed) */

    sc_protocol proto;
    bool initiator;
    bool started;  /* first message begun: configuration frozen */
    bool complete; /* Split() done */
    bool prologue_mixed;
    bool has_s, has_e, has_rs, has_re;
    bool e_fixed;   /* test-only fixed ephemeral */
    bool rs_pinned; /* caller-supplied rs the peer must send */
    uint8_t message_index;
    uint8_t psk_count;
    uint8_t psk_next;
    int error; /* sticky fatal error, 0 when healthy */

    uint8_t rs[SC_DH_LEN];
    uint8_t h[SC_HASH_MAX_LEN]; /* the handshake hash, kept at Split() */
    char *name;                 /* the protocol name (heap: usually ~32 bytes) */
};

/* Wipes and frees every secret the handshake holds (not the transport keys). */
static void wipe_handshake_secrets(secchat_noise *n)
{
    if (n->hs) {
        sc_symmetric_wipe(&n->hs->ss);
        sc_free_secret(n->hs, sizeof *n->hs);
        n->hs = NULL;
    }
}

/* Records a fatal error: wipe everything, remember the code. */
static int fail(secchat_noise *n, int code)
{
    wipe_handshake_secrets(n);
    sc_cipher_wipe(&n->send);
    sc_cipher_wipe(&n->recv);
    n->error = code;
    return code;
}

SECCHAT_API int secchat_noise_check_name(const char *protocol_name)
{
    sc_protocol proto;
    return sc_protocol_parse(&proto, protocol_name);
}

SECCHAT_API int secchat_noise_new(secchat_noise **out, const char *protocol_name, secchat_noise_role role)
{
    if (out == NULL)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (protocol_name == NULL || (role != SECCHAT_NOISE_INITIATOR && role != SECCHAT_NOISE_RESPONDER))
        return SECCHAT_ERR_INVALID_ARGUMENT;
    int rc = sc_crypto_init();
    if (rc != SECCHAT_OK)
        return rc;

    sc_protocol proto;
    rc = sc_protocol_parse(&proto, protocol_name);
    if (rc != SECCHAT_OK)
        return rc;

    size_t name_len = strlen(protocol_name); /* <= 255, checked by the parser */
    secchat_noise *n = sc_alloc(sizeof *n);
    sc_noise_hs *hs = sc_alloc(sizeof *hs);
    char *name = malloc(name_len + 1);
    if (n == NULL || hs == NULL || name == NULL) {
        sc_free_secret(n, sizeof *n);
        sc_free_secret(hs, sizeof *hs);
        free(name);
        return SECCHAT_ERR_NO_MEMORY;
    }
    n->hs = hs;
    n->proto = proto;
    n->initiator = role == SECCHAT_NOISE_INITIATOR;
    memcpy(name, protocol_name, name_len + 1);
    n->name = name;
    sc_symmetric_init(&n->hs->ss, proto.hash, proto.cipher, n->name, name_len);
    *out = n;
    return SECCHAT_OK;
}

SECCHAT_API void secchat_noise_free(secchat_noise *noise)
{
    if (noise == NULL)
        return;
    wipe_handshake_secrets(noise);
    free(noise->name);
    sc_free_secret(noise, sizeof *noise);
}

/* Common guard of the configuration setters; key is the setter's input. */
static int check_configurable(const secchat_noise *n, const void *key)
{
    if (n == NULL || key == NULL)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    if (n->error)
        return n->error;
    return n->started ? SECCHAT_ERR_BAD_STATE : SECCHAT_OK;
}

/* Copies a private key and derives its public key. */
static void load_key_pair(uint8_t priv[SC_DH_LEN], uint8_t pub[SC_DH_LEN], const uint8_t *private_key)
{
    memcpy(priv, private_key, SC_DH_LEN);
    sc_dh_public(pub, priv);
}

SECCHAT_API int secchat_noise_set_prologue(secchat_noise *noise, const uint8_t *prologue, size_t prologue_len)
{
    /* An empty prologue may come as NULL. */
    int rc = check_configurable(noise, prologue_len == 0 ? (const void *)noise : prologue);
    if (rc != SECCHAT_OK)
        return rc;
    if (noise->prologue_mixed)
        return SECCHAT_ERR_BAD_STATE;
    /* Initialize() mixes the prologue right after InitializeSymmetric(). */
    sc_symmetric_mix_hash(&noise->hs->ss, prologue, prologue_len);
    noise->prologue_mixed = true;
    return SECCHAT_OK;
}

SECCHAT_API int secchat_noise_set_local_static(secchat_noise *noise, const uint8_t private_key[SECCHAT_NOISE_KEY_LEN])
{
    int rc = check_configurable(noise, private_key);
    if (rc != SECCHAT_OK)
        return rc;
    load_key_pair(noise->hs->s_priv, noise->hs->s_pub, private_key);
    noise->has_s = true;
    return SECCHAT_OK;
}

int sc_noise_set_local_keypair(secchat_noise *noise, const uint8_t private_key[SC_DH_LEN],
                               const uint8_t public_key[SC_DH_LEN])
{
    int rc = check_configurable(noise, private_key);
    if (rc != SECCHAT_OK)
        return rc;
    memcpy(noise->hs->s_priv, private_key, SC_DH_LEN);
    memcpy(noise->hs->s_pub, public_key, SC_DH_LEN);
    noise->has_s = true;
    return SECCHAT_OK;
}

/* Does the pattern ever give us the peer's static key (pre-message or "s")? */
static bool reveals_remote_static(const secchat_noise *n)
{
    const sc_pattern *p = &n->proto.pattern;
    if (p->pre_len[n->initiator ? 1 : 0] > 0)
        return true;
    for (uint8_t m = n->initiator ? 1 : 0; m < p->message_count; m += 2) {
        if (memchr(p->tokens[m], SC_TOKEN_S, p->token_count[m]) != NULL)
            return true;
    }
    return false;
}

SECCHAT_API int secchat_noise_set_remote_static(secchat_noise *noise, const uint8_t public_key[SECCHAT_NOISE_KEY_LEN])
{
    int rc = check_configurable(noise, public_key);
    if (rc != SECCHAT_OK)
        return rc;
    if (!reveals_remote_static(noise))
        return SECCHAT_ERR_BAD_STATE; /* a pin that could never be checked */
    memcpy(noise->rs, public_key, SC_DH_LEN);
    noise->has_rs = true;
    return SECCHAT_OK;
}

SECCHAT_API int secchat_noise_add_psk(secchat_noise *noise, const uint8_t psk[SECCHAT_NOISE_KEY_LEN])
{
    int rc = check_configurable(noise, psk);
    if (rc != SECCHAT_OK)
        return rc;
    if (noise->psk_count >= noise->proto.pattern.psk_count)
        return SECCHAT_ERR_NOISE_TOO_MANY_PSKS;
    memcpy(noise->hs->psk[noise->psk_count++], psk, SECCHAT_NOISE_KEY_LEN);
    return SECCHAT_OK;
}

SECCHAT_API int secchat_noise_set_ephemeral_for_testing(secchat_noise *noise,
                                                        const uint8_t private_key[SECCHAT_NOISE_KEY_LEN])
{
    int rc = check_configurable(noise, private_key);
    if (rc != SECCHAT_OK)
        return rc;
    load_key_pair(noise->hs->e_priv, noise->hs->e_pub, private_key);
    noise->e_fixed = true;
    return SECCHAT_OK;
}

/* Does this party ever need its static key pair? */
static bool needs_local_static(const secchat_noise *n)
{
    const sc_pattern *p = &n->proto.pattern;
    int me = n->initiator ? 0 : 1;
    if (p->pre_len[me] > 0)
        return true; /* the table only has "s" pre-messages */
    for (uint8_t m = 0; m < p->message_count; m++) {
        bool mine = (m % 2 == 0) == n->initiator;
        for (uint8_t t = 0; t < p->token_count[m]; t++) {
            uint8_t tok = p->tokens[m][t];
            if (tok == SC_TOKEN_SS || (mine && tok == SC_TOKEN_S) || (tok == SC_TOKEN_ES && !n->initiator) ||
                (tok == SC_TOKEN_SE && n->initiator))
                return true;
        }
    }
    return false;
}

int sc_noise_check_keys(const secchat_noise *n)
{
    const sc_pattern *p = &n->proto.pattern;
    if (needs_local_static(n) && !n->has_s)
        return SECCHAT_ERR_NOISE_MISSING_KEY;
    if (p->pre_len[n->initiator ? 1 : 0] > 0 && !n->has_rs)
        return SECCHAT_ERR_NOISE_MISSING_KEY;
    if (n->psk_count != p->psk_count)
        return SECCHAT_ERR_NOISE_MISSING_KEY;
    return SECCHAT_OK;
}

/* The rest of Initialize(): checks keys, mixes prologue and pre-messages. */
static int start(secchat_noise *n)
{
    const sc_pattern *p = &n->proto.pattern;
    int peer = n->initiator ? 1 : 0;

    int rc = sc_noise_check_keys(n);
    if (rc != SECCHAT_OK)
        return rc;
    n->rs_pinned = n->has_rs && p->pre_len[peer] == 0;
    if (n->rs_pinned)
        n->has_rs = false; /* learnt from the peer's "s"; compared there */

    if (!n->prologue_mixed)
        sc_symmetric_mix_hash(&n->hs->ss, NULL, 0);
    n->prologue_mixed = true;

    /* Pre-messages, initiator's first (5.3). The table holds only "s". */
    for (int side = 0; side < 2; side++) {
        for (uint8_t i = 0; i < p->pre_len[side]; i++) {
            const uint8_t *key = (side == peer) ? n->rs : n->hs->s_pub;
            sc_symmetric_mix_hash(&n->hs->ss, key, SC_DH_LEN);
        }
    }
    n->started = true;
    return SECCHAT_OK;
}

/* Bytes that message m occupies before its payload, and whether the payload is encrypted. */
static size_t layout(const secchat_noise *n, uint8_t m, bool *payload_keyed)
{
    const sc_pattern *p = &n->proto.pattern;
    bool keyed = n->hs->ss.cs.has_key;
    size_t len = 0;
    for (uint8_t t = 0; t < p->token_count[m]; t++) {
        switch (p->tokens[m][t]) {
        case SC_TOKEN_E:
            len += SC_DH_LEN;
            if (p->psk_count > 0)
                keyed = true;
            break;
        case SC_TOKEN_S:
            len += SC_DH_LEN + (keyed ? SC_CIPHER_TAG_LEN : 0);
            break;
        default: /* ee, es, se, ss, psk all MixKey */
            keyed = true;
            break;
        }
    }
    *payload_keyed = keyed;
    return len;
}

/* The private and public key pair a DH token uses from our side and theirs. */
static int mix_dh(secchat_noise *n, uint8_t token)
{
    const uint8_t *mine, *theirs;
    bool have;
    switch (token) {
    case SC_TOKEN_EE:
        mine = n->hs->e_priv, theirs = n->hs->re, have = n->has_e && n->has_re;
        break;
    case SC_TOKEN_ES: /* initiator's e with responder's s */
        if (n->initiator)
            mine = n->hs->e_priv, theirs = n->rs, have = n->has_e && n->has_rs;
        else
            mine = n->hs->s_priv, theirs = n->hs->re, have = n->has_s && n->has_re;
        break;
    case SC_TOKEN_SE: /* initiator's s with responder's e */
        if (n->initiator)
            mine = n->hs->s_priv, theirs = n->hs->re, have = n->has_s && n->has_re;
        else
            mine = n->hs->e_priv, theirs = n->rs, have = n->has_e && n->has_rs;
        break;
    default: /* SS */
        mine = n->hs->s_priv, theirs = n->rs, have = n->has_s && n->has_rs;
        break;
    }
    if (!have)
        return SECCHAT_ERR_NOISE_MISSING_KEY;
    uint8_t shared[SC_DH_LEN];
    int rc = sc_dh(shared, mine, theirs);
    if (rc == SECCHAT_OK)
        sc_symmetric_mix_key(&n->hs->ss, shared, sizeof shared);
    sodium_memzero(shared, sizeof shared);
    return rc;
}

static void mix_ephemeral(secchat_noise *n, const uint8_t *pub)
{
    sc_symmetric_mix_hash(&n->hs->ss, pub, SC_DH_LEN);
    if (n->proto.pattern.psk_count > 0)
        sc_symmetric_mix_key(&n->hs->ss, pub, SC_DH_LEN); /* 9.2 */
}

/* After the last handshake message: Split() and keep only h and the transport keys. */
static void finish_if_last(secchat_noise *n)
{
    if (++n->message_index < n->proto.pattern.message_count)
        return;
    sc_cipher_state c1, c2;
    sc_symmetric_split(&n->hs->ss, &c1, &c2);
    /* c1 carries initiator -> responder (5.2). */
    n->send = n->initiator ? c1 : c2;
    n->recv = n->initiator ? c2 : c1;
    sc_cipher_wipe(&c1);
    sc_cipher_wipe(&c2);
    if (n->proto.pattern.one_way) /* 7.4: the second CipherState is discarded */
        sc_cipher_wipe(n->initiator ? &n->recv : &n->send);
    memcpy(n->h, n->hs->ss.h, sizeof n->h);
    wipe_handshake_secrets(n);
    n->complete = true;
}

/* Guards shared by write_message and read_message. */
static int check_turn(const secchat_noise *n, bool writing)
{
    if (n == NULL)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    if (n->error)
        return n->error;
    if (n->complete)
        return SECCHAT_ERR_NOISE_HANDSHAKE_DONE;
    bool initiators_turn = n->message_index % 2 == 0;
    if ((initiators_turn == n->initiator) != writing)
        return SECCHAT_ERR_NOISE_OUT_OF_TURN;
    return SECCHAT_OK;
}

SECCHAT_API size_t secchat_noise_message_len(const secchat_noise *noise, size_t payload_len)
{
    if (check_turn(noise, true) != SECCHAT_OK)
        return 0;
    bool keyed;
    size_t fixed = layout(noise, noise->message_index, &keyed);
    return fixed + payload_len + (keyed ? SC_CIPHER_TAG_LEN : 0);
}

SECCHAT_API int secchat_noise_write_message(secchat_noise *noise, const uint8_t *payload, size_t payload_len,
                                            uint8_t *out, size_t out_cap, size_t *out_len)
{
    int rc = check_turn(noise, true);
    if (rc != SECCHAT_OK)
        return rc;
    if ((payload == NULL && payload_len > 0) || out == NULL || out_len == NULL)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    *out_len = 0;

    bool keyed;
    size_t fixed = layout(noise, noise->message_index, &keyed);
    if (payload_len > SECCHAT_NOISE_MAX_MESSAGE)
        return SECCHAT_ERR_NOISE_MSG_TOO_LARGE;
    size_t total = fixed + payload_len + (keyed ? SC_CIPHER_TAG_LEN : 0);
    if (total > SECCHAT_NOISE_MAX_MESSAGE)
        return SECCHAT_ERR_NOISE_MSG_TOO_LARGE;
    if (total > out_cap)
        return SECCHAT_ERR_BUFFER_TOO_SMALL;
    if (!noise->started && (rc = start(noise)) != SECCHAT_OK)
        return rc; /* nothing changed: supply the key and retry */

    const sc_pattern *p = &noise->proto.pattern;
    uint8_t m = noise->message_index;
    size_t pos = 0;
    for (uint8_t t = 0; t < p->token_count[m]; t++) {
        uint8_t tok = p->tokens[m][t];
        switch (tok) {
        case SC_TOKEN_E: /* e */
            if (!noise->e_fixed)
                sc_dh_generate(noise->hs->e_pub, noise->hs->e_priv);
            noise->has_e = true;
            memcpy(out + pos, noise->hs->e_pub, SC_DH_LEN);
            pos += SC_DH_LEN;
            mix_ephemeral(noise, noise->hs->e_pub);
            break;
        case SC_TOKEN_S: /* s */
            rc = sc_symmetric_encrypt_and_hash(&noise->hs->ss, noise->hs->s_pub, SC_DH_LEN, out + pos);
            pos += SC_DH_LEN + (noise->hs->ss.cs.has_key ? SC_CIPHER_TAG_LEN : 0);
            break;
        case SC_TOKEN_PSK: /* psk */
            sc_symmetric_mix_key_and_hash(&noise->hs->ss, noise->hs->psk[noise->psk_next++], SECCHAT_NOISE_KEY_LEN);
            break;
        default: /* ee, es, se, ss */
            rc = mix_dh(noise, tok);
            break;
        }
        if (rc != SECCHAT_OK)
            return fail(noise, rc);
    }
    rc = sc_symmetric_encrypt_and_hash(&noise->hs->ss, payload, payload_len, out + pos);
    if (rc != SECCHAT_OK)
        return fail(noise, rc);
    *out_len = total;
    finish_if_last(noise);
    return SECCHAT_OK;
}

SECCHAT_API int secchat_noise_read_message(secchat_noise *noise, const uint8_t *message, size_t message_len,
                                           uint8_t *payload, size_t payload_cap, size_t *payload_len)
{
    int rc = check_turn(noise, false);
    if (rc != SECCHAT_OK)
        return rc;
    if (message == NULL || (payload == NULL && payload_cap > 0) || payload_len == NULL)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    *payload_len = 0;
    if (message_len > SECCHAT_NOISE_MAX_MESSAGE)
        return SECCHAT_ERR_NOISE_MSG_TOO_LARGE;

    bool keyed;
    size_t fixed = layout(noise, noise->message_index, &keyed);
    size_t overhead = fixed + (keyed ? SC_CIPHER_TAG_LEN : 0);
    if (message_len >= overhead && message_len - overhead > payload_cap)
        return SECCHAT_ERR_BUFFER_TOO_SMALL;
    if (!noise->started && (rc = start(noise)) != SECCHAT_OK)
        return rc; /* nothing changed: supply the key and retry */
    if (message_len < overhead)
        return fail(noise, SECCHAT_ERR_NOISE_MSG_TRUNCATED);

    const sc_pattern *p = &noise->proto.pattern;
    uint8_t m = noise->message_index;
    size_t pos = 0;
    for (uint8_t t = 0; t < p->token_count[m]; t++) {
        uint8_t tok = p->tokens[m][t];
        switch (tok) {
        case SC_TOKEN_E: /* e */
            memcpy(noise->hs->re, message + pos, SC_DH_LEN);
            noise->has_re = true;
            pos += SC_DH_LEN;
            mix_ephemeral(noise, noise->hs->re);
            break;
        case SC_TOKEN_S: { /* s */
            size_t len = SC_DH_LEN + (noise->hs->ss.cs.has_key ? SC_CIPHER_TAG_LEN : 0);
            uint8_t rs[SC_DH_LEN];
            rc = sc_symmetric_decrypt_and_hash(&noise->hs->ss, message + pos, len, rs);
            pos += len;
            if (rc == SECCHAT_OK && noise->rs_pinned && sodium_memcmp(rs, noise->rs, SC_DH_LEN) != 0)
                rc = SECCHAT_ERR_NOISE_PEER_KEY_MISMATCH;
            memcpy(noise->rs, rs, SC_DH_LEN);
            noise->has_rs = rc == SECCHAT_OK;
            break;
        }
        case SC_TOKEN_PSK: /* psk */
            sc_symmetric_mix_key_and_hash(&noise->hs->ss, noise->hs->psk[noise->psk_next++], SECCHAT_NOISE_KEY_LEN);
            break;
        default: /* ee, es, se, ss */
            rc = mix_dh(noise, tok);
            break;
        }
        if (rc != SECCHAT_OK)
            return fail(noise, rc);
    }
    rc = sc_symmetric_decrypt_and_hash(&noise->hs->ss, message + pos, message_len - pos, payload);
    if (rc != SECCHAT_OK)
        return fail(noise, rc);
    *payload_len = message_len - overhead;
    finish_if_last(noise);
    return SECCHAT_OK;
}

SECCHAT_API secchat_noise_action secchat_noise_next_action(const secchat_noise *noise)
{
    if (noise == NULL || noise->error)
        return SECCHAT_NOISE_ACTION_FAILED;
    if (noise->complete)
        return SECCHAT_NOISE_ACTION_TRANSPORT;
    bool initiators_turn = noise->message_index % 2 == 0;
    return initiators_turn == noise->initiator ? SECCHAT_NOISE_ACTION_WRITE : SECCHAT_NOISE_ACTION_READ;
}

SECCHAT_API int secchat_noise_is_complete(const secchat_noise *noise)
{
    return noise != NULL && !noise->error && noise->complete;
}

/* Guards shared by the transport calls; picks the cipher for the direction. */
static int transport_cipher(secchat_noise *n, bool sending, sc_cipher_state **cs)
{
    if (n == NULL)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    if (n->error)
        return n->error;
    if (!n->complete)
        return SECCHAT_ERR_NOISE_HANDSHAKE_PENDING;
    *cs = sending ? &n->send : &n->recv;
    if (!(*cs)->has_key) /* only one-way patterns leave a direction keyless */
        return SECCHAT_ERR_NOISE_ONE_WAY;
    return SECCHAT_OK;
}

SECCHAT_API int secchat_noise_encrypt(secchat_noise *noise, const uint8_t *plaintext, size_t plaintext_len,
                                      uint8_t *out, size_t out_cap, size_t *out_len)
{
    sc_cipher_state *cs;
    int rc = transport_cipher(noise, true, &cs);
    if (rc != SECCHAT_OK)
        return rc;
    if ((plaintext == NULL && plaintext_len > 0) || out == NULL || out_len == NULL)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    *out_len = 0;
    if (plaintext_len > SECCHAT_NOISE_MAX_PLAINTEXT)
        return SECCHAT_ERR_NOISE_MSG_TOO_LARGE;
    if (out_cap < plaintext_len + SC_CIPHER_TAG_LEN)
        return SECCHAT_ERR_BUFFER_TOO_SMALL;
    rc = sc_cipher_encrypt_ad(cs, NULL, 0, plaintext, plaintext_len, out);
    if (rc != SECCHAT_OK)
        return fail(noise, rc);
    *out_len = plaintext_len + SC_CIPHER_TAG_LEN;
    return SECCHAT_OK;
}

SECCHAT_API int secchat_noise_decrypt(secchat_noise *noise, const uint8_t *ciphertext, size_t ciphertext_len,
                                      uint8_t *out, size_t out_cap, size_t *out_len)
{
    sc_cipher_state *cs;
    int rc = transport_cipher(noise, false, &cs);
    if (rc != SECCHAT_OK)
        return rc;
    if ((ciphertext == NULL && ciphertext_len > 0) || (out == NULL && out_cap > 0) || out_len == NULL)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    *out_len = 0;
    if (ciphertext_len > SECCHAT_NOISE_MAX_MESSAGE)
        return SECCHAT_ERR_NOISE_MSG_TOO_LARGE;
    if (ciphertext_len < SC_CIPHER_TAG_LEN)
        return SECCHAT_ERR_NOISE_MSG_TRUNCATED;
    if (out_cap < ciphertext_len - SC_CIPHER_TAG_LEN)
        return SECCHAT_ERR_BUFFER_TOO_SMALL;
    rc = sc_cipher_decrypt_ad(cs, NULL, 0, ciphertext, ciphertext_len, out);
    if (rc == SECCHAT_ERR_NOISE_NONCE_EXHAUSTED)
        return fail(noise, rc);
    if (rc != SECCHAT_OK)
        return rc; /* DECRYPT: message discarded, nonce unchanged (5.1) */
    *out_len = ciphertext_len - SC_CIPHER_TAG_LEN;
    return SECCHAT_OK;
}

SECCHAT_API int secchat_noise_handshake_hash(const secchat_noise *noise, uint8_t *out, size_t out_cap, size_t *out_len)
{
    if (noise == NULL || out == NULL || out_len == NULL)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    if (noise->error)
        return noise->error;
    if (!noise->complete)
        return SECCHAT_ERR_NOISE_HANDSHAKE_PENDING;
    size_t len = noise->proto.hash->hash_len;
    if (out_cap < len)
        return SECCHAT_ERR_BUFFER_TOO_SMALL;
    memcpy(out, noise->h, len);
    *out_len = len;
    return SECCHAT_OK;
}

SECCHAT_API int secchat_noise_remote_static(const secchat_noise *noise, uint8_t out[SECCHAT_NOISE_KEY_LEN])
{
    if (noise == NULL || out == NULL)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    if (noise->error)
        return noise->error;
    int peer = noise->initiator ? 1 : 0;
    bool known = noise->has_rs && (noise->started || noise->proto.pattern.pre_len[peer] > 0);
    if (!known)
        return SECCHAT_ERR_BAD_STATE;
    memcpy(out, noise->rs, SC_DH_LEN);
    return SECCHAT_OK;
}

static int rekey(secchat_noise *noise, bool sending)
{
    sc_cipher_state *cs;
    int rc = transport_cipher(noise, sending, &cs);
    if (rc == SECCHAT_OK)
        sc_cipher_rekey(cs);
    return rc;
}

SECCHAT_API int secchat_noise_rekey_send(secchat_noise *noise)
{
    return rekey(noise, true);
}
SECCHAT_API int secchat_noise_rekey_recv(secchat_noise *noise)
{
    return rekey(noise, false);
}

SECCHAT_API const char *secchat_noise_protocol_name(const secchat_noise *noise)
{
    return noise == NULL ? "" : noise->name;
}

SECCHAT_API int secchat_keypair_generate(uint8_t public_key[SECCHAT_NOISE_KEY_LEN],
                                         uint8_t private_key[SECCHAT_NOISE_KEY_LEN])
{
    if (public_key == NULL || private_key == NULL)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    int rc = sc_crypto_init();
    if (rc == SECCHAT_OK)
        sc_dh_generate(public_key, private_key);
    return rc;
}

SECCHAT_API int secchat_public_key_from_private(uint8_t public_key[SECCHAT_NOISE_KEY_LEN],
                                                const uint8_t private_key[SECCHAT_NOISE_KEY_LEN])
{
    if (public_key == NULL || private_key == NULL)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    int rc = sc_crypto_init();
    if (rc == SECCHAT_OK)
        sc_dh_public(public_key, private_key);
    return rc;
}

int sc_noise_set_nonce_for_testing(secchat_noise *noise, int send, uint64_t nonce)
{
    sc_cipher_state *cs;
    int rc = transport_cipher(noise, send != 0, &cs);
    if (rc == SECCHAT_OK)
        cs->n = nonce;
    return rc;
}
