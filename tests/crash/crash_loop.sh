#!/bin/sh
# tests/crash/crash_loop.sh: kill -9 almanacd during uploads, again and again, and
# check that no partial or wrong artifact ever becomes visible (DESIGN §8).
#
# usage: tests/crash/crash_loop.sh [BUILD_DIR [ROUNDS]]   (ALMANACD=path overrides
# the binary). Each round starts `almanacd serve` on a free loopback port with the
# same temporary data directory, runs concurrent uploaders (curl) of fresh files,
# kill -9s the server at a random moment, then checks:
#   - `almanacd fsck` exits 0 (an interrupted upload may leave a stored file without
#     its database row: that is reported as "unrecorded", not as a problem);
#   - every file in DATA/artifacts/??/ decompresses (stock zstd) to its digest;
#   - after a restart no temp file is left, and every upload that was acknowledged
#     (200/201) before the kill downloads with its digest, identity and zstd.
# Exits 1 at the first violation, 0 after ROUNDS rounds.
set -eu

B=${1:-build}
ROUNDS=${2:-20}
BIN=${ALMANACD:-$B/almanacd}
UPLOADERS=3

[ -x "$BIN" ] || { echo "crash_loop: no $BIN (build it first)" >&2; exit 2; }
for tool in curl zstd sha256sum ss shuf; do
    command -v $tool >/dev/null || { echo "crash_loop: needs $tool" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/almanac-crash-XXXXXX)
DATA=$WORK/data
mkdir -p "$DATA" "$WORK/up"
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill -9 "$SERVER_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

fail() {
    echo "crash_loop: FAIL: $*" >&2
    echo "$*" >> "$WORK/failed" # for uploaders, which run in subshells
    exit 1
}

# Sanitizer reports from the servers (builds with SANITIZE=...) are failures too.
check_log() {
    if grep -Eq 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' \
        "$WORK/server.log"; then
        grep -E -A20 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' \
            "$WORK/server.log" | head -60
        fail "sanitizer report in the server log"
    fi
}

"$BIN" init --data "$DATA" 2>/dev/null || fail "almanacd init failed"
TOKEN=$("$BIN" token create --data "$DATA" 2>/dev/null)
: > "$WORK/acked"

# Start on a random free port; another process may take the port between the check
# and the bind, so a start that fails with "cannot listen" tries another port.
start_server() {
    tries=0
    while :; do
        tries=$((tries + 1))
        while :; do
            PORT=$(shuf -i 20000-60000 -n 1)
            ss -ltn | grep -q ":$PORT " || break
        done
        "$BIN" serve --data "$DATA" --listen "127.0.0.1:$PORT" >>"$WORK/server.log" 2>&1 &
        SERVER_PID=$!
        URL=http://127.0.0.1:$PORT
        i=0
        up=1
        until curl -s -o /dev/null "$URL/v1/keys"; do
            i=$((i + 1))
            [ $i -lt 100 ] || fail "server did not start (see $WORK/server.log)"
            if ! kill -0 "$SERVER_PID" 2>/dev/null; then
                if tail -1 "$WORK/server.log" | grep -q 'cannot listen' && [ $tries -lt 5 ]; then
                    up=0
                    break
                fi
                fail "server exited: $(tail -3 "$WORK/server.log")"
            fi
            sleep 0.1
        done
        [ $up -eq 1 ] && return 0
    done
}

# One uploader: fresh files (part noise, part text) until the server goes away.
uploader() {
    n=0
    while :; do
        n=$((n + 1))
        f=$WORK/up/$1-$n
        size=$(shuf -i 1000-1500000 -n 1)
        { head -c "$size" /dev/urandom; seq 1 "$size" | head -c "$size"; } > "$f"
        code=$(curl -s -o "$f.resp" -w '%{http_code}' -X POST \
            -H "Authorization: Bearer $TOKEN" --data-binary @"$f" \
            "$URL/v1/artifacts?file_name=up-$1-$n.bin") || code=000
        if [ "$code" = 201 ] || [ "$code" = 200 ]; then
            want=$(sha256sum "$f" | cut -c1-64)
            grep -q "\"sha256\":\"$want\"" "$f.resp" || fail "acknowledged upload with a wrong digest"
            echo "$want" >> "$WORK/acked"
        elif [ "$code" = 000 ]; then
            rm -f "$f" "$f.resp"
            return 0
        else
            fail "upload answered $code: $(cat "$f.resp")"
        fi
        rm -f "$f" "$f.resp"
    done
}

check_files() {
    for f in "$DATA"/artifacts/??/*.zst; do
        [ -e "$f" ] || continue
        name=$(basename "$f" .zst)
        got=$(zstd -dcq "$f" | sha256sum | cut -c1-64) || fail "$f does not decompress"
        [ "$got" = "$name" ] || fail "$f holds $got"
    done
}

check_acked() {
    sort -u "$WORK/acked" | while read -r h; do
        got=$(curl -sf "$URL/v1/artifacts/sha256/$h" | sha256sum | cut -c1-64) ||
            fail "acknowledged $h is not served"
        [ "$got" = "$h" ] || fail "acknowledged $h served as $got"
        got=$(curl -sf --compressed "$URL/v1/artifacts/sha256/$h" | sha256sum | cut -c1-64)
        [ "$got" = "$h" ] || fail "acknowledged $h served compressed as $got"
    done
}

round=0
while [ $round -lt "$ROUNDS" ]; do
    round=$((round + 1))
    start_server
    ls -a "$DATA/artifacts" | grep -q '^\.tmp-' && fail "temp files survived a restart"
    check_acked
    k=0
    while [ $k -lt $UPLOADERS ]; do
        uploader "$round.$k" &
        k=$((k + 1))
    done
    sleep "$(shuf -i 100-1500 -n 1 | sed 's/^/0000/;s/.*\(.\)\(...\)$/\1.\2/')"
    kill -9 "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
    wait
    [ -e "$WORK/failed" ] && fail "an uploader failed: $(cat "$WORK/failed")"
    check_log
    temps=$(ls -a "$DATA/artifacts" | grep -c '^\.tmp-' || true)
    "$BIN" fsck --data "$DATA" > "$WORK/fsck.out" 2>&1 || fail "fsck: $(cat "$WORK/fsck.out")"
    check_files
    echo "crash_loop: round $round: killed mid-upload with $temps temp file(s);" \
        "$(tail -1 "$WORK/fsck.out" | sed 's/^fsck: //')"
done
start_server
check_acked
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=
check_log
echo "crash_loop: OK: $ROUNDS rounds, $(sort -u "$WORK/acked" | wc -l) acknowledged uploads intact"
