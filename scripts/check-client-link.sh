#!/bin/sh
# scripts/check-client-link.sh BIN: the client binary must hold no SQLite and no
# server or database code: no sqlite3_* symbol (defined or undefined), no srv_* and
# no db_* function, no libsqlite3 or libmicrohttpd in its dynamic dependencies.
# Exits 1 naming what it found.
set -u
bin=${1:?usage: check-client-link.sh BIN}
[ -x "$bin" ] || { echo "check-client-link: no binary '$bin'" >&2; exit 2; }

fail=0
bad=$(nm "$bin" 2>/dev/null | awk '{ s = $NF } s ~ /^(sqlite3_|srv_|db_|mig_|MHD_)/ { print s }' |
    sort -u)
if [ -n "$bad" ]; then
    echo "check-client-link: $bin holds server or database symbols:"
    echo "$bad" | sed 's/^/  /' | head -20
    fail=1
fi
# nm must see symbols at all, or the check above proves nothing.
if [ "$(nm "$bin" 2>/dev/null | wc -l)" -lt 100 ]; then
    echo "check-client-link: nm found no symbols in $bin (stripped?)"
    fail=1
fi
deps=$(nm -D "$bin" 2>/dev/null | awk '{ print $NF }' | grep -E '^(sqlite3_|MHD_)' | head -5)
if [ -n "$deps" ]; then
    echo "check-client-link: $bin imports server libraries: $deps"
    fail=1
fi
if command -v ldd >/dev/null 2>&1 && ldd "$bin" 2>/dev/null | grep -Eq 'libsqlite3|libmicrohttpd'; then
    echo "check-client-link: $bin is linked against libsqlite3 or libmicrohttpd"
    fail=1
fi
[ "$fail" -eq 0 ] && echo "check-client-link: ok ($bin has no SQLite, database or server code)"
exit "$fail"
