#!/usr/bin/env bash
# receiver_cert.sh — the ESA certificate workflow with every `receiver cert` subcommand,
# good and bad inputs: new (key 0600, self-signed, CSR with CN and SANs), install of a
# CA-signed certificate (wrong key, duplicate and stale intermediates, wrong order, expired,
# garbage), export/import PKCS#12 (wrong password), show; then the receiver serves the
# installed chain in the right order.
set -u
cd "$(dirname "$0")/../.."
R=$PWD/receiver/receiver
[ -x "$R" ] || { echo "receiver not built"; exit 77; }
command -v certtool >/dev/null || { echo "certtool not installed"; exit 77; }
T=$(mktemp -d /tmp/rcvcert.XXXXXX)
RPID=
cleanup() { [ -n "$RPID" ] && kill "$RPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
D=$T/d
# expect EXIT-CODE WORD CMD...: run, check the exit code and that WORD is in the output
expect() {
	local want=$1 word=$2; shift 2
	out=$("$@" 2>&1); local rc=$?
	[ "$rc" -eq "$want" ] || fail "'$*' exit $rc, expected $want: $out"
	[ -z "$word" ] || grep -q -- "$word" <<<"$out" || fail "'$*' output lacks '$word': $out"
}

# new
expect 0 "BEGIN NEW CERTIFICATE REQUEST" "$R" -d "$D" cert new --cn mx1.example.test --san mx1.example.test --san mx.example.test
[ "$(stat -c %a "$D/certs/key.pem")" = 600 ] || fail "key mode"
certtool --crq-info --infile "$D/certs/request.csr" >"$T/csr.txt" 2>&1
grep -q "CN=mx1.example.test" "$T/csr.txt" && grep -q "DNSname: mx.example.test" "$T/csr.txt" || fail "CSR content: $(cat "$T/csr.txt")"
expect 64 "exists" "$R" -d "$D" cert new --cn mx1.example.test
expect 64 "refused" "$R" -d "$T/e" cert new --cn x.test --bits 1024
expect 0 "ECDSA" "$R" -d "$T/ec" cert new --cn ec.test --key-type ecdsa
expect 64 "" "$R" -d "$D" cert frobnicate

# a CA, intermediates, and the CA signing our CSR
cd "$T"
certtool --generate-privkey --key-type ecdsa --outfile ca.key 2>/dev/null
printf 'cn = "Test Root CA"\nca\ncert_signing_key\nexpiration_days = 100\n' >ca.tmpl
certtool --generate-self-signed --load-privkey ca.key --template ca.tmpl --outfile ca.pem 2>/dev/null
for i in int old; do
	certtool --generate-privkey --key-type ecdsa --outfile $i.key 2>/dev/null
	printf 'cn = "Test %s CA"\nca\ncert_signing_key\nexpiration_days = 50\n' $i >$i.tmpl
	certtool --generate-certificate --load-privkey $i.key --load-ca-certificate ca.pem \
		--load-ca-privkey ca.key --template $i.tmpl --outfile $i.pem 2>/dev/null
done
printf 'cn = "mx1.example.test"\ndns_name = "mx1.example.test"\ntls_www_server\nexpiration_days = 30\n' >leaf.tmpl
certtool --generate-certificate --load-request "$D/certs/request.csr" --load-ca-certificate int.pem \
	--load-ca-privkey int.key --template leaf.tmpl --outfile signed.pem 2>/dev/null
# the same name signed for another key (a CSR from elsewhere)
certtool --generate-privkey --outfile other.key 2>/dev/null
certtool --generate-certificate --load-privkey other.key --load-ca-certificate int.pem \
	--load-ca-privkey int.key --template leaf.tmpl --outfile wrongkey.pem 2>/dev/null
# an expired one for our key (faketime-free: a certificate valid in the past)
printf 'cn = "mx1.example.test"\nactivation_date = "2001-01-01 00:00:00"\nexpiration_date = "2002-01-01 00:00:00"\n' >old.tmpl
certtool --generate-certificate --load-request "$D/certs/request.csr" --load-ca-certificate int.pem \
	--load-ca-privkey int.key --template old.tmpl --outfile expired.pem 2>/dev/null
cat int.pem int.pem >dup.pem
cat int.pem old.pem >stale.pem
cat ca.pem int.pem >order.pem
echo "not a certificate" >garbage.pem
cd - >/dev/null

# install: bad inputs first (exit 1 for check failures, 64 for unusable input)
expect 1 "key mismatch" "$R" -d "$D" cert install "$T/wrongkey.pem" --chain "$T/int.pem"
expect 1 "duplicate certificate" "$R" -d "$D" cert install "$T/signed.pem" --chain "$T/dup.pem"
expect 1 "stale intermediate: 'Test old CA'" "$R" -d "$D" cert install "$T/signed.pem" --chain "$T/stale.pem"
expect 1 "broken order" "$R" -d "$D" cert install "$T/signed.pem" --chain "$T/order.pem"
expect 1 "expired certificate" "$R" -d "$D" cert install "$T/expired.pem" --chain "$T/int.pem"
expect 64 "no PEM certificate" "$R" -d "$D" cert install "$T/garbage.pem"
expect 64 "cannot" "$R" -d "$D" cert install "$T/missing.pem"
[ -f "$D/certs/cert.pem" ] && fail "a refused install wrote cert.pem"
# good
expect 0 "installed" "$R" -d "$D" cert install "$T/signed.pem" --chain "$T/int.pem"
[ "$(grep -c BEGIN "$D/certs/cert.pem")" -eq 2 ] || fail "installed chain should be leaf + intermediate"
expect 0 "Key matches" "$R" -d "$D" cert show
grep -q "Issuer: CN=Test int CA" <<<"$out" || fail "show: $out"

# export / import PKCS#12
echo "correct horse" >"$T/pw"
echo "wrong" >"$T/badpw"
expect 0 "exported" "$R" -d "$D" cert export --p12 "$T/backup.p12" --password-file "$T/pw"
[ "$(stat -c %a "$T/backup.p12")" = 600 ] || fail "p12 mode"
expect 64 "usage" "$R" -d "$D" cert export --p12 "$T/x.p12"
expect 1 "wrong password" "$R" -d "$T/i" cert import "$T/backup.p12" --password-file "$T/badpw"
expect 64 "not a PKCS#12" "$R" -d "$T/i" cert import "$T/garbage.pem" --password-file "$T/pw"
expect 0 "imported" "$R" -d "$T/i" cert import "$T/backup.p12" --password-file "$T/pw"
expect 64 "exists" "$R" -d "$T/i" cert import "$T/backup.p12" --password-file "$T/pw"
cmp -s "$T/i/certs/cert.pem" "$D/certs/cert.pem" || fail "imported chain differs"
[ "$(stat -c %a "$T/i/certs/key.pem")" = 600 ] || fail "imported key mode"
expect 0 "Key matches" "$R" -d "$T/i" cert show

# the receiver serves the installed chain: leaf then intermediate, verifiable with the root
P=$(python3 "$(dirname "$0")/../fixtures/freeport.py")
"$R" -d "$T/i" -l 127.0.0.1:$P --no-rdns >"$T/stderr" 2>&1 &
RPID=$!
for _ in $(seq 100); do grep -q "listening on" "$T/stderr" && break; sleep 0.05; done
grep -q "demonstration" "$T/stderr" && fail "demo certificate used although one is installed"
out=$(echo QUIT | timeout 5 openssl s_client -starttls smtp -connect 127.0.0.1:$P -CAfile "$T/ca.pem" \
	-verify_hostname mx1.example.test -showcerts 2>&1)
grep -q "Verify return code: 0 (ok)" <<<"$out" || fail "installed chain does not verify: $out"
grep -q "1 s:CN *= *Test int CA" <<<"$out" || fail "intermediate not sent second"
kill -TERM $RPID; wait $RPID; RPID=
echo ok
