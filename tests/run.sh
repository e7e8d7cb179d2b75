#!/usr/bin/env bash
# Test runner: every unit binary, then every integration script. Exit 77 = skipped.
# Prints one closing line "N passed, N failed, N skipped" and exits non-zero on failure.
set -u
cd "$(dirname "$0")/.."
pass=0 fail=0 skip=0 failed=()
filter="${1:-}"
run_one() {
	local name=$1; shift
	[ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && return
	local log; log=$(mktemp)
	local t0=${EPOCHREALTIME/./}
	timeout 600 "$@" >"$log" 2>&1
	local rc=$?
	local t1=${EPOCHREALTIME/./}
	local dt=$(( (t1 - t0) / 100000 )); dt="$((dt / 10)).$((dt % 10))"
	case $rc in
	0) pass=$((pass + 1)); echo "PASS $name (${dt}s)";;
	77) skip=$((skip + 1)); echo "SKIP $name: $(tail -1 "$log")";;
	*) fail=$((fail + 1)); failed+=("$name"); echo "FAIL $name (rc=$rc)"; sed 's/^/    /' "$log" | tail -60;;
	esac
	rm -f "$log"
}
for t in tests/unit/*_test; do
	[ -x "$t" ] || continue
	run_one "unit/$(basename "$t")" "$t"
done
for t in tests/integration/*.sh; do
	[ -f "$t" ] || continue
	[ "$(basename "$t")" = lib.sh ] && continue
	run_one "integration/$(basename "$t" .sh)" bash "$t"
done
echo
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ] && [ $((pass + fail)) -gt 0 ]
