#!/bin/sh
# tests/run.sh BUILD_DIR: one pass of every test suite against the binaries in
# BUILD_DIR (build by `make all unit` first):
#   unit      every Check binary in BUILD_DIR/tests/ (its "Checks: N, Failures: F,
#             Errors: E" line is counted; a crash or a non-zero exit is a failure)
#   layers    `make check-layers`: no include cycle, layers point down
#   client-link  scripts/check-client-link.sh: BUILD_DIR/almanac has no SQLite,
#             database or server symbols
#   api       tests/api/*.test.mjs with node's test runner against BUILD_DIR/almanacd
#   mirror    tests/mirror/*.test.mjs (the CLI against almanacd, fake mirrors, static trees,
#             almanacd mirror)
#   bindings  tests/bindings/*.test.mjs: the executor's local bindings (KV, D1, DO,
#             R2, assets, d1 execute) in Node, and from Python on the oldest and
#             newest Pyodide (those two boots skipped when ALMANAC_SLOW_TESTS=0)
#             (hostile.test.mjs sends the kept corpus in tests/hostile/)
#   hostile-flood  tests/hostile/resolves.mjs: RSS and database growth over
#             ALMANAC_FLOOD_COUNT (default 100,000) anonymous resolves
#   executor  tests/executor/ (boots real Pyodide, about a minute), unless
#             ALMANAC_SLOW_TESTS=0
#   cli       tests/cli/run.sh BUILD_DIR (the CLI and executor end to end; it skips
#             its Pyodide boots itself when ALMANAC_SLOW_TESTS=0)
#   cli-daily tests/cli/daily.sh BUILD_DIR (lock files, upgrade, check, init, polish,
#             cache, make install; the same ALMANAC_SLOW_TESTS=0 rule)
#   ui        tests/ui/*.test.mjs: the dashboard in Debian's chromium (playwright-core)
#             against BUILD_DIR/almanacd and build/ui; skipped, saying why, only when
#             no browser is installed (screenshots: build/test-ui/screenshots/)
#   cli-bindings  tests/cli/bindings.sh BUILD_DIR (local bindings through `almanac run`
#             and `almanac d1 execute`; skips itself when ALMANAC_SLOW_TESTS=0)
#   crash     tests/crash/crash_loop.sh BUILD_DIR
#   eol-crash tests/crash/eol_crash.sh BUILD_DIR
# Prints a line per suite and a closing "N passed, M failed"; writes "suite passed
# failed" lines to $ALMANAC_COUNTS_FILE (default BUILD_DIR/test-counts) for
# tests/run-all.sh; exits 1 when anything failed. Logs go to BUILD_DIR/test-logs/.
# Sanitizer options (ASAN_OPTIONS, UBSAN_OPTIONS) pass through the environment.
set -u

if [ $# -lt 1 ]; then
    echo "usage: sh tests/run.sh BUILD_DIR" >&2
    exit 2
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
if ! B=$(cd "$1" 2>/dev/null && pwd); then
    echo "run.sh: no build directory '$1' (run make first)" >&2
    exit 2
fi
COUNTS=${ALMANAC_COUNTS_FILE:-$B/test-counts}
LOGS=$B/test-logs
mkdir -p "$LOGS"
: > "$COUNTS"

UNIT_TIMEOUT=${ALMANAC_UNIT_TIMEOUT:-600}
API_TIMEOUT=${ALMANAC_API_TIMEOUT:-1200}
SLOW_TIMEOUT=${ALMANAC_SLOW_TIMEOUT:-1800}
SAN_RE='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer'

# record SUITE PASSED FAILED
record() {
    echo "$1 $2 $3" >> "$COUNTS"
    printf '  %-28s %5d passed, %d failed\n' "$1" "$2" "$3"
}

# The last "# pass N" / "# fail N" / "# cancelled N" of a TAP file.
tap_count() {
    sed -n "s/^# $1 \\([0-9][0-9]*\\)\$/\\1/p" "$2" | tail -n 1
}

# run_node SUITE LOG TIMEOUT ARGS...: node's test runner, spec to the terminal and
# TAP to LOG.tap for the counts.
run_node() {
    suite=$1 log=$2 limit=$3
    shift 3
    rm -f "$log.tap" "$log.rc"
    {
        timeout -k 10 "$limit" node --test --test-reporter=spec --test-reporter-destination=stdout \
            --test-reporter=tap --test-reporter-destination="$log.tap" "$@" 2>&1
        echo $? > "$log.rc"
    } | tee "$log"
    rc=$(cat "$log.rc" 2>/dev/null || echo 1)
    p=$(tap_count pass "$log.tap" 2>/dev/null)
    f=$(tap_count fail "$log.tap" 2>/dev/null)
    c=$(tap_count cancelled "$log.tap" 2>/dev/null)
    p=${p:-0} f=${f:-0} c=${c:-0}
    f=$((f + c))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        [ "$rc" -eq 124 ] && echo "run.sh: $suite timed out after ${limit}s" >&2
        echo "run.sh: $suite: node exited $rc without a counted failure" >&2
        f=1
    fi
    record "$suite" "$p" "$f"
}

# run_script SUITE LOG TIMEOUT CMD...: a suite of its own. Its closing "N passed, M
# failed" line is counted when it prints one; otherwise its exit status is one check.
# A sanitizer report in its output is a failure.
run_script() {
    suite=$1 log=$2 limit=$3
    shift 3
    rm -f "$log.rc"
    {
        timeout -k 10 "$limit" "$@" 2>&1
        echo $? > "$log.rc"
    } | tee "$log"
    rc=$(cat "$log.rc" 2>/dev/null || echo 1)
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -n "$line" ]; then
        p=$(echo "$line" | sed 's/^\([0-9]*\) passed.*/\1/')
        f=$(echo "$line" | sed 's/^[0-9]* passed, \([0-9]*\) failed.*/\1/')
    elif [ "$rc" -eq 0 ]; then
        p=1 f=0
    else
        p=0 f=0
    fi
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        [ "$rc" -eq 124 ] && echo "run.sh: $suite timed out after ${limit}s" >&2
        echo "run.sh: $suite exited $rc (log: $log)" >&2
        f=1
    fi
    if grep -Eq "$SAN_RE" "$log" && [ "$f" -eq 0 ]; then
        echo "run.sh: $suite printed a sanitizer report (log: $log)" >&2
        f=1
    fi
    record "$suite" "$p" "$f"
}

echo "== unit tests ($B/tests)"
n_unit=0
for t in "$B"/tests/test_*; do
    [ -f "$t" ] && [ -x "$t" ] || continue
    n_unit=$((n_unit + 1))
    name=$(basename "$t")
    log=$LOGS/unit-$name.log
    timeout -k 10 "$UNIT_TIMEOUT" "$t" > "$log" 2>&1
    rc=$?
    line=$(grep -E 'Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$log" | tail -n 1)
    if [ -n "$line" ]; then
        n=$(echo "$line" | sed 's/.*Checks: \([0-9]*\).*/\1/')
        f=$(echo "$line" | sed 's/.*Failures: \([0-9]*\).*/\1/')
        e=$(echo "$line" | sed 's/.*Errors: \([0-9]*\).*/\1/')
        failed=$((f + e))
        passed=$((n - failed))
    else
        passed=0 failed=0
    fi
    if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
        failed=1
    fi
    if grep -Eq "$SAN_RE" "$log" && [ "$failed" -eq 0 ]; then
        failed=1
    fi
    if [ "$failed" -ne 0 ] || [ -z "$line" ]; then
        cat "$log"
        echo "run.sh: $name exited $rc"
    fi
    record "unit/$name" "$passed" "$failed"
done
if [ "$n_unit" -eq 0 ]; then
    echo "run.sh: no unit test binaries in $B/tests (make unit)" >&2
    record "unit" 0 1
fi

echo "== layers (include graph) and the client's link line"
run_script layers "$LOGS/layers.log" 60 make -s --no-print-directory check-layers
run_script client-link "$LOGS/client-link.log" 60 sh scripts/check-client-link.sh "$B/almanac"

echo "== API tests (tests/api against $B/almanacd)"
if [ ! -d tests/api/node_modules ]; then
    (cd tests/api && npm ci --no-audit --no-fund --loglevel=error) >&2 || true
fi
if [ ! -x "$B/almanacd" ]; then
    echo "run.sh: no $B/almanacd" >&2
    record "api" 0 1
else
    rm -f "$LOGS/api-coverage.txt"
    (cd tests/api && ALMANAC_BIN_DIR="$B" ALMANAC_API_COVERAGE="$LOGS/api-coverage.txt" \
        run_node api "$LOGS/api.log" "$API_TIMEOUT" ./*.test.mjs)
    # the subshell's record() wrote to $COUNTS already; coverage is informational
    (cd tests/api && node lib/coverage.mjs "$LOGS/api-coverage.txt") || true
fi

if [ -d tests/ui ] && ls tests/ui/*.test.mjs >/dev/null 2>&1; then
    echo "== dashboard in a browser (tests/ui)"
    if [ ! -d tests/ui/node_modules ]; then
        (cd tests/ui && npm ci --no-audit --no-fund --loglevel=error) >&2 || true
    fi
    if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
        echo "run.sh: ui: SKIPPED: no browser at ${CHROMIUM:-/usr/bin/chromium} (apt-get install chromium, or set CHROMIUM)"
        record ui-skipped 0 0
    else
        (cd tests/ui && ALMANAC_BIN_DIR="$B" run_node ui "$LOGS/ui.log" "$API_TIMEOUT" ./*.test.mjs)
    fi
fi

echo "== mirror tests (tests/mirror: signed catalog snapshot, CLI protections, static trees, almanacd mirror)"
if [ -x "$B/almanacd" ] && [ -x "$B/almanac" ]; then
    (cd tests/api && ALMANAC_BIN_DIR="$B" run_node mirror "$LOGS/mirror.log" "$API_TIMEOUT" ../mirror/*.test.mjs)
else
    echo "run.sh: no $B/almanacd or $B/almanac" >&2
    record "mirror" 0 1
fi

echo "== local bindings (tests/bindings)"
if [ ! -d executor/node_modules ]; then
    (cd executor && npm ci --no-audit --no-fund --loglevel=error) >&2 || true
fi
run_node bindings "$LOGS/bindings.log" "$API_TIMEOUT" tests/bindings/*.test.mjs

if [ -f tests/hostile/resolves.mjs ]; then
    echo "== hostile resolves: RSS and database growth (tests/hostile/resolves.mjs)"
    run_script hostile-flood "$LOGS/hostile-flood.log" "$SLOW_TIMEOUT" \
        node tests/hostile/resolves.mjs "$B" "${ALMANAC_FLOOD_COUNT:-100000}"
fi

if [ -d tests/executor ] && ls tests/executor/*.test.mjs >/dev/null 2>&1; then
    if [ "${ALMANAC_SLOW_TESTS:-1}" = "0" ]; then
        echo "== executor tests skipped (ALMANAC_SLOW_TESTS=0)"
    else
        echo "== executor tests (tests/executor)"
        dists=${ALMANAC_CACHE:-$HOME/.cache/almanac}/pyodide
        if [ -z "${PYODIDE_DISTS:-}" ] && [ -d "$dists" ]; then
            PYODIDE_DISTS=$dists
            export PYODIDE_DISTS
        fi
        ALMANAC_BIN_DIR="$B" run_node executor "$LOGS/executor.log" "$SLOW_TIMEOUT" tests/executor/*.test.mjs
    fi
fi

if [ -f tests/cli/run.sh ]; then
    echo "== CLI and executor end to end (tests/cli/run.sh)"
    run_script cli "$LOGS/cli.log" "$SLOW_TIMEOUT" bash tests/cli/run.sh "$B"
fi

if [ -f tests/cli/daily.sh ]; then
    echo "== the CLI as a daily tool (tests/cli/daily.sh)"
    run_script cli-daily "$LOGS/cli-daily.log" "$SLOW_TIMEOUT" bash tests/cli/daily.sh "$B"
fi

if [ -f tests/cli/bindings.sh ]; then
    echo "== local bindings end to end (tests/cli/bindings.sh)"
    run_script cli-bindings "$LOGS/cli-bindings.log" "$SLOW_TIMEOUT" bash tests/cli/bindings.sh "$B"
fi

if [ -f tests/crash/crash_loop.sh ]; then
    echo "== crash loop (tests/crash/crash_loop.sh)"
    run_script crash "$LOGS/crash.log" "$SLOW_TIMEOUT" sh tests/crash/crash_loop.sh "$B"
fi

if [ -f tests/crash/eol_crash.sh ]; then
    echo "== end-of-support apply killed mid-way (tests/crash/eol_crash.sh)"
    run_script eol-crash "$LOGS/eol-crash.log" "$SLOW_TIMEOUT" sh tests/crash/eol_crash.sh "$B"
fi

passed=0 failed=0
while read -r _suite p f; do
    passed=$((passed + p))
    failed=$((failed + f))
done < "$COUNTS"
echo "== pass over $B"
printf '%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
