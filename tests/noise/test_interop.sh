#!/bin/sh
# Interoperability of the Noise engine with an independent implementation:
# Debian's python3-dissononce drives one party, tests/noise/noise_peer the
# other (tests/noise/interop_dissononce.py). Run by tests/run-all.sh as
#   env BUILD=<dir> sh tests/noise/test_interop.sh
# Fails (never passes silently) when dissononce is not installed.
set -u
BUILD=${BUILD:-build}
here=$(dirname "$0")
peer="$BUILD/tests/noise/noise_peer"

if ! /usr/bin/python3 -c 'import dissononce' >/dev/null 2>&1; then
    echo "FAIL test_interop: /usr/bin/python3 cannot import dissononce;" \
        "install python3-dissononce (make deps does it)" >&2
    exit 1
fi
if [ ! -x "$peer" ]; then
    echo "FAIL test_interop: $peer not built (make check builds it)" >&2
    exit 1
fi
exec /usr/bin/python3 -B "$here/interop_dissononce.py" "$peer"
