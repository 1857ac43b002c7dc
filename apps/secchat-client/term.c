/*
 * The terminal on the main thread. Interactive (stdin is a terminal):
 * libedit's readline-compatible callback interface, fed one character at a
 * time when poll says stdin is readable; an incoming line first takes the
 * line being typed off the screen, is printed, and the prompt and the
 * half-typed line come back. Otherwise: stdin is read with read(2) and split
 * into lines here (stdio's buffer would hide complete lines from poll).
 *
 * readline's line handler takes no argument, hence the one static state.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <editline/readline.h>

#include "ui.h"

#define PROMPT "> "

static struct term_state {
    int interactive, active;
    int in_callback;   /* inside term_read: stopping must wait until the reading returns */
    int remove_editor; /* the handler is installed and must be removed */
    int line_done;     /* libedit handed over a line: start the next one afresh */
    void (*on_line)(const char *line, void *arg);
    void *arg;
    char *pending; /* non-interactive: bytes read, not yet a whole line */
    size_t have, cap;
} term;

static void on_readline(char *line)
{
    term.line_done = 1;
    if (line) {
        if (*line)
            add_history(line);
        term.on_line(line, term.arg);
        free(line); /* libedit hands over a malloc'ed copy */
    } else {
        term.on_line(NULL, term.arg);
    }
}

void term_start(int interactive, void (*on_line)(const char *line, void *arg), void *arg)
{
    term.interactive = interactive;
    term.on_line = on_line;
    term.arg = arg;
    term.active = 1;
    if (interactive) {
        rl_callback_handler_install(PROMPT, on_readline);
        term.remove_editor = 1;
    }
}

/* Removes the line editor: the terminal goes back to its normal mode, and the prompt off the screen. */
static void remove_editor(void)
{
    if (!term.remove_editor)
        return;
    term.remove_editor = 0;
    rl_callback_handler_remove();
    fputs("\r\033[K", stdout);
    fflush(stdout);
}

void term_stop(void)
{
    term.active = 0;
    /* libedit re-arms its terminal mode after the line handler returns, so
     * from inside the handler the removal waits for term_read. */
    if (term.in_callback)
        return; /* term_read finishes the job */
    remove_editor();
    free(term.pending);
    term.pending = NULL;
    term.have = term.cap = 0;
}

/* Hands over every complete line in the buffer; at_eof: also the last, unterminated one. */
static void split_lines(int at_eof)
{
    size_t start = 0;
    for (size_t i = 0; i < term.have && term.active; i++) {
        if (term.pending[i] != '\n')
            continue;
        size_t end = i;
        if (end > start && term.pending[end - 1] == '\r')
            end--; /* CRLF input */
        term.pending[end] = '\0';
        term.on_line(term.pending + start, term.arg);
        start = i + 1;
    }
    if (!term.active)
        return;
    memmove(term.pending, term.pending + start, term.have - start);
    term.have -= start;
    if (at_eof && term.have > 0) {
        term.pending[term.have] = '\0';
        term.have = 0;
        term.on_line(term.pending, term.arg);
    }
}

static void read_lines(void);

void term_read(void)
{
    if (!term.active)
        return;
    if (term.interactive) {
        term.in_callback = 1;
        term.line_done = 0;
        rl_callback_read_char();
        term.in_callback = 0;
        if (!term.active) {
            term_stop();
        } else if (term.line_done) {
            /* libedit's callback mode keeps the accepted line in its buffer
             * and shows no new prompt until the next key; reinstalling the
             * handler resets the line and prints the prompt now. */
            rl_callback_handler_remove();
            rl_callback_handler_install(PROMPT, on_readline);
        }
        return;
    }
    term.in_callback = 1;
    read_lines();
    term.in_callback = 0;
    if (!term.active)
        term_stop();
}

/* Non-interactive input: read(2) what is there, hand over the complete lines. */
static void read_lines(void)
{
    if (term.cap - term.have < 4097) {
        size_t cap = term.cap ? term.cap * 2 : 8192;
        char *p = realloc(term.pending, cap);
        if (!p) {
            term.on_line(NULL, term.arg);
            return;
        }
        term.pending = p;
        term.cap = cap;
    }
    ssize_t n = read(0, term.pending + term.have, term.cap - term.have - 1);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        split_lines(1);
        if (term.active)
            term.on_line(NULL, term.arg);
        return;
    }
    term.have += (size_t)n;
    split_lines(0);
}

void term_print(enum ui_stream stream, const char *text, size_t len)
{
    FILE *f = stream == UI_STDERR ? stderr : stdout;
    int editing = term.active && term.interactive;
    if (term.interactive) { /* also once stopped: a prompt may still be on the screen */
        /* Take the prompt and the half-typed line off the screen. libedit
         * keeps the line itself (its buffer and cursor) untouched meanwhile:
         * its rl_replace_line("") does nothing and its rl_redisplay pushes a
         * ^R (incremental search in emacs mode) into the input, so the line
         * is erased on the terminal only and redrawn with rl_forced_update_display. */
        fputs("\r\033[K", stdout);
        fflush(stdout);
    }
    (void)fwrite(text, 1, len, f); /* the terminal: nowhere to report a failure */
    fputc('\n', f);
    fflush(f);
    if (editing)
        rl_forced_update_display(); /* the prompt and the line, cursor where it was */
}
