#!/bin/sh
# Runs every test of one build directory and prints the totals.
#   BUILD=build sh tests/run-all.sh [--sanitized]
#   BUILD=build sh tests/run-all.sh --only CMOCKA_BINARY|SCRIPT.sh...   (e.g. the TSan run)
# cmocka suites: $BUILD/tests/<module>/test_*   (counted per test case)
# vector runner: tests/vectors/*.txt            (counted per vector)
# shell tests:   tests/<module>/test_*.sh       (one case each; plain build only,
#                since they build and link consumers of the installed library,
#                except SAN_SCRIPTS, which drive only the build's programs)
set -u
BUILD=${BUILD:-build}
sanitized=0
only=0
case ${1:-} in
--sanitized) sanitized=1 ;;
--only) only=1 && shift ;;
esac

passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

add() { passed=$((passed + $1)); failed=$((failed + $2)); }

# Runs "$@", shows its output, and counts its cases from the output.
run() {
    kind=$1
    shift
    printf '\n== %s\n' "$*"
    "$@" >"$log" 2>&1
    status=$?
    cat "$log"
    case $kind in
    cmocka)
        # A program may run several groups: add up every group's summary.
        p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{ n += $1 } END { print n + 0 }')
        f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{ n += $1 } END { print n + 0 }')
        # A crash or a non-zero exit with no FAILED line still counts as a failure.
        [ "$status" -ne 0 ] && [ "$f" -eq 0 ] && f=1
        add "$p" "$f"
        ;;
    vectors)
        line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
        p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
        f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
        p=${p:-0}
        f=${f:-0}
        [ "$status" -ne 0 ] && [ "$f" -eq 0 ] && f=1
        add "$p" "$f"
        ;;
    script)
        if [ "$status" -eq 0 ]; then add 1 0; else add 0 1; fi
        ;;
    esac
}

# Prints this build's totals and records them for `make test`'s final summary.
finish() {
    echo "total: $passed passed, $failed failed"
    echo "$passed $failed" >"$BUILD/test-totals"
    [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
    exit
}

if [ "$only" -eq 1 ]; then
    for t in "$@"; do
        case $t in
        *.sh) run script env BUILD="$BUILD" sh "$t" ;;
        *) run cmocka "$t" ;;
        esac
    done
    finish
fi

for t in "$BUILD"/tests/*/test_*; do
    case $t in *.o | *.d | *.sh) continue ;; esac
    [ -x "$t" ] && run cmocka "$t"
done

run vectors "$BUILD/tests/noise/vector_runner" tests/vectors/cacophony.txt tests/vectors/snow.txt

if [ "$sanitized" -eq 0 ]; then
    for t in tests/*/test_*.sh; do
        [ -f "$t" ] && run script env BUILD="$BUILD" sh "$t"
    done
else
    # Most shell tests install and link the library; the ones that only
    # drive the build's programs (SAN_SCRIPTS, from the Makefile) run here
    # too, against the sanitized server.
    for t in ${SAN_SCRIPTS:-}; do
        [ -f "$t" ] && run script env BUILD="$BUILD" sh "$t"
    done
    printf '\n(the other shell tests run in the plain build only: they install and link the library)\n'
fi

printf '\n'
[ "$sanitized" -eq 1 ] && printf 'ASan+UBSan build (%s)\n' "$BUILD"
finish
