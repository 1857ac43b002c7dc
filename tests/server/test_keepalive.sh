#!/bin/sh
# secchat-server's keepalive (--ping-interval 300 --pong-timeout 600): a silent
# client that never answers pings is pinged and then dropped, the others are
# told it left; one that answers stays (tests/server/keepalive_e2e.py, which
# starts and always kills its own server). Run by tests/run-all.sh as
#   env BUILD=<dir> sh tests/server/test_keepalive.sh
# Temporary HOME and XDG_CONFIG_HOME; 127.0.0.1 only. Fails (never passes
# silently) when a module or the server is missing.
set -u
here=$(dirname "$0")
. "$here/e2e_env.sh" && e2e_setup test_keepalive

trap 'rm -rf "$dir"' EXIT
trap 'exit 1' INT TERM HUP

# The script bounds itself at 25 s; timeout is the backstop (it kills the server too via its own cleanup).
timeout 30 /usr/bin/python3 -B "$here/keepalive_e2e.py" --server "$server"
