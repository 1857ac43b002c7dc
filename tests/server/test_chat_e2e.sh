#!/bin/sh
# End-to-end tests of the chat server program with independent clients
# (python3-websockets, python3-dissononce; tests/server/chat_e2e.py).
# Run by tests/run-all.sh as
#   env BUILD=<dir> sh tests/server/test_chat_e2e.sh
# Starts the main server (--listen 127.0.0.1:0 --demo-psk, stdin at EOF, its
# own empty config directory), runs the script, and always stops the server.
# Fails (never passes silently) when a module or the server is missing.
set -u
here=$(dirname "$0")
. "$here/e2e_env.sh" && e2e_setup test_chat_e2e

pid=
stop_server() {
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null
    # Up to 5 s for a clean exit, then SIGKILL.
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    pid=
}
trap 'stop_server; rm -rf "$dir"' EXIT
trap 'exit 1' INT TERM HUP


"$server" --listen 127.0.0.1:0 --demo-psk </dev/null >"$dir/console" 2>"$dir/stderr" &
pid=$!

# The first console line names the port; wait up to 5 s for it.
line=
i=0
while [ $i -lt 50 ]; do
    line=$(head -n 1 "$dir/console")
    case $line in "Server listening on: "*) break ;; esac
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
    i=$((i + 1))
done
case $line in
"Server listening on: 127.0.0.1:"*) port=${line##*:} ;;
*)
    echo "FAIL test_chat_e2e: no 'Server listening on: 127.0.0.1:PORT' line from $server; first line: '$line'"
    echo "stderr:"
    cat "$dir/stderr"
    exit 1
    ;;
esac

status=0
timeout 90 /usr/bin/python3 -B "$here/chat_e2e.py" --server "$server" --port "$port" --pid "$pid" || status=$?
if [ "$status" -ne 0 ]; then
    echo "main server console (last 20 lines):"
    tail -n 20 "$dir/console"
    echo "main server stderr (last 20 lines):"
    tail -n 20 "$dir/stderr"
fi
stop_server
exit "$status"
