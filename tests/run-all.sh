#!/bin/sh
# tests/run-all.sh: the whole suite, as `make test` runs it (after `make deps`):
#   1. a normal build (`make all unit` into build/) and one pass of tests/run.sh;
#   2. the same built with AddressSanitizer and UndefinedBehaviorSanitizer
#      (`make SANITIZE=address,undefined all unit` into build/san/) and another pass,
#      with leak detection on; there the API harness also fails a test file when
#      almanacd printed a sanitizer report.
# A build that fails counts as one failed check and its pass is skipped. The last line
# is the total over both passes and every suite, "N passed, M failed"; the exit status
# is non-zero when M > 0.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
MAKE=${MAKE:-make}
JOBS=${ALMANAC_JOBS:-$(nproc 2>/dev/null || echo 2)}
SUMMARY=$(mktemp "${TMPDIR:-/tmp}/almanac-tests.XXXXXX")
trap 'rm -f "$SUMMARY" "$SUMMARY".*' EXIT INT TERM

# one_pass LABEL BUILD_DIR MAKE_ARGS...
one_pass() {
    label=$1 dir=$2
    shift 2
    echo "==== $label: make $* all unit"
    if ! $MAKE -j"$JOBS" "$@" all unit; then
        echo "run-all: the $label build failed" >&2
        echo "$label/build 0 1" >> "$SUMMARY"
        return
    fi
    echo "==== $label: tests against $dir"
    ALMANAC_COUNTS_FILE="$SUMMARY.$label" sh tests/run.sh "$dir"
    if [ -s "$SUMMARY.$label" ]; then
        sed "s|^|$label/|" "$SUMMARY.$label" >> "$SUMMARY"
    else
        echo "$label/run 0 1" >> "$SUMMARY"
    fi
}

# Layout is part of the contract (STYLE.md): clang-format with the checked-in
# .clang-format must leave every C file as it is.
echo "==== format: clang-format --dry-run --Werror"
if $MAKE -s format-check; then
    echo "format 1 0" >> "$SUMMARY"
else
    echo "format 0 1" >> "$SUMMARY"
fi

one_pass normal build

ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS UBSAN_OPTIONS
one_pass sanitizers build/san SANITIZE=address,undefined

passed=0 failed=0
echo "==== summary"
while read -r suite p f; do
    printf '  %-36s %5d passed, %d failed\n' "$suite" "$p" "$f"
    passed=$((passed + p))
    failed=$((failed + f))
done < "$SUMMARY"
printf '%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
