/*
 * Test helper: a one-connection chat server made of a secchat_session on a
 * thread, for testing clients over real loopback TCP.
 *
 *     mini_server s;
 *     mini_server_init(&s, server_cfg);        listens on 127.0.0.1, port in s.port
 *     s.script.reprompt = 1; ...               optional behaviour
 *     mini_server_start(&s);                   the thread accepts one connection
 *     ... run a client against ws://127.0.0.1:<s.port>/ ...
 *     mini_server_join(&s);                    then read the results below
 *
 * It plays the server of the chat: after the handshake it sends the name
 * prompt; the first line is the name ("<name> joined the chat"), later lines
 * are recorded and echoed back with the name as sender. Every wait is
 * bounded (MINI_SERVER_WAIT_MS of silence ends it). Plain C, no cmocka.
 */
#ifndef SC_TESTS_MINI_SERVER_H
#define SC_TESTS_MINI_SERVER_H

#include <pthread.h>
#include <stdint.h>

#include "secchat.h"

#define MINI_SERVER_WAIT_MS 5000
#define MINI_SERVER_MAX_LINES 32
#define MINI_SERVER_LINE_MAX 256

typedef struct mini_server_script {
    int reprompt;    /* refuse the first name with a type "error" re-prompt */
    int close_after; /* after this many chat lines, close with 1001 "server shutting down" (0: never) */
    int garbage;     /* after the handshake send a plaintext that is not JSON, instead of the prompt */
    int hangup;      /* after the handshake drop the TCP connection without a close frame */
    int no_prompt;   /* send no prompt: the first line is still taken as the name */
} mini_server_script;

typedef struct mini_server {
    secchat_config *cfg; /* the caller's; must outlive the thread */
    mini_server_script script;
    int lfd;
    uint16_t port;
    pthread_t thread;
    int started;
    /* Results, to be read after mini_server_join. */
    int ready;
    uint8_t client_key[SECCHAT_NOISE_KEY_LEN];
    char names[4][MINI_SERVER_LINE_MAX]; /* every name answer, refused ones included */
    int n_names;
    char lines[MINI_SERVER_MAX_LINES][MINI_SERVER_LINE_MAX];
    int n_lines;
    int closed;
    uint16_t close_code;
    int close_error;
    char failure[160]; /* set when the server itself went wrong (a test failure) */
} mini_server;

/* Listens on 127.0.0.1 at a free port. 0, or -1 with s->failure. */
int mini_server_init(mini_server *s, secchat_config *cfg);

/* Starts the thread that accepts and serves one connection. 0 or -1. */
int mini_server_start(mini_server *s);

/* Waits for the thread (it ends by itself within its bounds). */
void mini_server_join(mini_server *s);

/* A port on 127.0.0.1 where nothing listens (bound, then closed), or 0. */
uint16_t mini_server_closed_port(void);

#endif /* SC_TESTS_MINI_SERVER_H */
