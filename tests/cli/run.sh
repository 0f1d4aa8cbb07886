#!/usr/bin/env bash
# tests/cli/run.sh [BUILD_DIR]: end-to-end tests of the almanac CLI and executor
# against a real almanacd and the real Pyodide distributions of the seed catalog.
#
#   bash tests/cli/run.sh build          (binaries BUILD_DIR/almanac, BUILD_DIR/almanacd)
#
# Starts almanacd on a free loopback port with a temporary data directory, seeds it,
# uploads the core artifacts of Pyodide 0.26.4 and 0.28.3 with `almanac import
# pyodide` when the seed did not store them, and runs the CLI with its own config
# and cache directories. Boots Pyodide about 15 times: a few minutes.
#
# Environment: ALMANACD (server binary, default BUILD_DIR/almanacd); PYODIDE_DIR
# (default ~/.cache/almanac/pyodide: VERSION/package/ as `npm pack` unpacks it);
# ALMANAC_SLOW_TESTS=0 skips the tests that boot Pyodide.
# Prints one line per check and "N passed, M failed"; exits 1 when a check failed.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
B=$(cd "${1:-build}" 2>/dev/null && pwd) || { echo "run.sh: no build directory '${1:-build}'" >&2; exit 2; }
ALM=$B/almanac
SRV=${ALMANACD:-$B/almanacd}
PYO=${PYODIDE_DIR:-$HOME/.cache/almanac/pyodide}
SLOW=${ALMANAC_SLOW_TESTS:-1}
for f in "$ALM" "$SRV"; do
    [ -x "$f" ] || { echo "run.sh: $f is missing (make B=$B $B/almanac $B/almanacd)" >&2; exit 2; }
done

T=$(mktemp -d "${TMPDIR:-/tmp}/almanac-cli-test.XXXXXX")
DATA=$T/data
. tests/cli/lib.sh

# ---- the server -----------------------------------------------------------------
PORT=$(free_port)
export ALMANAC_TODAY=2026-11-25
# The seed stores the core artifacts of five runtimes; level 3 keeps that quick.
export ALMANAC_ZSTD_LEVEL=${ALMANAC_ZSTD_LEVEL:-3}
"$SRV" seed --data "$DATA" > "$T/seed.log" 2>&1 || { cat "$T/seed.log"; echo "run.sh: seed failed" >&2; exit 2; }
TOKEN=$("$SRV" token create --data "$DATA" 2>/dev/null)
start_server

# The CLI's own world: config (pinned keys), cache, server.
export XDG_CONFIG_HOME=$T/config ALMANAC_CACHE=$T/cache ALMANAC_SERVER=http://127.0.0.1:$PORT
unset ALMANAC_TOKEN ALMANAC_KEY
admin() { ALMANAC_TOKEN=$TOKEN "$@"; }

echo "almanac CLI tests (server on port $PORT, work dir $T)"

# ---- read commands --------------------------------------------------------------
run "$ALM" resolve --date 2025-01-01 --flag python_workers
expect "resolve: human output names the runtime" 0 'runtime +pyodide-0\.26\.4 \(Pyodide 0\.26\.4, CPython 3\.12\.1' 'first use of http://127\.0\.0\.1'
[ -s "$T/config/almanac/known_keys" ] && ok "trust: the key was pinned in known_keys" || bad "trust: no known_keys file"

run "$ALM" resolve --json --date 2025-01-01 --flag python_workers
expect "resolve --json" 0 '"lock_id": "sha256:'
LOCK_ID=$(jq_ 'd["lock_id"]')
[ "$(jq_ 'd["lock"]["runtime"]["python"]')" = "3.12.1" ] && ok "resolve --json: lock.runtime.python" || bad "resolve --json: lock.runtime.python"
[ -z "$ERR" ] && ok "resolve: no note after the first use" || bad "resolve: unexpected stderr" "$ERR"

run "$ALM" resolve --date 2025-02-30 --flag python_workers --flag no_such_flag
expect "resolve: bad date is refused (exit 2)" 2 '' '^almanac: .*2025-02-30'
grep -q '  invalid_date: ' "$T/err" && grep -q '  unknown_flag: ' "$T/err" && [ "$(grep -c '^almanac:' "$T/err")" = 1 ] \
    && ok "resolve: one 'almanac:' line plus each problem" || bad "resolve: error format" "$ERR"

run "$ALM" resolve --date 2026-12-01 --flag python_workers
expect "resolve: a date after today is refused" 2 '' 'date_in_future'

run "$ALM" resolve --bogus
expect "usage error: unknown option (exit 1)" 1 '' "unknown option '--bogus'"
run "$ALM" frobnicate
expect "usage error: unknown command (exit 1)" 1 '' "unknown command"
run "$ALM" --server http://127.0.0.1:1 flags
expect "network error (exit 3)" 3 '' 'cannot reach'

run "$ALM" resolve examples/hello/wrangler.toml
expect "resolve: a wrangler.toml" 0 'date +2025-01-01' ''
run "$ALM" resolve examples/hello-2025/wrangler.toml
expect "resolve: wrangler.toml dated 2025-10-01 gets CPython 3.13" 0 'pyodide-0\.28\.3'

# wrangler.toml: the subset almanac reads, with the spellings TOML allows.
mkdir -p "$T/wr"
cat > "$T/wr/wrangler.toml" <<'TOML'
# comment
name = 'literal-string'
main = "src/entry.py"   # trailing comment
compatibility_date = 2025-01-01
compatibility_flags = [
  "python_workers",  # the Python bundle
  'nodejs_compat',
]
build = { command = "make", cwd = "." }
[vars]
WHO = "w\u00f6rld"
[[routes]]
pattern = "example.com/*"
TOML
run "$ALM" resolve "$T/wr/wrangler.toml"
expect "wrangler.toml: bare date, multi-line array, literal strings, tables" 0 'flags +python_workers, nodejs_compat'
printf 'main = "w.py"\ncompatibility_date = "2025-01-01"\ncompatibility_flags = ["python_workers"\n' > "$T/wr/broken.toml"
run "$ALM" resolve "$T/wr/broken.toml"
expect "wrangler.toml: a syntax error names the line (exit 1)" 1 '' 'broken\.toml:4: unterminated array'
printf 'main = "w.py"\n' > "$T/wr/nodate.toml"
run "$ALM" resolve "$T/wr/nodate.toml"
expect "wrangler.toml without a date (exit 1)" 1 '' 'no compatibility_date'

printf 'micropip\n# a comment\nnumpy>=1.26\n' > "$T/req.txt"
run "$ALM" resolve --date 2025-01-01 --flag python_workers -r "$T/req.txt"
expect "resolve -r requirements.txt" 0 'numpy +1\.26'
printf 'numpy<1\n' > "$T/req-bad.txt"
run "$ALM" resolve --date 2025-01-01 --flag python_workers -r "$T/req-bad.txt"
expect "resolve: failed requirement assertion (exit 2)" 2 '' 'numpy'

run "$ALM" diff 2024-12-01 2026-01-01 --flag python_workers
expect "diff" 0 'runtime +pyodide-0\.26\.4 -> pyodide-0\.28\.3'
run "$ALM" diff 2024-12-01 2026-01-01 --flag python_workers -r "$T/req.txt"
expect "diff -r: only the requirements' packages" 0 'packages \(requirements\)'
run "$ALM" --json diff 2024-12-01 2026-01-01 --flag python_workers
expect "diff --json" 0 '"turned_on"'

run "$ALM" flags
expect "flags" 0 'python_workers_20250116 +python_workers after 2025-09-29'
run "$ALM" flags --json
expect "flags --json (option after the command)" 0 '"flags": \['
run "$ALM" runtimes
expect "runtimes" 0 'pyodide-0\.28\.3 +0\.28\.3 +3\.13\.2'
run "$ALM" python
expect "python lines" 0 '3\.12 +2023-10-02 +2028-10-02'

run "$ALM" lock show "$LOCK_ID"
expect "lock show" 0 "lock +$LOCK_ID"
run "$ALM" lock show "$LOCK_ID" --raw
[ "sha256:$(printf '%s' "$OUT" | sha256sum | cut -c1-64)" = "$LOCK_ID" ] && ok "lock show --raw: the exact signed bytes" || bad "lock show --raw: bytes do not hash to the id"
run "$ALM" lock show sha256:0000000000000000000000000000000000000000000000000000000000000000
expect "lock show: unknown lock (exit 2)" 2 '' 'resolve the same inputs again'

run "$ALM" token
expect "token: explains where tokens come from" 0 'almanacd token create'

# ---- artifacts into the server --------------------------------------------------
stored() { curl -fs "$ALMANAC_SERVER/v1/runtimes/$1" | grep -o '"stored":true' | wc -l; }
for v in 0.26.4 0.28.3; do
    if [ "$v" = 0.26.4 ] || [ "$(stored "pyodide-$v")" -lt 5 ]; then
        if [ ! -f "$PYO/$v/package/pyodide.mjs" ]; then
            echo "run.sh: no Pyodide $v in $PYO (run almanacd seed once)" >&2
            exit 2
        fi
        run admin "$ALM" import pyodide "$PYO/$v/package"
        expect "import pyodide $v (core artifacts uploaded or already stored)" 0 "imported runtime pyodide-$v"
    fi
done
run "$ALM" import pyodide "$PYO/0.26.4/package"
expect "import without a token is refused (exit 2)" 2 '' 'ALMANAC_TOKEN'

# ---- fetch, verify, tampering ---------------------------------------------------
run "$ALM" fetch --date 2025-01-01 --flag python_workers
expect "fetch: downloads the 5 core files" 0 '5 downloaded'
run "$ALM" fetch "$LOCK_ID"
expect "fetch again: nothing downloaded" 0 '0 downloaded .* 5 already cached'
run "$ALM" verify
expect "verify: the whole cache" 0 'checked 5 cached files .*: 0 bad'
run "$ALM" verify "$LOCK_ID"
expect "verify a lock" 0 'signature ok; 5 of 5 files verified'

run "$ALM" resolve --json --date 2025-01-01 --flag python_workers
MJS_HEX=$(jq_ '[a["sha256"] for a in d["lock"]["artifacts"] if a["role"] == "loader"][0]')
BLOB=$T/cache/blobs/sha256/${MJS_HEX:0:2}/$MJS_HEX
chmod u+w "$BLOB"
printf '/* tampered */' | dd of="$BLOB" bs=1 seek=0 conv=notrunc 2> /dev/null
run "$ALM" verify
expect "tampered cache file: verify refuses it (exit 4)" 4 '1 bad' 'corrupt'
run "$ALM" fetch "$LOCK_ID"
expect "tampered cache file: fetch refuses it (exit 4)" 4 '' 'corrupt'
if [ "$SLOW" != 0 ]; then
    run "$ALM" run examples/hello/worker.py --date 2025-01-01 --request 'GET /'
    expect "tampered cache file: run refuses it (exit 4)" 4 '' 'corrupt'
fi
run "$ALM" verify --repair
expect "verify --repair removes the bad file" 0 '1 removed'
run "$ALM" fetch "$LOCK_ID"
expect "fetch after repair: downloads it again" 0 '1 downloaded'

# A tampered download: the server's stored copy of pyodide.mjs replaced by other
# bytes under the same digest (a valid zstd frame, so only the digest can tell).
STORED=$(find "$DATA" -name "$MJS_HEX*" -type f | head -1)
if [ -n "$STORED" ] && command -v zstd > /dev/null; then
    cp "$STORED" "$T/stored.orig"
    zstd -q -d -c "$STORED" > "$T/mjs"
    # Same size, one byte different: only the digest can tell.
    python3 -c "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[len(b)//2] ^= 1; open(p,'wb').write(b)" "$T/mjs"
    chmod u+w "$STORED"
    zstd -q -f -c "$T/mjs" > "$STORED"
    "$ALM" verify --repair > /dev/null 2>&1
    rm -f "$BLOB" "$BLOB".*
    run "$ALM" fetch "$LOCK_ID"
    expect "tampered download is refused (exit 4)" 4 '' 'tampered with: its bytes hash to'
    [ ! -e "$BLOB" ] && ok "tampered download: nothing entered the cache" || bad "tampered download: the blob is in the cache"
    cp "$T/stored.orig" "$STORED"
    run "$ALM" fetch "$LOCK_ID"
    expect "fetch after the server is repaired" 0 '1 downloaded'
else
    bad "tampered download: cannot find the stored artifact of $MJS_HEX under $DATA"
fi

# ---- run ------------------------------------------------------------------------
if [ "$SLOW" != 0 ]; then
    run "$ALM" run examples/hello/worker.py --date 2025-01-01 --request 'GET /'
    expect "run hello on python_workers (Pyodide 0.26.4, CPython 3.12)" 0 '^Hello world!$'
    grep -q '^HTTP 200' "$T/out" && ok "run: prints the status line" || bad "run: no status line" "$OUT"

    run "$ALM" run examples/hello/wrangler.toml --request 'GET /' --timings
    expect "run with wrangler.toml and --timings" 0 '^Hello world!$' 'before Pyodide boots'
    grep -Eq '^  (resolve|verify|fetch|layout|boot|import|handler) ' "$T/err" && ok "run --timings: phases printed" || bad "run --timings" "$ERR"

    run "$ALM" run examples/hello-2025/wrangler.toml --request 'POST /echo' --data 'x' -H 'X-Test: 1'
    expect "run on the 2025 bundle (Pyodide 0.28.3, CPython 3.13), a WorkerEntrypoint" 0 'Python 3\.13, POST http://localhost/echo'

    run "$ALM" run examples/hello/worker.py
    expect "bare .py with defaults: a global on_fetch is refused as the platform does (exit 5)" 5 '' 'lack a handler for FetchEvents'
    grep -q 'disable_python_external_sdk' "$T/err" && ok "bare .py: the defaults are said on stderr" || bad "bare .py: defaults not said" "$ERR"
    run "$ALM" run examples/hello-2025/worker.py
    expect "bare .py WorkerEntrypoint with defaults (today, python_workers, disable_python_external_sdk)" 0 'Hello world! \(Python 3\.14'

    # ---- the workers API, flags and config files (issue 10)
    W=$T/api
    mkdir -p "$W/entry" "$W/legacy" "$W/one" "$W/cfg/src" "$W/sdk/python_modules/workers" "$W/vend/python_modules/vpkg" "$W/pth/python_modules/extra"
    cat > "$W/entry/worker.py" <<'PY'
from workers import Response, WorkerEntrypoint, Request
import workers

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        assert isinstance(request, Request)
        body = await request.text()
        return Response.json({"m": request.method, "b": body, "x": request.headers.get("x-t"),
                              "g": self.env.GREETING, "n": self.env.N, "o": self.env.OBJ.to_py()["a"],
                              "s": self.env.SECRET,
                              "flag": workers._workers.get_compat_flag("python_no_global_handlers")},
                             status=201, headers={"x-w": "1"})
PY
    cat > "$W/entry/wrangler.jsonc" <<'JS'
// a wrangler.jsonc as create-cloudflare writes it
{
  "name": "entry", /* block comment */
  "main": "worker.py",
  "compatibility_date": "2025-10-01",
  "compatibility_flags": ["python_workers",],
  "vars": {"GREETING": "hi", "N": 3, "OBJ": {"a": [1, 2]},},
  "env": {"staging": {"vars": {"GREETING": "staging", "N": 4, "OBJ": {"a": 0}}}},
}
JS
    printf 'SECRET="s3cret"\n# comment\n' > "$W/entry/.dev.vars"
    printf 'SECRET=staging-secret\n' > "$W/entry/.dev.vars.staging"
    run env -C "$W/entry" "$ALM" --json run --request 'POST /p' --data 'abc' -H 'X-T: 7'
    expect "wrangler.jsonc found in the current directory; Default(WorkerEntrypoint).fetch" 0 '"status": 201'
    [ "$(jq_ 'd["body"]')" = '{"m": "POST", "b": "abc", "x": "7", "g": "hi", "n": 3, "o": [1, 2], "s": "s3cret", "flag": true}' ] \
        && ok "workers.Request, Response.json, vars of any JSON type, .dev.vars, get_compat_flag" || bad "workers API values" "$OUT"
    run env -C "$W/entry" "$ALM" --json run --env staging
    [ "$RC" = 0 ] && [ "$(jq_ 'json.loads(d["body"])["g"], json.loads(d["body"])["s"], json.loads(d["body"])["n"]')" = 'staging staging-secret 4' ] \
        && ok "--env staging: env vars and .dev.vars.staging" || bad "--env staging" "$OUT $ERR"
    run env -C "$W/entry" ALMANAC_TOKEN="$TOKEN" "$ALM" workers deploy
    expect "workers deploy with no arguments: name, date and flags from the config of the current directory" 0 '^entry registered: pyodide-0\.28\.3'
    run env -C "$W/entry" "$ALM" run --env nope
    expect "--env with an unknown environment: clear error (exit 1)" 1 '' "no environment 'nope'"
    printf '{\n  "main": "worker.py",\n  "compatibility_date": "2025-10-01"\n  "x": 1\n}\n' > "$W/entry/broken.jsonc"
    run "$ALM" run "$W/entry/broken.jsonc"
    expect "broken jsonc: line:column error (exit 1)" 1 '' 'broken.jsonc:4:3: '
    printf '{"main": "worker.py", "compatibility_date": "<COMPATIBILITY_DATE>"}\n' > "$W/entry/wrangler.json"
    run "$ALM" run "$W/entry/wrangler.json"
    expect "template placeholder: clear error (exit 1)" 1 '' 'placeholder'
    run env -C "$W/entry" "$ALM" run
    expect "discovery order: wrangler.json before wrangler.jsonc" 1 '' 'wrangler.json: compatibility_date is the template placeholder'
    rm "$W/entry/wrangler.json"
    printf '{"compatibility_date": "2025-10-01"}\n' > "$W/entry/nomain.json"
    run "$ALM" run "$W/entry/nomain.json"
    expect "missing main: clear error (exit 1)" 1 '' "has no 'main'"

    cp "$W/entry/worker.py" "$W/legacy/worker.py"
    run "$ALM" run "$W/legacy/worker.py" --date 2025-08-13 --flag python_workers
    expect "python_no_global_handlers off (2025-08-13): Default.fetch looked up as on_fetch (exit 5)" 5 '' 'TypeError: Method on_fetch does not exist'
    printf 'def on_fetch(request):\n    return "one " + request.method\n' > "$W/one/worker.py"
    run "$ALM" run "$W/one/worker.py" --date 2025-08-13 --flag python_workers
    expect "python_no_global_handlers off: on_fetch(request) gets only what it declares" 0 '^one GET$'
    run "$ALM" run "$W/one/worker.py" --date 2025-08-14 --flag python_workers
    expect "python_no_global_handlers on (2025-08-14): global on_fetch refused (exit 5)" 5 '' 'lack a handler for FetchEvents'
    run "$ALM" run "$W/one/worker.py" --date 2025-08-14 --flag python_workers --flag disable_python_no_global_handlers
    expect "disable_python_no_global_handlers: on_fetch used again" 0 '^one GET$'

    run "$ALM" run "$W/legacy/worker.py" --date 2026-04-21 --flag python_workers
    expect "enable_python_external_sdk on (2026-04-21): import workers fails with the platform's note (exit 5)" 5 '' 'You need to update to workers-py >= 1.9 or to pass disable_python_external_sdk'
    grep -q "No module named 'workers'" "$T/err" && ok "external SDK: ModuleNotFoundError named" || bad "external SDK message" "$ERR"
    cat > "$W/sdk/python_modules/workers/__init__.py" <<'PY'
# a stand-in for the vendored workers-runtime-sdk
from js import Response as _R
VENDORED = True
class WorkerEntrypoint:
    def __init__(self, ctx, env):
        self.ctx, self.env = ctx, env
PY
    printf 'import workers\nclass Default(workers.WorkerEntrypoint):\n    def fetch(self):\n        return workers._R.new("vendored sdk %%s" %% workers.VENDORED)\n' > "$W/sdk/worker.py"
    run "$ALM" run "$W/sdk/worker.py" --date 2026-04-21 --flag python_workers
    expect "enable_python_external_sdk on with a vendored SDK: the worker runs (fetch(self))" 0 '^vendored sdk True$'
    run "$ALM" run "$W/sdk/worker.py" --date 2026-04-20 --flag python_workers
    expect "enable_python_external_sdk off (2026-04-20): python_modules/ still wins over the built-in" 0 '^vendored sdk True$'

    printf 'V = "vendored"\n' > "$W/vend/python_modules/vpkg/__init__.py"
    printf 'from workers import Response, WorkerEntrypoint\nimport vpkg, sys\nclass Default(WorkerEntrypoint):\n    def fetch(self, request):\n        return Response(vpkg.V + " " + str([p for p in sys.path if "session" in p]))\n' > "$W/vend/worker.py"
    run "$ALM" run "$W/vend/worker.py" --date 2025-10-01 --flag python_workers
    expect "python_modules/ on sys.path before site-packages, the worker's directory after" 0 "^vendored \['/session/metadata/python_modules', '/session/metadata'\]$"

    printf 'X = "from pth"\n' > "$W/pth/python_modules/extra/m.py"
    printf 'extra\n' > "$W/pth/python_modules/x.pth"
    printf 'from workers import Response, WorkerEntrypoint\nclass Default(WorkerEntrypoint):\n    def fetch(self):\n        try:\n            import m\n            return Response(m.X)\n        except ImportError:\n            return Response("no pth")\n' > "$W/pth/worker.py"
    run "$ALM" run "$W/pth/worker.py" --date 2026-05-26 --flag python_workers --flag disable_python_external_sdk
    expect "python_process_pth_files on (2026-05-26): .pth processed" 0 '^from pth$'
    run "$ALM" run "$W/pth/worker.py" --date 2026-05-25 --flag python_workers --flag disable_python_external_sdk
    expect "python_process_pth_files off (2026-05-25): .pth ignored" 0 '^no pth$'

    # src/vendor/: on the path only through the config's rules, and only before
    # python_workers_force_new_vendor_path (2025-08-11).
    mkdir -p "$W/vdr/src/vendor"
    printf 'V = "legacy vendor"\n' > "$W/vdr/src/vendor/vmod.py"
    printf 'from js import Response\ndef on_fetch(request):\n    try:\n        import vmod\n        return vmod.V\n    except ImportError:\n        return "no vendor"\n' > "$W/vdr/src/entry.py"
    printf 'main = "src/entry.py"\ncompatibility_date = "2025-08-10"\ncompatibility_flags = ["python_workers"]\n\n[[rules]]\nglobs = ["vendor/**"]\ntype = "Data"\nfallthrough = true\n' > "$W/vdr/wrangler.toml"
    run "$ALM" run "$W/vdr/wrangler.toml" --body-only
    expect "python_workers_force_new_vendor_path off (2025-08-10): src/vendor through rules" 0 '^legacy vendor$'
    run "$ALM" run "$W/vdr/wrangler.toml" --body-only --date 2025-08-11
    expect "python_workers_force_new_vendor_path on (2025-08-11): src/vendor not on the path" 0 '^no vendor$'
    sed -i '/rules/,$d' "$W/vdr/wrangler.toml"
    run "$ALM" run "$W/vdr/wrangler.toml" --body-only
    expect "src/vendor without a rule: not on the path" 0 '^no vendor$'

    # A missing var: the worker's own error, one line from almanac, no executor traceback.
    printf 'from workers import Response, WorkerEntrypoint\nclass Default(WorkerEntrypoint):\n    def fetch(self):\n        return Response(self.env.NOPE)\n' > "$W/one/missing.py"
    run "$ALM" run "$W/one/missing.py" --date 2025-10-01 --flag python_workers
    expect "a missing var: the worker raises, exit 5" 5 '' "almanac: the worker raised: AttributeError: env has no binding named 'NOPE'"
    grep -Eq 'host\.mjs|almanac host:|_almanac_platform' "$T/err" && bad "a missing var: the executor's own frames are shown" "$ERR" || ok "a missing var: no traceback from the executor itself"

    # --allow-net: outbound fetch to a loopback server only with it.
    NP=$(free_port)
    mkdir -p "$W/net"
    printf 'from loopback\n' > "$W/net/index.html"
    python3 -m http.server "$NP" --bind 127.0.0.1 --directory "$W/net" > /dev/null 2>&1 &
    NET_PID=$!
    printf 'from workers import Response, WorkerEntrypoint, fetch\nclass Default(WorkerEntrypoint):\n    async def fetch(self, request):\n        try:\n            r = await fetch("http://127.0.0.1:%s/index.html")\n            return Response(await r.text())\n        except OSError as e:\n            return Response(str(e), status=502)\n' "$NP" > "$W/net/worker.py"
    sleep 0.5
    run "$ALM" run "$W/net/worker.py" --date 2025-10-01 --flag python_workers --allow-net --body-only
    expect "--allow-net: workers.fetch reaches a loopback server" 0 '^from loopback$'
    run "$ALM" run "$W/net/worker.py" --date 2025-10-01 --flag python_workers
    expect "without --allow-net: workers.fetch is refused with the clear error" 0 'network access is disabled in the almanac executor'
    kill "$NET_PID" 2> /dev/null
    wait "$NET_PID" 2> /dev/null

    # pyproject.toml: [project].dependencies, never the dependency groups.
    mkdir -p "$W/pyp/src"
    printf '[project]\nname = "p"\ndependencies = []\n\n[dependency-groups]\ndev = ["workers-py", "workers-runtime-sdk"]\n' > "$W/pyp/pyproject.toml"
    printf 'name = "p"\nmain = "src/entry.py"\ncompatibility_date = "2025-10-01"\ncompatibility_flags = ["python_workers"]\n' > "$W/pyp/wrangler.toml"
    printf 'from workers import Response, WorkerEntrypoint\nclass Default(WorkerEntrypoint):\n    def fetch(self, request):\n        return Response("pyproject ok")\n' > "$W/pyp/src/entry.py"
    run env -C "$W/pyp" "$ALM" run
    expect "pyproject.toml: dependency groups are not requirements; main in src/" 0 '^pyproject ok$'
    printf '[project]\nname = "p"\ndependencies = [\n  "no-such-package-xyz>=1",\n]\n\n[dependency-groups]\ndev = ["workers-py"]\n' > "$W/pyp/pyproject.toml"
    run env -C "$W/pyp" "$ALM" run
    expect "pyproject.toml: [project].dependencies are the requirements" 2 '' "'no-such-package-xyz' is not in package set"
    grep -q 'workers-py' "$T/err" && bad "pyproject.toml: a dependency group was read" "$ERR" || ok "pyproject.toml: dependency groups ignored"

    # almanac dev: serving, access lines, reload on change, /__scheduled, errors as 500.
    DP=$(free_port)
    mkdir -p "$W/dev"
    printf '{"main": "worker.py", "compatibility_date": "2025-10-01", "compatibility_flags": ["python_workers"], "vars": {"V": "one"}}\n' > "$W/dev/wrangler.json"
    printf 'from workers import Response, WorkerEntrypoint\nclass Default(WorkerEntrypoint):\n    async def fetch(self, request):\n        if request.url.endswith("/boom"):\n            raise ValueError("boom")\n        return Response("v1 " + self.env.V)\n    async def scheduled(self, controller, env, ctx):\n        print("scheduled ran", controller.cron)\n' > "$W/dev/worker.py"
    env -C "$W/dev" "$ALM" dev --port "$DP" > "$T/dev.out" 2> "$T/dev.err" &
    DEV_PID=$!
    wait_for() { for _ in $(seq 1 120); do grep -q "$1" "$2" 2> /dev/null && return 0; sleep 0.25; done; return 1; }
    if wait_for 'ready on' "$T/dev.out"; then
        grep -q "ready on http://127.0.0.1:$DP" "$T/dev.out" && ok "dev: listening on 127.0.0.1:--port" || bad "dev: ready line" "$(cat "$T/dev.out")"
        [ "$(curl -s "http://127.0.0.1:$DP/a")" = "v1 one" ] && ok "dev: serves the worker" || bad "dev: serve" "$(cat "$T/dev.err")"
        wait_for 'GET /a 200 OK' "$T/dev.out" && ok "dev: one access line per request" || bad "dev: access line" "$(cat "$T/dev.out")"
        R=$(curl -s -w ' %{http_code}' "http://127.0.0.1:$DP/boom")
        case "$R" in *"ValueError: boom"*" 500") ok "dev: a handler that raises answers 500 with the traceback" ;; *) bad "dev: raise" "$R" ;; esac
        [ "$(curl -s "http://127.0.0.1:$DP/__scheduled?cron=*/5+*+*+*+*")" = "Ran scheduled event" ] && wait_for 'scheduled ran \*/5' "$T/dev.err" \
            && ok "dev: GET /__scheduled?cron= runs scheduled()" || bad "dev: scheduled" "$(cat "$T/dev.err")"
        sed -i 's/v1 /v2 /' "$W/dev/worker.py"
        wait_for 'reloaded after a change to .*worker.py' "$T/dev.out" && [ "$(curl -s "http://127.0.0.1:$DP/a")" = "v2 one" ] \
            && ok "dev: reloads when the worker changes" || bad "dev: reload" "$(cat "$T/dev.out")"
        printf '{"main": "worker.py", "compatibility_date": "2025-08-13", "compatibility_flags": ["python_workers"], "vars": {"V": "two"}}\n' > "$W/dev/wrangler.json"
        wait_for 'resolving again' "$T/dev.out" && sleep 1 && wait_for 'ready on.*\n*' "$T/dev.out"
        for _ in $(seq 1 60); do [ "$(grep -c 'ready on' "$T/dev.out")" -ge 2 ] && break; sleep 0.25; done
        R=$(curl -s -w ' %{http_code}' "http://127.0.0.1:$DP/a")
        [ "$R" = "TypeError: Method on_fetch does not exist 500" ] \
            && ok "dev: a config change resolves again (2025-08-13: the platform's 500)" || bad "dev: re-resolve" "$R $(cat "$T/dev.out")"
    else
        bad "dev: not ready" "$(cat "$T/dev.out" "$T/dev.err")"
    fi
    kill -INT "$DEV_PID" 2> /dev/null
    wait "$DEV_PID"
    DRC=$?
    [ "$DRC" = 0 ] && ok "dev: Ctrl-C stops it (exit 0)" || bad "dev: exit $DRC after SIGINT"

    printf 'from workers import WorkerEntrypoint\nclass Default(WorkerEntrypoint):\n    async def scheduled(self, controller, env, ctx):\n        print("cron", controller.cron)\n' > "$W/one/cron.py"
    run "$ALM" run "$W/one/cron.py" --date 2025-10-01 --flag python_workers --scheduled '*/5 * * * *'
    expect "--scheduled: Default.scheduled(controller, env, ctx)" 0 'scheduled event handled' 'cron \*/5'

    mkdir -p "$T/boom"
    printf 'def on_fetch(request, env):\n    return 1 / 0\n' > "$T/boom/worker.py"
    run "$ALM" run "$T/boom/worker.py" --date 2025-01-01
    expect "a worker that raises: traceback and exit 5" 5 '' 'ZeroDivisionError'

    # A second worker on the same runtime reuses the cached files.
    mkdir -p "$T/second"
    printf 'from js import Response\n\nasync def on_fetch(request, env):\n    return Response.new("second " + request.method)\n' > "$T/second/worker.py"
    run "$ALM" --json run "$T/second/worker.py" --date 2025-01-01 --request 'PUT /'
    expect "second worker runs" 0 '"body": "second PUT"'
    [ "$(jq_ 'd["fetch"]["downloaded"]')" = 0 ] && ok "second worker: nothing downloaded" || bad "second worker downloaded files" "$OUT"
    L2=$(jq_ 'd["layout"]')
    SAME=$(find "$T/cache/blobs/sha256" -samefile "$L2/pyodide.asm.wasm" | wc -l)
    LINKS=$(stat -c %h "$L2/pyodide.asm.wasm")
    [ "$SAME" = 1 ] && [ "$LINKS" -ge 3 ] && ok "second worker: runtime files are hard links into the cache, shared ($LINKS links)" \
        || bad "second worker: pyodide.asm.wasm is not a shared link ($SAME blobs, $LINKS links)"

    # A package from a pure-Python wheel: built here, uploaded, added to a new package
    # set of pyodide-0.26.4, selected by a new opt-in bundle flag.
    python3 - "$T" <<'EOF'
import base64, hashlib, sys, zipfile
t = sys.argv[1]
name, ver = "almanac_demo", "1.0.0"
files = {
    f"{name}/__init__.py": 'def greet(who):\n    return f"demo says hello to {who}"\n',
    f"{name}-{ver}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: almanac-demo\nVersion: {ver}\n",
    f"{name}-{ver}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: almanac-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    f"{name}-{ver}.dist-info/top_level.txt": f"{name}\n",
}
record = []
for p, text in files.items():
    d = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
    record.append(f"{p},sha256={d},{len(text.encode())}")
record.append(f"{name}-{ver}.dist-info/RECORD,,")
files[f"{name}-{ver}.dist-info/RECORD"] = "\n".join(record) + "\n"
with zipfile.ZipFile(f"{t}/{name}-{ver}-py3-none-any.whl", "w") as z:
    for p, text in files.items():
        z.writestr(p, text)
EOF
    WHL=$T/almanac_demo-1.0.0-py3-none-any.whl
    run admin "$ALM" upload "$WHL"
    expect "upload the wheel" 0 'uploaded'
    WHL_SHA=$(sha256sum "$WHL" | cut -c1-64)
    curl -fs "$ALMANAC_SERVER/v1/package-sets/pyodide-0.26.4/2024-11-15/pyodide-lock.json" > "$T/base-lock.json"
    python3 - "$T/base-lock.json" "$WHL_SHA" > "$T/demo-lock.json" <<'EOF'
import json, sys
lock = json.load(open(sys.argv[1]))
for p in lock["packages"].values():
    p["file_name"] = p["file_name"].rsplit("/", 1)[-1]
lock["packages"]["almanac-demo"] = {
    "name": "almanac-demo", "version": "1.0.0",
    "file_name": "almanac_demo-1.0.0-py3-none-any.whl", "install_dir": "site",
    "sha256": sys.argv[2], "package_type": "package", "imports": ["almanac_demo"],
    "depends": [], "shared_library": False, "unvendored_tests": False,
}
print(json.dumps(lock))
EOF
    SET=pyodide-0.26.4/2026-11-20
    code=$(curl -s -o "$T/put.out" -w '%{http_code}' -X PUT -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' --data-binary @"$T/demo-lock.json" "$ALMANAC_SERVER/v1/package-sets/$SET")
    case $code in 20?) ok "a package set with the wheel" ;; *) bad "PUT package set: $code" "$(cat "$T/put.out")" ;; esac
    run admin "$ALM" publish package-set "$SET"
    expect "publish package-set" 0 'published'
    code=$(curl -s -o "$T/put.out" -w '%{http_code}' -X PUT -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' \
        --data "{\"description\":\"demo wheel bundle\",\"bundle\":{\"runtime\":\"pyodide-0.26.4\",\"package_set\":\"$SET\",\"order\":10}}" \
        "$ALMANAC_SERVER/v1/flags/python_demo_wheel")
    case $code in 20?) ok "a bundle flag for the new set" ;; *) bad "PUT flag: $code" "$(cat "$T/put.out")" ;; esac
    run admin "$ALM" publish flag python_demo_wheel
    expect "publish flag" 0 'published'
    mkdir -p "$T/demo"
    printf 'import almanac_demo\nfrom js import Response\n\nasync def on_fetch(request, env):\n    return Response.new(almanac_demo.greet(env.WHO))\n' > "$T/demo/worker.py"
    printf 'almanac-demo==1.0.0\n' > "$T/demo/requirements.txt"
    run "$ALM" run "$T/demo/worker.py" --date 2025-01-01 --flag python_workers --flag python_demo_wheel \
        -r "$T/demo/requirements.txt" --var WHO=almanac --request 'GET /'
    expect "a worker importing the uploaded wheel" 0 'demo says hello to almanac'

    # Snapshots (Pyodide 0.28.3): the first run makes one, the next starts from it.
    run "$ALM" run examples/hello-2025/wrangler.toml --snapshot --timings
    expect "run --snapshot: first run makes the snapshot" 0 'Hello world!' 'snapshot .*\(made\)'
    run "$ALM" run examples/hello-2025/wrangler.toml --snapshot --timings
    expect "run --snapshot: second run boots from it" 0 'Hello world!' 'boot .*\(from snapshot\)'
    # A snapshot that no longer loads is remade once, saying so (executor/run.c).
    for f in "$T"/cache/snapshots/*.snap; do printf 'not a snapshot' > "$f"; done
    run "$ALM" run examples/hello-2025/wrangler.toml --snapshot --timings
    expect "run --snapshot: a broken snapshot is remade once" 0 'Hello world!' \
        'snapshot .* is stale \(.*\); making a new one'
    check "run --snapshot: ... and the remade one is saved" "grep -Eq 'snapshot .*\(made\)' '$T/err'" "$ERR"
    # The key follows what the host copies (executor/snapkey.c): a new sibling package
    # gets a snapshot file of its own instead of a stale one.
    cp -R examples/hello-2025 "$T/snapw"
    run "$ALM" run "$T/snapw/wrangler.toml" --snapshot
    expect "run --snapshot: a copy of the project (same files, same key)" 0 'Hello world!'
    n_snaps=$(ls "$T"/cache/snapshots/*.snap | wc -l)
    mkdir -p "$T/snapw/helpers" && printf 'X = 1\n' > "$T/snapw/helpers/__init__.py"
    run "$ALM" run "$T/snapw/wrangler.toml" --snapshot --timings
    expect "run --snapshot: a new sibling package makes a new snapshot" 0 'Hello world!' \
        'snapshot .*\(made\)'
    check "run --snapshot: ... under a new key, not remade as stale" \
        "! grep -q 'is stale' '$T/err' && [ \$(ls '$T'/cache/snapshots/*.snap | wc -l) -eq $((n_snaps + 1)) ]" "$ERR"
fi

# ---- trust: a changed key is refused ---------------------------------------------
KEY_ID=$(curl -fs "$ALMANAC_SERVER/v1/keys" | python3 -c 'import json,sys; print([k["id"] for k in json.load(sys.stdin)["keys"] if k["current"]][0])')
curl -fs "$ALMANAC_SERVER/v1/keys/$KEY_ID.pub" > "$T/server.pub"
run "$ALM" --key "$T/server.pub" resolve --date 2025-01-02 --flag python_workers
expect "--key FILE with the server's key" 0 'pyodide-0\.26\.4'
if command -v minisign > /dev/null; then
    minisign -G -W -p "$T/other.pub" -s "$T/other.key" > /dev/null 2>&1
    run "$ALM" --key "$T/other.pub" resolve --date 2025-01-02 --flag python_workers
    expect "--key FILE with another key: refused (exit 4)" 4 '' 'signed by key'
fi
if "$SRV" key rotate --data "$DATA" > "$T/rotate.out" 2>&1; then
    run "$ALM" resolve --date 2025-01-03 --flag python_workers
    expect "after a key rotation the CLI follows the statement signed by the pinned key" 0 \
        'pyodide-0\.26\.4' 'following key rotation'
    run "$ALM" trust forget
    expect "trust forget" 0 'removed [0-9]+ pinned keys?'
    run "$ALM" resolve --date 2025-01-03 --flag python_workers
    expect "after forgetting, the new key is pinned on first use" 0 'pyodide-0\.26\.4' 'first use'
    run "$ALM" lock show "$LOCK_ID"
    expect "old locks verify (current and retired keys pinned)" 0 "$LOCK_ID"
else
    bad "almanacd key rotate is not available" "$(cat "$T/rotate.out")"
fi

summary
