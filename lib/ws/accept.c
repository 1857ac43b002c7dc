/* Sec-WebSocket-Key generation and the Sec-WebSocket-Accept value (RFC 6455 sections 4.1, 4.2.2). */
#include <string.h>

#include <nettle/base64.h>
#include <nettle/sha1.h>

#include "common/internal.h"
#include "ws/http.h"

/* The GUID every WebSocket endpoint appends to the key (RFC 6455 section 1.3). */
static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

#define KEY_NONCE_LEN 16

/* The lengths in http.h are fixed by the protocol; tie them to nettle's arithmetic. */
_Static_assert(BASE64_ENCODE_RAW_LENGTH(KEY_NONCE_LEN) == SC_WS_KEY_LEN, "key length");
_Static_assert(BASE64_ENCODE_RAW_LENGTH(SHA1_DIGEST_SIZE) == SC_WS_ACCEPT_LEN, "accept length");

int sc_ws_new_key(char key[SC_WS_KEY_LEN + 1])
{
    uint8_t nonce[KEY_NONCE_LEN];
    if (key == NULL)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    int rc = secchat_random_bytes(nonce, sizeof nonce);
    if (rc != SECCHAT_OK)
        return rc;
    base64_encode_raw(key, sizeof nonce, nonce);
    key[SC_WS_KEY_LEN] = '\0';
    return SECCHAT_OK;
}

void sc_ws_accept_value(const char *key, char accept[SC_WS_ACCEPT_LEN + 1])
{
    struct sha1_ctx ctx;
    uint8_t digest[SHA1_DIGEST_SIZE];

    sha1_init(&ctx);
    /* The key is hashed as the characters received, never decoded (section 4.2.2, step 5.4). */
    sha1_update(&ctx, strlen(key), (const uint8_t *)key);
    sha1_update(&ctx, sizeof ws_guid - 1, (const uint8_t *)ws_guid);
    sha1_digest(&ctx, sizeof digest, digest);
    base64_encode_raw(accept, sizeof digest, digest);
    accept[SC_WS_ACCEPT_LEN] = '\0';
}
