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
here=$(dirname "$0")
. "$here/e2e_env.sh" && e2e_setup test_hostile

trap 'rm -rf "$dir"' EXIT
trap 'exit 1' INT TERM HUP

# The script bounds itself at 88 s; timeout is the backstop (its SIGTERM makes the script kill its servers).
timeout 100 /usr/bin/python3 -B "$here/hostile_e2e.py" --server "$server" "$@"
