#!/bin/sh
# secchat-server against hostile clients (tests/server/hostile_e2e.py): 1,000 silent connections, slowloris,
# clients that vanish mid-frame or mid-handshake or reset with a backlog, a member that never reads, churn,
# and the limits (--rate/--burst, --max-pending, --name-timeout, --max-rooms, --max-room-members,
# --max-name-length), while well-behaved members keep chatting; the server's RSS, descriptors and SIGTERM exit
# are checked in every scenario. Each scenario starts and always kills its own server. Run by tests/run-all.sh as
#   env BUILD=<dir> sh tests/server/test_hostile.sh
# Temporary HOME and XDG_CONFIG_HOME; 127.0.0.1 only. Fails (never passes silently) when a module or the
# server is missing.
set -u
BUILD=${BUILD:-build}
here=$(dirname "$0")
server="$BUILD/apps/secchat-server"

for module in websockets dissononce; do
    if ! /usr/bin/python3 -c "import $module" >/dev/null 2>&1; then
        echo "FAIL test_hostile: /usr/bin/python3 cannot import $module; install python3-$module" >&2
        exit 1
    fi
done
if [ ! -x "$server" ]; then
    echo "FAIL test_hostile: $server not built" >&2
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

# The script bounds itself at 88 s; timeout is the backstop (its SIGTERM makes the script kill its servers).
timeout 100 /usr/bin/python3 -B "$here/hostile_e2e.py" --server "$server" "$@"
