/*
 * libsecchat common definitions: export macro, version, error codes.
 *
 * Every fallible function returns an int: SECCHAT_OK (0) on success, or a
 * negative SECCHAT_ERR_* code. Codes are grouped by hundreds so callers can
 * test the class with secchat_error_class():
 *   -1xx  caller errors (arguments, buffers, call order)
 *   -2xx  Noise protocol and cryptography failures
 *   -3xx  HTTP upgrade and WebSocket (RFC 6455) failures
 *   -4xx  secure session failures (turn order, peer rejected, closed)
 *   -5xx  application message (JSON) failures
 *   -6xx  key files, fingerprints, known servers, allow-lists
 *   -7xx  the chat server and client runtimes (sockets, threads, members)
 */
#ifndef SECCHAT_COMMON_H
#define SECCHAT_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(SECCHAT_BUILDING_LIBRARY) && defined(__GNUC__)
#define SECCHAT_API __attribute__((visibility("default")))
#else
#define SECCHAT_API
#endif

#if defined(__GNUC__)
#define SECCHAT_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define SECCHAT_WARN_UNUSED
#endif

#define SECCHAT_VERSION_MAJOR 0
#define SECCHAT_VERSION_MINOR 1
#define SECCHAT_VERSION_PATCH 0
#define SECCHAT_VERSION_STRING "0.1.0"

/* Version of the library actually linked (may differ from the header's). */
SECCHAT_API const char *secchat_version_string(void);

enum secchat_error {
    SECCHAT_OK = 0,

    /* -1xx: the caller asked for something the API cannot do. */
    SECCHAT_ERR_INVALID_ARGUMENT = -101, /* NULL handle, bad length, bad enum */
    SECCHAT_ERR_NO_MEMORY = -102,        /* allocation failed */
    SECCHAT_ERR_BUFFER_TOO_SMALL = -103, /* output capacity too small; retry */
    SECCHAT_ERR_BAD_STATE = -104,        /* e.g. configuring after start */
    SECCHAT_ERR_CRYPTO_INIT = -105,      /* sodium_init() failed */

    /* -2xx: Noise protocol (noise-rev34) and cryptography. */
    SECCHAT_ERR_NOISE_NAME = -201,               /* malformed protocol name */
    SECCHAT_ERR_NOISE_UNSUPPORTED = -202,        /* valid name, primitive or pattern we lack */
    SECCHAT_ERR_NOISE_AESGCM_UNAVAILABLE = -203, /* CPU lacks AES-NI/PCLMUL */
    SECCHAT_ERR_NOISE_MISSING_KEY = -204,        /* pattern needs a key not supplied */
    SECCHAT_ERR_NOISE_OUT_OF_TURN = -205,        /* it is the peer's turn to write */
    SECCHAT_ERR_NOISE_HANDSHAKE_DONE = -206,     /* handshake call after completion */
    SECCHAT_ERR_NOISE_HANDSHAKE_PENDING = -207,  /* transport call before completion */
    SECCHAT_ERR_NOISE_ONE_WAY = -208,            /* one-way pattern: this direction has no keys */
    SECCHAT_ERR_NOISE_DECRYPT = -209,            /* authentication tag did not verify */
    SECCHAT_ERR_NOISE_MSG_TOO_LARGE = -210,      /* Noise message would exceed 65535 bytes */
    SECCHAT_ERR_NOISE_MSG_TRUNCATED = -211,      /* message shorter than its pattern requires */
    SECCHAT_ERR_NOISE_NONCE_EXHAUSTED = -212,    /* nonce reached 2^64-1 */
    SECCHAT_ERR_NOISE_DH = -213,                 /* DH gave all-zero output (bad public key) */
    SECCHAT_ERR_NOISE_PEER_KEY_MISMATCH = -214,  /* peer's static key is not the expected one */
    SECCHAT_ERR_NOISE_TOO_MANY_PSKS = -215,      /* more PSKs supplied than the pattern uses */

    /* -3xx: HTTP/1.1 opening handshake and WebSocket framing (RFC 6455). */
    SECCHAT_ERR_HTTP_MALFORMED = -301,      /* request/status line or header syntax; answered 400 */
    SECCHAT_ERR_HTTP_TOO_LARGE = -302,      /* header block over 8 KiB or too many headers; 400 */
    SECCHAT_ERR_HTTP_NOT_WEBSOCKET = -303,  /* not a GET with Upgrade: websocket, Connection: Upgrade; 426 */
    SECCHAT_ERR_HTTP_WS_VERSION = -304,     /* Sec-WebSocket-Version is not 13; 426 */
    SECCHAT_ERR_HTTP_WS_KEY = -305,         /* Sec-WebSocket-Key missing or not 16 bytes of base64; 400 */
    SECCHAT_ERR_HTTP_STATUS = -306,         /* client: the server did not answer 101 */
    SECCHAT_ERR_HTTP_WS_ACCEPT = -307,      /* client: Sec-WebSocket-Accept missing or wrong */
    SECCHAT_ERR_HTTP_UNREQUESTED = -308,    /* client: server chose an extension or subprotocol never offered */
    SECCHAT_ERR_WS_URL = -309,              /* not a ws://host[:port][/path] URL */
    SECCHAT_ERR_WS_PROTOCOL = -310,         /* peer broke RFC 6455 framing; closed with 1002 */
    SECCHAT_ERR_WS_MESSAGE_TOO_BIG = -311,  /* peer's message over the limit; closed with 1009 */
    SECCHAT_ERR_WS_TEXT_MESSAGE = -312,     /* peer sent a text message; closed with 1003 */
    SECCHAT_ERR_WS_INVALID_UTF8 = -313,     /* close reason not UTF-8; closed with 1007 */
    SECCHAT_ERR_WS_CLOSED = -314,           /* the connection is closing or closed */
    SECCHAT_ERR_WS_OUTPUT_FULL = -315,      /* pending output over its limit; retry after it drains */
    SECCHAT_ERR_WS_CONNECTION_LOST = -316,  /* transport ended without a close handshake (1006) */

    /* -4xx: the secure session (WebSocket + Noise + turn order). */
    SECCHAT_ERR_SESSION_PEER_REJECTED = -401, /* trust callback refused the peer's static key; 1008 */
    SECCHAT_ERR_SESSION_HANDSHAKE = -402,     /* a handshake message failed; 1008 (cause in the event) */
    SECCHAT_ERR_SESSION_DECRYPT = -403,       /* a transport message failed to decrypt; 1008 */

    /* -5xx: application messages (compact JSON objects, PROTOCOL.md). */
    SECCHAT_ERR_MESSAGE_JSON = -501,        /* not well-formed JSON (or trailing bytes) */
    SECCHAT_ERR_MESSAGE_NOT_OBJECT = -502,  /* JSON value is not an object */
    SECCHAT_ERR_MESSAGE_NO_CONTENT = -503,  /* "content" missing or not a string */
    SECCHAT_ERR_MESSAGE_FIELD_TYPE = -504,  /* a known field has the wrong JSON type */
    SECCHAT_ERR_MESSAGE_UTF8 = -505,        /* bytes are not valid UTF-8 */
    SECCHAT_ERR_MESSAGE_NUL = -506,         /* a string contains U+0000 */
    SECCHAT_ERR_MESSAGE_DUPLICATE = -507,   /* an object member appears twice */
    SECCHAT_ERR_MESSAGE_TOO_LARGE = -508,   /* encoded message would exceed 65519 bytes */

    /* -6xx: keys and trust (keys.h). */
    SECCHAT_ERR_KEY_IO = -601,               /* a key or list file could not be read or written (see errno) */
    SECCHAT_ERR_KEY_PERMISSIONS = -602,      /* secret key file is open to group or others, or not a regular file */
    SECCHAT_ERR_KEY_MALFORMED = -603,        /* not a well-formed key file, key or list line */
    SECCHAT_ERR_KEY_WRONG_TYPE = -604,       /* a key file of another type (e.g. public for private) */
    SECCHAT_ERR_KEY_EXISTS = -605,           /* the key file exists; not overwritten */
    SECCHAT_ERR_KNOWN_SERVER_UNKNOWN = -606, /* no known_servers entry for this server yet */
    SECCHAT_ERR_KNOWN_SERVER_CHANGED = -607, /* the server's key differs from the one recorded */
    SECCHAT_ERR_KEY_NOT_AUTHORIZED = -608,   /* the key is not in the allow-list */

    /* -7xx: server and client runtimes. */
    SECCHAT_ERR_ADDRESS = -701,        /* not an ADDR:PORT (IPv4, [IPv6] or host name) that resolves */
    SECCHAT_ERR_LISTEN = -702,         /* the listening socket could not be opened (see errno: in use, denied) */
    SECCHAT_ERR_CONNECT = -703,        /* the TCP connection could not be made (see errno) */
    SECCHAT_ERR_THREAD = -704,         /* a thread or event loop could not be started */
    SECCHAT_ERR_NOT_RUNNING = -705,    /* the server or client is not running (not started, or stopped) */
    SECCHAT_ERR_NO_SUCH_MEMBER = -706, /* no member of that name */
    SECCHAT_ERR_TIMEOUT = -707,        /* the peer did not finish a step (upgrade + handshake, name) in time */
    SECCHAT_ERR_LIMIT = -708,          /* a server limit was reached: connections, pending ones, rooms, room size */
    SECCHAT_ERR_RATE_LIMITED = -709    /* the peer kept sending faster than the message rate limit */
};

/*
 * Human-readable, static description of an error code. Never NULL: unknown
 * codes get a generic text. Never contains key material.
 */
SECCHAT_API const char *secchat_strerror(int code);

/*
 * The class of a code: 0 for success, else -100, -200, ... Meaningful only
 * for the codes listed above.
 */
SECCHAT_API int secchat_error_class(int code);

/*
 * Wipes len bytes at ptr in a way the compiler cannot optimise away
 * (libsodium's sodium_memzero). Use it on private keys and PSKs you hold.
 * NULL is a no-op.
 */
SECCHAT_API void secchat_memzero(void *ptr, size_t len);

/*
 * Fills buf with len bytes from the operating system's CSPRNG (libsodium's
 * randombytes_buf), e.g. for a fresh PSK.
 * Errors: INVALID_ARGUMENT (buf NULL with len > 0), CRYPTO_INIT.
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_random_bytes(void *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* SECCHAT_COMMON_H */
