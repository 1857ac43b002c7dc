/*
 * Runs Noise test vectors in the cacophony JSON format (as published by the
 * cacophony and snow projects) against the engine: every handshake and
 * transport ciphertext is checked byte for byte, decrypted back, and the
 * handshake hash compared where the vector gives one.
 *
 *   vector_runner FILE...
 *
 * Vectors whose protocol needs primitives we lack (448, BLAKE2s) are skipped.
 * Prints "N passed, N failed, N skipped" and exits 1 on any failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/hex.h"
#include "secchat.h"

#define MAX_BLOB 65535

struct blob {
    uint8_t data[MAX_BLOB];
    size_t len;
};

static int blob_from_hex(const char *hex, struct blob *out)
{
    long n = hex_decode(hex, strlen(hex), out->data, sizeof out->data);
    if (n < 0)
        return -1;
    out->len = (size_t)n;
    return 0;
}

/* Decodes the hex string field `key` of obj; 0 if absent, 1 if present, -1 on error. */
static int get_hex(json_t *obj, const char *key, struct blob *out)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return 0;
    if (!json_is_string(v) || blob_from_hex(json_string_value(v), out) != 0)
        return -1;
    return 1;
}

/* Configures one party from the init_* or resp_* fields. */
static int configure(secchat_noise *n, json_t *vec, const char *side, struct blob *tmp, char *why, size_t why_len)
{
    char key[64];
    int rc;

    snprintf(key, sizeof key, "%s_prologue", side);
    if (get_hex(vec, key, tmp) > 0 && (rc = secchat_noise_set_prologue(n, tmp->data, tmp->len)) != SECCHAT_OK)
        goto fail;
    snprintf(key, sizeof key, "%s_static", side);
    if (get_hex(vec, key, tmp) > 0 && (rc = secchat_noise_set_local_static(n, tmp->data)) != SECCHAT_OK)
        goto fail;
    snprintf(key, sizeof key, "%s_ephemeral", side);
    if (get_hex(vec, key, tmp) > 0 && (rc = secchat_noise_set_ephemeral_for_testing(n, tmp->data)) != SECCHAT_OK)
        goto fail;
    snprintf(key, sizeof key, "%s_remote_static", side);
    if (get_hex(vec, key, tmp) > 0 && (rc = secchat_noise_set_remote_static(n, tmp->data)) != SECCHAT_OK)
        goto fail;
    snprintf(key, sizeof key, "%s_psks", side);
    json_t *psks = json_object_get(vec, key);
    size_t i;
    json_t *psk;
    json_array_foreach(psks, i, psk)
    {
        if (!json_is_string(psk) || blob_from_hex(json_string_value(psk), tmp) != 0 || tmp->len != 32) {
            snprintf(why, why_len, "%s: bad psk in vector", side);
            return -1;
        }
        if ((rc = secchat_noise_add_psk(n, tmp->data)) != SECCHAT_OK)
            goto fail;
    }
    return 0;
fail:
    snprintf(why, why_len, "%s: configuring: %s", side, secchat_strerror(rc));
    return -1;
}

static struct blob payload, expected, actual, decrypted, scratch;

/* Runs one vector; 0 on success, -1 with a reason in why. */
static int run_vector(json_t *vec, const char *name, char *why, size_t why_len)
{
    secchat_noise *party[2] = {NULL, NULL};
    int result = -1, rc;

    if ((rc = secchat_noise_new(&party[0], name, SECCHAT_NOISE_INITIATOR)) != SECCHAT_OK ||
        (rc = secchat_noise_new(&party[1], name, SECCHAT_NOISE_RESPONDER)) != SECCHAT_OK) {
        snprintf(why, why_len, "new: %s", secchat_strerror(rc));
        goto out;
    }
    if (configure(party[0], vec, "init", &scratch, why, why_len) != 0 ||
        configure(party[1], vec, "resp", &scratch, why, why_len) != 0)
        goto out;

    json_t *messages = json_object_get(vec, "messages");
    size_t i;
    json_t *msg;
    /* One-way patterns (N, K, X: a one-letter base name) send only initiator -> responder. */
    size_t base_len = strspn(name + strlen("Noise_"), "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
    int one_way = base_len == 1;
    json_array_foreach(messages, i, msg)
    {
        if (get_hex(msg, "payload", &payload) <= 0 || get_hex(msg, "ciphertext", &expected) <= 0) {
            snprintf(why, why_len, "message %zu: malformed", i);
            goto out;
        }
        int transport = secchat_noise_is_complete(party[0]) && secchat_noise_is_complete(party[1]);
        int sender = one_way ? 0 : (int)(i % 2);
        secchat_noise *tx = party[sender], *rx = party[1 - sender];
        if (!transport) {
            /* The handle, not the vector's index, must say whose turn it is. */
            if (secchat_noise_next_action(tx) != SECCHAT_NOISE_ACTION_WRITE ||
                secchat_noise_next_action(rx) != SECCHAT_NOISE_ACTION_READ) {
                snprintf(why, why_len, "message %zu: turn order disagrees", i);
                goto out;
            }
            rc = secchat_noise_write_message(tx, payload.data, payload.len, actual.data, sizeof actual.data,
                                             &actual.len);
        } else {
            rc = secchat_noise_encrypt(tx, payload.data, payload.len, actual.data, sizeof actual.data, &actual.len);
        }
        if (rc != SECCHAT_OK) {
            snprintf(why, why_len, "message %zu: write: %s", i, secchat_strerror(rc));
            goto out;
        }
        if (actual.len != expected.len || memcmp(actual.data, expected.data, actual.len) != 0) {
            snprintf(why, why_len, "message %zu: ciphertext differs (%zu vs %zu bytes)", i, actual.len, expected.len);
            goto out;
        }
        if (!transport)
            rc = secchat_noise_read_message(rx, expected.data, expected.len, decrypted.data, sizeof decrypted.data,
                                            &decrypted.len);
        else
            rc = secchat_noise_decrypt(rx, expected.data, expected.len, decrypted.data, sizeof decrypted.data,
                                       &decrypted.len);
        if (rc != SECCHAT_OK) {
            snprintf(why, why_len, "message %zu: read: %s", i, secchat_strerror(rc));
            goto out;
        }
        if (decrypted.len != payload.len || memcmp(decrypted.data, payload.data, payload.len) != 0) {
            snprintf(why, why_len, "message %zu: payload differs after decryption", i);
            goto out;
        }
    }
    if (!secchat_noise_is_complete(party[0]) || !secchat_noise_is_complete(party[1])) {
        snprintf(why, why_len, "handshake did not complete");
        goto out;
    }
    if (get_hex(vec, "handshake_hash", &expected) > 0) {
        for (int p = 0; p < 2; p++) {
            rc = secchat_noise_handshake_hash(party[p], actual.data, sizeof actual.data, &actual.len);
            if (rc != SECCHAT_OK || actual.len != expected.len || memcmp(actual.data, expected.data, actual.len) != 0) {
                snprintf(why, why_len, "%s handshake hash differs", p == 0 ? "initiator" : "responder");
                goto out;
            }
        }
    }
    result = 0;
out:
    secchat_noise_free(party[0]);
    secchat_noise_free(party[1]);
    return result;
}

int main(int argc, char **argv)
{
    unsigned passed = 0, failed = 0, skipped = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s VECTORS.json...\n", argv[0]);
        return 2;
    }
    for (int f = 1; f < argc; f++) {
        json_error_t err;
        json_t *root = json_load_file(argv[f], 0, &err);
        json_t *vectors = json_object_get(root, "vectors");
        if (!json_is_array(vectors)) {
            fprintf(stderr, "%s: not a vector file: %s (line %d)\n", argv[f], err.text, err.line);
            json_decref(root);
            return 2;
        }
        unsigned file_passed = 0, file_failed = 0, file_skipped = 0;
        size_t i;
        json_t *vec;
        json_array_foreach(vectors, i, vec)
        {
            const char *name = json_string_value(json_object_get(vec, "protocol_name"));
            int rc = secchat_noise_check_name(name);
            if (rc == SECCHAT_ERR_NOISE_UNSUPPORTED) {
                file_skipped++;
                continue;
            }
            char why[256] = "";
            if (rc != SECCHAT_OK) {
                snprintf(why, sizeof why, "name refused: %s", secchat_strerror(rc));
            } else if (run_vector(vec, name, why, sizeof why) == 0) {
                file_passed++;
                continue;
            }
            printf("FAIL %s #%zu %s: %s\n", argv[f], i, name ? name : "(no name)", why);
            file_failed++;
        }
        printf("%s: %u passed, %u failed, %u skipped\n", argv[f], file_passed, file_failed, file_skipped);
        passed += file_passed, failed += file_failed, skipped += file_skipped;
        json_decref(root);
    }
    printf("%u passed, %u failed, %u skipped\n", passed, failed, skipped);
    return failed == 0 ? 0 : 1;
}
