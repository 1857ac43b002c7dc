/* Protocol-name parser (noise-rev34 section 8). */
#include <string.h>

#include "../common/internal.h"
#include "dh.h"
#include "protocol.h"
#include "secchat/noise.h"

/*
 * Section 8: alphanumerics plus '+' and '/', and '+' only between non-empty
 * names (8.1 modifiers, 8.2 algorithm lists): no leading, trailing or double '+'.
 */
static int valid_section(const char *s, size_t len)
{
    if (len == 0 || s[0] == '+' || s[len - 1] == '+')
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '+' && s[i + 1] == '+')
            return 0;
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
        if (!ok)
            return 0;
    }
    return 1;
}

int sc_protocol_parse(sc_protocol *out, const char *name)
{
    static const char prefix[] = "Noise_";
    const size_t prefix_len = sizeof prefix - 1;

    if (name == NULL)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    size_t len = strnlen(name, SECCHAT_NOISE_MAX_NAME_LEN + 1);
    if (len > SECCHAT_NOISE_MAX_NAME_LEN || len <= prefix_len || memcmp(name, prefix, prefix_len) != 0)
        return SECCHAT_ERR_NOISE_NAME;

    /* Split the rest into exactly four sections. */
    const char *sec[4];
    size_t sec_len[4];
    const char *p = name + prefix_len;
    const char *end = name + len;
    for (int i = 0; i < 4; i++) {
        const char *us = i < 3 ? memchr(p, '_', (size_t)(end - p)) : NULL;
        if (i < 3 && us == NULL)
            return SECCHAT_ERR_NOISE_NAME;
        sec[i] = p;
        sec_len[i] = (size_t)((i < 3 ? us : end) - p);
        if (!valid_section(sec[i], sec_len[i]))
            return SECCHAT_ERR_NOISE_NAME; /* also catches a fifth '_' section */
        p = sec[i] + sec_len[i] + 1;
    }

    int rc = sc_pattern_resolve(&out->pattern, sec[0], sec_len[0]);
    if (rc != SECCHAT_OK)
        return rc;
    out->hash = sc_hash_find(sec[3], sec_len[3]);
    out->cipher = sc_cipher_find(sec[2], sec_len[2]);
    if (!sc_dh_is_supported(sec[1], sec_len[1]) || out->cipher == NULL || out->hash == NULL)
        return SECCHAT_ERR_NOISE_UNSUPPORTED;
    if (sc_crypto_init() != SECCHAT_OK)
        return SECCHAT_ERR_CRYPTO_INIT;
    return out->cipher->available() ? SECCHAT_OK : SECCHAT_ERR_NOISE_AESGCM_UNAVAILABLE;
}
