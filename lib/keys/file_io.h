/*
 * File helpers of the keys module (lib/keys): bounded reads of a whole file,
 * atomic replacement through a temporary file, and the two text helpers the
 * three parsers share (lines, base64 keys). Not installed.
 *
 * Every helper that fails with SECCHAT_ERR_KEY_IO leaves errno as the
 * failing system call set it, so callers can report strerror(errno).
 */
#ifndef SC_KEYS_FILE_IO_H
#define SC_KEYS_FILE_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "secchat/keys.h"

/*
 * The line starting at *pos in text[0..len): its content is
 * text[*pos .. *pos + *n) without the '\n' or "\r\n" that ends it, and *pos
 * moves past the terminator. Returns 1 if a '\n' ended the line, 0 if the
 * text ended first (a '\r' is then part of the content).
 */
int sc_keys_next_line(const char *text, size_t len, size_t *pos, size_t *n);

/*
 * Splits one line of a list file (known_servers, authorized_keys) into
 * fields separated by runs of spaces and tabs; spaces and tabs before the
 * first and after the last field are ignored (a line from sc_keys_next_line
 * has lost its CRLF already). A blank line or a comment (first non-blank
 * character '#') has no fields. Fills at most max fields and returns how
 * many there are, up to max + 1 ("too many").
 */
size_t sc_keys_split_fields(const char *line, size_t n, const char **field, size_t *field_len, size_t max);

/* 1 if s[0..n) is a list field a person could have meant: no byte below 0x21 or 0x7f (DEL). */
int sc_keys_printable(const char *s, size_t n);

/*
 * The key whose base64 text (standard alphabet, padded) is exactly
 * text[0..len): 44 characters, no whitespace, decoding to 32 bytes, with
 * canonical final bits. KEY_MALFORMED (key zeroed) otherwise. Needs
 * sc_crypto_init() first.
 */
int sc_keys_decode_base64(const char *text, size_t len, uint8_t key[SECCHAT_KEY_LEN]);

/*
 * Reads fd until end of file or until cap bytes are in buf, whichever comes
 * first; *len gets the count. A caller that needs to know whether the file
 * is larger than max passes cap = max + 1 and checks *len > max. Retries on
 * EINTR. SECCHAT_OK or KEY_IO.
 */
int sc_keys_read_fd(int fd, char *buf, size_t cap, size_t *len);

/* write() all of data[0..len), retrying on EINTR and short writes. SECCHAT_OK or KEY_IO. */
int sc_keys_write_all(int fd, const void *data, size_t len);

/*
 * Reads the whole file at path into a new buffer (*out, free() it; a NUL
 * follows the *len bytes). Over max bytes: KEY_MALFORMED. Errors: KEY_IO
 * (errno ENOENT for a missing file, EISDIR for a directory), NO_MEMORY.
 * For lists of public data only: the buffer may be reallocated while it
 * grows, so the bytes are not wiped.
 */
int sc_keys_read_file(const char *path, size_t max, char **out, size_t *len);

/*
 * Writes data to path atomically: a temporary file next to path is created
 * with O_CREAT | O_EXCL and mode (the umask may only remove bits), written,
 * fsynced and then renamed over path (overwrite != 0) or hard-linked to it
 * (overwrite == 0: KEY_EXISTS if path exists, even as a dangling symlink),
 * and the directory is fsynced. The temporary file is removed on every
 * path. Errors: INVALID_ARGUMENT, NO_MEMORY, CRYPTO_INIT, KEY_EXISTS,
 * KEY_IO.
 */
int sc_keys_write_atomic(const char *path, const void *data, size_t len, mode_t mode, int overwrite);

/* fsyncs the directory that holds path. SECCHAT_OK or KEY_IO (NO_MEMORY). */
int sc_keys_sync_parent(const char *path);

#endif /* SC_KEYS_FILE_IO_H */
