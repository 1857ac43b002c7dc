#!/bin/sh
# Installs libsecchat into a temporary DESTDIR and looks at it the way a
# consumer does: files and symlinks, pkg-config resolution, SONAME, exported
# symbols, programs built with nothing but pkg-config's flags, and a clean
# uninstall.
#   BUILD=build sh tests/install/test_install.sh     (from the repo root, after make)
#
# pkg-config is pointed into the DESTDIR tree with PKG_CONFIG_PATH plus
# PKG_CONFIG_SYSROOT_DIR, which prefixes the -I/-L paths of the installed .pc
# file. (--define-prefix cannot be used: libsecchat.pc spells libdir and
# includedir as absolute paths, not relative to ${prefix}.)
set -eu

BUILD=${BUILD:-build}
CC=${CC:-cc}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
cd "$(dirname "$0")/../.."

# Only PREFIX is given to make; the other directories must follow from it.
unset LIBDIR INCLUDEDIR BINDIR PKGCONFIGDIR

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
dest=$tmp/destdir
work=$tmp/work
mkdir "$work"
libdir=$dest/usr/lib
incdir=$dest/usr/include
pcdir=$libdir/pkgconfig

checks=0
ok() {
    checks=$((checks + 1))
    printf 'ok    %s\n' "$*"
}
fail() {
    printf 'FAIL  %s\n' "$*"
    exit 1
}
# Runs "$@" quietly; on failure shows its output and fails with the message in $what.
quiet() {
    "$@" >"$tmp/out" 2>&1 || {
        cat "$tmp/out"
        fail "$what"
    }
}

# --- make install --------------------------------------------------------
what="make install DESTDIR=<tmp> PREFIX=/usr"
quiet make --no-print-directory install BUILD="$BUILD" DESTDIR="$dest" PREFIX=/usr
ok "$what"

version=$(sed -n 's/^#define SECCHAT_VERSION_STRING "\(.*\)"$/\1/p' include/secchat/common.h)
[ -n "$version" ] || fail "SECCHAT_VERSION_STRING not found in include/secchat/common.h"
soname=libsecchat.so.${version%%.*}

for f in include/secchat.h include/secchat/*.h; do
    cmp -s "$f" "$dest/usr/$f" || fail "header $f not installed as /usr/$f"
done
ok "headers installed: $(cd "$dest/usr" && echo include/secchat.h include/secchat/*.h)"

for f in libsecchat.a "libsecchat.so.$version" pkgconfig/libsecchat.pc; do
    [ -f "$libdir/$f" ] || fail "/usr/lib/$f not installed"
done
ok "installed /usr/lib/libsecchat.a, /usr/lib/libsecchat.so.$version, /usr/lib/pkgconfig/libsecchat.pc"

# link_is name target: is $libdir/name a symlink to target?
link_is() {
    [ -L "$libdir/$1" ] && [ "$(readlink "$libdir/$1")" = "$2" ]
}
link_is "$soname" "libsecchat.so.$version" || fail "$soname is not a symlink to libsecchat.so.$version"
link_is libsecchat.so "$soname" || fail "libsecchat.so is not a symlink to $soname"
ok "symlinks libsecchat.so -> $soname -> libsecchat.so.$version"

# --- the shared object ---------------------------------------------------
got=$(readelf -d "$libdir/libsecchat.so.$version" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
[ "$got" = "$soname" ] || fail "SONAME is '$got', expected $soname"
ok "SONAME $soname"

nm -D --defined-only "$libdir/libsecchat.so.$version" | awk 'NF >= 3 { print $3 }' | sort -u >"$tmp/exported"
[ -s "$tmp/exported" ] || fail "no exported symbols"
if grep -v '^secchat_' "$tmp/exported" >"$tmp/leaked"; then
    cat "$tmp/leaked"
    fail "symbols above are exported but not secchat_*"
fi
ok "all $(wc -l <"$tmp/exported" | tr -d ' ') exported symbols are secchat_* (no sc_* or other internals)"

# Every function the installed headers declare is exported, and nothing else.
$CC -E -P "$incdir/secchat.h" >"$tmp/secchat.i" || fail "$CC cannot preprocess the installed secchat.h"
grep -o 'secchat_[a-z0-9_]*[[:space:]]*(' "$tmp/secchat.i" | sed 's/[[:space:]]*($//' | sort -u >"$tmp/declared"
if ! cmp -s "$tmp/declared" "$tmp/exported"; then
    comm -23 "$tmp/declared" "$tmp/exported" | sed 's/^/declared, not exported: /'
    comm -13 "$tmp/declared" "$tmp/exported" | sed 's/^/exported, not declared: /'
    fail "exported symbols differ from the functions declared in secchat.h"
fi
ok "exported symbols = the $(wc -l <"$tmp/declared" | tr -d ' ') functions declared in the installed secchat.h"

# --- pkg-config ------------------------------------------------------------
PKG_CONFIG_PATH=$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
PKG_CONFIG_SYSROOT_DIR=$dest
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR

what="pkg-config cannot find libsecchat"
got=$($PKG_CONFIG --variable=pcfiledir libsecchat) || fail "$what"
[ "$got" = "$pcdir" ] || fail "pkg-config uses $got/libsecchat.pc, not the one in DESTDIR"
got=$($PKG_CONFIG --modversion libsecchat) || fail "$what"
[ "$got" = "$version" ] || fail "pkg-config --modversion says '$got', the header $version"
ok "pkg-config resolves libsecchat $got from <tmp>/usr/lib/pkgconfig"

# has_word "words" word: is word one of the space-separated words?
has_word() {
    case " $1 " in *" $2 "*) return 0 ;; esac
    return 1
}

flags=$($PKG_CONFIG --cflags --libs libsecchat) || fail "$what"
for w in "-I$incdir" "-L$libdir" -lsecchat; do
    has_word "$flags" "$w" || fail "pkg-config --cflags --libs libsecchat lacks $w: '$flags'"
done
! has_word "$flags" -lsodium || fail "pkg-config --libs libsecchat links libsodium into consumers: '$flags'"
ok "pkg-config --cflags --libs libsecchat: $(echo "$flags" | sed -e "s|$tmp|<tmp>|g" -e "s| *$||")"

static_libs=$($PKG_CONFIG --static --libs libsecchat) || fail "$what"
for w in -lsodium -lnettle -ljansson -lwslay; do
    has_word "$static_libs" "$w" || fail "pkg-config --static --libs libsecchat lacks $w: '$static_libs'"
done
ok "pkg-config --static --libs libsecchat: $(echo "$static_libs" | sed -e "s|$tmp|<tmp>|g" -e "s| *$||")"

# --- consumers -------------------------------------------------------------
cat >"$work/version.c" <<'EOF'
#include <stdio.h>
#include <string.h>

#include <secchat.h>

int main(void)
{
    const char *linked = secchat_version_string();
    printf("libsecchat %s (header %s)\n", linked, SECCHAT_VERSION_STRING);
    return strcmp(linked, SECCHAT_VERSION_STRING) == 0 ? 0 : 1;
}
EOF
what="the version consumer does not build with pkg-config's flags"
# shellcheck disable=SC2046,SC2086 # $CC and the flags must split into words
quiet $CC -std=c11 -Wall -Wextra -Werror -o "$work/version" "$work/version.c" $($PKG_CONFIG --cflags --libs libsecchat)
got=$(LD_LIBRARY_PATH=$libdir "$work/version") || fail "version consumer failed: $got"
[ "$got" = "libsecchat $version (header $version)" ] || fail "version consumer printed '$got'"
ok "consumer prints: $got"

readelf -d "$work/version" | grep -q "NEEDED.*\[$soname\]" || fail "consumer does not record NEEDED $soname"
LD_LIBRARY_PATH=$libdir ldd "$work/version" | grep -qF "$soname => $libdir/$soname" ||
    fail "consumer does not load $soname from <tmp>/usr/lib"
ok "consumer records NEEDED $soname and loads it from <tmp>/usr/lib"

# The documented example, like any consumer, needs nothing but libsecchat's flags.
what="docs/examples/noise_pair.c does not build with pkg-config's flags"
# shellcheck disable=SC2046,SC2086
quiet $CC -std=c11 -Wall -Wextra -Wpedantic -Werror -o "$work/noise_pair" docs/examples/noise_pair.c \
    $($PKG_CONFIG --cflags --libs libsecchat)
LD_LIBRARY_PATH=$libdir "$work/noise_pair" >"$tmp/pair.out" 2>&1 || {
    cat "$tmp/pair.out"
    fail "noise_pair exited non-zero"
}
sed 's/^/      | /' "$tmp/pair.out"
for line in 'handshake message 3: initiator -> responder' 'handshake hashes match' \
    'responder received 24 bytes: hello from the initiator' \
    'initiator received 33 bytes: and hello back from the responder' 'noise_pair: OK'; do
    grep -qF "$line" "$tmp/pair.out" || fail "noise_pair output lacks '$line'"
done
ok "docs/examples/noise_pair.c builds with pkg-config, runs, completes the handshake both ways"

# The session example talks over a socketpair, through the whole stack.
what="docs/examples/session_pair.c does not build with pkg-config's flags"
# shellcheck disable=SC2046,SC2086
quiet $CC -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Wpedantic -Werror -o "$work/session_pair" \
    docs/examples/session_pair.c $($PKG_CONFIG --cflags --libs libsecchat)
LD_LIBRARY_PATH=$libdir "$work/session_pair" >"$tmp/session.out" 2>&1 || {
    cat "$tmp/session.out"
    fail "session_pair exited non-zero"
}
sed 's/^/      | /' "$tmp/session.out"
for line in 'server received: "Alice" from ""' 'client received: "Please enter your name:" from "Server"' \
    'server closed: 1000 bye' 'client closed: 1000 bye' 'session_pair: OK'; do
    grep -qF "$line" "$tmp/session.out" || fail "session_pair output lacks '$line'"
done
ok "docs/examples/session_pair.c builds with pkg-config, runs, upgrade + handshake + messages + close"

# Static libsecchat: libsecchat.a plus what --static adds (its private
# dependencies) must be enough. Debian ships wslay as a shared library only,
# so the dependencies are linked as the system has them.
what="noise_pair does not link statically with pkg-config --static --libs"
static_deps=$(echo "$static_libs" | sed 's/-lsecchat//')
# shellcheck disable=SC2046,SC2086
quiet $CC -std=c11 -o "$work/noise_pair_static" docs/examples/noise_pair.c $($PKG_CONFIG --cflags libsecchat) \
    -Wl,-Bstatic -lsecchat -Wl,-Bdynamic $static_deps
if readelf -d "$work/noise_pair_static" | grep -q 'NEEDED.*libsecchat'; then
    fail "the static build still needs libsecchat.so"
fi
what="statically linked noise_pair failed"
quiet "$work/noise_pair_static"
ok "noise_pair links statically (libsecchat.a + pkg-config --static --libs) and runs"

# --- make uninstall ---------------------------------------------------------
what="make uninstall DESTDIR=<tmp> PREFIX=/usr"
quiet make --no-print-directory uninstall BUILD="$BUILD" DESTDIR="$dest" PREFIX=/usr
left=$(find "$dest" -name '*secchat*')
[ -z "$left" ] || fail "make uninstall left: $(echo "$left" | sed "s|$dest||g" | tr '\n' ' ')"
ok "$what leaves no libsecchat file behind"

echo "install test: $checks checks passed"
