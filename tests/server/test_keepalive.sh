#!/bin/sh
# secchat-server's keepalive (--ping-interval 300 --pong-timeout 600): a silent
# client that never answers pings is pinged and then dropped, the others are
# told it left; one that answers stays (tests/server/keepalive_e2e.py, which
# starts and always kills its own server). Run by tests/run-all.sh as
#   env BUILD=<dir> sh tests/server/test_keepalive.sh
# Temporary HOME and XDG_CONFIG_HOME; 127.0.0.1 only. Fails (never passes
# silently) when a module or the server is missing.
set -u
BUILD=${BUILD:-build}
here=$(dirname "$0")
server="$BUILD/apps/secchat-server"

for module in websockets dissononce; do
    if ! /usr/bin/python3 -c "import $module" >/dev/null 2>&1; then
        echo "FAIL test_keepalive: /usr/bin/python3 cannot import $module; install python3-$module" >&2
        exit 1
    fi
done
if [ ! -x "$server" ]; then
    echo "FAIL test_keepalive: $server not built" >&2
    exit 1
fi

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
trap 'exit 1' INT TERM HUP
# The server must not read or create the user's ~/.config/secchat.
mkdir "$dir/config"
XDG_CONFIG_HOME="$dir/config"
HOME="$dir"
export XDG_CONFIG_HOME HOME
unset SECCHAT_PSK_FILE

# The script bounds itself at 25 s; timeout is the backstop (it kills the server too via its own cleanup).
timeout 30 /usr/bin/python3 -B "$here/keepalive_e2e.py" --server "$server"
