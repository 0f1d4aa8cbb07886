#!/bin/sh
# scripts/check-layers.sh [CORE_MODULE...]: fail on an include cycle or an include
# that points up the layers (STYLE.md "Layers point down only").
#
# A module is dir/name (name.c and name.h together). Edges are the project
# includes ("dir/name.h") of every .c and .h under the source folders. Checks:
#   1. no cycle between modules (tsort finds them);
#   2. ranks: app 0; db, flags 1; catalog, artifacts 2; server, executor 3; cli 4.
#      A module includes only modules of its rank or lower; flags and db include
#      only app (and themselves);
#   3. the client (cli/, executor/) never includes db/ or server/, and of catalog/
#      and artifacts/ only the core modules given as arguments;
#   4. a core module includes only app/, flags/ and other core modules (the core
#      library links without SQLite).
# Prints each violation and exits 1 when there is any.
set -u
cd "$(dirname "$0")/.." || exit 2

CORE=" $* "
DIRS="app db flags catalog artifacts server cli executor"
EDGES=$(mktemp)
trap 'rm -f "$EDGES"' EXIT

for d in $DIRS; do
    for f in "$d"/*.c "$d"/*.h; do
        [ -f "$f" ] || continue
        from=${f%.*}
        sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)\.h".*/\1/p' "$f" |
            while read -r to; do
                case $to in */*) ;; *) continue ;; esac
                [ -f "$to.h" ] || continue
                [ "$to" = "$from" ] && continue
                echo "$from $to $f"
            done
    done
done | sort -u > "$EDGES"

fail=0

# 1. cycles: tsort reports each loop on stderr.
loops=$(cut -d' ' -f1,2 "$EDGES" | tsort 2>&1 >/dev/null)
if [ -n "$loops" ]; then
    echo "check-layers: include cycle:"
    echo "$loops" | sed 's/^tsort: /  /'
    fail=1
fi

rank() {
    case ${1%%/*} in
    app) echo 0 ;;
    db | flags) echo 1 ;;
    catalog | artifacts) echo 2 ;;
    server | executor) echo 3 ;;
    cli) echo 4 ;;
    *) echo 9 ;;
    esac
}

is_core() {
    case $CORE in *" $1 "*) return 0 ;; esac
    return 1
}

while read -r from to file; do
    fd=${from%%/*} td=${to%%/*}
    why=
    if [ "$(rank "$from")" -lt "$(rank "$to")" ]; then
        why="includes a higher layer"
    fi
    case $fd in
    flags | db)
        [ "$td" = app ] || [ "$td" = "$fd" ] || why="$fd/ may include only app/"
        ;;
    cli | executor)
        case $td in
        db | server) why="the client must not include $td/" ;;
        catalog | artifacts) is_core "$to" || why="the client may include only core modules of $td/" ;;
        esac
        ;;
    esac
    if is_core "$from"; then
        case $td in
        app | flags) ;;
        *) is_core "$to" || why="a core module may include only app/, flags/ and core modules" ;;
        esac
    fi
    if [ -n "$why" ]; then
        echo "check-layers: $file includes $to.h: $why"
        fail=1
    fi
done < "$EDGES"

[ "$fail" -eq 0 ] && echo "check-layers: ok ($(wc -l < "$EDGES") includes, no cycle, layers point down)"
exit "$fail"
