/*
 * libsecchat Noise engine: a hand-written implementation of the Noise Protocol
 * Framework, revision 34, over libsodium.
 *
 * Supported: every one-way, fundamental and deferred handshake pattern
 * (sections 7.4, 7.5, 7.6, 18.1), pskN modifiers in any combination
 * ("XXpsk0+psk2"), DH 25519, ciphers AESGCM and ChaChaPoly, hashes SHA256,
 * SHA512 and BLAKE2b. Everything is selected by the full protocol name, e.g.
 * "Noise_XXpsk2_25519_AESGCM_SHA256".
 *
 * One handle runs a party from the first handshake message to transport mode:
 *
 *   secchat_noise_new()            parse the name, pick the role
 *   secchat_noise_set_*()          keys, PSKs, prologue (before the first message)
 *   write_message / read_message   alternate as secchat_noise_next_action() says
 *   encrypt / decrypt              transport messages once the handshake is done
 *   secchat_noise_free()           wipes every secret
 *
 * The engine is sans-I/O: it never touches sockets, clocks or threads, and
 * allocates only in secchat_noise_new(). Distinct handles may be used from
 * distinct threads; one handle must not be used by two threads at once.
 *
 * Errors: calls that fail before changing any state (BUFFER_TOO_SMALL,
 * MSG_TOO_LARGE, OUT_OF_TURN, HANDSHAKE_DONE, HANDSHAKE_PENDING, ONE_WAY,
 * INVALID_ARGUMENT, BAD_STATE, MISSING_KEY, and MSG_TRUNCATED or DECRYPT on a
 * transport message, which leave the nonce unchanged as the spec requires)
 * may be retried. Any other failure
 * is fatal and sticky: the handle wipes its secrets and every later call
 * returns the same code.
 */
#ifndef SECCHAT_NOISE_H
#define SECCHAT_NOISE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SECCHAT_NOISE_KEY_LEN 32        /* X25519 keys, PSKs, cipher keys */
#define SECCHAT_NOISE_TAG_LEN 16        /* AEAD tag on every encrypted part */
#define SECCHAT_NOISE_MAX_MESSAGE 65535 /* largest Noise message (section 3) */
#define SECCHAT_NOISE_MAX_PLAINTEXT (SECCHAT_NOISE_MAX_MESSAGE - SECCHAT_NOISE_TAG_LEN)
#define SECCHAT_NOISE_MAX_HASH_LEN 64  /* HASHLEN of SHA512 and BLAKE2b */
#define SECCHAT_NOISE_MAX_NAME_LEN 255 /* section 8 */

typedef struct secchat_noise secchat_noise;

typedef enum secchat_noise_role { SECCHAT_NOISE_INITIATOR = 1, SECCHAT_NOISE_RESPONDER = 2 } secchat_noise_role;

/* What the handle expects next; see secchat_noise_next_action(). */
typedef enum secchat_noise_action {
    SECCHAT_NOISE_ACTION_WRITE = 1,     /* call secchat_noise_write_message() */
    SECCHAT_NOISE_ACTION_READ = 2,      /* call secchat_noise_read_message() */
    SECCHAT_NOISE_ACTION_TRANSPORT = 3, /* handshake done: encrypt / decrypt */
    SECCHAT_NOISE_ACTION_FAILED = 4     /* a fatal error occurred; free the handle */
} secchat_noise_action;

/*
 * Checks a protocol name without allocating. Returns SECCHAT_OK when the
 * engine can run it, SECCHAT_ERR_NOISE_NAME when it is not a well-formed Noise
 * name (bad syntax, unknown base pattern, malformed, repeated, unsorted or
 * out-of-range pskN), SECCHAT_ERR_NOISE_UNSUPPORTED when it is well formed
 * but needs something libsodium lacks (448, BLAKE2s), an unknown algorithm, or
 * a modifier this engine does not implement (fallback or any other), and
 * SECCHAT_ERR_NOISE_AESGCM_UNAVAILABLE when it uses AESGCM and this CPU has no
 * hardware AES (libsodium's AES-GCM needs AES-NI; ChaChaPoly works anywhere).
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_noise_check_name(const char *protocol_name);

/*
 * Creates a handshake handle for protocol_name in the given role and stores
 * it in *out (set to NULL on failure). Initializes libsodium if needed.
 * Errors: INVALID_ARGUMENT, NO_MEMORY, CRYPTO_INIT, and those of
 * secchat_noise_check_name().
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_noise_new(secchat_noise **out, const char *protocol_name,
                                                      secchat_noise_role role);

/* Wipes every key, PSK and hash in the handle and frees it. NULL is a no-op. */
SECCHAT_API void secchat_noise_free(secchat_noise *noise);

/*
 * Mixes the prologue (section 6) into the handshake. Optional (default: empty),
 * at most once, before the first message. Errors: INVALID_ARGUMENT, BAD_STATE.
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_noise_set_prologue(secchat_noise *noise, const uint8_t *prologue,
                                                               size_t prologue_len);

/*
 * Sets the local static key pair from its 32-byte X25519 private key (the
 * public key is derived). Needed when the pattern has an "s" token or
 * pre-message for this party. The handle keeps its own copy.
 * Errors: INVALID_ARGUMENT, BAD_STATE (after the first message).
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_noise_set_local_static(secchat_noise *noise,
                                                                   const uint8_t private_key[SECCHAT_NOISE_KEY_LEN]);

/*
 * Sets the remote party's static public key. When the pattern has a "s"
 * pre-message for the peer (N, K, X, NK, IK, ...) this is that key and is
 * required. Otherwise it is the key the peer must send: if the peer sends a
 * different one, read_message fails with PEER_KEY_MISMATCH (key pinning).
 * Errors: INVALID_ARGUMENT, BAD_STATE (after the first message, or the
 * pattern never conveys the peer's static key, e.g. NN, so a pin could never
 * be checked).
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_noise_set_remote_static(secchat_noise *noise,
                                                                    const uint8_t public_key[SECCHAT_NOISE_KEY_LEN]);

/*
 * Appends a 32-byte pre-shared key. PSKs are consumed by the pattern's "psk"
 * tokens in the order they were added (psk0 before psk2, ...). All must be
 * supplied before the first message. Errors: INVALID_ARGUMENT, BAD_STATE,
 * TOO_MANY_PSKS.
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_noise_add_psk(secchat_noise *noise,
                                                          const uint8_t psk[SECCHAT_NOISE_KEY_LEN]);

/*
 * TEST ONLY: use this private key as the local ephemeral key instead of a
 * fresh random one, to reproduce test vectors. Never use it in production:
 * a reused ephemeral key destroys forward secrecy.
 * Errors: INVALID_ARGUMENT, BAD_STATE.
 */
SECCHAT_API SECCHAT_WARN_UNUSED int
secchat_noise_set_ephemeral_for_testing(secchat_noise *noise, const uint8_t private_key[SECCHAT_NOISE_KEY_LEN]);

/* What the handle expects next (WRITE, READ, TRANSPORT, or FAILED after a
 * fatal error or for NULL). */
SECCHAT_API secchat_noise_action secchat_noise_next_action(const secchat_noise *noise);

/* Nonzero once the handshake has completed (Split() done). */
SECCHAT_API int secchat_noise_is_complete(const secchat_noise *noise);

/*
 * Length of the handshake message that write_message() would produce now for
 * a payload of payload_len bytes (before any size limit is applied), or 0 when
 * it is not this party's turn to write (NULL handle, peer's turn, handshake
 * complete, or failed).
 */
SECCHAT_API size_t secchat_noise_message_len(const secchat_noise *noise, size_t payload_len);

/*
 * Writes the next handshake message (WriteMessage, section 5.3) carrying
 * payload into out[0..out_cap) and stores its length in *out_len. payload may
 * be NULL when payload_len is 0.
 * The first call also fixes the configuration (keys, PSKs, prologue).
 * Errors: INVALID_ARGUMENT, OUT_OF_TURN, HANDSHAKE_DONE, BUFFER_TOO_SMALL,
 * MSG_TOO_LARGE, MISSING_KEY (retryable); DH, NONCE_EXHAUSTED (fatal).
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_noise_write_message(secchat_noise *noise, const uint8_t *payload,
                                                                size_t payload_len, uint8_t *out, size_t out_cap,
                                                                size_t *out_len);

/*
 * Reads the next handshake message (ReadMessage, section 5.3), writing its
 * decrypted payload to payload[0..payload_cap) and its length to *payload_len.
 * payload must not overlap message.
 * Errors: INVALID_ARGUMENT, OUT_OF_TURN, HANDSHAKE_DONE, BUFFER_TOO_SMALL,
 * MSG_TOO_LARGE, MISSING_KEY (retryable); MSG_TRUNCATED, DECRYPT, DH,
 * PEER_KEY_MISMATCH (fatal).
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_noise_read_message(secchat_noise *noise, const uint8_t *message,
                                                               size_t message_len, uint8_t *payload, size_t payload_cap,
                                                               size_t *payload_len);

/*
 * Encrypts a transport message: out receives plaintext_len + 16 bytes.
 * out may equal plaintext (in place). Errors: INVALID_ARGUMENT,
 * HANDSHAKE_PENDING, ONE_WAY, BUFFER_TOO_SMALL, MSG_TOO_LARGE (plaintext over
 * SECCHAT_NOISE_MAX_PLAINTEXT); NONCE_EXHAUSTED (fatal).
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_noise_encrypt(secchat_noise *noise, const uint8_t *plaintext,
                                                          size_t plaintext_len, uint8_t *out, size_t out_cap,
                                                          size_t *out_len);

/*
 * Decrypts a transport message: out receives ciphertext_len - 16 bytes.
 * out may equal ciphertext. Errors: INVALID_ARGUMENT, HANDSHAKE_PENDING,
 * ONE_WAY, BUFFER_TOO_SMALL, MSG_TOO_LARGE, MSG_TRUNCATED (shorter than a
 * tag), DECRYPT (retryable: the message is discarded, the nonce unchanged);
 * NONCE_EXHAUSTED (fatal).
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_noise_decrypt(secchat_noise *noise, const uint8_t *ciphertext,
                                                          size_t ciphertext_len, uint8_t *out, size_t out_cap,
                                                          size_t *out_len);

/*
 * Copies the handshake hash h (GetHandshakeHash, for channel binding, section
 * 11.2) to out and its length (32 or 64) to *out_len. Only after completion.
 * Errors: INVALID_ARGUMENT, HANDSHAKE_PENDING, BUFFER_TOO_SMALL.
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_noise_handshake_hash(const secchat_noise *noise, uint8_t *out,
                                                                 size_t out_cap, size_t *out_len);

/*
 * Copies the peer's static public key once it is known: from the start when
 * the pattern has it as a pre-message (NK, IK, ...), else after the message
 * that carries it. A key set with set_remote_static() only to pin an expected
 * key is not reported until the peer has sent it. Errors: INVALID_ARGUMENT,
 * BAD_STATE (not known yet or the pattern never reveals it).
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_noise_remote_static(const secchat_noise *noise,
                                                                uint8_t out[SECCHAT_NOISE_KEY_LEN]);

/* Rekey() (section 11.3) of the sending or receiving cipher. Errors:
 * INVALID_ARGUMENT, HANDSHAKE_PENDING, ONE_WAY. */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_noise_rekey_send(secchat_noise *noise);
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_noise_rekey_recv(secchat_noise *noise);

/* The protocol name the handle was created with ("" for NULL). */
SECCHAT_API const char *secchat_noise_protocol_name(const secchat_noise *noise);

/*
 * Generates a fresh X25519 key pair from libsodium's CSPRNG. The caller owns
 * private_key and should wipe it (secchat_memzero) when done.
 * Errors: INVALID_ARGUMENT, CRYPTO_INIT.
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_keypair_generate(uint8_t public_key[SECCHAT_NOISE_KEY_LEN],
                                                             uint8_t private_key[SECCHAT_NOISE_KEY_LEN]);

/* Derives the X25519 public key of a private key. Errors: INVALID_ARGUMENT, CRYPTO_INIT. */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_public_key_from_private(uint8_t public_key[SECCHAT_NOISE_KEY_LEN],
                                                                    const uint8_t private_key[SECCHAT_NOISE_KEY_LEN]);

#ifdef __cplusplus
}
#endif

#endif /* SECCHAT_NOISE_H */
