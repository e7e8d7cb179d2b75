#!/usr/bin/env bash
# shellcheck disable=SC2015 # "... && ok_ || fail_": ok_ always succeeds
# logscan on a real Postfix after-queue content filter loop: a message that goes out to the
# filter as queue id X and comes back in under a new id Y is one message, not two.  The
# filter is Postfix itself (no amavis): content_filter = filt:[127.0.0.1]:PF sends every
# message the "good" listener takes to a "filt" smtp transport (logged as postfix/filt/smtp),
# which hands it over loopback, in clear, to a re-injection smtpd on PF (no filter there, no
# STARTTLS, logged as postfix/reinject/smtpd); Postfix queues it again as Y and delivers Y
# to tls.out.example: one of our receivers, offering STARTTLS (smtp_tls_security_level =
# may).  Y's "client=" line comes before X's "status=sent (... queued as Y)"; the receiver
# answers "queued as 1", an id not in the log.  swaks sends 3 messages over STARTTLS and 2
# in clear; the ids it was told ("queued as X") are the truth.  Checked: one message record per message (5, not 10) whose orig_id
# is the X swaks was told; received is X's (tls for the 3, clear for the 2), not Y's
# (clear, from the filter); the hop into the filter a delivery in clear (deliveries 2, 1
# TLS, 1 clear) and, with --loopback-local, not a hop at all (1, 1 TLS, 0 clear); the
# summary counts 5 messages, 3 received over TLS, 2 in clear, 5 continued; --messages --no-tls lists
# each message once; and the same when the re-injected message has left the queue before
# the filter's reply is logged (delivered to discard:).  swaks connects over loopback (nothing else is reachable), so with
# --loopback-local the 2 clear ones are "local", like Y's own clear reception: there the
# TLS ones' received (tls, not Y's local) is what shows whose reception the record carries.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd postfix postconf swaks certtool
LS=$ROOT/logscan/logscan
RCV=$ROOT/receiver/receiver
[ -x "$LS" ] && [ -x "$RCV" ] || skip "logscan or receiver not built (run make)"
export MAILTLS_SCENARIOS="good"
setup_pki
start_postfix
: "${PORT_good:?}" # set by start_postfix

P_TLS=$(free_port)
"$RCV" -d "$T/rtls" -l "127.0.0.1:$P_TLS" --discard --no-rdns --policy preferred \
	--cert "$PKI/good.chain.pem" --key "$PKI/good.key" >"$T/rtls.err" 2>&1 &
BAD_PIDS+=($!) # lib.sh's cleanup stops it
for _ in $(seq 100); do grep -q "listening on" "$T/rtls.err" && break; sleep 0.05; done
grep -q "listening on" "$T/rtls.err" || { cat "$T/rtls.err"; echo "FATAL: receiver did not start"; exit 1; }

C=$PFDIR/etc
PF=$(free_port)
cat >>"$C/master.cf" <<EOF
filt      unix  -       -       n       -       -       smtp
  -o syslog_name=postfix/filt
  -o smtp_tls_security_level=none
127.0.0.1:$PF inet n - n - - smtpd
  -o syslog_name=postfix/reinject
  -o content_filter=
  -o smtpd_tls_security_level=none
  -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks
EOF
postconf -c "$C" -e "relay_domains = tls.out.example" "content_filter = filt:[127.0.0.1]:$PF" \
	"transport_maps = inline:{tls.out.example=smtp:[127.0.0.1]:$P_TLS}" \
	"smtp_tls_security_level = may" "smtp_tls_loglevel = 1"
postfix -c "$C" reload >/dev/null 2>&1
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PF") 2>/dev/null && break; sleep 0.1; done

# send N TLS|clear: the id swaks was told goes to $T/ids, with how it was received
send() {
	local tls=() out
	[ "$2" = tls ] && tls=(--tls)
	out=$(swaks --server 127.0.0.1 --port "$PORT_good" "${tls[@]}" --helo client.test \
		--from s@test.example --to "m$1@tls.out.example" --timeout 10 2>&1)
	echo "$out" >>"$T/swaks.log"
	grep -o 'queued as [0-9A-Za-z]*' <<<"$out" | tail -1 | sed "s/queued as /$2 /" >>"$T/ids"
}
: >"$T/ids"
send 1 tls; send 2 clear; send 3 tls; send 4 clear; send 5 tls

LOG=$PFDIR/maillog
msgs() { $PY -c 'import json,sys; print(sum(len(json.loads(l).get("messages",[])) for l in open(sys.argv[1]) if l.strip()))' "$T/$1/sessions.jsonl" 2>/dev/null || echo 0; }
# X Y for each hand-over to the filter: "X: to=<...>, relay=127.0.0.1[127.0.0.1]:PF, ...
# status=sent (250 2.0.0 Ok: queued as Y)" (the receiver says "queued as 1": no id here)
links() { sed -nE "s/.* postfix\/filt\/smtp\[[0-9]+\]: ([0-9A-F]+): to=.*relay=127\.0\.0\.1\[127\.0\.0\.1\]:$PF, .*status=sent \(250 .*queued as ([0-9A-Za-z]+)\)$/\1 \2/p" "$LOG"; }
n_out() { grep -c "postfix/smtp\[[0-9]*\]: .*relay=127.0.0.1\[127.0.0.1\]:$P_TLS, .*status=sent" "$LOG"; }
for _ in $(seq 150); do
	[ "$(msgs rtls)" -ge 5 ] && [ "$(n_out)" -ge 5 ] && break
	sleep 0.1
done
links >"$T/links"

case_ "5 messages sent (3 TLS, 2 clear), each through the filter and on to the receiver"
got="$(grep -c . "$T/ids") $(grep -c . "$T/links") $(n_out) $(msgs rtls)"
if [ "$got" = "5 5 5 5" ] && [ "$(cut -d' ' -f2 "$T/ids" | sort)" = "$(cut -d' ' -f1 "$T/links" | sort)" ]; then ok_; else
	cat "$T/swaks.log" "$T/ids" "$T/links"
	fail_ "ids told/filter hand-overs/receiver deliveries/receiver messages: $got (want 5 5 5 5, the hand-overs of swaks' ids)"
fi

# check MESSAGE [logscan options] -- PYEXPR: logscan --messages --json on the log; PYEXPR
# sees recs (its message records), by (them by orig_id), ids (swaks' X -> "tls"/"clear"),
# links (X -> Y from the log) and summ (summary.messages); when false, the records and the
# summary go in the failure
check() {
	local msg=$1 opts=() why
	shift
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	CMD="logscan --messages --json ${opts[*]:+${opts[*]} }$LOG"
	"$LS" --messages --json "${opts[@]}" "$LOG" >"$T/ls.json" 2>"$ERR"
	RC=$?
	why=$($PY - "$T/ls.json" "$T/ids" "$T/links" "$2" 2>&1 <<-'EOF'
		import json, sys
		j = json.load(open(sys.argv[1]))
		recs = [r for r in j["records"] if r.get("type") == "message"]
		summ = j["summary"]["messages"]
		ids = dict(reversed(l.split()) for l in open(sys.argv[2]) if l.strip())
		links = dict(l.split() for l in open(sys.argv[3]) if l.strip())
		by = {r.get("orig_id"): r for r in recs}
		conns = j["summary"]["connections"]
		if not eval(sys.argv[4], {"recs": recs, "ids": ids, "links": links, "by": by, "summ": summ, "conns": conns}):
		    for r in recs:
		        print("   ", " ".join("%s=%s" % (k, r.get(k)) for k in ("message", "orig_id", "received",
		                                                              "deliveries", "deliveries_tls", "deliveries_clear")))
		    print("    summary.messages:", summ)
		    print("    summary.connections:", conns)
		    print("    swaks was told:", ids, " filter hand-overs X Y:", links)
		EOF
	)
	[ -z "$why" ] && ok_ || fail_ "$msg; got:
$why"
}

case_ "one message record per message: Y's, orig_id the X swaks was told"
check "want 5 records, message Y and orig_id X" -- \
	'len(recs) == 5 and set(by) == set(ids) and all(by.get(x, {}).get("message") == y for x, y in links.items())'

case_ "received is the original client's: tls for the 3 sent with STARTTLS, clear for the 2"
check "received by orig_id" -- 'len(recs) == 5 and all(by.get(x, {}).get("received") == t for x, t in ids.items())'
# Y itself was received in clear over loopback (local); the TLS ones must stay tls
check "with --loopback-local: tls for the 3, local for the 2 (swaks is on loopback)" --loopback-local -- \
	'len(recs) == 5 and all(by.get(x, {}).get("received") == {"tls": "tls", "clear": "local"}[t] for x, t in ids.items())'

case_ "the hop into the filter is a delivery in clear; with --loopback-local no hop"
check "want deliveries 2, tls 1, clear 1" -- \
	'len(recs) == 5 and all((r.get("deliveries"), r.get("deliveries_tls"), r.get("deliveries_clear")) == (2, 1, 1) for r in recs)'
check "--loopback-local: want deliveries 1, tls 1, clear 0" --loopback-local -- \
	'len(recs) == 5 and all((r.get("deliveries"), r.get("deliveries_tls"), r.get("deliveries_clear")) == (1, 1, 0) for r in recs)'

case_ "summary: 5 messages, 3 received over TLS, 2 in clear, 5 continued"
check "summary.messages total, received_tls, received_clear, continued: want 5 3 2 5" -- \
	'(summ.get("total"), summ.get("received_tls"), summ.get("received_clear"), summ.get("continued")) == (5, 3, 2, 5)'
check "--loopback-local: total, received_tls, received_local, deliveries, deliveries_tls: want 5 3 2 5 5" --loopback-local -- \
	'[summ.get(k) for k in ("total", "received_tls", "received_local", "deliveries", "deliveries_tls")] == [5, 3, 2, 5, 5]'

# Every peer here is loopback: swaks (3 sessions with STARTTLS, 2 without), the filter's
# re-injections, the hops into the filter, the TLS delivery.  By default the clear ones are
# connections like any other; with --loopback-local they are local, counted apart, and the
# TLS ones stay as they were.
case_ "connections over loopback: counted by default; with --loopback-local the clear ones are local"
check "inbound tls 3, none >= 3 (2 swaks + re-injections), local 0" -- \
	'conns["inbound"]["tls"] == 3 and conns["inbound"]["none"] >= 3 and conns["inbound"]["local"] == 0 and conns["outbound"]["none"] >= 1'
check "--loopback-local: inbound tls 3, none 0, local >= 3; outbound tls >= 1, none 0, local >= 1" --loopback-local -- \
	'(conns["inbound"]["tls"], conns["inbound"]["none"], conns["outbound"]["none"]) == (3, 0, 0) and conns["inbound"]["local"] >= 3 and conns["outbound"]["local"] >= 1 and conns["outbound"]["tls"] >= 1'

# Every message has its clear hop into the filter: all 5 listed, once each.  With
# --loopback-local none is: the hop is local, and so is the clear reception of the 2 sent
# without STARTTLS (swaks is on loopback).  That half holds without the linking as well
# (X and Y records both drop out); it guards --loopback-local on the linked record.
case_ "--messages --no-tls: all 5 once; with --loopback-local none"
n1=$("$LS" --messages --no-tls --csv "$LOG" | grep -c "^message,")
n2=$("$LS" --messages --no-tls --csv --loopback-local "$LOG" | grep -c "^message,")
CMD="logscan --messages --no-tls --csv [--loopback-local] $LOG"
[ "$n1 $n2" = "5 0" ] && ok_ || fail_ "listed $n1 and, with --loopback-local, $n2 (want 5 0)"

# A race: Y delivered (to discard:, at once) and gone from the queue before the filter's
# "queued as Y" reply is logged for X (the reviewer saw it in 1 message of 5).  Six more,
# over STARTTLS, to fast.out.example: each must still be one message, received over TLS.
postconf -c "$C" -e "relay_domains = tls.out.example fast.out.example" \
	"transport_maps = inline:{tls.out.example=smtp:[127.0.0.1]:$P_TLS, fast.out.example=discard:}"
postfix -c "$C" reload >/dev/null 2>&1
sleep 0.5
: >"$T/ids2"
for i in 1 2 3 4 5 6; do
	out=$(swaks --server 127.0.0.1 --port "$PORT_good" --tls --helo client.test \
		--from s@test.example --to "f$i@fast.out.example" --timeout 10 2>&1)
	grep -o 'queued as [0-9A-Za-z]*' <<<"$out" | tail -1 | sed "s/queued as //" >>"$T/ids2"
done
for _ in $(seq 150); do [ "$(grep -c "postfix/discard.*status=sent" "$LOG")" -ge 6 ] && [ "$(links | wc -l)" -ge 11 ] && break; sleep 0.1; done
sleep 0.5
raced=$($PY - "$LOG" <<-'EOF'
	import re, sys
	gone, n = set(), 0
	for l in open(sys.argv[1]):
	    m = re.search(r": ([0-9A-F]+): removed$", l)
	    if m:
	        gone.add(m.group(1))
	    m = re.search(r"postfix/filt/smtp.*queued as ([0-9A-Za-z]+)\)$", l)
	    if m and m.group(1) in gone:
	        n += 1
	print(n)
	EOF
)
case_ "a message gone from the queue before its filter's reply is logged ($raced of 6 here) is still one"
check "want 11 records; the 6 by swaks' ids, received tls" -- \
	"len(recs) == 11 and all(by.get(x, {}).get('received') == 'tls' for x in open('$T/ids2').read().split()) and len(open('$T/ids2').read().split()) == 6"
finish
