/*
 * known_servers lookups (secchat_known_servers_find) on arbitrary text,
 * compared with the reference reading of list_ref.h: same result, same
 * line, same stored key.
 *
 * Input: the first line is the server name looked up (cut at a NUL), the
 * rest is the file. The key the client saw is K below; its base64
 * (AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=) is in the seed corpus,
 * so the fuzzer reaches OK as well as CHANGED.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_common.h"
#include "fuzz/list_ref.h"

static uint8_t K[SECCHAT_KEY_LEN];

static int ref_find(const char *text, size_t len, const char *server, uint8_t stored[SECCHAT_KEY_LEN],
                    unsigned *line)
{
    size_t sl = strlen(server);
    *line = 0;
    memset(stored, 0, SECCHAT_KEY_LEN);
    if (sl == 0 || server[0] == '#' || !ref_printable(server, sl))
        return SECCHAT_ERR_INVALID_ARGUMENT;
    ref_reader r = {text, len, 0, 0};
    ref_line l;
    unsigned found = 0;
    uint8_t found_key[SECCHAT_KEY_LEN];
    while (ref_next(&r, &l)) {
        uint8_t k[SECCHAT_KEY_LEN];
        if (l.count != 2 || !ref_printable(l.field[0], l.len[0]) || ref_key(l.field[1], l.len[1], k) != 0) {
            *line = l.number;
            return SECCHAT_ERR_KEY_MALFORMED;
        }
        if (!found && l.len[0] == sl && memcmp(l.field[0], server, sl) == 0) {
            found = l.number;
            memcpy(found_key, k, SECCHAT_KEY_LEN);
        }
    }
    if (!found)
        return SECCHAT_ERR_KNOWN_SERVER_UNKNOWN;
    *line = found;
    memcpy(stored, found_key, SECCHAT_KEY_LEN);
    return memcmp(found_key, K, SECCHAT_KEY_LEN) == 0 ? SECCHAT_OK : SECCHAT_ERR_KNOWN_SERVER_CHANGED;
}

void fz_target_init(void)
{
    for (size_t i = 0; i < SECCHAT_KEY_LEN; i++)
        K[i] = (uint8_t)i;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t sl = nl ? (size_t)(nl - data) : size;
    char *server = malloc(sl + 1);
    FUZZ_CHECK(server != NULL);
    memcpy(server, data, sl);
    server[sl] = '\0';
    size_t tl = nl ? size - sl - 1 : 0;
    /* Exact size, no NUL: the file's bytes as read. */
    char *text = malloc(tl ? tl : 1);
    FUZZ_CHECK(text != NULL);
    if (tl)
        memcpy(text, nl + 1, tl);

    uint8_t stored[SECCHAT_KEY_LEN], want_stored[SECCHAT_KEY_LEN];
    unsigned line = 99, want_line;
    memset(stored, 0xa5, sizeof stored);
    int rc = secchat_known_servers_find(text, tl, server, K, stored, &line);
    int want = ref_find(text, tl, server, want_stored, &want_line);
    FUZZ_CHECK(rc == want);
    FUZZ_CHECK(line == want_line);
    if (rc == SECCHAT_OK || rc == SECCHAT_ERR_KNOWN_SERVER_CHANGED)
        FUZZ_CHECK(memcmp(stored, want_stored, SECCHAT_KEY_LEN) == 0);
    /* The optional outputs are optional. */
    FUZZ_CHECK(secchat_known_servers_find(text, tl, server, K, NULL, NULL) == rc);
    free(text);
    free(server);
    return 0;
}
