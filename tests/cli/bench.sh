#!/usr/bin/env bash
# tests/cli/bench.sh [BUILD_DIR] [RUNS]: cold-start numbers of `almanac run`.
#
# Starts its own almanacd (like tests/cli/run.sh), uploads the core artifacts of
# Pyodide 0.26.4 and 0.28.3 when the seed did not store them, warms the cache, then
# reports the median of RUNS (default 5) runs of:
#   - hello on Pyodide 0.26.4 (python_workers), no snapshot
#   - hello on Pyodide 0.28.3 (the 2025 bundle), no snapshot
#   - the same with --snapshot (after one run that makes the snapshot)
# with the wall time of the whole `almanac run` process, Pyodide's boot, and the
# warm-cache overhead before Pyodide boots: almanac's own phases (resolve, verify,
# fetch check, layout) and, separately, everything up to the boot (those plus Node's
# start and the host's checks). DESIGN §14: overhead < 100 ms, snapshot start
# < 500 ms. Environment as for run.sh (ALMANACD, PYODIDE_DIR).
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
B=$(cd "${1:-build}" 2>/dev/null && pwd) || { echo "bench.sh: no build directory" >&2; exit 2; }
RUNS=${2:-5}
ALM=$B/almanac
SRV=${ALMANACD:-$B/almanacd}
PYO=${PYODIDE_DIR:-$HOME/.cache/almanac/pyodide}

T=$(mktemp -d "${TMPDIR:-/tmp}/almanac-cli-bench.XXXXXX")
SRV_PID=
cleanup() {
    [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
    chmod -R u+w "$T" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export ALMANAC_TODAY=2026-11-25 ALMANAC_ZSTD_LEVEL=${ALMANAC_ZSTD_LEVEL:-3}
"$SRV" seed --data "$T/data" > /dev/null 2>&1 || { echo "bench.sh: seed failed" >&2; exit 2; }
TOKEN=$("$SRV" token create --data "$T/data" 2>/dev/null)
"$SRV" serve --data "$T/data" --listen "127.0.0.1:$PORT" > "$T/server.log" 2>&1 &
SRV_PID=$!
for _ in $(seq 50); do
    curl -fs "http://127.0.0.1:$PORT/v1/health" > /dev/null 2>&1 && break
    sleep 0.1
done
export XDG_CONFIG_HOME=$T/config ALMANAC_CACHE=$T/cache ALMANAC_SERVER=http://127.0.0.1:$PORT
for v in 0.26.4 0.28.3; do
    n=$(curl -fs "$ALMANAC_SERVER/v1/runtimes/pyodide-$v" | grep -o '"stored":true' | wc -l)
    [ "$n" -ge 5 ] || ALMANAC_TOKEN=$TOKEN "$ALM" -q import pyodide "$PYO/$v/package" > /dev/null
done

# measure LABEL ARGS...: RUNS runs of `almanac --json run ARGS`, medians printed.
measure() {
    local label=$1
    shift
    : > "$T/rows"
    for _ in $(seq "$RUNS"); do
        local t0 t1
        t0=$(date +%s%N)
        "$ALM" --json run "$@" > "$T/out" 2> "$T/err" || { echo "bench.sh: run failed: $(cat "$T/err")" >&2; exit 1; }
        t1=$(date +%s%N)
        python3 - "$T/out" $(((t1 - t0) / 1000)) >> "$T/rows" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
a, h = d["almanac_timings"], d["timings"]
own = a["resolve_ms"] + a["verify_ms"] + a["fetch_ms"] + a["layout_ms"]
boot_etc = h["boot_ms"] + h["install_ms"] + h["import_ms"] + h["handler_ms"] + h["snapshot_ms"]
before_boot = own + (h["total_ms"] - boot_etc)
print(int(sys.argv[2]) / 1000, own, h["node_startup_ms"], before_boot, h["boot_ms"])
EOF
    done
    python3 - "$T/rows" "$label" <<'EOF'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
med = [statistics.median(c) for c in zip(*rows)]
print(f"{sys.argv[2]:<34} wall {med[0]:7.0f} ms   boot {med[4]:6.0f} ms   "
      f"before boot {med[3]:5.0f} ms (almanac {med[1]:4.1f} ms, node start {med[2]:4.0f} ms)")
EOF
}

"$ALM" -q run examples/hello/wrangler.toml > /dev/null 2>&1           # fetch + layout
"$ALM" -q run examples/hello-2025/wrangler.toml > /dev/null 2>&1
"$ALM" -q run examples/hello-2025/wrangler.toml --snapshot > /dev/null 2>&1 # make the snapshot

echo "almanac run: median of $RUNS runs, warm cache (load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs)"
t0=$(date +%s%N); node -e 0; t1=$(date +%s%N)
echo "node -e 0 for reference: $(((t1 - t0) / 1000000)) ms"
measure "0.26.4 (3.12), no snapshot" examples/hello/wrangler.toml
measure "0.28.3 (3.13), no snapshot" examples/hello-2025/wrangler.toml
measure "0.28.3 (3.13), --snapshot" examples/hello-2025/wrangler.toml --snapshot

# ---- almanac dev: warm requests, beside a plain Node http server returning the same
# bytes (issue 10: p50 < 2 ms, p99 < 10 ms at -c1; >= 1000 req/s at -c8; RSS after
# 10 000 requests at most 5 MB above RSS after the first 1 000).
if command -v wrk > /dev/null; then
    mkdir -p "$T/devw"
    printf 'from workers import Response, WorkerEntrypoint\n\n\nclass Default(WorkerEntrypoint):\n    async def fetch(self, request):\n        return Response("Hello world!")\n' > "$T/devw/worker.py"
    printf '{"main": "worker.py", "compatibility_date": "2025-10-01", "compatibility_flags": ["python_workers"]}\n' > "$T/devw/wrangler.json"
    DPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    NPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    env -C "$T/devw" "$ALM" dev --port "$DPORT" > "$T/dev.out" 2> "$T/dev.err" &
    DEV_PID=$!
    node -e "require('node:http').createServer((q, s) => { s.writeHead(200, {'content-type': 'text/plain;charset=UTF-8', 'content-length': 12}); s.end('Hello world!'); }).listen($NPORT, '127.0.0.1')" &
    NODE_PID=$!
    for _ in $(seq 240); do grep -q 'ready on' "$T/dev.out" 2> /dev/null && break; sleep 0.25; done
    HOST_PID=$(pgrep -P "$DEV_PID" node | head -1)
    rss() { awk '/VmRSS/ {print $2}' "/proc/$HOST_PID/status"; }
    wrk_run() { # URL: warm-up, -c1 latency 10 s, -c8 throughput 10 s
        wrk -t1 -c1 -d3s "$1" > /dev/null
        wrk -t1 -c1 -d10s --latency "$1" > "$T/wrk1"
        wrk -t1 -c8 -d10s "$1" > "$T/wrk8"
        printf '%-28s p50 %8s   p99 %8s   -c1 %9s req/s   -c8 %9s req/s\n' "$2" \
            "$(awk '$1 == "50%" {print $2}' "$T/wrk1")" "$(awk '$1 == "99%" {print $2}' "$T/wrk1")" \
            "$(awk '/Requests\/sec/ {print $2}' "$T/wrk1")" "$(awk '/Requests\/sec/ {print $2}' "$T/wrk8")"
    }
    echo "almanac dev vs node http, hello world (wrk; load average: $(cut -d' ' -f1-3 /proc/loadavg))"
    if [ -n "$HOST_PID" ] && [ "$(curl -s "http://127.0.0.1:$DPORT/")" = "Hello world!" ]; then
        wrk -t1 -c1 -d1s "http://127.0.0.1:$DPORT/" > /dev/null
        R1=$(rss)
        wrk_run "http://127.0.0.1:$DPORT/" "almanac dev (0.28.3)"
        wrk_run "http://127.0.0.1:$NPORT/" "node http (same bytes)"
        R2=$(rss)
        echo "almanac dev RSS: ${R1} kB after warm-up, ${R2} kB after the runs ($(((R2 - R1) / 1024)) MB more)"
    else
        echo "bench.sh: almanac dev did not start: $(cat "$T/dev.err")" >&2
    fi
    kill -INT "$DEV_PID" 2> /dev/null
    kill "$NODE_PID" 2> /dev/null
    wait "$DEV_PID" "$NODE_PID" 2> /dev/null
else
    echo "almanac dev: wrk not installed; skipped"
fi
