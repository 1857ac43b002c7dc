#!/bin/sh
# The server benchmark of docs/performance.md ("Server fan-out"): our server
# against the libwebsockets mirror (the plaintext anchor), with
# apps/secchat-bench as the load. A measurement, never a test: it fails only
# when something does not run, not because of a figure.
#
#   env BUILD=build sh tests/bench/run_bench.sh
#
# Environment:
#   BUILD            build directory (default build): $BUILD/apps/secchat-{server,bench},
#                    $BUILD/tests/bench/* (the micro-benchmarks, run first)
#   BENCH_SECONDS    measured seconds per fan-out and handshake run (default 3)
#   BENCH_NS         the N of the fan-out sweep (default "10 50 100 200 500 1000")
#   BENCH_IDLE       idle connections (default 5000)
#   BENCH_PLOT       the PNG written (default docs/bench-fanout.png; "" for none)
#   BENCH_SKIP_MICRO=1  skip the micro-benchmarks
#
# Pinning: each server runs alone on CPU 0, the load generator on CPU 1
# (taskset), except the --threads 2 runs, where nothing is pinned. Raw result
# lines go to $BUILD/bench/results.txt, the table to $BUILD/bench/summary.txt.
set -u
BUILD=${BUILD:-build}
SECONDS_PER_RUN=${BENCH_SECONDS:-3}
NS=${BENCH_NS:-"10 50 100 200 500 1000"}
IDLE_N=${BENCH_IDLE:-5000}
PLOT=${BENCH_PLOT-docs/bench-fanout.png}
RATE=100000  # the issue's latency point
RATE2=50000  # a rate the plaintext anchor sustains on this machine, for a latency comparison
SERVER=$BUILD/apps/secchat-server
BENCH=$BUILD/apps/secchat-bench
LWS=libwebsockets-test-server
OUT=$BUILD/bench
HERE=$(dirname "$0")

die() {
    echo "run_bench: $*" >&2
    exit 1
}

# ---- packages: the anchor server, gnuplot, taskset ----
need_pkgs=""
for p in $(grep -v '^#' "$HERE/BENCH_DEPS"); do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need_pkgs="$need_pkgs $p"
done
if [ -n "$need_pkgs" ]; then
    echo "run_bench: installing$need_pkgs"
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
        die "need root or sudo to install:$need_pkgs"
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends $need_pkgs >/dev/null ||
        die "apt-get install$need_pkgs failed"
fi
for f in "$SERVER" "$BENCH"; do
    [ -x "$f" ] || die "$f is missing (make BUILD=$BUILD apps)"
done
command -v "$LWS" >/dev/null || die "$LWS is missing (Debian package libwebsockets-test-server)"

ncpu=$(nproc)
if [ "$ncpu" -ge 2 ]; then PIN_SERVER="taskset -c 0" PIN_LOAD="taskset -c 1"; else
    PIN_SERVER="" PIN_LOAD=""
    echo "run_bench: warning: one CPU only, nothing is pinned"
fi
# 5,000 idle connections need as many descriptors in the server and in the load.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
[ "$(ulimit -n)" -gt $((IDLE_N + 100)) ] 2>/dev/null || echo "run_bench: warning: ulimit -n is $(ulimit -n)"

mkdir -p "$OUT" || die "mkdir $OUT"
RESULTS=$OUT/results.txt
: >"$RESULTS"
: >"$OUT/server.err"
: >"$OUT/lws.out"
tmp=$(mktemp -d) || die mktemp
SPID= LPID=
stop_servers() {
    for p in $SPID $LPID; do
        kill -TERM "$p" 2>/dev/null
    done
    for p in $SPID $LPID; do
        i=0
        while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    SPID= LPID=
}
cleanup() {
    stop_servers
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss_kib() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/$1/status"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
field() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1; }
# "busy total" jiffies of CPU $1 (busy: all but idle and iowait), from /proc/stat
cpu_jiffies() { awk -v c="cpu$1" '$1 == c { t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t }' /proc/stat; }

# our server: start_secure THREADS PIN -> SPID, SURL. Its abuse limits are
# lifted (no message rate limit, every bench connection may be pending at
# once): the anchor has none, and a saturation run would trip them.
start_secure() {
    mkdir -p "$tmp/config"
    XDG_CONFIG_HOME=$tmp/config $2 "$SERVER" --listen 127.0.0.1:0 --demo-psk --quiet --threads "$1" \
        --max-clients $((IDLE_N + 1000)) --max-pending $((IDLE_N + 1000)) --rate 0 </dev/null >"$tmp/server.out" 2>>"$OUT/server.err" &
    SPID=$!
    i=0 port=
    while [ $i -lt 100 ] && [ -z "$port" ]; do
        port=$(sed -n '1s/^Server listening on: 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$tmp/server.out")
        [ -n "$port" ] || sleep 0.1
        i=$((i + 1))
    done
    [ -n "$port" ] || { cat "$OUT/server.err" >&2; die "secchat-server did not start"; }
    SURL=ws://127.0.0.1:$port/
    sleep 0.3
}

# the anchor: start_lws PIN -> LPID, LURL (loopback only, log level: errors)
start_lws() {
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    $1 "$LWS" --port="$port" -i lo -d 1 </dev/null >>"$OUT/lws.out" 2>&1 &
    LPID=$!
    i=0
    while [ $i -lt 100 ] && ! ss -ltn 2>/dev/null | grep -q ":$port "; do
        kill -0 "$LPID" 2>/dev/null || { cat "$OUT/lws.out" >&2; die "$LWS did not start"; }
        sleep 0.1
        i=$((i + 1))
    done
    LURL=ws://127.0.0.1:$port/
    sleep 0.3
}

# run LABEL SERVER_PID PIN ARGS...: one secchat-bench run; appends
# "LABEL result ... server_cpu_pct=X server_cpu_s=Y" to $RESULTS and sets LAST.
run() {
    label=$1 pid=$2 pin=$3
    shift 3
    kill -0 "$pid" 2>/dev/null || die "$label: the server (pid $pid) is gone; its stderr: $(tail -n 20 "$OUT/server.err")"
    t0=$(cpu_ticks "$pid") w0=$(now_ms) c0a=$(cpu_jiffies 0) c1a=$(cpu_jiffies 1)
    line=$($pin "$BENCH" "$@" --quiet 2>"$tmp/bench.err" | grep '^result ')
    t1=$(cpu_ticks "$pid") w1=$(now_ms) c0b=$(cpu_jiffies 0) c1b=$(cpu_jiffies 1)
    [ -n "$line" ] || { cat "$tmp/bench.err" >&2; die "$label: no result from secchat-bench $*"; }
    [ -s "$tmp/bench.err" ] && sed "s/^/  ($label) /" "$tmp/bench.err" >&2
    scpu=$(awk -v a="$t0" -v b="$t1" -v w0="$w0" -v w1="$w1" -v hz="$CLK_TCK" \
        'BEGIN { printf "server_cpu_s=%.2f server_cpu_pct=%.0f", (b - a) / hz, 100 * (b - a) / hz / ((w1 - w0) / 1000) }')
    # how busy each CPU was over the whole run (set-up included): is the load CPU the limit?
    busy=$(echo "$c0a $c0b $c1a $c1b" | awk '{ printf "cpu0_busy_pct=%.0f cpu1_busy_pct=%.0f", \
        ($4 - $2 > 0 ? 100 * ($3 - $1) / ($4 - $2) : 0), ($8 - $6 > 0 ? 100 * ($7 - $5) / ($8 - $6) : 0) }')
    LAST="$line $scpu $busy"
    echo "$label $LAST" >>"$RESULTS"
    printf '  %-28s %s\n' "$label" "$(echo "$LAST" | sed 's/^result //')" | cut -c1-250
}

t_start=$(now_ms)

# ---- 1. the library's micro-benchmarks, on CPU 1 ----
if [ "${BENCH_SKIP_MICRO:-0}" != 1 ]; then
    echo "== micro-benchmarks (pinned to CPU 1)"
    for b in "$BUILD"/tests/bench/*; do
        [ -x "$b" ] && [ -f "$b" ] || continue
        $PIN_LOAD "$b" || die "$b failed"
    done
fi

# ---- 2. fan-out sweep, handshakes: server on CPU 0, load on CPU 1 ----
echo "== fan-out: saturation and $RATE deliveries/s, ${SECONDS_PER_RUN} s each; server on CPU 0, load on CPU 1"
start_secure 1 "$PIN_SERVER"
start_lws "$PIN_SERVER"
for n in 50 500; do
    run "secure rate2 N=$n" "$SPID" "$PIN_LOAD" fanout --url "$SURL" --clients "$n" --rate $RATE2 --duration "$SECONDS_PER_RUN"
    run "mirror rate2 N=$n" "$LPID" "$PIN_LOAD" fanout --plaintext --url "$LURL" --clients "$n" --rate $RATE2 \
        --duration "$SECONDS_PER_RUN"
done
for n in $NS; do
    run "secure sat N=$n" "$SPID" "$PIN_LOAD" fanout --url "$SURL" --clients "$n" --duration "$SECONDS_PER_RUN"
    run "mirror sat N=$n" "$LPID" "$PIN_LOAD" fanout --plaintext --url "$LURL" --clients "$n" --duration "$SECONDS_PER_RUN"
    run "secure rate N=$n" "$SPID" "$PIN_LOAD" fanout --url "$SURL" --clients "$n" --rate $RATE --duration "$SECONDS_PER_RUN"
    run "mirror rate N=$n" "$LPID" "$PIN_LOAD" fanout --plaintext --url "$LURL" --clients "$n" --rate $RATE \
        --duration "$SECONDS_PER_RUN"
done
echo "== handshakes: connect + upgrade (+ Noise XXpsk2 + name) + close"
run "secure handshake" "$SPID" "$PIN_LOAD" handshake --url "$SURL" --duration "$SECONDS_PER_RUN"
run "mirror handshake" "$LPID" "$PIN_LOAD" handshake --plaintext --url "$LURL" --duration "$SECONDS_PER_RUN"
stop_servers

# ---- 3. idle memory: fresh servers, RSS before and with IDLE_N connections ----
echo "== idle: $IDLE_N connections (authenticated and named for ours), server VmRSS"
idle_rss() { # idle_rss LABEL PID ARGS... -> "LABEL rss_before_kib=.. rss_kib=.. bytes_per_conn=.."
    label=$1 pid=$2
    shift 2
    r0=$(rss_kib "$pid")
    $PIN_LOAD "$BENCH" idle --clients "$IDLE_N" "$@" >"$tmp/idle.out" 2>"$tmp/idle.err" &
    bpid=$!
    i=0
    while [ $i -lt 600 ] && ! grep -q '^idle: ready' "$tmp/idle.out"; do
        kill -0 "$bpid" 2>/dev/null || break
        sleep 0.1
        i=$((i + 1))
    done
    grep -q '^idle: ready' "$tmp/idle.out" || { cat "$tmp/idle.err" >&2; die "$label: idle connections not ready"; }
    sleep 2 # let the last answers be written, and idle connections trimmed (one 250 ms tick, malloc_trim at most once a second)
    r1=$(rss_kib "$pid")
    kill -INT "$bpid"
    wait "$bpid"
    line="$label rss_before_kib=$r0 rss_kib=$r1 bytes_per_conn=$(((r1 - r0) * 1024 / IDLE_N)) $(grep '^idle: ready' "$tmp/idle.out")"
    echo "$line" >>"$RESULTS"
    echo "  $line"
}
start_secure 1 "$PIN_SERVER"
idle_rss "secure idle" "$SPID" --url "$SURL"
stop_servers
start_lws "$PIN_SERVER"
idle_rss "mirror idle" "$LPID" --plaintext --url "$LURL"
stop_servers

# ---- 4. --threads 2, nothing pinned ----
echo "== --threads 2, server and load unpinned"
start_secure 2 ""
for n in 50 500; do
    run "secure t2 sat N=$n" "$SPID" "" fanout --url "$SURL" --clients "$n" --duration "$SECONDS_PER_RUN"
done
stop_servers

# ---- 5. the table ----
get() { # get LABEL FIELD
    sed -n "s/^$1 //p" "$RESULTS" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3gx", a / b; else print "-" }'; }
k() { awk -v a="$1" 'BEGIN { printf "%.0fk", a / 1000 }'; }
us() { awk -v a="$1" 'BEGIN { printf "%.0f", a }'; }
{
    echo
    echo "Server benchmark: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $ncpu CPUs, $(date -u +%Y-%m-%d)"
    echo "${SECONDS_PER_RUN} s per run; servers on CPU 0 (--threads 1), load on CPU 1; 100-byte messages"
    echo
    printf '| %-44s | %14s | %14s | %8s | %s |\n' "measure" "secchat" "lws mirror" "ratio" "target"
    printf '| %-44s | %14s | %14s | %8s | %s |\n' "---" "---:" "---:" "---:" "---"
    for n in 50 500; do
        s=$(get "secure sat N=$n" deliveries_per_s) m=$(get "mirror sat N=$n" deliveries_per_s)
        printf '| %-44s | %14s | %14s | %8s | %s |\n' "fan-out N=$n, deliveries/s (saturation)" "$(k "$s")" "$(k "$m")" \
            "$(ratio "$s" "$m")" ">= 3x"
        printf '| %-44s | %14s | %14s | %8s | %s |\n' "  lost / server CPU %" \
            "$(get "secure sat N=$n" lost) / $(get "secure sat N=$n" server_cpu_pct)" \
            "$(get "mirror sat N=$n" lost) / $(get "mirror sat N=$n" server_cpu_pct)" "" "0 lost"
        printf '| %-44s | %14s | %14s | %8s | %s |\n' "  CPU 0 / CPU 1 busy % (server / load)" \
            "$(get "secure sat N=$n" cpu0_busy_pct) / $(get "secure sat N=$n" cpu1_busy_pct)" \
            "$(get "mirror sat N=$n" cpu0_busy_pct) / $(get "mirror sat N=$n" cpu1_busy_pct)" "" ""
    done
    for r in rate:$RATE rate2:$RATE2; do
        tag=${r%%:*} rv=${r#*:}
        for n in 50 500; do
            sp="$(us "$(get "secure $tag N=$n" p50_us)")/$(us "$(get "secure $tag N=$n" p99_us)")"
            mp="$(us "$(get "mirror $tag N=$n" p50_us)")/$(us "$(get "mirror $tag N=$n" p99_us)")"
            printf '| %-44s | %14s | %14s | %8s | %s |\n' "p50/p99 us at $(k "$rv")/s offered, N=$n" "$sp" "$mp" \
                "$(ratio "$(get "secure $tag N=$n" p99_us)" "$(get "mirror $tag N=$n" p99_us)")" "p99 <= mirror"
            printf '| %-44s | %14s | %14s | %8s | %s |\n' "  achieved deliveries/s, lost" \
                "$(k "$(get "secure $tag N=$n" deliveries_per_s)"), $(get "secure $tag N=$n" lost)" \
                "$(k "$(get "mirror $tag N=$n" deliveries_per_s)"), $(get "mirror $tag N=$n" lost)" "" ""
        done
    done
    s=$(get "secure handshake" per_s) m=$(get "mirror handshake" per_s)
    printf '| %-44s | %14s | %14s | %8s | %s |\n' "handshakes/s (load-bound: client CPU %)" \
        "$(us "$s") ($(us "$(get "secure handshake" cpu_pct)"))" "$(us "$m") ($(us "$(get "mirror handshake" cpu_pct)"))" "" "(upgrade only for the mirror)"
    hs_us=$(awk -v c="$(get "secure handshake" server_cpu_s)" -v n="$(get "secure handshake" completed)" \
        'BEGIN { if (n > 0) printf "%.0f", c * 1e6 / n; else print "-" }')
    hm_us=$(awk -v c="$(get "mirror handshake" server_cpu_s)" -v n="$(get "mirror handshake" completed)" \
        'BEGIN { if (n > 0) printf "%.0f", c * 1e6 / n; else print "-" }')
    printf '| %-44s | %14s | %14s | %8s | %s |\n' "server CPU per completed handshake, us" "$hs_us" "$hm_us" "" "<= 200"
    s=$(get "secure idle" bytes_per_conn) m=$(get "mirror idle" bytes_per_conn)
    printf '| %-44s | %14s | %14s | %8s | %s |\n' "server RSS per idle connection ($IDLE_N), bytes" "$s" "$m" \
        "$(ratio "$s" "$m")" "<= 4096"
    for n in 50 500; do
        a=$(get "secure t2 sat N=$n" deliveries_per_s) b=$(get "secure sat N=$n" deliveries_per_s)
        printf '| %-44s | %14s | %14s | %8s | %s |\n' "--threads 2 unpinned, N=$n, deliveries/s" "$(k "$a")" "" \
            "$(ratio "$a" "$b")" "scales (vs --threads 1 pinned)"
    done
    echo
    echo "Sweep (saturation deliveries/s; p99 us at $(k $RATE)/s):"
    printf '%6s %12s %12s %8s %12s %12s\n' N secchat mirror ratio "p99 ours" "p99 mirror"
    for n in $NS; do
        s=$(get "secure sat N=$n" deliveries_per_s) m=$(get "mirror sat N=$n" deliveries_per_s)
        printf '%6s %12s %12s %8s %12s %12s\n' "$n" "$s" "$m" "$(ratio "$s" "$m")" \
            "$(us "$(get "secure rate N=$n" p99_us)")" "$(us "$(get "mirror rate N=$n" p99_us)")"
    done
    echo
    echo "make bench took $((($(now_ms) - t_start) / 1000)) s of measurements (raw lines: $RESULTS)"
} | tee "$OUT/summary.txt"

# ---- 6. the plot ----
if [ -n "$PLOT" ]; then
    dat=$OUT/fanout.dat
    echo "# N secure_dps mirror_dps secure_p99_us mirror_p99_us" >"$dat"
    for n in $NS; do
        echo "$n $(get "secure sat N=$n" deliveries_per_s) $(get "mirror sat N=$n" deliveries_per_s)" \
            "$(get "secure rate N=$n" p99_us) $(get "mirror rate N=$n" p99_us)" >>"$dat"
    done
    sh "$HERE/plot_fanout.sh" "$dat" "$PLOT" "$RATE" || echo "run_bench: warning: gnuplot failed" >&2
    [ -s "$PLOT" ] && echo "plot: $PLOT"
fi
exit 0
