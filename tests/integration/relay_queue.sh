#!/usr/bin/env bash
# relay queue behaviour against a plain SMTP sink (tests/fixtures/smtprec.py, which records
# every session's open and close and writes accepted messages with their envelope) and the
# test DNS server: 5xx bounces with an RFC 3464 DSN to the sender (none for a null sender),
# 4xx retried on the backoff schedule, bounce after max_queue_lifetime, max_conn per
# destination, MX fallback by preference, null MX and NXDOMAIN. Loopback only.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/fixtures/relay_env.sh"
. "$ROOT/tests/fixtures/mxprobe_env.sh"
need_relay
[ -x "$DNSFIX" ] || skip "$DNSFIX not built (run make)"

SINK=$T/sink
mkdir -p "$SINK"
REC=$T/rec.log
: >"$REC"
_start_ready SINK_PORT "$T/sink.err" "$PY" "$ROOT/tests/fixtures/smtprec.py" "$REC" 150 "$SINK"
DEAD=$(fport) # nothing listens there
start_fwd 127.0.0.11="$SINK_PORT"
Z=$T/zones
mkdir -p "$Z"
cat >"$Z/mx.test.zone" <<-EOF2
	\$ORIGIN mx.test.
	\$TTL 300
	@ SOA ns hostmaster 1 3600 600 86400 300
	first A 127.0.0.10
	second A 127.0.0.11
	fb MX 20 second.mx.test.
	fb MX 10 first.mx.test.
	nullmx MX 0 .
EOF2
start_dns "$Z/mx.test.zone"

Q=$T/q
CONF=$T/relay.conf
cat >"$CONF" <<EOF2
queue_dir = $Q
hostname = q.relay.test.example
resolver = 127.0.0.1:$DNS_PORT
mx_port = $MX_PORT
timeout = 5
retry = 7 30
connection_reuse = 0
destination = default tls=None
destination = sink.test.example tls=None max_conn=2 route=[127.0.0.1]:$SINK_PORT
destination = src.test.example tls=None route=[127.0.0.1]:$SINK_PORT
destination = dead.test.example tls=None route=[127.0.0.1]:$DEAD
EOF2
ATTEMPTS=$Q/attempts.jsonl
MAILLOG=$Q/mail.log
sink_has() { grep -rlF -- "$1" "$SINK" 2>/dev/null | head -1; }
queued() { "$RELAY" -c "$CONF" queue --json | jq -s 'length'; }
once() { run_relay "$CONF" --once; assert_exit 0; }

case_ "max_conn=2: never more than two sessions to the destination, all eight delivered"
: >"$REC"
TOKS=()
for i in 1 2 3 4 5 6 7 8; do
	TOK=mc-$i-$RANDOM
	TOKS+=("$TOK")
	inject "$CONF" "u$i@sink.test.example" < <(mkmsg "$TOK")
done
once
n=0
for t in "${TOKS[@]}"; do [ -n "$(sink_has "$t")" ] && n=$((n + 1)); done
[ "$n" = 8 ] && ok_ || fail_ "$n of 8 at the sink"
m=$(awk '$1 == "open" && $3 > m { m = $3 } END { print m + 0 }' "$REC")
[ "$m" -le 2 ] && ok_ || fail_ "$m sessions open at once (max_conn=2)"
[ "$m" = 2 ] && ok_ || fail_ "$m sessions open at once: the two allowed were not used"
[ "$(queued)" = 0 ] && ok_ || fail_ "$(queued) left in the queue"

case_ "5xx for one recipient: the other delivered, a DSN (RFC 3464) to the sender"
TOK=bounce-$RANDOM
inject "$CONF" ok1@sink.test.example reject1@sink.test.example < <(mkmsg "$TOK")
BMID=$MID
once
f=$(sink_has "$TOK")
[ -n "$f" ] && grep -q '^X-Env-To: <ok1@sink.test.example>' "$f" && ok_ || fail_ "ok1 not delivered"
grep -q "Bounced: MID $BMID to <reject1@sink.test.example>: 550" "$MAILLOG" && ok_ || fail_ "no Bounced line"
grep -q "DSN generated for MID $BMID" "$MAILLOG" && ok_ || fail_ "no DSN generated"
for _ in 1 2 3; do [ "$(queued)" = 0 ] && break; once; done
dsn=$(grep -l '^X-Env-To: <a@src.test.example>' "$SINK"/*.eml 2>/dev/null | xargs -r grep -l "reject1@sink.test.example" | head -1)
if [ -n "$dsn" ]; then
	ok_
	grep -q '^X-Env-From: <>' "$dsn" && ok_ || fail_ "DSN sender is not null"
	grep -qi 'Content-Type: multipart/report; *report-type=delivery-status' "$dsn" && ok_ || fail_ "not multipart/report"
	grep -q '^Final-Recipient: rfc822; *reject1@sink.test.example' "$dsn" && ok_ || fail_ "no Final-Recipient"
	grep -q '^Action: failed' "$dsn" && ok_ || fail_ "no Action: failed"
	grep -q '^Status: 5\.1\.1' "$dsn" && ok_ || fail_ "no Status: 5.1.1"
	grep -q "$TOK" "$dsn" && ok_ || fail_ "the DSN does not carry the original's headers"
	grep -q "Final-Recipient: rfc822; *ok1@sink" "$dsn" && fail_ "the DSN names the delivered recipient" || ok_
else
	fail_ "no DSN at the sink"
fi
[ "$(queued)" = 0 ] && ok_ || fail_ "$(queued) left in the queue"

case_ "5xx for a null sender: bounced, no DSN"
timeout 30 "$RELAY" -c "$CONF" inject --from "" --to reject2@sink.test.example < <(mkmsg nulls-$RANDOM) >"$OUT" 2>"$ERR"
NMID=$(sed -n 's/^queued MID //p' "$OUT")
[ -n "$NMID" ] && ok_ || fail_ "null-sender inject failed: $(cat "$ERR")"
once
grep -q "Bounced: MID $NMID to <reject2@sink.test.example>" "$MAILLOG" && ok_ || fail_ "not bounced"
grep -q "DSN generated for MID $NMID" "$MAILLOG" && fail_ "a DSN for a null sender" || ok_
[ "$(attempt_field "$NMID" result)" = bounced ] && ok_ || fail_ "attempt record says '$(attempt_field "$NMID" result)', want bounced (every RCPT refused)"
[ "$(queued)" = 0 ] && ok_ || fail_ "$(queued) left in the queue"

case_ "4xx: deferred on the retry schedule (7 s, then 30 s), kept in the queue"
inject "$CONF" defer1@sink.test.example < <(mkmsg "defer-$RANDOM")
DMID=$MID
once
grep -q "MID $DMID deferred (attempt 1, next in 7 s): 451" "$MAILLOG" && ok_ || fail_ "no first deferral line"
j=$("$RELAY" -c "$CONF" queue --json | jq -c --argjson m "$DMID" 'select(.mid==$m)')
[ "$(jq .attempts <<<"$j")" = 1 ] && ok_ || fail_ "attempts: $(jq .attempts <<<"$j")"
d=$(($(jq .next_try <<<"$j") - $(date +%s)))
[ "$d" -ge 4 ] && [ "$d" -le 8 ] && ok_ || fail_ "next try in $d s, want about 7"
once # --once ignores retry times
grep -q "MID $DMID deferred (attempt 2, next in 30 s)" "$MAILLOG" && ok_ || fail_ "no second deferral line"
in_queue "$CONF" "$DMID" && ok_ || fail_ "the deferred message left the queue"
"$RELAY" -c "$CONF" delete "$DMID" >/dev/null 2>&1

case_ "max_queue_lifetime: bounced with a DSN once the lifetime is over"
sed 's/^retry = .*/retry = 1\nmax_queue_lifetime = 4s/' "$CONF" >"$T/life.conf"
inject "$T/life.conf" x@dead.test.example < <(mkmsg "life-$RANDOM")
LMID=$MID
run_relay "$T/life.conf" --once
in_queue "$T/life.conf" "$LMID" && ok_ || fail_ "gone after the first (refused) attempt"
sleep 4.5
run_relay "$T/life.conf" --once
grep -q "MID $LMID expired after" "$MAILLOG" && ok_ || fail_ "no expiry line"
grep -q "Bounced: MID $LMID to <x@dead.test.example>" "$MAILLOG" && ok_ || fail_ "not bounced"
grep -q "DSN generated for MID $LMID" "$MAILLOG" && ok_ || fail_ "no DSN"
in_queue "$T/life.conf" "$LMID" && fail_ "still queued" || ok_

case_ "MX fallback: the preferred MX refuses, the next one takes the message"
TOK=fb-$RANDOM
inject "$CONF" u@fb.mx.test < <(mkmsg "$TOK")
FMID=$MID
once
[ -n "$(sink_has "$TOK")" ] && ok_ || fail_ "not delivered through the second MX"
addrs=$(jq -r --argjson m "$FMID" 'select(.mid==$m) | "\(.address) \(.result)"' "$ATTEMPTS" | tr '\n' ',')
[ "$addrs" = "127.0.0.10 deferred,127.0.0.11 delivered," ] && ok_ || fail_ "attempts by preference: $addrs"

case_ "null MX and NXDOMAIN: bounced at once"
inject "$CONF" u@nullmx.mx.test < <(mkmsg "nullmx-$RANDOM")
XMID=$MID
inject "$CONF" u@nope.mx.test < <(mkmsg "nx-$RANDOM")
YMID=$MID
once
grep -q "Bounced: MID $XMID to <u@nullmx.mx.test>: 556 5.1.10" "$MAILLOG" && ok_ || fail_ "null MX not bounced with 556"
grep -q "Bounced: MID $YMID to <u@nope.mx.test>: 550 5.1.2" "$MAILLOG" && ok_ || fail_ "NXDOMAIN not bounced with 550"

finish
