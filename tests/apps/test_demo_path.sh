#!/bin/sh
# The zero-flag demo as a new user meets it, with the real programs only:
# secchat-server with no key flags creates ~/.config/secchat/{psk,server.key}
# (0600, dir 0700); secchat-client with no PSK flag finds that PSK, pins the
# server key in known_servers and chats with a second client; a restart with
# the same files connects silently; a new server key is refused loudly (both
# fingerprints, the known_servers line, no name sent) until --no-pin; keys from
# secchat-keygen --dir D used through --psk-file/--key-file/--server-key; a
# PSK file open to others (chmod 644) refused by both programs, naming it.
# Run by tests/run-all.sh as
#   env BUILD=<dir> sh tests/apps/test_demo_path.sh   (from the repo root)
# HOME is a temporary directory, XDG_CONFIG_HOME unset; 127.0.0.1 only; every
# wait is bounded; every process started is killed.
set -eu

BUILD=${BUILD:-build}
cd "$(dirname "$0")/../.."
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
server=$(abs "$BUILD/apps/secchat-server")
client=$(abs "$BUILD/apps/secchat-client")
keygen=$(abs "$BUILD/apps/secchat-keygen")
PY=/usr/bin/python3
for b in "$server" "$client" "$keygen"; do
    if [ ! -x "$b" ]; then
        echo "FAIL test_demo_path: $b not built" >&2
        exit 1
    fi
done

tmp=$(mktemp -d)
. tests/common/procs.sh # pids, forget, wait_pid
cleanup() {
    exec 3>&- 4>&- 2>/dev/null || true
    for p in $pids; do kill "$p" 2>/dev/null || true; done # timeout(1) passes it on
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
HOME=$tmp/home
export HOME
unset XDG_CONFIG_HOME SECCHAT_PSK_FILE || true
mkdir -p "$HOME"
umask 022 # the modes checked below must come from the programs, not from a strict umask
cfg=$HOME/.config/secchat
known=$cfg/known_servers

checks=0
failed=0
ok() {
    checks=$((checks + 1))
    printf 'ok    %s\n' "$*"
}
show() {
    for f in "$@"; do [ -f "$f" ] && sed "s#^#      $(basename "$f")| #" "$f" | cut -c1-200; done
    return 0
}
fail() {
    printf 'FAIL  %s\n' "$*"
    show "$tmp"/*.out "$tmp"/*.err
    exit 1
}
# bad WHAT: a failed check that does not stop the run (the exit status is still 1).
bad() {
    failed=$((failed + 1))
    printf 'FAIL  %s\n' "$*"
}
has() { grep -qF -- "$2" "$1"; }
# wait_for FILE TEXT [SECONDS]: until FILE has a line containing TEXT (bounded).
wait_for() {
    n=0
    while ! { [ -f "$1" ] && grep -qF -- "$2" "$1"; }; do
        n=$((n + 1))
        [ "$n" -gt $((${3:-5} * 20)) ] && return 1
        sleep 0.05
    done
    return 0
}
mode() { stat -c %a "$1"; }
fp_of_pub() { # docs/keys.md: first 16 bytes of SHA-256 of the key, hex in groups of 4
    sed -n 2p "$1" | $PY -c 'import base64,hashlib,sys
h=hashlib.sha256(base64.b64decode(sys.stdin.read().strip())).hexdigest()[:32]
print(":".join(h[i:i+4] for i in range(0,32,4)))'
}

# start_server TAG ARGS...: secchat-server, console in $tmp/TAG.out; sets $srv_pid, $port, $srv_fp.
# A fixed port may still be held for a moment after a restart: up to 3 s of retries.
start_server() {
    tag=$1
    shift
    tries=0
    while :; do
        rm -f "$tmp/$tag.out" "$tmp/$tag.err"
        "$server" "$@" </dev/null >"$tmp/$tag.out" 2>"$tmp/$tag.err" &
        srv_pid=$!
        pids="$pids $srv_pid"
        n=0
        while ! has "$tmp/$tag.out" "Server key fingerprint: " && kill -0 "$srv_pid" 2>/dev/null && [ $n -lt 100 ]; do
            sleep 0.05
            n=$((n + 1))
        done
        has "$tmp/$tag.out" "Server key fingerprint: " && break
        wait_pid "$srv_pid" 1
        tries=$((tries + 1))
        if ! has "$tmp/$tag.err" "cannot listen" || [ $tries -ge 10 ]; then
            fail "$tag: secchat-server did not start (status $st)"
        fi
        sleep 0.3
    done
    port=$(sed -n 's/^Server listening on: 127\.0\.0\.1://p' "$tmp/$tag.out")
    srv_fp=$(sed -n 's/^Server key fingerprint: //p' "$tmp/$tag.out")
    [ -n "$port" ] || fail "$tag: no 'Server listening on: 127.0.0.1:PORT' line"
}
stop_server() {
    kill -TERM "$srv_pid" 2>/dev/null || true
    wait_pid "$srv_pid" 5
    [ "$st" -eq 0 ] || bad "secchat-server exit status $st after SIGTERM, expected 0"
}

# start_client TAG FD ARGS...: secchat-client reading the fifo $tmp/TAG.in, held open on
# descriptor FD (so end of input is ours to decide); output in $tmp/TAG.out, .err; sets ${TAG}_pid.
start_client() {
    tag=$1 fd=$2
    shift 2
    rm -f "$tmp/$tag.in" "$tmp/$tag.out" "$tmp/$tag.err"
    mkfifo "$tmp/$tag.in"
    timeout -k 2 20 "$client" "$@" <"$tmp/$tag.in" >"$tmp/$tag.out" 2>"$tmp/$tag.err" &
    eval "${tag}_pid=\$!"
    pids="$pids $!"
    eval "exec $fd>\"\$tmp/\$tag.in\""
}
# say FD LINE: types a line (a client that is gone must fail the checks, not kill us with SIGPIPE).
say() {
    (trap '' PIPE; printf '%s\n' "$2" >&"$1") 2>/dev/null || true
}
# end_client TAG FD: types quit, waits (bounded) for the exit; sets $st.
end_client() {
    say "$2" quit
    eval "wait_pid \$${1}_pid 10"
    eval "exec $2>&-"
}
url() { echo "ws://127.0.0.1:$port"; }

# ---- first start: the server creates its keys -----------------------------------------

start_server s1 --listen 127.0.0.1:0
first_port=$port
[ "$(mode "$HOME/.config")" = 700 ] && [ "$(mode "$cfg")" = 700 ] ||
    fail "config dirs: ~/.config $(mode "$HOME/.config"), ~/.config/secchat $(mode "$cfg"); expected 700"
[ "$(mode "$cfg/psk")" = 600 ] && [ "$(mode "$cfg/server.key")" = 600 ] ||
    fail "key modes: psk $(mode "$cfg/psk"), server.key $(mode "$cfg/server.key"); expected 600"
ok "zero-flag server created ~/.config/secchat (0700) with psk and server.key (0600)"
has "$tmp/s1.err" "created a new PSK in $cfg/psk" && has "$tmp/s1.err" "created a new server key in $cfg/server.key" ||
    fail "the server says which key files it created"
[ "$(mode "$cfg/server.pub")" = 644 ] && [ "$(fp_of_pub "$cfg/server.pub")" = "$srv_fp" ] ||
    fail "server.pub (0644) holds the key whose fingerprint the console shows ($srv_fp)"
fp1=$srv_fp
pub1=$(sed -n 2p "$cfg/server.pub")
ok "the server announced both files on stderr; server.pub (0644) matches the console fingerprint"

# ---- Alice and Bob: no PSK flag, first contact pins ----------------------------------------

start_client alice 3 --url "$(url)" --name Alice
wait_for "$tmp/alice.out" "Server: Alice joined the chat" || fail "Alice joined with the default PSK"
has "$tmp/alice.out" "Pinned server key for 127.0.0.1:$port (fingerprint $fp1) in $known" ||
    fail "Alice's first contact pinned the key"
has "$tmp/alice.out" "Server key fingerprint: $fp1" || fail "Alice shows the server's fingerprint"
[ "$(cat "$known")" = "127.0.0.1:$port $pub1" ] || fail "known_servers is the one line '127.0.0.1:$port <server.pub key>'"
[ "$(mode "$known")" = 600 ] || fail "known_servers is 0600"
[ ! -s "$tmp/alice.err" ] || fail "Alice: nothing on stderr"
ok "client without PSK flag: found ~/.config/secchat/psk, pinned the key (known_servers: 1 line, 0600)"

start_client bob 4 --url "$(url)" --name Bob
wait_for "$tmp/bob.out" "Server: Bob joined the chat" || fail "Bob joined"
wait_for "$tmp/alice.out" "Server: Bob joined the chat" || fail "Alice saw Bob join"
! has "$tmp/bob.out" "Pinned" || fail "Bob (same HOME) found the key already pinned"
say 3 "Hello Bob, it's Alice"
wait_for "$tmp/bob.out" "Alice: Hello Bob, it's Alice" || fail "Alice's line reached Bob"
say 4 "Hi Alice"
wait_for "$tmp/alice.out" "Bob: Hi Alice" || fail "Bob's line reached Alice"
has "$tmp/s1.out" "Alice: Hello Bob, it's Alice" || fail "the server console shows Alice's line"
ok "Alice and Bob chat: 'Alice: Hello Bob, it's Alice' at Bob, 'Bob: Hi Alice' at Alice"
end_client bob 4
[ "$st" -eq 0 ] || fail "Bob: exit status $st after quit"
wait_for "$tmp/alice.out" "Server: Bob left the chat" || fail "Alice saw Bob leave"
end_client alice 3
[ "$st" -eq 0 ] || fail "Alice: exit status $st after quit"
[ "$(tail -n 2 "$tmp/alice.out")" = "$(printf 'Disconnecting...\nDisconnected')" ] || fail "Alice's last lines"
ok "both quit with exit 0; Alice saw 'Server: Bob left the chat'"
cp "$known" "$tmp/known.saved"

# ---- restart with the same files: silent ---------------------------------------------------

stop_server
start_server s2 --listen "127.0.0.1:$first_port"
! has "$tmp/s2.err" "created" || fail "restart: the server created nothing"
[ "$srv_fp" = "$fp1" ] || fail "restart: same fingerprint ($srv_fp, was $fp1)"
start_client alice 3 --url "$(url)" --name Alice
wait_for "$tmp/alice.out" "Server: Alice joined the chat" || fail "restart: Alice joined"
end_client alice 3
[ "$st" -eq 0 ] || fail "restart: Alice exit status $st"
! has "$tmp/alice.out" "Pinned" && [ ! -s "$tmp/alice.err" ] || fail "restart: no pinning, no warning"
cmp -s "$known" "$tmp/known.saved" || fail "restart: known_servers unchanged"
ok "restarted server (same files, same port): client connects without a warning, known_servers unchanged"

# ---- a new server key: refused loudly, nothing sent ----------------------------------------

stop_server
rm "$cfg/server.key"
start_server s3 --listen "127.0.0.1:$first_port"
has "$tmp/s3.err" "created a new server key in $cfg/server.key" || fail "new key: announced"
fp2=$srv_fp
[ "$fp2" != "$fp1" ] || fail "new key: a new fingerprint"
start_client alice 3 --url "$(url)" --name Alice
eval "wait_pid \$alice_pid 10"
exec 3>&-
[ "$st" -ne 0 ] || fail "changed key: the client exited 0"
has "$tmp/alice.err" "WARNING" || fail "changed key: the warning is loud"
has "$tmp/alice.err" "recorded  fingerprint: $fp1" || fail "changed key: the recorded fingerprint $fp1"
has "$tmp/alice.err" "presented fingerprint: $fp2" || fail "changed key: the presented fingerprint $fp2"
has "$tmp/alice.err" "remove $known line 1" || fail "changed key: the known_servers file and line"
ok "new server key: refused (exit $st) naming both fingerprints and '$known line 1'"
! has "$tmp/alice.out" "Secure channel established" && ! has "$tmp/alice.out" "Please enter your name" ||
    fail "changed key: the channel was never secure"
sleep 0.2 # the server's console lines of that connection
! has "$tmp/s3.out" "Alice" && ! has "$tmp/s3.out" "Secure channel established" ||
    fail "changed key: the server never saw a secure channel or the name"
cmp -s "$known" "$tmp/known.saved" || fail "changed key: known_servers unchanged"
ok "changed key: no secure channel, the name never reached the server, known_servers unchanged"
# The private key was replaced; a server.pub left from the old one would mislead --server-key users.
if [ "$(fp_of_pub "$cfg/server.pub" 2>/dev/null)" = "$fp2" ]; then
    ok "new server key: server.pub follows it"
else
    bad "new server key: $cfg/server.pub still holds the old key ($(fp_of_pub "$cfg/server.pub")," \
        "server key is $fp2), and the server said nothing about it"
fi

start_client alice 3 --url "$(url)" --name Alice --no-pin
wait_for "$tmp/alice.out" "Server: Alice joined the chat" || fail "--no-pin: Alice joined"
say 3 "pinning off"
wait_for "$tmp/s3.out" "Alice: pinning off" || fail "--no-pin: the line reached the server"
end_client alice 3
[ "$st" -eq 0 ] || fail "--no-pin: exit status $st"
has "$tmp/alice.out" "Server key fingerprint: $fp2" && [ ! -s "$tmp/alice.err" ] || fail "--no-pin: quiet, new key shown"
cmp -s "$known" "$tmp/known.saved" || fail "--no-pin: known_servers unchanged"
ok "--no-pin: connects to the new key, exit 0, known_servers unchanged"
stop_server

# ---- keys from secchat-keygen --dir ---------------------------------------------------------

kd=$tmp/keys
"$keygen" --dir "$kd" --quiet || fail "secchat-keygen --dir"
start_server s4 --listen 127.0.0.1:0 --psk-file "$kd/psk" --key-file "$kd/server.key"
[ "$srv_fp" = "$(fp_of_pub "$kd/server.pub")" ] || fail "keygen: the server uses $kd/server.key"
! has "$tmp/s4.err" "created" || fail "keygen: the server created no key"
start_client carol 3 --url "$(url)" --name Carol --psk-file "$kd/psk" --server-key "$kd/server.pub"
wait_for "$tmp/carol.out" "Server: Carol joined the chat" || fail "keygen: Carol joined"
say 3 "keys from keygen"
wait_for "$tmp/s4.out" "Carol: keys from keygen" || fail "keygen: the line reached the server"
end_client carol 3
[ "$st" -eq 0 ] || fail "keygen: exit status $st"
! has "$tmp/carol.out" "Pinned" && [ ! -s "$tmp/carol.err" ] || fail "keygen: no pinning with --server-key, no warning"
cmp -s "$known" "$tmp/known.saved" || fail "keygen: known_servers unchanged"
ok "secchat-keygen --dir keys: server --psk-file/--key-file, client --psk-file/--server-key FILE: chat, exit 0"

# ---- a PSK file open to others ----------------------------------------------------------------

chmod 644 "$kd/psk"
st=0
timeout -k 2 10 "$server" --listen 127.0.0.1:0 --psk-file "$kd/psk" --key-file "$kd/server.key" \
    </dev/null >"$tmp/s5.out" 2>"$tmp/s5.err" || st=$?
[ "$st" -eq 1 ] && has "$tmp/s5.err" "secchat-server: $kd/psk: " && has "$tmp/s5.err" "chmod 600 $kd/psk" ||
    fail "psk 644: server exit $st (want 1), stderr naming $kd/psk and the fix"
! has "$tmp/s5.out" "Server listening" || fail "psk 644: the server never listened"
st=0
timeout -k 2 10 "$client" --url "$(url)" --name Carol --psk-file "$kd/psk" --server-key "$kd/server.pub" \
    </dev/null >"$tmp/c5.out" 2>"$tmp/c5.err" || st=$?
[ "$st" -eq 1 ] && has "$tmp/c5.err" "secchat-client: $kd/psk: " && [ ! -s "$tmp/c5.out" ] ||
    fail "psk 644: client exit $st (want 1), stderr naming $kd/psk, nothing on stdout"
ok "--psk-file chmod 644: refused by server and client (exit 1), both naming $kd/psk"
stop_server

chmod 644 "$cfg/psk"
st=0
timeout -k 2 10 "$server" --listen 127.0.0.1:0 </dev/null >"$tmp/s6.out" 2>"$tmp/s6.err" || st=$?
[ "$st" -eq 1 ] && has "$tmp/s6.err" "secchat-server: $cfg/psk: " && ! has "$tmp/s6.out" "Server listening" ||
    fail "default psk 644: server exit $st (want 1), stderr naming $cfg/psk"
st=0
timeout -k 2 10 "$client" --url "ws://127.0.0.1:$first_port" --name Alice </dev/null >"$tmp/c6.out" 2>"$tmp/c6.err" ||
    st=$?
[ "$st" -eq 1 ] && has "$tmp/c6.err" "secchat-client: $cfg/psk: " && [ ! -s "$tmp/c6.out" ] ||
    fail "default psk 644: client exit $st (want 1), stderr naming $cfg/psk"
ok "default ~/.config/secchat/psk chmod 644: refused by the zero-flag server and client, both naming it"

if [ "$failed" -ne 0 ]; then
    echo "test_demo_path: $failed checks FAILED, $checks passed"
    exit 1
fi
echo "test_demo_path: $checks checks passed"
