#!/bin/sh
# Draws the fan-out figure of docs/performance.md from run_bench.sh's data:
#   sh tests/bench/plot_fanout.sh DATFILE PNGFILE RATE
# DATFILE columns: N secure_dps mirror_dps secure_p99_us mirror_p99_us
set -u
dat=$1 png=$2 rate=$3
ns=$(awk '!/^#/ { printf "%s%s", sep, $1; sep = ", " }' "$dat")
gnuplot <<GP
set terminal pngcairo size 1100,440 font ",10" noenhanced
set output "$png"
set multiplot layout 1,2 title "One room of N clients, 100-byte messages, server on one core (load on the other)"
set logscale x
set xrange [8:1250]
set xlabel "N (clients in the room)"
set key top right
set grid
set xtics ($ns)
set ylabel "deliveries per second (saturation)"
set format y "%.1s%c"
set yrange [0:*]
plot "$dat" using 1:2 with linespoints lw 2 title "secchat-server (Noise + JSON, encrypted per recipient)", \
     "$dat" using 1:3 with linespoints lw 2 title "libwebsockets mirror (plaintext)"
set ylabel "p99 latency, ms (at $rate deliveries/s offered)"
set logscale y
set format y "%g"
set yrange [*:*]
plot "$dat" using 1:(\$4/1000) with linespoints lw 2 title "secchat-server", \
     "$dat" using 1:(\$5/1000) with linespoints lw 2 title "libwebsockets mirror"
unset multiplot
GP
