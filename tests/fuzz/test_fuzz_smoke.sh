#!/bin/sh
# Smoke run of every fuzz target, part of make test (picked up by
# tests/run-all.sh): builds the targets with clang, replays the saved
# regression inputs, and fuzzes each target for FUZZ_SECONDS (20) from a
# temporary copy of its seed corpus. Missing clang or libFuzzer is a
# failure, not a skip: the fuzz targets are part of the suite.
#   BUILD=build [FUZZ_SECONDS=20] sh tests/fuzz/test_fuzz_smoke.sh
set -u
BUILD=${BUILD:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
export BUILD FUZZ_SECONDS
here=$(dirname "$0")
if ! command -v "${FUZZ_CC:-clang}" >/dev/null 2>&1; then
    echo "FAIL: ${FUZZ_CC:-clang} not found; the fuzz smoke test needs clang with libFuzzer (Debian 12: apt-get install clang libclang-rt-14-dev)" >&2
    exit 1
fi
sh "$here/run.sh"
status=$?
[ "$status" -eq 0 ] && echo "PASS: fuzz smoke run" || echo "FAIL: fuzz smoke run (see above)" >&2
exit "$status"
