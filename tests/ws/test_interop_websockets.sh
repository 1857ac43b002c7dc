#!/bin/sh
# Interoperability of the WebSocket endpoint with an independent implementation:
# Debian's python3-websockets drives one end, tests/ws/ws_peer the other
# (tests/ws/interop_websockets.py). Run by tests/run-all.sh as
#   env BUILD=<dir> sh tests/ws/test_interop_websockets.sh
# Fails (never passes silently) when websockets is not installed.
set -u
BUILD=${BUILD:-build}
here=$(dirname "$0")
peer="$BUILD/tests/ws/ws_peer"

if ! /usr/bin/python3 -c 'import websockets' >/dev/null 2>&1; then
    echo "FAIL test_interop_websockets: /usr/bin/python3 cannot import websockets;" \
        "install python3-websockets (make deps does it)" >&2
    exit 1
fi
if [ ! -x "$peer" ]; then
    echo "FAIL test_interop_websockets: $peer not built (make check builds it)" >&2
    exit 1
fi
exec /usr/bin/python3 -B "$here/interop_websockets.py" "$peer"
