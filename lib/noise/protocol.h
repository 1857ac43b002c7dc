/* Protocol names (section 8): "Noise_" PATTERN "_" DH "_" CIPHER "_" HASH. */
#ifndef SC_NOISE_PROTOCOL_H
#define SC_NOISE_PROTOCOL_H

#include "cipher.h"
#include "hash.h"
#include "pattern.h"

/* Everything a protocol name fixes. */
typedef struct sc_protocol {
    sc_pattern pattern;
    const sc_hash *hash;
    const sc_cipher *cipher;
} sc_protocol;

/*
 * Parses and resolves a NUL-terminated protocol name. Returns SECCHAT_OK,
 * SECCHAT_ERR_NOISE_NAME (malformed), SECCHAT_ERR_NOISE_UNSUPPORTED (448,
 * BLAKE2s, fallback, unknown algorithms) or
 * SECCHAT_ERR_NOISE_AESGCM_UNAVAILABLE. Syntax errors win over unsupported
 * parts, so a malformed name is always reported as malformed.
 */
int sc_protocol_parse(sc_protocol *out, const char *name);

#endif /* SC_NOISE_PROTOCOL_H */
