/*
 * secchat-keygen: creates the pre-shared key and the server's static key pair
 * as key files (formats and places: docs/keys.md).
 *
 *   secchat-keygen [--dir DIR] [--force] [--psk-only | --key-only] [--quiet]
 *
 * Writes DIR/psk and DIR/server.key (0600) and DIR/server.pub (0644), DIR
 * being $XDG_CONFIG_HOME/secchat or ~/.config/secchat unless --dir says
 * otherwise. An existing file is never replaced without --force, and then
 * nothing at all is written. Prints the public key, its fingerprint and the
 * paths, never the PSK or the private key.
 *
 * Exit status: 0 success, 1 runtime failure, 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <secchat.h>

#define PROG "secchat-keygen"

enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

_Static_assert(SECCHAT_KEY_LEN == SECCHAT_NOISE_KEY_LEN, "key files hold Noise keys");

static const char usage_line[] = "Usage: " PROG " [--dir DIR] [--force] [--psk-only | --key-only] [--quiet]\n";

static const char help_text[] =
    "Creates the pre-shared key (PSK) and the server's static key pair as key files.\n"
    "\n"
    "  --dir DIR    write the files into DIR, created with mode 0700 if missing\n"
    "               (default: $XDG_CONFIG_HOME/secchat, or ~/.config/secchat)\n"
    "  --force      replace existing key files (without it: refuse, write nothing)\n"
    "  --psk-only   write only DIR/psk\n"
    "  --key-only   write only DIR/server.key and DIR/server.pub\n"
    "  --quiet      print nothing on success (errors and warnings still go to stderr)\n"
    "  --help       show this help and exit\n"
    "  --version    show the version of libsecchat and exit\n"
    "\n"
    "Files: DIR/psk and DIR/server.key (mode 0600), DIR/server.pub (mode 0644).\n"
    "The public key and its fingerprint are printed; the PSK and the private key never are.\n"
    "Exit status: 0 success, 1 failure, 2 usage error. Formats: docs/keys.md.\n";

struct options {
    const char *dir; /* NULL: the per-user configuration directory */
    int force;
    int psk_only;
    int key_only;
    int quiet;
};

/* One file to write. */
struct target {
    const char *name; /* file name inside the directory */
    enum secchat_key_type type;
    const char *label; /* for the "Wrote" line */
    int wanted;
    char *path;
    int existed; /* before this run */
    int written; /* by this run */
};

enum { T_PSK, T_PRIVATE, T_PUBLIC, T_COUNT };

/* Prints "secchat-keygen: what 'arg'" (or just what) and the usage line. */
static int usage_error(const char *what, const char *arg)
{
    if (arg != NULL)
        fprintf(stderr, PROG ": %s '%s'\n", what, arg);
    else
        fprintf(stderr, PROG ": %s\n", what);
    fprintf(stderr, "%sTry '" PROG " --help' for more information.\n", usage_line);
    return EXIT_USAGE;
}

/* Fills *opt from the command line. Returns -1 to go on, else the exit status. */
static int parse_options(int argc, char **argv, struct options *opt)
{
    enum { OPT_DIR = 256, OPT_FORCE, OPT_PSK_ONLY, OPT_KEY_ONLY, OPT_QUIET, OPT_VERSION };
    /* clang-format off */
    static const struct option longopts[] = {
        {"dir",      required_argument, NULL, OPT_DIR},
        {"force",    no_argument,       NULL, OPT_FORCE},
        {"psk-only", no_argument,       NULL, OPT_PSK_ONLY},
        {"key-only", no_argument,       NULL, OPT_KEY_ONLY},
        {"quiet",    no_argument,       NULL, OPT_QUIET},
        {"help",     no_argument,       NULL, 'h'},
        {"version",  no_argument,       NULL, OPT_VERSION},
        {NULL,       0,                 NULL, 0},
    };
    /* clang-format on */
    int c;

    opterr = 0; /* messages below name the program, not argv[0] */
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_DIR:
            if (optarg[0] == '\0')
                return usage_error("option '--dir' needs a directory", NULL);
            opt->dir = optarg;
            break;
        case OPT_FORCE:
            opt->force = 1;
            break;
        case OPT_PSK_ONLY:
            opt->psk_only = 1;
            break;
        case OPT_KEY_ONLY:
            opt->key_only = 1;
            break;
        case OPT_QUIET:
            opt->quiet = 1;
            break;
        case 'h':
            fputs(usage_line, stdout);
            fputs(help_text, stdout);
            return EXIT_SUCCESS;
        case OPT_VERSION:
            printf(PROG " (libsecchat) %s\n", secchat_version_string());
            return EXIT_SUCCESS;
        case ':':
            return usage_error("missing argument for option", argv[optind - 1]);
        default:
            if (optopt > 0 && optopt < 256) {
                char flag[3] = {'-', (char)optopt, '\0'};
                return usage_error("unknown option", flag);
            }
            return usage_error("unknown option", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument", argv[optind]);
    if (opt->psk_only && opt->key_only)
        return usage_error("--psk-only and --key-only exclude each other", NULL);
    return -1;
}

/* Reports a failed key call on path; err is errno right after the call. */
static void key_error(const char *path, int rc, int err)
{
    if (rc == SECCHAT_ERR_KEY_IO && err != 0)
        fprintf(stderr, PROG ": %s: %s\n", path, strerror(err));
    else
        fprintf(stderr, PROG ": %s: %s\n", path, secchat_strerror(rc));
}

/* dir + "/" + name, or NULL (out of memory). */
static char *join_path(const char *dir, const char *name)
{
    size_t dlen = strlen(dir), size = dlen + strlen(name) + 2;
    char *path = malloc(size);
    if (path != NULL)
        snprintf(path, size, "%s%s%s", dir, dlen > 0 && dir[dlen - 1] != '/' ? "/" : "", name);
    return path;
}

/* Creates one directory level with mode 0700 (whatever the umask), or accepts an existing directory. */
static int make_one_dir(const char *path)
{
    struct stat st;
    if (mkdir(path, 0700) == 0) {
        /* The umask may have taken bits away that we need. */
        if (chmod(path, 0700) != 0) {
            fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
            return -1;
        }
        return 0;
    }
    int err = errno;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    fprintf(stderr, PROG ": %s: %s\n", path, strerror(err == EEXIST ? ENOTDIR : err));
    return -1;
}

/*
 * Creates dir and its missing parents with mode 0700, like mkdir -p (the XDG
 * base directory rule for new directories). An existing dir that group or
 * others may write to gets a warning: whoever can write there can replace
 * the key files.
 */
static int make_dir(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            fprintf(stderr, PROG ": %s: %s\n", dir, strerror(ENOTDIR));
            return -1;
        }
        if (st.st_mode & (S_IWGRP | S_IWOTH))
            fprintf(stderr,
                    PROG ": warning: %s is writable by group or others (mode %04o), who could replace the key files; "
                         "consider chmod 700 %s\n",
                    dir, (unsigned)(st.st_mode & 07777), dir);
        return 0;
    }
    char *p = strdup(dir);
    if (p == NULL) {
        fprintf(stderr, PROG ": %s\n", strerror(ENOMEM));
        return -1;
    }
    int rc = 0;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        rc = make_one_dir(p);
        *s = c;
        if (rc != 0 || c == '\0')
            break;
    }
    free(p);
    return rc;
}

/* Removes what this run created after a failure; files it replaced are gone for good and named. */
static void undo(const struct target *t)
{
    for (int i = 0; i < T_COUNT; i++) {
        if (!t[i].written)
            continue;
        if (t[i].existed)
            fprintf(stderr, PROG ": note: %s was already replaced\n", t[i].path);
        else if (unlink(t[i].path) == 0)
            fprintf(stderr, PROG ": removed %s, written before the failure\n", t[i].path);
        else
            fprintf(stderr, PROG ": %s: written before the failure, cannot remove: %s\n", t[i].path, strerror(errno));
    }
}

static int run(const struct options *opt)
{
    struct target t[T_COUNT] = {
        [T_PSK] = {"psk", SECCHAT_KEY_PSK, "pre-shared key, mode 0600", !opt->key_only, NULL, 0, 0},
        [T_PRIVATE] = {"server.key", SECCHAT_KEY_PRIVATE, "private key, mode 0600", !opt->psk_only, NULL, 0, 0},
        [T_PUBLIC] = {"server.pub", SECCHAT_KEY_PUBLIC, "public key", !opt->psk_only, NULL, 0, 0},
    };
    uint8_t psk[SECCHAT_KEY_LEN], private_key[SECCHAT_KEY_LEN], public_key[SECCHAT_KEY_LEN];
    char config_dir[4096], *dir = NULL;
    const uint8_t *keys[T_COUNT] = {psk, private_key, public_key};
    char base64[SECCHAT_KEY_BASE64_LEN + 1], fingerprint[SECCHAT_FINGERPRINT_SIZE];
    int status = EXIT_RUNTIME, rc, err;

    if (opt->dir == NULL) {
        rc = secchat_user_config_dir(config_dir, sizeof config_dir);
        if (rc == SECCHAT_ERR_KEY_IO) {
            fprintf(stderr, PROG ": neither XDG_CONFIG_HOME nor HOME is set; name a directory with --dir\n");
            return EXIT_RUNTIME;
        }
        if (rc != SECCHAT_OK) {
            fprintf(stderr, PROG ": configuration directory: %s\n", secchat_strerror(rc));
            return EXIT_RUNTIME;
        }
    }
    dir = strdup(opt->dir != NULL ? opt->dir : config_dir);
    if (dir == NULL)
        goto nomem;
    for (size_t len = strlen(dir); len > 1 && dir[len - 1] == '/'; len--)
        dir[len - 1] = '\0';

    /* Every target is checked before anything is written. */
    for (int i = 0; i < T_COUNT; i++) {
        struct stat st;
        if (!t[i].wanted)
            continue;
        if ((t[i].path = join_path(dir, t[i].name)) == NULL)
            goto nomem;
        if (lstat(t[i].path, &st) == 0) {
            t[i].existed = 1;
        } else if (errno != ENOENT && errno != ENOTDIR) { /* ENOTDIR: make_dir reports it */
            fprintf(stderr, PROG ": %s: %s\n", t[i].path, strerror(errno));
            goto out;
        }
        if (t[i].existed && !opt->force) {
            fprintf(stderr, PROG ": %s: %s; nothing written\n", t[i].path, secchat_strerror(SECCHAT_ERR_KEY_EXISTS));
            goto out;
        }
    }
    if (make_dir(dir) != 0)
        goto out;

    if (t[T_PSK].wanted && (rc = secchat_random_bytes(psk, sizeof psk)) != SECCHAT_OK) {
        fprintf(stderr, PROG ": cannot generate the PSK: %s\n", secchat_strerror(rc));
        goto out;
    }
    if (t[T_PRIVATE].wanted) {
        if ((rc = secchat_keypair_generate(public_key, private_key)) != SECCHAT_OK ||
            (rc = secchat_key_to_base64(public_key, base64)) != SECCHAT_OK ||
            (rc = secchat_fingerprint(public_key, fingerprint)) != SECCHAT_OK) {
            fprintf(stderr, PROG ": cannot generate the key pair: %s\n", secchat_strerror(rc));
            goto out;
        }
    }
    for (int i = 0; i < T_COUNT; i++) {
        if (!t[i].wanted)
            continue;
        errno = 0;
        rc = secchat_key_file_write(t[i].path, t[i].type, keys[i], opt->force);
        err = errno;
        if (rc != SECCHAT_OK) {
            key_error(t[i].path, rc, err);
            undo(t);
            goto out;
        }
        t[i].written = 1;
        if (i == T_PSK)
            secchat_memzero(psk, sizeof psk);
        else if (i == T_PRIVATE)
            secchat_memzero(private_key, sizeof private_key);
    }

    if (!opt->quiet) {
        for (int i = 0; i < T_COUNT; i++) {
            if (t[i].written)
                printf("Wrote %s (%s)\n", t[i].path, t[i].label);
        }
        if (t[T_PUBLIC].written) {
            printf("Public key:  %s\n", base64);
            printf("Fingerprint: %s\n", fingerprint);
        }
        if (t[T_PSK].written)
            printf("Give the psk file to every client (copy it over a trusted channel; keep it 0600).\n");
        if (fflush(stdout) != 0) {
            fprintf(stderr, PROG ": standard output: %s\n", strerror(errno));
            goto out;
        }
    }
    status = EXIT_SUCCESS;
    goto out;

nomem:
    fprintf(stderr, PROG ": %s\n", strerror(ENOMEM));
out:
    secchat_memzero(psk, sizeof psk);
    secchat_memzero(private_key, sizeof private_key);
    for (int i = 0; i < T_COUNT; i++)
        free(t[i].path);
    free(dir);
    return status;
}

int main(int argc, char **argv)
{
    struct options opt = {0};
    int status = parse_options(argc, argv, &opt);
    if (status >= 0)
        return status;
    return run(&opt);
}
