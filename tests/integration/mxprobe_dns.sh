#!/usr/bin/env bash
# mxprobe against the test DNS server (tests/fixtures/dnsfix) and real Postfix behind MX
# hosts on 127.0.0.x (tests/fixtures/mxfwd.py): MX order, one bad MX among good ones, null
# MX, implicit MX, CNAME'd MX, IPv6, DNSSEC states (secure, insecure, bogus, nxdomain,
# tempfail), DANE-EE match and mismatch, DANE-TA, unusable and insecure TLSA, -4/-6, JSON,
# JUnit, Nagios, and bad input. Every MX address is probed; assertions read the matrix.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/fixtures/mxprobe_env.sh"
need_mxprobe
need_cmd openssl certtool
setup_pki
start_postfix

V6=0
[ -n "${PORT_good6:-}" ] && V6=1
start_bad tempfail421
FWD=(127.0.0.8="$BAD_PORT" 127.0.0.2="$PORT_good" 127.0.0.3="$PORT_expired" 127.0.0.4="$PORT_notls"
	127.0.0.6=silent 127.0.0.7="$PORT_wildcard")
[ $V6 = 1 ] && FWD+=(::1="$PORT_good")
start_fwd "${FWD[@]}"

EE=$(tlsa_spki "$PKI/good.pem")
TA=$(tlsa_cert "$PKI/int.pem")
Z=$T/zones
mkdir -p "$Z"
cat >"$Z/test.example.zone" <<-EOF2
	\$ORIGIN test.example.
	\$TTL 300
	@ SOA ns hostmaster 1 3600 600 86400 300
	mx A 127.0.0.2
	$([ $V6 = 1 ] && echo "mx AAAA ::1")
	expired A 127.0.0.3
	notls A 127.0.0.4
	silent A 127.0.0.6
	busy A 127.0.0.8
	ta A 127.0.0.7
	dane-bad A 127.0.0.2
	unusable A 127.0.0.2
	_25._tcp.mx TLSA 3 1 1 $EE
	_25._tcp.dane-bad TLSA 3 1 1 $(printf '%064d' 0)
	_25._tcp.ta TLSA 2 0 1 $TA
	_25._tcp.unusable TLSA 1 1 1 $EE
EOF2
cat >"$Z/sig.test.zone" <<-EOF2
	\$ORIGIN sig.test.
	\$TTL 300
	@ SOA ns hostmaster 1 3600 600 86400 300
	multi MX 30 notls.test.example.
	multi MX 10 mx.test.example.
	multi MX 20 expired.test.example.
	good MX 10 mx.test.example.
	nullmx MX 0 .
	implicit A 127.0.0.2
	cname MX 10 alias.sig.test.
	alias CNAME mx.test.example.
	danebad MX 10 dane-bad.test.example.
	daneta MX 10 ta.test.example.
	unusable MX 10 unusable.test.example.
	slow MX 10 silent.test.example.
	busy MX 10 busy.test.example.
	noaddr MX 10 nothing.sig.test.
	insmx MX 10 mx.uns.test.
EOF2
cat >"$Z/uns.test.zone" <<-EOF2
	\$ORIGIN uns.test.
	\$TTL 300
	@ SOA ns hostmaster 1 3600 600 86400 300
	mx A 127.0.0.2
	_25._tcp.mx TLSA 3 1 1 $EE
	plain MX 10 mx.test.example.
EOF2
cat >"$Z/bogus.test.zone" <<-EOF2
	\$ORIGIN bogus.test.
	\$TTL 300
	@ SOA ns hostmaster 1 3600 600 86400 300
	x MX 10 mx.test.example.
EOF2
cat >"$Z/drop.test.zone" <<-EOF2
	\$ORIGIN drop.test.
	\$TTL 300
	@ SOA ns hostmaster 1 3600 600 86400 300
	x MX 10 mx.test.example.
EOF2
cat >"$Z/half.test.zone" <<-EOF2
	\$ORIGIN half.test.
	\$TTL 300
	@ SOA ns hostmaster 1 3600 600 86400 300
	dom MX 10 mx.half.test.
	mx A 127.0.0.2
	mx AAAA ::1
	_25._tcp.mx TLSA 3 1 1 $EE
EOF2
start_dns "$Z/test.example.zone:signed" "$Z/sig.test.zone:signed" "$Z/uns.test.zone" \
	"$Z/bogus.test.zone:bogus" "$Z/drop.test.zone:drop" "$Z/half.test.zone:bogus-aaaa"

MX=(--resolver "127.0.0.1:$DNS_PORT" -p "$MX_PORT" --cafile "$PKI/ca.pem" --timeout 5 --no-mta-sts --no-color)

case_ "good domain: one MX, every address probed, secure DNS, verify passes"
run_mxprobe "${MX[@]}" good.sig.test
assert_exit 0
assert_line '^Domain good\.sig\.test: MX secure'
assert_line '^10 +mx\.test\.example +127\.0\.0\.2 +secure +ok [0-9]+ms +220 [0-9]+ms +ok .*TLSv1\.[23].* ok +ok .*PASS$'
[ $V6 = 1 ] && assert_line '^10 +mx\.test\.example +::1 +secure .*PASS$'
assert_line "^Verdict: PASS: good\.sig\.test: $((1 + V6)) of $((1 + V6)) MX addresses passed"

case_ "several MX, sorted by preference, one expired and one without STARTTLS"
run_mxprobe "${MX[@]}" multi.sig.test
assert_exit 2
awk '/^[0-9]+ /{print $1, $2}' "$OUT" | uniq >"$T/order"
if [ "$(head -3 "$T/order" | tr '\n' ' ')" = "10 mx.test.example 20 expired.test.example 30 notls.test.example " ]; then ok_; else fail_ "MX order: $(cat "$T/order" | tr '\n' ' ')"; fi
assert_line '^20 +expired\.test\.example +127\.0\.0\.3 .* FAIL +(ok|FAIL) .*FAIL$'
assert_line '^30 +notls\.test\.example +127\.0\.0\.4 .*not offered.*FAIL$'
assert_line '\[127\.0\.0\.3\] FAIL: requested verify, reached encrypt; faults: .*expired'
assert_line '^Verdict: FAIL: multi\.sig\.test: [12] of [34] MX addresses passed'

case_ "JSON: one object, every address with its probe"
run_mxprobe "${MX[@]}" --json multi.sig.test
assert_exit 2
assert_json 'j["domain"]=="multi.sig.test" and j["verdict"]=="fail" and j["exit_code"]==2'
assert_json '[h["preference"] for h in j["hosts"]]==[10,20,30]'
assert_json 'j["hosts"][1]["addresses"][0]["probe"]["verdict"]=="fail"'
assert_json 'j["hosts"][0]["dnssec"]=="secure" and j["mx"]["dnssec"]=="secure"'

case_ "null MX: accepts no mail, exit 0"
run_mxprobe "${MX[@]}" nullmx.sig.test
assert_exit 0
assert_contains "null MX (RFC 7505): the domain accepts no mail"
assert_last_line 'accepts no mail \(null MX\)$'

case_ "no MX: implicit MX on the domain's A record"
run_mxprobe "${MX[@]}" -l encrypt implicit.sig.test
assert_exit 0
assert_contains "no MX records: implicit MX implicit.sig.test (RFC 5321 5.1)"
assert_line '^0 +implicit\.sig\.test +127\.0\.0\.2 '

case_ "CNAME'd MX host is followed and shown"
run_mxprobe "${MX[@]}" -l encrypt cname.sig.test
assert_exit 0
assert_contains "alias.sig.test: CNAME alias.sig.test -> mx.test.example"
assert_line '^10 +alias\.sig\.test +127\.0\.0\.2 '

case_ "-4 and -6"
run_mxprobe "${MX[@]}" -4 good.sig.test
assert_exit 0
assert_not_contains "::1"
if [ $V6 = 1 ]; then
	run_mxprobe "${MX[@]}" -6 good.sig.test
	assert_exit 0
	assert_line '^10 +mx\.test\.example +::1 +secure .*PASS$'
	assert_not_contains "127.0.0.2"
fi

case_ "nonexistent domain: nxdomain, exit 3"
run_mxprobe "${MX[@]}" nope.sig.test
assert_exit 3
assert_contains "MX nxdomain"
assert_contains "does not exist (NXDOMAIN)"

case_ "A secure, AAAA bogus: probed on the A address, insecure, the failed family named"
run_mxprobe "${MX[@]}" dom.half.test
assert_line '^10 +mx\.half\.test +127\.0\.0\.2 +insecure '
assert_line '^  mx\.half\.test: AAAA lookup bogus: .*SERVFAIL.*; the host counts as DNSSEC-insecure \(no DANE\)$'
grep -q '_25\._tcp\.mx\.half\.test TLSA' "$T/dns.log" && fail_ "TLSA asked for a host with a bogus family" || ok_
run_mxprobe "${MX[@]}" --json dom.half.test
assert_json 'j["hosts"][0]["a_dnssec"]=="secure" and j["hosts"][0]["aaaa_dnssec"]=="bogus" and j["hosts"][0]["dnssec"]=="insecure"' "per-family states in JSON"
run_mxprobe "${MX[@]}" -4 --json dom.half.test
assert_json 'j["hosts"][0]["a_dnssec"]=="secure" and j["hosts"][0]["aaaa_dnssec"] is None and j["hosts"][0]["dnssec"]=="secure"' "-4: AAAA not asked, the host secure"

case_ "bogus zone: SERVFAIL shown as bogus, exit 3"
run_mxprobe "${MX[@]}" x.bogus.test
assert_exit 3
assert_contains "MX bogus"
assert_contains "SERVFAIL"

case_ "resolver never answers: tempfail within the DNS timeout"
run_mxprobe "${MX[@]}" --dns-timeout 1 x.drop.test
assert_exit 3
assert_contains "MX tempfail"
[ "$ELAPSED_MS" -lt 8000 ] && ok_ || fail_ "took ${ELAPSED_MS} ms"

case_ "resolver unreachable: clear message, exit 3"
DEADP=$(free_port)
run_mxprobe --resolver "127.0.0.1:$DEADP" --dns-timeout 1 -p "$MX_PORT" good.sig.test
assert_exit 3
assert_contains "no answer from the resolver"

case_ "MX host without addresses"
run_mxprobe "${MX[@]}" noaddr.sig.test
assert_exit 3
assert_contains "nothing.sig.test"

case_ "server that never answers: timeout within the deadline, exit 3"
run_mxprobe "${MX[@]}" --timeout 1 --deadline 3 slow.sig.test
assert_exit 3
[ "$ELAPSED_MS" -lt 10000 ] && ok_ || fail_ "took ${ELAPSED_MS} ms"
assert_line '^10 +silent\.test\.example +127\.0\.0\.6 .*FAIL$'

case_ "421 banner is reported as such, exit 3"
run_mxprobe "${MX[@]}" busy.sig.test
assert_exit 3
assert_line '^10 +busy\.test\.example +127\.0\.0\.8 +secure +ok [0-9]+ms +421 .*FAIL$'
assert_contains "421"

case_ "DANE-EE 3 1 1 matches: level dane passes at dane"
run_mxprobe "${MX[@]}" -4 -l dane good.sig.test
assert_exit 0
assert_line '^10 +mx\.test\.example +127\.0\.0\.2 .* verified .*PASS$'
assert_contains "DANE-EE 3 1 1"
assert_line '\[127\.0\.0\.2\] PASS: requested dane, reached dane; faults: none'
dns_asked _25._tcp.mx.test.example TLSA && ok_ || fail_ "no TLSA query for the secure MX"

case_ "DANE-EE mismatch: dane fails with dane-mismatch, exit 1"
run_mxprobe "${MX[@]}" -l dane danebad.sig.test
assert_exit 1
assert_line '\[127\.0\.0\.2\] FAIL: requested dane, reached encrypt; faults: .*dane-mismatch'
assert_contains "DANE: no TLSA record matched"

case_ "DANE mismatch at level verify: a warning only"
run_mxprobe "${MX[@]}" -l encrypt danebad.sig.test
assert_exit 0
assert_contains "dane-mismatch"

case_ "DANE-TA 2 0 1 on the intermediate, name via *.test.example"
run_mxprobe "${MX[@]}" -l dane-only daneta.sig.test
assert_exit 0
assert_contains "DANE-TA 2 0 1"
assert_contains "matched certificate 1"
assert_line '\[127\.0\.0\.7\] PASS: requested dane-only, reached dane'

case_ "unusable TLSA (PKIX-EE): dane-only fails, dane gets mandatory TLS"
run_mxprobe "${MX[@]}" -l dane-only unusable.sig.test
assert_exit 1
assert_contains "no-usable-tlsa"
assert_contains "PKIX-TA(0) and PKIX-EE(1) are not usable for SMTP"
run_mxprobe "${MX[@]}" -l dane unusable.sig.test
assert_exit 0

case_ "insecure MX host: TLSA never asked, DANE ignored"
: >"$T/dns.log"
run_mxprobe "${MX[@]}" -l dane insmx.sig.test
assert_exit 0
assert_line '^10 +mx\.uns\.test +127\.0\.0\.2 +insecure .* insecure '
dns_asked _25._tcp.mx.uns.test TLSA && fail_ "asked for TLSA of an insecure host" || ok_
run_mxprobe "${MX[@]}" -l dane-only insmx.sig.test
assert_exit 1
assert_contains "not DNSSEC-secure"

case_ "verify vs secure: names from secure DNS count as secure"
run_mxprobe "${MX[@]}" -4 -l secure good.sig.test
assert_exit 0
run_mxprobe "${MX[@]}" -l secure plain.uns.test
assert_exit 1
assert_contains "insecure DNS"

case_ "Nagios"
run_mxprobe "${MX[@]}" --nagios good.sig.test
assert_exit 0
assert_line '^MXPROBE OK - good\.sig\.test: [0-9]+ of [0-9]+ MX addresses passed \| time='
run_mxprobe "${MX[@]}" --nagios multi.sig.test
assert_exit 2
assert_line '^MXPROBE CRITICAL - multi\.sig\.test'

case_ "JUnit: a testsuite per domain, a testcase per MX address, failure reasons"
run_mxprobe "${MX[@]}" -4 --junit "$T/j.xml" multi.sig.test
assert_exit 2
if command -v xmllint >/dev/null; then
	xmllint --noout "$T/j.xml" && ok_ || fail_ "JUnit not well-formed"
	[ "$(xmllint --xpath 'count(//testsuite[@name="multi.sig.test"]/testcase[starts-with(@name,"MX ")])' "$T/j.xml")" = 3 ] && ok_ || fail_ "want 3 MX testcases: $(cat "$T/j.xml")"
	[ "$(xmllint --xpath 'count(//testcase/failure)' "$T/j.xml")" = 2 ] && ok_ || fail_ "want 2 failures"
fi

case_ "bad input"
run_mxprobe "${MX[@]}" 'bad..name'
assert_exit 64
assert_contains "empty label"
run_mxprobe "${MX[@]}" "$(printf 'a%.0s' {1..70}).test"
assert_exit 64
assert_contains "longer than 63"
run_mxprobe --resolver not-an-ip good.sig.test
assert_exit 64
assert_contains "not an IP address"
run_mxprobe "${MX[@]}" -4 -6 good.sig.test
assert_exit 64
run_mxprobe "${MX[@]}"
assert_exit 64
assert_contains "no DOMAIN"
run_mxprobe "${MX[@]}" -p 0 good.sig.test
assert_exit 64

finish
