/* Word-wise unmasking filter for the client-to-server stream (unmask.h). */
#include "ws/unmask.h"

#include <string.h>

#include "ws/frame.h"

/* Takes one header byte; writes what the unmasked header keeps of it. -1 on an unmasked frame. */
static int header_byte(sc_ws_unmasker *u, uint8_t c, uint8_t *out, size_t *w)
{
    size_t i = u->header_len++;
    if (i == 0) {
        out[(*w)++] = c;
        return 0;
    }
    if (i == 1) {
        if (!(c & 0x80))
            return -1;
        uint8_t len7 = c & 0x7f;
        u->ext_len = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
        u->length = u->ext_len ? 0 : len7;
        out[(*w)++] = len7; /* mask bit cleared; length rules are wslay's to judge */
    } else if (i < 2 + u->ext_len) {
        u->length = (u->length << 8) | c;
        out[(*w)++] = c;
    } else {
        u->key[i - 2 - u->ext_len] = c; /* the key is dropped from the output */
    }
    if (u->header_len == 2 + u->ext_len + 4) {
        u->remaining = u->length;
        u->key_pos = 0;
        u->header_len = 0;
    }
    return 0;
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
        if (u->header_len == 0 && len >= 2 && (in[1] & 0x80)) {
            /* Common case: the whole header is here; take it at once. */
            uint8_t len7 = in[1] & 0x7f;
            size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
            if (len >= 2 + ext + 4) {
                uint64_t length = ext ? 0 : len7;
                for (size_t i = 0; i < ext; i++)
                    length = (length << 8) | in[2 + i];
                out[w] = in[0];
                out[w + 1] = len7; /* mask bit cleared */
                memcpy(out + w + 2, in + 2, ext);
                memcpy(u->key, in + 2 + ext, 4);
                u->key_pos = 0;
                u->remaining = length;
                w += 2 + ext, in += 2 + ext + 4, len -= 2 + ext + 4;
                continue;
            }
        }
        if (header_byte(u, *in, out, &w) != 0) {
            *out_len = w;
            return -1; /* an unmasked frame from a client */
        }
        in++, len--;
    }
    *out_len = w;
    return 0;
}
