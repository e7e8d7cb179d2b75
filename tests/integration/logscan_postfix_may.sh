#!/usr/bin/env bash
# shellcheck disable=SC2015 # "... && ok_ || fail_": ok_ always succeeds
# logscan on a real Postfix smtp client whose STARTTLS handshakes fail, at
# smtp_tls_security_level may and encrypt.  The next hop is badsmtp.py closehs: it
# advertises STARTTLS, answers 220, reads the ClientHello and hangs up; in clear it takes
# the mail.  Postfix writes the same deferral at both levels on the first attempt,
# "status=deferred (Cannot start TLS: handshake failure)"; at may a later attempt (once the
# message has waited minimal_backoff_time, 2 s here) logs "QID: Cannot start TLS: handshake
# failure", hangs up and delivers in clear on a new connection; at encrypt it defers again.
# The truth: badsmtp's own count of connections, and the levels we set.  Checked: the may
# messages' deferrals are not required-TLS failures (summary: handshake_failed_sent_clear),
# the encrypt message's two are; outbound connections are badsmtp's (every TLS attempt
# failed, the clear retries none); TLS-RPT counts every failed handshake as a failed
# session, at may too; the may messages are delivered in clear.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd postfix postconf postqueue postsuper swaks certtool
LS=$ROOT/logscan/logscan
[ -x "$LS" ] || skip "logscan not built (run make)"
export MAILTLS_SCENARIOS="good"
setup_pki
start_postfix
: "${PORT_good:?}" # set by start_postfix
start_bad closehs --count 0
P_MAY=$BAD_PORT
start_bad closehs --count 0
P_ENC=$BAD_PORT
C=$PFDIR/etc
LOG=$PFDIR/maillog
pf() { postconf -c "$C" -e "$@" && postfix -c "$C" reload >/dev/null 2>&1; sleep 0.5; }
pf "relay_domains = may.example enc.example" \
	"transport_maps = inline:{may.example=smtp:[127.0.0.1]:$P_MAY, enc.example=smtp:[127.0.0.1]:$P_ENC}" \
	"smtp_tls_security_level = may" "smtp_tls_loglevel = 1" \
	"smtp_tls_policy_maps = inline:{[127.0.0.1]:$P_ENC=encrypt}" \
	"minimal_backoff_time = 2s" "maximal_backoff_time = 4s" "queue_run_delay = 2s"
sent=0
send() { # rcpt
	swaks --server 127.0.0.1 --port "$PORT_good" --helo client.test --from s@test.example --to "$1" \
		--silent 2 --timeout 10 >>"$T/swaks.log" 2>&1 && sent=$((sent + 1))
}
count() { grep -c -- "$1" "$LOG" 2>/dev/null || true; }
wait_for() { # pattern n
	for _ in $(seq 200); do [ "$(count "$1")" -ge "$2" ] && return 0; sleep 0.1; done
	return 1
}
case_ "first attempts: three deferrals (two at may, one at encrypt)"
send m1@may.example
send m2@may.example
send e1@enc.example
wait_for "status=deferred (Cannot start TLS: handshake failure)" 3 && [ "$sent" = 3 ] && ok_ ||
	{ cat "$T/swaks.log"; fail_ "sent $sent, deferrals: $(count 'status=deferred')"; }
case_ "after minimal_backoff_time: the may messages go in clear, the encrypt one is deferred again"
sleep 2.5
postqueue -c "$C" -f
wait_for ": Cannot start TLS: handshake failure$" 2 && wait_for "status=sent" 2 &&
	for _ in $(seq 100); do [ "$(grep -c "e1@enc.example.*status=deferred" "$LOG")" -ge 2 ] && break; sleep 0.1; done &&
	[ "$(grep -c "e1@enc.example.*status=deferred" "$LOG")" -ge 2 ] && ok_ ||
	{ grep "postfix/smtp\[" "$LOG"; fail_ "fallback lines $(count ': Cannot start TLS: handshake failure$'), sent $(count status=sent)"; }
# no further attempt: every message on hold, the attempts under way logged, then stop
postsuper -c "$C" -h ALL >/dev/null 2>&1
sleep 1
postfix -c "$C" stop >/dev/null 2>&1
sleep 0.5
CONNS=$(grep -c "connection [0-9]* from" "$T/badsmtp.log")
# an attempt before minimal_backoff_time defers at may too: how many each got varies
N_ENC=$(grep -c "e1@enc.example.*status=deferred (Cannot start TLS" "$LOG")
N_MAY=$(grep -c "@may.example.*status=deferred (Cannot start TLS" "$LOG")

js() { $PY -c "import json,sys; d=json.load(sys.stdin)['summary']; print($1)"; }
case_ "required-TLS failures: the encrypt message's $N_ENC deferrals; the may ones' $N_MAY withdrawn"
got=$($LS --json "$LOG" | js 'd["required_failures"]["total"], d["required_failures"]["by_cause"].get("TLS handshake failed", 0), d["required_failures"]["handshake_failed_sent_clear"]')
[ "$got" = "$N_ENC $N_ENC $N_MAY" ] && ok_ || fail_ "total, handshake failed, sent in clear: $got (want $N_ENC $N_ENC $N_MAY)"
case_ "--required-failures lists only the encrypt message"
eq=$(grep "e1@enc.example" "$LOG" | head -1 | sed -E 's/.*: ([0-9A-F]+): .*/\1/')
$LS --required-failures --csv "$LOG" >"$T/rf.csv"
n=$(grep -c "^required_failure," "$T/rf.csv")
other=$(grep "^required_failure," "$T/rf.csv" | grep -vc ",$eq," || true)
[ -n "$eq" ] && [ "$n" = "$N_ENC" ] && [ "$other" = 0 ] && ok_ || { cat "$T/rf.csv"; fail_ "listed $n, $other not for $eq"; }
case_ "outbound connections are badsmtp's $CONNS: every TLS attempt failed, the two clear retries none"
got=$($LS --json "$LOG" | js 'd["connections"]["outbound"]["total"], d["connections"]["outbound"]["failed"], d["connections"]["outbound"]["none"], d["connections"]["outbound"]["tls"]')
[ "$got" = "$CONNS $((CONNS - 2)) 2 0" ] && ok_ || fail_ "outbound total/failed/none/tls: $got (want $CONNS $((CONNS - 2)) 2 0)"
case_ "--tlsrpt: every failed handshake is a failed session ($((CONNS - 2))), at may too"
got=$($LS --tlsrpt --org-name test.example --contact tlsrpt@test.example "$LOG" | $PY -c '
import json, sys
print(sum(p["summary"]["total-failure-session-count"] for l in sys.stdin if l.strip() for p in json.loads(l)["policies"]))')
[ "$got" = "$((CONNS - 2))" ] && ok_ || fail_ "failed sessions: $got"
case_ "the may messages were delivered in clear"
got=$($LS --json "$LOG" | js 'd["messages"]["deliveries"], d["messages"]["deliveries_clear"], d["messages"]["deliveries_tls"]')
[ "$got" = "2 2 0" ] && ok_ || fail_ "deliveries/clear/tls: $got"
finish
