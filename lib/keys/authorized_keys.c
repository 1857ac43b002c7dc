/*
 * The server's allow-list of client keys: "<base64 key>" or
 * "<base64 key> <name>" per line, '#' comments and blank lines skipped.
 * Parsed once into an immutable array, so checks need no lock.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/internal.h"
#include "keys/file_io.h"
#include "secchat/keys.h"
#include "secchat/message.h"

/* Longest name a line may require (bytes). */
#define NAME_MAX_BYTES 32u

typedef struct entry {
    uint8_t key[SECCHAT_KEY_LEN];
    int has_name;
    char name[NAME_MAX_BYTES + 1];
} entry;

struct secchat_authorized_keys {
    size_t count;
    entry *entries;
};

/*
 * A name a client could send: 1..32 bytes of UTF-8 without whitespace or
 * control characters (C0, DEL, and C1 such as U+0085 NEXT LINE), since the
 * name is shown to other users and must match byte for byte.
 */
static int valid_name(const char *s, size_t n)
{
    if (n == 0 || n > NAME_MAX_BYTES || !sc_keys_printable(s, n) || !secchat_utf8_valid((const uint8_t *)s, n))
        return 0;
    for (size_t i = 0; i + 1 < n; i++) {
        /* U+0080..U+009F are C2 80..C2 9F; valid UTF-8 puts no C2 byte in a continuation. */
        if ((unsigned char)s[i] == 0xC2 && (unsigned char)s[i + 1] <= 0x9F)
            return 0;
    }
    return 1;
}

/* A key and the line it came from, sorted to find duplicates in n log n rather than n^2 compares. */
typedef struct seen {
    const uint8_t *key;
    unsigned line;
} seen;

static int compare_seen(const void *a, const void *b)
{
    const seen *x = a, *y = b;
    /* memcmp, not sodium_memcmp: an order is needed, and the keys of an allow-list are public. */
    int c = memcmp(x->key, y->key, SECCHAT_KEY_LEN);
    if (c != 0)
        return c;
    return x->line < y->line ? -1 : x->line > y->line;
}

/*
 * The line of the earliest second occurrence of any key (0 if every key is
 * there once). Sorted by key then line, every entry equal to the one before
 * it is a repeat, and the earliest repeat of all is a second occurrence.
 */
static int first_duplicate(const entry *e, const unsigned *lines, size_t count, unsigned *dup_line)
{
    *dup_line = 0;
    if (count < 2)
        return SECCHAT_OK;
    seen *s = malloc(count * sizeof *s);
    if (s == NULL)
        return SECCHAT_ERR_NO_MEMORY;
    for (size_t i = 0; i < count; i++) {
        s[i].key = e[i].key;
        s[i].line = lines[i];
    }
    qsort(s, count, sizeof *s, compare_seen);
    for (size_t i = 1; i < count; i++) {
        if (memcmp(s[i - 1].key, s[i].key, SECCHAT_KEY_LEN) == 0 && (*dup_line == 0 || s[i].line < *dup_line))
            *dup_line = s[i].line;
    }
    free(s);
    return SECCHAT_OK;
}

/* Appends an entry, doubling the arrays as needed. */
static int push(secchat_authorized_keys *keys, unsigned **lines, size_t *cap, const entry *e, unsigned line)
{
    if (keys->count == *cap) {
        size_t next = *cap == 0 ? 16 : *cap * 2;
        if (next > SIZE_MAX / sizeof(entry))
            return SECCHAT_ERR_NO_MEMORY;
        entry *grown = realloc(keys->entries, next * sizeof *grown);
        if (grown == NULL)
            return SECCHAT_ERR_NO_MEMORY;
        keys->entries = grown;
        unsigned *grown_lines = realloc(*lines, next * sizeof *grown_lines);
        if (grown_lines == NULL)
            return SECCHAT_ERR_NO_MEMORY;
        *lines = grown_lines;
        *cap = next;
    }
    keys->entries[keys->count] = *e;
    (*lines)[keys->count] = line;
    keys->count++;
    return SECCHAT_OK;
}

/* Parses every line into keys; *line gets the offending line on KEY_MALFORMED. */
static int parse_lines(secchat_authorized_keys *keys, const char *text, size_t len, unsigned *line)
{
    unsigned *lines = NULL; /* the line of each entry, for the duplicate report */
    size_t cap = 0;
    unsigned lineno = 0;
    size_t pos = 0;
    int rc = SECCHAT_OK;
    while (pos < len && rc == SECCHAT_OK) {
        const char *l = text + pos;
        size_t n;
        (void)sc_keys_next_line(text, len, &pos, &n);
        lineno++;
        const char *f[2];
        size_t fl[2];
        size_t count = sc_keys_split_fields(l, n, f, fl, 2);
        if (count == 0)
            continue; /* blank or comment */
        entry e;
        memset(&e, 0, sizeof e);
        if (count > 2 || sc_keys_decode_base64(f[0], fl[0], e.key) != SECCHAT_OK ||
            (count == 2 && !valid_name(f[1], fl[1]))) {
            *line = lineno;
            rc = SECCHAT_ERR_KEY_MALFORMED;
            break;
        }
        if (count == 2) {
            e.has_name = 1;
            memcpy(e.name, f[1], fl[1]);
        }
        rc = push(keys, &lines, &cap, &e, lineno);
    }
    unsigned dup = 0;
    if (rc == SECCHAT_OK)
        rc = first_duplicate(keys->entries, lines, keys->count, &dup);
    if (rc == SECCHAT_OK && dup != 0) {
        /* Two lines for one key would let the order decide which name applies: refused. */
        *line = dup;
        rc = SECCHAT_ERR_KEY_MALFORMED;
    }
    free(lines);
    return rc;
}

SECCHAT_API int secchat_authorized_keys_parse(secchat_authorized_keys **out, const char *text, size_t len,
                                              unsigned *line)
{
    unsigned dummy;
    if (line == NULL)
        line = &dummy;
    *line = 0;
    if (out == NULL)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (text == NULL)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    int rc = sc_crypto_init();
    if (rc != SECCHAT_OK)
        return rc;
    secchat_authorized_keys *keys = calloc(1, sizeof *keys);
    if (keys == NULL)
        return SECCHAT_ERR_NO_MEMORY;
    rc = parse_lines(keys, text, len, line);
    if (rc != SECCHAT_OK) {
        secchat_authorized_keys_free(keys);
        return rc;
    }
    *out = keys;
    return SECCHAT_OK;
}

SECCHAT_API int secchat_authorized_keys_load(secchat_authorized_keys **out, const char *path, unsigned *line)
{
    if (line != NULL)
        *line = 0;
    if (out == NULL)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (path == NULL)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    char *text = NULL;
    size_t len = 0;
    /* Unlike known_servers, a missing file is an error (KEY_IO, errno ENOENT): a server told to admit
     * only listed keys must not start admitting none, or all, because of a typo in the path. */
    int rc = sc_keys_read_file(path, SECCHAT_KEY_LIST_MAX, &text, &len);
    if (rc != SECCHAT_OK)
        return rc;
    rc = secchat_authorized_keys_parse(out, text, len, line);
    free(text);
    return rc;
}

SECCHAT_API void secchat_authorized_keys_free(secchat_authorized_keys *keys)
{
    if (keys == NULL)
        return;
    free(keys->entries);
    free(keys);
}

SECCHAT_API size_t secchat_authorized_keys_count(const secchat_authorized_keys *keys)
{
    return keys == NULL ? 0 : keys->count;
}

SECCHAT_API int secchat_authorized_keys_check(const secchat_authorized_keys *keys,
                                              const uint8_t public_key[SECCHAT_KEY_LEN], const char **name)
{
    if (name != NULL)
        *name = NULL;
    if (keys == NULL || public_key == NULL)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    /*
     * Every entry is compared, in constant time each, whether or not an
     * earlier one matched: the time taken tells nothing about where, or
     * whether, the key is listed. Read-only, hence safe from many threads.
     */
    const entry *match = NULL;
    for (size_t i = 0; i < keys->count; i++) {
        if (sodium_memcmp(keys->entries[i].key, public_key, SECCHAT_KEY_LEN) == 0 && match == NULL)
            match = &keys->entries[i];
    }
    if (match == NULL)
        return SECCHAT_ERR_KEY_NOT_AUTHORIZED;
    if (name != NULL)
        *name = match->has_name ? match->name : NULL;
    return SECCHAT_OK;
}
