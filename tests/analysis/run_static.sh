#!/bin/sh
# Static analysis of libsecchat: cppcheck and clang-tidy (.clang-tidy at the
# repository root) over lib/ apps/ include/ tests/ docs/examples/, each file
# with the flags the Makefile compiles it with.  See tests/analysis/README.md.
#
#   sh tests/analysis/run_static.sh [cppcheck] [clang-tidy]   (default: both)
#   make analyze                                              (this, then run_valgrind.sh)
#
# Prints every finding as FILE:LINE:COL: ... [check] and exits 1 if there is
# any (every clang-tidy warning is an error), 2 if a tool is missing or broke.
# Variables: JOBS (2), CPPCHECK, CLANG_TIDY, PKG_CONFIG, BUILD (build): the
# full logs go to $BUILD/analysis/.
set -u
cd "$(dirname "$0")/../.." || exit 2
ROOT=$PWD
JOBS=${JOBS:-2}
CPPCHECK=${CPPCHECK:-cppcheck}
CLANG_TIDY=${CLANG_TIDY:-clang-tidy}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
BUILD=${BUILD:-build}
case $BUILD in /*) OUT=$BUILD/analysis ;; *) OUT=$ROOT/$BUILD/analysis ;; esac
mkdir -p "$OUT" || exit 2
export OUT

want_cppcheck=1
want_tidy=1
if [ $# -gt 0 ]; then
    want_cppcheck=0
    want_tidy=0
    for a in "$@"; do
        case $a in
        cppcheck) want_cppcheck=1 ;;
        clang-tidy) want_tidy=1 ;;
        *) echo "usage: $0 [cppcheck] [clang-tidy]" >&2 && exit 2 ;;
        esac
    done
fi

# The Makefile's flags (WARNINGS, ALL_CFLAGS, TEST_CFLAGS, APP_CFLAGS).
WARNINGS="-std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wconversion
          -Wno-sign-conversion -Wformat=2"
pc() { $PKG_CONFIG --cflags "$@" 2>/dev/null; }
for p in libsodium nettle jansson libuv libedit cmocka; do
    if ! $PKG_CONFIG --exists "$p" 2>/dev/null; then
        echo "run_static: pkg-config does not know $p (make deps installs it)" >&2
        exit 2
    fi
done
LIB_PC=$(pc libsodium nettle jansson libuv)
APP_PC=$(pc libedit)
TEST_PC=$(pc cmocka)
LIB_FLAGS="$WARNINGS -D_POSIX_C_SOURCE=200809L -I$ROOT/include -I$ROOT/lib $LIB_PC"
LIB_SRCS=$(ls lib/*/*.c)
TEST_SRCS=$(ls tests/*/*.c docs/examples/*.c)
APP_DIRS=$(ls -d apps/*/)
APP_SRCS=$(ls apps/*/*.c)

status=0
findings=0

# ------------------------------------------------------------------ cppcheck
# cppcheck models the C library and POSIX with its std/posix/gnu library
# files, so it is given the project's include paths and the -D/-U of the
# pkg-config flags, not the system include directories (reading system
# headers makes it slower and no better).  The -D below are the configuration
# that is built: one configuration, GCC on x86-64 glibc, little-endian.
# cppcheck 2.10 does not know C11's _Noreturn (it then reports null pointers
# after die()/FUZZ_CHECK), but knows GCC's attribute: hence the last -D.
only_defines() {
    for f in "$@"; do
        case $f in -D* | -U*) printf '%s ' "$f" ;; esac
    done
}
run_cppcheck() {
    if ! command -v "$CPPCHECK" >/dev/null 2>&1; then
        echo "run_static: $CPPCHECK not found (Debian package cppcheck)" >&2
        return 2
    fi
    # shellcheck disable=SC2086
    set -- --std=c11 --platform=unix64 --library=posix --library=gnu \
        --enable=warning,style,performance,portability --inline-suppr --error-exitcode=1 \
        --suppress=missingIncludeSystem --suppressions-list=tests/analysis/cppcheck.supp \
        -j "$JOBS" -q --template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
        -D_POSIX_C_SOURCE=200809L -D__GNUC__=12 -D__GNUC_MINOR__=2 -D__x86_64__ -D__linux__ \
        -D__BYTE_ORDER__=1234 -D__ORDER_LITTLE_ENDIAN__=1234 -D__ORDER_BIG_ENDIAN__=4321 -D__GLIBC__=2 \
        '-D_Noreturn=__attribute__((noreturn))' -U__cplusplus
    log=$OUT/cppcheck.log
    : >"$log"
    rc=0
    # The library (as built, with its export macro), each program on its own
    # (each has a main and sees only include/), then the tests and examples.
    # shellcheck disable=SC2046,SC2086
    "$CPPCHECK" "$@" -DSECCHAT_BUILDING_LIBRARY $(only_defines $LIB_PC) -Iinclude -Ilib \
        $LIB_SRCS 2>>"$log" || rc=$?
    for d in $APP_DIRS; do
        # shellcheck disable=SC2046,SC2086
        "$CPPCHECK" "$@" $(only_defines $APP_PC) -Iinclude "$d" 2>>"$log" || rc=$?
    done
    # shellcheck disable=SC2046,SC2086
    "$CPPCHECK" "$@" $(only_defines $LIB_PC $TEST_PC) -Iinclude -Ilib -Itests $TEST_SRCS 2>>"$log" || rc=$?
    n=$(grep -c ': [a-z]*: .*\[[A-Za-z0-9_]*\]$' "$log")
    if [ "$rc" -gt 1 ] || { [ "$rc" -ne 0 ] && [ "$n" -eq 0 ]; }; then
        echo "run_static: cppcheck failed (status $rc):" >&2
        cat "$log" >&2
        return 2
    fi
    cat "$log"
    echo "cppcheck: $n finding(s)"
    findings=$((findings + n))
}

# ---------------------------------------------------------------- clang-tidy
# A compilation database in $OUT, one entry per file with its Makefile flags,
# so clang-tidy parses each file exactly as it is built; the checks and the
# header filter are in .clang-tidy.  Two additions for tests/ and
# docs/examples/ (see .clang-tidy): the analyzer's shallow mode, and for the
# cmocka suites tests/analysis/cmocka_analyzer.h.
ANALYZER_SHALLOW="-Xclang -analyzer-config -Xclang mode=shallow"
json_args() { # json_args FILE FLAGS...: "cc", flags..., "-c", "FILE"
    f=$1
    shift
    printf '"cc"'
    for a in "$@"; do printf ', "%s"' "$a"; done
    printf ', "-c", "%s"' "$f"
}
write_db() {
    first=1
    printf '[\n'
    emit() { # emit FILE FLAGS...
        [ "$first" -eq 1 ] || printf ',\n'
        first=0
        printf '  {"directory": "%s", "file": "%s", "arguments": [%s]}' "$ROOT" "$1" "$(json_args "$@")"
    }
    # shellcheck disable=SC2086
    for f in $LIB_SRCS; do emit "$f" $LIB_FLAGS -DSECCHAT_BUILDING_LIBRARY; done
    # shellcheck disable=SC2086
    for f in $APP_SRCS; do emit "$f" $WARNINGS -D_POSIX_C_SOURCE=200809L -I"$ROOT/include" $APP_PC; done
    for f in $TEST_SRCS; do
        shim=
        grep -q '^#include <cmocka.h>' "$f" && shim="-include $ROOT/tests/analysis/cmocka_analyzer.h"
        # shellcheck disable=SC2086
        emit "$f" $LIB_FLAGS $TEST_PC -I"$ROOT/tests" $ANALYZER_SHALLOW $shim
    done
    printf '\n]\n'
}
run_tidy() {
    if ! command -v "$CLANG_TIDY" >/dev/null 2>&1; then
        echo "run_static: $CLANG_TIDY not found (Debian package clang-tidy)" >&2
        return 2
    fi
    write_db >"$OUT/compile_commands.json"
    log=$OUT/clang-tidy.log
    rc=0
    # One file per clang-tidy, largest first, so the jobs end together; lib/
    # gets every check of .clang-tidy, the rest all but the two lib-only ones.
    # shellcheck disable=SC2011,SC2016,SC2086
    ls -S $LIB_SRCS $APP_SRCS $TEST_SRCS |
        xargs -n 1 -P "$JOBS" sh -c '
            case $1 in
            lib/*) exec "$0" -p "$OUT" --quiet --warnings-as-errors="*" "$1" ;;
            *) exec "$0" -p "$OUT" --quiet --warnings-as-errors="*" \
                --checks=-concurrency-mt-unsafe,-misc-no-recursion "$1" ;;
            esac' "$CLANG_TIDY" >"$log" 2>"$log.err" || rc=$?
    # One line per finding, relative paths; a header's finding is reported
    # once, however many files include it.
    grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error): ' "$log" | sed "s#^$ROOT/##" | sort -u >"$log.findings"
    n=$(wc -l <"$log.findings")
    # xargs: 123 if some clang-tidy exited non-zero (it does on a finding), more if one crashed.
    if [ "$rc" -gt 123 ] || { [ "$rc" -ne 0 ] && [ "$n" -eq 0 ]; }; then
        echo "run_static: clang-tidy failed (status $rc):" >&2
        cat "$log.err" "$log" >&2
        return 2
    fi
    cat "$log.findings"
    [ "$n" -eq 0 ] || echo "(the analyzer's paths and notes: $log)"
    echo "clang-tidy: $n finding(s)"
    findings=$((findings + n))
}

start=$(date +%s)
if [ "$want_cppcheck" -eq 1 ]; then
    echo "== cppcheck $("$CPPCHECK" --version 2>/dev/null | sed 's/^Cppcheck //')"
    run_cppcheck || status=2
fi
if [ "$want_tidy" -eq 1 ]; then
    echo "== clang-tidy ($("$CLANG_TIDY" --version 2>/dev/null | sed -n 's/.*LLVM version //p'), $JOBS jobs)"
    run_tidy || status=2
fi
echo "static analysis: $findings finding(s) in $(($(date +%s) - start)) s"
[ "$status" -ne 0 ] && exit "$status"
[ "$findings" -eq 0 ]
