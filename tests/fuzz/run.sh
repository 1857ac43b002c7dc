#!/bin/sh
# Builds the libFuzzer targets of tests/fuzz/ with clang and runs each one.
#
#   BUILD=build FUZZ_SECONDS=20 sh tests/fuzz/run.sh [--build-only] [TARGET...]
#
# The library sources are compiled again here, by clang with the fuzzer and
# ASan+UBSan instrumentation, into $BUILD/fuzz/obj (the normal build uses
# gcc). For each target: first the saved crashes of tests/fuzz/regressions/
# <name>/ are replayed, then it fuzzes for FUZZ_SECONDS starting from a copy
# of tests/fuzz/corpus/<name>/ in a temporary directory (the repository's
# corpus is never written to). A finding is saved under $BUILD/fuzz/crashes/
# and makes the script exit non-zero.
#
# Variables: BUILD (build), FUZZ_SECONDS (20), FUZZ_CC (clang), FUZZ_JOBS
# (parallel compiles, 2), FUZZ_NICE (nice level for the runs, 10),
# FUZZ_KEEP_CORPUS=DIR (keep each grown corpus in DIR/<name>, to merge by hand),
# FUZZ_ARGS (extra libFuzzer options).
set -u

BUILD=${BUILD:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
FUZZ_CC=${FUZZ_CC:-clang}
FUZZ_JOBS=${FUZZ_JOBS:-2}
FUZZ_NICE=${FUZZ_NICE:-10}
FUZZ_ARGS=${FUZZ_ARGS:-}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 1

# name:max_len. Lengths cover each format with room to spare: a request is
# at most 8 KiB, a key file 80 bytes; the chunk formats of the frame, Noise
# and session targets stretch short inputs to long messages by themselves.
ALL_TARGETS="http_request:12000 http_response:12000 ws_server_frames:8192 ws_client_frames:8192
noise_responder:4096 noise_initiator:4096 session_transport:8192 message_decode:8192
keyfile:256 known_servers:4096 authorized_keys:4096"

build_only=0
if [ "${1:-}" = "--build-only" ]; then
    build_only=1
    shift
fi

die() {
    echo "fuzz: $*" >&2
    exit 1
}

# ---- tools -----------------------------------------------------------------

command -v "$FUZZ_CC" >/dev/null 2>&1 ||
    die "$FUZZ_CC not found: the fuzz targets need clang with libFuzzer (Debian 12: apt-get install clang libclang-rt-14-dev)"
out=$BUILD/fuzz
mkdir -p "$out/obj" "$out/crashes" || die "cannot create $out"
probe=$out/obj/probe
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' >"$probe.c"
"$FUZZ_CC" -fsanitize=fuzzer,address,undefined -o "$probe" "$probe.c" >"$probe.log" 2>&1 ||
    die "$FUZZ_CC cannot build a libFuzzer program with ASan+UBSan (Debian 12: apt-get install clang libclang-rt-14-dev): $(cat "$probe.log")"
pkgs="libsodium nettle jansson libuv"
"$PKG_CONFIG" --exists $pkgs || die "pkg-config cannot find $pkgs (run make deps)"

SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
CFLAGS_ALL="-std=c11 -O1 -g -Wall -Wextra -Wno-unused-parameter $SAN -D_POSIX_C_SOURCE=200809L -Iinclude -Ilib -Itests $("$PKG_CONFIG" --cflags $pkgs)"
LIBS="$("$PKG_CONFIG" --libs $pkgs) -lwslay -pthread"

# ---- build ---------------------------------------------------------------------

# Objects are rebuilt when their source is newer, and all of them when a
# header, this script or the compiler flags changed (a plain stamp, no make).
stamp=$out/obj/.stamp
flags_now="$FUZZ_CC $CFLAGS_ALL"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$flags_now" ] ||
    [ -n "$(find include lib tests/common -name '*.h' -newer "$stamp" 2>/dev/null | head -n 1)" ] ||
    [ "$0" -nt "$stamp" ]; then
    rm -rf "$out/obj/lib" "$out/obj/tests"
fi

srcs=$(ls lib/*/*.c tests/fuzz/fuzz_common.c tests/common/session_pair.c)
todo=""
for s in $srcs; do
    o=$out/obj/${s%.c}.o
    if [ ! -f "$o" ] || [ "$s" -nt "$o" ] || { [ "$s" = tests/fuzz/fuzz_common.c ] && [ tests/fuzz/fuzz_common.h -nt "$o" ]; }; then
        todo="$todo $s"
    fi
done
if [ -n "$todo" ]; then
    echo "fuzz: compiling $(echo $todo | wc -w) sources with $FUZZ_CC"
    # Library sources get the library's own define (export macro); all get
    # coverage instrumentation without libFuzzer's main.
    echo $todo | tr ' ' '\n' | xargs -P "$FUZZ_JOBS" -I{} sh -c '
        s={}; o="$0/obj/${s%.c}.o"; mkdir -p "$(dirname "$o")"
        case $s in lib/*) def=-DSECCHAT_BUILDING_LIBRARY ;; *) def= ;; esac
        $1 $2 $def -fsanitize=fuzzer-no-link -c -o "$o" "$s" || { rm -f "$o"; exit 255; }' \
        "$out" "$FUZZ_CC" "$CFLAGS_ALL" || die "compilation failed"
fi
printf '%s' "$flags_now" >"$stamp"
rm -f "$out/libsecchat-fuzz.a"
ar rcs "$out/libsecchat-fuzz.a" $(ls "$out"/obj/lib/*/*.o) || die "ar failed"

names=""
for t in $ALL_TARGETS; do names="$names ${t%%:*}"; done
[ $# -gt 0 ] && names="$*"

for n in $names; do
    [ -f "tests/fuzz/fuzz_$n.c" ] || die "no target tests/fuzz/fuzz_$n.c"
    extra=""
    [ "$n" = session_transport ] && extra="$out/obj/tests/common/session_pair.o"
    bin=$out/fuzz_$n
    "$FUZZ_CC" $CFLAGS_ALL -fsanitize=fuzzer -o "$bin" "tests/fuzz/fuzz_$n.c" "$out/obj/tests/fuzz/fuzz_common.o" \
        $extra "$out/libsecchat-fuzz.a" $LIBS || die "cannot build $bin"
done
[ "$build_only" -eq 1 ] && exit 0

# ---- run ---------------------------------------------------------------------------

# The lines of a libFuzzer log that say what happened: the report and the
# first frames of the stack (libFuzzer's own frames left out).
show() {
    grep -E 'ERROR:|SUMMARY:|FUZZ CHECK|runtime error|#[0-9]+ 0x' "$1" | grep -v 'fuzzer::\|libc\.so\|_start\|__sanitizer\|pthread_kill\|raise\.c\|abort\.c\| in main ' |
        head -n 16 | sed 's/^/  /'
}

tmp=$(mktemp -d) || die "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
findings=0
total_start=$(date +%s)
for n in $names; do
    max_len=4096
    for t in $ALL_TARGETS; do [ "${t%%:*}" = "$n" ] && max_len=${t#*:}; done
    bin=$out/fuzz_$n
    log=$tmp/$n.log
    dict=""
    [ -f "tests/fuzz/$n.dict" ] && dict="-dict=tests/fuzz/$n.dict"
    # 1. Every input that ever crashed must pass now (each on its own, to name the one that fails).
    failed_reg=0
    for r in tests/fuzz/regressions/$n/*; do
        [ -f "$r" ] || continue
        if ! "$bin" -runs=1 "$r" >"$log" 2>&1; then
            failed_reg=$((failed_reg + 1))
            echo "fuzz $n: FINDING: regression input $r fails:"
            show "$log"
        fi
    done
    if [ "$failed_reg" -gt 0 ]; then
        findings=$((findings + 1))
        continue # fuzzing would only find it again
    fi
    # 2. Fuzz from a private copy of the seed corpus.
    mkdir -p "$tmp/corpus/$n"
    cp tests/fuzz/corpus/$n/* "$tmp/corpus/$n/" 2>/dev/null
    start=$(date +%s)
    nice -n "$FUZZ_NICE" "$bin" -max_total_time="$FUZZ_SECONDS" -max_len="$max_len" -timeout=10 \
        -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 $dict $FUZZ_ARGS \
        -artifact_prefix="$out/crashes/$n-" "$tmp/corpus/$n" >"$log" 2>&1
    status=$?
    secs=$(($(date +%s) - start))
    runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    if [ "$status" -ne 0 ]; then
        findings=$((findings + 1))
        echo "fuzz $n: FINDING after ${runs:-?} runs in $secs s (exit $status):"
        show "$log"
        grep -E 'Test unit written|artifact' "$log" | sed 's/^/  /'
        cp "$log" "$out/crashes/$n.log"
        echo "  full log: $out/crashes/$n.log; replay: $bin INPUT (FUZZ_VERBOSE=1 narrates)"
    else
        echo "fuzz $n: ${runs:-0} runs in $secs s, no finding"
    fi
    if [ -n "${FUZZ_KEEP_CORPUS:-}" ]; then
        mkdir -p "$FUZZ_KEEP_CORPUS/$n" && cp "$tmp/corpus/$n"/* "$FUZZ_KEEP_CORPUS/$n/" 2>/dev/null
    fi
done
echo "fuzz: $(echo $names | wc -w) targets in $(($(date +%s) - total_start)) s, $findings with findings"
[ "$findings" -eq 0 ]
