#!/usr/bin/env bash
# tests/cli/daily.sh [BUILD_DIR]: the CLI as a daily tool (issue 15) against a real
# almanacd: almanac.lock (lock, --locked, --frozen, --offline, re-locking, a
# tampered file), run with the server stopped, upgrade --write on TOML and JSONC
# keeping comments, check exit codes on both sides of an end of support, init,
# --json problem documents checked against openapi.yaml, help and did-you-mean,
# colour in a pty (script(1)) and not, table width, completions loaded in bash,
# cache dir/list/prune/clean, eol apply's confirmation, and `make install` into a
# temporary prefix run from there (with systemd-analyze verify on the unit).
#
# Environment: ALMANACD (default BUILD_DIR/almanacd); ALMANAC_SLOW_TESTS=0 skips
# the checks that boot Pyodide and `make install`.
# Prints one line per check and "N passed, M failed"; exits 1 when a check failed.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
B=$(cd "${1:-build}" 2>/dev/null && pwd) || { echo "daily.sh: no build directory '${1:-build}'" >&2; exit 2; }
ALM=$B/almanac
SRV=${ALMANACD:-$B/almanacd}
SLOW=${ALMANAC_SLOW_TESTS:-1}
for f in "$ALM" "$SRV"; do
    [ -x "$f" ] || { echo "daily.sh: $f is missing (make)" >&2; exit 2; }
done

T=$(mktemp -d "${TMPDIR:-/tmp}/almanac-daily-test.XXXXXX")
DATA=$T/data
. tests/cli/lib.sh
# Nothing here reads a terminal: prompts see end of input.
RUN_STDIN=/dev/null
problem() {
    cp "$T/out" "$T/problem.$1.json"
    if node tests/cli/problem-check.mjs "$T/problem.$1.json" > "$T/pc" 2>&1; then
        ok "--json error is a Problem: $1"
    else
        bad "--json error is a Problem: $1" "$(cat "$T/pc")"
    fi
}

PORT=$(free_port)
export ALMANAC_TODAY=2026-11-25
export ALMANAC_ZSTD_LEVEL=${ALMANAC_ZSTD_LEVEL:-3}
"$SRV" seed --data "$DATA" > "$T/seed.log" 2>&1 || { cat "$T/seed.log"; echo "daily.sh: seed failed" >&2; exit 2; }
TOKEN=$("$SRV" token create --data "$DATA" 2>/dev/null)
start_server
if [ ! -d tests/api/node_modules ]; then
    (cd tests/api && npm ci --no-audit --no-fund --loglevel=error) >&2 || true
fi

export XDG_CONFIG_HOME=$T/config ALMANAC_CACHE=$T/cache ALMANAC_SERVER=http://127.0.0.1:$PORT
export HOME=$T/home
mkdir -p "$HOME"
unset ALMANAC_TOKEN ALMANAC_KEY NO_COLOR
echo "almanac daily-tool tests (server on port $PORT, work dir $T)"

# ---- almanac.lock ---------------------------------------------------------------
P=$T/proj
mkdir -p "$P"
cp examples/hello/worker.py "$P/"
cat > "$P/wrangler.toml" <<'TOML'
# the project's config
name = "hello"
main = "worker.py"
compatibility_date = "2025-01-01"   # pinned on purpose
compatibility_flags = ["python_workers"]
TOML
run "$ALM" lock "$P"
expect "lock DIR writes almanac.lock and prints the lock id" 0 '^sha256:[0-9a-f]{64}$' 'wrote .*almanac\.lock'
LOCK1=$OUT
check "almanac.lock holds lock_id, signature, inputs and the lock" \
    "python3 -c \"import json; d=json.load(open('$P/almanac.lock')); assert d['lock_id']=='$LOCK1'; assert d['signature'].startswith('untrusted comment:'); assert d['inputs']['compatibility_date']=='2025-01-01'; assert d['lock']['runtime']['id']=='pyodide-0.26.4'\""
curl -fs "$ALMANAC_SERVER/v1/locks/$LOCK1" > "$T/server.lock"
check "almanac.lock holds the server's signed bytes verbatim" \
    "python3 -c \"import sys; t=open('$P/almanac.lock','rb').read(); b=open('$T/server.lock','rb').read(); sys.exit(0 if b in t else 1)\""
check "almanac.lock has a summary to review" \
    "python3 -c \"import json; s=json.load(open('$P/almanac.lock'))['summary']; assert s['runtime']=='pyodide-0.26.4' and s['python']=='3.12.1'\""
run "$ALM" lock show "$LOCK1"
expect "lock show ID keeps its meaning" 0 "^lock +$LOCK1"
run "$ALM" resolve "$P/wrangler.toml"
expect "resolve uses almanac.lock and says so on stderr" 0 "^lock +$LOCK1" 'using .*almanac\.lock'
check "the note is not on stdout" "! grep -q 'using ' '$T/out'"
cp "$P/almanac.lock" "$T/lock.saved"
run "$ALM" lock --locked "$P"
expect "lock --locked: up to date, exit 0" 0 "$LOCK1"
check "lock --locked writes nothing" "cmp -s '$P/almanac.lock' '$T/lock.saved'"

sed -i 's/2025-01-01/2025-06-01/' "$P/wrangler.toml"
run "$ALM" resolve --locked "$P/wrangler.toml"
expect "--locked: a changed config fails with exit 1 and what differs" 1 '' 'compatibility_date: 2025-01-01 -> 2025-06-01'
check "--locked leaves the lock file alone" "cmp -s '$P/almanac.lock' '$T/lock.saved'"
run "$ALM" resolve --frozen "$P/wrangler.toml"
expect "--frozen: uses the file's lock despite the change, and says so" 0 "^lock +$LOCK1" 'without asking the server'
run "$ALM" resolve "$P/wrangler.toml"
expect "default: a changed config is re-locked and said so on stderr" 0 'date +2025-06-01' 're-locked .*almanac\.lock'
check "the lock file now pins the new lock" "! cmp -s '$P/almanac.lock' '$T/lock.saved' && grep -q '2025-06-01' '$P/almanac.lock'"
LOCK2=$(python3 -c "import json; print(json.load(open('$P/almanac.lock'))['lock_id'])")
run "$ALM" resolve --locked --json "$P/wrangler.toml"
expect "--locked after re-locking: exit 0" 0 "\"lock_id\": \"$LOCK2\""

# A hand-edited lock is refused: its bytes no longer hash to its id.
python3 - "$P/almanac.lock" "$T/tampered.lock" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["lock"]["runtime"]["python"] = "3.99.0"
json.dump(d, open(sys.argv[2], "w"), indent=2)
PY
mkdir -p "$T/tamper" && cp "$P/wrangler.toml" "$P/worker.py" "$T/tamper/" && cp "$T/tampered.lock" "$T/tamper/almanac.lock"
run "$ALM" resolve --frozen "$T/tamper/wrangler.toml"
expect "a tampered almanac.lock is refused (exit 4)" 4 '' 'lock was changed'
python3 - "$P/almanac.lock" "$T/tamper/almanac.lock" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["summary"]["python"] = "3.99.0"
json.dump(d, open(sys.argv[2], "w"), indent=2)
PY
run "$ALM" resolve --frozen "$T/tamper/wrangler.toml"
expect "an almanac.lock whose summary was edited is refused (exit 4)" 4 '' 'summary does not match'
python3 - "$P/almanac.lock" "$T/tamper/almanac.lock" <<'PY'
import json, sys
json.dump(json.load(open(sys.argv[1])), open(sys.argv[2], "w"), indent=8, sort_keys=True)
PY
run "$ALM" resolve --frozen "$T/tamper/wrangler.toml"
expect "a reformatted (not edited) almanac.lock still verifies" 0 '^lock '
echo '{"almanac_lock": 1}' > "$T/tamper/almanac.lock"
run "$ALM" resolve --frozen "$T/tamper/wrangler.toml"
expect "a malformed almanac.lock is a local error (exit 1)" 1 '' 'is not an almanac\.lock'
run "$ALM" resolve --frozen --date 2025-01-01 --flag python_workers
expect "--frozen without a config is a usage error" 1 '' 'needs a config'
mkdir -p "$T/nolock" && cp "$P/wrangler.toml" "$P/worker.py" "$T/nolock/"
run "$ALM" resolve --locked "$T/nolock/wrangler.toml"
expect "--locked without almanac.lock fails and says how to make one" 1 '' "almanac lock"
run "$ALM" resolve --locked --frozen "$P/wrangler.toml"
expect "--locked and --frozen together are refused" 1 '' 'one of --locked'

# ---- --json errors are problem documents on stdout, same exit codes -------------
run "$ALM" --json resolve --date 2025-02-30 --flag python_workers
expect "--json: a 422 exits 2 with a problem on stdout" 2 '"type": "urn:almanac:problem:unprocessable"'
problem server-422
run "$ALM" --json frobnicate
expect "--json: an unknown command exits 1 with a problem" 1 '"status": 400'
problem usage
run "$ALM" --json --server http://127.0.0.1:1 flags
expect "--json: an unreachable server exits 3 with a problem" 3 '"type": "urn:almanac:problem:unavailable"'
problem network
run "$ALM" resolve --json --frozen "$T/tamper/wrangler.toml"
expect "--json after the command: a local error is a problem too" 1 '"detail": '
problem local

# ---- help, did-you-mean, version -------------------------------------------------
run "$ALM" help upgrade
expect "help upgrade lists every option with its meaning and default" 0 '--to today\|DATE +the new date \(default: today'
for o in to write date flag requirements allow-experimental config; do
    grep -q -- "--$o" "$T/out" || bad "help upgrade lacks --$o"
done
run "$ALM" run --help
expect "run --help documents the lock file options" 0 '--frozen +use the lock without asking the server'
for o in locked offline; do
    grep -q -- "--$o" "$T/out" || bad "run --help lacks --$o"
done
run "$ALM" check --help
expect "check --help gives the exit codes and defaults" 0 'default: 180'
run "$ALM" lcok
expect "did you mean: a misspelt command" 1 '' "did you mean 'lock'"
run "$ALM" run --requets 'GET /' x.py
expect "did you mean: a misspelt option" 1 '' "did you mean '--request'"
run "$ALM" --jsno health
expect "did you mean: a misspelt global option" 1 '' "did you mean '--json'"
run "$ALM" --version
expect "--version has build info" 0 '^almanac [0-9]+\.[0-9]+\.[0-9]+ \(commit [0-9a-f]+|unknown'
check "--version names the libraries" "grep -q 'libcurl' '$T/out' && grep -q 'libsodium' '$T/out'"

# ---- colour and width -----------------------------------------------------------
run "$ALM" runtimes
check "no colour when stdout is not a terminal" "! grep -q \$'\\033\\[' '$T/out'"
run "$ALM" --color always runtimes
check "--color always colours the table header" "grep -q \$'\\033\\[1m' '$T/out'"
run "$ALM" runtimes --color=never
check "--color=never after the command" "! grep -q \$'\\033\\[' '$T/out'"
run "$ALM" runtimes --color sometimes
expect "--color with another word is a usage error" 1 '' "--color 'sometimes'"
script -qec "$ALM runtimes" /dev/null > "$T/pty.out" 2>&1
check "colour on a terminal (pty)" "grep -q \$'\\033\\[1m' '$T/pty.out'" "$(head -3 "$T/pty.out")"
NO_COLOR=1 script -qec "$ALM runtimes" /dev/null > "$T/pty.out" 2>&1
check "NO_COLOR turns it off on a terminal" "! grep -q \$'\\033\\[' '$T/pty.out'"
script -qec "stty cols 60; $ALM flags" /dev/null > "$T/pty.out" 2>&1
W=$(tr -d '\r' < "$T/pty.out" | awk '{ if (length($0) > m) m = length($0) } END { print m }')
check "flags fits a 60-column terminal (widest line $W)" "[ '$W' -le 60 ]"
COLUMNS=100 run "$ALM" flags
W=$(awk '{ if (length($0) > m) m = length($0) } END { print m }' "$T/out")
check "flags fits COLUMNS=100 off a terminal (widest line $W)" "[ '$W' -le 100 ]"
COLUMNS=30 run "$ALM" flags
expect "a very narrow terminal gets cards" 0 '^FLAG: python_workers$'
run "$ALM" flags python_workers
expect "flags NAME shows one flag in full" 0 '^description +run Python workers'
run "$ALM" flags no_such_flag
expect "flags NAME: an unknown flag exits 2" 2 '' "no flag 'no_such_flag'"

# ---- completion -----------------------------------------------------------------
"$ALM" completion bash > "$T/compl.bash"
check "bash completion loads" "bash -c 'source $T/compl.bash && complete -p almanac' > /dev/null 2>&1"
R=$(bash -c "source $T/compl.bash; COMP_WORDS=(almanac upg); COMP_CWORD=1; _almanac; echo \${COMPREPLY[*]}")
check "bash completes a command ($R)" "[ '$R' = upgrade ]"
R=$(bash -c "source $T/compl.bash; COMP_WORDS=(almanac cache p); COMP_CWORD=2; _almanac; echo \${COMPREPLY[*]}")
check "bash completes a second word ($R)" "[ '$R' = prune ]"
R=$(bash -c "source $T/compl.bash; COMP_WORDS=(almanac check --fa); COMP_CWORD=2; _almanac; echo \${COMPREPLY[*]}")
check "bash completes an option ($R)" "[ '$R' = --fail-on ]"
"$ALM" completion zsh > "$T/compl.zsh" && grep -q '^#compdef almanac' "$T/compl.zsh" && ok "zsh completion" || bad "zsh completion"
"$ALM" completion fish > "$T/compl.fish" && grep -q 'complete -c almanac' "$T/compl.fish" && ok "fish completion" || bad "fish completion"
if command -v fish > /dev/null 2>&1; then
    fish -n "$T/compl.fish" && ok "fish completion parses" || bad "fish completion parses"
fi
run "$ALM" completion tcsh
expect "completion for another shell is a usage error" 1 '' "no completion for 'tcsh'"
run "$ALM" manpage
expect "manpage is roff" 0 '^\.TH ALMANAC 1'
check "the manual has every command's options" "grep -q 'fail\\\\-on' '$T/out' && grep -q 'older\\\\-than' '$T/out'"

# ---- upgrade --------------------------------------------------------------------
U=$T/up
mkdir -p "$U" && cp examples/hello/worker.py "$U/"
cat > "$U/wrangler.toml" <<'TOML'
# keep this comment
name = "up"   # and this one
main = "worker.py"
compatibility_date = "2024-04-01" # the date
compatibility_flags = ["python_workers"]

[vars]
compatibility_date = "a var, not the date"
TOML
cp "$U/wrangler.toml" "$T/up.orig"
run "$ALM" upgrade "$U" --to 2025-10-01
expect "upgrade diffs runtime and Python line" 0 'python line +3\.12 -> 3\.13' 'run with --write'
check "upgrade marks major version bumps" "grep -Eq '^  numpy +1\\.26\\.4 -> 2\\.[0-9.]+ +\\(major\\)' '$T/out'"
check "upgrade lists flags turned on" "grep -q '^flags on .*python_workers_20250116' '$T/out'"
check "upgrade without --write changes nothing" "cmp -s '$U/wrangler.toml' '$T/up.orig' && [ ! -e '$U/almanac.lock' ]"
run "$ALM" upgrade "$U" --to 2025-10-01 --write --json
expect "upgrade --write" 0 '"written": true' 'wrote compatibility_date = 2025-10-01'
diff "$T/up.orig" "$U/wrangler.toml" > "$T/up.diff"
check "--write changed only the date, comments and [vars] kept" \
    "[ \$(grep -c '^[<>]' '$T/up.diff') = 2 ] && grep -q '^> compatibility_date = \"2025-10-01\" # the date' '$T/up.diff'" "$(cat "$T/up.diff")"
check "--write wrote the lock file for the new date" "grep -q '\"compatibility_date\": \"2025-10-01\"' '$U/almanac.lock'"
run "$ALM" resolve --locked "$U/wrangler.toml"
expect "after upgrade --write, --locked passes" 0 'pyodide-0\.28\.3'
run "$ALM" upgrade "$U" --to 2025-02-30
expect "upgrade --to a bad date is a usage error" 1 '' "not 'today' or YYYY-MM-DD"
run "$ALM" upgrade "$U" --to today
expect "upgrade --to today uses the server's today" 0 '^upgrade 2025-10-01 -> 2026-11-25'
# TOML's other spellings of the date: a bare local date, a quoted key, '...'.
for spelling in 'compatibility_date = 2024-04-01' '"compatibility_date" = "2024-04-01"' "compatibility_date = '2024-04-01'"; do
    mkdir -p "$T/sp" && cp examples/hello/worker.py "$T/sp/"
    printf 'name = "sp"\nmain = "worker.py"\n%s  # kept\ncompatibility_flags = ["python_workers"]\n' "$spelling" > "$T/sp/wrangler.toml"
    if "$ALM" resolve "$T/sp/wrangler.toml" > /dev/null 2>&1; then
        run "$ALM" upgrade "$T/sp" --to 2025-10-01 --write
        check "upgrade --write keeps the spelling: $spelling" \
            "[ \$(grep -c 2025-10-01 '$T/sp/wrangler.toml') = 1 ] && ! grep -q 2024-04-01 '$T/sp/wrangler.toml' && grep -q '  # kept' '$T/sp/wrangler.toml'" "$(cat "$T/sp/wrangler.toml")"
    else
        echo "  skip  this build does not read: $spelling"
    fi
    rm -rf "$T/sp"
done

# JSONC: comments and trailing commas kept (when this build reads wrangler.jsonc).
J=$T/jsonc
mkdir -p "$J" && cp examples/hello/worker.py "$J/"
cat > "$J/wrangler.jsonc" <<'JSONC'
{
  // the worker
  "name": "j",
  "main": "worker.py",
  /* the date the runtime follows */
  "compatibility_date": "2024-04-01", // keep me
  "compatibility_flags": ["python_workers",],
  "vars": { "compatibility_date": "not this" },
}
JSONC
cp "$J/wrangler.jsonc" "$T/j.orig"
if "$ALM" resolve -c "$J/wrangler.jsonc" > /dev/null 2>&1; then
    run "$ALM" upgrade "$J/wrangler.jsonc" --to 2025-10-01 --write
    expect "upgrade --write on wrangler.jsonc" 0 'python line +3\.12 -> 3\.13'
    diff "$T/j.orig" "$J/wrangler.jsonc" > "$T/j.diff"
    check "jsonc: only the top-level date changed, comments kept" \
        "[ \$(grep -c '^[<>]' '$T/j.diff') = 2 ] && grep -q '\"compatibility_date\": \"2025-10-01\", // keep me' '$J/wrangler.jsonc' && grep -q 'not this' '$J/wrangler.jsonc'" "$(cat "$T/j.diff")"
else
    echo "  skip  upgrade on wrangler.jsonc: this build does not read JSONC configs"
fi

# ---- check ----------------------------------------------------------------------
C=$T/chk
mkdir -p "$C" && cp examples/hello/worker.py examples/hello/wrangler.toml "$C/"
run "$ALM" check "$C"
expect "check: supported, exit 0, with the end-of-support date and the move" 0 '^ok: .*end of support 2028-10-02' ''
check "check names the move that will happen" "grep -q '^move after end of support: .*pyodide-0\\.26\\.4 (Python 3\\.12) -> ' '$T/out'"
run "$ALM" check "$C" --as-of 2028-06-01
expect "check: inside the window, without --fail-on ending: exit 0 (warn)" 0 '^warn: .*ending'
run "$ALM" check "$C" --as-of 2028-06-01 --fail-on ending
expect "check --fail-on ending inside the window: exit 6" 6 '^fail: '
run "$ALM" check "$C" --as-of 2028-06-01 --fail-on ending --warn-before 30
expect "check --warn-before 30: 123 days out is not ending yet" 0 '^ok: '
run "$ALM" check "$C" --as-of 2028-10-01
expect "check the day before end of support: exit 0" 0 '^warn: .*ending, end of support 2028-10-02 \(in 1 days\)'
run "$ALM" check "$C" --as-of 2028-10-02
expect "check on the end-of-support day: ended, exit 6, with the move made" 6 '^fail: .*ended' ''
check "check after the end names the move made" "grep -q '^moved at end of support: pyodide-0\.26\.4 (Python 3\.12) -> pyodide-0\.28\.3' '$T/out'"
run "$ALM" check "$C" --as-of 2028-10-03 --json
expect "check --json" 6 '"result": "fail"'
check "check --json has the date and the move" "[ \"\$(jq_ 'd[\"end_of_support\"]')\" = 2028-10-02 ] && [ \"\$(jq_ 'd[\"move\"][\"to\"][\"python_line\"]')\" != None ]"
run "$ALM" check "$C" --fail-on soon
expect "check --fail-on with another word: exit 1" 1 '' "--fail-on 'soon'"
run "$ALM" check "$T/nowhere"
expect "check: no config: exit 1" 1 '' 'cannot open'

# ---- init -----------------------------------------------------------------------
run "$ALM" init "$T/new"
expect "init DIR" 0 'created ' "the server's today"
check "init: today's date from the server, python_workers and disable_python_external_sdk" \
    "grep -q '^compatibility_date = \"2026-11-25\"' '$T/new/wrangler.toml' && grep -q 'python_workers' '$T/new/wrangler.toml' && grep -q 'disable_python_external_sdk' '$T/new/wrangler.toml'"
check "init: a hello worker in today's API" "grep -q '^from workers import' '$T/new/src/entry.py' && grep -q 'class Default(WorkerEntrypoint)' '$T/new/src/entry.py'"
check "init: .gitignore keeps state and caches out" "grep -q '^\\.almanac/' '$T/new/.gitignore'"
run "$ALM" init "$T/new"
expect "init over a project changes nothing (exit 1)" 1 '' 'already has a wrangler.toml'
run env -u ALMANAC_TODAY "$ALM" --server http://127.0.0.1:1 init "$T/new-offline"
expect "init with no server uses the local UTC date" 0 '' 'local UTC date'
TODAY_UTC=$(date -u +%F)
check "init offline: today's UTC date" "grep -q '^compatibility_date = \"$TODAY_UTC\"' '$T/new-offline/wrangler.toml'" "$(cat "$T/new-offline/wrangler.toml")"

# ---- deploy with almanac.lock ----------------------------------------------------
run env ALMANAC_TOKEN="$TOKEN" "$ALM" workers deploy wl "$P/wrangler.toml"
expect "deploy uses almanac.lock and says so" 0 "lock $LOCK2" 'deploying with almanac\.lock'
sed -i 's/2025-06-01/2025-07-01/' "$P/wrangler.toml"
run env ALMANAC_TOKEN="$TOKEN" "$ALM" workers deploy wl "$P/wrangler.toml" --locked
expect "deploy --locked refuses a config that no longer resolves to the lock" 1 '' 'out of date'
run env ALMANAC_TOKEN="$TOKEN" "$ALM" workers show wl --json
check "the refused deploy changed nothing" "grep -q '$LOCK2' '$T/out'"
run env ALMANAC_TOKEN="$TOKEN" "$ALM" workers deploy wl "$P/wrangler.toml" --offline
expect "deploy --offline is refused" 1 '' 'needs the server'
sed -i 's/2025-07-01/2025-06-01/' "$P/wrangler.toml"

# ---- eol apply's safety rail ----------------------------------------------------
ALMANAC_TOKEN=$TOKEN "$ALM" workers deploy w1 examples/hello/wrangler.toml > /dev/null 2>&1
run env ALMANAC_TOKEN="$TOKEN" "$ALM" eol apply --as-of 2028-10-03
expect "eol apply with a future --as-of off a terminal needs --yes (exit 1)" 1 '' 'give --yes'
run env ALMANAC_TOKEN="$TOKEN" "$ALM" workers show w1
check "nothing was applied" "grep -q 'pyodide-0.26.4' '$T/out'"
echo n | script -qec "env ALMANAC_TOKEN=$TOKEN $ALM eol apply --as-of 2028-10-03" /dev/null > "$T/pty.out" 2>&1
check "on a terminal it asks, and 'n' applies nothing" "grep -q 'Apply? \\[y/N\\]' '$T/pty.out' && grep -q 'not applied' '$T/pty.out'" "$(cat "$T/pty.out")"
run env ALMANAC_TOKEN="$TOKEN" "$ALM" eol apply --as-of 2028-10-03 --yes
expect "eol apply --yes says what was moved" 0 '^moved:$' ''
check "apply lists the moved worker" "grep -Eq '^w1 +pyodide-0\.26\.4' '$T/out'"
check "apply output does not say 'to move'" "! grep -q 'to move' '$T/out'"
echo y | script -qec "env ALMANAC_TOKEN=$TOKEN $ALM eol apply --as-of 2028-10-04 --summary" /dev/null > "$T/pty.out" 2>&1
check "on a terminal 'y' applies" "grep -q 'Apply? \\[y/N\\]' '$T/pty.out' && grep -q 'applied as of 2028-10-04' '$T/pty.out'" "$(cat "$T/pty.out")"
run env ALMANAC_TOKEN="$TOKEN" "$ALM" eol apply --as-of 2026-11-25
expect "eol apply for today needs no --yes" 0 'applied as of 2026-11-25'

# ---- cache ----------------------------------------------------------------------
run "$ALM" cache dir
expect "cache dir" 0 "^$T/cache\$"
run "$ALM" fetch "$P/wrangler.toml"
run "$ALM" fetch --date 2025-10-01 --flag python_workers
expect "fetch a second lock's files" 0
run "$ALM" cache list
expect "cache list shows parts with sizes" 0 '^blobs +[0-9]+ +[0-9.]+ (B|KB|MB)'
mkdir -p "$T/cache/snapshots"
echo old > "$T/cache/snapshots/old.snap" && touch -d '2020-01-01' "$T/cache/snapshots/old.snap"
N_BLOBS=$(find "$T/cache/blobs/sha256" -type f ! -name '*.*' | wc -l)
# Age everything but one blob no lock file needs (a recent run read it): only what
# the lock file needs and that one survive.
find "$T/cache/blobs" -type f -exec touch -a -m -d '2020-01-01' {} +
RECENT=$(python3 -c "
import json, glob, os
keep = json.load(open('$P/almanac.lock'))['lock']
need = {a['sha256'] for a in keep.get('artifacts', []) + keep.get('packages', []) if 'sha256' in a}
for p in sorted(glob.glob('$T/cache/blobs/sha256/*/*')):
    b = os.path.basename(p)
    if len(b) == 64 and b not in need:
        print(p); break")
[ -n "$RECENT" ] && touch -a "$RECENT"
run "$ALM" cache prune "$P" --older-than 7
expect "cache prune keeps what almanac.lock needs" 0 'removed .* 1 snapshots'
check "prune kept a blob used within --older-than" "[ -n '$RECENT' ] && [ -e '$RECENT' ]"
KEEP=$(python3 -c "
import json
d = json.load(open('$P/almanac.lock'))['lock']
print(len(d.get('artifacts', [])) + len(d.get('packages', [])))")
LEFT=$(find "$T/cache/blobs/sha256" -type f ! -name '*.*' | wc -l)
check "prune left the lock's $KEEP files and the recent one, of $N_BLOBS ($LEFT left)" "[ '$LEFT' -ge 2 ] && [ '$LEFT' -le \$(($KEEP + 1)) ] && [ '$N_BLOBS' -gt '$LEFT' ]"
run "$ALM" resolve --offline "$P/wrangler.toml"
expect "--offline still works after prune" 0 "^lock "
run "$ALM" cache prune "$T/empty-dir-that-does-not-exist"
expect "prune of a missing directory is an error" 1 '' 'cannot read'
run "$ALM" cache prune --older-than x
expect "prune --older-than x is a usage error" 1 '' 'not a number of days'
KEYS_BEFORE=$(cat "$T/config/almanac/known_keys")
run "$ALM" cache clean
expect "cache clean" 0 '^removed [0-9]+ files'
check "clean emptied blobs" "[ ! -e '$T/cache/blobs/sha256' ] || [ -z \"\$(find '$T/cache/blobs/sha256' -type f)\" ]"
check "clean never touches trust state" "[ \"\$(cat '$T/config/almanac/known_keys')\" = \"\$KEYS_BEFORE\" ]"
run "$ALM" resolve --offline "$P/wrangler.toml"
expect "--offline with a cold cache fails (exit 3) and says what is missing" 3 '' 'not in the cache'

# ---- the executor with the server stopped ----------------------------------------
if [ "$SLOW" != 0 ]; then
    run "$ALM" run "$P/wrangler.toml" --body-only
    expect "run with almanac.lock (warm the cache)" 0 'Hello world!' 'using .*almanac\.lock'
    if "$ALM" flags disable_python_external_sdk > /dev/null 2>&1 && [ -d executor/python/workers ]; then
        run "$ALM" run "$T/new/wrangler.toml" --body-only
        expect "the project init made runs at once" 0 'Hello world!'
    else
        echo "  skip  running the init project: this build has no 'workers' module or flag"
    fi
    stop_server
    run "$ALM" run "$P/wrangler.toml" --frozen --body-only
    expect "run --frozen with the server stopped" 0 'Hello world!' 'without asking the server'
    run "$ALM" run "$P/wrangler.toml" --offline --body-only
    expect "run --offline with the server stopped" 0 'Hello world!'
    run "$ALM" run "$P/wrangler.toml" --body-only
    expect "run (default, config unchanged) with the server stopped" 0 'Hello world!'
    run "$ALM" run "$P/wrangler.toml" --locked --body-only
    expect "run --locked needs the server (exit 3)" 3 '' 'cannot reach'
    start_server

    # make install into a temporary prefix, then run from there.
    # -o: install the binaries under test as they are, never rebuild them here.
    run make -s -o "$B/almanac" -o "$B/almanacd" install PREFIX="$T/prefix" B="$B"
    expect "make install PREFIX=..." 0
    for f in bin/almanac bin/almanacd share/almanac/executor/host.mjs share/man/man1/almanac.1 \
        share/man/man8/almanacd.8 share/bash-completion/completions/almanac \
        lib/systemd/system/almanacd.service lib/sysusers.d/almanac.conf; do
        [ -e "$T/prefix/$f" ] || bad "install: $f is missing"
    done
    run env -u ALMANAC_EXECUTOR_DIR "$T/prefix/bin/almanac" run "$P/wrangler.toml" --body-only
    expect "the installed almanac finds its executor and runs" 0 'Hello world!'
    check "installed bash completion loads" "bash -c 'source $T/prefix/share/bash-completion/completions/almanac && complete -p almanac' > /dev/null 2>&1"
    if command -v man > /dev/null 2>&1; then
        check "installed man page renders" "MANPATH=$T/prefix/share/man man -P cat almanac 2>/dev/null | grep -q 'almanac.lock'"
    fi
    U_=$T/prefix/lib/systemd/system/almanacd.service
    check "unit: hardening, dedicated user, state directory, init before serve" \
        "grep -q '^User=almanac' $U_ && grep -q '^StateDirectory=almanac' $U_ && grep -q '^ProtectSystem=strict' $U_ && grep -q '^NoNewPrivileges=yes' $U_ && grep -q '^ExecStartPre=$T/prefix/bin/almanacd init' $U_"
    if command -v systemd-analyze > /dev/null 2>&1; then
        run systemd-analyze verify --man=no "$U_"
        expect "systemd-analyze verify accepts the unit" 0
    else
        echo "  skip  systemd-analyze is not installed"
    fi
fi

summary
