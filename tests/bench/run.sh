#!/bin/sh
# make bench: almanac's figures side by side with nginx on the same machine, same run.
#   1. cached resolve (GET /v1/resolve) vs nginx serving a small static file (wrk)
#   2. uncached resolution of a 21-package closure (in process)
#   3. a 10 MB stored artifact, zstd and identity, vs nginx serving the same file (wrk)
#   4. end-of-support plan/apply for 100 000 workers (tests/bench/eol_bench.sh, if present)
#   5. executor warm-cache overhead and cold starts (tests/cli/bench.sh)
#   6. access logging and metrics cost, A/B (tests/bench/ops_bench.sh)
# A benchmark, not a test: it prints numbers and fails only when a tool fails.
set -eu
B=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DUR=${BENCH_DURATION:-5}
CONN=${BENCH_CONNECTIONS:-32}
TMP=$(mktemp -d)
SRV_PID=""
NGX_PID=""
cleanup() {
    [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null || true
    [ -n "$NGX_PID" ] && kill "$NGX_PID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
rps() { awk '/Requests\/sec/ {print $2}'; }
tput() { awk '/Transfer\/sec/ {print $2}'; }

PORT=$(free_port)
NPORT=$(free_port)
export ALMANAC_TODAY=${ALMANAC_TODAY:-2026-11-25}

echo "== almanac bench ($(nproc) cores, wrk ${DUR}s x ${CONN} connections)"
"$ROOT/$B/almanacd" seed --data "$TMP/data" 2>/dev/null
"$ROOT/$B/almanacd" serve --data "$TMP/data" --listen 127.0.0.1:$PORT 2>"$TMP/almanacd.log" &
SRV_PID=$!

mkdir -p "$TMP/www" "$TMP/nginx"
printf '{"status":"ok"}\n' > "$TMP/www/small.json"
head -c 10485760 /dev/urandom > "$TMP/www/random10m.bin"
# A compressible 10 MB artifact: the real pyodide.asm.wasm (cut to 10 MiB), as almanac stores it.
WASM=$(ls "${ALMANAC_CACHE:-$HOME/.cache/almanac}"/pyodide/*/package/pyodide.asm.wasm 2>/dev/null | head -1)
head -c 10485760 "$WASM" > "$TMP/www/artifact10m.bin"
# nginx's workers drop root: let them read the files mktemp made private.
chmod 755 "$TMP" "$TMP/www"
chmod 644 "$TMP/www"/*
cat > "$TMP/nginx/nginx.conf" <<NGX
worker_processes $(nproc);
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path $TMP/nginx;
    proxy_temp_path $TMP/nginx;
    fastcgi_temp_path $TMP/nginx;
    uwsgi_temp_path $TMP/nginx;
    scgi_temp_path $TMP/nginx;
    server { listen 127.0.0.1:$NPORT; root $TMP/www; }
}
NGX
nginx -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx" &
NGX_PID=$!
for i in $(seq 50); do
    curl -sf "http://127.0.0.1:$PORT/v1/health" >/dev/null 2>&1 && curl -sf "http://127.0.0.1:$NPORT/small.json" >/dev/null 2>&1 && break
    sleep 0.1
done

for f in small.json artifact10m.bin; do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$NPORT/$f")
    [ "$code" = 200 ] || { echo "bench: nginx answers $code for $f; see $TMP/nginx/error.log" >&2; exit 1; }
done
RES="/v1/resolve?date=2024-04-01&flags=python_workers&requirements=aiohttp,pydantic,pandas,requests"
curl -sf "http://127.0.0.1:$PORT$RES" >/dev/null
rss() { ps -o rss= -p "$SRV_PID" | tr -d ' '; }
RSS0=$(rss)
echo "-- 1. cached resolve vs nginx small static file"
N_RPS=$(wrk -t2 -c"$CONN" -d"${DUR}s" "http://127.0.0.1:$NPORT/small.json" | rps)
A_RPS=$(wrk -t2 -c"$CONN" -d"${DUR}s" "http://127.0.0.1:$PORT$RES" | rps)
echo "nginx small file:        $N_RPS req/s"
echo "almanac cached resolve:  $A_RPS req/s  ($(echo "$A_RPS $N_RPS" | awk '{printf "%.0f", 100*$1/$2}')% of nginx; target >= 50%)"
# Uncached over HTTP: every request a new as_of, so each one resolves and stores a lock.
# One request at a time over HTTP, uncached (a new as_of each time: it resolves and
# stores the lock) and then repeated (served from the response cache); curl's own
# time_total, so process start-up is not counted.
U=$(for d in $(seq -w 1 28); do
    curl -sf -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$PORT$RES&as_of=2027-01-$d"
done | sort -n | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]*1000}')
C=$(for d in $(seq -w 1 28); do
    curl -sf -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$PORT$RES&as_of=2027-01-01"
done | sort -n | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]*1000}')
echo "one resolve request (curl time_total, median of 28): uncached $U ms, repeated (cached) $C ms"
RSS1=$(rss)

echo "-- 2. uncached resolution (in process)"
"$ROOT/$B/bench/bench_resolve" "$TMP/data" 3000

echo "-- 3. 10 MB artifact download vs nginx"
TOKEN=$("$ROOT/$B/almanacd" token create --data "$TMP/data" 2>/dev/null)
HEX=$(curl -sf -X POST -H "Authorization: Bearer $TOKEN" --data-binary @"$TMP/www/artifact10m.bin" \
      "http://127.0.0.1:$PORT/v1/artifacts?file_name=artifact10m.bin" | sed -n 's/.*"sha256":"\([0-9a-f]*\)".*/\1/p' || true)
if [ -n "$HEX" ]; then
    URL="http://127.0.0.1:$PORT/v1/artifacts/sha256/$HEX"
    STORED=$(curl -sf "$URL/meta" | sed -n 's/.*"stored_size":\([0-9]*\).*/\1/p')
    # wrk prints requests/s (artifacts/s) and bytes/s; both matter: the zstd form
    # carries fewer bytes per artifact.
    dl() { wrk -t2 -c8 -d"${DUR}s" "$@" | awk '/Requests\/sec/ {r=$2} /Transfer\/sec/ {t=$2} END {printf "%8.1f artifacts/s  %10s/s", r, t}'; }
    # The default configuration: the identity cache (1 GiB) is filled by the first
    # identity request, as a client's first download would.
    curl -sf -o /dev/null "$URL"
    N_I=$(dl "http://127.0.0.1:$NPORT/artifact10m.bin")
    A_Z=$(dl -H 'Accept-Encoding: zstd' "$URL")
    A_I=$(dl "$URL")
    N_I2=$(dl "http://127.0.0.1:$NPORT/artifact10m.bin")
    echo "nginx, the same 10 MB file:            $N_I"
    echo "almanac, zstd form (sendfile):         $A_Z   ($STORED bytes each on the wire)"
    echo "almanac, identity (identity cache):    $A_I   (target >= 80% of nginx)"
    echo "nginx again (after almanac):           $N_I2"
    echo "identity vs nginx (mean of the two nginx runs): $(echo "$A_I $N_I $N_I2" | awk '{printf "%.0f%%", 100*$1/(($4+$7)/2)}')"
else
    echo "artifact upload route not available: skipped"
fi

if [ -f "$ROOT/tests/bench/eol_bench.sh" ]; then
    echo "-- 4. end-of-support plan/apply"
    sh "$ROOT/tests/bench/eol_bench.sh" "$B"
fi
if [ -f "$ROOT/tests/cli/bench.sh" ]; then
    echo "-- 5. executor: cold start with and without a snapshot, warm-cache overhead"
    bash "$ROOT/tests/cli/bench.sh" "$B" "${BENCH_RUNS:-5}"
fi
if [ -f "$ROOT/tests/bench/ops_bench.sh" ]; then
    echo "-- 6. access logging and metrics"
    sh "$ROOT/tests/bench/ops_bench.sh" "$B"
fi
echo "-- almanacd resident memory: ${RSS0} KiB after warm-up, ${RSS1} KiB after the resolve load, $(rss) KiB after the downloads"
