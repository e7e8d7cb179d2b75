#!/usr/bin/env bash
# logscan on what a real Postfix smtp client wrote, checked against what the receiving end
# saw.  Two of our receivers on loopback: one offering STARTTLS, one not.  Postfix (the
# "good" listener takes the messages in over STARTTLS) routes tls.out.example to the first
# and clear.out.example, through the "relay" transport (logged as postfix/relay/smtp, as
# the stock master.cf names it; Postfix 2 wrote postfix/relay), to the second, with TLS connection reuse (tlsproxy) and the connection
# cache on, in three rounds: messages for both alternating as they come (one smtp process
# goes from a TLS connection to a clear one on the same address); a backlog of both released
# at once (cached connections taken by other processes, conn_use=N); a backlog for the TLS
# one with one process at a time ("TLS connection reused to").  The receivers' own session
# records are the truth: logscan's outbound connections must be their sessions (TLS: the
# first's, none: the second's), its TLS and clear deliveries their messages, and
# --messages --no-tls must list exactly the messages for clear.out.example; logscan on the
# receivers' own (AsyncOS-format) mail logs must agree, inbound.  A fourth round
# requires TLS of both (smtp_tls_policy_maps), which both fail: two required-TLS failures,
# "STARTTLS not advertised" and "certificate not verified".
. "$(dirname "$0")/lib.sh"
need_root
need_cmd postfix postconf postqueue swaks certtool
LS=$ROOT/logscan/logscan
RCV=$ROOT/receiver/receiver
[ -x "$LS" ] && [ -x "$RCV" ] || skip "logscan or receiver not built (run make)"
export MAILTLS_SCENARIOS="good"
setup_pki
start_postfix

start_receiver() { # name port policy [args]
	local name=$1 port=$2 pol=$3
	shift 3
	"$RCV" -d "$T/$name" -l "127.0.0.1:$port" --discard --no-rdns --policy "$pol" "$@" >"$T/$name.err" 2>&1 &
	BAD_PIDS+=($!) # lib.sh's cleanup stops them
	for _ in $(seq 100); do grep -q "listening on" "$T/$name.err" && return 0; sleep 0.05; done
	cat "$T/$name.err"
	echo "FATAL: receiver $name did not start"
	exit 1
}
P_TLS=$(free_port)
start_receiver rtls "$P_TLS" preferred --cert "$PKI/good.chain.pem" --key "$PKI/good.key"
P_CLR=$(free_port)
start_receiver rclr "$P_CLR" off

C=$PFDIR/etc
pf() { postconf -c "$C" -e "$@" && postfix -c "$C" reload >/dev/null 2>&1; sleep 0.5; }
echo 'tlsproxy  unix  -       -       n       -       0       tlsproxy' >>"$C/master.cf"
pf "relay_domains = tls.out.example clear.out.example" \
	"transport_maps = inline:{tls.out.example=smtp:[127.0.0.1]:$P_TLS, clear.out.example=relay:[127.0.0.1]:$P_CLR}" \
	"smtp_tls_security_level = may" "smtp_tls_loglevel = 1" "smtp_tls_connection_reuse = yes" \
	"smtp_connection_cache_destinations = [127.0.0.1]:$P_TLS [127.0.0.1]:$P_CLR"

sent=0
send() { # rcpt
	swaks --server 127.0.0.1 --port "$PORT_good" --tls --helo client.test --from s@test.example --to "$1" \
		--silent 2 --timeout 10 >>"$T/swaks.log" 2>&1 && sent=$((sent + 1))
}
release() { pf "defer_transports =" && postqueue -c "$C" -f; }
case_ "three rounds of messages reach Postfix"
for i in 1 2 3; do send "a$i@tls.out.example"; send "a$i@clear.out.example"; done
pf "defer_transports = smtp relay"
for i in 1 2 3 4; do send "b$i@tls.out.example"; send "b$i@clear.out.example"; done
release
pf "defer_transports = smtp" "smtp_destination_concurrency_limit = 1"
for i in 1 2 3 4; do send "c$i@tls.out.example"; done
release
[ "$sent" = 18 ] && ok_ || { cat "$T/swaks.log"; fail_ "swaks sent $sent of 18"; }

# every message delivered, and every session over (a cached connection closes after 2 s):
# each receiver session carries a message, so the sessions are all in when the messages are
msgs() { cat "$T/$1/sessions.jsonl" 2>/dev/null | $PY -c 'import json,sys; print(sum(len(json.loads(l).get("messages",[])) for l in sys.stdin if l.strip()))'; }
sessions() { grep -c . "$T/$1/sessions.jsonl" 2>/dev/null || echo 0; }
for _ in $(seq 150); do
	[ "$(($(msgs rtls) + $(msgs rclr)))" -ge 18 ] && break
	sleep 0.1
done
LOG=$PFDIR/maillog
M_TLS=$(msgs rtls) M_CLR=$(msgs rclr) S_TLS=$(sessions rtls) S_CLR=$(sessions rclr)
case_ "the receivers took every message (TLS one: 11, clear one: 7)"
[ "$M_TLS" = 11 ] && [ "$M_CLR" = 7 ] && ok_ || fail_ "receivers: $M_TLS and $M_CLR messages"

case_ "Postfix reused connections: conn_use= and \"TLS connection reused to\" logged; relay as postfix/relay"
if grep -q "postfix/smtp\[[0-9]*\]: .*TLS connection reused to" "$LOG" && grep -q ", conn_use=[0-9]" "$LOG" &&
	grep -Eq "postfix/relay(/smtp)?\[[0-9]+\]: .*relay=127.0.0.1" "$LOG"; then ok_; else
	fail_ "no connection reuse (or no postfix/relay line) in Postfix's log: the rounds did not exercise them"; fi

js() { $PY -c "import json,sys; d=json.load(sys.stdin)['summary']; print($1)"; }
case_ "outbound connections are the receivers' sessions ($S_TLS TLS, $S_CLR clear)"
got=$($LS --json "$LOG" | js 'd["connections"]["outbound"]["tls"], d["connections"]["outbound"]["none"], d["connections"]["outbound"]["total"]')
[ "$got" = "$S_TLS $S_CLR $((S_TLS + S_CLR))" ] && ok_ || fail_ "outbound tls/none/total: $got (want $S_TLS $S_CLR $((S_TLS + S_CLR)))"

case_ "deliveries over TLS and in clear are the receivers' messages"
got=$($LS --json "$LOG" | js 'd["messages"]["deliveries_tls"], d["messages"]["deliveries_clear"]')
[ "$got" = "$M_TLS $M_CLR" ] && ok_ || fail_ "deliveries tls/clear: $got (want $M_TLS $M_CLR)"

case_ "--messages --no-tls lists exactly the messages for clear.out.example"
$LS --messages --no-tls --csv "$LOG" >"$T/notls.csv"
n=$(grep -c "^message," "$T/notls.csv")
other=$(grep "^message," "$T/notls.csv" | grep -vc ",clear.out.example," || true)
[ "$n" = "$M_CLR" ] && [ "$other" = 0 ] && ok_ || { cat "$T/notls.csv"; fail_ "listed $n (want $M_CLR), $other for another domain"; }

# the other end of the same traffic: the receivers write AsyncOS mail_logs, and logscan must
# see there, inbound, what it saw in Postfix's log, outbound
case_ "the receivers' own mail logs agree: $S_TLS TLS and $S_CLR clear sessions, $M_TLS and $M_CLR messages"
got=$($LS --json "$T/rtls/mail.log" "$T/rclr/mail.log" | js 'd["connections"]["inbound"]["tls"], d["connections"]["inbound"]["none"], d["messages"]["received_tls"], d["messages"]["received_clear"]')
[ "$got" = "$S_TLS $S_CLR $M_TLS $M_CLR" ] && ok_ || fail_ "receivers' logs: $got"

# Round four: TLS required of both (smtp_tls_policy_maps): "encrypt" for the receiver that
# offers no STARTTLS ("TLS is required, but was not offered"), "secure" for the other, whose
# certificate names mx.test.example, not the next hop 127.0.0.1 ("server certificate
# verification failed ... hostname mismatch", then "Server certificate not verified")
mark=$(wc -l <"$LOG")
pf "smtp_tls_connection_reuse = no" "smtp_destination_concurrency_limit = 20" "smtp_tls_CAfile = $PKI/ca.pem" \
	"smtp_tls_policy_maps = inline:{[127.0.0.1]:$P_CLR=encrypt, [127.0.0.1]:$P_TLS=secure}"
send "d1@clear.out.example"
send "d2@tls.out.example"
for _ in $(seq 100); do
	[ "$(tail -n +$((mark + 1)) "$LOG" | grep -c 'status=deferred')" -ge 2 ] && [ "$(sessions rclr)" -gt "$S_CLR" ] &&
		[ "$(sessions rtls)" -gt "$S_TLS" ] && break
	sleep 0.1
done
tail -n +$((mark + 1)) "$LOG" >"$T/round4.log"
case_ "required TLS: one not offered, one certificate not verified"
got=$($LS --json "$T/round4.log" | js 'd["required_failures"]["total"], d["required_failures"]["by_cause"].get("STARTTLS not advertised", 0), d["required_failures"]["by_cause"].get("certificate not verified", 0)')
[ "$got" = "2 1 1" ] && ok_ || { grep -v smtpd "$T/round4.log"; fail_ "required failures total/not advertised/not verified: $got"; }
case_ "the failed attempts are the receivers' new sessions: one TLS, one clear, none delivered"
got=$($LS --json "$T/round4.log" | js 'd["connections"]["outbound"]["tls"], d["connections"]["outbound"]["none"], d["messages"]["deliveries"]')
want="$(($(sessions rtls) - S_TLS)) $(($(sessions rclr) - S_CLR)) 0"
[ "$got" = "$want" ] && ok_ || fail_ "outbound tls/none, deliveries: $got (want $want)"
case_ "the TLS connection carries the verification failure"
$LS --all --csv "$T/round4.log" | grep "^connection,.*,out,.*,tls," >"$T/r4conn.csv"
grep -q "hostname mismatch" "$T/r4conn.csv" && grep -q "certificate not verified" "$T/r4conn.csv" && ok_ ||
	{ cat "$T/r4conn.csv"; fail_ "no verification failure on the outbound TLS connection"; }
case_ "--tlsrpt: tls.out.example's failure is certificate-host-mismatch, clear.out.example's starttls-not-supported"
$LS --tlsrpt --org-name test.example --contact tlsrpt@test.example "$T/round4.log" >"$T/rpt.json"
got=$($PY - "$T/rpt.json" <<'PYEOF'
import json, sys
t = {}
for line in open(sys.argv[1]):
    if not line.strip():
        continue
    for p in json.loads(line)["policies"]:
        for f in p.get("failure-details", []):
            t[p["policy"]["policy-domain"]] = f["result-type"]
print(t.get("tls.out.example"), t.get("clear.out.example"))
PYEOF
)
[ "$got" = "certificate-host-mismatch starttls-not-supported" ] && ok_ || { cat "$T/rpt.json"; fail_ "result types: $got"; }
finish
