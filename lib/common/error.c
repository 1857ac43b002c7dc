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
    case SECCHAT_ERR_HTTP_MALFORMED:
        return "malformed HTTP request or response";
    case SECCHAT_ERR_HTTP_TOO_LARGE:
        return "HTTP header block too large (limit 8 KiB) or too many header fields";
    case SECCHAT_ERR_HTTP_NOT_WEBSOCKET:
        return "not a WebSocket upgrade: need GET with 'Upgrade: websocket' and 'Connection: Upgrade'";
    case SECCHAT_ERR_HTTP_WS_VERSION:
        return "unsupported WebSocket version: only Sec-WebSocket-Version 13 is spoken";
    case SECCHAT_ERR_HTTP_WS_KEY:
        return "Sec-WebSocket-Key missing, repeated or not 16 bytes of base64";
    case SECCHAT_ERR_HTTP_STATUS:
        return "server refused the WebSocket upgrade (status is not 101)";
    case SECCHAT_ERR_HTTP_WS_ACCEPT:
        return "server's Sec-WebSocket-Accept is missing or does not match our key";
    case SECCHAT_ERR_HTTP_UNREQUESTED:
        return "server selected a WebSocket extension or subprotocol that was not offered";
    case SECCHAT_ERR_WS_URL:
        return "invalid URL: expected ws://host[:port][/path] (IPv6 as [addr])";
    case SECCHAT_ERR_WS_PROTOCOL:
        return "WebSocket protocol violation by the peer (close 1002)";
    case SECCHAT_ERR_WS_MESSAGE_TOO_BIG:
        return "WebSocket message larger than the limit of 65535 bytes (close 1009)";
    case SECCHAT_ERR_WS_TEXT_MESSAGE:
        return "WebSocket text message received; this protocol uses binary messages only (close 1003)";
    case SECCHAT_ERR_WS_INVALID_UTF8:
        return "WebSocket close reason is not valid UTF-8 (close 1007)";
    case SECCHAT_ERR_WS_CLOSED:
        return "WebSocket connection is closing or closed";
    case SECCHAT_ERR_WS_OUTPUT_FULL:
        return "too much output pending for this connection; wait until it drains";
    case SECCHAT_ERR_WS_CONNECTION_LOST:
        return "connection ended without a WebSocket close handshake (1006)";
    case SECCHAT_ERR_SESSION_PEER_REJECTED:
        return "peer's static public key was rejected by the trust policy (close 1008)";
    case SECCHAT_ERR_SESSION_HANDSHAKE:
        return "Noise handshake failed: wrong PSK, wrong protocol or corrupted message (close 1008)";
    case SECCHAT_ERR_SESSION_DECRYPT:
        return "transport message failed to decrypt: forged, replayed or corrupted (close 1008)";
    case SECCHAT_ERR_MESSAGE_JSON:
        return "message is not well-formed JSON";
    case SECCHAT_ERR_MESSAGE_NOT_OBJECT:
        return "message JSON is not an object";
    case SECCHAT_ERR_MESSAGE_NO_CONTENT:
        return "message has no string field \"content\"";
    case SECCHAT_ERR_MESSAGE_FIELD_TYPE:
        return "message field has the wrong type (sender, type, room, to: string; ts: integer)";
    case SECCHAT_ERR_MESSAGE_UTF8:
        return "message text is not valid UTF-8";
    case SECCHAT_ERR_MESSAGE_NUL:
        return "message string contains U+0000";
    case SECCHAT_ERR_MESSAGE_DUPLICATE:
        return "message JSON names the same field twice";
    case SECCHAT_ERR_MESSAGE_TOO_LARGE:
        return "encoded message would exceed the 65519-byte plaintext limit";
    case SECCHAT_ERR_KEY_IO:
        return "key file could not be read or written";
    case SECCHAT_ERR_KEY_PERMISSIONS:
        return "secret key file must be a regular file readable by its owner only (chmod 600)";
    case SECCHAT_ERR_KEY_MALFORMED:
        return "malformed key file or key: expected the header line, then 32 bytes in base64";
    case SECCHAT_ERR_KEY_WRONG_TYPE:
        return "key file holds another type of key";
    case SECCHAT_ERR_KEY_EXISTS:
        return "key file already exists (not overwritten without --force)";
    case SECCHAT_ERR_KNOWN_SERVER_UNKNOWN:
        return "server not yet in known_servers";
    case SECCHAT_ERR_KNOWN_SERVER_CHANGED:
        return "SERVER KEY CHANGED: the server's static key differs from the one recorded in known_servers";
    case SECCHAT_ERR_KEY_NOT_AUTHORIZED:
        return "static key not in the list of authorized keys";
    case SECCHAT_ERR_ADDRESS:
        return "address is not ADDR:PORT or does not resolve";
    case SECCHAT_ERR_LISTEN:
        return "cannot listen on that address (in use or not permitted)";
    case SECCHAT_ERR_CONNECT:
        return "cannot connect to the server";
    case SECCHAT_ERR_THREAD:
        return "cannot start a thread or event loop";
    case SECCHAT_ERR_NOT_RUNNING:
        return "not running";
    case SECCHAT_ERR_NO_SUCH_MEMBER:
        return "no member of that name";
    case SECCHAT_ERR_TIMEOUT:
        return "the peer did not complete the upgrade and handshake, or give a name, in time";
    case SECCHAT_ERR_LIMIT:
        return "a server limit was reached (connections, pending connections, rooms or room size)";
    case SECCHAT_ERR_RATE_LIMITED:
        return "messages sent faster than the server's rate limit";
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
