/* Name rules shared by members and rooms. */
#include <string.h>

#include "secchat/message.h"
#include "server/names.h"

/*
 * Whitespace beyond ASCII counts too: a name with U+00A0 or U+3000 would
 * look like two words, or like another member's name with a trailing space.
 */
static int is_unicode_space(const unsigned char *s, size_t left, size_t *step)
{
    if (left >= 2 && s[0] == 0xC2 && (s[1] == 0x85 || s[1] == 0xA0)) {
        *step = 2;
        return 1; /* U+0085 NEL, U+00A0 NBSP */
    }
    if (left >= 3 && s[0] == 0xE1 && s[1] == 0x9A && s[2] == 0x80) {
        *step = 3;
        return 1; /* U+1680 */
    }
    if (left >= 3 && s[0] == 0xE2 && s[1] == 0x80 && ((s[2] >= 0x80 && s[2] <= 0x8A) || s[2] == 0xA8 || s[2] == 0xA9 || s[2] == 0xAF)) {
        *step = 3;
        return 1; /* U+2000..U+200A, U+2028, U+2029, U+202F */
    }
    if (left >= 3 && s[0] == 0xE2 && s[1] == 0x81 && s[2] == 0x9F) {
        *step = 3;
        return 1; /* U+205F */
    }
    if (left >= 3 && s[0] == 0xE3 && s[1] == 0x80 && s[2] == 0x80) {
        *step = 3;
        return 1; /* U+3000 */
    }
    return 0;
}

enum sc_name_problem sc_room_name_check(const char *name, size_t len)
{
    if (len == 0)
        return SC_NAME_EMPTY;
    if (len > SECCHAT_NAME_MAX)
        return SC_NAME_TOO_LONG;
    const unsigned char *s = (const unsigned char *)name;
    if (!secchat_utf8_valid(s, len))
        return SC_NAME_BAD_CHAR;
    for (size_t i = 0; i < len;) {
        size_t step = 1;
        if (s[i] <= 0x20 || s[i] == 0x7F)
            return SC_NAME_BAD_CHAR;
        if (s[i] == 0xC2 && i + 1 < len && s[i + 1] < 0xA0)
            return SC_NAME_BAD_CHAR; /* C1 controls U+0080..U+009F */
        if (is_unicode_space(s + i, len - i, &step))
            return SC_NAME_BAD_CHAR;
        i += step;
    }
    return SC_NAME_OK;
}

enum sc_name_problem sc_name_check(const char *name, size_t len)
{
    enum sc_name_problem p = sc_room_name_check(name, len);
    if (p != SC_NAME_OK)
        return p;
    char folded[SECCHAT_NAME_MAX + 1];
    sc_name_fold(name, folded);
    if (strcmp(folded, "server") == 0)
        return SC_NAME_RESERVED;
    return SC_NAME_OK;
}

const char *sc_name_problem_text(enum sc_name_problem p)
{
    switch (p) {
    case SC_NAME_OK:
        return "the name is valid";
    case SC_NAME_EMPTY:
        return "the name is empty";
    case SC_NAME_TOO_LONG:
        return "names are at most 32 bytes";
    case SC_NAME_BAD_CHAR:
        return "names may not contain spaces or control characters";
    case SC_NAME_RESERVED:
        return "that name is reserved";
    }
    return "the name is invalid";
}

void sc_name_fold(const char *name, char out[SECCHAT_NAME_MAX + 1])
{
    size_t i = 0;
    for (; i < SECCHAT_NAME_MAX && name[i]; i++) {
        char ch = name[i];
        out[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
    }
    out[i] = '\0';
}
