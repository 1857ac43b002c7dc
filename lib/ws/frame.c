/* Frame headers and masking for the frames the endpoint writes itself. */
#include "ws/frame.h"

#include <string.h>

size_t sc_ws_frame_header(uint8_t out[SC_WS_MAX_FRAME_HEADER], uint8_t opcode, uint64_t len, const uint8_t *mask)
{
    size_t n = 0;
    uint8_t mask_bit = mask ? 0x80 : 0x00;
    out[n++] = (uint8_t)(0x80 | (opcode & 0x0f));
    /* Lengths use the shortest form (section 5.2: "the minimal number of bytes"). */
    if (len < 126) {
        out[n++] = (uint8_t)(mask_bit | len);
    } else if (len <= 0xffff) {
        out[n++] = mask_bit | 126;
        out[n++] = (uint8_t)(len >> 8);
        out[n++] = (uint8_t)len;
    } else {
        out[n++] = mask_bit | 127;
        for (int shift = 56; shift >= 0; shift -= 8)
            out[n++] = (uint8_t)(len >> shift);
    }
    if (mask) {
        memcpy(out + n, mask, 4);
        n += 4;
    }
    return n;
}

void sc_ws_mask(uint8_t *p, size_t len, const uint8_t key[4])
{
    /* Eight bytes per step: the key repeated twice, in memory order, so the
     * result does not depend on the machine's endianness. */
    uint8_t key8[8];
    memcpy(key8, key, 4);
    memcpy(key8 + 4, key, 4);
    uint64_t k;
    memcpy(&k, key8, sizeof k);
    size_t i = 0;
    for (; i + 16 <= len; i += 16) { /* two words per step: half the loop overhead */
        uint64_t w[2];
        memcpy(w, p + i, sizeof w);
        w[0] ^= k;
        w[1] ^= k;
        memcpy(p + i, w, sizeof w);
    }
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, sizeof w);
        w ^= k;
        memcpy(p + i, &w, sizeof w);
    }
    for (; i < len; i++)
        p[i] ^= key[i & 3];
}
