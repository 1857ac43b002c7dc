/*
 * Key files (secchat_key_parse) for all three types, on arbitrary text.
 * Checks beyond memory safety:
 *   - at most one type accepts a text; the other two then say WRONG_TYPE
 *     (line 1), and a text no type accepts gets the same MALFORMED and line
 *     from all three;
 *   - a refused text leaves the key buffer zeroed (no secret left behind);
 *   - an accepted text holds the canonical base64 of the key on line 2, and
 *     secchat_key_format of that key parses back to it;
 *   - secchat_key_from_base64 / secchat_key_to_base64 round-trip.
 * The text is copied to an exact-size buffer without a NUL, as a file's
 * bytes would be, so ASan flags any read past its end.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_common.h"

static const enum secchat_key_type types[3] = {SECCHAT_KEY_PSK, SECCHAT_KEY_PRIVATE, SECCHAT_KEY_PUBLIC};
static const char *const headers[3] = {SECCHAT_KEY_HEADER_PSK, SECCHAT_KEY_HEADER_PRIVATE, SECCHAT_KEY_HEADER_PUBLIC};

static int is_zero(const uint8_t *k)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < SECCHAT_KEY_LEN; i++)
        acc |= k[i];
    return acc == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    FUZZ_CHECK(text != NULL);
    if (size)
        memcpy(text, data, size);

    int rc[3], ok = -1;
    unsigned line[3];
    uint8_t key[3][SECCHAT_KEY_LEN];
    for (int i = 0; i < 3; i++) {
        memset(key[i], 0xa5, SECCHAT_KEY_LEN);
        rc[i] = secchat_key_parse(types[i], text, size, key[i], &line[i]);
        if (rc[i] == SECCHAT_OK) {
            FUZZ_CHECK(ok < 0);
            ok = i;
        } else {
            FUZZ_CHECK(is_zero(key[i]));
            FUZZ_CHECK(rc[i] == SECCHAT_ERR_KEY_MALFORMED || rc[i] == SECCHAT_ERR_KEY_WRONG_TYPE);
            FUZZ_CHECK(line[i] >= 1 && line[i] <= 3);
        }
    }
    if (ok < 0) {
        FUZZ_CHECK(rc[0] == SECCHAT_ERR_KEY_MALFORMED && rc[1] == rc[0] && rc[2] == rc[0]);
        FUZZ_CHECK(line[1] == line[0] && line[2] == line[0]);
    } else {
        for (int i = 0; i < 3; i++)
            if (i != ok)
                FUZZ_CHECK(rc[i] == SECCHAT_ERR_KEY_WRONG_TYPE && line[i] == 1);
        /* Line 2 is the canonical base64 of the key. */
        size_t hl = strlen(headers[ok]);
        FUZZ_CHECK(size >= hl + 1 + SECCHAT_KEY_BASE64_LEN && memcmp(text, headers[ok], hl) == 0);
        size_t at = hl + (text[hl] == '\r' ? 2 : 1);
        char b64[SECCHAT_KEY_BASE64_LEN + 1];
        FUZZ_CHECK(secchat_key_to_base64(key[ok], b64) == SECCHAT_OK);
        FUZZ_CHECK(at + SECCHAT_KEY_BASE64_LEN <= size);
        FUZZ_CHECK(fz_lenient() || memcmp(text + at, b64, SECCHAT_KEY_BASE64_LEN) == 0);
        /* ... and at most a line end follows it. */
        size_t rest = size - at - SECCHAT_KEY_BASE64_LEN;
        FUZZ_CHECK(rest == 0 || (rest == 1 && text[size - 1] == '\n') ||
                   (rest == 2 && text[size - 2] == '\r' && text[size - 1] == '\n'));
        char out[SECCHAT_KEY_FILE_MAX + 1];
        size_t olen = 0;
        FUZZ_CHECK(secchat_key_format(types[ok], key[ok], out, sizeof out, &olen) == SECCHAT_OK);
        FUZZ_CHECK(olen <= SECCHAT_KEY_FILE_MAX && out[olen] == '\0');
        uint8_t again[SECCHAT_KEY_LEN];
        FUZZ_CHECK(secchat_key_parse(types[ok], out, olen, again, NULL) == SECCHAT_OK);
        FUZZ_CHECK(memcmp(again, key[ok], SECCHAT_KEY_LEN) == 0);
        FUZZ_CHECK(secchat_key_format(types[ok], key[ok], out, olen - 1, &olen) == SECCHAT_ERR_BUFFER_TOO_SMALL);
    }

    /* The bare base64 form, on the text as a C string. */
    char *str = malloc(size + 1);
    FUZZ_CHECK(str != NULL);
    if (size)
        memcpy(str, data, size);
    str[size] = '\0';
    uint8_t k[SECCHAT_KEY_LEN];
    if (secchat_key_from_base64(str, k) == SECCHAT_OK) {
        char b64[SECCHAT_KEY_BASE64_LEN + 1];
        FUZZ_CHECK(strlen(str) == SECCHAT_KEY_BASE64_LEN);
        FUZZ_CHECK(secchat_key_to_base64(k, b64) == SECCHAT_OK);
        FUZZ_CHECK(fz_lenient() || strcmp(b64, str) == 0);
    } else {
        FUZZ_CHECK(is_zero(k));
    }
    (void)secchat_fingerprint_matches(k, str);
    char fp[SECCHAT_FINGERPRINT_SIZE];
    FUZZ_CHECK(secchat_fingerprint(k, fp) == SECCHAT_OK && secchat_fingerprint_matches(k, fp) == 1);
    free(str);
    free(text);
    return 0;
}
