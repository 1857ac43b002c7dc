/*
 * libsecchat keys and trust: key files, fingerprints, known servers (trust on
 * first use) and allow-lists of client keys. File formats: docs/keys.md.
 *
 * Every format has a parser that works on memory (no I/O, fuzzable) and a
 * small wrapper that reads or writes the file. Secret files (PSK, private
 * key) are created 0600 through a temporary file, fsync and rename, never
 * overwritten unless asked, and refused on reading when their mode lets the
 * group or others read them.
 */
#ifndef SECCHAT_KEYS_H
#define SECCHAT_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The header line of each key file type (the first line of the file). */
#define SECCHAT_KEY_HEADER_PSK "secchat-psk-v1"
#define SECCHAT_KEY_HEADER_PRIVATE "secchat-x25519-private-v1"
#define SECCHAT_KEY_HEADER_PUBLIC "secchat-x25519-public-v1"

/* Every key is 32 bytes; its text form is standard base64 with padding. */
#define SECCHAT_KEY_LEN 32u
#define SECCHAT_KEY_BASE64_LEN 44u
/* Longest key file text: header, newline, base64, newline (plus NUL). */
#define SECCHAT_KEY_FILE_MAX 80u

/* "1a2b:3c4d:...": the first 16 bytes of SHA-256(public key) in 8 groups
 * of 4 hex digits; 39 characters plus the NUL. */
#define SECCHAT_FINGERPRINT_SIZE 40u

/* Largest known_servers or authorized_keys file read (bytes). */
#define SECCHAT_KEY_LIST_MAX 1048576u

enum secchat_key_type {
    SECCHAT_KEY_PSK = 1,  /* 32-byte pre-shared key: secret */
    SECCHAT_KEY_PRIVATE,  /* X25519 private key: secret */
    SECCHAT_KEY_PUBLIC    /* X25519 public key */
};

/*
 * Key file text: "<header>\n<base64>\n". *out_len gets the length (no NUL is
 * counted; one is written when there is room). Errors: INVALID_ARGUMENT,
 * BUFFER_TOO_SMALL.
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_key_format(enum secchat_key_type type, const uint8_t key[SECCHAT_KEY_LEN],
                                                       char *out, size_t cap, size_t *out_len);

/*
 * Parses key file text of the given type: the header line, then one line of
 * base64 that decodes to exactly 32 bytes; a final newline is optional, CRLF
 * is accepted, nothing else may follow. *line (may be NULL) gets the number
 * of the offending line on error. Errors: INVALID_ARGUMENT, KEY_MALFORMED,
 * KEY_WRONG_TYPE (a valid key file of another type).
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_key_parse(enum secchat_key_type type, const char *text, size_t len,
                                                      uint8_t key[SECCHAT_KEY_LEN], unsigned *line);

/*
 * Writes a key file: created with mode 0600 (0644 for a public key, less
 * what the umask removes) as a temporary file in the same directory, fsynced and renamed over path, so a
 * reader never sees half a file. Refuses to replace an existing file unless
 * overwrite is non-zero. Errors: INVALID_ARGUMENT, KEY_EXISTS, KEY_IO
 * (errno says why).
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_key_file_write(const char *path, enum secchat_key_type type,
                                                           const uint8_t key[SECCHAT_KEY_LEN], int overwrite);

/*
 * Reads a key file of the given type. It must be a regular file; a PSK or
 * private key file also one that neither group nor others can read or write
 * (like ssh's private keys). A valid key file of another type is reported
 * as KEY_WRONG_TYPE before its mode is judged. key is zeroed on error.
 * Errors: INVALID_ARGUMENT, KEY_IO (errno says why), KEY_PERMISSIONS,
 * KEY_MALFORMED, KEY_WRONG_TYPE.
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_key_file_read(const char *path, enum secchat_key_type type,
                                                          uint8_t key[SECCHAT_KEY_LEN]);

/* The 44-character base64 text of a key (for printing public keys), NUL-terminated. */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_key_to_base64(const uint8_t key[SECCHAT_KEY_LEN],
                                                          char out[SECCHAT_KEY_BASE64_LEN + 1]);

/* The key from its base64 text (exactly 44 characters). Errors: INVALID_ARGUMENT, KEY_MALFORMED. */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_key_from_base64(const char *text, uint8_t key[SECCHAT_KEY_LEN]);

/* The fingerprint of a public key (see SECCHAT_FINGERPRINT_SIZE). */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_fingerprint(const uint8_t public_key[SECCHAT_KEY_LEN],
                                                        char out[SECCHAT_FINGERPRINT_SIZE]);

/* 1 if text is the fingerprint of public_key (hex digits in either case,
 * with or without the ':' separators), else 0. */
SECCHAT_API int secchat_fingerprint_matches(const uint8_t public_key[SECCHAT_KEY_LEN], const char *text);

/*
 * Known servers (trust on first use). The file has one line per server,
 * "<host>:<port> <base64 public key>", host as in the URL (IPv6 in
 * brackets) and the port always written, even 80: names are compared byte
 * for byte. Blank lines and lines starting with '#' are ignored.
 *
 * secchat_known_servers_find looks server (e.g. "127.0.0.1:8080") up in
 * the text: SECCHAT_OK when its line holds public_key,
 * KNOWN_SERVER_UNKNOWN when no line names it, KNOWN_SERVER_CHANGED when a
 * line names it with another key (stored and *line, both optional, then
 * give that key and line number), KEY_MALFORMED for a bad line (*line).
 * The _file variant reads the file (a missing file knows no server; over
 * SECCHAT_KEY_LIST_MAX: KEY_MALFORMED), and _add appends a line, creating
 * the file 0600 if needed (errors: KEY_IO, INVALID_ARGUMENT).
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_known_servers_find(const char *text, size_t len, const char *server,
                                                               const uint8_t public_key[SECCHAT_KEY_LEN],
                                                               uint8_t stored[SECCHAT_KEY_LEN], unsigned *line);
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_known_servers_find_file(const char *path, const char *server,
                                                                    const uint8_t public_key[SECCHAT_KEY_LEN],
                                                                    uint8_t stored[SECCHAT_KEY_LEN], unsigned *line);
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_known_servers_add(const char *path, const char *server,
                                                              const uint8_t public_key[SECCHAT_KEY_LEN]);

/*
 * An allow-list of client keys (the server's --authorized-keys file): one
 * line per client, "<base64 public key>" optionally followed by whitespace
 * and the name that client must use; blank lines and '#' lines ignored.
 */
typedef struct secchat_authorized_keys secchat_authorized_keys;

/* Parses the text (or reads the file, up to SECCHAT_KEY_LIST_MAX bytes).
 * Errors: INVALID_ARGUMENT, NO_MEMORY, KEY_MALFORMED (*line), KEY_IO. */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_authorized_keys_parse(secchat_authorized_keys **out, const char *text,
                                                                  size_t len, unsigned *line);
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_authorized_keys_load(secchat_authorized_keys **out, const char *path,
                                                                 unsigned *line);
SECCHAT_API void secchat_authorized_keys_free(secchat_authorized_keys *keys);

/* Number of entries. */
SECCHAT_API size_t secchat_authorized_keys_count(const secchat_authorized_keys *keys);

/*
 * SECCHAT_OK if public_key is listed; *name (may be NULL) then gets the name
 * its line requires, or NULL when any name will do (valid until the list is
 * freed). Else KEY_NOT_AUTHORIZED. Safe to call from several threads.
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_authorized_keys_check(const secchat_authorized_keys *keys,
                                                                  const uint8_t public_key[SECCHAT_KEY_LEN],
                                                                  const char **name);

/*
 * The per-user directory for key files and known_servers:
 * $XDG_CONFIG_HOME/secchat, or $HOME/.config/secchat when XDG_CONFIG_HOME is
 * unset, empty or relative (the XDG rule); it is not created here. Errors:
 * INVALID_ARGUMENT, KEY_IO with errno ENOENT (neither variable usable),
 * BUFFER_TOO_SMALL.
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_user_config_dir(char *out, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* SECCHAT_KEYS_H */
