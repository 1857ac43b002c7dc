#!/bin/sh
# Load test of secchat-server: many clients in several rooms, every delivery
# checked (tests/server/chat_load.c), then the server's memory, liveness and
# shutdown.
#   env BUILD=build sh tests/server/test_load.sh
#   env BUILD=build/tsan LOAD_SMALL=1 sh tests/server/test_load.sh    (a TSan build of the server)
# The server is $BUILD/apps/secchat-server, the tool $BUILD/tests/server/chat_load
# (env CHAT_LOAD overrides it, e.g. a plain build's tool against a TSan server).
# LOAD_SMALL=1: 50 clients, 10 messages, for slow sanitized servers.
# Passes when chat_load sees every message delivered exactly once and in order,
# the server's VmRSS after the clients have gone is within RSS_SLACK_MIB
# (default 8) of its VmRSS before the load (not enforced for a sanitized
# server, whose shadow memory and quarantine only grow), the server still
# takes a new client afterwards, and it exits 0 within 5 s of SIGTERM without
# a sanitizer report.
set -u
BUILD=${BUILD:-build}
SERVER=$BUILD/apps/secchat-server
CHAT_LOAD=${CHAT_LOAD:-$BUILD/tests/server/chat_load}
RSS_SLACK_MIB=${RSS_SLACK_MIB:-8}
if [ "${LOAD_SMALL:-0}" = 1 ]; then
    clients=50 rooms=4 messages=10
else
    clients=200 rooms=4 messages=50
fi

fail() {
    echo "test_load: FAIL: $*" >&2
    exit 1
}

for f in "$SERVER" "$CHAT_LOAD"; do
    [ -x "$f" ] || fail "$f is missing (make BUILD=$BUILD $f)"
done

# A sanitized server is slower and its RSS says nothing about leaks.
sanitized=0
grep -q -e __tsan_init -e __asan_init "$SERVER" && sanitized=1
if [ "$sanitized" = 1 ]; then
    start_wait=300 load_timeout_ms=600000 stall_ms=60000
else
    start_wait=100 load_timeout_ms=120000 stall_ms=15000
fi

tmp=$(mktemp -d) || fail "mktemp"
pid=
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# Running, not a zombie waiting for us.
# Running and not a zombie. The state is read once: a process that ends
# between two reads of /proc must not count as alive.
alive() {
    st=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null)
    [ -n "$st" ] && [ "$st" != Z ]
}

rss_kib() {
    sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/$1/status"
}

now_ms() {
    echo $(($(date +%s%N) / 1000000))
}

show_server_stderr() {
    if [ -s "$tmp/server.err" ]; then
        echo "-- server stderr:"
        head -n 200 "$tmp/server.err"
    fi
}

# A config dir of our own, so the server never touches the user's keys.
mkdir "$tmp/config"
XDG_CONFIG_HOME=$tmp/config "$SERVER" --listen 127.0.0.1:0 --demo-psk --quiet --threads 2 \
    </dev/null >"$tmp/server.out" 2>"$tmp/server.err" &
pid=$!

# Its first line names the port (wait up to start_wait tenths of a second).
i=0
port=
while [ $i -lt $start_wait ]; do
    port=$(sed -n '1s/^Server listening on: 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$tmp/server.out")
    [ -n "$port" ] && break
    alive "$pid" || { show_server_stderr; fail "the server exited before listening"; }
    sleep 0.1
    i=$((i + 1))
done
[ -n "$port" ] || { show_server_stderr; fail "no 'Server listening on: 127.0.0.1:PORT' line after $((start_wait / 10)) s; stdout: $(head -c 200 "$tmp/server.out")"; }
echo "server pid $pid on port $port ($SERVER)"

sleep 0.5
rss_before=$(rss_kib "$pid")
[ -n "$rss_before" ] || fail "no VmRSS for pid $pid"

echo "running: $CHAT_LOAD --url ws://127.0.0.1:$port/ --clients $clients --rooms $rooms --messages $messages"
t0=$(now_ms)
"$CHAT_LOAD" --url "ws://127.0.0.1:$port/" --clients $clients --rooms $rooms --messages $messages \
    --timeout-ms $load_timeout_ms --stall-ms $stall_ms
load_status=$?
t1=$(now_ms)
echo "chat_load exited $load_status after $((t1 - t0)) ms"
if [ $load_status -ne 0 ]; then
    alive "$pid" || echo "the server is no longer running" >&2
    show_server_stderr
    fail "chat_load reported lost, duplicated or misordered messages, or a failure (status $load_status)"
fi

alive "$pid" || { show_server_stderr; fail "the server died under load"; }
sleep 1 # let the server finish tearing down the closed connections
rss_after=$(rss_kib "$pid")
[ -n "$rss_after" ] || fail "no VmRSS for pid $pid after the load"
limit=$((rss_before + RSS_SLACK_MIB * 1024))
echo "server VmRSS: before $rss_before kB, after $rss_after kB (delta $((rss_after - rss_before)) kB, limit $limit kB = before + $RSS_SLACK_MIB MiB)"
if [ "$rss_after" -gt "$limit" ]; then
    if [ "$sanitized" = 1 ]; then
        echo "(RSS bound not enforced: sanitized server)"
    else
        fail "the server's RSS grew by more than $RSS_SLACK_MIB MiB and did not come back after the clients left"
    fi
fi

# Still answering: a small second session on the same server.
"$CHAT_LOAD" --url "ws://127.0.0.1:$port/" --clients 2 --rooms 1 --messages 1 --timeout-ms 30000 >"$tmp/probe.out" 2>&1 ||
    { cat "$tmp/probe.out"; show_server_stderr; fail "the server no longer serves new clients after the load"; }
echo "the server still serves new clients"

# SIGTERM: exit 0 within 5 s.
kill -TERM "$pid"
i=0
while alive "$pid" && [ $i -lt 50 ]; do
    sleep 0.1
    i=$((i + 1))
done
if alive "$pid"; then
    show_server_stderr
    fail "the server did not exit within 5 s of SIGTERM"
fi
wait "$pid"
server_status=$?
pid=
echo "server exited $server_status $((i * 100)) ms after SIGTERM"
if grep -q -e 'Sanitizer' -e 'runtime error:' "$tmp/server.err"; then
    show_server_stderr
    fail "sanitizer report from the server"
fi
[ $server_status -eq 0 ] || { show_server_stderr; fail "the server exited $server_status after SIGTERM (expected 0)"; }
echo "test_load: PASS"
