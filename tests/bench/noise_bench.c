/*
 * Noise engine benchmark: what the engine costs next to the libsodium calls
 * it is made of. Run by `make bench`; see docs/performance.md.
 *
 *   handshake   full Noise_XXpsk2_25519_AESGCM_SHA256 handshakes per second,
 *               initiator and responder in this one process: two new handles,
 *               static keys and PSK set, three messages, two frees. Compared
 *               with (a) only the X25519 operations such a handshake performs
 *               and (b) the same handshake written inline over raw libsodium
 *               calls (every X25519, SHA-256, HMAC-SHA256, AES-GCM and
 *               randombytes call the engine makes, and nothing else).
 *   transport   secchat_noise_encrypt on one handle + secchat_noise_decrypt
 *               on its peer (seal + open) for 64 B, 1 KiB and 16 KiB
 *               plaintexts, AESGCM and ChaChaPoly, compared with the raw
 *               libsodium AEAD calls with a 12-byte nonce built per message.
 *
 * Each case runs BENCH_SECONDS (default 1) after a short warm-up, in 50 ms
 * slices interleaved with the raw case it is compared with, so that changes
 * in CPU speed hit both alike. ops/s is the median slice; overhead, engine
 * cost / raw cost - 1 (cost = 1 / ops per second), is the median of the
 * slice-by-slice ratios.
 *
 * BENCH_ITERATIONS=n instead runs every case exactly n times, once, with no
 * warm-up: for counting instructions, which this machine's timing noise does
 * not touch (docs/performance.md):
 *   BENCH_ITERATIONS=2000 valgrind --tool=callgrind --dump-before=measure \
 *       build/tests/bench/noise_bench
 * Each dump then holds one case; its work_* functions ran n iterations.
 *
 * A benchmark is a measurement: nothing here fails on timing. The program
 * exits non-zero only when a call fails or the inline handshake stops
 * producing the engine's bytes (which would make the comparison meaningless).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/bench_harness.h"
#include "secchat.h"

#define KEY_LEN 32
#define TAG_LEN 16
#define NONCE_LEN 12
#define HASH_LEN 32
#define MAX_PLAINTEXT 16384
#define DEFAULT_SECONDS 1.0

static const char HS_AESGCM[] = "Noise_XXpsk2_25519_AESGCM_SHA256";
static const char HS_CHACHA[] = "Noise_XXpsk2_25519_ChaChaPoly_SHA256";

static double bench_seconds = DEFAULT_SECONDS;
static unsigned long bench_iterations; /* BENCH_ITERATIONS, 0 when timing */

static void die(const char *what, int code)
{
    fprintf(stderr, "noise_bench: %s failed: %d (%s)\n", what, code, secchat_strerror(code));
    exit(1);
}

static void check(int rc, const char *what)
{
    if (rc != SECCHAT_OK)
        die(what, rc);
}

#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

/*
 * Runs the engine case w[0] and its raw counterparts w[1..n-1] together
 * (bench_measure). A function of its own, never inlined, because
 * `valgrind --tool=callgrind --dump-before=measure` starts a new dump on
 * entering it, one per case (docs/performance.md, "How to run").
 */
static NOINLINE void measure(bench_workload *w, int n)
{
    bench_measure(w, n, bench_seconds, bench_iterations);
}

/* ------------------------------------------------------------------------ */
/* Engine handshake                                                          */
/* ------------------------------------------------------------------------ */

typedef struct hs_keys {
    const char *name;
    uint8_t s_init[KEY_LEN], s_resp[KEY_LEN];
    uint8_t psk[KEY_LEN];
    const uint8_t *e_init, *e_resp; /* fixed ephemerals (self-check only), else NULL */
} hs_keys;

/* The three messages of one handshake, kept by the self-check. */
typedef struct hs_transcript {
    uint8_t msg[3][128];
    size_t len[3];
    uint8_t h[HASH_LEN];
} hs_transcript;

static secchat_noise *new_party(const hs_keys *k, secchat_noise_role role)
{
    secchat_noise *n;
    int init = role == SECCHAT_NOISE_INITIATOR;
    check(secchat_noise_new(&n, k->name, role), "secchat_noise_new");
    check(secchat_noise_set_local_static(n, init ? k->s_init : k->s_resp), "secchat_noise_set_local_static");
    check(secchat_noise_add_psk(n, k->psk), "secchat_noise_add_psk");
    const uint8_t *e = init ? k->e_init : k->e_resp;
    if (e != NULL)
        check(secchat_noise_set_ephemeral_for_testing(n, e), "secchat_noise_set_ephemeral_for_testing");
    return n;
}

/*
 * One full handshake with empty payloads. Frees both handles unless keep_*
 * are given (then the caller owns them, in transport mode).
 */
static void engine_handshake(const hs_keys *k, hs_transcript *tr, secchat_noise **keep_init, secchat_noise **keep_resp)
{
    secchat_noise *party[2] = {new_party(k, SECCHAT_NOISE_INITIATOR), new_party(k, SECCHAT_NOISE_RESPONDER)};
    uint8_t msg[128], payload[16];
    size_t msg_len, payload_len;

    for (int m = 0; m < 3; m++) {
        secchat_noise *w = party[m % 2], *r = party[(m + 1) % 2];
        check(secchat_noise_write_message(w, NULL, 0, msg, sizeof msg, &msg_len), "secchat_noise_write_message");
        check(secchat_noise_read_message(r, msg, msg_len, payload, sizeof payload, &payload_len),
              "secchat_noise_read_message");
        if (tr != NULL) {
            /* cppcheck-suppress uninitvar ; tr->msg is the destination, written here, not read */
            memcpy(tr->msg[m], msg, msg_len);
            tr->len[m] = msg_len;
        }
    }
    if (tr != NULL) {
        size_t h_len;
        check(secchat_noise_handshake_hash(party[0], tr->h, sizeof tr->h, &h_len), "secchat_noise_handshake_hash");
    }
    if (keep_init != NULL) {
        *keep_init = party[0];
        *keep_resp = party[1];
    } else {
        secchat_noise_free(party[0]);
        secchat_noise_free(party[1]);
    }
}

static void work_engine_handshake(void *ctx, unsigned long iterations)
{
    for (unsigned long i = 0; i < iterations; i++)
        engine_handshake(ctx, NULL, NULL, NULL);
}

/* ------------------------------------------------------------------------ */
/* Raw X25519: the DH work of one XXpsk2 handshake                           */
/* ------------------------------------------------------------------------ */

typedef struct x25519_ctx {
    uint8_t priv[4][KEY_LEN]; /* e_i, e_r, s_i, s_r */
    uint8_t pub[4][KEY_LEN];
} x25519_ctx;

/*
 * Per side: public key of the static (secchat_noise_set_local_static derives
 * it on every new handle), e key generation, and the DHs ee, es, se. Both
 * sides: 4 crypto_scalarmult_curve25519_base + 6 crypto_scalarmult_curve25519.
 */
static void work_x25519(void *ctx, unsigned long iterations)
{
    x25519_ctx *c = ctx;
    uint8_t out[KEY_LEN];
    int bad = 0;
    for (unsigned long i = 0; i < iterations; i++) {
        for (int k = 0; k < 4; k++)
            bad |= crypto_scalarmult_curve25519_base(c->pub[k], c->priv[k]);
        bad |= crypto_scalarmult_curve25519(out, c->priv[0], c->pub[1]); /* ee, initiator */
        bad |= crypto_scalarmult_curve25519(out, c->priv[1], c->pub[0]); /* ee, responder */
        bad |= crypto_scalarmult_curve25519(out, c->priv[0], c->pub[3]); /* es, initiator */
        bad |= crypto_scalarmult_curve25519(out, c->priv[3], c->pub[0]); /* es, responder */
        bad |= crypto_scalarmult_curve25519(out, c->priv[2], c->pub[1]); /* se, initiator */
        bad |= crypto_scalarmult_curve25519(out, c->priv[1], c->pub[2]); /* se, responder */
    }
    if (bad)
        die("crypto_scalarmult_curve25519", -1);
}

/* ------------------------------------------------------------------------ */
/* Inline XXpsk2 over raw libsodium: the primitives a handshake is made of   */
/* ------------------------------------------------------------------------ */

/*
 * The handshake of noise-rev34 with everything fixed at compile time:
 * X25519, AES-GCM, SHA-256, pattern XXpsk2. It makes exactly the libsodium
 * calls the engine makes and checks that it produces the engine's messages
 * and handshake hash, but has no handle, no pattern table, no descriptors,
 * no argument checks and wipes nothing.
 */
typedef struct raw_party {
    crypto_aead_aes256gcm_state k;      /* handshake CipherState key schedule */
    crypto_aead_aes256gcm_state c1, c2; /* transport keys after Split() */
    uint64_t n;
    int has_key;
    uint8_t ck[HASH_LEN], h[HASH_LEN];
    uint8_t s_priv[KEY_LEN], s_pub[KEY_LEN], e_priv[KEY_LEN], e_pub[KEY_LEN];
    uint8_t rs[KEY_LEN], re[KEY_LEN];
} raw_party;

static void raw_mix_hash(raw_party *p, const uint8_t *data, size_t len)
{
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, p->h, HASH_LEN);
    crypto_hash_sha256_update(&st, data, len);
    crypto_hash_sha256_final(&st, p->h);
}

static void raw_hmac(const uint8_t *key, const uint8_t *d1, size_t l1, const uint8_t *d2, size_t l2, uint8_t *out)
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, HASH_LEN);
    crypto_auth_hmacsha256_update(&st, d1, l1);
    if (l2 > 0)
        crypto_auth_hmacsha256_update(&st, d2, l2);
    crypto_auth_hmacsha256_final(&st, out);
}

static void raw_hkdf(const uint8_t *ck, const uint8_t *ikm, size_t ikm_len, uint8_t *o1, uint8_t *o2, uint8_t *o3)
{
    static const uint8_t one = 1, two = 2, three = 3;
    uint8_t temp[HASH_LEN];
    raw_hmac(ck, ikm, ikm_len, NULL, 0, temp);
    raw_hmac(temp, &one, 1, NULL, 0, o1);
    raw_hmac(temp, o1, HASH_LEN, &two, 1, o2);
    if (o3 != NULL)
        raw_hmac(temp, o2, HASH_LEN, &three, 1, o3);
}

static void raw_mix_key(raw_party *p, const uint8_t *ikm, size_t len)
{
    uint8_t k[HASH_LEN];
    raw_hkdf(p->ck, ikm, len, p->ck, k, NULL);
    crypto_aead_aes256gcm_beforenm(&p->k, k);
    p->n = 0;
    p->has_key = 1;
}

static void raw_mix_key_and_hash(raw_party *p, const uint8_t *psk)
{
    uint8_t th[HASH_LEN], k[HASH_LEN];
    raw_hkdf(p->ck, psk, KEY_LEN, p->ck, th, k);
    raw_mix_hash(p, th, HASH_LEN);
    crypto_aead_aes256gcm_beforenm(&p->k, k);
    p->n = 0;
    p->has_key = 1;
}

static void aesgcm_nonce(uint8_t nonce[NONCE_LEN], uint64_t n)
{
    memset(nonce, 0, 4);
    for (int i = 11; i >= 4; i--) {
        nonce[i] = (uint8_t)n;
        n >>= 8;
    }
}

static void chachapoly_nonce(uint8_t nonce[NONCE_LEN], uint64_t n)
{
    memset(nonce, 0, 4);
    for (int i = 4; i < 12; i++) {
        nonce[i] = (uint8_t)n;
        n >>= 8;
    }
}

/* EncryptAndHash with a key set (always the case in XXpsk2); returns len + 16. */
static size_t raw_encrypt_and_hash(raw_party *p, const uint8_t *in, size_t len, uint8_t *out)
{
    uint8_t nonce[NONCE_LEN];
    aesgcm_nonce(nonce, p->n++);
    crypto_aead_aes256gcm_encrypt_afternm(out, NULL, in, len, p->h, HASH_LEN, NULL, nonce, &p->k);
    raw_mix_hash(p, out, len + TAG_LEN);
    return len + TAG_LEN;
}

static void raw_decrypt_and_hash(raw_party *p, const uint8_t *in, size_t len, uint8_t *out)
{
    uint8_t nonce[NONCE_LEN];
    aesgcm_nonce(nonce, p->n++);
    if (crypto_aead_aes256gcm_decrypt_afternm(out, NULL, NULL, in, len, p->h, HASH_LEN, nonce, &p->k) != 0)
        die("inline handshake decrypt", -1);
    raw_mix_hash(p, in, len);
}

static void raw_dh(raw_party *p, const uint8_t *priv, const uint8_t *pub)
{
    uint8_t shared[KEY_LEN];
    if (crypto_scalarmult_curve25519(shared, priv, pub) != 0)
        die("inline handshake DH", -1);
    raw_mix_key(p, shared, KEY_LEN);
}

static void raw_init(raw_party *p, const uint8_t *s_priv, const uint8_t *e_fixed)
{
    memcpy(p->h, HS_AESGCM, HASH_LEN); /* the name is exactly HASHLEN bytes: no hashing */
    memcpy(p->ck, p->h, HASH_LEN);
    p->has_key = 0;
    memcpy(p->s_priv, s_priv, KEY_LEN);
    crypto_scalarmult_curve25519_base(p->s_pub, p->s_priv);
    if (e_fixed != NULL) {
        memcpy(p->e_priv, e_fixed, KEY_LEN);
        crypto_scalarmult_curve25519_base(p->e_pub, p->e_priv);
    }
    raw_mix_hash(p, NULL, 0); /* empty prologue */
}

/* Token "e" on the writing side; the psk modifier adds MixKey(e.public_key). */
static void raw_write_e(raw_party *p, int fixed, uint8_t *out)
{
    if (!fixed) {
        randombytes_buf(p->e_priv, KEY_LEN);
        crypto_scalarmult_curve25519_base(p->e_pub, p->e_priv);
    }
    memcpy(out, p->e_pub, KEY_LEN);
    raw_mix_hash(p, p->e_pub, KEY_LEN);
    raw_mix_key(p, p->e_pub, KEY_LEN);
}

static void raw_read_e(raw_party *p, const uint8_t *in)
{
    memcpy(p->re, in, KEY_LEN);
    raw_mix_hash(p, p->re, KEY_LEN);
    raw_mix_key(p, p->re, KEY_LEN);
}

static void raw_split(raw_party *p)
{
    uint8_t k1[HASH_LEN], k2[HASH_LEN];
    raw_hkdf(p->ck, NULL, 0, k1, k2, NULL);
    crypto_aead_aes256gcm_beforenm(&p->c1, k1);
    crypto_aead_aes256gcm_beforenm(&p->c2, k2);
}

/*
 * -> e
 * <- e, ee, s, es, psk
 * -> s, se
 */
static void raw_handshake(const hs_keys *k, raw_party *ini, raw_party *res, hs_transcript *tr)
{
    uint8_t m0[48], m1[96], m2[64], rs[KEY_LEN], empty[1];
    size_t pos;
    int fixed = k->e_init != NULL;

    raw_init(ini, k->s_init, k->e_init);
    raw_init(res, k->s_resp, k->e_resp);

    raw_write_e(ini, fixed, m0);
    raw_encrypt_and_hash(ini, NULL, 0, m0 + KEY_LEN);
    raw_read_e(res, m0);
    raw_decrypt_and_hash(res, m0 + KEY_LEN, TAG_LEN, empty);

    raw_write_e(res, fixed, m1);
    raw_dh(res, res->e_priv, res->re);                                            /* ee */
    pos = KEY_LEN + raw_encrypt_and_hash(res, res->s_pub, KEY_LEN, m1 + KEY_LEN); /* s */
    raw_dh(res, res->s_priv, res->re);                                            /* es */
    raw_mix_key_and_hash(res, k->psk);                                            /* psk */
    raw_encrypt_and_hash(res, NULL, 0, m1 + pos);
    raw_read_e(ini, m1);
    raw_dh(ini, ini->e_priv, ini->re);
    raw_decrypt_and_hash(ini, m1 + KEY_LEN, KEY_LEN + TAG_LEN, ini->rs);
    raw_dh(ini, ini->e_priv, ini->rs);
    raw_mix_key_and_hash(ini, k->psk);
    raw_decrypt_and_hash(ini, m1 + pos, TAG_LEN, empty);

    pos = raw_encrypt_and_hash(ini, ini->s_pub, KEY_LEN, m2); /* s */
    raw_dh(ini, ini->s_priv, ini->re);                        /* se */
    raw_encrypt_and_hash(ini, NULL, 0, m2 + pos);
    raw_split(ini);
    raw_decrypt_and_hash(res, m2, KEY_LEN + TAG_LEN, rs);
    memcpy(res->rs, rs, KEY_LEN);
    raw_dh(res, res->e_priv, res->rs);
    raw_decrypt_and_hash(res, m2 + pos, TAG_LEN, empty);
    raw_split(res);

    if (tr != NULL) {
        /* cppcheck-suppress uninitvar ; tr->msg is the destination, written here, not read */
        memcpy(tr->msg[0], m0, sizeof m0);
        memcpy(tr->msg[1], m1, sizeof m1);
        memcpy(tr->msg[2], m2, sizeof m2);
        tr->len[0] = sizeof m0;
        tr->len[1] = sizeof m1;
        tr->len[2] = sizeof m2;
        memcpy(tr->h, ini->h, HASH_LEN);
    }
}

typedef struct raw_hs_ctx {
    const hs_keys *keys;
    raw_party *ini, *res;
} raw_hs_ctx;

static void work_raw_handshake(void *ctx, unsigned long iterations)
{
    raw_hs_ctx *c = ctx;
    for (unsigned long i = 0; i < iterations; i++)
        raw_handshake(c->keys, c->ini, c->res, NULL);
}

/*
 * Runs both with the same fixed ephemerals: the inline handshake must send
 * the engine's bytes, reach its handshake hash and its first transport
 * ciphertext, or it is not measuring the same work.
 */
static void self_check(const hs_keys *keys, raw_party *ini, raw_party *res)
{
    uint8_t e_i[KEY_LEN], e_r[KEY_LEN];
    randombytes_buf(e_i, sizeof e_i);
    randombytes_buf(e_r, sizeof e_r);
    hs_keys k = *keys;
    k.e_init = e_i;
    k.e_resp = e_r;

    hs_transcript a, b;
    secchat_noise *ni, *nr;
    engine_handshake(&k, &a, &ni, &nr);
    raw_handshake(&k, ini, res, &b);
    int same = memcmp(a.h, b.h, HASH_LEN) == 0;
    for (int m = 0; m < 3; m++)
        same = same && a.len[m] == b.len[m] && memcmp(a.msg[m], b.msg[m], a.len[m]) == 0;

    static const uint8_t text[] = "transport";
    uint8_t ct_engine[sizeof text + TAG_LEN], ct_raw[sizeof text + TAG_LEN], nonce[NONCE_LEN];
    size_t ct_len;
    check(secchat_noise_encrypt(ni, text, sizeof text, ct_engine, sizeof ct_engine, &ct_len), "secchat_noise_encrypt");
    aesgcm_nonce(nonce, 0);
    crypto_aead_aes256gcm_encrypt_afternm(ct_raw, NULL, text, sizeof text, NULL, 0, NULL, nonce, &ini->c1);
    same = same && ct_len == sizeof ct_raw && memcmp(ct_engine, ct_raw, ct_len) == 0;
    secchat_noise_free(ni);
    secchat_noise_free(nr);
    if (!same) {
        fprintf(stderr, "noise_bench: the inline handshake does not reproduce the engine's bytes\n");
        exit(1);
    }
}

/* ------------------------------------------------------------------------ */
/* Transport                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct buffers {
    uint8_t *plain;  /* MAX_PLAINTEXT */
    uint8_t *sealed; /* MAX_PLAINTEXT + TAG_LEN */
    uint8_t *opened; /* MAX_PLAINTEXT */
} buffers;

typedef struct engine_tr_ctx {
    secchat_noise *tx, *rx;
    const buffers *buf;
    size_t len;
} engine_tr_ctx;

static void work_engine_transport(void *ctx, unsigned long iterations)
{
    engine_tr_ctx *c = ctx;
    const buffers *b = c->buf;
    int rc = SECCHAT_OK;
    for (unsigned long i = 0; i < iterations && rc == SECCHAT_OK; i++) {
        size_t sealed_len, opened_len;
        rc = secchat_noise_encrypt(c->tx, b->plain, c->len, b->sealed, MAX_PLAINTEXT + TAG_LEN, &sealed_len);
        if (rc == SECCHAT_OK)
            rc = secchat_noise_decrypt(c->rx, b->sealed, sealed_len, b->opened, MAX_PLAINTEXT, &opened_len);
    }
    check(rc, "secchat_noise_encrypt/decrypt");
}

typedef struct raw_tr_ctx {
    crypto_aead_aes256gcm_state aes; /* AESGCM: precomputed key schedule */
    uint8_t key[KEY_LEN];            /* ChaChaPoly */
    uint64_t n_tx, n_rx;             /* the two parties' nonces */
    const buffers *buf;
    size_t len;
} raw_tr_ctx;

static void work_raw_aesgcm(void *ctx, unsigned long iterations)
{
    raw_tr_ctx *c = ctx;
    const buffers *b = c->buf;
    int bad = 0;
    for (unsigned long i = 0; i < iterations; i++) {
        uint8_t nonce[NONCE_LEN];
        aesgcm_nonce(nonce, c->n_tx++);
        crypto_aead_aes256gcm_encrypt_afternm(b->sealed, NULL, b->plain, c->len, NULL, 0, NULL, nonce, &c->aes);
        aesgcm_nonce(nonce, c->n_rx++);
        bad |= crypto_aead_aes256gcm_decrypt_afternm(b->opened, NULL, NULL, b->sealed, c->len + TAG_LEN, NULL, 0, nonce,
                                                     &c->aes);
    }
    if (bad)
        die("crypto_aead_aes256gcm_decrypt_afternm", -1);
}

static void work_raw_chachapoly(void *ctx, unsigned long iterations)
{
    raw_tr_ctx *c = ctx;
    const buffers *b = c->buf;
    int bad = 0;
    for (unsigned long i = 0; i < iterations; i++) {
        uint8_t nonce[NONCE_LEN];
        chachapoly_nonce(nonce, c->n_tx++);
        crypto_aead_chacha20poly1305_ietf_encrypt(b->sealed, NULL, b->plain, c->len, NULL, 0, NULL, nonce, c->key);
        chachapoly_nonce(nonce, c->n_rx++);
        bad |= crypto_aead_chacha20poly1305_ietf_decrypt(b->opened, NULL, NULL, b->sealed, c->len + TAG_LEN, NULL, 0,
                                                         nonce, c->key);
    }
    if (bad)
        die("crypto_aead_chacha20poly1305_ietf_decrypt", -1);
}

/* ------------------------------------------------------------------------ */
/* Report                                                                    */
/* ------------------------------------------------------------------------ */

static int has_flag(const char *flags, const char *flag)
{
    size_t n = strlen(flag);
    for (const char *p = flags; (p = strstr(p, flag)) != NULL; p += n) {
        if ((p == flags || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return 1;
    }
    return 0;
}

static void print_header(void)
{
    char flags[4096];
    bench_proc_field("/proc/cpuinfo", "flags", flags, sizeof flags, "");
    int cpu_aes = has_flag(flags, "aes") && has_flag(flags, "pclmulqdq");

    printf("noise_bench: libsecchat %s, libsodium %s\n", secchat_version_string(), sodium_version_string());
    bench_print_cpus();
    printf("AES-NI: %s (cpuinfo aes+pclmulqdq: %s; libsodium AES-GCM: %s)\n",
           cpu_aes && crypto_aead_aes256gcm_is_available() ? "yes" : "no", cpu_aes ? "yes" : "no",
           crypto_aead_aes256gcm_is_available() ? "available" : "unavailable");
    if (bench_iterations > 0)
        printf("%lu iterations per case (BENCH_ITERATIONS), once, no warm-up: for instruction counts;\n"
               "the timings below are not representative.\n",
               bench_iterations);
    else
        printf("%.2f s per case (BENCH_SECONDS), interleaved with its raw case in %.0f ms slices.\n", bench_seconds,
               BENCH_SLICE_SECONDS * 1000);
    printf("One core, both parties in this process. Pin with: taskset -c 1 make bench\n\n");
    printf("%-30s %12s %8s %12s %8s %10s %9s\n", "case", "ops/s", "GB/s", "raw ops/s", "raw GB/s", "engine/raw",
           "overhead");
}

/* engine/raw = engine cost / raw cost = raw rate / engine rate, slice by slice. */
static void print_row(const char *name, const bench_workload *engine, const bench_workload *raw, size_t bytes)
{
    double ratio = bench_rate_ratio(raw, engine);
    if (bytes > 0)
        printf("%-30s %12.0f %8.3f %12.0f %8.3f %9.3fx %+8.1f%%\n", name, engine->ops,
               engine->ops * (double)bytes / 1e9, raw->ops, raw->ops * (double)bytes / 1e9, ratio, (ratio - 1) * 100);
    else
        printf("%-30s %12.1f %8s %12.1f %8s %9.3fx %+8.1f%%\n", name, engine->ops, "-", raw->ops, "-", ratio,
               (ratio - 1) * 100);
}

static void bench_handshake(const hs_keys *keys)
{
    static raw_party ini, res; /* 1.7 KB each, off the stack */
    x25519_ctx x;
    for (int i = 0; i < 4; i++) {
        randombytes_buf(x.priv[i], KEY_LEN);
        crypto_scalarmult_curve25519_base(x.pub[i], x.priv[i]);
    }
    raw_hs_ctx raw = {keys, &ini, &res};
    self_check(keys, &ini, &res);

    bench_workload w[3] = {
        {.fn = work_engine_handshake, .ctx = (void *)keys},
        {.fn = work_x25519, .ctx = &x},
        {.fn = work_raw_handshake, .ctx = &raw},
    };
    measure(w, 3);

    printf("handshake %s\n", keys->name + strlen("Noise_"));
    print_row("  vs X25519 only", &w[0], &w[1], 0);
    print_row("  vs inline over libsodium", &w[0], &w[2], 0);
    /* Split the engine's time with the slice-by-slice ratios, not the medians. */
    double total = 1e6 / w[0].ops;
    double x25519 = total / bench_rate_ratio(&w[1], &w[0]);
    double inline_all = total / bench_rate_ratio(&w[2], &w[0]);
    printf("  time per handshake %.1f us: X25519 %.1f us (%.0f%%),\n", total, x25519, 100 * x25519 / total);
    printf("  SHA-256/HMAC/AES-GCM/randombytes %.1f us (%.0f%%), engine's own work %.1f us (%.0f%%)\n",
           inline_all - x25519, 100 * (inline_all - x25519) / total, total - inline_all,
           100 * (total - inline_all) / total);
}

static void bench_transport(const hs_keys *keys, const char *cipher, bench_fn raw_fn, const buffers *buf)
{
    static const size_t sizes[] = {64, 1024, 16384};
    secchat_noise *tx, *rx;
    engine_handshake(keys, NULL, &tx, &rx);

    static raw_tr_ctx raw; /* holds a 512-byte AES state */
    memset(&raw, 0, sizeof raw);
    randombytes_buf(raw.key, sizeof raw.key);
    crypto_aead_aes256gcm_beforenm(&raw.aes, raw.key);
    raw.buf = buf;

    printf("transport %s, seal + open\n", cipher);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        engine_tr_ctx eng = {tx, rx, buf, sizes[i]};
        raw.len = sizes[i];
        bench_workload w[2] = {
            {.fn = work_engine_transport, .ctx = &eng},
            {.fn = raw_fn, .ctx = &raw},
        };
        measure(w, 2);
        char name[64];
        snprintf(name, sizeof name, "  %zu B", sizes[i]);
        print_row(name, &w[0], &w[1], sizes[i]);
        fflush(stdout);
    }
    secchat_noise_free(tx);
    secchat_noise_free(rx);
}

int main(void)
{
    if (sodium_init() < 0) {
        fprintf(stderr, "noise_bench: sodium_init failed\n");
        return 1;
    }
    bench_seconds = bench_seconds_from_env("noise_bench", DEFAULT_SECONDS);
    bench_iterations = bench_iterations_from_env("noise_bench");
    print_header();
    fflush(stdout);

    int aes = crypto_aead_aes256gcm_is_available();
    hs_keys keys = {aes ? HS_AESGCM : HS_CHACHA, {0}, {0}, {0}, NULL, NULL};
    randombytes_buf(keys.s_init, KEY_LEN);
    randombytes_buf(keys.s_resp, KEY_LEN);
    randombytes_buf(keys.psk, KEY_LEN);

    if (aes)
        bench_handshake(&keys);
    else
        printf("handshake: skipped, this CPU has no AES-NI (libsodium AES-GCM unavailable)\n");
    fflush(stdout);

    buffers buf = {malloc(MAX_PLAINTEXT), malloc(MAX_PLAINTEXT + TAG_LEN), malloc(MAX_PLAINTEXT)};
    if (buf.plain == NULL || buf.sealed == NULL || buf.opened == NULL)
        die("malloc", SECCHAT_ERR_NO_MEMORY);
    randombytes_buf(buf.plain, MAX_PLAINTEXT);

    if (aes)
        bench_transport(&keys, "AESGCM", work_raw_aesgcm, &buf);
    else
        printf("transport AESGCM: skipped, this CPU has no AES-NI\n");
    fflush(stdout);
    hs_keys chacha = keys;
    chacha.name = HS_CHACHA;
    bench_transport(&chacha, "ChaChaPoly", work_raw_chachapoly, &buf);

    printf("\nGB/s = 10^9 bytes of plaintext per second; engine/raw = engine cost / raw cost (cost = 1 / ops/s);\n"
           "overhead = engine/raw - 1.\n"
           "X25519 only: 4 crypto_scalarmult_curve25519_base + 6 crypto_scalarmult_curve25519 per handshake.\n"
           "Inline: the same handshake over raw libsodium calls (checked to produce the engine's bytes).\n"
           "ops/s columns are medians of the slices; overhead is the median of the slice-by-slice ratios.\n"
           "Raw transport: crypto_aead_aes256gcm_{en,de}crypt_afternm with a precomputed state, or\n"
           "crypto_aead_chacha20poly1305_ietf_{en,de}crypt, with the 12-byte nonce built per message.\n");
    free(buf.plain);
    free(buf.sealed);
    free(buf.opened);
    return 0;
}
