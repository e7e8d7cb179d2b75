#!/usr/bin/env bash
# receiver_smtp.sh — real clients against the receiver on loopback: swaks in clear text and
# with STARTTLS (verifying the demo certificate against its CA), gnutls-cli and openssl
# s_client; sender groups with TLS Off / Preferred / Required (530 5.7.0); SNI capture; the
# JSON Lines record, the AsyncOS mail log, the spool file, --discard and `receiver sessions`.
set -u
cd "$(dirname "$0")/../.."
R=$PWD/receiver/receiver
[ -x "$R" ] || { echo "receiver not built"; exit 77; }
for t in swaks jq; do command -v $t >/dev/null || { echo "$t not installed"; exit 77; }; done
T=$(mktemp -d /tmp/rcvsmtp.XXXXXX)
RPID=
cleanup() { [ -n "$RPID" ] && kill "$RPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT
# every record matching a selector satisfies a condition, and there is at least one
jcheck() { jq -e -s "[.[] | select($1)] | length > 0 and all($2)" "$J" >/dev/null; }
fail() { echo "FAIL: $*"; [ -f "$T/stderr" ] && tail -5 "$T/stderr"; exit 1; }
port() { echo $(python3 "$(dirname "$0")/../fixtures/freeport.py"); }
start() {
	: >"$T/stderr"
	"$R" "$@" >"$T/stderr" 2>&1 &
	RPID=$!
	for _ in $(seq 100); do
		grep -q "listening on" "$T/stderr" && return 0
		kill -0 $RPID 2>/dev/null || break
		sleep 0.05
	done
	fail "receiver did not start: $(cat "$T/stderr")"
}
stop() { kill -TERM "$RPID"; wait "$RPID"; local rc=$?; RPID=; [ $rc -eq 0 ] || fail "exit $rc after SIGTERM"; }

P=$(port)
D=$T/data
cat >"$T/r.conf" <<CONF
# three sender groups, as an ESA HAT
hostname = mx.test
listen = 127.0.0.1:$P
group = REQ   policy=required  match=127.0.0.2
group = OFF   policy=off       match=127.0.0.3/32
group = DEFAULT policy=preferred match=all
CONF
start -c "$T/r.conf" -d "$D"
[ -f "$D/certs/demo-ca.pem" ] || fail "no demo CA made on first start"
[ "$(stat -c %a "$D/certs/demo-key.pem")" = 600 ] || fail "demo key not 0600"
grep -q "DEMONSTRATION certificate" "$D/mail.log" || fail "demo certificate not marked in the log"

# 1. clear text from the DEFAULT group
out=$(swaks --server 127.0.0.1:$P --ehlo plain.test --from a@src.test --to b@dst.test \
	--body "hello 1" 2>&1) || fail "swaks plain: $out"
grep -q "250-STARTTLS" <<<"$out" || fail "STARTTLS not advertised under Preferred"

# 2. STARTTLS with the certificate verified against the demo CA, SNI sent
out=$(swaks --server 127.0.0.1:$P --ehlo tls.test --from a@src.test --to b@dst.test --tls \
	--tls-verify --tls-ca-path "$D/certs/demo-ca.pem" --tls-sni mx.test 2>&1) ||
	fail "swaks --tls: $out"
grep -q "TLS started" <<<"$out" || fail "no TLS: $out"

# 3. Required group: MAIL before STARTTLS gets 530 5.7.0, after STARTTLS it works
out=$(swaks --server 127.0.0.1:$P -li 127.0.0.2 --from a@src.test --to b@dst.test 2>&1)
grep -q "530 5.7.0 Must issue a STARTTLS command first" <<<"$out" || fail "no 530: $out"
swaks -S 1 --server 127.0.0.1:$P -li 127.0.0.2 --from a@src.test --to b@dst.test --tls \
	>/dev/null 2>&1 || fail "Required group with STARTTLS refused"

# 4. Off group: STARTTLS neither offered nor accepted
out=$(swaks --server 127.0.0.1:$P -li 127.0.0.3 --from a@src.test --to b@dst.test 2>&1) ||
	fail "Off group plain: $out"
grep -q "250-STARTTLS" <<<"$out" && fail "STARTTLS offered under Off"
out=$(python3 - "$P" <<'PY'
import socket, sys
s = socket.socket()
s.bind(("127.0.0.3", 0))
s.connect(("127.0.0.1", int(sys.argv[1])))
s.settimeout(5)
s.sendall(b"EHLO off.test\r\nSTARTTLS\r\nQUIT\r\n")
buf = b""
while b"221 " not in buf:
    d = s.recv(4096)
    if not d:
        break
    buf += d
print(buf.decode())
PY
)
grep -q "^502 5.5.1" <<<"$out" || fail "STARTTLS accepted under Off: $out"

# 5. gnutls-cli and openssl s_client
if command -v gnutls-cli >/dev/null; then
	out=$(printf 'EHLO gnutls.test\r\nQUIT\r\n' | timeout 10 gnutls-cli --starttls-proto=smtp \
		--port $P --x509cafile "$D/certs/demo-ca.pem" localhost 2>&1)
	grep -q "221 2.0.0 Bye" <<<"$out" || fail "gnutls-cli: $out"
fi
if command -v openssl >/dev/null; then
	out=$( (sleep 0.5; printf 'EHLO openssl.test\r\n'; sleep 0.3; printf 'QUIT\r\n'; sleep 0.3) |
		timeout 10 openssl s_client -starttls smtp -connect 127.0.0.1:$P -servername sni.test \
			-CAfile "$D/certs/demo-ca.pem" -verify_return_error 2>&1)
	grep -q "Verify return code: 0" <<<"$out" || fail "openssl s_client: $out"
	grep -q "250-mx.test Hello openssl.test" <<<"$out" || fail "openssl: no EHLO reply"
fi
stop

# records: one per session, with what each client did
J=$D/sessions.jsonl
n=$(wc -l <"$J")
[ "$n" -ge 7 ] || fail "expected at least 7 records, got $n"
jcheck '.ehlo=="plain.test"' '.starttls_offered and (.starttls_used|not)
	and .messages[0].reply=="250 2.0.0 Ok: queued as \(.messages[0].mid)"
	and .client.address=="127.0.0.1" and .sender_group=="DEFAULT" and .outcome=="quit"' || fail "plain record wrong"
jcheck '.ehlo=="tls.test"' '.starttls_used and .tls.established and
	(.tls.protocol|startswith("TLSv1.")) and .tls.sni=="mx.test" and (.tls.cipher|length>0)
	and .ehlo_after_tls=="tls.test" and .demo_certificate' ||
	fail "TLS record wrong"
jcheck '.sender_group=="REQ" and (.starttls_used|not)' '.policy=="required" and
	([.commands[].line]|index("530 5.7.0 Must issue a STARTTLS command first")) != null' || fail "Required record lacks the 530"
jcheck '.sender_group=="OFF"' '(.starttls_offered|not)' ||
	fail "Off record wrong"
jcheck '.ehlo_after_tls=="openssl.test"' '.tls.sni=="sni.test"' ||
	fail "SNI from openssl not recorded"
jcheck '.ehlo=="plain.test"' '.commands | map(.t_ms) | . == sort' ||
	fail "command timings not monotonic"

# mail log in AsyncOS shape
L=$D/mail.log
grep -Eq "Info: New SMTP ICID [0-9]+ interface .* address 127.0.0.1 reverse dns host .* verified (yes|no)$" "$L" ||
	fail "no New SMTP ICID line"
grep -Eq "Info: ICID [0-9]+ TLS success protocol TLSv1\.[23] cipher [A-Z0-9_-]+$" "$L" || fail "no TLS success line"
grep -Eq "Info: Start MID [0-9]+ ICID [0-9]+$" "$L" || fail "no Start MID line"
grep -Eq "Info: ICID [0-9]+ close$" "$L" || fail "no close line"
grep -Eq "Info: ICID [0-9]+ ACCEPT SG REQ match 127.0.0.2/32" "$L" || fail "no ACCEPT SG line"
# spool: finished messages only, atomically renamed
ls "$D"/spool/new/*.eml >/dev/null 2>&1 || fail "nothing spooled"
[ -z "$(ls -A "$D/spool/tmp")" ] || fail "temp files left in the spool"
grep -l "hello 1" "$D"/spool/new/*.eml | xargs grep -q "^Return-Path: <a@src.test>" || fail "spool file content"

# `receiver sessions` shows them
out=$("$R" -d "$D" sessions --last 3) || fail "sessions exit $?"
[ "$(grep -c "ICID" <<<"$out")" -eq 3 ] || fail "sessions --last 3: $out"
"$R" -d "$D" sessions --last 2 --json | jq -e -s 'length==2' >/dev/null || fail "sessions --json"

# --discard keeps nothing but still answers 250
P=$(port)
start -d "$D" -l 127.0.0.1:$P --discard --no-rdns
before=$(ls "$D"/spool/new | wc -l)
swaks -S 1 --server 127.0.0.1:$P --from a@src.test --to b@dst.test >/dev/null 2>&1 || fail "discard mode refused"
stop
[ "$(ls "$D"/spool/new | wc -l)" -eq "$before" ] || fail "--discard stored a message"
tail -1 "$J" | jq -e '.messages[0].discarded and .client.rdns==""' >/dev/null || fail "discard record"

# several listeners, each with its own certificate; IPv6 loopback when available
"$R" -d "$T/other" cert new --cn second.test --san second.test >/dev/null || fail "cert new"
P1=$(port)
P2=$((P1 + 1))
L6=()
if python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
	L6=(-l "[::1]:$((P1 + 2))")
fi
start -d "$D" --no-rdns -l 127.0.0.1:$P1 "${L6[@]}" \
	-o "listen=127.0.0.1:$P2 cert=$T/other/certs/selfsigned.pem key=$T/other/certs/key.pem"
cn() { echo QUIT | timeout 5 openssl s_client -starttls smtp -connect "$1" 2>/dev/null | grep -m1 "^subject=" ; }
cn 127.0.0.1:$P1 | grep -q "CN *= *mx.test" || fail "listener 1 certificate: $(cn 127.0.0.1:$P1)"
cn 127.0.0.1:$P2 | grep -q "CN *= *second.test" || fail "listener 2 certificate: $(cn 127.0.0.1:$P2)"
if [ ${#L6[@]} -gt 0 ]; then
	swaks -S 1 --server ::1 --port $((P1 + 2)) --from a@src.test --to b@dst.test --tls >/dev/null 2>&1 ||
		fail "IPv6 listener"
fi
stop
if [ ${#L6[@]} -gt 0 ]; then
	tail -1 "$J" | jq -e '.client.address == "::1" and .tls.established' >/dev/null || fail "IPv6 record"
fi

# a sender group by verified reverse-DNS name (127.0.0.1 -> localhost -> 127.0.0.1)
if [ "$(getent hosts 127.0.0.1 | awk '{print $2}')" = localhost ]; then
	P=$(port)
	printf 'listen = 127.0.0.1:%s\ngroup = BYNAME policy=off match=localhost\n' $P >"$T/n.conf"
	start -c "$T/n.conf" -d "$D"
	out=$(swaks --server 127.0.0.1:$P --from a@src.test --to b@dst.test 2>&1) || fail "by-name group: $out"
	grep -q "250-STARTTLS" <<<"$out" && fail "STARTTLS offered to a host in an Off group by name"
	stop
	tail -1 "$J" | jq -e '.sender_group == "BYNAME" and .client.rdns == "localhost" and .client.rdns_verified' \
		>/dev/null || fail "by-name record: $(tail -1 "$J")"
	grep -q "reverse dns host localhost verified yes" "$D/mail.log" || fail "rDNS not logged"
fi
echo "ok"
