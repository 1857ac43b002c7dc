/* Word-wise unmasking filter for the client-to-server stream (unmask.h). */
#include "ws/unmask.h"

#include <string.h>

#include "ws/frame.h"

/* Bytes the header occupies, as far as its first two bytes tell. */
static size_t header_size(const uint8_t h[2])
{
    uint8_t len7 = h[1] & 0x7f;
    size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
    return 2 + ext + ((h[1] & 0x80) ? 4 : 0);
}

/* The header is complete: write it unmasked, start the payload. */
static size_t emit_header(sc_ws_unmasker *u, uint8_t *out)
{
    uint8_t len7 = u->header[1] & 0x7f;
    size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
    uint64_t len = len7;
    if (ext) {
        len = 0;
        for (size_t i = 0; i < ext; i++)
            len = (len << 8) | u->header[2 + i];
    }
    /* Length rules (minimal form, top bit) are left for wslay to judge. */
    out[0] = u->header[0];
    out[1] = len7; /* mask bit cleared */
    memcpy(out + 2, u->header + 2, ext);
    memcpy(u->key, u->header + 2 + ext, 4);
    u->key_pos = 0;
    u->remaining = len;
    u->header_len = 0;
    return 2 + ext;
}

int sc_ws_unmask_stream(sc_ws_unmasker *u, const uint8_t *in, size_t len, uint8_t *out, size_t *out_len)
{
    size_t w = 0;
    while (len > 0) {
        if (u->remaining > 0) {
            size_t n = u->remaining < len ? (size_t)u->remaining : len;
            uint8_t key[4]; /* the key, rotated to where this payload resumes */
            for (unsigned i = 0; i < 4; i++)
                key[i] = u->key[(u->key_pos + i) & 3];
            memcpy(out + w, in, n);
            sc_ws_mask(out + w, n, key);
            u->key_pos = (unsigned)((u->key_pos + n) & 3);
            u->remaining -= n;
            w += n, in += n, len -= n;
            continue;
        }
        if (u->header_len == 0 && len >= 2) {
            /* Common case: the whole header is here; take it at once. */
            size_t need = header_size(in);
            if (!(in[1] & 0x80)) {
                *out_len = w;
                return -1;
            }
            if (len >= need) {
                memcpy(u->header, in, need);
                w += emit_header(u, out + w);
                in += need, len -= need;
                continue;
            }
        }
        u->header[u->header_len++] = *in++;
        len--;
        if (u->header_len < 2)
            continue;
        if (u->header_len == 2 && !(u->header[1] & 0x80)) {
            *out_len = w;
            return -1; /* an unmasked frame from a client */
        }
        if (u->header_len == header_size(u->header))
            w += emit_header(u, out + w);
    }
    *out_len = w;
    return 0;
}
