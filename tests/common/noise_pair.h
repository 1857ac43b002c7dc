/*
 * Test helper: an initiator and a responder handle with fresh keys, and the
 * loop that carries handshake messages between them. Plain C with no cmocka
 * dependency, because the Makefile links every .c file of tests/common/ into
 * every test program and tool: failures come back as SECCHAT_ERR_* codes.
 */
#ifndef SC_TESTS_NOISE_PAIR_H
#define SC_TESTS_NOISE_PAIR_H

#include <stddef.h>
#include <stdint.h>

#include "secchat.h"

typedef struct noise_pair {
    secchat_noise *init;
    secchat_noise *resp;
    uint8_t init_pub[SECCHAT_NOISE_KEY_LEN], init_priv[SECCHAT_NOISE_KEY_LEN];
    uint8_t resp_pub[SECCHAT_NOISE_KEY_LEN], resp_priv[SECCHAT_NOISE_KEY_LEN];
    uint8_t psk[SECCHAT_NOISE_KEY_LEN];
} noise_pair;

/* Creates both handles for name and fresh static keys and PSK; configures nothing. */
int noise_pair_new(noise_pair *p, const char *name);

/* Gives each side its static key and the PSK: all that XXpsk2 needs. */
int noise_pair_configure(noise_pair *p);

/*
 * One handshake message: from writes it (carrying payload), to reads it.
 * The written message is copied to msg[0..*msg_len) when msg is not NULL
 * (capacity SECCHAT_NOISE_MAX_MESSAGE). The payload read is discarded.
 */
int noise_pair_transfer(secchat_noise *from, secchat_noise *to, const uint8_t *payload, size_t payload_len,
                        uint8_t *msg, size_t *msg_len);

/*
 * Runs the handshake with empty payloads until both sides are complete,
 * whichever side's turn it is. Stores up to max message lengths in lens
 * (may be NULL) and their count in *count (may be NULL).
 */
int noise_pair_handshake(noise_pair *p, size_t *lens, size_t max, size_t *count);

/* Frees both handles (NULL-safe) and wipes the keys. */
void noise_pair_free(noise_pair *p);

#endif /* SC_TESTS_NOISE_PAIR_H */
