#!/bin/sh
# valgrind memcheck over libsecchat: quick cmocka suites, and the real server
# program under its end-to-end tests.  See tests/analysis/README.md.
#
#   sh tests/analysis/run_valgrind.sh [units] [programs]   (default: both)
#   make analyze                                         (run_static.sh, then this)
#
# units:    each suite of VALGRIND_UNITS under memcheck, two at a time.
# programs: each script of VALGRIND_SCRIPTS run as `BUILD=<dir> sh SCRIPT`
#           where <dir> mirrors $BUILD except that apps/<program> are
#           wrappers that exec the real program under memcheck; every server
#           (and client) those tests start runs under valgrind.  The scripts
#           need no change: they only ever run "$BUILD/apps/...".
# Exits 1 on any memcheck error or leak (definite, indirect or possible), on
# a failed test, or when a run left no verdict; 2 when something is missing.
#
# Variables: BUILD (build; a plain build: not SANITIZE), JOBS (2),
#   VALGRIND (valgrind), VALGRIND_OPTS (extra memcheck options, e.g.
#   --track-origins=yes), VALGRIND_UNITS, VALGRIND_SCRIPTS (below).
# Logs: $BUILD/analysis/valgrind/ (one per process: NAME.PID.log).
set -u
cd "$(dirname "$0")/../.." || exit 2
ROOT=$PWD
BUILD=${BUILD:-build}
case $BUILD in /*) ABS_BUILD=$BUILD ;; *) ABS_BUILD=$ROOT/$BUILD ;; esac
JOBS=${JOBS:-2}
VALGRIND=${VALGRIND:-valgrind}
LOGS=$ABS_BUILD/analysis/valgrind

# The suites that take at most ~30 s each under memcheck here (about 100 s of
# CPU together).  Left out: test_patterns (~2 min: every Noise pattern with
# both ciphers, the same code test_handshake runs once per pattern family).
VALGRIND_UNITS=${VALGRIND_UNITS:-"chat/test_message chat/test_session chat/test_session_threads client/test_client
    common/test_error keys/test_authorized_keys keys/test_keyfile keys/test_known_servers noise/test_handshake
    noise/test_hash noise/test_protocol noise/test_threads server/test_rules server/test_server_api ws/test_frames
    ws/test_http ws/test_url"}
# The server's end-to-end tests (about 1 min under memcheck).  Also useful,
# not by default as it waits out its own timeouts (75 s plain, ~2.5 min
# under memcheck): tests/client/test_client_app.sh (the client program).
VALGRIND_SCRIPTS=${VALGRIND_SCRIPTS:-"tests/server/test_chat_e2e.sh tests/server/test_trust_e2e.sh
    tests/server/test_keepalive.sh"}

want_units=1
want_programs=1
if [ $# -gt 0 ]; then
    want_units=0
    want_programs=0
    for a in "$@"; do
        case $a in
        units) want_units=1 ;;
        programs) want_programs=1 ;;
        *) echo "usage: $0 [units] [programs]" >&2 && exit 2 ;;
        esac
    done
fi

if ! command -v "$VALGRIND" >/dev/null 2>&1; then
    echo "run_valgrind: $VALGRIND not found (Debian package valgrind)" >&2
    exit 2
fi
server=$ABS_BUILD/apps/secchat-server
if [ ! -x "$server" ]; then
    echo "run_valgrind: $server not built (make BUILD=$BUILD all check, or make analyze)" >&2
    exit 2
fi
if grep -q -e __asan_init -e __tsan_init "$server"; then
    echo "run_valgrind: $BUILD is a sanitizer build; valgrind needs a plain one" >&2
    exit 2
fi
rm -rf "$LOGS"
mkdir -p "$LOGS" || exit 2

# Memcheck: every error, and every leak but "still reachable", fails the run
# (exit status 99 from the program, and the ERROR SUMMARY in its log).
set -- --tool=memcheck --error-exitcode=99 --leak-check=full \
    --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible \
    --num-callers=30 --error-limit=no
[ -f tests/analysis/valgrind.supp ] && set -- "$@" --suppressions="$ROOT/tests/analysis/valgrind.supp"
# shellcheck disable=SC2086
set -- "$@" ${VALGRIND_OPTS:-}
MEMCHECK=$*

failed=0
start=$(date +%s)

# A log's verdict: "ok", or why not.  A process killed by SIGKILL (the e2e
# tests kill their extra servers so) ends its log without a summary: its
# errors, printed as they happen, still count; its leaks cannot be known.
ERROR_RE='^==[0-9]+== (Invalid (read|write|free)|Mismatched free|Conditional jump|Use of uninitialised|Syscall param'
ERROR_RE=$ERROR_RE'|Source and destination overlap|Argument .* of function|Process terminating'
ERROR_RE=$ERROR_RE'|.* bytes in .* blocks are (definitely|indirectly|possibly) lost)'
verdict() {
    if grep -q 'ERROR SUMMARY: [1-9]' "$1"; then
        echo "memcheck errors"
    elif grep -Eq "$ERROR_RE" "$1"; then
        echo "memcheck errors (no summary: killed)"
    elif grep -q 'ERROR SUMMARY: 0 errors' "$1"; then
        echo ok
    else
        echo "ok (no summary: killed before exit, leaks not checked)"
    fi
}

# ------------------------------------------------------------------- units
run_units() {
    echo "== cmocka suites under memcheck ($JOBS at a time)"
    missing=0
    for u in $VALGRIND_UNITS; do
        [ -x "$ABS_BUILD/tests/$u" ] && continue
        echo "run_valgrind: $BUILD/tests/$u not built (make BUILD=$BUILD check, or make analyze)" >&2
        missing=1
    done
    [ "$missing" -eq 0 ] || return 2
    # Each suite: its output and status in $LOGS/NAME.out / NAME.status.
    # shellcheck disable=SC2016,SC2086
    printf '%s\n' $VALGRIND_UNITS | xargs -P "$JOBS" -I{} sh -c '
        name=$(basename "$1")
        t0=$(date +%s)
        '"$VALGRIND"' '"$MEMCHECK"' --log-file="$3/$name.%p.log" "$2/tests/$1" >"$3/$name.out" 2>&1
        echo "$? $(($(date +%s) - t0))" >"$3/$name.status"' sh {} "$ABS_BUILD" "$LOGS"
    for u in $VALGRIND_UNITS; do
        name=$(basename "$u")
        read -r status secs <"$LOGS/$name.status"
        # shellcheck disable=SC2012
        log=$(ls "$LOGS/$name".[0-9]*.log 2>/dev/null | head -n 1)
        if [ -n "$log" ]; then v=$(verdict "$log"); else v="no valgrind log"; fi
        if [ "$status" -eq 0 ] && [ "$v" = ok ]; then
            printf 'ok    %-22s %4ss\n' "$name" "$secs"
        else
            printf 'FAIL  %-22s %4ss  exit status %s, %s\n' "$name" "$secs" "$status" "$v"
            failed=$((failed + 1))
            tail -n 20 "$LOGS/$name.out"
            grep -A 25 -E "$ERROR_RE" "$LOGS/$name".[0-9]*.log | head -n 80
        fi
    done
}

# ---------------------------------------------------------------- programs
# $LOGS/build mirrors $BUILD: symbolic links to everything, except that each
# program of apps/ is a wrapper running it under memcheck.
make_mirror() {
    mirror=$LOGS/build
    mkdir -p "$mirror/apps"
    for f in "$ABS_BUILD"/*; do
        case $f in */apps | */analysis) continue ;; esac
        ln -s "$f" "$mirror/"
    done
    for p in "$ABS_BUILD"/apps/*; do
        if [ ! -f "$p" ] || [ ! -x "$p" ]; then continue; fi
        name=$(basename "$p")
        cat >"$mirror/apps/$name" <<EOF
#!/bin/sh
exec $VALGRIND $MEMCHECK --log-file="$LOGS/$name.%p.log" "$p" "\$@"
EOF
        chmod +x "$mirror/apps/$name"
    done
}
run_programs() {
    echo "== programs under memcheck (apps/* of $BUILD), through their end-to-end tests"
    make_mirror
    for s in $VALGRIND_SCRIPTS; do
        name=$(basename "$s" .sh)
        t0=$(date +%s)
        status=0
        BUILD=$mirror sh "$s" >"$LOGS/$name.out" 2>&1 || status=$?
        secs=$(($(date +%s) - t0))
        if [ "$status" -eq 0 ]; then
            printf 'ok    %-22s %4ss  %s\n' "$name" "$secs" "$(tail -n 1 "$LOGS/$name.out")"
        else
            printf 'FAIL  %-22s %4ss  exit status %s\n' "$name" "$secs" "$status"
            tail -n 30 "$LOGS/$name.out"
            failed=$((failed + 1))
        fi
    done
    # Every process's log: errors fail the run; at least one server must
    # have exited normally (SIGTERM), so that its leaks were checked.
    complete=0
    for log in "$LOGS"/secchat-*.log; do
        [ -f "$log" ] || continue
        v=$(verdict "$log")
        case $v in
        ok) complete=$((complete + 1)) ;;
        "ok (no summary"*) ;;
        *)
            printf 'FAIL  %s: %s (%s)\n' "$(basename "$log")" "$v" "$(sed -n 's/^==[0-9]*== Command: //p' "$log")"
            grep -A 25 -E "$ERROR_RE" "$log" | head -n 80
            failed=$((failed + 1))
            ;;
        esac
    done
    # shellcheck disable=SC2012
    total=$(ls "$LOGS"/secchat-*.log 2>/dev/null | wc -l)
    echo "program runs under memcheck: $total, of which $complete exited normally with a full leak check"
    if [ "$complete" -eq 0 ]; then
        echo "FAIL  no program run ended with a leak check"
        failed=$((failed + 1))
    fi
}

status=0
if [ "$want_units" -eq 1 ]; then run_units || status=2; fi
if [ "$want_programs" -eq 1 ]; then run_programs || status=2; fi
echo "valgrind: $failed failure(s) in $(($(date +%s) - start)) s (logs: $LOGS)"
[ "$status" -ne 0 ] && exit "$status"
[ "$failed" -eq 0 ]
