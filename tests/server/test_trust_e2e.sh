#!/bin/sh
# secchat-server --authorized-keys: allow-list, name binding, SIGHUP reloads,
# malformed and missing files (tests/server/trust_e2e.py, independent clients:
# python3-websockets, python3-dissononce). Run by tests/run-all.sh as
#   env BUILD=<dir> sh tests/server/test_trust_e2e.sh
# The script starts its own servers (--listen 127.0.0.1:0 --demo-psk) and
# records their process ids; whatever a crash or the timeout left running is
# killed here. Temporary HOME and XDG_CONFIG_HOME; 127.0.0.1 only. Fails
# (never passes silently) when a module or the server is missing.
set -u
here=$(dirname "$0")
. "$here/e2e_env.sh" && e2e_setup test_trust_e2e

pids="$dir/pids"
: >"$pids"
# Kills the servers the script started that are still running: only those pids,
# and only while they are still a secchat-server (a pid may have been reused).
stop_servers() {
    while read -r p; do
        if [ -z "$p" ] || [ ! -r "/proc/$p/cmdline" ]; then
            continue
        fi
        case $(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline") in
        *secchat-server*) kill -9 "$p" 2>/dev/null ;;
        esac
    done <"$pids"
}
child=
# On an early exit (INT, TERM, HUP), first the script (timeout passes the signal on), then its servers.
stop_all() {
    if [ -n "$child" ]; then
        kill "$child" 2>/dev/null
        wait "$child" 2>/dev/null
    fi
    stop_servers
    rm -rf "$dir"
}
trap stop_all EXIT
trap 'exit 1' INT TERM HUP

mkdir "$dir/keys"

# The script bounds itself at 75 s; timeout is the backstop. In the background, so that a signal to this
# shell runs the traps at once (a foreground child would delay them until it ends).
timeout 90 /usr/bin/python3 -B "$here/trust_e2e.py" --server "$server" --dir "$dir/keys" --pids "$pids" &
child=$!
wait "$child"
status=$?
child=
exit "$status"
