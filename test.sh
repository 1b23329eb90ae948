#!/bin/sh
# Builds tsinv in build/ (or build-asan/ with --sanitize) and runs the whole test suite.
# Installs missing Debian build dependencies first. Ends with "N passed, N failed".
set -eu
top=$(cd "$(dirname "$0")" && pwd)
dir=build
flags="--enable-werror"
case "${1:-}" in
--sanitize)
	dir=build-asan
	flags="$flags --enable-sanitizers"
	# ASan makes the store-heavy unit tests (80 MiB through LMDB) several times slower: their
	# Check timeouts stretch with it, the integration tests' own bounds do not.
	CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-5}
	export CK_TIMEOUT_MULTIPLIER
	;;
"") ;;
*) echo "usage: ./test.sh [--sanitize]" >&2; exit 2 ;;
esac
"$top/scripts/deps"
cd "$top"
[ -x configure ] || ./bootstrap >/dev/null
mkdir -p "$dir"
cd "$dir"
# CI names the reference policy corpus so that its tests can never quietly read fewer files.
[ -n "${TSINV_POLICY_CORPUS:-}" ] && flags="$flags --with-policy-corpus=$TSINV_POLICY_CORPUS"
[ -f Makefile ] || "$top/configure" $flags >/dev/null
make -j2 >/dev/null
status=0
make -j2 check || status=$?
"$top/scripts/summary" test-suite.log
exit $status
