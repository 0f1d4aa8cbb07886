#!/bin/sh
# Install what the build, the tests and the benchmarks need, only when missing.
set -eu
PKGS="build-essential pkg-config libmicrohttpd-dev libsqlite3-dev libcjson-dev
libcurl4-openssl-dev libsodium-dev libzstd-dev check minisign wabt
nginx wrk clang libclang-rt-14-dev zstd curl"
# Node.js may come from elsewhere than Debian (NodeSource bundles npm, and Debian's
# npm package then conflicts with it): take it as present when node >= 20 and npm run.
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -ge 20 ] 2>/dev/null && command -v npm >/dev/null 2>&1; then
    :
else
    PKGS="$PKGS nodejs npm"
fi
missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
        missing="$missing $p"
    fi
done
if [ -n "$missing" ]; then
    echo "deps: installing$missing" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >&2
fi
# Test tools (OpenAPI validation) and the executor's npm needs, pinned by lockfiles.
if [ ! -d tests/api/node_modules ] || [ tests/api/package-lock.json -nt tests/api/node_modules ]; then
    echo "deps: npm install in tests/api" >&2
    (cd tests/api && npm ci --no-audit --no-fund --loglevel=error >&2 || npm install --no-audit --no-fund --loglevel=error >&2)
fi
if [ ! -d executor/node_modules ] || [ executor/package-lock.json -nt executor/node_modules ]; then
    echo "deps: npm ci in executor (better-sqlite3 for the local D1/KV/DO/R2 bindings)" >&2
    (cd executor && npm ci --no-audit --no-fund --loglevel=error >&2 || npm install --no-audit --no-fund --loglevel=error >&2)
fi
