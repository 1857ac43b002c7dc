/*
 * known_servers: the client's record of each server's static public key
 * (trust on first use, like ssh's known_hosts). One "<host>:<port> <base64>"
 * line per server; '#' comments and blank lines are skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/internal.h"
#include "keys/file_io.h"
#include "secchat/keys.h"

/*
 * A server name as it may stand in the file: non-empty, nothing that would
 * split it into fields or hide in a terminal, and no leading '#', which
 * would turn its line into a comment. Its form (host:port) is not checked
 * further: lookups compare it byte for byte with what the caller passes.
 */
static int valid_server(const char *s, size_t n)
{
    return n > 0 && s[0] != '#' && sc_keys_printable(s, n);
}

SECCHAT_API int secchat_known_servers_find(const char *text, size_t len, const char *server,
                                           const uint8_t public_key[SECCHAT_KEY_LEN], uint8_t stored[SECCHAT_KEY_LEN],
                                           unsigned *line)
{
    unsigned dummy;
    if (line == NULL)
        line = &dummy;
    *line = 0;
    if (stored != NULL)
        memset(stored, 0, SECCHAT_KEY_LEN);
    if (text == NULL || server == NULL || public_key == NULL)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    size_t server_len = strlen(server);
    if (!valid_server(server, server_len))
        return SECCHAT_ERR_INVALID_ARGUMENT;
    int rc = sc_crypto_init();
    if (rc != SECCHAT_OK)
        return rc;

    /*
     * Every line is checked, also after the one that decides: a damaged
     * file is reported wherever the damage is, rather than working for
     * some servers and not others depending on the order of the lines.
     */
    unsigned found_line = 0, lineno = 0;
    uint8_t found_key[SECCHAT_KEY_LEN];
    size_t pos = 0;
    while (pos < len) {
        const char *l = text + pos;
        size_t n;
        (void)sc_keys_next_line(text, len, &pos, &n);
        lineno++;
        const char *f[2];
        size_t fl[2];
        size_t count = sc_keys_split_fields(l, n, f, fl, 2);
        if (count == 0)
            continue; /* blank or comment */
        uint8_t k[SECCHAT_KEY_LEN];
        if (count != 2 || !valid_server(f[0], fl[0]) || sc_keys_decode_base64(f[1], fl[1], k) != SECCHAT_OK) {
            *line = lineno;
            return SECCHAT_ERR_KEY_MALFORMED;
        }
        if (found_line == 0 && fl[0] == server_len && memcmp(f[0], server, server_len) == 0) {
            found_line = lineno; /* the first line naming the server decides */
            memcpy(found_key, k, SECCHAT_KEY_LEN);
        }
    }
    if (found_line == 0)
        return SECCHAT_ERR_KNOWN_SERVER_UNKNOWN;
    *line = found_line;
    if (stored != NULL)
        memcpy(stored, found_key, SECCHAT_KEY_LEN);
    return sodium_memcmp(found_key, public_key, SECCHAT_KEY_LEN) == 0 ? SECCHAT_OK : SECCHAT_ERR_KNOWN_SERVER_CHANGED;
}

SECCHAT_API int secchat_known_servers_find_file(const char *path, const char *server,
                                                const uint8_t public_key[SECCHAT_KEY_LEN],
                                                uint8_t stored[SECCHAT_KEY_LEN], unsigned *line)
{
    if (line != NULL)
        *line = 0;
    if (stored != NULL)
        memset(stored, 0, SECCHAT_KEY_LEN);
    /* Arguments first, so that a bad call is not hidden behind a missing file's UNKNOWN. */
    if (path == NULL || server == NULL || public_key == NULL || !valid_server(server, strlen(server)))
        return SECCHAT_ERR_INVALID_ARGUMENT;
    char *text = NULL;
    size_t len = 0;
    int rc = sc_keys_read_file(path, SECCHAT_KEY_LIST_MAX, &text, &len);
    if (rc == SECCHAT_ERR_KEY_IO && errno == ENOENT)
        return SECCHAT_ERR_KNOWN_SERVER_UNKNOWN; /* no file yet: the first server is about to be added */
    if (rc != SECCHAT_OK)
        return rc;
    rc = secchat_known_servers_find(text, len, server, public_key, stored, line);
    free(text);
    return rc;
}

/* Opens path for appending; *created tells whether this call made it. */
static int open_for_append(const char *path, int *created)
{
    /* O_RDWR rather than O_WRONLY: the last byte is read back to see whether a newline is missing. */
    int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
    *created = fd >= 0;
    if (fd < 0 && errno == EEXIST)
        fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOCTTY);
    return fd;
}

SECCHAT_API int secchat_known_servers_add(const char *path, const char *server,
                                          const uint8_t public_key[SECCHAT_KEY_LEN])
{
    if (path == NULL || server == NULL || public_key == NULL)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    size_t server_len = strlen(server);
    if (!valid_server(server, server_len))
        return SECCHAT_ERR_INVALID_ARGUMENT;
    int rc = sc_crypto_init();
    if (rc != SECCHAT_OK)
        return rc;

    /* The whole line in one buffer and one write(): with O_APPEND, concurrent appenders then do not
     * interleave their lines on a local file system. Leading newline, server, space, key, newline. */
    size_t cap = 1 + server_len + 1 + SECCHAT_KEY_BASE64_LEN + 1 + 1;
    char *buf = malloc(cap);
    if (buf == NULL)
        return SECCHAT_ERR_NO_MEMORY;

    int created = 0;
    int fd = open_for_append(path, &created);
    if (fd < 0) {
        int saved = errno;
        free(buf);
        errno = saved;
        return SECCHAT_ERR_KEY_IO;
    }

    size_t n = 0;
    struct stat st;
    rc = fstat(fd, &st) == 0 ? SECCHAT_OK : SECCHAT_ERR_KEY_IO;
    if (rc == SECCHAT_OK && st.st_size > 0) {
        /* A file edited by hand may lack its final newline; the new line must not join the last one. */
        char last = '\n';
        if (pread(fd, &last, 1, st.st_size - 1) != 1)
            rc = SECCHAT_ERR_KEY_IO;
        else if (last != '\n')
            buf[n++] = '\n';
    }
    if (rc == SECCHAT_OK) {
        memcpy(buf + n, server, server_len);
        n += server_len;
        buf[n++] = ' ';
        sodium_bin2base64(buf + n, SECCHAT_KEY_BASE64_LEN + 1, public_key, SECCHAT_KEY_LEN,
                          sodium_base64_VARIANT_ORIGINAL);
        n += SECCHAT_KEY_BASE64_LEN;
        buf[n++] = '\n';
        /* A failure halfway leaves a partial last line, which find then reports as malformed with its
         * number: visible and fixable, unlike a truncation that could cut a concurrent writer's line. */
        rc = sc_keys_write_all(fd, buf, n);
    }
    if (rc == SECCHAT_OK && fsync(fd) != 0)
        rc = SECCHAT_ERR_KEY_IO;
    int saved = errno;
    if (close(fd) != 0 && rc == SECCHAT_OK) {
        rc = SECCHAT_ERR_KEY_IO;
        saved = errno;
    }
    free(buf);
    errno = saved;
    /* A new file's directory entry must be durable too, or a crash can lose the whole file. */
    if (rc == SECCHAT_OK && created)
        rc = sc_keys_sync_parent(path);
    return rc;
}
