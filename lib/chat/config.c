/* secchat_config: what every session of a server or client shares. */
#include "chat/config.h"

#include <string.h>

#include "common/internal.h"
#include "noise/protocol.h"

SECCHAT_API int secchat_config_new(secchat_config **out)
{
    if (!out)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    *out = NULL;
    int rc = sc_crypto_init();
    if (rc != SECCHAT_OK)
        return rc;
    secchat_config *cfg = sc_alloc(sizeof *cfg);
    if (!cfg)
        return SECCHAT_ERR_NO_MEMORY;
    memcpy(cfg->protocol, SECCHAT_DEFAULT_PROTOCOL, sizeof SECCHAT_DEFAULT_PROTOCOL);
    rc = secchat_keypair_generate(cfg->static_public, cfg->static_private);
    if (rc != SECCHAT_OK) {
        secchat_config_free(cfg);
        return rc;
    }
    atomic_init(&cfg->frozen, 0);
    *out = cfg;
    return SECCHAT_OK;
}

SECCHAT_API void secchat_config_free(secchat_config *cfg)
{
    if (cfg)
        sc_free_secret(cfg, sizeof *cfg);
}

void sc_config_freeze(const secchat_config *cfg)
{
    /* Freezing is the one write a shared, otherwise const config receives. */
    atomic_store(&((secchat_config *)cfg)->frozen, 1);
}

static int check_settable(const secchat_config *cfg)
{
    if (!cfg)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    return atomic_load(&cfg->frozen) ? SECCHAT_ERR_BAD_STATE : SECCHAT_OK;
}

SECCHAT_API int secchat_config_set_protocol(secchat_config *cfg, const char *name)
{
    int rc = check_settable(cfg);
    if (rc != SECCHAT_OK)
        return rc;
    if (!name)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    sc_protocol proto;
    rc = sc_protocol_parse(&proto, name);
    if (rc != SECCHAT_OK)
        return rc;
    /* Sessions authenticate both ends by their static keys and hand every
     * peer key to the trust hook: only patterns where each side sends its
     * key, and none is needed in advance, fit (XX and its psk variants). */
    const sc_pattern *p = &proto.pattern;
    if (p->one_way || p->pre_len[0] || p->pre_len[1] || !sc_pattern_sends_static(p, 1) ||
        !sc_pattern_sends_static(p, 0))
        return SECCHAT_ERR_NOISE_UNSUPPORTED;
    memcpy(cfg->protocol, name, strlen(name) + 1); /* check_name bounds it to 255 */
    return SECCHAT_OK;
}

SECCHAT_API int secchat_config_set_psk(secchat_config *cfg, const uint8_t psk[SECCHAT_PSK_LEN])
{
    int rc = check_settable(cfg);
    if (rc != SECCHAT_OK)
        return rc;
    if (!psk)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    memcpy(cfg->psk, psk, SECCHAT_PSK_LEN);
    cfg->has_psk = 1;
    return SECCHAT_OK;
}

SECCHAT_API int secchat_config_set_static_key(secchat_config *cfg, const uint8_t private_key[SECCHAT_NOISE_KEY_LEN])
{
    int rc = check_settable(cfg);
    if (rc != SECCHAT_OK)
        return rc;
    if (!private_key)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    rc = secchat_public_key_from_private(cfg->static_public, private_key);
    if (rc != SECCHAT_OK)
        return rc;
    memcpy(cfg->static_private, private_key, SECCHAT_NOISE_KEY_LEN);
    return SECCHAT_OK;
}

SECCHAT_API int secchat_config_public_key(const secchat_config *cfg, uint8_t public_key[SECCHAT_NOISE_KEY_LEN])
{
    if (!cfg || !public_key)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    memcpy(public_key, cfg->static_public, SECCHAT_NOISE_KEY_LEN);
    return SECCHAT_OK;
}

SECCHAT_API int secchat_config_set_verify(secchat_config *cfg, secchat_verify_fn fn, void *arg)
{
    int rc = check_settable(cfg);
    if (rc != SECCHAT_OK)
        return rc;
    cfg->verify = fn;
    cfg->verify_arg = fn ? arg : NULL;
    return SECCHAT_OK;
}

SECCHAT_API int secchat_config_set_ws_limits(secchat_config *cfg, const secchat_ws_limits *limits)
{
    int rc = check_settable(cfg);
    if (rc != SECCHAT_OK)
        return rc;
    if (limits && limits->max_message > 0x7fffffffu)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    if (limits)
        cfg->limits = *limits;
    else
        memset(&cfg->limits, 0, sizeof cfg->limits);
    return SECCHAT_OK;
}
