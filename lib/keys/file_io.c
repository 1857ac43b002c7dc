/* Bounded whole-file reads and atomic replacement for the keys module (file_io.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/internal.h"
#include "keys/file_io.h"

/* Random bytes in a temporary file's name: enough that two writers never pick the same one. */
#define TEMP_RANDOM_LEN ((size_t)8)
/* O_EXCL collisions tolerated before giving up (only a hostile directory gets there). */
#define TEMP_ATTEMPTS 16

int sc_keys_next_line(const char *text, size_t len, size_t *pos, size_t *n)
{
    const char *start = text + *pos;
    const char *nl = memchr(start, '\n', len - *pos);
    if (nl == NULL) {
        *n = len - *pos;
        *pos = len;
        return 0;
    }
    size_t content = (size_t)(nl - start);
    *pos += content + 1;
    if (content > 0 && start[content - 1] == '\r')
        content--;
    *n = content;
    return 1;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

size_t sc_keys_split_fields(const char *line, size_t n, const char **field, size_t *field_len, size_t max)
{
    size_t i = 0, count = 0;
    while (i < n && is_blank(line[i]))
        i++;
    if (i < n && line[i] == '#')
        return 0;
    while (i < n) {
        size_t start = i;
        while (i < n && !is_blank(line[i]))
            i++;
        if (count == max)
            return max + 1;
        field[count] = line + start;
        field_len[count] = i - start;
        count++;
        while (i < n && is_blank(line[i]))
            i++;
    }
    return count;
}

int sc_keys_printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7f)
            return 0;
    }
    return 1;
}

int sc_keys_read_fd(int fd, char *buf, size_t cap, size_t *len)
{
    size_t got = 0;
    while (got < cap) {
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            *len = got;
            return SECCHAT_ERR_KEY_IO;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    *len = got;
    return SECCHAT_OK;
}

/* close() that keeps the errno of an earlier failure, for the error paths. */
static void close_keep_errno(int fd)
{
    int saved = errno;
    (void)close(fd);
    errno = saved;
}

int sc_keys_read_file(const char *path, size_t max, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    /* No O_NONBLOCK: a FIFO or process substitution (<(cmd)) is read like cat would. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return SECCHAT_ERR_KEY_IO;

    /* Grow from a small buffer: most lists are a few lines, the limit is 1 MiB. */
    size_t cap = 4096;
    if (cap > max + 1)
        cap = max + 1;
    char *buf = malloc(cap + 1);
    if (buf == NULL) {
        (void)close(fd);
        return SECCHAT_ERR_NO_MEMORY;
    }
    size_t used = 0;
    int rc = SECCHAT_OK;
    for (;;) {
        size_t n;
        rc = sc_keys_read_fd(fd, buf + used, cap - used, &n);
        used += n;
        if (rc != SECCHAT_OK || used < cap)
            break; /* error or end of file */
        if (used > max) {
            rc = SECCHAT_ERR_KEY_MALFORMED;
            break;
        }
        size_t next = cap > (max + 1) / 2 ? max + 1 : cap * 2;
        char *grown = realloc(buf, next + 1);
        if (grown == NULL) {
            rc = SECCHAT_ERR_NO_MEMORY;
            break;
        }
        buf = grown;
        cap = next;
    }
    if (rc != SECCHAT_OK) {
        int saved = errno;
        free(buf);
        (void)close(fd);
        errno = saved;
        return rc;
    }
    (void)close(fd); /* read-only: nothing can be lost */
    buf[used] = '\0';
    *out = buf;
    *len = used;
    return SECCHAT_OK;
}

int sc_keys_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return SECCHAT_ERR_KEY_IO;
        }
        p += n;
        len -= (size_t)n;
    }
    return SECCHAT_OK;
}

/* The directory part of path ("." when there is none) in a new string. */
static char *parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return strdup(".");
    size_t n = slash == path ? 1 : (size_t)(slash - path); /* "/name" lives in "/" */
    char *dir = malloc(n + 1);
    if (dir != NULL) {
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    return dir;
}

int sc_keys_sync_parent(const char *path)
{
    char *dir = parent_dir(path);
    if (dir == NULL)
        return SECCHAT_ERR_NO_MEMORY;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int saved = errno;
    free(dir);
    errno = saved;
    if (fd < 0)
        return SECCHAT_ERR_KEY_IO;
    int rc = SECCHAT_OK;
    /* EINVAL: the file system cannot sync directories; nothing more can be done there. */
    if (fsync(fd) != 0 && errno != EINVAL)
        rc = SECCHAT_ERR_KEY_IO;
    if (rc == SECCHAT_OK)
        (void)close(fd);
    else
        close_keep_errno(fd);
    return rc;
}

/*
 * Creates "<dir>/.<name>.<16 hex digits>.tmp" next to path with O_EXCL and
 * mode. The name is random rather than fixed so that concurrent writers (and
 * a stale file from a crash) never make each other fail; the leading dot
 * keeps it out of ls while it exists. *tmp gets the name (free() it).
 */
static int create_temp(const char *path, mode_t mode, char **tmp, int *fd_out)
{
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash == NULL ? 0 : (size_t)(slash - path) + 1; /* with the '/' */
    const char *name = path + dir_len;
    size_t name_len = strlen(name);
    size_t cap = dir_len + 1 + name_len + 1 + TEMP_RANDOM_LEN * 2 + sizeof ".tmp";
    char *t = malloc(cap);
    if (t == NULL)
        return SECCHAT_ERR_NO_MEMORY;

    for (int attempt = 0; attempt < TEMP_ATTEMPTS; attempt++) {
        uint8_t rnd[TEMP_RANDOM_LEN];
        char hex[TEMP_RANDOM_LEN * 2 + 1];
        randombytes_buf(rnd, sizeof rnd);
        sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
        memcpy(t, path, dir_len);
        char *p = t + dir_len;
        *p++ = '.';
        memcpy(p, name, name_len);
        p += name_len;
        *p++ = '.';
        memcpy(p, hex, TEMP_RANDOM_LEN * 2);
        p += TEMP_RANDOM_LEN * 2;
        memcpy(p, ".tmp", sizeof ".tmp");

        int fd = open(t, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, mode);
        if (fd >= 0) {
            *tmp = t;
            *fd_out = fd;
            return SECCHAT_OK;
        }
        if (errno != EEXIST)
            break;
    }
    int saved = errno;
    free(t);
    errno = saved;
    return SECCHAT_ERR_KEY_IO;
}

/*
 * Publishes the finished temporary file under path. Without overwrite it is
 * hard-linked: link() fails with EEXIST atomically when path exists, so a
 * file that appears between any check and the write is never replaced.
 * renameat2(RENAME_NOREPLACE) would do the same but is Linux-only, and a
 * check-then-rename has a window. The price is that file systems without
 * hard links (FAT, some network mounts) get KEY_IO there. With overwrite,
 * rename() replaces path atomically.
 */
static int publish(const char *tmp, const char *path, int overwrite)
{
    if (overwrite)
        return rename(tmp, path) == 0 ? SECCHAT_OK : SECCHAT_ERR_KEY_IO;
    if (link(tmp, path) != 0)
        return errno == EEXIST ? SECCHAT_ERR_KEY_EXISTS : SECCHAT_ERR_KEY_IO;
    /* The key now has two names; the temporary one must go, or a copy of a secret lingers. */
    return unlink(tmp) == 0 ? SECCHAT_OK : SECCHAT_ERR_KEY_IO;
}

int sc_keys_write_atomic(const char *path, const void *data, size_t len, mode_t mode, int overwrite)
{
    size_t path_len = strlen(path);
    if (path_len == 0 || path[path_len - 1] == '/')
        return SECCHAT_ERR_INVALID_ARGUMENT; /* names a directory, not a file */
    /* libsodium gives the temporary name's random bytes. */
    int rc = sc_crypto_init();
    if (rc != SECCHAT_OK)
        return rc;

    char *tmp = NULL;
    int fd = -1;
    rc = create_temp(path, mode, &tmp, &fd);
    if (rc != SECCHAT_OK)
        return rc;

    rc = sc_keys_write_all(fd, data, len);
    if (rc == SECCHAT_OK && fsync(fd) != 0)
        rc = SECCHAT_ERR_KEY_IO;
    if (rc == SECCHAT_OK) {
        /* close() can report a delayed write error (NFS): it must be checked before publishing. */
        rc = close(fd) == 0 ? SECCHAT_OK : SECCHAT_ERR_KEY_IO;
    } else {
        close_keep_errno(fd);
    }
    if (rc == SECCHAT_OK)
        rc = publish(tmp, path, overwrite);
    if (rc != SECCHAT_OK) {
        /* Whatever failed (the rename or link, or the unlink after a link), the temporary name goes. */
        int saved = errno;
        (void)unlink(tmp);
        free(tmp);
        errno = saved;
        return rc;
    }
    free(tmp);
    /* Make the new name itself durable; without this a crash may lose the rename. If only this
     * fails, the new file is in place but KEY_IO is returned: the caller cannot count on it. */
    return sc_keys_sync_parent(path);
}
