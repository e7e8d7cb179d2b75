#!/usr/bin/env bash
# receiver_clientcert.sh — client certificates: a Preferred-Verify group requests one and
# records the chain and its verification by the shared verifier (trusted with client_ca,
# not trusted when self-signed); a Required-Verify group refuses MAIL (530 5.7.0) unless
# the certificate verified; no certificate at all is recorded as such.
set -u
cd "$(dirname "$0")/../.."
R=$PWD/receiver/receiver
[ -x "$R" ] || { echo "receiver not built"; exit 77; }
for t in swaks jq certtool; do command -v $t >/dev/null || { echo "$t not installed"; exit 77; }; done
T=$(mktemp -d /tmp/rcvcc.XXXXXX)
RPID=
cleanup() { [ -n "$RPID" ] && kill "$RPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
cd "$T"
certtool --generate-privkey --key-type ecdsa --outfile ca.key 2>/dev/null
printf 'cn = "Client Test CA"\nca\ncert_signing_key\nexpiration_days = 30\n' >ca.tmpl
certtool --generate-self-signed --load-privkey ca.key --template ca.tmpl --outfile ca.pem 2>/dev/null
certtool --generate-privkey --key-type ecdsa --outfile good.key 2>/dev/null
printf 'cn = "sender.example.test"\ndns_name = "sender.example.test"\ntls_www_client\nexpiration_days = 30\n' >c.tmpl
certtool --generate-certificate --load-privkey good.key --load-ca-certificate ca.pem \
	--load-ca-privkey ca.key --template c.tmpl --outfile good.pem 2>/dev/null
certtool --generate-privkey --key-type ecdsa --outfile self.key 2>/dev/null
certtool --generate-self-signed --load-privkey self.key --template c.tmpl --outfile self.pem 2>/dev/null
cd - >/dev/null
P=$(python3 "$(dirname "$0")/../fixtures/freeport.py")
cat >"$T/r.conf" <<CONF
listen = 127.0.0.1:$P
hostname = mx.test
reverse_dns = no
client_ca = $T/ca.pem
group = STRICT policy=required-verify match=127.0.0.2
group = VERIFY policy=preferred-verify match=all
CONF
"$R" -c "$T/r.conf" -d "$T/d" >"$T/stderr" 2>&1 &
RPID=$!
for _ in $(seq 100); do grep -q "listening on" "$T/stderr" && break; sleep 0.05; done
grep -q "listening on" "$T/stderr" || fail "receiver did not start: $(cat "$T/stderr")"
S="swaks --server 127.0.0.1:$P --from a@src.test --to b@dst.test --tls"
$S --ehlo good.test --tls-cert "$T/good.pem" --tls-key "$T/good.key" >"$T/o1" 2>&1 || fail "good cert: $(cat "$T/o1")"
$S --ehlo self.test --tls-cert "$T/self.pem" --tls-key "$T/self.key" >"$T/o2" 2>&1 || fail "Preferred-Verify refused an unverified cert"
$S --ehlo none.test >"$T/o3" 2>&1 || fail "Preferred-Verify refused a client without cert"
$S -li 127.0.0.2 --ehlo strict-good.test --tls-cert "$T/good.pem" --tls-key "$T/good.key" >"$T/o4" 2>&1 ||
	fail "Required-Verify refused a verified cert: $(cat "$T/o4")"
$S -li 127.0.0.2 --ehlo strict-self.test --tls-cert "$T/self.pem" --tls-key "$T/self.key" >"$T/o5" 2>&1
grep -q "530 5.7.0 Client certificate did not verify" "$T/o5" || fail "Required-Verify accepted a bad cert: $(cat "$T/o5")"
$S -li 127.0.0.2 --ehlo strict-none.test >"$T/o6" 2>&1
grep -q "530 5.7.0 A verified client certificate is required" "$T/o6" || fail "Required-Verify accepted no cert"
kill -TERM $RPID; wait $RPID; RPID=
J=$T/d/sessions.jsonl
chk() { jq -e -s "[.[] | select(.ehlo_after_tls==\"$1\")] | length == 1 and all($2)" "$J" >/dev/null ||
	fail "$1: $(grep "\"$1\"" "$J" | jq -c .tls)"; }
chk good.test '.tls.client_cert_requested and .tls.client_cert.trusted and (.tls.client_cert.subject|test("sender.example.test")) and (.tls.client_cert.chain|length==1)'
chk self.test '.tls.client_cert_sent and (.tls.client_cert.trusted|not) and (.tls.client_cert.faults|index("self-signed") != null)'
chk none.test '.tls.client_cert_requested and (.tls.client_cert_sent|not) and .tls.client_cert == null'
chk strict-good.test '.messages[0].reply|startswith("250")'
chk strict-self.test '.messages|length==0'
grep -q "TLS client certificate verified: CN=sender.example.test" "$T/d/mail.log" || fail "verified client cert not logged"
echo ok
