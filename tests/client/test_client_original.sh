#!/bin/sh
# secchat-client (the real program) against a server that behaves like the
# ORIGINAL Rust server on the wire: tests/client/original_server.py
# (python3-websockets + python3-dissononce, serde-exact JSON, demo PSK).
# Three runs: --name Alice; no --name (the first line typed is the name);
# the server closing with 1000. Each checks the wire bytes (server side) and
# the client's exact stdout, stderr (only the --demo-psk warning) and exit 0.
# Run by tests/run-all.sh as
#   env BUILD=<dir> sh tests/client/test_client_original.sh   (from the repo root)
# Temporary HOME and XDG_CONFIG_HOME, 127.0.0.1 only, bounded waits, and
# everything started is killed. Fails when a module or the client is missing.
set -eu

BUILD=${BUILD:-build}
cd "$(dirname "$0")/../.."
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
client=$(abs "$BUILD/apps/secchat-client")
server_py=$PWD/tests/client/original_server.py
PY=/usr/bin/python3

for module in websockets dissononce; do
    if ! $PY -c "import $module" >/dev/null 2>&1; then
        echo "FAIL test_client_original: $PY cannot import $module; install python3-$module" >&2
        exit 1
    fi
done
if [ ! -x "$client" ]; then
    echo "FAIL test_client_original: $client not built" >&2
    exit 1
fi

tmp=$(mktemp -d)
. tests/common/procs.sh # pids, forget, wait_pid
cleanup() {
    exec 3>&- 2>/dev/null || true
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
HOME=$tmp/home
XDG_CONFIG_HOME=$tmp/home/.config
export HOME XDG_CONFIG_HOME
unset SECCHAT_PSK_FILE || true
mkdir -p "$HOME"

checks=0
ok() {
    checks=$((checks + 1))
    printf 'ok    %s\n' "$*"
}
fail() {
    printf 'FAIL  %s\n' "$*"
    for f in "$tmp/py.out" "$tmp/out" "$tmp/err" "$tmp/diff"; do
        [ -f "$f" ] && sed "s#^#      $(basename "$f")| #" "$f" | cut -c1-200
    done
    exit 1
}

# The --demo-psk warning is all the client may write on stderr.
cat >"$tmp/warning" <<'EOT'
secchat-client: warning: --demo-psk uses the original program's PSK, which is public:
  anyone can join or impersonate the server. Use it for demos only.
EOT

# scenario NAME CLIENT_ARGS...: one run of original_server.py against the client.
scenario() {
    sc=$1
    shift
    d=$tmp/$sc
    mkdir -p "$d"
    rm -f "$tmp/py.out" "$tmp/out" "$tmp/err" "$tmp/in" "$tmp/diff"
    $PY -B "$server_py" --scenario "$sc" --dir "$d" >"$tmp/py.out" 2>&1 &
    spid=$!
    pids="$pids $spid"
    n=0
    until grep -q '^KEY ' "$tmp/py.out" 2>/dev/null; do
        n=$((n + 1))
        { [ $n -gt 200 ] || ! kill -0 "$spid" 2>/dev/null; } && fail "$sc: original_server.py did not start"
        sleep 0.05
    done
    port=$(sed -n 's/^PORT //p' "$tmp/py.out")

    mkfifo "$tmp/in"
    timeout -k 2 20 "$client" --url "ws://127.0.0.1:$port" --demo-psk --no-pin "$@" \
        <"$tmp/in" >"$tmp/out" 2>"$tmp/err" &
    cpid=$!
    pids="$pids $cpid"
    exec 3>"$tmp/in" # held open: the client must not see end of input before quit
    # A client that died early must fail the checks below, not kill us with SIGPIPE.
    (trap '' PIPE; cat "$d/stdin" >&3) 2>/dev/null || true
    last=$(cat "$d/last")
    if [ -n "$last" ]; then
        # quit only once everything the server sent has been printed (or the server gave up)
        n=0
        until grep -qxF -- "$last" "$tmp/out"; do
            n=$((n + 1))
            [ $n -gt 200 ] && fail "$sc: the client never printed '$last'"
            kill -0 "$spid" 2>/dev/null || break
            sleep 0.05
        done
        (trap '' PIPE; echo quit >&3) 2>/dev/null || true
    fi
    wait_pid "$cpid" 15
    cstatus=$st
    exec 3>&-
    wait_pid "$spid" 10
    pstatus=$st

    grep '^ok ' "$tmp/py.out" | sed "s/^ok    server: /ok    $sc: server saw: /"
    checks=$((checks + $(grep -c '^ok ' "$tmp/py.out")))
    [ "$pstatus" -eq 0 ] && grep -q '^original_server: [0-9]* checks passed$' "$tmp/py.out" ||
        fail "$sc: original_server.py failed (status $pstatus)"
    [ "$cstatus" -eq 0 ] || fail "$sc: client exit status $cstatus, expected 0"
    ok "$sc: client exit status 0"
    diff "$d/expected" "$tmp/out" >"$tmp/diff" || fail "$sc: client stdout differs from the expected lines"
    ok "$sc: client stdout is exactly the $(wc -l <"$d/expected") expected lines (fingerprint, messages, close)"
    cmp -s "$tmp/warning" "$tmp/err" || fail "$sc: stderr is not just the --demo-psk warning"
    ok "$sc: client stderr is only the --demo-psk warning"
    [ ! -e "$XDG_CONFIG_HOME/secchat/known_servers" ] || fail "$sc: --no-pin wrote known_servers"
    ok "$sc: --no-pin: no known_servers written"
}

scenario name --name Alice
scenario stdin-name
scenario reverse --name Alice

echo "test_client_original: $checks checks passed"
