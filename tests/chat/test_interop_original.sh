#!/bin/sh
# End-to-end interoperability of the secure session with the original
# program's wire behaviour: Debian's python3-websockets and python3-dissononce
# play the original client and server, tests/chat/session_peer the other end
# (tests/chat/interop_original.py). Run by tests/run-all.sh as
#   env BUILD=<dir> sh tests/chat/test_interop_original.sh
# Fails (never passes silently) when either module is missing.
set -u
BUILD=${BUILD:-build}
here=$(dirname "$0")
peer="$BUILD/tests/chat/session_peer"

for module in websockets dissononce; do
    if ! /usr/bin/python3 -c "import $module" >/dev/null 2>&1; then
        echo "FAIL test_interop_original: /usr/bin/python3 cannot import $module;" \
            "install python3-$module (make deps does it)" >&2
        exit 1
    fi
done
if [ ! -x "$peer" ]; then
    echo "FAIL test_interop_original: $peer not built (make check builds it)" >&2
    exit 1
fi
exec /usr/bin/python3 -B "$here/interop_original.py" "$peer"
