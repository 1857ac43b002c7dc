/*
 * noise_pair: an initiator and a responder, both in this process, run
 * Noise_XXpsk2_25519_AESGCM_SHA256 over a memory buffer, then exchange one
 * transport message each way. Only the public API (secchat.h) is used.
 *
 *   cc noise_pair.c $(pkg-config --cflags --libs libsecchat)
 *
 * `make` builds it as build/examples/noise_pair; tests/install/test_install.sh
 * builds and runs it against an installed copy of the library.
 */
#include <stdio.h>
#include <string.h>

#include <secchat.h>

/* Runs a secchat call; on failure prints the call and the reason, then cleans up. */
#define CHECK(call)                                                                                                    \
    do {                                                                                                               \
        int rc_ = (call);                                                                                              \
        if (rc_ != SECCHAT_OK) {                                                                                       \
            fprintf(stderr, "noise_pair: %s failed: %s (%d)\n", #call, secchat_strerror(rc_), rc_);                    \
            goto out;                                                                                                  \
        }                                                                                                              \
    } while (0)

int main(void)
{
    static const char *const who[2] = {"initiator", "responder"};
    static const char *const text[2] = {"hello from the initiator", "and hello back from the responder"};
    const char *name = "Noise_XXpsk2_25519_AESGCM_SHA256";
    secchat_noise *peer[2] = {NULL, NULL};
    uint8_t pub[2][SECCHAT_NOISE_KEY_LEN], priv[2][SECCHAT_NOISE_KEY_LEN], psk[SECCHAT_NOISE_KEY_LEN];
    uint8_t msg[SECCHAT_NOISE_MAX_MESSAGE], plain[SECCHAT_NOISE_MAX_MESSAGE], rs[SECCHAT_NOISE_KEY_LEN];
    uint8_t hash[2][SECCHAT_NOISE_MAX_HASH_LEN];
    size_t msg_len, plain_len, hash_len[2];
    int status = 1;

    /* libsodium's AES-GCM needs AES-NI; ChaChaPoly runs on any CPU. */
    if (secchat_noise_check_name(name) == SECCHAT_ERR_NOISE_AESGCM_UNAVAILABLE)
        name = "Noise_XXpsk2_25519_ChaChaPoly_SHA256";
    printf("protocol: %s\n", name);

    /* Both parties share one PSK; a real deployment distributes it out of band. */
    CHECK(secchat_random_bytes(psk, sizeof psk));
    for (int i = 0; i < 2; i++) {
        CHECK(secchat_keypair_generate(pub[i], priv[i]));
        CHECK(secchat_noise_new(&peer[i], name, i == 0 ? SECCHAT_NOISE_INITIATOR : SECCHAT_NOISE_RESPONDER));
        CHECK(secchat_noise_set_local_static(peer[i], priv[i]));
        CHECK(secchat_noise_add_psk(peer[i], psk));
        secchat_memzero(priv[i], sizeof priv[i]); /* the handle keeps its own copy */
    }
    secchat_memzero(psk, sizeof psk);

    /* XX has three messages (->, <-, ->): the writer sends, its peer reads, until both are done. */
    for (int n = 1;; n++) {
        secchat_noise_action act[2] = {secchat_noise_next_action(peer[0]), secchat_noise_next_action(peer[1])};
        if (act[0] == SECCHAT_NOISE_ACTION_TRANSPORT && act[1] == SECCHAT_NOISE_ACTION_TRANSPORT)
            break;
        int w = act[0] == SECCHAT_NOISE_ACTION_WRITE ? 0 : 1;
        if (act[w] != SECCHAT_NOISE_ACTION_WRITE || act[1 - w] != SECCHAT_NOISE_ACTION_READ) {
            fprintf(stderr, "noise_pair: the peers disagree on whose turn it is\n");
            goto out;
        }
        CHECK(secchat_noise_write_message(peer[w], NULL, 0, msg, sizeof msg, &msg_len));
        CHECK(secchat_noise_read_message(peer[1 - w], msg, msg_len, plain, sizeof plain, &plain_len));
        printf("handshake message %d: %s -> %s, %zu bytes\n", n, who[w], who[1 - w], msg_len);
    }

    /* Both sides must end with the same h and know each other's static key. */
    for (int i = 0; i < 2; i++) {
        CHECK(secchat_noise_handshake_hash(peer[i], hash[i], sizeof hash[i], &hash_len[i]));
        CHECK(secchat_noise_remote_static(peer[i], rs));
        if (memcmp(rs, pub[1 - i], sizeof rs) != 0) {
            fprintf(stderr, "noise_pair: the %s sees a wrong static key\n", who[i]);
            goto out;
        }
    }
    if (hash_len[0] != hash_len[1] || memcmp(hash[0], hash[1], hash_len[0]) != 0) {
        fprintf(stderr, "noise_pair: handshake hashes differ\n");
        goto out;
    }
    printf("handshake hashes match (%zu bytes); static keys verified\n", hash_len[0]);

    /* Transport: each side encrypts one message, the other decrypts it. */
    for (int i = 0; i < 2; i++) {
        CHECK(secchat_noise_encrypt(peer[i], (const uint8_t *)text[i], strlen(text[i]), msg, sizeof msg, &msg_len));
        CHECK(secchat_noise_decrypt(peer[1 - i], msg, msg_len, plain, sizeof plain, &plain_len));
        printf("%s received %zu bytes: %.*s\n", who[1 - i], plain_len, (int)plain_len, (const char *)plain);
        secchat_memzero(plain, plain_len);
    }
    printf("noise_pair: OK\n");
    status = 0;

out:
    secchat_memzero(priv, sizeof priv);
    secchat_memzero(psk, sizeof psk);
    secchat_memzero(plain, sizeof plain);
    secchat_noise_free(peer[0]); /* wipes every key the handle holds */
    secchat_noise_free(peer[1]);
    return status;
}
