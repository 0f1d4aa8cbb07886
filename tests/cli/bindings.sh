#!/bin/bash
# tests/cli/bindings.sh BUILD_DIR: the local bindings end to end through `almanac run`
# and `almanac d1 execute`: KV, D1, R2 and Durable Objects from Python on the oldest
# (0.26.4, a global on_fetch) and the newest (314.0.7, a WorkerEntrypoint) runtime of
# the catalog; state persisted across runs, --fresh, --persist-to; d1 execute then a
# query; static assets with and without a worker route; an unsimulated binding.
# Boots Pyodide about 22 times (~1 min on an idle machine); skipped when ALMANAC_SLOW_TESTS=0.
# Prints "N passed, M failed".
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
B=$(cd "${1:-build}" 2>/dev/null && pwd) || { echo "bindings.sh: no build directory '${1:-build}'" >&2; exit 2; }
ALM=$B/almanac
SRV=$B/almanacd
if [ "${ALMANAC_SLOW_TESTS:-1}" = "0" ]; then
    echo "bindings.sh: skipped (ALMANAC_SLOW_TESTS=0)"
    echo "0 passed, 0 failed"
    exit 0
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/almanac-bindings-test.XXXXXX")
. tests/cli/lib.sh
# expect NAME RC STDOUT_EXACT_OR_EMPTY [STDERR_REGEX]: this suite compares bodies
# exactly, so it replaces lib.sh's expect (a stdout pattern).
expect() {
    local name=$1 want=$2 body=$3 epat=${4:-}
    if [ "$RC" != "$want" ]; then
        bad "$name (exit $RC, wanted $want)" "$OUT
$ERR"
    elif [ -n "$body" ] && [ "$OUT" != "$body" ]; then
        bad "$name (body)" "wanted: $body
got:    $OUT
$ERR"
    elif [ -n "$epat" ] && ! grep -Eq -- "$epat" "$T/err"; then
        bad "$name (stderr lacks /$epat/)" "$ERR"
    else
        ok "$name"
    fi
}

DATA=$T/data
PORT=$(free_port)
export ALMANAC_ZSTD_LEVEL=${ALMANAC_ZSTD_LEVEL:-3}
"$SRV" seed --data "$DATA" > "$T/seed.log" 2>&1 || { cat "$T/seed.log"; echo "bindings.sh: seed failed" >&2; exit 2; }
start_server
export XDG_CONFIG_HOME=$T/config ALMANAC_CACHE=$T/cache ALMANAC_SERVER=http://127.0.0.1:$PORT
unset ALMANAC_TOKEN ALMANAC_KEY
echo "almanac local bindings tests (server on port $PORT, work dir $T)"

# ---- one worker, two styles: the same routes from a global on_fetch (2025-01-01,
# Pyodide 0.26.4) and from a WorkerEntrypoint (2026-11-01, Pyodide 314.0.7).
ROUTES='
import json
from urllib.parse import urlparse, parse_qs
from js import Object
from pyodide.ffi import to_js

def isnull(x):
    return x is None or repr(x) == "jsnull"

def js(d):
    return to_js(d, dict_converter=Object.fromEntries)

async def route(request, env):
    url = urlparse(request.url)
    q = {k: v[0] for k, v in parse_qs(url.query).items()}
    p = url.path
    if p == "/put":
        # one of each write, so the next run can check they persisted
        await env.KV.put("greeting", q["v"], js({"metadata": {"by": "test"}}))
        await env.BUCKET.put("a.txt", q["v"], js({"httpMetadata": {"contentType": "text/plain"}}))
        r = await env.DB.prepare("INSERT INTO people (name) VALUES (?)").bind(q["v"]).run()
        rows = await env.DB.prepare("SELECT count(*) AS n FROM people").all()
        n = await env.COUNTER.get(env.COUNTER.idFromName("x")).increment(2)
        return json.dumps({"d1": [r.meta.changes, rows.results[0].n], "do": n})
    if p == "/get":
        out = {}
        v = await env.KV.get(q.get("k", "greeting"))
        out["kv"] = None if isnull(v) else v
        if out["kv"] is not None:
            m = await env.KV.getWithMetadata("greeting", "text")
            out["kv_meta"] = m.metadata.to_py()
            lst = await env.KV.list(js({"prefix": "gr"}))
            out["kv_list"] = [k.name for k in lst.keys] + [lst.list_complete]
            o = await env.BUCKET.get("a.txt")
            out["r2"] = (await o.text()) + " " + o.httpMetadata.contentType
            out["r2_missing"] = isnull(await env.BUCKET.get("nope"))
            r = await env.DB.prepare("SELECT name FROM people WHERE id = ?").bind(int(q.get("id", "2"))).first()
            out["d1"] = r.name
        out["do_x"] = await env.COUNTER.getByName("x").increment(0)
        out["do_y"] = await env.COUNTER.get(env.COUNTER.idFromName("y")).increment(1)
        return json.dumps(out)
    if p == "/do":
        stub = env.COUNTER.get(env.COUNTER.idFromName(q["name"]))
        return str(await stub.increment(int(q.get("by", "1"))))
    if p == "/do/slow":
        # read, wait, write: concurrent requests lose updates unless serialized
        return str(await env.COUNTER.getByName("race").slow_increment())
    if p == "/do/fetch":
        stub = env.COUNTER.getByName(q["name"])
        r = await stub.fetch("http://do/hello")
        return await r.text()
    if p == "/ai":
        await env.AI.run("@cf/meta/llama-3-8b-instruct", js({"prompt": "hi"}))
        return "unreachable"
    return "no route " + p
'
CONFIG_BINDINGS='
  "kv_namespaces": [{"binding": "KV", "id": "kv-test"}],
  "d1_databases": [{"binding": "DB", "database_name": "people-db", "database_id": "d1-test"}],
  "r2_buckets": [{"binding": "BUCKET", "bucket_name": "bucket"}],
  "durable_objects": {"bindings": [{"name": "COUNTER", "class_name": "Counter"}]},
  "migrations": [{"tag": "v1", "new_sqlite_classes": ["Counter"]}],
  "ai": {"binding": "AI"}'

mkdir -p "$T/old/src" "$T/new/src"
cat > "$T/old/wrangler.jsonc" <<EOF
// the 2024 style: a global on_fetch
{
  "name": "old", "main": "src/entry.py",
  "compatibility_date": "2025-01-01", "compatibility_flags": ["python_workers"],
  $CONFIG_BINDINGS,
}
EOF
cat > "$T/old/src/entry.py" <<EOF
$ROUTES
from js import Response
from workers import DurableObject

class Counter(DurableObject):
    async def increment(self, by):
        n = (await self.ctx.storage.get("n")) or 0
        n += by
        await self.ctx.storage.put("n", n)
        return n
    async def fetch(self, request):
        return Response.new("do fetch " + request.url)

async def on_fetch(request, env):
    return Response.new(await route(request, env))
EOF
cat > "$T/new/wrangler.jsonc" <<EOF
{
  "name": "new", "main": "src/entry.py",
  "compatibility_date": "2026-11-01", "compatibility_flags": ["python_workers", "disable_python_external_sdk"],
  $CONFIG_BINDINGS,
  "assets": {"directory": "./public", "binding": "ASSETS"},
}
EOF
cat > "$T/new/src/entry.py" <<EOF
$ROUTES
from workers import DurableObject, Response, WorkerEntrypoint

class Counter(DurableObject):
    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        self.calls = 0
    async def increment(self, by):
        self.calls += 1
        n = (await self.ctx.storage.get("n")) or 0
        n += by
        await self.ctx.storage.put("n", n)
        return n
    async def slow_increment(self):
        import asyncio
        n = (await self.ctx.storage.get("n")) or 0
        await asyncio.sleep(0.05)
        await self.ctx.storage.put("n", n + 1)
        return n + 1
    async def calls_so_far(self):
        return self.calls
    async def fetch(self, request):
        return Response("do fetch " + request.url)

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        if urlparse(request.url).path == "/via-binding":
            return await self.env.ASSETS.fetch("http://assets/page")
        return Response(await route(request, self.env))
EOF
mkdir -p "$T/new/public/sub"
printf '<h1>home</h1>' > "$T/new/public/index.html"
printf '<p>page</p>' > "$T/new/public/page.html"
printf 'body{}' > "$T/new/public/sub/style.css"
SCHEMA="CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO people (name) VALUES ('ann'), (\"bob\");"
printf '%s\n' "$SCHEMA" > "$T/schema.sql"

for style in old new; do
    cd "$T/$style"
    case $style in old) rt="0.26.4" ;; new) rt="314.0.7" ;; esac
    get() { run "$ALM" run --body-only --request "GET $1" "${@:2}"; }
    run "$ALM" d1 execute DB --local --file "$T/schema.sql"
    expect "$style: d1 execute --file" 0 "" "Executed 2 commands on local database people-db"
    get '/put?v=cy'
    expect "$style ($rt): KV, R2, D1 (after d1 execute) and DO writes" 0 '{"d1": [1, 3], "do": 2}'
    get '/get'
    expect "$style ($rt): KV, R2, D1 and DO read back in the next run" 0 \
        '{"kv": "cy", "kv_meta": {"by": "test"}, "kv_list": ["greeting", true], "r2": "cy text/plain", "r2_missing": true, "d1": "bob", "do_x": 2, "do_y": 1}'
    run "$ALM" d1 execute people-db --json --command "SELECT name FROM people ORDER BY id"
    [ "$RC" = 0 ] && python3 -c "import json,sys; d=json.load(open('$T/out')); sys.exit(0 if [r['name'] for r in d[0]['results']] == ['ann','bob','cy'] else 1)" \
        && ok "$style: d1 execute sees the worker's write" || bad "$style: d1 execute --json" "$OUT $ERR"
    get '/do/fetch?name=x'
    expect "$style: DO stub.fetch" 0 "do fetch http://do/hello"
    get '/ai'
    expect "$style: an unsimulated binding is a clear error" 5 "" 'binding AI \(Workers AI\) is not simulated'
    if grep -q AttributeError "$T/err"; then bad "$style: AttributeError for an unsimulated binding" "$ERR"; else ok "$style: no AttributeError"; fi
    get '/get' --fresh
    expect "$style: --fresh starts empty (KV, DO)" 0 '{"kv": null, "do_x": 0, "do_y": 1}'
    run "$ALM" d1 execute DB --command "SELECT count(*) FROM people"
    expect "$style: --fresh emptied D1 too" 1 "" "no such table: people"
    run "$ALM" d1 execute DB --persist-to "$T/$style-state" --file "$T/schema.sql"
    expect "$style: d1 execute --persist-to DIR" 0 "" "Executed 2 commands"
    get '/put?v=elsewhere' --persist-to "$T/$style-state"
    [ -f "$T/$style-state/kv/kv-test.sqlite" ] && [ -f "$T/$style-state/d1/d1-test.sqlite" ] && [ -d "$T/$style-state/r2/bucket" ] && [ -d "$T/$style-state/do/Counter" ] \
        && ok "$style: --persist-to DIR holds the state" || bad "$style: --persist-to" "$OUT $ERR $(ls -R "$T/$style-state" 2>&1)"
    get '/get?id=3' --persist-to "$T/$style-state"
    expect "$style: --persist-to DIR read back" 0 \
        '{"kv": "elsewhere", "kv_meta": {"by": "test"}, "kv_list": ["greeting", true], "r2": "elsewhere text/plain", "r2_missing": true, "d1": "elsewhere", "do_x": 2, "do_y": 1}'
done

# ---- static assets (the new-style worker has assets.directory and an ASSETS binding)
cd "$T/new"
run "$ALM" run --request 'GET /'
[ "$RC" = 0 ] && grep -q '^content-type: text/html; charset=utf-8' "$T/out" && grep -q '<h1>home</h1>' "$T/out" \
    && ok "assets: / serves index.html before the worker" || bad "assets: /" "$OUT $ERR"
run "$ALM" run --request 'GET /sub/style.css'
grep -q '^content-type: text/css; charset=utf-8' "$T/out" && ok "assets: content type of a .css" || bad "assets: css" "$OUT"
run "$ALM" run --body-only --request 'GET /page'
expect "assets: /page serves page.html (auto-trailing-slash)" 0 "<p>page</p>"
run "$ALM" run --request 'GET /page.html'
grep -q '^HTTP 307' "$T/out" && grep -q '^location: /page' "$T/out" && ok "assets: /page.html redirects to /page" || bad "assets: redirect" "$OUT"
run "$ALM" run --body-only --request 'GET /nothing'
expect "assets: a path with no asset falls through to the worker" 0 "no route /nothing"
run "$ALM" run --body-only --request 'GET /via-binding'
expect "assets: env.ASSETS.fetch from the worker" 0 "<p>page</p>"
# run_worker_first: the worker answers / itself
python3 - "$T/new/wrangler.jsonc" <<'PY'
import sys, re
p = sys.argv[1]
s = open(p).read().replace('"binding": "ASSETS"}', '"binding": "ASSETS", "run_worker_first": ["/", "!/sub/*"]}')
open(p, "w").write(s)
PY
run "$ALM" run --body-only --request 'GET /'
expect "assets: run_worker_first sends / to the worker" 0 "no route /"
run "$ALM" run --body-only --request 'GET /sub/style.css'
expect "assets: a negated run_worker_first pattern is served from assets" 0 "body{}"

# ---- almanac dev: one process, the bindings shared by every request
cd "$T/new"
python3 - "$T/new/wrangler.jsonc" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read().replace(', "run_worker_first": ["/", "!/sub/*"]}', '}')
open(p, "w").write(s)
PY
DP=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$ALM" dev --port "$DP" --fresh > "$T/dev.out" 2> "$T/dev.err" &
DEV_PID=$!
wait_for() { for _ in $(seq 1 240); do grep -q "$1" "$2" 2> /dev/null && return 0; sleep 0.25; done; return 1; }
if wait_for 'ready on' "$T/dev.out"; then
    u="http://127.0.0.1:$DP"
    r1=$(curl -s "$u/do?name=dev&by=1"); r2=$(curl -s "$u/do?name=dev&by=1"); r3=$(curl -s "$u/do?name=dev&by=1")
    [ "$r1 $r2 $r3" = "1 2 3" ] && ok "dev: a Durable Object holds its state across requests" || bad "dev: DO state" "$r1 $r2 $r3"
    pids=
    for i in 1 2 3 4 5 6 7 8; do
        curl -s "$u/do/slow" > "$T/slow.$i" &
        pids="$pids $!"
    done
    wait $pids
    sort -n "$T"/slow.* | tr '\n' ' ' > "$T/slow.all"
    [ "$(cat "$T/slow.all")" = "1 2 3 4 5 6 7 8 " ] && ok "dev: 8 concurrent requests to one Durable Object are serialized (no lost update)" \
        || bad "dev: concurrent DO requests" "$(cat "$T/slow.all") $(cat "$T/dev.err" | tail -5)"
    run "$ALM" d1 execute DB --file "$T/schema.sql"
    expect "dev: d1 execute while dev serves" 0 "" "Executed 2 commands"
    [ "$(curl -s "$u/put?v=devval")" = '{"d1": [1, 3], "do": 2}' ] && ok "dev: the worker sees the tables d1 execute made" || bad "dev: after d1 execute"
    touch "$T/new/src/entry.py"
    if wait_for 'reloaded after a change' "$T/dev.out"; then
        got=$(curl -s "$u/get")
        case $got in
        '{"kv": "devval",'*'"do_x": 2,'*) ok "dev: state persists across a reload" ;;
        *) bad "dev: state after reload" "$got" ;;
        esac
    else
        bad "dev: no reload" "$(tail -5 "$T/dev.out")"
    fi
    [ "$(curl -s "$u/")" = "<h1>home</h1>" ] && ok "dev: assets served before the worker" || bad "dev: assets"
    [ "$(curl -s "$u/nothing")" = "no route /nothing" ] && ok "dev: no asset -> the worker" || bad "dev: fall-through"
else
    bad "dev: did not start" "$(tail -20 "$T/dev.out" "$T/dev.err")"
fi
kill -INT "$DEV_PID" 2> /dev/null
wait "$DEV_PID" 2> /dev/null

summary
