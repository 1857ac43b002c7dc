/* The trust policy for the server's key: see trust.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "trust.h"

int trust_is_fingerprint(const char *text)
{
    size_t digits = 0;
    for (const char *p = text; *p; p++) {
        if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F'))
            digits++;
        else if (*p != ':')
            return 0;
    }
    return digits == 32;
}

/* mkdir -p with mode 0700 for what it creates. */
static int make_dirs(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return -1;
        buf[i] = c;
    }
    return 0;
}

static void loud_mismatch(trust *t, const char *label, const char *expected_fp, const char *presented_fp,
                          const char *where, unsigned line)
{
    ui_channel *ui = t->ui;
    ui_post(ui, UI_STDERR, "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@");
    ui_post(ui, UI_STDERR, "@  WARNING: THE SERVER'S KEY IS NOT THE ONE EXPECTED!          @");
    ui_post(ui, UI_STDERR, "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@");
    ui_post(ui, UI_STDERR, "The server %s presented a different static key.", t->server);
    ui_post(ui, UI_STDERR, "Someone may be intercepting the connection (man in the middle),");
    ui_post(ui, UI_STDERR, "or the server's operator made a new key pair.");
    ui_post(ui, UI_STDERR, "  %-9s fingerprint: %s", label, expected_fp);
    ui_post(ui, UI_STDERR, "  %-9s fingerprint: %s", "presented", presented_fp);
    if (line)
        ui_post(ui, UI_STDERR,
                "If the change is expected (check the new fingerprint with the operator),\n"
                "remove %s line %u and connect again.",
                where, line);
    else
        ui_post(ui, UI_STDERR, "Check the fingerprint with the server's operator (%s).", where);
    ui_post(ui, UI_STDERR, "Connection refused: the server's key was not accepted.");
    t->refused = 1;
}

static int verify_pinned(trust *t, const uint8_t key[SECCHAT_NOISE_KEY_LEN], const char *fp)
{
    uint8_t stored[SECCHAT_KEY_LEN];
    unsigned line = 0;
    int rc = secchat_known_servers_find_file(t->known_path, t->server, key, stored, &line);
    if (rc == SECCHAT_OK)
        return 0;
    if (rc == SECCHAT_ERR_KNOWN_SERVER_UNKNOWN) {
        if (make_dirs(t->config_dir) != 0) {
            ui_post(t->ui, UI_STDERR, "secchat-client: %s: cannot create the directory: %s", t->config_dir,
                    strerror(errno));
            t->refused = 1;
            return -1;
        }
        rc = secchat_known_servers_add(t->known_path, t->server, key);
        if (rc != SECCHAT_OK) {
            ui_post(t->ui, UI_STDERR, "secchat-client: %s: %s (%s); use --no-pin to connect without pinning",
                    t->known_path, secchat_strerror(rc), strerror(errno));
            t->refused = 1;
            return -1;
        }
        ui_post(t->ui, UI_STDOUT, "Pinned server key for %s (fingerprint %s) in %s", t->server, fp, t->known_path);
        return 0;
    }
    if (rc == SECCHAT_ERR_KNOWN_SERVER_CHANGED) {
        char old_fp[SECCHAT_FINGERPRINT_SIZE] = "?";
        if (secchat_fingerprint(stored, old_fp) != SECCHAT_OK)
            snprintf(old_fp, sizeof old_fp, "?");
        loud_mismatch(t, "recorded", old_fp, fp, t->known_path, line);
        return -1;
    }
    if (rc == SECCHAT_ERR_KEY_MALFORMED)
        ui_post(t->ui, UI_STDERR, "secchat-client: %s line %u: %s", t->known_path, line, secchat_strerror(rc));
    else
        ui_post(t->ui, UI_STDERR, "secchat-client: %s: %s (%s)", t->known_path, secchat_strerror(rc), strerror(errno));
    t->refused = 1;
    return -1;
}

int trust_verify(void *arg, const uint8_t server_key[SECCHAT_NOISE_KEY_LEN])
{
    trust *t = arg;
    char fp[SECCHAT_FINGERPRINT_SIZE];
    if (secchat_fingerprint(server_key, fp) != SECCHAT_OK)
        return -1;
    switch (t->mode) {
    case TRUST_NONE:
        return 0;
    case TRUST_PIN:
        return verify_pinned(t, server_key, fp);
    case TRUST_FP:
        if (secchat_fingerprint_matches(server_key, t->expected_fp))
            return 0;
        loud_mismatch(t, "expected", t->expected_fp, fp, "--server-key", 0);
        return -1;
    case TRUST_KEY:
        if (memcmp(server_key, t->expected, SECCHAT_KEY_LEN) == 0) /* public keys: no timing concern */
            return 0;
        {
            char want[SECCHAT_FINGERPRINT_SIZE] = "?";
            if (secchat_fingerprint(t->expected, want) != SECCHAT_OK)
                snprintf(want, sizeof want, "?");
            loud_mismatch(t, "expected", want, fp, t->key_file, 0);
        }
        return -1;
    }
    return -1;
}
