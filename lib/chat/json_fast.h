/*
 * The fast path of secchat_message_decode: a strict parser for the shape
 * nearly every message has (an object whose members are the known keys with
 * string values, ts an integer). Not installed.
 */
#ifndef SC_CHAT_JSON_FAST_H
#define SC_CHAT_JSON_FAST_H

#include <stddef.h>
#include <stdint.h>

#include "secchat/message.h"

/* Returned when the input leaves the fast path's subset: jansson decides. */
#define SC_JSON_FALLBACK 1

/*
 * Decodes json_len bytes at json into msg, unescaping the strings into
 * scratch (at least json_len + 1 bytes, not overlapping json: strings are
 * copied in whole 8-byte words that may run past their end). Strings are
 * checked for UTF-8 as they are scanned, and everything outside them must be
 * ASCII syntax, so SECCHAT_OK means the whole input is valid UTF-8; an
 * invalid sequence comes back as MESSAGE_JSON (or FALLBACK), and the caller
 * checks the whole input on any result but SECCHAT_OK so that MESSAGE_UTF8
 * wins over everything.
 *
 * Returns SECCHAT_OK, or the error jansson's path would return (MESSAGE_JSON,
 * NUL, DUPLICATE, NO_CONTENT) when the first problem lies inside the subset,
 * or SC_JSON_FALLBACK as soon as it meets anything outside it: a first
 * non-whitespace byte other than '{', an unknown key, a non-string value for
 * a string field, anything but -?(0|[1-9][0-9]{0,17}) for ts. On any result
 * but SECCHAT_OK, msg is untouched; scratch may have been written.
 */
int sc_json_decode_fast(secchat_message *msg, char *scratch, const uint8_t *json, size_t json_len);

#endif /* SC_CHAT_JSON_FAST_H */
