#!/bin/sh
# tests/crash/eol_crash.sh BUILD_DIR: kill -9 almanacd while it applies an end of
# support to many workers, restart it, and check that every worker was either moved
# or not (never half: a worker's runtime always matches its lock, each move has its
# history entry and its event, and all of one apply's moves are there or none).
#
# Workers (CRASH_WORKERS, default 20 000) are copied with SQL from templates
# registered through the API. The kill comes at several delays after the apply
# starts; at least one must land while the apply is running (curl gets no answer),
# and after the last restart an apply must finish the job exactly once.
set -eu
B=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
case "$B" in /*) BIN=$B ;; *) BIN=$ROOT/$B ;; esac
N=${CRASH_WORKERS:-20000}
TMP=$(mktemp -d)
PID=""
cleanup() {
    [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null || true
    [ -n "${KEEP:-}" ] && echo "kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
export ALMANAC_TODAY=2026-11-25
DATA=$TMP/data
DB=$DATA/almanac.db
fail() { echo "eol_crash: FAIL: $*"; exit 1; }

PORT=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
URL=http://127.0.0.1:$PORT

start() {
    "$BIN/almanacd" serve --data "$DATA" --listen 127.0.0.1:$PORT --no-sweep 2>>"$TMP/almanacd.log" &
    PID=$!
    i=0
    until curl -sf "$URL/v1/health" >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -lt 400 ] || fail "almanacd did not start: $(tail -5 "$TMP/almanacd.log")"
        sleep 0.05
    done
}

"$BIN/almanacd" seed --data "$DATA" 2>/dev/null
TOKEN=$("$BIN/almanacd" token create --data "$DATA" 2>/dev/null)
start
for spec in "t1 2024-04-01 []" "t2 2024-06-01 [\"numpy\"]" "t3 2025-01-10 [\"numpy\",\"pydantic\"]"; do
    set -- $spec
    code=$(curl -s -o "$TMP/out" -w '%{http_code}' -X PUT "$URL/v1/workers/tpl-$1" \
        -H "Authorization: Bearer $TOKEN" \
        -d "{\"compatibility_date\":\"$2\",\"compatibility_flags\":[\"python_workers\"],\"requirements\":$3}")
    [ "$code" = 201 ] || fail "deploy tpl-$1: $code $(cat "$TMP/out")"
done
sqlite3 "$DB" <<SQL
BEGIN;
CREATE TEMP TABLE tpl AS SELECT row_number() OVER (ORDER BY name) - 1 AS k, * FROM workers;
WITH RECURSIVE cnt(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM cnt WHERE i < $N - 1)
INSERT INTO workers(name, compatibility_date, flags, requirements, lock_id, runtime,
                    python_line, created_at, updated_at)
SELECT printf('crash-%06d', i), t.compatibility_date, t.flags, t.requirements, t.lock_id,
       t.runtime, t.python_line, t.created_at, t.updated_at
FROM cnt JOIN tpl t ON t.k = cnt.i % 3;
COMMIT;
SQL
TOTAL=$((N + 3))

# Invariants that hold whatever the moment of the crash. Prints the number moved.
check() {
    sqlite3 "$DB" "PRAGMA integrity_check" | grep -qx ok || fail "integrity_check"
    bad=$(sqlite3 "$DB" "WITH l AS MATERIALIZED (SELECT id, json_extract(bytes, '\$.runtime.id') AS rt
                                                   FROM locks)
                         SELECT COUNT(*) FROM workers w JOIN l ON l.id = w.lock_id
                         WHERE l.rt IS NOT w.runtime")
    [ "$bad" = 0 ] || fail "$bad workers whose runtime does not match their lock"
    moved=$(sqlite3 "$DB" "SELECT COUNT(*) FROM workers WHERE runtime = 'pyodide-0.28.3'")
    hist=$(sqlite3 "$DB" "SELECT COUNT(*) FROM worker_history WHERE kind = 'move'")
    events=$(sqlite3 "$DB" "SELECT COUNT(*) FROM events WHERE kind = 'worker.moved'")
    nolock=$(sqlite3 "$DB" "SELECT COUNT(*) FROM workers w LEFT JOIN locks l ON l.id = w.lock_id WHERE l.id IS NULL")
    [ "$hist" = "$moved" ] || fail "$moved moved workers but $hist move history entries"
    [ "$events" = "$moved" ] || fail "$moved moved workers but $events worker.moved events"
    [ "$nolock" = 0 ] || fail "$nolock workers pinned to a lock that is not stored"
    [ "$moved" = 0 ] || [ "$moved" = "$TOTAL" ] || fail "half an apply: $moved of $TOTAL moved"
    echo "$moved"
}

interrupted=0
for delay in 0.05 0.2 0.4 0.8; do
    [ "$(check)" = 0 ] || break
    curl -s -o "$TMP/apply.out" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
        "$URL/v1/eol/apply?as_of=2028-10-02&summary=true" >"$TMP/apply.code" 2>/dev/null &
    CURL=$!
    sleep "$delay"
    kill -9 "$PID"
    wait "$PID" 2>/dev/null || true
    PID=""
    wait "$CURL" 2>/dev/null || true
    code=$(cat "$TMP/apply.code")
    moved=$(check)
    if [ "$code" = 200 ]; then
        echo "   kill after ${delay}s: the apply had finished ($moved of $TOTAL moved)"
    else
        interrupted=$((interrupted + 1))
        echo "   kill after ${delay}s: apply interrupted; $moved of $TOTAL moved"
    fi
    start
done
[ "$interrupted" -gt 0 ] || fail "no kill landed during an apply (raise CRASH_WORKERS)"

# After the restart, an apply finishes the job; a second one changes nothing.
code=$(curl -s -o "$TMP/apply.out" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
    "$URL/v1/eol/apply?as_of=2028-10-02&summary=true")
[ "$code" = 200 ] || fail "apply after restart: $code $(cat "$TMP/apply.out")"
code=$(curl -s -o "$TMP/apply2.out" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
    "$URL/v1/eol/apply?as_of=2028-10-02&summary=true")
[ "$code" = 200 ] || fail "second apply: $code"
grep -q '"moved":0,' "$TMP/apply2.out" || fail "second apply moved again: $(cat "$TMP/apply2.out")"
kill "$PID"
wait "$PID" 2>/dev/null || true
PID=""
[ "$(check)" = "$TOTAL" ] || fail "not every worker moved after the final apply"
echo "eol_crash: ok ($TOTAL workers; $interrupted applies killed midway, none half-applied)"
