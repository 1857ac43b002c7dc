/*
 * The server's allow-list (secchat_authorized_keys_parse, _count, _check) on
 * arbitrary text, compared with the reference reading of list_ref.h: the
 * same verdict and line, the same number of entries, and every listed key
 * found by _check with the name its line gives (or NULL); a key not listed
 * is refused.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_common.h"
#include "fuzz/list_ref.h"

#define MAX_ENTRIES 4096

typedef struct ref_entry {
    uint8_t key[SECCHAT_KEY_LEN];
    unsigned line;
    const char *name;
    size_t name_len;
} ref_entry;

static ref_entry entries[MAX_ENTRIES];

/* docs/keys.md: 1 to 32 bytes of UTF-8 without whitespace or control characters (C1 included). */
static int ref_name(const char *s, size_t n)
{
    if (n == 0 || n > 32 || !ref_printable(s, n) || !secchat_utf8_valid((const uint8_t *)s, n))
        return 0;
    for (size_t i = 0; i + 1 < n; i++)
        if ((unsigned char)s[i] == 0xC2 && (unsigned char)s[i + 1] <= 0x9F)
            return 0;
    return 1;
}

static int ref_parse(const char *text, size_t len, size_t *count, unsigned *line)
{
    ref_reader r = {text, len, 0, 0};
    ref_line l;
    *count = 0;
    *line = 0;
    while (ref_next(&r, &l)) {
        ref_entry *e = &entries[*count];
        if (l.count > 2 || ref_key(l.field[0], l.len[0], e->key) != 0 ||
            (l.count == 2 && !ref_name(l.field[1], l.len[1]))) {
            *line = l.number;
            return SECCHAT_ERR_KEY_MALFORMED;
        }
        e->line = l.number;
        e->name = l.count == 2 ? l.field[1] : NULL;
        e->name_len = l.count == 2 ? l.len[1] : 0;
        if (++*count == MAX_ENTRIES)
            return -1; /* beyond what this target checks */
    }
    /* A key listed twice: the line of the first repeat. */
    for (size_t i = 1; i < *count; i++)
        for (size_t j = 0; j < i; j++)
            if (memcmp(entries[i].key, entries[j].key, SECCHAT_KEY_LEN) == 0) {
                *line = entries[i].line;
                return SECCHAT_ERR_KEY_MALFORMED;
            }
    return SECCHAT_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    FUZZ_CHECK(text != NULL);
    if (size)
        memcpy(text, data, size);
    secchat_authorized_keys *keys = NULL;
    unsigned line = 99, want_line;
    size_t want_count;
    int rc = secchat_authorized_keys_parse(&keys, text, size, &line);
    int want = ref_parse(text, size, &want_count, &want_line);
    if (want == -1) {
        secchat_authorized_keys_free(keys);
        free(text);
        return 0;
    }
    FUZZ_CHECK(rc == want);
    FUZZ_CHECK(line == want_line);
    if (rc != SECCHAT_OK) {
        FUZZ_CHECK(keys == NULL);
    } else {
        FUZZ_CHECK(keys != NULL && secchat_authorized_keys_count(keys) == want_count);
        for (size_t i = 0; i < want_count; i++) {
            const char *name = (const char *)1;
            FUZZ_CHECK(secchat_authorized_keys_check(keys, entries[i].key, &name) == SECCHAT_OK);
            if (entries[i].name == NULL)
                FUZZ_CHECK(name == NULL);
            else
                FUZZ_CHECK(name != NULL && strlen(name) == entries[i].name_len &&
                           memcmp(name, entries[i].name, entries[i].name_len) == 0);
        }
        /* A key that is not listed (one bit off the first listed one, or all zeros). */
        uint8_t other[SECCHAT_KEY_LEN] = {0};
        if (want_count > 0) {
            memcpy(other, entries[0].key, SECCHAT_KEY_LEN);
            other[0] ^= 1;
        }
        int listed = 0;
        for (size_t i = 0; i < want_count; i++)
            listed |= memcmp(entries[i].key, other, SECCHAT_KEY_LEN) == 0;
        const char *name = (const char *)1;
        FUZZ_CHECK(secchat_authorized_keys_check(keys, other, &name) ==
                   (listed ? SECCHAT_OK : SECCHAT_ERR_KEY_NOT_AUTHORIZED));
        if (!listed)
            FUZZ_CHECK(name == NULL);
    }
    secchat_authorized_keys_free(keys);
    free(text);
    return 0;
}
