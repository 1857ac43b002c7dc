#!/bin/sh
# secchat-client as its users see it, driven through a pipe (no terminal):
# usage errors (exit 2), PSK resolution and its messages (missing file, bad
# permissions, --psk-file, SECCHAT_PSK_FILE, --demo-psk), the conversation
# with the exact lines of the original client, and the server key checks:
# first contact pins the key in known_servers, the same key passes silently,
# a changed key is refused naming both fingerprints and the file's line,
# --server-key (fingerprint or key file; match and mismatch), --no-pin.
# Run by tests/run-all.sh as
#   env BUILD=<dir> sh tests/client/test_client_app.sh   (from the repo root)
# The server is $BUILD/tests/chat/session_peer (one connection per run); if
# $BUILD/apps/secchat-server is built, the real server is also used (close at
# shutdown, pinning across restarts with --key-file). Everything happens under
# a temporary HOME on 127.0.0.1; every wait is bounded; what is started is killed.
set -eu

BUILD=${BUILD:-build}
cd "$(dirname "$0")/../.."
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
client=$(abs "$BUILD/apps/secchat-client")
peer=$(abs "$BUILD/tests/chat/session_peer")
keygen=$(abs "$BUILD/apps/secchat-keygen")
server=$(abs "$BUILD/apps/secchat-server")
PY=/usr/bin/python3
for b in "$client" "$peer" "$keygen"; do
    if [ ! -x "$b" ]; then
        echo "FAIL test_client_app: $b not built (make check builds it)" >&2
        exit 1
    fi
done

tmp=$(mktemp -d)
. tests/common/procs.sh # pids, forget
cleanup() {
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
cfgdir=$XDG_CONFIG_HOME/secchat
known=$cfgdir/known_servers

checks=0
ok() {
    checks=$((checks + 1))
    printf 'ok    %s\n' "$*"
}
show() {
    for f in "$@"; do [ -f "$f" ] && sed "s#^#      $(basename "$f")| #" "$f"; done
    return 0
}
fail() {
    printf 'FAIL  %s\n' "$*"
    show "$tmp/out" "$tmp/err" "$tmp/peer.out" "$tmp/peer.err"
    exit 1
}
# run ARGS...: runs the client with stdin from /dev/null; $tmp/out, $tmp/err, $status.
run() {
    status=0
    timeout 20 "$client" "$@" </dev/null >"$tmp/out" 2>"$tmp/err" || status=$?
}
expect() {
    [ "$status" -eq "$1" ] || fail "$2: exit status $status, expected $1"
}
has() { # has FILE TEXT: fixed-string search
    grep -qF -- "$2" "$1"
}
# wait_for FILE TEXT [SECONDS]: until FILE contains TEXT (bounded).
wait_for() {
    n=0
    while ! { [ -f "$1" ] && grep -qF -- "$2" "$1"; }; do
        n=$((n + 1))
        [ "$n" -gt $((${3:-10} * 20)) ] && return 1
        sleep 0.05
    done
    return 0
}

# Keys: hex <-> base64, fingerprints (docs/keys.md), key files.
fp_of_hex() {
    $PY -c 'import hashlib,sys; h=hashlib.sha256(bytes.fromhex(sys.argv[1])).hexdigest()[:32]; print(":".join(h[i:i+4] for i in range(0,32,4)))' "$1"
}
b64_of_hex() {
    $PY -c 'import base64,sys; print(base64.b64encode(bytes.fromhex(sys.argv[1])).decode())' "$1"
}
hex_of_keyfile() {
    sed -n 2p "$1" | $PY -c 'import base64,sys; print(base64.b64decode(sys.stdin.read().strip()).hex())'
}
write_pub() { # write_pub FILE HEX
    printf 'secchat-x25519-public-v1\n%s\n' "$(b64_of_hex "$2")" >"$1"
}
random_hex() {
    $PY -c 'import os; print(os.urandom(32).hex())'
}

# A PSK for the whole run, where the client looks by default.
"$keygen" --psk-only --quiet
psk_hex=$(hex_of_keyfile "$cfgdir/psk")
[ "$(stat -c %a "$cfgdir/psk")" = 600 ] || fail "keygen wrote the psk 0600"

# start_peer [PSK_HEX]: session_peer server on 127.0.0.1; sets $port $key_hex $fp.
peer_pid=""
start_peer() {
    rm -f "$tmp/peer.out" "$tmp/peer.err"
    "$peer" --psk "${1:-$psk_hex}" server >"$tmp/peer.out" 2>"$tmp/peer.err" &
    peer_pid=$!
    pids="$pids $peer_pid"
    wait_for "$tmp/peer.out" "KEY " || fail "session_peer did not start"
    port=$(sed -n 's/^PORT //p' "$tmp/peer.out")
    key_hex=$(sed -n 's/^KEY //p' "$tmp/peer.out")
    fp=$(fp_of_hex "$key_hex")
}
stop_peer() {
    [ -n "$peer_pid" ] || return 0 # the real server is stopped by stop_server
    n=0
    while kill -0 "$peer_pid" 2>/dev/null && [ $n -lt 100 ]; do
        sleep 0.05
        n=$((n + 1))
    done
    kill "$peer_pid" 2>/dev/null || true
    wait "$peer_pid" 2>/dev/null || true
    forget "$peer_pid"
    peer_pid=""
}

# chat ARGS...: a whole conversation with the peer: name "Alice" answered by
# --name, one line echoed, quit. Sets $status; output in $tmp/out, $tmp/err.
chat() {
    rm -f "$tmp/in" "$tmp/out" "$tmp/err"
    mkfifo "$tmp/in"
    status=0
    timeout 20 "$client" --url "ws://127.0.0.1:$port" --name Alice "$@" <"$tmp/in" >"$tmp/out" 2>"$tmp/err" &
    cpid=$!
    pids="$pids $cpid"
    exec 3>"$tmp/in"
    if wait_for "$tmp/out" "Server: Alice joined the chat"; then
        echo "hello there" >&3
        wait_for "$tmp/out" "Alice: hello there" || true
        echo quit >&3
    fi
    exec 3>&-
    wait "$cpid" || status=$?
    forget "$cpid"
    stop_peer
}

# ---- usage ---------------------------------------------------------------------

run --bogus
expect 2 "unknown option"
has "$tmp/err" "Usage: secchat-client" || fail "usage on stderr for an unknown option"
run --url
expect 2 "--url without its argument"
run --url http://127.0.0.1:8080/
expect 2 "not a ws:// URL"
has "$tmp/err" "http://127.0.0.1:8080/" || fail "the bad URL is named"
run extra-argument
expect 2 "extra argument"
run --server-key not-a-fingerprint
expect 2 "--server-key that is neither a fingerprint nor a file"
run --server-key 0123:4567:89ab:cdef:0123:4567:89ab:cdef --no-pin
expect 2 "--server-key with --no-pin"
run --name ""
expect 2 "empty --name"
ok "bad flags exit 2 with the usage on stderr"
run --help
expect 0 "--help"
has "$tmp/out" "--psk-file" || fail "--help lists the options"
run --version
expect 0 "--version"
has "$tmp/out" "libsecchat" || fail "--version names libsecchat"
ok "--help and --version exit 0"

# ---- PSK resolution --------------------------------------------------------------

mv "$cfgdir/psk" "$tmp/psk.saved"
run --url ws://127.0.0.1:9/
expect 1 "no PSK anywhere"
has "$tmp/err" "$cfgdir/psk" || fail "the missing PSK message names $cfgdir/psk"
has "$tmp/err" "secchat-keygen" || fail "the missing PSK message says how to make one"
has "$tmp/err" "--demo-psk" || fail "the missing PSK message mentions --demo-psk"
[ ! -s "$tmp/out" ] || fail "nothing on stdout without a PSK"
ok "missing default PSK: exit 1 naming $cfgdir/psk, secchat-keygen and --demo-psk"
mv "$tmp/psk.saved" "$cfgdir/psk"

chmod 644 "$cfgdir/psk"
run --url ws://127.0.0.1:9/
expect 1 "PSK readable by others"
has "$tmp/err" "secchat-client: $cfgdir/psk: secret key file" || fail "bad permissions: file and reason"
has "$tmp/err" "chmod 600" || fail "bad permissions: the fix"
ok "PSK open to others: exit 1 with the file and the reason"
chmod 600 "$cfgdir/psk"

run --psk-file "$tmp/nope" --url ws://127.0.0.1:9/
expect 1 "--psk-file that does not exist"
has "$tmp/err" "secchat-client: $tmp/nope: " || fail "the missing --psk-file is named"
has "$tmp/err" "No such file" || fail "the missing --psk-file says why"
cp "$cfgdir/psk" "$tmp/env.psk"
chmod 640 "$tmp/env.psk"
status=0
SECCHAT_PSK_FILE=$tmp/env.psk timeout 20 "$client" --url ws://127.0.0.1:9/ </dev/null >"$tmp/out" 2>"$tmp/err" || status=$?
expect 1 "SECCHAT_PSK_FILE open to the group"
has "$tmp/err" "$tmp/env.psk: secret key file" || fail "SECCHAT_PSK_FILE is the file read"
status=0
SECCHAT_PSK_FILE=$tmp/env.psk timeout 20 "$client" --psk-file "$tmp/nope2" --url ws://127.0.0.1:9/ \
    </dev/null >"$tmp/out" 2>"$tmp/err" || status=$?
has "$tmp/err" "$tmp/nope2" || fail "--psk-file comes before SECCHAT_PSK_FILE"
printf 'secchat-x25519-public-v1\n%s\n' "$(b64_of_hex "$(random_hex)")" >"$tmp/pub.key"
chmod 600 "$tmp/pub.key"
run --psk-file "$tmp/pub.key" --url ws://127.0.0.1:9/
expect 1 "a public key given as PSK"
has "$tmp/err" "$tmp/pub.key: key file holds another type" || fail "wrong key type is named"
run --key-file "$tmp/nope3" --url ws://127.0.0.1:9/
expect 1 "--key-file that does not exist"
has "$tmp/err" "$tmp/nope3" || fail "the missing --key-file is named"
ok "--psk-file, SECCHAT_PSK_FILE (in that order), wrong key type, --key-file errors"

# ---- conversation and first contact ------------------------------------------------

rm -f "$known"
start_peer
chat
[ "$status" -eq 0 ] || fail "conversation: exit status $status"
cat >"$tmp/expected" <<EOT
Connecting to server at: ws://127.0.0.1:$port
Connected to server
Starting Noise handshake...
Pinned server key for 127.0.0.1:$port (fingerprint $fp) in $known
Secure channel established
Server key fingerprint: $fp
Server: Please enter your name:
Server: Alice joined the chat
Alice: hello there
Disconnecting...
Disconnected
EOT
diff "$tmp/expected" "$tmp/out" >"$tmp/diff" || { cat "$tmp/diff"; fail "conversation: stdout differs"; }
[ ! -s "$tmp/err" ] || fail "conversation: nothing on stderr"
has "$tmp/peer.out" "MSG sender= content=Alice" || fail "the name went out as the first line"
has "$tmp/peer.out" "MSG sender= content=hello there" || fail "the line went out"
has "$tmp/peer.out" "CLOSED code=1000 error=0" || fail "the server saw a clean close 1000"
ok "conversation: the original client's lines, name answered, clean close, exit 0"
[ "$(cat "$known")" = "127.0.0.1:$port $(b64_of_hex "$key_hex")" ] || fail "known_servers holds the server's key"
[ "$(stat -c %a "$known")" = 600 ] || fail "known_servers is 0600"
[ "$(stat -c %a "$cfgdir")" = 700 ] || fail "the config dir is 0700"
ok "first contact: key pinned in known_servers (0600) and announced"

# known_servers in a config dir that does not exist yet is created with it (0700).
XDG_CONFIG_HOME=$tmp/fresh start_peer
status=0
XDG_CONFIG_HOME=$tmp/fresh chat --psk-file "$cfgdir/psk"
[ "$status" -eq 0 ] || fail "pinning into a new config dir: exit $status"
[ "$(stat -c %a "$tmp/fresh/secchat")" = 700 ] || fail "new config dir is 0700"
has "$tmp/fresh/secchat/known_servers" "127.0.0.1:$port " || fail "pinned in the new dir"
ok "pinning creates the missing config dir 0700"

# ---- same key, changed key ------------------------------------------------------------

start_peer
printf '# test\n127.0.0.2:1 %s\n127.0.0.1:%s %s\n' "$(b64_of_hex "$(random_hex)")" "$port" \
    "$(b64_of_hex "$key_hex")" >"$known"
cp "$known" "$tmp/known.before"
chat
[ "$status" -eq 0 ] || fail "same key: exit status $status"
! has "$tmp/out" "Pinned" || fail "same key: nothing pinned again"
has "$tmp/out" "Secure channel established" || fail "same key: connected"
cmp -s "$known" "$tmp/known.before" || fail "same key: known_servers unchanged"
ok "same key as recorded: connects silently"

old_hex=$(random_hex)
old_fp=$(fp_of_hex "$old_hex")
start_peer
printf '# test\n127.0.0.2:1 %s\n127.0.0.1:%s %s\n' "$(b64_of_hex "$(random_hex)")" "$port" \
    "$(b64_of_hex "$old_hex")" >"$known"
cp "$known" "$tmp/known.before"
chat
[ "$status" -eq 1 ] || fail "changed key: exit status $status, expected 1"
has "$tmp/err" "recorded  fingerprint: $old_fp" || fail "changed key: the recorded fingerprint"
has "$tmp/err" "presented fingerprint: $fp" || fail "changed key: the presented fingerprint"
has "$tmp/err" "remove $known line 3" || fail "changed key: file and line to remove"
has "$tmp/err" "WARNING" || fail "changed key: loud"
! has "$tmp/out" "Secure channel established" || fail "changed key: never secure"
cmp -s "$known" "$tmp/known.before" || fail "changed key: known_servers unchanged"
has "$tmp/peer.out" "CLOSED code=1008" || fail "changed key: the server saw 1008"
! has "$tmp/peer.out" "READY" || fail "changed key: refused before the client authenticated"
ok "changed key: refused, both fingerprints and '$known line 3' on stderr"

# ---- --server-key, --no-pin -------------------------------------------------------------

rm -f "$known"
start_peer
chat --server-key "$(echo "$fp" | tr a-f A-F)"
[ "$status" -eq 0 ] || fail "--server-key fingerprint match: exit $status"
[ ! -e "$known" ] || fail "--server-key does not touch known_servers"
ok "--server-key FINGERPRINT (any case) matching: connects, known_servers untouched"

start_peer
write_pub "$tmp/server.pub" "$key_hex"
chat --server-key "$tmp/server.pub"
[ "$status" -eq 0 ] || fail "--server-key file match: exit $status"
ok "--server-key FILE matching: connects"

start_peer
chat --server-key "$old_fp"
[ "$status" -eq 1 ] || fail "--server-key mismatch: exit $status, expected 1"
has "$tmp/err" "expected  fingerprint: $old_fp" || fail "--server-key mismatch: expected fingerprint"
has "$tmp/err" "presented fingerprint: $fp" || fail "--server-key mismatch: presented fingerprint"
! has "$tmp/out" "Secure channel established" || fail "--server-key mismatch: never secure"
[ ! -e "$known" ] || fail "--server-key mismatch does not touch known_servers"
start_peer
write_pub "$tmp/other.pub" "$old_hex"
chat --server-key "$tmp/other.pub"
[ "$status" -eq 1 ] || fail "--server-key file mismatch: exit $status, expected 1"
has "$tmp/err" "expected  fingerprint: $old_fp" || fail "--server-key file mismatch: expected fingerprint"
ok "--server-key mismatch (fingerprint or file): refused with both fingerprints, exit 1"

start_peer
printf '127.0.0.1:%s %s\n' "$port" "$(b64_of_hex "$old_hex")" >"$known"
chat --no-pin
[ "$status" -eq 0 ] || fail "--no-pin: exit $status"
[ "$(cat "$known")" = "127.0.0.1:$port $(b64_of_hex "$old_hex")" ] || fail "--no-pin leaves known_servers alone"
rm -f "$known"
ok "--no-pin: connects whatever the key, known_servers untouched"

# ---- failures ------------------------------------------------------------------------------

start_peer "$(random_hex)"
chat --no-pin
[ "$status" -eq 1 ] || fail "wrong PSK: exit $status, expected 1"
has "$tmp/err" "PSK" || fail "wrong PSK: the hint names the PSK"
has "$tmp/out" "Starting Noise handshake..." || fail "wrong PSK: the handshake started"
! has "$tmp/out" "Secure channel established" || fail "wrong PSK: never secure"
ok "wrong PSK: exit 1 with the handshake error and a PSK hint"

demo_hex=$($PY -c 'print(b"my_super_secret_pre_shared_key!!".hex())')
start_peer "$demo_hex"
chat --no-pin --demo-psk
[ "$status" -eq 0 ] || fail "--demo-psk: exit $status"
has "$tmp/err" "public" || fail "--demo-psk warns that the PSK is public"
ok "--demo-psk: the original's PSK, with a warning on stderr"

closed_port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
run --url "ws://127.0.0.1:$closed_port/"
expect 1 "connection refused"
has "$tmp/err" "cannot connect" || fail "refused: says it cannot connect"
ok "refused connection: exit 1 with the reason"

# stdin ends before the server answers anything: the held line waits for the
# name. (session_peer stops at the close that follows in the same read, so
# whether the line itself went out is checked with the real server below and
# in tests/client/test_client.c.)
start_peer
rm -f "$tmp/out" "$tmp/err"
status=0
printf 'line one\n' | timeout 20 "$client" --url "ws://127.0.0.1:$port" --name Bob --no-pin >"$tmp/out" 2>"$tmp/err" ||
    status=$?
stop_peer
first=$(sed -n 's/^MSG sender= content=//p' "$tmp/peer.out" | head -n 1)
[ "$first" = Bob ] || fail "piped: the name went first (got '$first')"
has "$tmp/out" "Disconnecting..." || fail "piped: end of input quits"
ok "piped input ending at once: the name goes first, end of input quits"

# ---- the real server, when it is built ---------------------------------------------------------

if [ -x "$server" ]; then
    sdir=$tmp/srv
    mkdir -p "$sdir"
    "$keygen" --dir "$sdir" --quiet
    start_server() {
        rm -f "$tmp/srv.out"
        "$server" --listen 127.0.0.1:0 --psk-file "$cfgdir/psk" --key-file "$sdir/server.key" \
            </dev/null >"$tmp/srv.out" 2>"$tmp/srv.err" &
        srv_pid=$!
        pids="$pids $srv_pid"
        wait_for "$tmp/srv.out" "Server listening on: " || fail "secchat-server did not start"
        port=$(sed -n 's/^Server listening on: 127.0.0.1://p' "$tmp/srv.out" | head -n 1)
    }
    stop_server() {
        kill -TERM "$srv_pid" 2>/dev/null || true
        n=0
        while kill -0 "$srv_pid" 2>/dev/null && [ $n -lt 100 ]; do
            sleep 0.05
            n=$((n + 1))
        done
        kill -KILL "$srv_pid" 2>/dev/null || true
        wait "$srv_pid" 2>/dev/null || true
        forget "$srv_pid"
    }
    peer_pid=""
    rm -f "$known"
    start_server
    srv_fp=$(fp_of_hex "$(hex_of_keyfile "$sdir/server.pub")")
    chat
    [ "$status" -eq 0 ] || fail "real server: exit $status"
    has "$tmp/out" "Pinned server key for 127.0.0.1:$port (fingerprint $srv_fp)" || fail "real server: pinned"
    has "$tmp/out" "Server: Alice joined the chat" || fail "real server: joined"
    ok "secchat-server: conversation, key pinned"
    chat
    [ "$status" -eq 0 ] || fail "real server, second run: exit $status"
    ! has "$tmp/out" "Pinned" || fail "real server, second run: same key, nothing pinned"
    ok "secchat-server: second connection, same key, silent"
    printf 'line one\nline two\n' | timeout 20 "$client" --url "ws://127.0.0.1:$port" --name Dora \
        >"$tmp/out" 2>"$tmp/err" || fail "real server, piped input: exit status $?"
    has "$tmp/srv.out" "Dora: line two" || fail "real server, piped input: both lines arrived"
    ok "secchat-server: piped input ending at once: name, lines, clean close, exit 0"
    # The server shuts down while the client is connected: 1001, clean, exit 0.
    rm -f "$tmp/in"
    mkfifo "$tmp/in"
    status=0
    timeout 20 "$client" --url "ws://127.0.0.1:$port" --name Carol <"$tmp/in" >"$tmp/out" 2>"$tmp/err" &
    cpid=$!
    pids="$pids $cpid"
    exec 3>"$tmp/in"
    wait_for "$tmp/out" "Server: Carol joined the chat" || fail "real server: Carol joined"
    stop_server
    wait "$cpid" || status=$?
    forget "$cpid"
    exec 3>&-
    [ "$status" -eq 0 ] || fail "server shutdown: exit $status, expected 0"
    has "$tmp/out" "Disconnected (1001 " || fail "server shutdown: Disconnected (1001 ...)"
    ok "secchat-server shutting down: 'Disconnected (1001 ...)', exit 0"
else
    echo "note: $server not built; the checks against the real server were skipped"
fi

echo "test_client_app: $checks checks passed"
