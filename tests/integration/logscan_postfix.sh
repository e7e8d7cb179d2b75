#!/usr/bin/env bash
# logscan on what a real Postfix smtpd wrote: three sessions sent with swaks over loopback,
# over STARTTLS to a listener with smtpd_tls_loglevel = 1 ("good"), over STARTTLS to one
# with smtpd_tls_loglevel = 0 ("quiet", Postfix's default: no TLS line, only the disconnect
# counters), and in clear to one without TLS ("notls"); each sends one message.  logscan
# must count both TLS sessions and their messages as TLS, the clear one as clear.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd postfix certtool swaks gnutls-cli
LS=$ROOT/logscan/logscan
[ -x "$LS" ] || skip "$LS not built (run make)"
export MAILTLS_SCENARIOS="good notls quiet tls13"
setup_pki
start_postfix

send() { # port [--tls]
	swaks --server 127.0.0.1 --port "$1" ${2:-} --helo client.test --from s@test.example \
		--to "u$1@test.example" --silent 2 --timeout 10 >>"$T/swaks.log" 2>&1
}
case_ "three sessions reach Postfix"
if send "$PORT_good" --tls && send "$PORT_quiet" --tls && send "$PORT_notls"; then ok_; else
	cat "$T/swaks.log"; fail_ "swaks could not send"; fi

# wait until each session's disconnect and each message's "removed" are logged
for _ in $(seq 100); do
	n_dis=$(postfix_log | grep -Ec "postfix/(good|quiet|notls)/smtpd\[[0-9]+\]: disconnect from")
	n_rm=$(postfix_log | grep -c ": removed$")
	[ "$n_dis" -ge 3 ] && [ "$n_rm" -ge 3 ] && break
	sleep 0.1
done
LOG=$PFDIR/maillog

case_ "the quiet listener logged no TLS line, only the counter"
if postfix_log | grep -q "postfix/quiet/smtpd.*TLS connection established"; then
	fail_ "smtpd_tls_loglevel=0 still logged a TLS line"
elif ! postfix_log | grep -q "postfix/quiet/smtpd.*disconnect from .* starttls=1"; then
	fail_ "no starttls=1 counter in the quiet listener's disconnect line"
else ok_; fi
case_ "the good listener logged its TLS line"
postfix_log | grep -q "postfix/good/smtpd.*TLS connection established from" && ok_ || fail_ "no TLS line from good"

js() { $PY -c "import json,sys; d=json.load(sys.stdin)['summary']; print($1)"; }
case_ "messages: two received over TLS, one in clear"
got=$($LS --json "$LOG" | js 'd["messages"]["received_tls"], d["messages"]["received_clear"]')
[ "$got" = "2 1" ] && ok_ || fail_ "received tls/clear: $got (want 2 1)"

# (postfix.sh's readiness probe adds a session per listener: EHLO, then it hangs up)
case_ "the quiet listener's STARTTLS sessions count as TLS, protocol not logged"
grep "postfix/quiet/smtpd" "$LOG" >"$T/quiet.log"
want=$(grep -c "disconnect from .* starttls=1 " "$T/quiet.log")
got=$($LS --json "$T/quiet.log" | js 'd["connections"]["inbound"]["tls"], [p["protocol"] for p in d["protocols"]]')
[ "$want" -ge 1 ] && [ "$got" = "$want ['(not logged)']" ] && ok_ || fail_ "quiet sessions: $got (want $want TLS)"

case_ "the clear listener's sessions count as none"
grep "postfix/notls/smtpd" "$LOG" >"$T/notls.log"
got=$($LS --json "$T/notls.log" | js 'd["connections"]["inbound"]["total"] >= 1, d["connections"]["inbound"]["total"] == d["connections"]["inbound"]["none"]')
[ "$got" = "True True" ] && ok_ || fail_ "notls sessions: $got"

# a client that offers only TLS 1.2 to a listener that takes TLS 1.3 or later: the handshake
# fails, and Postfix logs why (SSL_accept error, the TLS library's reason, lost connection
# after STARTTLS)
case_ "a failed inbound handshake is a failed TLS connection with the library's reason"
printf 'EHLO client.test\r\nSTARTTLS\r\n' | timeout 10 gnutls-cli --crlf --starttls-proto=smtp --insecure \
	--priority 'NORMAL:-VERS-ALL:+VERS-TLS1.2' -p "$PORT_tls13" 127.0.0.1 >"$T/t13.out" 2>&1
for _ in $(seq 100); do
	postfix_log | grep -q "postfix/tls13/smtpd.*disconnect from" && break
	sleep 0.1
done
grep "postfix/tls13/smtpd" "$PFDIR/maillog" >"$T/t13.log"
want=$(grep -c "SSL_accept error" "$T/t13.log")
got=$($LS --json "$T/t13.log" | js 'd["connections"]["inbound"]["failed"], any("protocol" in r["reason"] for r in d["failure_reasons"])')
[ "$want" -ge 1 ] && [ "$got" = "$want True" ] && ok_ || { cat "$T/t13.log"; $LS --failed "$T/t13.log"; fail_ "failed inbound: $got (want $want True)"; }

case_ "--messages --no-tls lists only the clear message"
got=$($LS --messages --no-tls --json "$LOG" | grep -c '"type":"message"')
[ "$got" = 1 ] && ok_ || fail_ "clear messages listed: $got"
finish
