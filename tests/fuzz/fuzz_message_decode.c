/*
 * The JSON message codec (lib/chat/message.c, json_fast.c).
 *
 * The input is a message as received. Checks:
 *   1. round trip: whatever decodes re-encodes, and that decodes to the same
 *      fields; encoding that again gives the same bytes (the encoding is
 *      canonical);
 *   2. fast path vs jansson: message.h promises that the fast path, when it
 *      answers at all (anything but SC_JSON_FALLBACK), gives the answer
 *      jansson's path would; the jansson path is rebuilt here from the
 *      rules of message.h and compared;
 *   3. scratch bounds: scratch is allocated to the exact size so ASan sees
 *      any write past it; one byte less must be refused;
 *   4. the encoder on arbitrary strings: the input (if it is valid UTF-8
 *      without NUL) as content, sender and room must encode and come back
 *      unchanged.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "chat/json_fast.h"
#include "fuzz/fuzz_common.h"

static int same_str(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

static int same_msg(const secchat_message *a, const secchat_message *b)
{
    return same_str(a->sender, b->sender) && same_str(a->content, b->content) && same_str(a->type, b->type) &&
           same_str(a->room, b->room) && same_str(a->to, b->to) && a->has_ts == b->has_ts &&
           (!a->has_ts || a->ts == b->ts) && a->content_len == b->content_len;
}

/* Encodes m into a new exact-size buffer; NULL when encode refuses (its code in *rc). */
static uint8_t *encode(const secchat_message *m, size_t *len, int *rc)
{
    size_t need = 0;
    *rc = secchat_message_encode(m, NULL, 0, &need);
    if (*rc != SECCHAT_ERR_BUFFER_TOO_SMALL)
        return NULL;
    FUZZ_CHECK(need > 0 && need <= SECCHAT_MESSAGE_MAX);
    uint8_t *buf = malloc(need);
    FUZZ_CHECK(buf != NULL);
    if (need > 1)
        FUZZ_CHECK(secchat_message_encode(m, buf, need - 1, len) == SECCHAT_ERR_BUFFER_TOO_SMALL);
    *rc = secchat_message_encode(m, buf, need, len);
    FUZZ_CHECK(*rc == SECCHAT_OK && *len == need);
    return buf;
}

/* Decodes into an exact-size scratch (owned by the caller afterwards). */
static int decode(secchat_message *m, char **scratch, const uint8_t *json, size_t len)
{
    *scratch = malloc(SECCHAT_MESSAGE_SCRATCH(len));
    FUZZ_CHECK(*scratch != NULL);
    return secchat_message_decode(m, *scratch, SECCHAT_MESSAGE_SCRATCH(len), json, len);
}

static void round_trip(const secchat_message *m)
{
    size_t len = 0;
    int rc;
    uint8_t *buf = encode(m, &len, &rc);
    if (buf == NULL) {
        /* Decoded fields are valid UTF-8: only their size can stop the encoder. */
        FUZZ_CHECK(rc == SECCHAT_ERR_MESSAGE_TOO_LARGE);
        return;
    }
    secchat_message back;
    char *scratch;
    FUZZ_CHECK(decode(&back, &scratch, buf, len) == SECCHAT_OK);
    FUZZ_CHECK(same_msg(m, &back));
    size_t len2 = 0;
    uint8_t *buf2 = encode(&back, &len2, &rc);
    FUZZ_CHECK(buf2 != NULL && len2 == len && memcmp(buf, buf2, len) == 0);
    free(buf2);
    free(scratch);
    free(buf);
}

/* ---- the jansson path, from the rules of message.h ---- */

static int jansson_error(const json_error_t *err)
{
    switch (json_error_code(err)) {
    case json_error_duplicate_key:
        return SECCHAT_ERR_MESSAGE_DUPLICATE;
    case json_error_null_character:
    case json_error_null_byte_in_key:
        return SECCHAT_ERR_MESSAGE_NUL;
    case json_error_out_of_memory:
        return SECCHAT_ERR_NO_MEMORY;
    default:
        return SECCHAT_ERR_MESSAGE_JSON;
    }
}

/* Returns the code and, on success, compares the fields with fast's. */
static int jansson_decode(const uint8_t *json, size_t len, const secchat_message *fast, int fast_ok)
{
    const uint8_t *nul = memchr(json, 0, len);
    json_error_t err;
    json_t *root = json_loadb((const char *)json, nul ? (size_t)(nul - json) : len, JSON_REJECT_DUPLICATES, &err);
    if (root == NULL)
        return jansson_error(&err);
    int rc = SECCHAT_OK;
    static const char *const names[4] = {"sender", "type", "room", "to"};
    json_t *content = json_object_get(root, "content"), *ts = json_object_get(root, "ts"), *opt[4];
    if (nul != NULL)
        rc = SECCHAT_ERR_MESSAGE_JSON;
    else if (!json_is_object(root))
        rc = SECCHAT_ERR_MESSAGE_NOT_OBJECT;
    else if (!json_is_string(content))
        rc = SECCHAT_ERR_MESSAGE_NO_CONTENT;
    for (int i = 0; i < 4 && rc == SECCHAT_OK; i++) {
        opt[i] = json_object_get(root, names[i]);
        if (json_is_null(opt[i]))
            opt[i] = NULL;
        if (opt[i] != NULL && !json_is_string(opt[i]))
            rc = SECCHAT_ERR_MESSAGE_FIELD_TYPE;
    }
    if (rc == SECCHAT_OK && ts != NULL && !json_is_null(ts) && !json_is_integer(ts))
        rc = SECCHAT_ERR_MESSAGE_FIELD_TYPE;
    if (rc == SECCHAT_OK && fast_ok) {
        FUZZ_CHECK(json_string_length(content) == fast->content_len &&
                   memcmp(json_string_value(content), fast->content, fast->content_len) == 0);
        FUZZ_CHECK(same_str(opt[0] ? json_string_value(opt[0]) : "", fast->sender));
        FUZZ_CHECK(same_str(opt[1] ? json_string_value(opt[1]) : NULL, fast->type));
        FUZZ_CHECK(same_str(opt[2] ? json_string_value(opt[2]) : NULL, fast->room));
        FUZZ_CHECK(same_str(opt[3] ? json_string_value(opt[3]) : NULL, fast->to));
        int has_ts = ts != NULL && json_is_integer(ts);
        FUZZ_CHECK(has_ts == fast->has_ts && (!has_ts || json_integer_value(ts) == fast->ts));
    }
    json_decref(root);
    return rc;
}

/* ---- the encoder on arbitrary strings ---- */

static void encode_strings(const uint8_t *data, size_t size)
{
    if (memchr(data, 0, size) != NULL)
        return;
    char *s = malloc(size + 1);
    FUZZ_CHECK(s != NULL);
    memcpy(s, data, size);
    s[size] = '\0';
    int valid = secchat_utf8_valid(data, size);
    secchat_message m = {.sender = s, .content = s, .room = s, .ts = (int64_t)size - 5,
                         .has_ts = (int)(size & 1)};
    size_t len = 0;
    int rc;
    uint8_t *buf = encode(&m, &len, &rc);
    if (!valid) {
        FUZZ_CHECK(buf == NULL && rc == SECCHAT_ERR_MESSAGE_UTF8);
    } else if (buf == NULL) {
        FUZZ_CHECK(rc == SECCHAT_ERR_MESSAGE_TOO_LARGE);
    } else {
        secchat_message back;
        char *scratch;
        FUZZ_CHECK(decode(&back, &scratch, buf, len) == SECCHAT_OK);
        m.content_len = size;
        FUZZ_CHECK(same_msg(&m, &back));
        free(scratch);
    }
    free(buf);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A private copy: ASan then flags any read past the input's end. */
    uint8_t *json = malloc(size ? size : 1);
    FUZZ_CHECK(json != NULL);
    if (size)
        memcpy(json, data, size);

    secchat_message m;
    char *scratch;
    int rc = decode(&m, &scratch, json, size);
    if (rc == SECCHAT_OK) {
        FUZZ_CHECK(m.sender != NULL && m.content != NULL && strlen(m.content) == m.content_len);
        FUZZ_CHECK(secchat_utf8_valid((const uint8_t *)m.content, m.content_len));
        round_trip(&m);
    } else {
        FUZZ_CHECK(m.content == NULL && m.sender == NULL && m.has_ts == 0);
    }
    /* One byte of scratch too few is refused before anything is read. */
    secchat_message small;
    FUZZ_CHECK(secchat_message_decode(&small, scratch, size, json, size) == SECCHAT_ERR_BUFFER_TOO_SMALL);
    free(scratch);

    /* Fast path against jansson, on inputs the decoder gets that far with. */
    size_t i = 0;
    while (i < size && (json[i] == ' ' || json[i] == '\n' || json[i] == '\r' || json[i] == '\t'))
        i++;
    if (i < size && json[i] == '{' && secchat_utf8_valid(json, size)) {
        secchat_message fm;
        memset(&fm, 0, sizeof fm);
        char *fs = malloc(size + 1);
        FUZZ_CHECK(fs != NULL);
        int frc = sc_json_decode_fast(&fm, fs, json, size);
        if (frc != SC_JSON_FALLBACK) {
            int jrc = jansson_decode(json, size, &fm, frc == SECCHAT_OK);
            if (jrc != frc)
                fuzz_fail(__FILE__, __LINE__, "fast path and jansson disagree");
            FUZZ_CHECK(frc == rc); /* and the public call gave that answer */
        }
        free(fs);
    }

    encode_strings(json, size);
    free(json);
    return 0;
}
