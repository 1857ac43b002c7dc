/* The table behind secchat_strerror(): one line per code in common.h. */
#include "internal.h"

SECCHAT_API const char *secchat_strerror(int code)
{
    switch (code) {
    case SECCHAT_OK:
        return "success";
    case SECCHAT_ERR_INVALID_ARGUMENT:
        return "invalid argument";
    case SECCHAT_ERR_NO_MEMORY:
        return "out of memory";
    case SECCHAT_ERR_BUFFER_TOO_SMALL:
        return "output buffer too small";
    case SECCHAT_ERR_BAD_STATE:
        return "operation not allowed in the current state";
    case SECCHAT_ERR_CRYPTO_INIT:
        return "libsodium initialisation failed";
    case SECCHAT_ERR_NOISE_NAME:
        return "malformed Noise protocol name or unknown pattern";
    case SECCHAT_ERR_NOISE_UNSUPPORTED:
        return "Noise protocol uses an unsupported primitive or modifier (supported: 25519; AESGCM, ChaChaPoly; "
               "SHA256, SHA512, BLAKE2b; pskN)";
    case SECCHAT_ERR_NOISE_AESGCM_UNAVAILABLE:
        return "AESGCM needs hardware AES (AES-NI) which this CPU lacks; use a ChaChaPoly protocol";
    case SECCHAT_ERR_NOISE_MISSING_KEY:
        return "the handshake pattern needs a key or PSK that was not supplied";
    case SECCHAT_ERR_NOISE_OUT_OF_TURN:
        return "out of turn: the peer must send the next handshake message";
    case SECCHAT_ERR_NOISE_HANDSHAKE_DONE:
        return "the handshake is already complete";
    case SECCHAT_ERR_NOISE_HANDSHAKE_PENDING:
        return "the handshake is not complete yet";
    case SECCHAT_ERR_NOISE_ONE_WAY:
        return "one-way pattern: no cipher for this direction";
    case SECCHAT_ERR_NOISE_DECRYPT:
        return "decryption failed: message forged, corrupted or keys differ";
    case SECCHAT_ERR_NOISE_MSG_TOO_LARGE:
        return "Noise message larger than 65535 bytes";
    case SECCHAT_ERR_NOISE_MSG_TRUNCATED:
        return "Noise message shorter than its pattern requires";
    case SECCHAT_ERR_NOISE_NONCE_EXHAUSTED:
        return "nonce exhausted: the session must be ended";
    case SECCHAT_ERR_NOISE_DH:
        return "Diffie-Hellman failed: invalid or low-order public key";
    case SECCHAT_ERR_NOISE_PEER_KEY_MISMATCH:
        return "peer static key differs from the expected key";
    case SECCHAT_ERR_NOISE_TOO_MANY_PSKS:
        return "more PSKs supplied than the pattern has psk tokens";
    default:
        return "unknown error code";
    }
}

SECCHAT_API int secchat_error_class(int code)
{
    if (code >= 0)
        return 0;
    return code - code % 100; /* C99 '%' truncates toward zero; no negation, so INT_MIN is safe */
}
