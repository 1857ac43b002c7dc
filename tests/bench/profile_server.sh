#!/bin/sh
# Where secchat-server spends its time and memory (docs/performance.md,
# "Server fan-out"). Not part of make bench: it takes a few minutes and its
# figures are profiles, not rates.
#
#   env BUILD=build sh tests/bench/profile_server.sh [perf|callgrind|massif]...   (default: all three)
#
# perf       time profile (cpu-clock samples, kernel included) of the server
#            on CPU 0 under a saturating fan-out (N=50) from CPU 1
# callgrind  exact user-space instructions of the server (--threads 1) under
#            a fan-out at a fixed rate and a handshake run; per-delivery and
#            per-handshake costs come from the counts the bench prints
# massif     the server's heap with IDLE (default 1000) idle connections, by
#            allocation site
# Output: $BUILD/profile/ (reports in *.txt).
set -u
BUILD=${BUILD:-build}
SERVER=$BUILD/apps/secchat-server
BENCH=$BUILD/apps/secchat-bench
OUT=$BUILD/profile
IDLE=${IDLE:-1000}
what=${*:-perf callgrind massif}
mkdir -p "$OUT"
tmp=$(mktemp -d) || exit 1
SPID=
cleanup() {
    [ -n "$SPID" ] && kill -TERM "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# start WRAPPER...: the server (under WRAPPER, e.g. valgrind) -> SPID, SURL
start() {
    mkdir -p "$tmp/config"
    : >"$tmp/server.out"
    XDG_CONFIG_HOME=$tmp/config "$@" "$SERVER" --listen 127.0.0.1:0 --demo-psk --quiet --threads 1 \
        --handshake-timeout 60000 </dev/null >"$tmp/server.out" 2>"$tmp/server.err" &
    SPID=$!
    i=0 port=
    while [ $i -lt 600 ] && [ -z "$port" ]; do
        port=$(sed -n 's/^Server listening on: 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$tmp/server.out")
        [ -n "$port" ] || sleep 0.1
        i=$((i + 1))
    done
    [ -n "$port" ] || { cat "$tmp/server.err" >&2; echo "profile: the server did not start" >&2; exit 1; }
    SURL=ws://127.0.0.1:$port/
}
stop() {
    kill -TERM "$SPID"
    wait "$SPID"
    SPID=
}

for w in $what; do
    case $w in
    perf)
        command -v perf >/dev/null || { echo "profile: perf not installed (linux-perf)"; continue; }
        start taskset -c 0
        taskset -c 1 "$BENCH" fanout --url "$SURL" --clients 50 --duration 6 --warmup 1 --quiet >"$OUT/perf-load.txt" &
        bpid=$!
        sleep 2.5
        perf record -e cpu-clock -g -p "$SPID" -o "$OUT/perf.data" -- sleep 3 >/dev/null 2>&1
        wait $bpid
        stop
        perf report -i "$OUT/perf.data" --no-children --stdio --sort dso 2>/dev/null | grep -E '^ +[0-9]' >"$OUT/perf-dso.txt"
        perf report -i "$OUT/perf.data" --no-children --stdio --sort dso,sym 2>/dev/null | grep -E '^ +[0-9]' |
            head -n 60 >"$OUT/perf-sym.txt"
        echo "== perf (server, saturating fan-out N=50): by library"
        head -n 8 "$OUT/perf-dso.txt"
        echo "== perf: top symbols"
        head -n 25 "$OUT/perf-sym.txt"
        grep '^result' "$OUT/perf-load.txt"
        ;;
    callgrind)
        start valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out"
        "$BENCH" fanout --url "$SURL" --clients 50 --rate 20000 --duration 3 --warmup 0.5 --quiet >"$OUT/callgrind-load.txt"
        "$BENCH" handshake --url "$SURL" --concurrency 4 --duration 3 --warmup 0 --quiet >>"$OUT/callgrind-load.txt"
        stop
        callgrind_annotate --inclusive=yes "$OUT/callgrind.out" 2>/dev/null | head -n 70 >"$OUT/callgrind-inclusive.txt"
        callgrind_annotate "$OUT/callgrind.out" 2>/dev/null | head -n 50 >"$OUT/callgrind-self.txt"
        echo "== callgrind (fan-out N=50 at 20k/s for 3.5 s, then handshakes for 3 s)"
        cat "$OUT/callgrind-load.txt"
        head -n 45 "$OUT/callgrind-inclusive.txt"
        ;;
    massif)
        start valgrind --tool=massif --massif-out-file="$OUT/massif.out" --threshold=0.5
        "$BENCH" idle --url "$SURL" --clients "$IDLE" >"$tmp/idle.out" 2>&1 &
        bpid=$!
        i=0
        while [ $i -lt 1200 ] && ! grep -q '^idle: ready' "$tmp/idle.out"; do sleep 0.1; i=$((i + 1)); done
        sleep 2
        kill -INT $bpid
        wait $bpid
        stop
        ms_print "$OUT/massif.out" >"$OUT/massif.txt"
        echo "== massif: peak heap with $IDLE idle connections ($OUT/massif.txt)"
        grep -m1 -A40 'detailed' "$OUT/massif.txt" | head -n 1
        awk '/^ *[0-9]+ +[0-9,]+ +[0-9,]+ +[0-9,]+ +[0-9,]+ +[0-9,]+$/ { last = $0 } END { print "last snapshot: " last }' "$OUT/massif.txt"
        ;;
    *)
        echo "profile: unknown: $w" >&2
        exit 2
        ;;
    esac
done
