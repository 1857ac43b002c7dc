/*
 * secchat-client's terminal side. The client engine runs on its own thread;
 * everything it wants to show goes through a pipe (ui_post) to the main
 * thread, which owns the terminal: it prints incoming lines without
 * garbling the line being typed (libedit) and reads what the user types.
 */
#ifndef SECCHAT_CLIENT_UI_H
#define SECCHAT_CLIENT_UI_H

#include <stddef.h>

enum ui_stream { UI_STDOUT = 1, UI_STDERR = 2 };

/* The pipe from the client thread to the main thread. */
typedef struct ui_channel {
    int rfd, wfd;
    char *buf; /* main thread: bytes read, not yet a whole record */
    size_t have, cap;
} ui_channel;

/* 0, or -1 with errno. */
int ui_channel_open(ui_channel *ch);

/* Client thread: one line (no newline) for stdout or stderr. */
void ui_post(ui_channel *ch, enum ui_stream stream, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void ui_post_text(ui_channel *ch, enum ui_stream stream, const char *text, size_t len);

/* Client thread, when it ends: the main thread then reads EOF. */
void ui_channel_close_writer(ui_channel *ch);

/* Main thread, when rfd is readable: prints every complete record.
 * Returns 1, or 0 at EOF (the client thread is done), -1 on a read error. */
int ui_channel_drain(ui_channel *ch);

void ui_channel_free(ui_channel *ch);

/* The terminal. on_line gets each line typed (without its newline) and NULL
 * at end of input; it runs on the main thread. */
void term_start(int interactive, void (*on_line)(const char *line, void *arg), void *arg);

/* stdin is readable: reads and hands over complete lines. */
void term_read(void);

/* Prints one line above the line being typed. */
void term_print(enum ui_stream stream, const char *text, size_t len);

/* Stops line editing (restores the terminal); no more input is read. */
void term_stop(void);

#endif
