/*
 * secchat-client's trust policy for the server's static key, run as the
 * session's verify hook on the client thread (docs/keys.md):
 *   TRUST_PIN    known_servers, trust on first use (the default)
 *   TRUST_KEY    --server-key FILE: exactly that public key
 *   TRUST_FP     --server-key FINGERPRINT
 *   TRUST_NONE   --no-pin
 */
#ifndef SECCHAT_CLIENT_TRUST_H
#define SECCHAT_CLIENT_TRUST_H

#include <stdint.h>

#include <secchat.h>

#include "ui.h"

enum trust_mode { TRUST_PIN, TRUST_KEY, TRUST_FP, TRUST_NONE };

typedef struct trust {
    enum trust_mode mode;
    char server[300];                  /* "host:port" as known_servers names it */
    char config_dir[4096];             /* TRUST_PIN: where known_servers lives */
    char known_path[4200];             /* TRUST_PIN */
    const char *expected_fp;           /* TRUST_FP: as typed */
    uint8_t expected[SECCHAT_KEY_LEN]; /* TRUST_KEY */
    const char *key_file;              /* TRUST_KEY: for messages */
    ui_channel *ui;
    int refused; /* set when the hook refused the server: the message is out already */
} trust;

/* The verify hook (secchat_config_set_verify); arg is a trust. */
int trust_verify(void *arg, const uint8_t server_key[SECCHAT_NOISE_KEY_LEN]);

/* 1 if text looks like a fingerprint (32 hex digits, optional ':' separators). */
int trust_is_fingerprint(const char *text);

#endif
