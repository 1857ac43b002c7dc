/* Chat line classification and command splitting. */
#include <string.h>

#include "server/line.h"

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

void sc_line_parse(const char *line, size_t len, sc_line *out)
{
    memset(out, 0, sizeof *out);
    if (len >= 2 && line[0] == '/' && line[1] == '/') {
        out->text = line + 1;
        out->text_len = len - 1;
        return;
    }
    if (len == 0 || line[0] != '/') {
        out->text = line;
        out->text_len = len;
        return;
    }
    out->is_command = 1;
    size_t i = 1, n = 0;
    while (i < len && !is_blank(line[i]) && line[i] != '\n') {
        if (n < SC_COMMAND_MAX) {
            char c = line[i];
            out->command[n] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
        n++;
        i++;
    }
    out->command[n <= SC_COMMAND_MAX ? n : 0] = '\0';
    while (i < len && (is_blank(line[i]) || line[i] == '\n'))
        i++;
    out->args = line + i;
}

int sc_line_first_word(const char *args, char *word, size_t cap, const char **rest)
{
    size_t n = 0;
    while (args[n] && !is_blank(args[n]) && args[n] != '\n')
        n++;
    if (n == 0 || n >= cap)
        return -1;
    memcpy(word, args, n);
    word[n] = '\0';
    const char *r = args + n;
    while (*r && (is_blank(*r) || *r == '\n'))
        r++;
    *rest = r;
    return 0;
}
