#!/usr/bin/env bash
# relay_policy.sh — the ESA destination controls, end to end on loopback: each of None,
# Preferred, Required, Preferred-Verify and Required-Verify against a good server (a chain
# verifiable for the destination domain), one that offers no STARTTLS, an untrusted
# (self-signed) chain, a name mismatch, 454 to STARTTLS, a handshake that fails after the
# 220, and a STARTTLS-stripping proxy. Every server is reached through
# tests/fixtures/stripproxy.py (recording mode), so each case knows exactly what crossed the
# wire in clear: per case one message with a unique token is injected and `relay --once` run,
# then the attempt record's result, the receiver's spool, `relay queue` and the recording are
# checked against the expected outcome:
#   clear   delivered, and the token was seen in clear
#   tls     delivered over TLS, the token never seen in clear
#   queued  not delivered (deferred or held), still queued, neither MAIL FROM nor the token
#           ever seen in clear
# Then: badsmtp.py servers (454, handshake closed after the 220, no ESMTP), Postfix listeners
# (good, no TLS), the AsyncOS log lines, the TLS alert (through the relay to a sink), and DANE
# and MTA-STS over MX resolution (tests/fixtures/dnsfix, MX hosts on 127.x.y.z port 25).
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/fixtures/relay_env.sh"
. "$ROOT/tests/fixtures/mxprobe_env.sh"
need_relay
need_cmd openssl
setup_pki

DOM=dest.test.example
mkleaf dest "$DOM"
mkself destself "$DOM"
C=$T/certs

# --- the servers
P_GOOD=$(fport) P_UNTR=$(fport) P_MISM=$(fport) P_NOTLS=$(fport)
cat >"$T/r1.conf" <<EOF
hostname = sink.test.example
listen = 127.0.0.1:$P_GOOD cert=$C/dest.chain.pem key=$C/dest.key
listen = 127.0.0.1:$P_UNTR cert=$C/destself.chain.pem key=$C/destself.key
listen = 127.0.0.1:$P_MISM cert=$PKI/mismatch.chain.pem key=$PKI/mismatch.key
EOF
R1=$T/r1 R2=$T/r2
start_receiver R1PID "$R1" -c "$T/r1.conf"
start_receiver R2PID "$R2" -l "127.0.0.1:$P_NOTLS" --policy off --hostname notls.test.example

REC=$T/rec
mkdir -p "$REC"
start_proxy X_GOOD "$P_GOOD" "$REC/good" --pass
start_proxy X_NOTLS "$P_NOTLS" "$REC/notls" --pass
start_proxy X_UNTR "$P_UNTR" "$REC/untrusted" --pass
start_proxy X_MISM "$P_MISM" "$REC/mismatch" --pass
start_proxy X_454 "$P_GOOD" "$REC/s454" --refuse
start_proxy X_HS "$P_GOOD" "$REC/hsfail" --hsfail
start_proxy X_STRIP "$P_GOOD" "$REC/strip"

# conf NAME DOMAIN POLICY PORT [extra lines...]: a relay configuration with its own queue
conf() {
	local name=$1 dom=$2 pol=$3 port=$4
	shift 4
	mkdir -p "$T/q"
	{
		echo "queue_dir = $T/q/$name"
		echo "hostname = c-$name.relay.test.example"
		echo "cafile = $PKI/ca.pem"
		echo "timeout = 10"
		echo "retry = 600"
		echo "destination = $dom tls=$pol route=[127.0.0.1]:$port"
		printf '%s\n' "$@"
	} >"$T/q/$name.conf"
	CONF=$T/q/$name.conf
	ATTEMPTS=$T/q/$name/attempts.jsonl
	MAILLOG=$T/q/$name/mail.log
}

# the recording of the session a case made: the file where its EHLO name appears
recording() { grep -lF -- "EHLO c-$1.relay.test.example" "$REC"/*.* 2>/dev/null | head -1; }

maillog_has() { grep -qF -- "$1" "$MAILLOG" 2>/dev/null; }

# check NAME EXPECT SINK [RECORDED]: assertions after `relay --once` (see the header)
check() {
	local name=$1 want=$2 sink=$3 recorded=${4:-yes} res tls rec=""
	res=$(attempt_field "$MID" result)
	tls=$(attempt_field "$MID" tls)
	if [ "$recorded" = yes ]; then
		rec=$(recording "$name")
		[ -n "$rec" ] && ok_ || fail_ "the proxy recorded no session of this case (EHLO c-$name)"
	fi
	local arrived=no
	if [ "$sink" = postfix ]; then
		for _ in $(seq 30); do
			postfix_log | grep -qF "message-id=<$TOK@relay.test.example>" && { arrived=yes; break; }
			[ "$want" = queued ] && break
			sleep 0.1
		done
	elif [ -n "$sink" ] && spool_has "$sink" "$TOK"; then
		arrived=yes
	fi
	local clear=no
	[ -n "$rec" ] && grep -qaF -- "$TOK" "$rec" && clear=yes
	case $want in
	clear | tls)
		[ "$res" = delivered ] && ok_ || fail_ "attempt result '$res', want delivered"
		[ "$arrived" = yes ] && ok_ || fail_ "message did not arrive at the sink"
		in_queue "$CONF" "$MID" && fail_ "MID $MID still queued" || ok_
		if [ "$want" = clear ]; then
			[ "$tls" = false ] && ok_ || fail_ "attempt tls=$tls, want false"
			[ -z "$rec" ] || { [ "$clear" = yes ] && ok_ || fail_ "token not seen in clear"; }
		else
			[ "$tls" = true ] && ok_ || fail_ "attempt tls=$tls, want true"
			[ "$clear" = no ] && ok_ || fail_ "token seen in clear"
			maillog_has "TLS success protocol" && ok_ || fail_ "no 'TLS success' in mail.log"
		fi
		;;
	queued)
		[[ "$res" == deferred || "$res" == held ]] && ok_ ||
			fail_ "attempt result '$res', want deferred or held"
		[ "$arrived" = no ] && ok_ || fail_ "message arrived at the sink"
		in_queue "$CONF" "$MID" && ok_ || fail_ "MID $MID not in the queue"
		[ "$clear" = no ] && ok_ || fail_ "token seen in clear"
		if [ -n "$rec" ] && grep -qaiE '^MAIL FROM' "$rec"; then
			fail_ "MAIL FROM sent in clear"
		else
			ok_
		fi
		;;
	esac
}

# one NAME DOMAIN POLICY PORT EXPECT SINK [RECORDED]
one() {
	local name=$1 dom=$2 pol=$3 port=$4 want=$5 sink=$6 recorded=${7:-yes}
	case_ "$pol -> $name: $want"
	conf "$name" "$dom" "$pol" "$port"
	TOK=tok-$name-$RANDOM$RANDOM
	inject "$CONF" "rcpt@$dom" < <(mkmsg "$TOK") || return
	run_relay "$CONF" --once
	echo "  relay --once: $ELAPSED_MS ms, result $(attempt_field "$MID" result)"
	assert_exit 0
	check "$name" "$want" "$sink" "$recorded"
}

# --- the matrix (server columns: good notls untrusted mismatch 454 hsfail strip)
declare -A WANT
WANT[None]="clear clear clear clear clear clear clear"
WANT[Preferred]="tls clear tls tls clear queued clear"
WANT[Required]="tls queued tls tls queued queued queued"
WANT[Preferred-Verify]="tls clear tls tls clear queued clear"
WANT[Required-Verify]="tls queued queued queued queued queued queued"
SERVERS=(good notls untrusted mismatch s454 hsfail strip)
PORTS=("$X_GOOD" "$X_NOTLS" "$X_UNTR" "$X_MISM" "$X_454" "$X_HS" "$X_STRIP")
SINKS=("$R1" "$R2" "$R1" "$R1" "$R1" "$R1" "$R1")
for pol in None Preferred Required Preferred-Verify Required-Verify; do
	read -r -a w <<<"${WANT[$pol]}"
	for i in "${!SERVERS[@]}"; do
		s=${SERVERS[$i]}
		one "${pol,,}-$s" "$DOM" "$pol" "${PORTS[$i]}" "${w[$i]}" "${SINKS[$i]}"
		# per-case log lines
		case $pol/$s in
		None/*)
			r=$(recording "${pol,,}-$s")
			[ -n "$r" ] && grep -qaiF STARTTLS "$r" && fail_ "None sent STARTTLS" || ok_
			maillog_has "TLS success" && fail_ "None: TLS success logged" || ok_
			;;
		*/good | */untrusted | */mismatch)
			[ "${w[$i]}" = tls ] || [ "$s" = good ] ||
				{ maillog_has "TLS was required but could not be successfully negotiated" && ok_ ||
					fail_ "no 'TLS was required' line for a $pol failure"; }
			;;
		*/s454)
			maillog_has "TLS failed: STARTTLS unexpected response" && ok_ ||
				fail_ "no 'TLS failed: STARTTLS unexpected response'"
			grep -qE "Connection Error: DCID [0-9]+ domain: $DOM IP:127\.0\.0\.1 port: $X_454 details: 454" "$MAILLOG" &&
				ok_ || fail_ "no 'Connection Error: ... details: 454' line"
			;;
		*/hsfail)
			maillog_has "TLS failed" && ok_ || fail_ "no 'TLS failed' for a handshake failure"
			# no second connection in clear after the failed handshake
			r=$(grep -lF -- "EHLO c-${pol,,}-$s.relay.test.example" "$REC"/hsfail.* 2>/dev/null | wc -l)
			[ "$r" = 1 ] && ok_ || fail_ "$r connections for one attempt (a fall back to clear?)"
			# TLS was not required: nothing says it was
			if [[ $pol == Preferred* ]]; then
				maillog_has "TLS was required" && fail_ "'TLS was required' logged under $pol" || ok_
			fi
			;;
		esac
		if [[ $pol == Required* && ${w[$i]} == queued ]]; then
			maillog_has "TLS was required but could not be successfully negotiated" && ok_ ||
				fail_ "no 'TLS was required but could not be successfully negotiated'"
		fi
	done
done

case_ "Required-Verify: the attempt record names the faults"
conf required-verify-untrusted "$DOM" Required-Verify 0
attempt_field 1 faults | grep -qE 'self-signed|untrusted' && ok_ ||
	fail_ "untrusted: faults $(attempt_field 1 faults)"
conf required-verify-mismatch "$DOM" Required-Verify 0
attempt_field 1 faults | grep -q 'mismatch' && ok_ || fail_ "mismatch: faults $(attempt_field 1 faults)"
[ "$(attempt_field 1 verdict)" = fail ] && ok_ || fail_ "mismatch: verdict $(attempt_field 1 verdict)"
conf preferred-verify-untrusted "$DOM" Preferred-Verify 0
[ "$(attempt_field 1 trusted)" = false ] && ok_ || fail_ "Preferred-Verify untrusted: trusted=$(attempt_field 1 trusted)"

case_ "a deferred message is delivered once the server is fixed (no second copy in clear)"
# the Required message held back by the stripping proxy goes out over TLS when routed right
conf required-strip "$DOM" Required "$X_GOOD"
TOK=$(sed -n 's/^Message-ID: <\(tok-required-strip-[0-9]*\)@.*/\1/p' "$T/q/required-strip/msg/"* 2>/dev/null | head -1)
run_relay "$CONF" --once
assert_exit 0
[ "$(attempt_field 1 result)" = delivered ] && ok_ || fail_ "retry result $(attempt_field 1 result)"
spool_has "$R1" "$TOK" && ok_ || fail_ "retried message not at the sink"
grep -qaF -- "$TOK" "$REC"/* && fail_ "token seen in clear on retry" || ok_

# --- badsmtp.py: the scripted misbehaving servers (they take no DATA, so no clear delivery)
start_bad starttls454
B454=$BAD_PORT
start_bad closehs
BHS=$BAD_PORT
start_bad noesmtp
BNOE=$BAD_PORT
for pol in Required Required-Verify; do
	one "bad-${pol,,}-454" "$DOM" "$pol" "$B454" queued "" no
	maillog_has "TLS failed: STARTTLS unexpected response" && ok_ || fail_ "no TLS failed line"
	one "bad-${pol,,}-closehs" "$DOM" "$pol" "$BHS" queued "" no
	one "bad-${pol,,}-noesmtp" "$DOM" "$pol" "$BNOE" queued "" no
	maillog_has "TLS was required but could not be successfully negotiated" && ok_ ||
		fail_ "no 'TLS was required' line"
done
one bad-preferred-closehs "$DOM" Preferred "$BHS" queued "" no
one bad-preferred-verify-closehs "$DOM" Preferred-Verify "$BHS" queued "" no
# bytes injected after the 220 to STARTTLS: the session may not carry the message, under
# Preferred too; the log says it was held, not that TLS was required
start_bad inject --cert "$C/dest.chain.pem" --key "$C/dest.key"
BINJ=$BAD_PORT
for pol in Preferred Preferred-Verify; do
	one "bad-${pol,,}-inject" "$DOM" "$pol" "$BINJ" queued "" no
	[ "$(attempt_field "$MID" result)" = held ] && ok_ || fail_ "result $(attempt_field "$MID" result), want held"
	maillog_has "message held under $pol (no fall back to clear after STARTTLS was accepted)" &&
		ok_ || fail_ "no 'message held under $pol' line: $(grep DCID "$MAILLOG" | tail -3)"
	maillog_has "TLS was required" && fail_ "'TLS was required' logged under $pol" || ok_
	grep -qE "Connection Error: DCID [0-9]+ .* details: bytes injected after the 220 to STARTTLS .* reason: message held under $pol$" "$MAILLOG" &&
		ok_ || fail_ "no Connection Error line naming the injection: $(grep 'Connection Error' "$MAILLOG")"
done
case_ "badsmtp: no MAIL FROM ever reached the misbehaving servers"
grep -q '<- MAIL' "$T/badsmtp.log" && fail_ "MAIL sent: $(grep '<- MAIL' "$T/badsmtp.log" | head -3)" || ok_
[ "$(grep -c '<- STARTTLS' "$T/badsmtp.log")" -ge 8 ] && ok_ || fail_ "STARTTLS not tried on the bad servers"

# --- Postfix listeners (good: mx.test.example chain; notls: no STARTTLS)
if [ "$(id -u)" = 0 ] && command -v postfix >/dev/null; then
	MAILTLS_SCENARIOS="good notls" start_postfix
	start_proxy X_PFGOOD "$PORT_good" "$REC/pfgood" --pass
	start_proxy X_PFNOTLS "$PORT_notls" "$REC/pfnotls" --pass
	declare -A PFW=([None]="clear clear" [Preferred]="tls clear" [Required]="tls queued"
		[Preferred-Verify]="tls clear" [Required-Verify]="tls queued")
	for pol in None Preferred Required Preferred-Verify Required-Verify; do
		read -r -a w <<<"${PFW[$pol]}"
		one "pf-${pol,,}-good" mx.test.example "$pol" "$X_PFGOOD" "${w[0]}" postfix
		one "pf-${pol,,}-notls" mx.test.example "$pol" "$X_PFNOTLS" "${w[1]}" postfix
	done
	case_ "Postfix saw TLS from the relay under Required-Verify"
	postfix_log | grep -qE 'postfix/good/smtpd.*Anonymous TLS connection established from .*127\.0\.0\.1|postfix/good/smtpd.*TLS connection established from' &&
		ok_ || fail_ "no TLS connection in Postfix's log"
else
	echo "note: Postfix rows skipped (needs root and postfix)"
fi

# --- the alert: tls_alert=yes, alert_to a domain routed to the sink
case_ "TLS alerts name the destination and the cause, and reach the sink"
AQ=$T/q/alerts
cat >"$T/q/alerts.conf" <<EOF
queue_dir = $AQ
hostname = c-alerts.relay.test.example
cafile = $PKI/ca.pem
timeout = 10
retry = 600
tls_alert = yes
alert_to = ops@alerts.test.example
destination = alerts.test.example tls=None route=[127.0.0.1]:$P_GOOD
destination = strip.test.example tls=Required route=[127.0.0.1]:$X_STRIP
destination = r454.test.example tls=Required route=[127.0.0.1]:$B454
destination = noesmtp.test.example tls=Required route=[127.0.0.1]:$BNOE
destination = $DOM tls=Required-Verify route=[127.0.0.1]:$P_UNTR
EOF
CONF=$T/q/alerts.conf MAILLOG=$AQ/mail.log ATTEMPTS=$AQ/attempts.jsonl
for d in strip.test.example r454.test.example noesmtp.test.example "$DOM"; do
	inject "$CONF" "x@$d" < <(mkmsg "alert-$d-$RANDOM")
done
run_relay "$CONF" --once
assert_exit 0
run_relay "$CONF" --once # the alerts queued by the first pass
assert_exit 0
A=$(grep -rlF "ops@alerts.test.example" "$R1/spool/new" 2>/dev/null)
[ -n "$A" ] && ok_ || fail_ "no alert message at the sink"
alert_for() { # DOMAIN CAUSE-REGEX: an alert naming DOMAIN carries the cause
	local f
	for f in $A; do
		grep -qF "Destination domain: $1" "$f" || continue
		grep -qiE "Cause: .*($2)" "$f" && return 0
	done
	return 1
}
alert_for strip.test.example 'STARTTLS not advertised' && ok_ || fail_ "no alert for strip.test.example (STARTTLS not advertised)"
alert_for r454.test.example 'STARTTLS' && ok_ || fail_ "no alert for r454.test.example (error answering STARTTLS)"
alert_for noesmtp.test.example 'ESMTP' && ok_ || fail_ "no alert for noesmtp.test.example (no ESMTP)"
alert_for "$DOM" 'verif' && ok_ || fail_ "no alert for $DOM (verification failed)"
for d in strip.test.example r454.test.example noesmtp.test.example "$DOM"; do
	grep -qE "Warning: TLS alert: MID [0-9]+ to $d: TLS was required but could not be successfully negotiated" "$MAILLOG" &&
		ok_ || fail_ "no Warning line for $d"
	grep -qE "TLS alert about $d queued to ops@alerts.test.example" "$MAILLOG" && ok_ ||
		fail_ "alert about $d not queued"
done
[ "$(jq -s '[.[] | select(.result=="delivered" and (.rcpts|index("ops@alerts.test.example")))] | length' "$ATTEMPTS")" -ge 1 ] &&
	ok_ || fail_ "no delivered attempt of an alert"
# the four messages stay queued; the alerts are gone
n=$("$RELAY" -c "$CONF" queue --json | jq -s '[.[] | if type=="array" then .[] else . end] | length')
[ "$n" = 4 ] && ok_ || fail_ "$n messages queued after the alerts went out, want 4"

# --- DANE and MTA-STS: MX resolution through dnsfix; MX hosts on 127.x.y.z port 25
case_ "DANE and MTA-STS (MX resolution)"
dane_sts() {
	[ "$(id -u)" = 0 ] || { echo "note: DANE/MTA-STS cases need root (port 25)"; return 1; }
	[ -x "$DNSFIX" ] || { echo "note: $DNSFIX not built"; return 1; }
	local a b c
	for _ in $(seq 20); do
		a=$((RANDOM % 200 + 20)) b=$((RANDOM % 250 + 1)) c=$((RANDOM % 250 + 2))
		MXA=127.$a.$b.$c
		"$PY" -c "import socket,sys; s=socket.socket(); s.bind(('$MXA',25))" 2>/dev/null && return 0
	done
	echo "note: no free 127.x.y.z:25"
	return 1
}
if dane_sts; then
	mkleaf mx mx1.dane.test mx1.sts.test
	start_receiver R3PID "$T/r3" -l "$MXA:25" --cert "$C/mx.chain.pem" --key "$C/mx.key" \
		--hostname mx1.dane.test
	HASH=$(tlsa_spki "$C/mx.pem")
	start_sts_https mta-sts.enf.sts.test mta-sts.nomatch.sts.test mta-sts.testing.sts.test
	Z=$T/zones
	mkdir -p "$Z"
	{
		echo '$ORIGIN dane.test.'
		echo '$TTL 300'
		echo '@ SOA ns hostmaster 1 3600 600 86400 300'
		echo "mx1 A $MXA"
		echo 'good MX 10 mx1.dane.test.'
		echo 'bad MX 10 mx1b.dane.test.'
		echo "mx1b A $MXA"
		echo "_25._tcp.mx1 TLSA 3 1 1 $HASH"
		echo "_25._tcp.mx1b TLSA 3 1 1 $(printf '%064d' 0 | tr 0 a)"
	} >"$Z/dane.test.zone"
	{
		echo '$ORIGIN sts.test.'
		echo '$TTL 300'
		echo '@ SOA ns hostmaster 1 3600 600 86400 300'
		echo "mx1 A $MXA"
		for d in enf nomatch testing; do
			echo "$d MX 10 mx1.sts.test."
			echo "_mta-sts.$d TXT \"v=STSv1; id=20260101\""
			echo "mta-sts.$d A 127.0.0.1"
		done
	} >"$Z/sts.test.zone"
	start_dns "$Z/dane.test.zone:signed" "$Z/sts.test.zone"
	pol() { printf 'version: STSv1\r\nmode: %s\r\nmx: %s\r\nmax_age: 86400\r\n' "$1" "$2"; }
	pol enforce mx1.sts.test >"$T/sts/mta-sts.enf.sts.test"
	pol enforce mx.other.example >"$T/sts/mta-sts.nomatch.sts.test"
	pol testing mx.other.example >"$T/sts/mta-sts.testing.sts.test"

	mxcase() { # NAME DOMAIN WANT(delivered|held) [dest options]
		local name=$1 dom=$2 want=$3
		shift 3
		case_ "MX: $name ($dom): $want"
		mkdir -p "$T/q"
		{
			echo "queue_dir = $T/q/$name"
			echo "hostname = c-$name.relay.test.example"
			echo "cafile = $PKI/ca.pem"
			echo "resolver = 127.0.0.1:$DNS_PORT"
			echo "mta_sts_port = $STS_PORT"
			echo "timeout = 10"
			echo "retry = 600"
			echo "destination = $dom tls=Preferred $*"
		} >"$T/q/$name.conf"
		CONF=$T/q/$name.conf ATTEMPTS=$T/q/$name/attempts.jsonl MAILLOG=$T/q/$name/mail.log
		TOK=tok-$name-$RANDOM$RANDOM
		inject "$CONF" "rcpt@$dom" < <(mkmsg "$TOK") || return
		run_relay "$CONF" --once
		assert_exit 0
		local res
		res=$(attempt_field "$MID" result)
		if [ "$want" = delivered ]; then
			[ "$res" = delivered ] && ok_ || fail_ "result '$res', want delivered"
			spool_has "$T/r3" "$TOK" && ok_ || fail_ "not at the MX's spool"
			in_queue "$CONF" "$MID" && fail_ "still queued" || ok_
		else
			[ "$res" = held ] && ok_ || fail_ "result '$res', want held"
			spool_has "$T/r3" "$TOK" && fail_ "delivered to the MX" || ok_
			in_queue "$CONF" "$MID" && ok_ || fail_ "not in the queue"
		fi
	}
	mxcase dane-match good.dane.test delivered
	[ "$(attempt_field "$MID" dane)" = verified ] && ok_ || fail_ "dane=$(attempt_field "$MID" dane), want verified"
	dns_asked _25._tcp.mx1.dane.test TLSA && ok_ || fail_ "TLSA not asked"
	mxcase dane-mismatch bad.dane.test held
	[ "$(attempt_field "$MID" dane)" = mismatch ] && ok_ || fail_ "dane=$(attempt_field "$MID" dane), want mismatch"
	grep -q "TLS alert: MID $MID " "$MAILLOG" && fail_ "alert for a Preferred destination" || ok_
	# DANE takes over a Required-Verify destination's MX: a mismatch still raises the alert
	mxcase dane-mismatch-rv bad.dane.test held tls=Required-Verify
	grep -q "TLS alert: MID $MID to bad.dane.test" "$MAILLOG" && ok_ || fail_ "no TLS alert for the Required-Verify destination"
	mxcase dane-off bad.dane.test delivered dane=no
	mxcase sts-enforce-match enf.sts.test delivered
	[ "$(attempt_field "$MID" mta_sts)" = enforce ] && ok_ || fail_ "mta_sts=$(attempt_field "$MID" mta_sts)"
	mxcase sts-enforce-nomatch nomatch.sts.test held
	grep -q "MTA-STS: MX mx1.sts.test of nomatch.sts.test not in the enforced policy" "$MAILLOG" &&
		ok_ || fail_ "no MTA-STS skip line in mail.log"
	mxcase sts-testing-nomatch testing.sts.test delivered
	[ "$(attempt_field "$MID" mta_sts)" = testing ] && ok_ || fail_ "mta_sts=$(attempt_field "$MID" mta_sts), want testing"
	mxcase sts-off nomatch.sts.test delivered mta_sts=no

	# RFC 8461 5.1: blocking the policy fetch must not downgrade delivery; the policy is
	# kept under the queue, so a new relay process still has it
	mxcase sts-cache nomatch.sts.test held
	[ -s "$T/q/sts-cache/sts/nomatch.sts.test" ] && ok_ || fail_ "no cached policy under the queue"
	mv "$T/sts/mta-sts.nomatch.sts.test" "$T/sts/away"
	# the TXT record still names the cached policy's id: not fetched again (the server being
	# gone does not show)
	run_relay "$CONF" --once
	assert_exit 0
	[ "$(attempt_field "$MID" result)" = held ] && ok_ ||
		fail_ "result $(attempt_field "$MID" result) with the policy unchanged, want held"
	grep -q "MTA-STS: policy of nomatch.sts.test unchanged (id 20260101): not fetched again" "$MAILLOG" &&
		ok_ || fail_ "no unchanged-policy line: $(grep MTA-STS "$MAILLOG" | tail -2)"
	grep -q "MTA-STS: policy of nomatch.sts.test not refreshed" "$MAILLOG" && fail_ "fetched although the id is unchanged" || ok_
	# a cached policy under another id: fetched again, the fetch fails, the cached one applies
	sed -i 's/^id: .*/id: 20251231/' "$T/q/sts-cache/sts/nomatch.sts.test"
	run_relay "$CONF" --once
	assert_exit 0
	[ "$(attempt_field "$MID" result)" = held ] && ok_ ||
		fail_ "result $(attempt_field "$MID" result) with the policy server gone, want held"
	grep -qE "MTA-STS: policy of nomatch\.sts\.test not refreshed \(.+\): the cached one \(mode enforce\) applies until [0-9-]+T" "$MAILLOG" &&
		ok_ || fail_ "no cached-policy line: $(grep MTA-STS "$MAILLOG" | tail -2)"
	spool_has "$T/r3" "$TOK" && fail_ "delivered to the MX the cached policy does not list" || ok_
	# an id longer than any TXT record's: the file is not ours, ignored like a garbled one
	sed -i "s/^id: .*/id: $(printf 'x%.0s' $(seq 40))/" "$T/q/sts-cache/sts/nomatch.sts.test"
	: >"$MAILLOG"
	run_relay "$CONF" --once
	assert_exit 0
	grep -q "MTA-STS: cached policy .*nomatch.sts.test unreadable: ignored" "$MAILLOG" && ok_ || fail_ "a cached id of 40 bytes was read"
	# a cached file that does not parse is ignored (and said so), never trusted
	echo "garbage" >"$T/q/sts-cache/sts/nomatch.sts.test"
	run_relay "$CONF" --once
	assert_exit 0
	grep -q "MTA-STS: cached policy .*nomatch.sts.test unreadable: ignored" "$MAILLOG" && ok_ || fail_ "no unreadable-cache warning"
	# a file longer than any the relay writes (a valid policy padded with an unknown field)
	{
		printf 'expires: 9999999999\nid: x\nversion: STSv1\nmode: enforce\nmx: mx1.sts.test\nmax_age: 86400\n'
		printf 'x-pad: %s\n' "$(head -c 12000 /dev/zero | tr '\0' a)"
	} >"$T/q/sts-cache/sts/nomatch.sts.test"
	: >"$MAILLOG"
	inject "$CONF" "rcpt@nomatch.sts.test" < <(mkmsg "tok-sts-pad-$RANDOM")
	run_relay "$CONF" --once
	assert_exit 0
	grep -q "MTA-STS: cached policy .*nomatch.sts.test unreadable: ignored" "$MAILLOG" && ok_ || fail_ "an oversized cache file was read"
	mv "$T/sts/away" "$T/sts/mta-sts.nomatch.sts.test"
fi

finish
