/*
 * Test helper: a fresh temporary directory per test, and raw file access in it.
 *
 *     tempdir_fixture as a cmocka state:
 *         static int setup_dir(void **state) { return tempdir_fixture_setup(state, "keys"); }
 *         cmocka_unit_test_setup_teardown(test_x, setup_dir, tempdir_fixture_teardown)
 *     in a test:
 *         tempdir_fixture *fx = *state;
 *         tempdir_write_file(tempdir_fixture_path(fx, "name"), bytes, len, 0600);   fx->path is that name
 *
 * Plain C with no cmocka dependency (every .c file of tests/common/ is linked into every
 * test program and tool): failures come back as -1 with errno set, for the caller to assert on.
 */
#ifndef SC_TESTS_TEMPDIR_H
#define SC_TESTS_TEMPDIR_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Creates a new directory "$TMPDIR/secchat-<tag>-XXXXXX" (/tmp when TMPDIR is
 * unset or not absolute) and writes its name to out[0..cap). 0, or -1.
 */
int tempdir_create(char *out, size_t cap, const char *tag);

/* Removes dir and everything under it: files, FIFOs, symlinks (not followed) and subdirectories, even mode 0 ones. */
void tempdir_remove(const char *dir);

/* Writes "dir/name" to out[0..cap) and returns out. */
const char *tempdir_path(char *out, size_t cap, const char *dir, const char *name);

/*
 * Creates or truncates path, writes bytes[0..len) to it and gives it exactly
 * mode (set by fchmod, so the umask does not apply). 0, or -1.
 */
int tempdir_write_file(const char *path, const void *bytes, size_t len, mode_t mode);

/* Reads at most cap - 1 bytes of path into out and NUL-terminates them; the length read, or -1. */
ssize_t tempdir_read_file(const char *path, char *out, size_t cap);

/* A cmocka state: the directory of one test, and a scratch path inside it. */
typedef struct tempdir_fixture {
    char dir[256];
    char path[512]; /* set by tempdir_fixture_path */
} tempdir_fixture;

/* Allocates a tempdir_fixture with a fresh directory (tempdir_create) into *state. 0, or -1. */
int tempdir_fixture_setup(void **state, const char *tag);

/* Removes the directory of the tempdir_fixture in *state and frees it. Always 0. */
int tempdir_fixture_teardown(void **state);

/* Sets fx->path to "fx->dir/name" and returns it. */
const char *tempdir_fixture_path(tempdir_fixture *fx, const char *name);

#endif
