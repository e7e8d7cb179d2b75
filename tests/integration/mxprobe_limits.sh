#!/usr/bin/env bash
# mxprobe's per-destination-IP limits in batch: six domains share one MX address (behind
# tests/fixtures/smtprec.py, which records every session's open and close); --per-ip caps the
# sessions open at once to that address, --spacing spaces their starts, whatever -j says.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/fixtures/mxprobe_env.sh"
need_mxprobe

REC=$T/rec.log
: >"$REC"
_start_ready REC_PORT "$T/rec.err" "$PY" "$ROOT/tests/fixtures/smtprec.py" "$REC" 300
start_fwd 127.0.0.9="$REC_PORT"
Z=$T/zones
mkdir -p "$Z"
{
	printf '$ORIGIN lim.test.\n$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 300\nmx A 127.0.0.9\n'
	for i in 1 2 3 4 5 6; do echo "d$i MX 10 mx.lim.test."; done
} >"$Z/lim.test.zone"
start_dns "$Z/lim.test.zone"
printf 'd%s.lim.test\n' 1 2 3 4 5 6 >"$T/domains"
MX=(--resolver "127.0.0.1:$DNS_PORT" -p "$MX_PORT" --timeout 10 --no-mta-sts --no-tlsrpt --no-dane
	--no-color --no-progress -l may -j 6 --json -f "$T/domains")

sessions() { grep -c '^open' "$REC"; }
max_open() { awk '$1 == "open" && $3 > m { m = $3 } END { print m + 0 }' "$REC"; }
# smallest gap between consecutive session starts, in ms
min_gap() { awk '$1 == "open" { if (n++) { g = ($2 - p) * 1000; if (m == "" || g < m) m = g } p = $2 } END { printf "%d", m }' "$REC"; }

case_ "--per-ip 1: one session at a time to the shared address, all six domains probed"
: >"$REC"
run_mxprobe "${MX[@]}" --per-ip 1
assert_exit 0
[ "$(wc -l <"$OUT")" = 6 ] && ok_ || fail_ "want 6 JSON lines, got $(wc -l <"$OUT")"
[ "$(sessions)" = 6 ] && ok_ || fail_ "want 6 sessions, recorder saw $(sessions)"
[ "$(max_open)" = 1 ] && ok_ || fail_ "at most 1 open session wanted, saw $(max_open)"
[ "$ELAPSED_MS" -ge 1700 ] && ok_ || fail_ "six serial sessions of 300 ms took only $ELAPSED_MS ms"

case_ "--per-ip 3: at most three at once, and more than one (the limit is not serialising)"
: >"$REC"
run_mxprobe "${MX[@]}" --per-ip 3
assert_exit 0
m=$(max_open)
[ "$m" -le 3 ] && [ "$m" -ge 2 ] && ok_ || fail_ "2..3 open sessions wanted, saw $m"

case_ "--spacing 400: session starts to one address at least 400 ms apart"
: >"$REC"
run_mxprobe "${MX[@]}" --per-ip 6 --spacing 400
assert_exit 0
[ "$(sessions)" = 6 ] && ok_ || fail_ "want 6 sessions, recorder saw $(sessions)"
g=$(min_gap)
[ "$g" -ge 380 ] && ok_ || fail_ "smallest gap between starts $g ms (want >= 400, 20 ms slack)"

case_ "without limits the six sessions overlap (so the checks above can fail)"
: >"$REC"
run_mxprobe "${MX[@]}" --per-ip 6
assert_exit 0
[ "$(max_open)" -ge 3 ] && ok_ || fail_ "want >= 3 sessions open at once, saw $(max_open)"

case_ "bad values: clear message, exit 64"
run_mxprobe --per-ip 0 d1.lim.test
assert_exit 64
run_mxprobe --spacing -5 d1.lim.test
assert_exit 64
assert_icontains "spacing"

finish
