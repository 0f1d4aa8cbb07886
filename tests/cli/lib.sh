# tests/cli/lib.sh: what the CLI suites (run.sh, daily.sh, bindings.sh) share, sourced
# once the suite has made its work directory T. Before starting the server the suite
# sets SRV (almanacd), DATA (its data directory) and PORT (free_port). Checks print one
# line each; `summary` prints "N passed, M failed" and fails when a check failed.
# SUITE names the script in messages; RUN_STDIN, when set, is the stdin of `run`.

SUITE=${SUITE:-$(basename "$0")}
PASS=0
FAIL=0
SRV_PID=

stop_server() {
    if [ -n "$SRV_PID" ]; then
        kill "$SRV_PID" 2>/dev/null
        wait "$SRV_PID" 2>/dev/null
        SRV_PID=
    fi
}
# The suite's files may be read-only by the time it ends (tests of refusals).
cleanup() {
    stop_server
    chmod -R u+w "$T" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

ok() { PASS=$((PASS + 1)); printf '  ok    %s\n' "$1"; }
# bad NAME [DETAIL]: a failed check, with the first lines of DETAIL.
bad() {
    FAIL=$((FAIL + 1))
    printf '  FAIL  %s\n' "$1"
    [ -n "${2:-}" ] && printf '%s\n' "$2" | sed -n '1,15s/^/        | /p'
}

# run COMMAND...: run it, keeping stdout, stderr and the exit code.
OUT= ERR= RC=
run() {
    if [ -n "${RUN_STDIN:-}" ]; then
        "$@" > "$T/out" 2> "$T/err" < "$RUN_STDIN"
    else
        "$@" > "$T/out" 2> "$T/err"
    fi
    RC=$?
    OUT=$(cat "$T/out")
    ERR=$(cat "$T/err")
}
# expect NAME RC [STDOUT-PATTERN [STDERR-PATTERN]]: check the last run.
expect() {
    local name=$1 want=$2 pat=${3:-} epat=${4:-}
    if [ "$RC" != "$want" ]; then
        bad "$name (exit $RC, wanted $want)" "$OUT
$ERR"
    elif [ -n "$pat" ] && ! grep -Eq -- "$pat" "$T/out"; then
        bad "$name (stdout lacks /$pat/)" "$OUT
$ERR"
    elif [ -n "$epat" ] && ! grep -Eq -- "$epat" "$T/err"; then
        bad "$name (stderr lacks /$epat/)" "$ERR"
    else
        ok "$name"
    fi
}
# check NAME CONDITION [DETAIL]: ok when the shell condition holds.
check() { if eval "$2"; then ok "$1"; else bad "$1" "${3:-}"; fi; }
# jq_ EXPR: a Python expression over the last stdout as JSON (d).
jq_() { python3 -c "import json,sys; d=json.load(open('$T/out')); print($1)"; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# start_server: almanacd serving DATA on PORT (log appended to T/server.log); the
# suite stops with exit 2 when it does not answer within 10 s.
start_server() {
    "$SRV" serve --data "$DATA" --listen "127.0.0.1:$PORT" >> "$T/server.log" 2>&1 &
    SRV_PID=$!
    for _ in $(seq 100); do
        curl -fs "http://127.0.0.1:$PORT/v1/health" > /dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "$SUITE: the server did not start" >&2
    cat "$T/server.log" >&2
    exit 2
}

summary() {
    echo "$PASS passed, $FAIL failed"
    [ "$FAIL" -eq 0 ]
}
