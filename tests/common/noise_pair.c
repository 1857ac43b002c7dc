/* Two Noise handles talking to each other through memory; see noise_pair.h. */
#include <string.h>

#include <sodium.h>

#include "common/noise_pair.h"

int noise_pair_new(noise_pair *p, const char *name)
{
    memset(p, 0, sizeof *p);
    int rc = secchat_keypair_generate(p->init_pub, p->init_priv);
    if (rc == SECCHAT_OK)
        rc = secchat_keypair_generate(p->resp_pub, p->resp_priv);
    if (rc != SECCHAT_OK)
        return rc;
    randombytes_buf(p->psk, sizeof p->psk);
    rc = secchat_noise_new(&p->init, name, SECCHAT_NOISE_INITIATOR);
    if (rc == SECCHAT_OK)
        rc = secchat_noise_new(&p->resp, name, SECCHAT_NOISE_RESPONDER);
    return rc;
}

int noise_pair_configure(noise_pair *p)
{
    int rc = secchat_noise_set_local_static(p->init, p->init_priv);
    if (rc == SECCHAT_OK)
        rc = secchat_noise_set_local_static(p->resp, p->resp_priv);
    if (rc == SECCHAT_OK)
        rc = secchat_noise_add_psk(p->init, p->psk);
    if (rc == SECCHAT_OK)
        rc = secchat_noise_add_psk(p->resp, p->psk);
    return rc;
}

int noise_pair_transfer(secchat_noise *from, secchat_noise *to, const uint8_t *payload, size_t payload_len,
                        uint8_t *msg, size_t *msg_len)
{
    static uint8_t buf[SECCHAT_NOISE_MAX_MESSAGE];
    static uint8_t out[SECCHAT_NOISE_MAX_MESSAGE];
    size_t len = 0, out_len = 0;

    int rc = secchat_noise_write_message(from, payload, payload_len, buf, sizeof buf, &len);
    if (rc != SECCHAT_OK)
        return rc;
    if (msg != NULL)
        memcpy(msg, buf, len);
    if (msg_len != NULL)
        *msg_len = len;
    return secchat_noise_read_message(to, buf, len, out, sizeof out, &out_len);
}

int noise_pair_handshake(noise_pair *p, size_t *lens, size_t max, size_t *count)
{
    size_t n = 0;
    /* Bounded: no pattern has more than 6 messages, so a stuck pair cannot loop forever. */
    for (int i = 0; i < 8 && !(secchat_noise_is_complete(p->init) && secchat_noise_is_complete(p->resp)); i++) {
        secchat_noise *from, *to;
        if (secchat_noise_next_action(p->init) == SECCHAT_NOISE_ACTION_WRITE)
            from = p->init, to = p->resp;
        else if (secchat_noise_next_action(p->resp) == SECCHAT_NOISE_ACTION_WRITE)
            from = p->resp, to = p->init;
        else
            return SECCHAT_ERR_BAD_STATE; /* nobody may write: a failed or broken handle */
        size_t len = 0;
        int rc = noise_pair_transfer(from, to, NULL, 0, NULL, &len);
        if (rc != SECCHAT_OK)
            return rc;
        if (lens != NULL && n < max)
            lens[n] = len;
        n++;
    }
    if (count != NULL)
        *count = n;
    return secchat_noise_is_complete(p->init) && secchat_noise_is_complete(p->resp) ? SECCHAT_OK
                                                                                    : SECCHAT_ERR_BAD_STATE;
}

void noise_pair_free(noise_pair *p)
{
    secchat_noise_free(p->init);
    secchat_noise_free(p->resp);
    sodium_memzero(p, sizeof *p);
}
