/* Where secchat-server's PSK and static key come from (docs/keys.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "server_app.h"

/* The original program's hard-coded PSK: public, for talking to it only. */
static const char demo_psk[] = "my_super_secret_pre_shared_key!!";
_Static_assert(sizeof demo_psk - 1 == SECCHAT_PSK_LEN, "the demo PSK is 32 bytes");

static void report(const char *path, int rc)
{
    if (rc == SECCHAT_ERR_KEY_IO)
        fprintf(stderr, PROG ": %s: %s (%s)\n", path, secchat_strerror(rc), strerror(errno));
    else if (rc == SECCHAT_ERR_KEY_PERMISSIONS)
        fprintf(stderr, PROG ": %s: %s; fix it with: chmod 600 %s\n", path, secchat_strerror(rc), path);
    else
        fprintf(stderr, PROG ": %s: %s\n", path, secchat_strerror(rc));
}

static int read_key(const char *path, enum secchat_key_type type, uint8_t key[SECCHAT_KEY_LEN])
{
    int rc = secchat_key_file_read(path, type, key);
    if (rc != SECCHAT_OK)
        report(path, rc);
    return rc;
}

/* Reads path, or creates it with a fresh key when it does not exist yet. */
static int read_or_create(const char *path, enum secchat_key_type type, uint8_t key[SECCHAT_KEY_LEN], int *created)
{
    *created = 0;
    struct stat st;
    if (stat(path, &st) == 0 || errno != ENOENT)
        return read_key(path, type, key);
    uint8_t pub[SECCHAT_KEY_LEN];
    int rc = type == SECCHAT_KEY_PSK ? secchat_random_bytes(key, SECCHAT_KEY_LEN) : secchat_keypair_generate(pub, key);
    if (rc == SECCHAT_OK)
        rc = secchat_key_file_write(path, type, key, 0);
    if (rc != SECCHAT_OK) {
        report(path, rc);
        return rc;
    }
    *created = 1;
    return SECCHAT_OK;
}

static int config_path(char *out, size_t cap, const char *file)
{
    char dir[4096];
    int rc = secchat_user_config_dir(dir, sizeof dir);
    if (rc != SECCHAT_OK) {
        fprintf(stderr, PROG ": no configuration directory (set HOME or XDG_CONFIG_HOME, or use --psk-file and --key-file)\n");
        return rc;
    }
    /* Create it (and ~/.config) private to the user, as keys live there. */
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", dir);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = '\0';
        (void)mkdir(parent, 0700);
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, PROG ": cannot create %s: %s\n", dir, strerror(errno));
        return SECCHAT_ERR_KEY_IO;
    }
    if ((size_t)snprintf(out, cap, "%s/%s", dir, file) >= cap)
        return SECCHAT_ERR_BUFFER_TOO_SMALL;
    return SECCHAT_OK;
}

static int write_public(const char *private_path, const uint8_t priv[SECCHAT_KEY_LEN])
{
    char pub_path[4200];
    snprintf(pub_path, sizeof pub_path, "%.*s.pub", (int)(strlen(private_path) - 4), private_path);
    uint8_t pub[SECCHAT_KEY_LEN];
    int rc = secchat_public_key_from_private(pub, priv);
    /* A new private key makes any public key file beside it stale: replace it. */
    if (rc == SECCHAT_OK)
        rc = secchat_key_file_write(pub_path, SECCHAT_KEY_PUBLIC, pub, 1);
    return rc;
}

int load_keys(const struct options *o, secchat_config *cfg)
{
    uint8_t key[SECCHAT_KEY_LEN];
    char path[4200];
    int created = 0, rc;

    /* The PSK: --psk-file, $SECCHAT_PSK_FILE, --demo-psk, else the default file. */
    /* A flag wins over the environment. */
    const char *psk_file = o->psk_file ? o->psk_file : o->demo_psk ? NULL : getenv("SECCHAT_PSK_FILE");
    if (psk_file && !*psk_file)
        psk_file = NULL;
    if (psk_file) {
        rc = read_key(psk_file, SECCHAT_KEY_PSK, key);
    } else if (o->demo_psk) {
        fprintf(stderr, PROG ": warning: --demo-psk uses the original program's published PSK; anyone can join. "
                        "Use it only to talk to the original client.\n");
        memcpy(key, demo_psk, SECCHAT_PSK_LEN);
        rc = SECCHAT_OK;
    } else {
        rc = config_path(path, sizeof path, "psk");
        if (rc == SECCHAT_OK)
            rc = read_or_create(path, SECCHAT_KEY_PSK, key, &created);
        if (rc == SECCHAT_OK && created)
            fprintf(stderr, PROG ": created a new PSK in %s; clients on this machine find it there, "
                            "others need a copy (see secchat-server(1))\n", path);
    }
    if (rc == SECCHAT_OK)
        rc = secchat_config_set_psk(cfg, key);
    secchat_memzero(key, sizeof key);
    if (rc != SECCHAT_OK)
        return rc;

    /* The static key: --key-file, else the default file (a stable identity clients can pin). */
    const char *key_file = o->key_file;
    if (key_file) {
        rc = read_key(key_file, SECCHAT_KEY_PRIVATE, key);
    } else {
        rc = config_path(path, sizeof path, "server.key");
        if (rc == SECCHAT_OK)
            rc = read_or_create(path, SECCHAT_KEY_PRIVATE, key, &created);
        char pub_path[4200];
        struct stat st;
        snprintf(pub_path, sizeof pub_path, "%.*s.pub", (int)(strlen(path) - 4), path);
        /* server.pub is for handing to clients (--server-key); keep it in step. */
        if (rc == SECCHAT_OK && (created || (stat(pub_path, &st) != 0 && errno == ENOENT))) {
            if (write_public(path, key) != SECCHAT_OK)
                fprintf(stderr, PROG ": warning: could not write the public key next to %s (%s)\n", path,
                        strerror(errno));
            if (created)
                fprintf(stderr, PROG ": created a new server key in %s\n", path);
        }
    }
    if (rc == SECCHAT_OK)
        rc = secchat_config_set_static_key(cfg, key);
    secchat_memzero(key, sizeof key);
    return rc;
}

int load_authorized_keys(secchat_server *srv, const char *path, int reload)
{
    secchat_authorized_keys *keys = NULL;
    unsigned line = 0;
    int rc = secchat_authorized_keys_load(&keys, path, &line);
    if (rc == SECCHAT_ERR_KEY_MALFORMED)
        fprintf(stderr, PROG ": %s line %u: %s%s\n", path, line, secchat_strerror(rc),
                reload ? "; keeping the previous list" : "");
    else if (rc == SECCHAT_ERR_KEY_IO)
        fprintf(stderr, PROG ": %s: %s%s\n", path, strerror(errno), reload ? "; keeping the previous list" : "");
    else if (rc != SECCHAT_OK)
        fprintf(stderr, PROG ": %s: %s%s\n", path, secchat_strerror(rc), reload ? "; keeping the previous list" : "");
    if (rc != SECCHAT_OK)
        return rc;
    size_t n = secchat_authorized_keys_count(keys);
    rc = secchat_server_set_authorized_keys(srv, keys);
    if (rc != SECCHAT_OK) {
        secchat_authorized_keys_free(keys);
        return rc;
    }
    /* At start on stderr: the first line on stdout is the listening address. */
    fprintf(reload ? stdout : stderr, "%s %zu authorized key%s from %s\n", reload ? "Reloaded" : "Loaded", n,
            n == 1 ? "" : "s", path);
    return SECCHAT_OK;
}
