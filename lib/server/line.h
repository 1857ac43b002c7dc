/*
 * A member's chat line: text for the room, or a command. "/cmd args" is a
 * command; "//text" is the text "/text" (the escape for lines that start
 * with a slash); anything else is text.
 */
#ifndef SC_SERVER_LINE_H
#define SC_SERVER_LINE_H

#include <stddef.h>

#define SC_COMMAND_MAX 16

typedef struct sc_line {
    int is_command;
    const char *text; /* text: the line without the escape slash */
    size_t text_len;
    char command[SC_COMMAND_MAX + 1]; /* command: lowercased name without '/'; "" if too long */
    const char *args;                 /* command: the rest, leading blanks skipped (NUL-terminated) */
} sc_line;

/* Splits a NUL-terminated line (len bytes). */
void sc_line_parse(const char *line, size_t len, sc_line *out);

/*
 * Splits args into its first word (copied into word, at most cap-1 bytes;
 * returns -1 when longer or empty) and the rest (*rest, blanks skipped).
 */
int sc_line_first_word(const char *args, char *word, size_t cap, const char **rest);

#endif /* SC_SERVER_LINE_H */
