#!/usr/bin/env bash
# relay_logscan.sh — round trip: the relay delivers with TLS success (twice), in clear under
# None, after a 454 to STARTTLS (TLS failure, Preferred falls back to clear), and fails a
# Required destination behind a STARTTLS-stripping proxy; then logscan reads the relay's
# mail.log and its summary (text and --json) and --required-failures must count exactly that.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/fixtures/relay_env.sh"
need_relay
[ -x "$LOGSCAN" ] || skip "$LOGSCAN not built (run make)"

P=$(fport)
R=$T/sink
start_receiver RPID "$R" -l "127.0.0.1:$P" --hostname sink.test.example
start_proxy X454 "$P" "$T/rec454" --refuse
start_proxy XSTRIP "$P" "$T/recstrip"
Q=$T/q
CONF=$T/relay.conf
cat >"$CONF" <<EOF
queue_dir = $Q
hostname = ls.relay.test.example
cafile = $R/certs/demo-ca.pem
retry = 600
timeout = 10
destination = good.test.example tls=Preferred route=[127.0.0.1]:$P
destination = f454.test.example tls=Preferred route=[127.0.0.1]:$X454
destination = req.test.example tls=Required route=[127.0.0.1]:$XSTRIP
destination = clear.test.example tls=None route=[127.0.0.1]:$P
EOF
for d in good good f454 req clear; do
	inject "$CONF" "b@$d.test.example" < <(mkmsg "ls-$d-$RANDOM")
done
run_relay "$CONF" --once
assert_exit 0
grep -q '^relay: DCID' "$ERR" && fail_ "a transcript on stderr without -v" || ok_
ATTEMPTS=$Q/attempts.jsonl
LOG=$Q/mail.log

case_ "what the relay did (attempt records)"
cnt() { jq -s "[.[] | select($1)] | length" "$ATTEMPTS"; }
[ "$(cnt '.result=="delivered" and .tls')" = 2 ] && ok_ || fail_ "want 2 TLS deliveries"
[ "$(cnt '.result=="delivered" and (.tls|not)')" = 2 ] && ok_ || fail_ "want 2 clear deliveries"
[ "$(cnt '.result!="delivered" and .domain=="req.test.example"')" = 1 ] && ok_ || fail_ "want 1 Required failure"

case_ "logscan --json summary matches"
CMD="logscan --json $LOG"
timeout 60 "$LOGSCAN" --json "$LOG" >"$OUT" 2>"$ERR"
RC=$?
assert_exit 0
assert_json 'j["summary"]["connections"]["outbound"]["total"]==5' "5 outbound connections"
assert_json 'j["summary"]["connections"]["outbound"]["tls"]==2' "2 with TLS"
assert_json 'j["summary"]["connections"]["outbound"]["failed"]==1' "1 TLS failure (the 454)"
assert_json 'j["summary"]["connections"]["outbound"]["none"]==2' "2 without TLS"
assert_json 'j["summary"]["connections"]["inbound"]["total"]==0' "no inbound connections"
assert_json 'j["summary"]["messages"]["total"]==5' "5 messages"
assert_json 'j["summary"]["messages"]["deliveries"]==4' "4 deliveries"
assert_json 'j["summary"]["messages"]["deliveries_tls"]==2' "2 deliveries over TLS"
assert_json 'j["summary"]["messages"]["deliveries_clear"]==2' "2 deliveries in clear"
assert_json 'j["summary"]["required_failures"]["total"]==1' "1 required-TLS failure"
assert_json 'list(j["summary"]["required_failures"]["by_cause"].items())==[("STARTTLS not advertised",1)]' "cause: STARTTLS not advertised"
assert_json 'any(r["count"]==1 and "STARTTLS unexpected response" in r["reason"] and "454" in r["reason"] for r in j["summary"]["failure_reasons"])' "the 454 failure reason"
assert_json '[p["count"] for p in j["summary"]["protocols"]]==[2]' "2 TLS connections by protocol"
assert_json '{d["domain"]:(d["total"],d["tls"],d["failed"],d["none"]) for d in j["summary"]["peer_domains"] if d["domain"]!="(unknown)"}.get("good.test.example")==(2,2,0,0)' "good.test.example: 2 over TLS"
assert_json '{d["domain"]:(d["total"],d["tls"],d["failed"],d["none"]) for d in j["summary"]["peer_domains"]}.get("f454.test.example")==(1,0,1,0)' "f454.test.example: 1 failed"
assert_json '{d["domain"]:(d["total"],d["tls"],d["failed"],d["none"]) for d in j["summary"]["peer_domains"]}.get("clear.test.example")==(1,0,0,1)' "clear.test.example: 1 in clear"
# the Required failure should be attributed to its destination, as the ESA guide's log does
assert_json '{d["domain"]:d["total"] for d in j["summary"]["peer_domains"]}.get("req.test.example")==1' "req.test.example named (the required failure's connection is attributed to its domain)"
assert_json 'j["summary"]["input"]["unparsed"]==0' "every relay log line parsed"

case_ "logscan --required-failures lists the Required destination, exit 1"
CMD="logscan --required-failures --json $LOG"
timeout 60 "$LOGSCAN" --required-failures --json "$LOG" >"$OUT" 2>"$ERR"
RC=$?
assert_exit 1
assert_json 'len(j["records"])==1 and j["records"][0]["direction"]=="out" and j["records"][0]["cause"]=="STARTTLS not advertised"' "one outbound record"

case_ "logscan --failed lists the 454"
CMD="logscan --failed $LOG"
timeout 60 "$LOGSCAN" --failed "$LOG" >"$OUT" 2>"$ERR"
RC=$?
assert_exit 1
assert_contains "STARTTLS unexpected response"

case_ "logscan text summary"
CMD="logscan $LOG"
timeout 60 "$LOGSCAN" "$LOG" >"$OUT" 2>"$ERR"
RC=$?
assert_exit 0
assert_line '^  outbound +5 +2 +1 +2 '
assert_line '^  STARTTLS not advertised +1$'

case_ "relay -v: each attempt's transcript on stderr, the message only as its size"
TOKEN="ls-verbose-$RANDOM$RANDOM"
inject "$CONF" "v@good.test.example" < <(mkmsg "$TOKEN")
inject "$CONF" "v@clear.test.example" < <(mkmsg "$TOKEN")
run_relay "$CONF" -v --once
assert_exit 0
[ "$(grep -cE '^relay: DCID [0-9]+ MID [0-9]+ to (good|clear)\.test\.example: [^ ]+ \[127\.0\.0\.1\]:'"$P"', policy [A-Za-z-]+, DANE (on|off)$' "$ERR")" = 2 ] &&
	ok_ || fail_ "want two transcript headers: $(grep '^relay:' "$ERR")"
grep -qE '^\[[0-9]+\.[0-9]{3}\] -->STARTTLS' "$ERR" && ok_ || fail_ "no timed STARTTLS line"
grep -qE '^\[[0-9]+\.[0-9]{3}\]<-- 250' "$ERR" && ok_ || fail_ "no timed 250 reply"
grep -qE 'TLSv1\.[23]' "$ERR" && ok_ || fail_ "no TLS version in the transcript"
grep -qE 'message: [0-9]+ octets' "$ERR" && ok_ || fail_ "no message size line"
grep -qF -- "$TOKEN" "$ERR" && fail_ "the message (its token) is in the transcript" || ok_
finish
