#!/bin/sh
# tests/bench/eol_bench.sh BUILD_DIR: end-of-support plan and apply for a large
# registry (default 100 000 workers, BENCH_WORKERS overrides).
#
# A few dozen template workers over every seed bundle and several dates and
# requirement sets are registered through the API (so their locks are real), then
# copied with SQL into BENCH_WORKERS rows. Timed over HTTP (curl), as an admin sees it:
#   plan 2028-10-02 summary / full, apply 2028-10-02, apply again (idempotent),
#   plan and apply 2029-10-07, upcoming 2028-06-01.
# A benchmark, not a test: it prints numbers and fails only when a tool fails.
set -eu
B=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
case "$B" in /*) BIN=$B ;; *) BIN=$ROOT/$B ;; esac
N=${BENCH_WORKERS:-100000}
TMP=$(mktemp -d)
PID=""
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
    [ -n "${KEEP:-}" ] && echo "kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
export ALMANAC_TODAY=${ALMANAC_TODAY:-2026-11-25}

PORT=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
URL=http://127.0.0.1:$PORT
"$BIN/almanacd" seed --data "$TMP/data" 2>/dev/null
TOKEN=$("$BIN/almanacd" token create --data "$TMP/data" 2>/dev/null)
"$BIN/almanacd" serve --data "$TMP/data" --listen 127.0.0.1:$PORT --no-sweep 2>"$TMP/almanacd.log" &
PID=$!
i=0
until curl -sf "$URL/v1/health" >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -lt 200 ] || { echo "almanacd did not start"; cat "$TMP/almanacd.log"; exit 1; }
    sleep 0.05
done

deploy() { # name date flags-json requirements-json
    code=$(curl -s -o "$TMP/out.json" -w '%{http_code}' -X PUT "$URL/v1/workers/$1" \
        -H "Authorization: Bearer $TOKEN" \
        -d "{\"compatibility_date\":\"$2\",\"compatibility_flags\":$3,\"requirements\":$4}")
    case $code in 200|201) ;; *) echo "deploy $1: $code $(cat "$TMP/out.json")"; exit 1 ;; esac
}

# Templates: 3.12 (60%), 3.13 (25%), 3.14 (14%), blocked on 3.12 (1%: duckdb).
k=0
for d in 2024-01-15 2024-03-01 2024-05-20 2024-08-01 2024-11-11 2025-02-03; do
    for r in '[]' '["numpy"]' '["pydantic"]' '["numpy","pydantic"]' '["requests","regex"]' '["micropip"]'; do
        k=$((k + 1)); deploy "tpl-a$(printf %02d $k)" $d '["python_workers"]' "$r"
    done
done
for d in 2025-10-01 2026-01-15 2026-05-05; do
    for r in '[]' '["numpy"]' '["numpy","pydantic"]' '["attrs"]' '["six"]'; do
        k=$((k + 1)); deploy "tpl-b$(printf %02d $k)" $d '["python_workers"]' "$r"
    done
done
for d in 2026-07-01 2026-10-10; do
    for r in '[]' '["numpy"]' '["pydantic"]' '["duckdb"]'; do
        k=$((k + 1)); deploy "tpl-c$(printf %02d $k)" $d '["python_workers","python_workers_20260610"]' "$r"
    done
done
k=$((k + 1)); deploy "tpl-d$(printf %02d $k)" 2024-04-01 '["python_workers"]' '["duckdb"]'

# Copy the templates into N rows, weighted: a-templates 60%, b 25%, c 14%, d 1%.
t0=$(date +%s.%N)
sqlite3 "$TMP/data/almanac.db" >/dev/null <<SQL
PRAGMA journal_mode=WAL;
BEGIN;
CREATE TEMP TABLE tpl AS SELECT row_number() OVER (PARTITION BY substr(name, 5, 1) ORDER BY name) - 1 AS k,
       substr(name, 5, 1) AS grp, * FROM workers WHERE name LIKE 'tpl-%';
CREATE TEMP TABLE grp_n AS SELECT grp, COUNT(*) AS n FROM tpl GROUP BY grp;
WITH RECURSIVE cnt(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM cnt WHERE i < $N - 1),
pick(i, grp) AS (SELECT i, CASE WHEN i % 100 < 60 THEN 'a' WHEN i % 100 < 85 THEN 'b'
                                 WHEN i % 100 < 99 THEN 'c' ELSE 'd' END FROM cnt)
INSERT INTO workers(name, compatibility_date, flags, requirements, allow_experimental, lock_id,
                    runtime, python_line, status, created_at, updated_at)
SELECT printf('bench-%07d', p.i), t.compatibility_date, t.flags, t.requirements, 0, t.lock_id,
       t.runtime, t.python_line, 'active', t.created_at, t.updated_at
FROM pick p JOIN grp_n g ON g.grp = p.grp
JOIN tpl t ON t.grp = p.grp AND t.k = (p.i / 100) % g.n;
COMMIT;
SQL
t1=$(date +%s.%N)
echo "   registered $(sqlite3 "$TMP/data/almanac.db" 'SELECT COUNT(*) FROM workers') workers" \
     "($(sqlite3 "$TMP/data/almanac.db" "SELECT group_concat(python_line || ': ' || n, ', ') FROM (SELECT python_line, COUNT(*) n FROM workers GROUP BY python_line)"))" \
     "in $(echo "$t1 - $t0" | bc) s via SQL"

timed() { # label method path
    out=$(curl -s -o "$TMP/resp.json" -w '%{http_code} %{time_total} %{size_download}' -X "$2" \
        -H "Authorization: Bearer $TOKEN" "$URL$3")
    set -- "$1" $out
    [ "$2" = 200 ] || { echo "$1: HTTP $2: $(head -c 500 "$TMP/resp.json")"; exit 1; }
    printf '   %-44s %8.3f s  %10s bytes  %s\n' "$1" "$3" "$4" \
        "$(node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1]));const t=j.totals||{};const a=j.applied;console.log(a?`moved ${a.moved}, blocked ${a.blocked}, events ${a.events}`:j.window_days?`upcoming ${t.workers}`:`moves ${t.moves}, blocked ${t.blocked}`)' "$TMP/resp.json")"
}

timed "plan 2028-10-02 (summary)" GET "/v1/eol/plan?as_of=2028-10-02&summary=true"
timed "plan 2028-10-02 (full list)" GET "/v1/eol/plan?as_of=2028-10-02"
timed "upcoming 2028-06-01" GET "/v1/eol/upcoming?as_of=2028-06-01"
timed "apply 2028-10-02" POST "/v1/eol/apply?as_of=2028-10-02&summary=true"
timed "apply 2028-10-02 again (idempotent)" POST "/v1/eol/apply?as_of=2028-10-02&summary=true"
timed "plan 2029-10-07 (summary)" GET "/v1/eol/plan?as_of=2029-10-07&summary=true"
timed "apply 2029-10-07" POST "/v1/eol/apply?as_of=2029-10-07&summary=true"
RSS=$(ps -o rss= -p "$PID" | tr -d ' ')
echo "   almanacd resident memory after the runs: ${RSS} KiB"
