/*
 * libsecchat application messages: the JSON objects carried in transport
 * messages (PROTOCOL.md of the project: docs/protocol.md).
 *
 *     {"sender":"Alice","content":"Hello"}
 *     {"sender":"Alice","content":"Hello","type":"chat","room":"lobby","ts":1700000000000}
 *
 * Encoding is compact, "sender" then "content", then the optional fields in
 * the order type, room, to, ts, each only when set. Strings are escaped the
 * way the original program's serializer does it (\" \\ \b \f \n \r \t, other
 * control characters as \u00xx in lowercase hex, everything else raw UTF-8),
 * so Part-1 messages are byte-identical to the original's.
 *
 * Decoding accepts any JSON object with a string "content"; unknown members
 * are ignored, "sender" defaults to "", null counts as absent for the
 * optional fields. Strings must be valid UTF-8 without U+0000, and no member
 * may appear twice. Errors are reported in this order: invalid UTF-8
 * anywhere, then a first non-blank byte other than '{' (NOT_OBJECT), then
 * the first problem in document order. Thread-safe, no global state; the
 * common shape is decoded without allocating, anything else by jansson.
 */
#ifndef SECCHAT_MESSAGE_H
#define SECCHAT_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest encoded message: the largest Noise transport plaintext. */
#define SECCHAT_MESSAGE_MAX 65519u

/* Scratch that secchat_message_decode needs for an input of json_len bytes. */
#define SECCHAT_MESSAGE_SCRATCH(json_len) ((json_len) + 1u)

typedef struct secchat_message {
    const char *sender;  /* encode: NULL means ""; decode: never NULL */
    const char *content; /* required */
    const char *type;    /* optional, NULL when absent: chat, dm, join, leave, system, error */
    const char *room;    /* optional */
    const char *to;      /* optional */
    int64_t ts;          /* optional Unix time in milliseconds, when has_ts */
    int has_ts;
    size_t content_len; /* decode: strlen(content); ignored by encode */
} secchat_message;

/*
 * Writes msg as compact JSON into out (no NUL). *out_len receives the length,
 * or on BUFFER_TOO_SMALL the length needed (out NULL with cap 0 asks just
 * that). Strings must be valid UTF-8. On error out's contents are unspecified.
 * Errors: INVALID_ARGUMENT (msg or content NULL), MESSAGE_UTF8,
 * MESSAGE_TOO_LARGE (over SECCHAT_MESSAGE_MAX), BUFFER_TOO_SMALL.
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_message_encode(const secchat_message *msg, uint8_t *out, size_t cap,
                                                           size_t *out_len);

/*
 * Parses json_len bytes of JSON into msg. The strings are unescaped into
 * scratch (at least SECCHAT_MESSAGE_SCRATCH(json_len) bytes, not overlapping
 * json) and msg points into it, so scratch must outlive msg. On error msg is
 * zeroed. \u0000 in any string (keys and ignored members too) is
 * MESSAGE_NUL; a raw NUL byte is MESSAGE_JSON.
 * Errors: INVALID_ARGUMENT, BUFFER_TOO_SMALL (scratch), MESSAGE_UTF8,
 * MESSAGE_JSON, MESSAGE_NOT_OBJECT, MESSAGE_NO_CONTENT, MESSAGE_FIELD_TYPE,
 * MESSAGE_NUL, MESSAGE_DUPLICATE, NO_MEMORY (jansson's path).
 */
SECCHAT_API SECCHAT_WARN_UNUSED int secchat_message_decode(secchat_message *msg, char *scratch, size_t scratch_len,
                                                           const uint8_t *json, size_t json_len);

/* 1 if the len bytes at s are valid UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), else 0. */
SECCHAT_API int secchat_utf8_valid(const uint8_t *s, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* SECCHAT_MESSAGE_H */
