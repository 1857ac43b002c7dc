/* Strict UTF-8 validation (RFC 3629), run on every message sent or received. */
#include "chat/utf8.h"
#include "common/internal.h"
#include "secchat/message.h"

/* The last bytes, fewer than 8, one at a time. */
static int valid_tail(const uint8_t *s, size_t i, size_t len)
{
    while (i < len) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = sc_utf8_char_len(s + i, len - i);
        if (n == 0)
            return 0;
        i += n;
    }
    return 1;
}

SECCHAT_API int secchat_utf8_valid(const uint8_t *s, size_t len)
{
    if (s == NULL)
        return len == 0;
    size_t i = 0;
    for (;;) {
        /* Runs of ASCII, the bulk of chat text, 16 bytes at a time. */
        while (len - i >= 16 && ((sc_swar_load(s + i) | sc_swar_load(s + i + 8)) & SC_SWAR_HIGH) == 0)
            i += 16;
        /* Mixed text 8 bytes at a time, and a character at a time where it is not ASCII, until a word of
         * ASCII sends it back to the loop above. */
        for (;;) {
            if (len - i < 8)
                return valid_tail(s, i, len);
            uint64_t high = sc_swar_load(s + i) & SC_SWAR_HIGH;
            if (high == 0) {
                i += 8;
                break;
            }
            i += sc_swar_first(high);
            if (s[i] < 0x80) { /* only where sc_swar_first is not exact */
                i++;
                continue;
            }
            size_t n = sc_utf8_char_len(s + i, len - i);
            if (n == 0)
                return 0;
            i += n;
        }
    }
}
