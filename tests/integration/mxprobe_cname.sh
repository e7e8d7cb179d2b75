#!/usr/bin/env bash
# mxprobe with MX names that are CNAMEs (RFC 7672 2.2.2, 3.2.2): the alias's target is a second
# reference name for the PKIX name check and for DANE-TA, and TLSA is looked up at the
# expanded name first, then at the MX name. DNS from the test server (tests/fixtures/dnsfix),
# real Postfix behind MX hosts on 127.0.0.x. DANE is judged by the core's probe hook.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/fixtures/mxprobe_env.sh"
need_mxprobe
need_cmd openssl certtool
setup_pki
MAILTLS_SCENARIOS="good wildcard mismatch" start_postfix
start_fwd 127.0.0.2="$PORT_good" 127.0.0.5="$PORT_mismatch" 127.0.0.7="$PORT_wildcard"

EE=$(tlsa_spki "$PKI/good.pem")
TA=$(tlsa_cert "$PKI/int.pem")
Z=$T/zones
mkdir -p "$Z"
cat >"$Z/test.example.zone" <<-EOF2
	\$ORIGIN test.example.
	\$TTL 300
	@ SOA ns hostmaster 1 3600 600 86400 300
	mx A 127.0.0.2
	mx2 A 127.0.0.2
	ta A 127.0.0.7
	mm A 127.0.0.5
	_25._tcp.mx TLSA 3 1 1 $EE
	_25._tcp.ta TLSA 2 0 1 $TA
EOF2
cat >"$Z/sig.test.zone" <<-EOF2
	\$ORIGIN sig.test.
	\$TTL 300
	@ SOA ns hostmaster 1 3600 600 86400 300
	cname MX 10 alias.sig.test.
	alias CNAME mx.test.example.
	cnameta MX 10 alias-ta.sig.test.
	alias-ta CNAME ta.test.example.
	cnameorig MX 10 alias-orig.sig.test.
	alias-orig CNAME mx2.test.example.
	_25._tcp.alias-orig TLSA 3 1 1 $EE
	cnamebad MX 10 alias-bad.sig.test.
	alias-bad CNAME mm.test.example.
	plain MX 10 mx.test.example.
EOF2
start_dns "$Z/test.example.zone:signed" "$Z/sig.test.zone:signed"

MX=(--resolver "127.0.0.1:$DNS_PORT" -p "$MX_PORT" --cafile "$PKI/ca.pem" --timeout 5 --no-mta-sts --no-tlsrpt --no-color -4)

case_ "CNAME'd MX passes verify: the certificate names the alias's target"
run_mxprobe "${MX[@]}" -l verify cname.sig.test
assert_exit 0
assert_contains "alias.sig.test: CNAME alias.sig.test -> mx.test.example"
assert_line '^10 +alias\.sig\.test +127\.0\.0\.2 +secure .* ok +ok .*PASS$'
assert_line '\[127\.0\.0\.2\] PASS: requested verify, reached (verify|secure); faults: none'
run_mxprobe "${MX[@]}" -l verify --json cname.sig.test
assert_exit 0
assert_json 'j["hosts"][0]["addresses"][0]["probe"]["reference_names"]=="alias.sig.test, mx.test.example"'
assert_json 'j["hosts"][0]["addresses"][0]["probe"]["matched_name"]=="mx.test.example"'
assert_json 'j["hosts"][0]["cname"]=="alias.sig.test -> mx.test.example"'

case_ "names from secure DNS, through a secure CNAME, count for level secure"
run_mxprobe "${MX[@]}" -l secure cname.sig.test
assert_exit 0

case_ "CNAME'd MX whose target's certificate names someone else still fails, both names listed"
run_mxprobe "${MX[@]}" -l verify cnamebad.sig.test
assert_exit 1
assert_line '\[127\.0\.0\.5\] FAIL: requested verify, .*name-mismatch'
run_mxprobe "${MX[@]}" -l verify --json cnamebad.sig.test
assert_json 'j["hosts"][0]["addresses"][0]["probe"]["reference_names"]=="alias-bad.sig.test, mm.test.example"'
assert_json 'j["hosts"][0]["addresses"][0]["probe"]["name_matched"]==False'

case_ "DANE-EE through the CNAME: TLSA at the expanded name"
: >"$T/dns.log"
run_mxprobe "${MX[@]}" -l dane-only cname.sig.test
assert_exit 0
assert_line '^10 +alias\.sig\.test +127\.0\.0\.2 .* verified .*PASS$'
assert_contains "DANE-EE 3 1 1"
assert_line '\[127\.0\.0\.2\] PASS: requested dane-only, reached dane'
dns_asked _25._tcp.mx.test.example TLSA && ok_ || fail_ "no TLSA query at the expanded name"

case_ "DANE-TA through the CNAME: the leaf names the target (*.test.example), not the alias"
run_mxprobe "${MX[@]}" -l dane-only cnameta.sig.test
assert_exit 0
assert_contains "DANE-TA 2 0 1"
assert_contains "name ta.test.example matched"
assert_line '\[127\.0\.0\.7\] PASS: requested dane-only, reached dane'
run_mxprobe "${MX[@]}" -l dane-only --json cnameta.sig.test
assert_json 'j["hosts"][0]["addresses"][0]["dane"]["state"]=="verified" and j["hosts"][0]["addresses"][0]["dane"]["certificate"]==1'

case_ "no TLSA at the expanded name: the MX name's TLSA is used"
: >"$T/dns.log"
run_mxprobe "${MX[@]}" -l dane-only cnameorig.sig.test
assert_exit 0
assert_contains "DANE-EE 3 1 1"
dns_asked _25._tcp.mx2.test.example TLSA && ok_ || fail_ "expanded name not asked first"
dns_asked _25._tcp.alias-orig.sig.test TLSA && ok_ || fail_ "MX name not asked after"

case_ "no CNAME: one reference name, as before"
run_mxprobe "${MX[@]}" --json plain.sig.test
assert_exit 0
assert_json 'j["hosts"][0]["addresses"][0]["probe"]["reference_names"]=="mx.test.example"'
assert_json 'j["hosts"][0]["cname"]==""'

case_ "--no-dane: DANE not tried, dane-only fails, dane falls back to may"
run_mxprobe "${MX[@]}" --no-dane -l dane-only --json cname.sig.test
assert_exit 1
assert_json 'j["hosts"][0]["addresses"][0]["dane"]["state"]=="not-tried"'
assert_json '"no DNSSEC-secure TLSA" in j["hosts"][0]["addresses"][0]["probe"]["reason"]'
run_mxprobe "${MX[@]}" --no-dane -l dane cname.sig.test
assert_exit 0

finish
