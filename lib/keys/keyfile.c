/*
 * Key files: "<header>\n<base64 of 32 bytes>\n" (keys.h), their text form
 * in memory and on disk, and the base64 form of a bare key.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/internal.h"
#include "keys/file_io.h"
#include "secchat/chat.h"
#include "secchat/keys.h"

/* Key files hold Noise keys and PSKs: one size for all three names. */
_Static_assert(SECCHAT_KEY_LEN == SECCHAT_NOISE_KEY_LEN, "key files hold X25519 keys");
_Static_assert(SECCHAT_KEY_LEN == SECCHAT_PSK_LEN, "and PSKs");

static const char *header_of(enum secchat_key_type type)
{
    switch (type) {
    case SECCHAT_KEY_PSK:
        return SECCHAT_KEY_HEADER_PSK;
    case SECCHAT_KEY_PRIVATE:
        return SECCHAT_KEY_HEADER_PRIVATE;
    case SECCHAT_KEY_PUBLIC:
        return SECCHAT_KEY_HEADER_PUBLIC;
    }
    return NULL;
}

static int is_secret(enum secchat_key_type type)
{
    return type != SECCHAT_KEY_PUBLIC;
}

/* The type whose header is exactly s[0..n), or 0. */
static enum secchat_key_type type_of_header(const char *s, size_t n)
{
    static const enum secchat_key_type all[] = {SECCHAT_KEY_PSK, SECCHAT_KEY_PRIVATE, SECCHAT_KEY_PUBLIC};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        const char *h = header_of(all[i]);
        if (strlen(h) == n && memcmp(h, s, n) == 0)
            return all[i];
    }
    return (enum secchat_key_type)0;
}

int sc_keys_decode_base64(const char *text, size_t len, uint8_t key[SECCHAT_KEY_LEN])
{
    sodium_memzero(key, SECCHAT_KEY_LEN);
    /* A length check first: it also keeps libsodium away from any long or odd-length input. */
    if (len != SECCHAT_KEY_BASE64_LEN)
        return SECCHAT_ERR_KEY_MALFORMED;
    /* libsodium 1.0.18 decodes some bytes above 0x7F as if they were base64
     * letters (found by tests/fuzz/fuzz_keyfile): allow the alphabet only. */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
              c == '='))
            return SECCHAT_ERR_KEY_MALFORMED;
    }
    size_t bin_len = 0;
    const char *end = NULL;
    /* ignore = NULL: whitespace inside the text is an error, not skipped. libsodium also refuses
     * non-zero bits in the last character before '=', so each key has exactly one text form. */
    int rc = sodium_base642bin(key, SECCHAT_KEY_LEN, text, len, NULL, &bin_len, &end, sodium_base64_VARIANT_ORIGINAL);
    if (rc != 0 || end != text + len || bin_len != SECCHAT_KEY_LEN) {
        sodium_memzero(key, SECCHAT_KEY_LEN);
        return SECCHAT_ERR_KEY_MALFORMED;
    }
    return SECCHAT_OK;
}

SECCHAT_API int secchat_key_to_base64(const uint8_t key[SECCHAT_KEY_LEN], char out[SECCHAT_KEY_BASE64_LEN + 1])
{
    if (key == NULL || out == NULL)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    int rc = sc_crypto_init();
    if (rc != SECCHAT_OK)
        return rc;
    sodium_bin2base64(out, SECCHAT_KEY_BASE64_LEN + 1, key, SECCHAT_KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
    return SECCHAT_OK;
}

SECCHAT_API int secchat_key_from_base64(const char *text, uint8_t key[SECCHAT_KEY_LEN])
{
    if (text == NULL || key == NULL)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    int rc = sc_crypto_init();
    if (rc != SECCHAT_OK)
        return rc;
    /* strnlen: a 45th character is enough to refuse; no need to scan a long string to its end. */
    return sc_keys_decode_base64(text, strnlen(text, SECCHAT_KEY_BASE64_LEN + 1), key);
}

SECCHAT_API int secchat_key_format(enum secchat_key_type type, const uint8_t key[SECCHAT_KEY_LEN], char *out,
                                   size_t cap, size_t *out_len)
{
    const char *header = header_of(type);
    if (header == NULL || key == NULL || out_len == NULL || (out == NULL && cap > 0))
        return SECCHAT_ERR_INVALID_ARGUMENT;
    size_t header_len = strlen(header);
    size_t need = header_len + 1 + SECCHAT_KEY_BASE64_LEN + 1;
    *out_len = need; /* also on BUFFER_TOO_SMALL, so the caller knows what to allocate */
    if (cap < need)
        return SECCHAT_ERR_BUFFER_TOO_SMALL;
    int rc = sc_crypto_init();
    if (rc != SECCHAT_OK)
        return rc;

    memcpy(out, header, header_len);
    out[header_len] = '\n';
    /* Encoded in place: bin2base64 writes the 44 characters and a NUL, which the final '\n' replaces
     * (or which stays as the terminator when cap leaves room for it). */
    char b64[SECCHAT_KEY_BASE64_LEN + 1];
    sodium_bin2base64(b64, sizeof b64, key, SECCHAT_KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
    memcpy(out + header_len + 1, b64, SECCHAT_KEY_BASE64_LEN);
    sodium_memzero(b64, sizeof b64); /* the text of a secret key is as secret as its bytes */
    out[need - 1] = '\n';
    if (cap > need)
        out[need] = '\0';
    return SECCHAT_OK;
}

SECCHAT_API int secchat_key_parse(enum secchat_key_type type, const char *text, size_t len,
                                  uint8_t key[SECCHAT_KEY_LEN], unsigned *line)
{
    unsigned dummy;
    if (line == NULL)
        line = &dummy;
    *line = 0;
    if (header_of(type) == NULL || text == NULL || key == NULL)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    sodium_memzero(key, SECCHAT_KEY_LEN); /* nothing of a refused file is left in the output */
    int rc = sc_crypto_init();
    if (rc != SECCHAT_OK)
        return rc;

    size_t pos = 0, n;
    const char *l1 = text;
    int ended = sc_keys_next_line(text, len, &pos, &n);
    enum secchat_key_type found = type_of_header(l1, n);
    if (found == 0 || !ended) {
        *line = found == 0 ? 1 : 2; /* an unknown header, or the file stops right after it */
        return SECCHAT_ERR_KEY_MALFORMED;
    }

    /* The key is decoded into a local buffer: a file of another type (perhaps a private key read
     * as public) must not leave its key in the caller's output. */
    uint8_t k[SECCHAT_KEY_LEN];
    const char *l2 = text + pos;
    (void)sc_keys_next_line(text, len, &pos, &n);
    if (sc_keys_decode_base64(l2, n, k) != SECCHAT_OK) {
        *line = 2;
        return SECCHAT_ERR_KEY_MALFORMED;
    }
    if (pos != len) {
        sodium_memzero(k, sizeof k);
        *line = 3;
        return SECCHAT_ERR_KEY_MALFORMED;
    }
    /* Only a well-formed file of another type is WRONG_TYPE (keys.h); a damaged one is MALFORMED. */
    if (found != type) {
        sodium_memzero(k, sizeof k);
        *line = 1;
        return SECCHAT_ERR_KEY_WRONG_TYPE;
    }
    memcpy(key, k, SECCHAT_KEY_LEN);
    sodium_memzero(k, sizeof k);
    return SECCHAT_OK;
}

SECCHAT_API int secchat_key_file_write(const char *path, enum secchat_key_type type, const uint8_t key[SECCHAT_KEY_LEN],
                                       int overwrite)
{
    if (path == NULL || header_of(type) == NULL || key == NULL)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    char text[SECCHAT_KEY_FILE_MAX];
    size_t len = 0;
    int rc = secchat_key_format(type, key, text, sizeof text, &len);
    if (rc == SECCHAT_OK)
        rc = sc_keys_write_atomic(path, text, len, is_secret(type) ? 0600 : 0644, overwrite);
    int saved = errno;
    sodium_memzero(text, sizeof text);
    errno = saved;
    return rc;
}

SECCHAT_API int secchat_key_file_read(const char *path, enum secchat_key_type type, uint8_t key[SECCHAT_KEY_LEN])
{
    if (path == NULL || header_of(type) == NULL || key == NULL)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    sodium_memzero(key, SECCHAT_KEY_LEN);

    /*
     * Symbolic links are followed (a key kept elsewhere and linked into the
     * config directory is common, as with ssh); the checks below look at the
     * opened descriptor with fstat, i.e. at the file actually read, so
     * nothing can be swapped in between. O_NONBLOCK keeps a FIFO from
     * blocking the open; it is refused right after, and regular files
     * ignore the flag.
     */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return SECCHAT_ERR_KEY_IO;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int saved = errno;
        (void)close(fd);
        errno = saved;
        return SECCHAT_ERR_KEY_IO;
    }
    /*
     * Not a regular file (directory, FIFO, device, socket): KEY_PERMISSIONS
     * for every type, as for a secret file open to others: not something a
     * key may be read from, whatever errno a read would have given.
     */
    if (!S_ISREG(st.st_mode)) {
        (void)close(fd);
        return SECCHAT_ERR_KEY_PERMISSIONS;
    }

    /* One byte more than the largest file: reading it shows the file is too long. */
    char buf[SECCHAT_KEY_FILE_MAX + 1];
    size_t len = 0;
    int rc = sc_keys_read_fd(fd, buf, sizeof buf, &len);
    int saved = errno;
    (void)close(fd);
    if (rc == SECCHAT_OK)
        rc = len > SECCHAT_KEY_FILE_MAX ? SECCHAT_ERR_KEY_MALFORMED : secchat_key_parse(type, buf, len, key, NULL);
    sodium_memzero(buf, sizeof buf); /* public files too: not worth a branch */
    /*
     * The mode is judged after the content, so that a public key passed
     * where a private key or PSK belongs is reported as the wrong type,
     * not as a file to chmod. Every other outcome for a secret file that
     * group or others may access, success included, is KEY_PERMISSIONS, and
     * its key is wiped.
     */
    if (rc != SECCHAT_ERR_KEY_WRONG_TYPE && is_secret(type) && (st.st_mode & 077) != 0) {
        sodium_memzero(key, SECCHAT_KEY_LEN);
        rc = SECCHAT_ERR_KEY_PERMISSIONS;
    }
    errno = saved;
    return rc;
}
