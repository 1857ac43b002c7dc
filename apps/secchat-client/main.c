/*
 * secchat-client: the terminal chat client.
 *
 *   secchat-client [--url ws://HOST:PORT[/PATH]] [--name NAME] [--psk-file FILE | --demo-psk]
 *                  [--key-file FILE] [--server-key FINGERPRINT|FILE | --no-pin]
 *
 * The connection runs in secchat_client_run on a second thread; the main
 * thread owns the terminal (ui.h). Lines typed are sent as chat messages;
 * "quit" (or end of input) closes the connection.
 *
 * Exit status: 0 after a clean close, 1 on a runtime error (connection, keys,
 * handshake), 2 on bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <secchat.h>

#include "trust.h"
#include "ui.h"

#define PROG "secchat-client"
#define DEFAULT_URL "ws://127.0.0.1:8080"
/* The original program's PSK: public, so it keeps nobody out (docs/keys.md). */
#define DEMO_PSK "my_super_secret_pre_shared_key!!"

enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

_Static_assert(sizeof DEMO_PSK - 1 == SECCHAT_PSK_LEN, "the demo PSK is 32 bytes");

static const char usage_line[] =
    "Usage: " PROG " [--url ws://HOST:PORT[/PATH]] [--name NAME] [--psk-file FILE | --demo-psk]\n"
    "                      [--key-file FILE] [--server-key FINGERPRINT|FILE | --no-pin]\n";

static const char help_text[] =
    "Connects to a secchat server (WebSocket + Noise_XXpsk2) and chats from the terminal.\n"
    "\n"
    "  --url URL          server to connect to (default " DEFAULT_URL ")\n"
    "  --name NAME        answer the server's name prompt with NAME\n"
    "                     (without it, the first line you type is your name)\n"
    "  --psk-file FILE    the pre-shared key file (also: $SECCHAT_PSK_FILE;\n"
    "                     default: $XDG_CONFIG_HOME/secchat/psk or ~/.config/secchat/psk)\n"
    "  --demo-psk         use the original program's PSK; it is public: demos only\n"
    "  --key-file FILE    this client's static private key (default: a new one per run)\n"
    "  --server-key K     accept only this server key: a fingerprint or a public key file\n"
    "  --no-pin           accept any server key (no known_servers check)\n"
    "  --help, --version\n"
    "\n"
    "Unless --server-key or --no-pin is given, the server's key is pinned on first\n"
    "contact in <config dir>/known_servers and checked on every later connection.\n"
    "Type a line to send it; \"quit\" or end of input disconnects.\n"
    "Exit status: 0 after a clean close, 1 on errors, 2 on bad usage. Keys: docs/keys.md.\n";

struct options {
    const char *url;
    const char *name;
    const char *psk_file;
    int demo_psk;
    const char *key_file;
    const char *server_key;
    int no_pin;
};

/* Everything both threads see; the client thread writes only through ui. */
struct app {
    secchat_client *client;
    ui_channel ui;
    trust trust;
    int quitting;  /* main thread: quit was asked for */
    int connected; /* set by the client thread; read after join */
    int result;    /* run's return value; read after join */
    uint16_t close_code;
    char close_reason[128];
};

static volatile sig_atomic_t got_signal;

static int usage_error(const char *what, const char *arg)
{
    if (arg)
        fprintf(stderr, PROG ": %s '%s'\n", what, arg);
    else
        fprintf(stderr, PROG ": %s\n", what);
    fprintf(stderr, "%sTry '" PROG " --help' for more information.\n", usage_line);
    return EXIT_USAGE;
}

/* Fills *opt; returns -1 to go on, else the exit status. */
static int parse_options(int argc, char **argv, struct options *opt)
{
    enum { OPT_URL = 256, OPT_NAME, OPT_PSK_FILE, OPT_DEMO_PSK, OPT_KEY_FILE, OPT_SERVER_KEY, OPT_NO_PIN, OPT_VERSION };
    /* clang-format off */
    static const struct option longopts[] = {
        {"url",        required_argument, NULL, OPT_URL},
        {"name",       required_argument, NULL, OPT_NAME},
        {"psk-file",   required_argument, NULL, OPT_PSK_FILE},
        {"demo-psk",   no_argument,       NULL, OPT_DEMO_PSK},
        {"key-file",   required_argument, NULL, OPT_KEY_FILE},
        {"server-key", required_argument, NULL, OPT_SERVER_KEY},
        {"no-pin",     no_argument,       NULL, OPT_NO_PIN},
        {"help",       no_argument,       NULL, 'h'},
        {"version",    no_argument,       NULL, OPT_VERSION},
        {NULL,         0,                 NULL, 0},
    };
    /* clang-format on */
    int c;
    opterr = 0; /* our messages name the program, not argv[0] */
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_URL:
            opt->url = optarg;
            break;
        case OPT_NAME:
            if (!optarg[0])
                return usage_error("option '--name' needs a name", NULL);
            opt->name = optarg;
            break;
        case OPT_PSK_FILE:
            opt->psk_file = optarg;
            break;
        case OPT_DEMO_PSK:
            opt->demo_psk = 1;
            break;
        case OPT_KEY_FILE:
            opt->key_file = optarg;
            break;
        case OPT_SERVER_KEY:
            opt->server_key = optarg;
            break;
        case OPT_NO_PIN:
            opt->no_pin = 1;
            break;
        case 'h':
            fputs(usage_line, stdout);
            fputs(help_text, stdout);
            return 0;
        case OPT_VERSION:
            printf(PROG " (libsecchat) %s\n", secchat_version_string());
            return 0;
        case ':':
            return usage_error("option needs an argument:", argv[optind - 1]);
        default:
            return usage_error("unknown option", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument", argv[optind]);
    if (opt->server_key && opt->no_pin)
        return usage_error("--server-key and --no-pin exclude each other", NULL);
    if (opt->demo_psk && opt->psk_file)
        return usage_error("--demo-psk and --psk-file exclude each other", NULL);
    if (opt->psk_file && !opt->psk_file[0])
        return usage_error("option '--psk-file' needs a file", NULL);
    return -1;
}

/* "secchat-client: PATH: reason" for a key file error; errno matters for KEY_IO. */
static int key_error(const char *path, int rc, int saved_errno)
{
    if (rc == SECCHAT_ERR_KEY_IO)
        fprintf(stderr, PROG ": %s: %s (%s)\n", path, secchat_strerror(rc), strerror(saved_errno));
    else
        fprintf(stderr, PROG ": %s: %s\n", path, secchat_strerror(rc));
    return EXIT_RUNTIME;
}

/* The PSK, in the documented order; returns -1 when set, else the exit status. */
static int load_psk(const struct options *opt, secchat_config *cfg, const char *config_dir)
{
    uint8_t psk[SECCHAT_PSK_LEN];
    const char *env = getenv("SECCHAT_PSK_FILE");
    char path[4200];
    const char *file = NULL;
    if (opt->psk_file) {
        file = opt->psk_file;
    } else if (env && env[0] && !opt->demo_psk) { /* a flag wins over the environment */
        file = env;
    } else if (opt->demo_psk) {
        fprintf(stderr, PROG ": warning: --demo-psk uses the original program's PSK, which is public:\n"
                             "  anyone can join or impersonate the server. Use it for demos only.\n");
        memcpy(psk, DEMO_PSK, SECCHAT_PSK_LEN); /* NOLINT(bugprone-not-null-terminated-result): key bytes */
    } else {
        if (!config_dir) {
            fprintf(stderr, PROG ": no PSK: neither XDG_CONFIG_HOME nor HOME is set; use --psk-file FILE\n");
            return EXIT_RUNTIME;
        }
        snprintf(path, sizeof path, "%s/psk", config_dir);
        struct stat st;
        if (stat(path, &st) != 0 && errno == ENOENT) {
            fprintf(stderr,
                    PROG ": no pre-shared key: %s does not exist.\n"
                         "  Copy the server's psk file there (mode 0600; secchat-keygen makes one, and\n"
                         "  secchat-server creates it on its first start), or pass --psk-file FILE;\n"
                         "  --demo-psk talks to servers started with the original program's public PSK.\n",
                    path);
            return EXIT_RUNTIME;
        }
        file = path;
    }
    if (file) {
        int rc = secchat_key_file_read(file, SECCHAT_KEY_PSK, psk);
        if (rc != SECCHAT_OK)
            return key_error(file, rc, errno);
    }
    int rc = secchat_config_set_psk(cfg, psk);
    secchat_memzero(psk, sizeof psk);
    if (rc != SECCHAT_OK) {
        fprintf(stderr, PROG ": %s\n", secchat_strerror(rc));
        return EXIT_RUNTIME;
    }
    return -1;
}

static int load_static_key(const char *file, secchat_config *cfg)
{
    uint8_t key[SECCHAT_KEY_LEN];
    int rc = secchat_key_file_read(file, SECCHAT_KEY_PRIVATE, key);
    if (rc != SECCHAT_OK)
        return key_error(file, rc, errno);
    rc = secchat_config_set_static_key(cfg, key);
    secchat_memzero(key, sizeof key);
    if (rc != SECCHAT_OK) {
        fprintf(stderr, PROG ": %s: %s\n", file, secchat_strerror(rc));
        return EXIT_RUNTIME;
    }
    return -1;
}

/* Sets up the trust policy; returns -1 to go on, else the exit status. */
static int setup_trust(const struct options *opt, const secchat_ws_url *url, const char *config_dir, trust *t)
{
    snprintf(t->server, sizeof t->server, url->is_ipv6 ? "[%s]:%u" : "%s:%u", url->host, (unsigned)url->port);
    if (opt->no_pin) {
        t->mode = TRUST_NONE;
        return -1;
    }
    if (opt->server_key) {
        struct stat st;
        if (stat(opt->server_key, &st) == 0 || strchr(opt->server_key, '/')) {
            int rc = secchat_key_file_read(opt->server_key, SECCHAT_KEY_PUBLIC, t->expected);
            if (rc != SECCHAT_OK)
                return key_error(opt->server_key, rc, errno);
            t->mode = TRUST_KEY;
            t->key_file = opt->server_key;
            return -1;
        }
        if (!trust_is_fingerprint(opt->server_key))
            return usage_error("--server-key wants a fingerprint (xxxx:xxxx:...) or a public key file, not",
                               opt->server_key);
        t->mode = TRUST_FP;
        t->expected_fp = opt->server_key;
        return -1;
    }
    if (!config_dir) {
        fprintf(stderr, PROG ": cannot pin the server key: neither XDG_CONFIG_HOME nor HOME is set;\n"
                             "  use --server-key or --no-pin\n");
        return EXIT_RUNTIME;
    }
    t->mode = TRUST_PIN;
    snprintf(t->config_dir, sizeof t->config_dir, "%s", config_dir);
    snprintf(t->known_path, sizeof t->known_path, "%s/known_servers", config_dir);
    return -1;
}

/* ---- the client thread ------------------------------------------------------ */

static void on_event(void *arg, const secchat_client_event *ev)
{
    struct app *a = arg;
    switch (ev->type) {
    case SECCHAT_CLIENT_EVENT_CONNECTED:
        a->connected = 1;
        ui_post(&a->ui, UI_STDOUT, "Connected to server");
        break;
    case SECCHAT_CLIENT_EVENT_HANDSHAKE:
        ui_post(&a->ui, UI_STDOUT, "Starting Noise handshake...");
        break;
    case SECCHAT_CLIENT_EVENT_SECURE:
        ui_post(&a->ui, UI_STDOUT, "Secure channel established");
        ui_post(&a->ui, UI_STDOUT, "Server key fingerprint: %s", ev->fingerprint);
        break;
    case SECCHAT_CLIENT_EVENT_MESSAGE: {
        const secchat_message *m = ev->message;
        int dm = m->type && strcmp(m->type, "dm") == 0;
        ui_post(&a->ui, UI_STDOUT, "%s%s: %s", m->sender, dm ? " (private)" : "", m->content);
        break;
    }
    case SECCHAT_CLIENT_EVENT_CLOSED:
        a->close_code = ev->close_code;
        snprintf(a->close_reason, sizeof a->close_reason, "%s", ev->reason ? ev->reason : "");
        break;
    }
}

static void *client_thread(void *arg)
{
    struct app *a = arg;
    a->result = secchat_client_run(a->client);
    ui_channel_close_writer(&a->ui); /* the main thread reads EOF: we are done */
    return NULL;
}

/* ---- the main thread ---------------------------------------------------------- */

static void quit(struct app *a)
{
    if (a->quitting)
        return;
    a->quitting = 1;
    term_stop(); /* no more input, no prompt */
    const char *text = "Disconnecting...";
    term_print(UI_STDOUT, text, strlen(text));
    int rc = secchat_client_close(a->client);
    (void)rc; /* NOT_RUNNING: the connection is over already, and the thread ends by itself */
}

static void on_line(const char *line, void *arg)
{
    struct app *a = arg;
    if (!line || strcmp(line, "quit") == 0) {
        quit(a);
        return;
    }
    if (!line[0])
        return;
    int rc = secchat_client_send(a->client, line);
    if (rc == SECCHAT_ERR_INVALID_ARGUMENT) {
        const char *text = PROG ": line not sent: it is not valid UTF-8";
        term_print(UI_STDERR, text, strlen(text));
    } else if (rc != SECCHAT_OK && rc != SECCHAT_ERR_NOT_RUNNING) {
        char text[160];
        snprintf(text, sizeof text, PROG ": line not sent: %s", secchat_strerror(rc));
        term_print(UI_STDERR, text, strlen(text));
    }
}

static void on_signal(int sig)
{
    got_signal = sig;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: poll returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Polls stdin and the pipe from the client thread until the thread is done. */
static void main_loop(struct app *a)
{
    int stdin_open = 1;
    for (;;) {
        if (got_signal) {
            if (a->quitting) { /* a second interrupt: stop waiting for the close */
                term_stop();
                _exit(130);
            }
            got_signal = 0;
            quit(a);
        }
        struct pollfd p[2] = {{a->ui.rfd, POLLIN, 0}, {0, POLLIN, 0}};
        nfds_t n = stdin_open && !a->quitting ? 2 : 1;
        if (poll(p, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            if (ui_channel_drain(&a->ui) <= 0)
                return; /* EOF: the client thread has finished */
        }
        if (n == 2 && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            if (p[1].revents & POLLNVAL)
                stdin_open = 0;
            else
                term_read();
        }
    }
}

static const char *hint_for(int error)
{
    switch (error) {
    case SECCHAT_ERR_SESSION_HANDSHAKE:
        return "\n  (the server's PSK probably differs from this one: check --psk-file / the psk file)";
    case SECCHAT_ERR_TIMEOUT:
        return "\n  (is a secchat server listening at that address?)";
    default:
        return "";
    }
}

/* The last lines, once the client thread is done; returns the exit status. */
static int report_end(struct app *a, const char *url)
{
    int err = a->result;
    if (err == SECCHAT_OK) {
        if (a->quitting)
            printf("Disconnected\n");
        else
            printf("Disconnected (%u%s%s)\n", a->close_code, a->close_reason[0] ? " " : "", a->close_reason);
        fflush(stdout);
        /* A clean close is still a refusal when the server says so (1008: kicked,
         * key not authorized, too many names): scripts must see it. */
        if (a->quitting || a->close_code == 1000 || a->close_code == 1001)
            return 0;
        fprintf(stderr, PROG ": the server closed the connection (%u%s%s)\n", a->close_code,
                a->close_reason[0] ? " " : "", a->close_reason);
        return EXIT_RUNTIME;
    }
    if (a->connected) {
        /* 1006 has no reason from anyone: the error line below says what happened. */
        int why = a->close_reason[0] && a->close_code != 1006;
        printf("Disconnected (%u%s%s)\n", a->close_code, why ? " " : "", why ? a->close_reason : "");
        fflush(stdout);
    }
    if (err == SECCHAT_ERR_CONNECT || err == SECCHAT_ERR_ADDRESS)
        fprintf(stderr, PROG ": %s: %s (%s)\n", url, secchat_strerror(err), a->close_reason);
    else if (err == SECCHAT_ERR_SESSION_PEER_REJECTED && a->trust.refused)
        fprintf(stderr, PROG ": not connected: the server's key was refused (see above)\n");
    else
        fprintf(stderr, PROG ": %s%s\n", secchat_strerror(err), hint_for(err));
    return EXIT_RUNTIME;
}

int main(int argc, char **argv)
{
    struct options opt = {.url = DEFAULT_URL};
    int status = parse_options(argc, argv, &opt);
    if (status >= 0)
        return status;
    secchat_ws_url where;
    if (secchat_ws_url_parse(&where, opt.url) != SECCHAT_OK)
        return usage_error("not a ws://HOST[:PORT][/PATH] URL:", opt.url);

    char dir_buf[4096];
    const char *config_dir = secchat_user_config_dir(dir_buf, sizeof dir_buf) == SECCHAT_OK ? dir_buf : NULL;
    static struct app a; /* large (paths); one per process */
    a.ui.rfd = a.ui.wfd = -1;
    secchat_config *cfg = NULL;
    int rc = secchat_config_new(&cfg);
    if (rc != SECCHAT_OK) {
        fprintf(stderr, PROG ": %s\n", secchat_strerror(rc));
        return EXIT_RUNTIME;
    }
    if ((status = setup_trust(&opt, &where, config_dir, &a.trust)) >= 0 ||
        (status = load_psk(&opt, cfg, config_dir)) >= 0 ||
        (opt.key_file && (status = load_static_key(opt.key_file, cfg)) >= 0)) {
        secchat_config_free(cfg);
        return status;
    }
    if (ui_channel_open(&a.ui) != 0) {
        fprintf(stderr, PROG ": pipe: %s\n", strerror(errno));
        secchat_config_free(cfg);
        return EXIT_RUNTIME;
    }
    a.trust.ui = &a.ui;
    if (a.trust.mode != TRUST_NONE && (rc = secchat_config_set_verify(cfg, trust_verify, &a.trust)) != SECCHAT_OK) {
        fprintf(stderr, PROG ": %s\n", secchat_strerror(rc));
        return EXIT_RUNTIME;
    }
    secchat_client_options copts = {.name = opt.name};
    rc = secchat_client_new(&a.client, cfg, opt.url, &copts, on_event, &a);
    if (rc != SECCHAT_OK) {
        fprintf(stderr, PROG ": %s: %s\n", opt.url, secchat_strerror(rc));
        ui_channel_free(&a.ui);
        secchat_config_free(cfg);
        return rc == SECCHAT_ERR_INVALID_ARGUMENT ? EXIT_USAGE : EXIT_RUNTIME;
    }

    install_signals();
    printf("Connecting to server at: %s\n", opt.url);
    fflush(stdout);
    /* Signals go to the main thread, which owns the terminal: the client
     * thread starts with them blocked. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    pthread_t thread;
    int started = pthread_create(&thread, NULL, client_thread, &a) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!started) {
        fprintf(stderr, PROG ": cannot start the client thread\n");
        secchat_client_free(a.client);
        ui_channel_free(&a.ui);
        secchat_config_free(cfg);
        return EXIT_RUNTIME;
    }
    term_start(isatty(0), on_line, &a);
    main_loop(&a);
    term_stop();
    pthread_join(thread, NULL);
    /* Whatever the thread wrote after the last poll. */
    while (ui_channel_drain(&a.ui) > 0) {
    }
    status = report_end(&a, opt.url);
    secchat_client_free(a.client);
    ui_channel_free(&a.ui);
    secchat_config_free(cfg);
    return status;
}
