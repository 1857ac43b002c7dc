/*
 * libsecchat common definitions: export macro, version, error codes.
 *
 * Every fallible function returns an int: SECCHAT_OK (0) on success, or a
 * negative SECCHAT_ERR_* code. Codes are grouped by hundreds so callers can
 * test the class with secchat_error_class():
 *   -1xx  caller errors (arguments, buffers, call order)
 *   -2xx  Noise protocol and cryptography failures
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
    SECCHAT_ERR_NOISE_TOO_MANY_PSKS = -215       /* more PSKs supplied than the pattern uses */
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
