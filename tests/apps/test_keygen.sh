#!/bin/sh
# secchat-keygen as its users see it: the files it writes (place, modes,
# format), what it prints and never prints, refusal to overwrite, --force,
# --dir, the XDG rule, --psk-only/--key-only, usage errors and exit codes.
# Run by tests/run-all.sh as
#   env BUILD=<dir> sh tests/apps/test_keygen.sh     (from the repo root, after make)
# Everything happens under a temporary HOME; nothing outside it is touched.
# The key pair is checked with python3-cryptography (a dependency of
# python3-dissononce, which make deps installs).
set -eu

BUILD=${BUILD:-build}
cd "$(dirname "$0")/../.."
bin=$BUILD/apps/secchat-keygen
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac

tmp=$(mktemp -d)
trap 'chmod -R u+rwx "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
home=$tmp/home
mkdir "$home"
HOME=$home
export HOME
unset XDG_CONFIG_HOME
umask 022

checks=0
ok() {
    checks=$((checks + 1))
    printf 'ok    %s\n' "$*"
}
fail() {
    printf 'FAIL  %s\n' "$*"
    exit 1
}
# run CMD...: stdout in $tmp/out, stderr in $tmp/err, exit status in $status.
run() {
    status=0
    "$@" >"$tmp/out" 2>"$tmp/err" || status=$?
}
# kg ARGS...: runs secchat-keygen (HOME=$home, no XDG_CONFIG_HOME).
kg() {
    run "$bin" "$@"
}
# expect N what: the last run exited with N, else show its output and fail.
expect() {
    [ "$status" -eq "$1" ] && return 0
    sed 's/^/      out| /' "$tmp/out"
    sed 's/^/      err| /' "$tmp/err"
    fail "$2: exit status $status, expected $1"
}
mode() {
    stat -c %a "$1"
}
# modes DIR: the modes of DIR/psk, DIR/server.key and DIR/server.pub.
modes() {
    echo "$(mode "$1/psk") $(mode "$1/server.key") $(mode "$1/server.pub")"
}
sums() {
    (cd "$1" && sha256sum psk server.key server.pub)
}
# listing DIR: the names in DIR, one line (temporary files would show here).
listing() {
    # shellcheck disable=SC2012 # our own file names: no spaces or newlines
    (cd "$1" && ls -A | tr '\n' ' ' | sed 's/ $//')
}
header() {
    v=$(sed -n "s/^#define $1 \"\\(.*\\)\"\$/\\1/p" include/secchat/keys.h)
    [ -n "$v" ] || fail "$1 not found in include/secchat/keys.h"
    echo "$v"
}

[ -x "$bin" ] || fail "$bin not built (make builds it)"

# --- the default run ---------------------------------------------------------
kg
expect 0 "secchat-keygen with no arguments"
dir=$home/.config/secchat
[ -d "$dir" ] || fail "HOME/.config/secchat not created (XDG_CONFIG_HOME unset)"
[ "$(listing "$dir")" = "psk server.key server.pub" ] || fail "HOME/.config/secchat holds: $(listing "$dir")"
ok "default run writes psk, server.key, server.pub into HOME/.config/secchat, nothing else"

[ "$(mode "$dir")" = 700 ] || fail "new directory has mode $(mode "$dir"), expected 700"
[ "$(modes "$dir")" = "600 600 644" ] || fail "modes psk, server.key, server.pub: $(modes "$dir"), expected 600 600 644"
ok "modes: directory 700, psk 600, server.key 600, server.pub 644"

for f in psk:SECCHAT_KEY_HEADER_PSK server.key:SECCHAT_KEY_HEADER_PRIVATE server.pub:SECCHAT_KEY_HEADER_PUBLIC; do
    file=$dir/${f%%:*}
    want=$(header "${f#*:}")
    [ "$(sed -n 1p "$file")" = "$want" ] || fail "${f%%:*}: first line '$(sed -n 1p "$file")', expected '$want'"
    sed -n 2p "$file" | grep -Eqx '[A-Za-z0-9+/]{43}=' || fail "${f%%:*}: second line is not 32 bytes of base64"
    [ "$(wc -l <"$file" | tr -d ' ')" = 2 ] || fail "${f%%:*}: not exactly two lines"
done
ok "each file: its header line from keys.h, then 32 bytes of base64, nothing else"

psk=$(sed -n 2p "$dir/psk")
priv=$(sed -n 2p "$dir/server.key")
pub=$(sed -n 2p "$dir/server.pub")
for secret in "$psk" "$priv"; do
    ! grep -qF "$secret" "$tmp/out" "$tmp/err" || fail "a secret key's base64 appears in the output"
done
# Nor any 16-character piece of it (a partial print would still leak).
for secret in "$psk" "$priv"; do
    piece=$(echo "$secret" | cut -c9-24)
    ! grep -qF "$piece" "$tmp/out" "$tmp/err" || fail "part of a secret key's base64 appears in the output"
done
ok "neither the PSK nor the private key (nor a piece of either) is printed"

for line in "Wrote $dir/psk (pre-shared key, mode 0600)" "Wrote $dir/server.key (private key, mode 0600)" \
    "Wrote $dir/server.pub (public key)" "Public key:  $pub"; do
    grep -qxF "$line" "$tmp/out" || fail "output lacks the line '$line'"
done
grep -q '^Give the psk file to every client' "$tmp/out" || fail "output does not say to give the psk file to clients"
[ ! -s "$tmp/err" ] || fail "stderr not empty: $(cat "$tmp/err")"
ok "prints the paths written, the public key of server.pub and the advice on the psk file"

fp=$(sed -n 's/^Fingerprint: //p' "$tmp/out")
echo "$fp" | grep -Eqx '[0-9a-f]{4}(:[0-9a-f]{4}){7}' || fail "fingerprint '$fp' is not 8 groups of 4 hex digits"
want=$(printf '%s' "$pub" | base64 -d | sha256sum | cut -c1-32 | sed -e 's/..../&:/g' -e 's/:$//')
[ "$fp" = "$want" ] || fail "fingerprint $fp, expected $want (first 16 bytes of SHA-256 of the public key)"
ok "fingerprint $fp: 8 groups of 4 hex digits, the first 16 bytes of SHA-256(public key)"

if ! /usr/bin/python3 -c 'import cryptography' >/dev/null 2>&1; then
    fail "/usr/bin/python3 cannot import cryptography; install python3-dissononce (make deps does it)"
fi
derived=$(/usr/bin/python3 -c '
import base64, sys
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
key = X25519PrivateKey.from_private_bytes(base64.b64decode(sys.stdin.read().strip()))
print(base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode())' <<EOF
$priv
EOF
) || fail "python3 cannot derive the public key of server.key"
[ "$derived" = "$pub" ] || fail "server.pub ($pub) is not the public key of server.key ($derived)"
[ "$psk" != "$priv" ] || fail "psk and server.key hold the same bytes"
ok "server.pub is the X25519 public key of server.key (checked with python3-cryptography)"

# --- no overwriting without --force ------------------------------------------
sums "$dir" >"$tmp/sums1"
kg
expect 1 "second run without --force"
grep -q "^secchat-keygen: $dir/psk: .*exists" "$tmp/err" || fail "refusal does not name $dir/psk: $(cat "$tmp/err")"
sums "$dir" | cmp -s - "$tmp/sums1" || fail "the refused run changed the files"
[ "$(listing "$dir")" = "psk server.key server.pub" ] || fail "the refused run left: $(listing "$dir")"
[ ! -s "$tmp/out" ] || fail "the refused run printed: $(cat "$tmp/out")"
ok "second run refuses (exit 1, names the file), files unchanged"

# One target present: nothing else may be written.
mkdir "$tmp/partial"
cp "$dir/server.pub" "$tmp/partial/server.pub"
kg --dir "$tmp/partial"
expect 1 "run over an existing server.pub"
grep -q "^secchat-keygen: $tmp/partial/server.pub: " "$tmp/err" || fail "refusal does not name server.pub"
[ "$(listing "$tmp/partial")" = "server.pub" ] || fail "refused run wrote: $(listing "$tmp/partial")"
ok "an existing server.pub alone stops the run before psk or server.key are written"

# --- --force ---------------------------------------------------------------
kg --force
expect 0 "--force"
sums "$dir" >"$tmp/sums2"
for f in psk server.key server.pub; do
    a=$(grep " $f\$" "$tmp/sums1" | cut -d' ' -f1)
    b=$(grep " $f\$" "$tmp/sums2" | cut -d' ' -f1)
    [ "$a" != "$b" ] || fail "--force left $f unchanged"
done
[ "$(modes "$dir")" = "600 600 644" ] || fail "modes after --force: $(modes "$dir")"
[ "$(listing "$dir")" = "psk server.key server.pub" ] || fail "--force left: $(listing "$dir")"
! grep -qF "$(sed -n 2p "$dir/server.key")" "$tmp/out" || fail "--force printed the private key"
grep -qxF "Public key:  $(sed -n 2p "$dir/server.pub")" "$tmp/out" || fail "--force does not print the new public key"
ok "--force replaces all three files (new keys, same modes, no leftovers)"

# --- where the files go ------------------------------------------------------
kg --dir "$tmp/custom/a/b"
expect 0 "--dir with missing parents"
[ "$(listing "$tmp/custom/a/b")" = "psk server.key server.pub" ] || fail "--dir holds: $(listing "$tmp/custom/a/b")"
[ "$(mode "$tmp/custom/a") $(mode "$tmp/custom/a/b")" = "700 700" ] || fail "created directories are not 700"
grep -qxF "Wrote $tmp/custom/a/b/psk (pre-shared key, mode 0600)" "$tmp/out" || fail "--dir: wrong paths printed"
sums "$dir" | cmp -s - "$tmp/sums2" || fail "--dir touched the default directory"
ok "--dir DIR creates DIR and its parents (700) and writes there only"

kg --dir "$tmp/slash/"
expect 0 "--dir with a trailing slash"
grep -qxF "Wrote $tmp/slash/psk (pre-shared key, mode 0600)" "$tmp/out" || fail "--dir DIR/ prints odd paths"
ok "--dir DIR/ prints DIR/psk (no double slash)"

run env XDG_CONFIG_HOME="$tmp/xdg" "$bin"
expect 0 "XDG_CONFIG_HOME set"
[ "$(listing "$tmp/xdg/secchat")" = "psk server.key server.pub" ] || fail "XDG_CONFIG_HOME/secchat not used"
sums "$dir" | cmp -s - "$tmp/sums2" || fail "with XDG_CONFIG_HOME set, HOME/.config/secchat changed"
ok "XDG_CONFIG_HOME/secchat is used when XDG_CONFIG_HOME is set"

run env XDG_CONFIG_HOME= "$bin"
expect 1 "XDG_CONFIG_HOME empty (falls back to HOME/.config/secchat, which is full)"
grep -q "^secchat-keygen: $dir/psk: " "$tmp/err" || fail "empty XDG_CONFIG_HOME does not fall back to HOME"
ok "an empty XDG_CONFIG_HOME counts as unset (HOME/.config/secchat)"

run env -i PATH="$PATH" "$bin"
expect 1 "neither HOME nor XDG_CONFIG_HOME set"
grep -q -- '--dir' "$tmp/err" || fail "with no HOME, the message does not suggest --dir: $(cat "$tmp/err")"
ok "no HOME and no XDG_CONFIG_HOME: exit 1, suggests --dir"

# --- one kind of key ---------------------------------------------------------
kg --dir "$tmp/psk-only" --psk-only
expect 0 "--psk-only"
[ "$(listing "$tmp/psk-only")" = "psk" ] || fail "--psk-only wrote: $(listing "$tmp/psk-only")"
! grep -q '^Public key\|^Fingerprint' "$tmp/out" || fail "--psk-only prints a public key"
! grep -qF "$(sed -n 2p "$tmp/psk-only/psk")" "$tmp/out" "$tmp/err" || fail "--psk-only printed the PSK"
ok "--psk-only writes psk alone and prints no key"

kg --dir "$tmp/key-only" --key-only
expect 0 "--key-only"
[ "$(listing "$tmp/key-only")" = "server.key server.pub" ] || fail "--key-only wrote: $(listing "$tmp/key-only")"
grep -q '^Fingerprint: ' "$tmp/out" || fail "--key-only prints no fingerprint"
! grep -q 'psk' "$tmp/out" || fail "--key-only mentions the psk: $(cat "$tmp/out")"
ok "--key-only writes server.key and server.pub and prints the fingerprint"

kg --dir "$tmp/key-only" --psk-only
expect 0 "--psk-only next to an existing key pair"
[ "$(listing "$tmp/key-only")" = "psk server.key server.pub" ] || fail "--psk-only beside a key pair"
ok "--psk-only adds a psk beside an existing key pair without --force"

kg --dir "$tmp/quiet" --quiet
expect 0 "--quiet"
if [ -s "$tmp/out" ] || [ -s "$tmp/err" ]; then
    fail "--quiet printed something"
fi
[ "$(listing "$tmp/quiet")" = "psk server.key server.pub" ] || fail "--quiet wrote: $(listing "$tmp/quiet")"
ok "--quiet writes the files and prints nothing"

# --- modes whatever the umask; warnings; failures -----------------------------
(umask 000 && "$bin" --dir "$tmp/umask0/d" >"$tmp/out" 2>"$tmp/err") || fail "run under umask 000 failed"
got="$(mode "$tmp/umask0") $(mode "$tmp/umask0/d") $(modes "$tmp/umask0/d")"
[ "$got" = "700 700 600 600 644" ] || fail "under umask 000: dirs and files have modes $got, expected 700 700 600 600 644"
(umask 077 && "$bin" --dir "$tmp/umask77" >"$tmp/out" 2>"$tmp/err") || fail "run under umask 077 failed"
[ "$(mode "$tmp/umask77") $(mode "$tmp/umask77/psk") $(mode "$tmp/umask77/server.key")" = "700 600 600" ] ||
    fail "under umask 077 the modes differ"
ok "secret files 600 and new directories 700 under umask 000 and 077"

mkdir "$tmp/open"
chmod 777 "$tmp/open"
kg --dir "$tmp/open"
expect 0 "an existing world-writable directory"
grep -q "^secchat-keygen: warning: $tmp/open is writable" "$tmp/err" || fail "no warning for a 777 directory"
[ "$(mode "$tmp/open")" = 777 ] || fail "the existing directory's mode was changed"
ok "an existing group/world-writable DIR is used with a warning (mode left alone)"

: >"$tmp/plainfile"
kg --dir "$tmp/plainfile/sub"
expect 1 "--dir below a regular file"
grep -q "^secchat-keygen: $tmp/plainfile.*: Not a directory" "$tmp/err" || fail "unclear message: $(cat "$tmp/err")"
ok "a DIR that cannot be created: exit 1, 'secchat-keygen: <path>: Not a directory'"

# A write that fails half-way: server.key is a directory, so --force writes
# psk, then fails; the new psk is removed again and server.pub never written.
mkdir -p "$tmp/half/server.key"
kg --dir "$tmp/half" --force
expect 1 "--force over a directory named server.key"
grep -q "^secchat-keygen: $tmp/half/server.key: " "$tmp/err" || fail "failure does not name server.key"
[ "$(listing "$tmp/half")" = "server.key" ] || fail "after the failure the directory holds: $(listing "$tmp/half")"
[ ! -s "$tmp/out" ] || fail "the failed run printed 'Wrote' lines: $(cat "$tmp/out")"
ok "a failed write: exit 1, names the file, removes what it had created"

# --- usage -------------------------------------------------------------------
for args in --bogus -x "extra" "--dir" "--psk-only --key-only" "--dir="; do
    # shellcheck disable=SC2086 # the cases are word lists
    kg $args
    expect 2 "secchat-keygen $args"
    grep -q '^Usage: secchat-keygen ' "$tmp/err" || fail "secchat-keygen $args: no usage line on stderr"
    [ ! -s "$tmp/out" ] || fail "secchat-keygen $args printed on stdout"
done
grep -q "^secchat-keygen: " "$tmp/err" || fail "usage errors do not start with the program's name"
ok "usage errors (--bogus, -x, extra argument, --dir without DIR, both --*-only, --dir=): exit 2 + usage line"

kg --help
expect 0 "--help"
for flag in --dir --force --psk-only --key-only --quiet --help --version; do
    grep -q -- "$flag" "$tmp/out" || fail "--help does not mention $flag"
done
ok "--help exits 0 and mentions every flag"

version=$(sed -n 's/^#define SECCHAT_VERSION_STRING "\(.*\)"$/\1/p' include/secchat/common.h)
kg --version
expect 0 "--version"
grep -qF "$version" "$tmp/out" || fail "--version prints '$(cat "$tmp/out")', not the library version $version"
ok "--version: $(cat "$tmp/out")"

echo "keygen test: $checks checks passed"
