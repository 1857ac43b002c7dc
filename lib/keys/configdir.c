/* secchat_user_config_dir: where a user's key files and known_servers live (XDG Base Directory). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "secchat/keys.h"

/* The length of dir without trailing '/' (but "/" stays "/"), so the result has no "//". */
static size_t trimmed_len(const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    return n;
}

SECCHAT_API int secchat_user_config_dir(char *out, size_t cap)
{
    if (out == NULL)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    if (cap > 0)
        out[0] = '\0';

    /*
     * The XDG Base Directory specification: a relative $XDG_CONFIG_HOME is
     * invalid and must be ignored (it would make the keys depend on the
     * current directory), as if it were unset.
     * getenv races only with a setenv/putenv/unsetenv in another thread of
     * the caller, which no C or POSIX interface lets a library rule out; the
     * value is copied into out at once.
     */
    const char *base = getenv("XDG_CONFIG_HOME"); /* NOLINT(concurrency-mt-unsafe): see above */
    const char *suffix = "/secchat";
    if (base == NULL || base[0] != '/') {
        base = getenv("HOME"); /* NOLINT(concurrency-mt-unsafe): see above */
        suffix = "/.config/secchat";
        if (base == NULL || base[0] == '\0') {
            errno = ENOENT; /* KEY_IO promises an errno: "No such file or directory" reads well enough */
            return SECCHAT_ERR_KEY_IO;
        }
    }
    size_t base_len = trimmed_len(base);
    if (base_len == 1 && base[0] == '/')
        base_len = 0; /* "/" + "/secchat" */
    size_t suffix_len = strlen(suffix);
    if (base_len + suffix_len >= cap)
        return SECCHAT_ERR_BUFFER_TOO_SMALL;
    memcpy(out, base, base_len);
    memcpy(out + base_len, suffix, suffix_len + 1);
    return SECCHAT_OK;
}
