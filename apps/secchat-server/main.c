/*
 * secchat-server: the chat server (docs/secchat-server.1).
 *
 * The library runs the network on its own threads; this thread owns the
 * console (operator lines on stdin) and the signals: SIGINT and SIGTERM shut
 * down gracefully (close code 1001 to every client), SIGHUP re-reads the
 * allow-list. The handler only writes the signal's number into a pipe that
 * the console loop polls: whichever thread the kernel picks runs it, so no
 * signal can be left pending unseen, and everything else happens here.
 */
#define _GNU_SOURCE /* getopt_long, pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server_app.h"

static const char usage_line[] = "Usage: " PROG " [--listen ADDR:PORT] [--psk-file FILE | --demo-psk] [--key-file FILE]\n"
                                 "       [--authorized-keys FILE] [--threads N] [--max-clients N] [--handshake-timeout MS] [--queue-limit BYTES]\n"
                                 "       [--ping-interval MS] [--pong-timeout MS] [--max-pending N] [--name-timeout MS]\n"
                                 "       [--rate N] [--burst N] [--max-rooms N] [--max-room-members N] [--max-name-length N] [--quiet]\n";

static const char help_text[] =
    "Runs the secchat chat server: WebSocket + Noise_XXpsk2_25519_AESGCM_SHA256, wire-compatible\n"
    "with the original program.\n"
    "\n"
    "  --listen ADDR:PORT     where to listen (default 127.0.0.1:8080; [::1]:8080 for IPv6; port 0: any)\n"
    "  --psk-file FILE        the pre-shared key file (also $SECCHAT_PSK_FILE)\n"
    "  --demo-psk             the original program's published PSK, to talk to its clients (insecure)\n"
    "  --key-file FILE        the server's static private key file\n"
    "  --authorized-keys FILE admit only the client keys listed in FILE (re-read on SIGHUP)\n"
    "  --threads N            worker threads (default: one per CPU)\n"
    "  --max-clients N        most connections at once (default 10000)\n"
    "  --handshake-timeout MS connect-to-secure-channel limit (default 10000)\n"
    "  --queue-limit BYTES    unsent output per client before it is dropped (default 1048576)\n"
    "  --ping-interval MS     ping a client silent this long (default 30000)\n"
    "  --pong-timeout MS      drop a client whose pong is this late (default 20000)\n"
    "  --max-pending N        most connections not yet named; more get HTTP 503 (default 1024)\n"
    "  --name-timeout MS      secure-channel-to-name limit (default 120000)\n"
    "  --rate N               lines a member may send per second on average; 0: no limit (default 20)\n"
    "  --burst N              and at once; a member refused this many lines in a row is dropped (default 100)\n"
    "  --max-rooms N          most rooms at once, lobby included (default 1000)\n"
    "  --max-room-members N   most members per room (default 10000)\n"
    "  --max-name-length N    longest member name in bytes, 1 to 32 (default 32)\n"
    "  --quiet                print only the listening line and errors\n"
    "  --help, --version\n"
    "\n"
    "Without --psk-file or --demo-psk the PSK is $XDG_CONFIG_HOME/secchat/psk (~/.config/secchat/psk), and\n"
    "without --key-file the key is server.key there; both are created on first start.\n"
    "Console: text broadcasts, @NAME text sends to one member, /list, /rooms, /kick NAME, /quit.\n"
    "Exit status: 0 after /quit, SIGINT or SIGTERM; 1 on a runtime error; 2 on a usage error.\n";

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, PROG ": %s%s%s%s\n", what, arg ? " '" : "", arg ? arg : "", arg ? "'" : "");
    fprintf(stderr, "%sTry '" PROG " --help' for more information.\n", usage_line);
    return EXIT_USAGE;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

/* A numeric option's value, min..max; 0, or after a usage message EXIT_USAGE. */
static int number_option(const char *name, const char *what, unsigned long min, unsigned long max, unsigned long *v)
{
    if (parse_uint(optarg, max, v) == 0 && *v >= min)
        return 0;
    char msg[128];
    snprintf(msg, sizeof msg, "--%s needs %s from %lu to %lu, not", name, what, min, max);
    return usage_error(msg, optarg);
}

enum {
    OPT_PSK_FILE = 256,
    OPT_AUTHORIZED,
    OPT_DEMO_PSK,
    OPT_KEY_FILE,
    OPT_THREADS,
    OPT_MAX_CLIENTS,
    OPT_HANDSHAKE,
    OPT_QUEUE,
    OPT_PING,
    OPT_PONG,
    OPT_MAX_PENDING,
    OPT_NAME_TIMEOUT,
    OPT_RATE,
    OPT_BURST,
    OPT_MAX_ROOMS,
    OPT_MAX_ROOM_MEMBERS,
    OPT_MAX_NAME_LENGTH
};

static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"psk-file", required_argument, NULL, OPT_PSK_FILE},
        {"demo-psk", no_argument, NULL, OPT_DEMO_PSK},
        {"key-file", required_argument, NULL, OPT_KEY_FILE},
        {"authorized-keys", required_argument, NULL, OPT_AUTHORIZED},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"max-clients", required_argument, NULL, OPT_MAX_CLIENTS},
        {"handshake-timeout", required_argument, NULL, OPT_HANDSHAKE},
        {"queue-limit", required_argument, NULL, OPT_QUEUE},
        {"ping-interval", required_argument, NULL, OPT_PING},
        {"pong-timeout", required_argument, NULL, OPT_PONG},
        {"max-pending", required_argument, NULL, OPT_MAX_PENDING},
        {"name-timeout", required_argument, NULL, OPT_NAME_TIMEOUT},
        {"rate", required_argument, NULL, OPT_RATE},
        {"burst", required_argument, NULL, OPT_BURST},
        {"max-rooms", required_argument, NULL, OPT_MAX_ROOMS},
        {"max-room-members", required_argument, NULL, OPT_MAX_ROOM_MEMBERS},
        {"max-name-length", required_argument, NULL, OPT_MAX_NAME_LENGTH},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    opterr = 0;
    int ch;
    unsigned long v;
    while ((ch = getopt_long(argc, argv, "l:qhV", longopts, NULL)) != -1) {
        switch (ch) {
        case 'l':
            o->server.listen = optarg;
            break;
        case OPT_PSK_FILE:
            o->psk_file = optarg;
            break;
        case OPT_DEMO_PSK:
            o->demo_psk = 1;
            break;
        case OPT_KEY_FILE:
            o->key_file = optarg;
            break;
        case OPT_AUTHORIZED:
            o->authorized_keys = optarg;
            break;
        case OPT_THREADS:
            if (number_option("threads", "a number", 1, 256, &v))
                return EXIT_USAGE;
            o->server.threads = (unsigned)v;
            break;
        case OPT_MAX_CLIENTS:
            if (number_option("max-clients", "a number", 1, 1000000, &v))
                return EXIT_USAGE;
            o->server.max_clients = (unsigned)v;
            break;
        case OPT_HANDSHAKE:
            if (number_option("handshake-timeout", "milliseconds", 100, 3600000, &v))
                return EXIT_USAGE;
            o->server.handshake_timeout_ms = (unsigned)v;
            break;
        case OPT_QUEUE:
            if (number_option("queue-limit", "bytes", 4096, 1UL << 30, &v))
                return EXIT_USAGE;
            o->server.queue_bytes = (size_t)v;
            break;
        case OPT_PING:
            if (number_option("ping-interval", "milliseconds", 100, 86400000, &v))
                return EXIT_USAGE;
            o->server.ping_interval_ms = (unsigned)v;
            break;
        case OPT_PONG:
            if (number_option("pong-timeout", "milliseconds", 100, 3600000, &v))
                return EXIT_USAGE;
            o->server.pong_timeout_ms = (unsigned)v;
            break;
        case OPT_MAX_PENDING:
            if (number_option("max-pending", "a number", 1, 1000000, &v))
                return EXIT_USAGE;
            o->server.max_pending = (unsigned)v;
            break;
        case OPT_NAME_TIMEOUT:
            if (number_option("name-timeout", "milliseconds", 100, 86400000, &v))
                return EXIT_USAGE;
            o->server.name_timeout_ms = (unsigned)v;
            break;
        case OPT_RATE:
            if (number_option("rate", "messages a second", 0, 1000000, &v))
                return EXIT_USAGE;
            o->server.rate = v ? (unsigned)v : SECCHAT_SERVER_UNLIMITED;
            break;
        case OPT_BURST:
            if (number_option("burst", "a number", 1, 1000000, &v))
                return EXIT_USAGE;
            o->server.burst = (unsigned)v;
            break;
        case OPT_MAX_ROOMS:
            if (number_option("max-rooms", "a number", 1, 1000000, &v))
                return EXIT_USAGE;
            o->server.max_rooms = (unsigned)v;
            break;
        case OPT_MAX_ROOM_MEMBERS:
            if (number_option("max-room-members", "a number", 1, 1000000, &v))
                return EXIT_USAGE;
            o->server.max_room_members = (unsigned)v;
            break;
        case OPT_MAX_NAME_LENGTH:
            if (number_option("max-name-length", "bytes", 1, SECCHAT_NAME_MAX, &v))
                return EXIT_USAGE;
            o->server.max_name_length = (unsigned)v;
            break;
        case 'q':
            o->quiet = 1;
            break;
        case 'h':
            fputs(usage_line, stdout);
            fputs(help_text, stdout);
            exit(0);
        case 'V':
            printf(PROG " (libsecchat) %s\n", secchat_version_string());
            exit(0);
        default:
            if (optopt)
                return usage_error("unknown or incomplete option", argv[optind - 1]);
            return usage_error("unknown option", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument", argv[optind]);
    if (o->demo_psk && o->psk_file)
        return usage_error("--demo-psk and --psk-file exclude each other", NULL);
    return 0;
}

/* The write end of the signal pipe; the handler's only state (a process has one console). */
static int signal_pipe_w = -1;

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    ssize_t n = write(signal_pipe_w, &b, 1); /* async-signal-safe; a full pipe already says enough */
    (void)n;
    errno = saved;
}

/* Routes SIGINT, SIGTERM and SIGHUP into a pipe; ignores SIGPIPE. Returns the read end, or -1. */
static int open_signal_pipe(void)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
        return -1;
    signal_pipe_w = fds[1];
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* the library sends with MSG_NOSIGNAL; this covers stdout */
    return fds[0];
}

/* Runs the console until /quit or a stop signal. */
static void run_console(secchat_server *srv, int sigfd, const char *authorized_keys, int quiet)
{
    int stdin_open = 1;
    char *line = NULL;
    size_t cap = 0;
    for (;;) {
        struct pollfd fds[2] = {{.fd = sigfd, .events = POLLIN}, {.fd = STDIN_FILENO, .events = POLLIN}};
        int n = poll(fds, stdin_open ? 2 : 1, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        if (fds[0].revents & POLLIN) {
            unsigned char sig;
            if (read(sigfd, &sig, 1) == 1) {
                if (sig == SIGHUP) {
                    if (authorized_keys)
                        (void)load_authorized_keys(srv, authorized_keys, 1);
                    else
                        printf("SIGHUP: no --authorized-keys file to reload\n");
                    continue;
                }
                if (!quiet)
                    printf("Shutting down (signal %u)\n", (unsigned)sig);
                break;
            }
        }
        if (stdin_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            if (getline(&line, &cap, stdin) < 0) {
                stdin_open = 0; /* no operator (a service): keep serving */
                continue;
            }
            if (console_line(srv, line)) {
                if (!quiet)
                    printf("Shutting down\n");
                break;
            }
        }
    }
    free(line);
}

int main(int argc, char **argv)
{
    struct options o;
    memset(&o, 0, sizeof o);
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc;
    (void)setvbuf(stdout, NULL, _IOLBF, 0); /* on failure the console is only less timely */

    secchat_config *cfg = NULL;
    rc = secchat_config_new(&cfg);
    if (rc != SECCHAT_OK) {
        fprintf(stderr, PROG ": %s\n", secchat_strerror(rc));
        return EXIT_RUNTIME;
    }

    /* The server's threads start with these signals blocked (they inherit
     * the mask), so the handler runs here or in no thread of ours at all. */
    int sigfd = open_signal_pipe();
    if (sigfd < 0) {
        fprintf(stderr, PROG ": cannot set up signal handling: %s\n", strerror(errno));
        secchat_config_free(cfg);
        return EXIT_RUNTIME;
    }
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);

    secchat_server_callbacks cb = {.arg = &o.quiet, .event = print_event};
    secchat_server *srv = NULL;
    const char *listen = o.server.listen ? o.server.listen : SECCHAT_SERVER_DEFAULT_LISTEN;
    rc = secchat_server_new(&srv, cfg, &o.server, &cb);
    /* Keys after the address is known to parse: a typo creates no files. */
    if (rc == SECCHAT_OK && load_keys(&o, cfg) != SECCHAT_OK) {
        secchat_server_free(srv);
        secchat_config_free(cfg);
        close(sigfd);
        return EXIT_RUNTIME;
    }
    if (rc == SECCHAT_OK && o.authorized_keys && load_authorized_keys(srv, o.authorized_keys, 0) != SECCHAT_OK) {
        secchat_server_free(srv);
        secchat_config_free(cfg);
        close(sigfd);
        return EXIT_RUNTIME;
    }
    if (rc == SECCHAT_OK)
        rc = secchat_server_start(srv);
    if (rc != SECCHAT_OK) {
        if (rc == SECCHAT_ERR_LISTEN)
            fprintf(stderr, PROG ": cannot listen on %s: %s\n", listen, strerror(errno));
        else if (rc == SECCHAT_ERR_ADDRESS)
            fprintf(stderr, PROG ": bad --listen address '%s': use ADDR:PORT, e.g. 127.0.0.1:8080 or [::1]:8080\n",
                    listen);
        else
            fprintf(stderr, PROG ": %s\n", secchat_strerror(rc));
        secchat_server_free(srv);
        secchat_config_free(cfg);
        close(sigfd);
        return EXIT_RUNTIME;
    }

    pthread_sigmask(SIG_UNBLOCK, &mask, NULL); /* the threads exist: signals may come here now */
    run_console(srv, sigfd, o.authorized_keys, o.quiet);
    secchat_server_stop(srv, 2000);
    secchat_server_free(srv);
    secchat_config_free(cfg);
    close(sigfd);
    return 0;
}
