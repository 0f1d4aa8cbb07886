#!/bin/sh
# tests/bench/ops_bench.sh BUILD_DIR: the cost of access logging and metrics on cached
# resolve throughput. A = `--access-log off`, B = the default (one access line per
# request, to a log file as an operator would run it); A/B/A/B, three rounds of
# BENCH_OPS_DURATION (default 10) seconds each with wrk, then the medians compared.
# Request metrics are counted in both (they cannot be turned off); the comparison is
# the one the issue asks for. A benchmark: it fails only when a tool fails.
#
# BENCH_OPS_REF=PATH/almanacd measures a second build (e.g. an older commit) in the
# same rounds, interleaved (A B A' B' per round), so both see the same machine load.
# The log destination is a regular file in $TMPDIR (or /tmp), stated in the output.
# Then the same two modes run at once, side by side (each server under its own wrk),
# which cancels most of the neighbours' noise on a shared machine, and an in-process
# figure per access line (tests/bench/bench_log.c, when built).
set -eu
B=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DUR=${BENCH_OPS_DURATION:-10}
CONN=${BENCH_CONNECTIONS:-32}
ROUNDS=${BENCH_OPS_ROUNDS:-3}
TMP=$(mktemp -d)
SRV_PID=""
SRV2_PID=""
cleanup() {
    [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null || true
    [ -n "$SRV2_PID" ] && kill "$SRV2_PID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
export ALMANAC_TODAY=${ALMANAC_TODAY:-2026-11-25}
free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
RES="/v1/resolve?date=2024-04-01&flags=python_workers&requirements=aiohttp,pydantic,pandas,requests"

ALMANAC_ZSTD_LEVEL=1 "$ROOT/$B/almanacd" seed --data "$TMP/data" 2>/dev/null
# An older build may not open a newer schema: it gets a catalog seeded by itself.
if [ -n "${BENCH_OPS_REF:-}" ]; then
    ALMANAC_ZSTD_LEVEL=1 "$BENCH_OPS_REF" seed --data "$TMP/data-ref" 2>/dev/null
fi
# data_for BIN: the data directory that build serves.
data_for() { if [ -n "${BENCH_OPS_REF:-}" ] && [ "$1" = "$BENCH_OPS_REF" ]; then echo "$TMP/data-ref"; else echo "$TMP/data"; fi; }

# The server's CPU time (user + system) in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run MODE [BIN]: one wrk run against a fresh server; prints "req/s cpu-microseconds-per-request".
# CPU per request is printed too: on a shared machine req/s swings with the
# neighbours' load, the server's own CPU time per request much less.
run() {
    port=$(free_port)
    "${2:-$ROOT/$B/almanacd}" serve --data "$(data_for "${2:-}")" --listen 127.0.0.1:$port --no-sweep \
        --access-log "$1" --log-file "$TMP/almanacd-$1.log" 2>>"$TMP/stderr.log" &
    SRV_PID=$!
    for i in $(seq 100); do
        curl -sf "http://127.0.0.1:$port/v1/health" >/dev/null 2>&1 && break
        sleep 0.05
    done
    curl -sf "http://127.0.0.1:$port$RES" >/dev/null
    t0=$(cpu_ticks "$SRV_PID")
    wrk -t2 -c"$CONN" -d"${DUR}s" "http://127.0.0.1:$port$RES" > "$TMP/wrk.out"
    t1=$(cpu_ticks "$SRV_PID")
    hz=$(getconf CLK_TCK)
    awk -v t="$((t1 - t0))" -v hz="$hz" '/requests in/ {n=$1} /Requests\/sec/ {r=$2}
        END {printf "%s %.2f\n", r, (n > 0 ? 1e6 * t / hz / n : 0)}' "$TMP/wrk.out"
    kill "$SRV_PID"
    wait "$SRV_PID" 2>/dev/null || true
    SRV_PID=""
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# paired BIN: the two modes at once, each server under its own wrk (1 thread, half
# the connections), for DUR seconds; prints "off-us/req on-us/req" (server CPU per
# request). Run side by side, both modes see the same neighbours, so their ratio
# is much steadier than that of two runs seconds apart.
paired() {
    pa=$(free_port)
    pb=$(free_port)
    d=$(data_for "$1")
    cp -r "$d" "$TMP/data-b"
    "$1" serve --data "$d" --listen 127.0.0.1:$pa --no-sweep --access-log off \
        --log-file "$TMP/paired-off.log" 2>>"$TMP/stderr.log" &
    SRV_PID=$!
    "$1" serve --data "$TMP/data-b" --listen 127.0.0.1:$pb --no-sweep --access-log on \
        --log-file "$TMP/paired-on.log" 2>>"$TMP/stderr.log" &
    SRV2_PID=$!
    for i in $(seq 100); do
        curl -sf "http://127.0.0.1:$pa/v1/health" >/dev/null 2>&1 &&
            curl -sf "http://127.0.0.1:$pb/v1/health" >/dev/null 2>&1 && break
        sleep 0.05
    done
    curl -sf "http://127.0.0.1:$pa$RES" >/dev/null
    curl -sf "http://127.0.0.1:$pb$RES" >/dev/null
    ta0=$(cpu_ticks "$SRV_PID")
    tb0=$(cpu_ticks "$SRV2_PID")
    wrk -t1 -c$((CONN / 2)) -d"${DUR}s" "http://127.0.0.1:$pa$RES" > "$TMP/wrk-a.out" &
    wa=$!
    wrk -t1 -c$((CONN / 2)) -d"${DUR}s" "http://127.0.0.1:$pb$RES" > "$TMP/wrk-b.out"
    wait "$wa"
    ta1=$(cpu_ticks "$SRV_PID")
    tb1=$(cpu_ticks "$SRV2_PID")
    kill "$SRV_PID" "$SRV2_PID"
    wait "$SRV_PID" "$SRV2_PID" 2>/dev/null || true
    SRV_PID=""
    SRV2_PID=""
    rm -rf "$TMP/data-b"
    na=$(awk '/requests in/ {print $1}' "$TMP/wrk-a.out")
    nb=$(awk '/requests in/ {print $1}' "$TMP/wrk-b.out")
    hz=$(getconf CLK_TCK)
    awk -v a="$((ta1 - ta0))" -v b="$((tb1 - tb0))" -v na="$na" -v nb="$nb" -v hz="$hz" \
        'BEGIN {printf "%.2f %.2f\n", 1e6 * a / hz / na, 1e6 * b / hz / nb}'
}

REF=${BENCH_OPS_REF:-}
LOGDIR=$(dirname "$TMP/x")
echo "-- access log and metrics cost on cached resolve (A = --access-log off, B = default; ${ROUNDS}x A/B, ${DUR}s each)"
echo "log destination: --log-file $LOGDIR/almanacd-on.log (a regular file, $(stat -f -c %T "$LOGDIR") file system)"
[ -n "$REF" ] && echo "reference build measured in the same rounds: $REF"
: > "$TMP/a" && : > "$TMP/b" && : > "$TMP/ra" && : > "$TMP/rb"
for r in $(seq "$ROUNDS"); do
    a=$(run off)
    b=$(run on)
    echo "$a" >> "$TMP/a"
    echo "$b" >> "$TMP/b"
    echo "round $r: off ${a% *} req/s (${a#* } us CPU/req), on ${b% *} req/s (${b#* } us CPU/req)"
    if [ -n "$REF" ]; then
        a=$(run off "$REF")
        b=$(run on "$REF")
        echo "$a" >> "$TMP/ra"
        echo "$b" >> "$TMP/rb"
        echo "round $r (reference): off ${a% *} req/s (${a#* } us CPU/req), on ${b% *} req/s (${b#* } us CPU/req)"
    fi
done
LINES=$(wc -l < "$TMP/almanacd-on.log")
# summary NAME A-FILE B-FILE: the medians and the loss.
summary() {
    MA=$(cut -d' ' -f1 "$2" | median)
    MB=$(cut -d' ' -f1 "$3" | median)
    CA=$(cut -d' ' -f2 "$2" | median)
    CB=$(cut -d' ' -f2 "$3" | median)
    echo "$1: median throughput: --access-log off $MA req/s, default $MB req/s: $(echo "$MA $MB" | awk '{printf "%.1f", 100*($1-$2)/$1}')% loss (goal < 5%)"
    echo "$1: median server CPU per request: off $CA us, default $CB us: $(echo "$CA $CB" | awk '{printf "%+.1f", 100*($2-$1)/$1}')%"
}
summary "this build" "$TMP/a" "$TMP/b"
[ -n "$REF" ] && summary "reference" "$TMP/ra" "$TMP/rb"
echo "$LINES access lines in the last log file"
# The same comparison with both modes running at once (see paired()).
echo "-- the same, both modes at once (each under its own wrk), ${ROUNDS}x ${DUR}s: server CPU per request"
: > "$TMP/p" && : > "$TMP/rp"
for r in $(seq "$ROUNDS"); do
    p=$(paired "$ROOT/$B/almanacd")
    echo "$p" >> "$TMP/p"
    line="round $r: off ${p% *} us, on ${p#* } us"
    if [ -n "$REF" ]; then
        p=$(paired "$REF")
        echo "$p" >> "$TMP/rp"
        line="$line; reference: off ${p% *} us, on ${p#* } us"
    fi
    echo "$line"
done
pct() { awk '{printf "%.1f\n", 100 * ($2 - $1) / $1}' "$1" | median; }
echo "this build: median CPU per request added by access logging, both modes at once: $(pct "$TMP/p")%"
[ -n "$REF" ] && echo "reference: median CPU per request added by access logging, both modes at once: $(pct "$TMP/rp")%"
# The same cost without the network and the neighbours' noise: CPU per access line.
if [ -x "$ROOT/$B/bench/bench_log" ]; then
    echo "-- one access line, in process (tests/bench/bench_log.c), to a file in $LOGDIR and to /dev/null"
    "$ROOT/$B/bench/bench_log" "$TMP/bench_log.log" 2 200000
    "$ROOT/$B/bench/bench_log" /dev/null 2 200000
fi
echo "load average while measuring: $(cut -d' ' -f1-3 /proc/loadavg) (other processes on the machine skew req/s)"
