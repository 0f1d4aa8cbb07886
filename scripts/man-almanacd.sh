#!/bin/sh
# scripts/man-almanacd.sh ALMANACD: almanacd(8) in roff, made from `almanacd --help`
# so the manual and the binary's help are one text.
set -eu
bin=$1
version=$("$bin" --version 2>/dev/null | head -n 1 | sed 's/^almanacd //') || version=
help=$("$bin" --help 2>&1 || true)
printf '.TH ALMANACD 8 "" "almanacd %s" "System Administration"\n' "$version"
printf '.SH NAME\nalmanacd \\- the almanac catalog server: resolves compatibility dates to signed Python runtime locks\n'
printf '.SH SYNOPSIS\n.nf\n'
printf '%s\n' "$help" | sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
printf '.fi\n.SH FILES\n.TP\n/var/lib/almanac\nthe data directory of the systemd unit (catalog, artifacts, signing key)\n'
printf '.SH SEE ALSO\n.BR almanac (1)\n'
