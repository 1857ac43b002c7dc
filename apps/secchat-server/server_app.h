/* secchat-server's parts: options, key loading, the operator console. */
#ifndef SECCHAT_SERVER_APP_H
#define SECCHAT_SERVER_APP_H

#include <secchat.h>

#define PROG "secchat-server"

enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

struct options {
    secchat_server_options server;
    const char *psk_file;
    const char *key_file;
    const char *authorized_keys; /* allow-list file, re-read on SIGHUP */
    int demo_psk;
    int quiet;
};

/*
 * Fills cfg with the PSK and static key the options ask for, creating the
 * default ones in the user's config directory on first start. Prints what
 * went wrong (which file, why) and returns non-zero on failure.
 */
int load_keys(const struct options *o, secchat_config *cfg);

/*
 * Loads the allow-list into srv (at start and on SIGHUP). On failure prints
 * which file and line and why, keeps the list in force, and returns non-zero.
 */
int load_authorized_keys(secchat_server *srv, const char *path, int reload);

/* Prints server events on stdout (all of them, or only the essentials with --quiet). */
void print_event(void *arg, const secchat_server_event *ev);

/* Handles one operator line; returns 1 when the operator asked to quit. */
int console_line(secchat_server *srv, char *line);

#endif
