#!/usr/bin/env bash
# mxprobe --xml: one XML document per run (<mxprobe> with a <domain> per domain) carrying the
# fields of --json, for one domain and for a batch (-f FILE, -f -, -j), with DNS from the test
# server (tests/fixtures/dnsfix) and real Postfix behind MX hosts on 127.0.0.x. Every
# document is checked with xmllint --noout; values with xmllint --xpath; the element tree is
# compared with the JSON object of the same run's --json.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/fixtures/mxprobe_env.sh"
need_mxprobe
need_cmd openssl certtool xmllint
setup_pki
MAILTLS_SCENARIOS="good expired notls" start_postfix
start_fwd 127.0.0.2="$PORT_good" 127.0.0.3="$PORT_expired" 127.0.0.4="$PORT_notls"

EE=$(tlsa_spki "$PKI/good.pem")
Z=$T/zones
mkdir -p "$Z"
cat >"$Z/test.example.zone" <<-EOF2
	\$ORIGIN test.example.
	\$TTL 300
	@ SOA ns hostmaster 1 3600 600 86400 300
	mx A 127.0.0.2
	expired A 127.0.0.3
	notls A 127.0.0.4
	_25._tcp.mx TLSA 3 1 1 $EE
EOF2
cat >"$Z/sig.test.zone" <<-EOF2
	\$ORIGIN sig.test.
	\$TTL 300
	@ SOA ns hostmaster 1 3600 600 86400 300
	good MX 10 mx.test.example.
	multi MX 30 notls.test.example.
	multi MX 10 mx.test.example.
	multi MX 20 expired.test.example.
	nullmx MX 0 .
	_smtp._tls.good TXT "v=TLSRPTv1; rua=mailto:tls@good.sig.test"
EOF2
start_dns "$Z/test.example.zone:signed" "$Z/sig.test.zone:signed"

MX=(--resolver "127.0.0.1:$DNS_PORT" -p "$MX_PORT" --cafile "$PKI/ca.pem" --timeout 5 --no-mta-sts --no-color -4)

# xp EXPR: the string value of an XPath expression over $OUT
xp() { xmllint --xpath "$1" "$OUT" 2>/dev/null; }
# assert_xp EXPR WANT: string(EXPR) equals WANT
assert_xp() {
	local got
	got=$(xp "string($1)")
	if [ "$got" = "$2" ]; then ok_; else fail_ "xpath $1 = '$got', want '$2'"; fi
}
assert_xp_count() {
	local got
	got=$(xp "count($1)")
	if [ "$got" = "$2" ]; then ok_; else fail_ "xpath count($1) = '$got', want '$2'"; fi
}
assert_wellformed() {
	if xmllint --noout "$OUT" 2>"$T/xmllint.err"; then ok_; else
		fail_ "not well-formed XML: $(head -3 "$T/xmllint.err")"; fi
}

# same_fields JSONFILE XMLFILE: every non-null JSON leaf has its element at the same path
# (arrays as an element per item) and the XML has no element the JSON lacks.
same_fields() {
	local why
	if why=$("$PY" - "$1" "$2" <<-'EOF'
		import json, sys, xml.etree.ElementTree as ET
		ITEM = {"hosts": "host", "addresses": "address", "records": "tlsa", "rua": "uri",
		        "mx": "pattern", "certs": "cert", "dns_names": "dns_name",
		        "ip_addresses": "ip_address", "faults": "fault", "transcript": "line"}
		def jpaths(v, path, out):
		    if isinstance(v, dict):
		        out.add(path)
		        for k, x in v.items():
		            jpaths(x, path + "/" + k, out)
		    elif isinstance(v, list):
		        out.add(path)
		        for x in v:
		            jpaths(x, path + "/" + ITEM.get(path.rsplit("/", 1)[-1], "item"), out)
		    elif v is not None:
		        out.add(path)
		def xpaths(e, path, out):
		    out.add(path)
		    for c in e:
		        xpaths(c, path + "/" + c.tag, out)
		j = json.load(open(sys.argv[1]))
		root = ET.parse(sys.argv[2]).getroot()
		doms = root.findall("domain")
		if len(doms) != 1:
		    print("want one <domain>, got %d" % len(doms)); sys.exit(1)
		a, b = set(), set()
		jpaths(j, "", a)
		xpaths(doms[0], "", b)
		if a != b:
		    print("only in JSON: %s; only in XML: %s" % (sorted(a - b)[:5], sorted(b - a)[:5]))
		    sys.exit(1)
		# and the scalar values agree where they do not depend on timing
		def jval(v, path, out):
		    if isinstance(v, dict):
		        for k, x in v.items():
		            jval(x, path + "/" + k, out)
		    elif isinstance(v, list):
		        for x in v:
		            jval(x, path + "/" + ITEM.get(path.rsplit("/", 1)[-1], "item"), out)
		    elif v is not None:
		        s = v if isinstance(v, str) else json.dumps(v)
		        out.append((path, s))
		vals = []
		jval(j, "", vals)
		for path, s in vals:
		    if path in ("/domain", "/verdict", "/exit_code", "/hosts/host/name",
		                "/hosts/host/preference", "/hosts/host/addresses/address/address",
		                "/hosts/host/addresses/address/dane/state",
		                "/hosts/host/addresses/address/probe/verdict"):
		        found = [e.text or "" for e in doms[0].iterfind("." + path)]
		        if s not in found:
		            print("%s: JSON %r not among XML %r" % (path, s, found)); sys.exit(1)
		EOF
	); then ok_; else fail_ "XML and JSON differ: $why"; fi
}

case_ "one domain: a document with one <domain>, every field of --json"
run_mxprobe "${MX[@]}" --xml good.sig.test
assert_exit 0
assert_wellformed
cp "$OUT" "$T/good.xml"
assert_line '^<\?xml version="1.0" encoding="UTF-8"\?>$'
assert_xp_count '/mxprobe/domain' 1
assert_xp '/mxprobe/domain/@name' good.sig.test
assert_xp '/mxprobe/domain/@verdict' pass
assert_xp '/mxprobe/domain/domain' good.sig.test
assert_xp '/mxprobe/domain/verdict' pass
assert_xp '/mxprobe/domain/exit_code' 0
assert_xp '/mxprobe/domain/mx/dnssec' secure
assert_xp '/mxprobe/domain/mx/null_mx' false
assert_xp '/mxprobe/domain/hosts/host[1]/name' mx.test.example
assert_xp '/mxprobe/domain/hosts/host[1]/preference' 10
assert_xp '/mxprobe/domain/hosts/host[1]/dnssec' secure
assert_xp '/mxprobe/domain/hosts/host[1]/addresses/address[1]/address' 127.0.0.2
assert_xp '/mxprobe/domain/hosts/host[1]/addresses/address[1]/family' ipv4
assert_xp '/mxprobe/domain/hosts/host[1]/addresses/address[1]/probe/verdict' pass
assert_xp '/mxprobe/domain/hosts/host[1]/addresses/address[1]/probe/trusted' true
assert_xp '/mxprobe/domain/hosts/host[1]/addresses/address[1]/probe/certs/cert[1]/dns_names/dns_name[1]' mx.test.example
assert_xp '/mxprobe/domain/hosts/host[1]/tlsa/asked' true
assert_xp_count '/mxprobe/domain/hosts/host[1]/tlsa/records/tlsa' 1
[[ "$(xp 'string(/mxprobe/domain/hosts/host[1]/tlsa/records/tlsa[1]/record)')" == "3 1 1 ${EE:0:16}..."* ]] && ok_ || fail_ "TLSA record not shown"
assert_xp '/mxprobe/domain/tls_rpt/state' ok
assert_xp '/mxprobe/domain/tls_rpt/rua/uri' mailto:tls@good.sig.test
assert_xp '/mxprobe/domain/mta_sts/state' not-checked
# the transcript, one <line> per event, as the JSON has it
[ "$(xp 'count(//probe/transcript/line[dir="send" and text="STARTTLS"])')" = 1 ] && ok_ || fail_ "no STARTTLS line in the transcript"
# null values are left out, not written empty
assert_xp_count '//probe/reason' 0

case_ "the same fields as --json"
run_mxprobe "${MX[@]}" --json good.sig.test
assert_exit 0
cp "$OUT" "$T/good.json"
same_fields "$T/good.json" "$T/good.xml"
run_mxprobe "${MX[@]}" --xml multi.sig.test
cp "$OUT" "$T/multi.xml"
run_mxprobe "${MX[@]}" --json multi.sig.test
cp "$OUT" "$T/multi.json"
same_fields "$T/multi.json" "$T/multi.xml"

case_ "several MX, one expired and one without STARTTLS: failures in the document, exit 2"
run_mxprobe "${MX[@]}" --xml multi.sig.test
assert_exit 2
assert_wellformed
assert_xp '/mxprobe/domain/@verdict' fail
assert_xp '/mxprobe/domain/exit_code' 2
[ "$(xp '/mxprobe/domain/hosts/host/preference/text()' | tr '\n' ' ')" = "10 20 30 " ] && ok_ || fail_ "preferences not 10 20 30"
assert_xp '//host[name="expired.test.example"]/addresses/address/probe/verdict' fail
assert_xp '//host[name="expired.test.example"]/addresses/address/exit_code' 1
assert_xp_count '//host[name="expired.test.example"]//fault[fault="expired"]' 1
assert_xp '//host[name="notls.test.example"]/addresses/address/probe/starttls_offered' false
assert_xp '//host[name="notls.test.example"]/addresses/address/exit_code' 2
[ -n "$(xp 'string(/mxprobe/domain/reason)')" ] && ok_ || fail_ "no reason for the failure"

case_ "DANE in the document"
run_mxprobe "${MX[@]}" --xml -l dane good.sig.test
assert_exit 0
assert_wellformed
assert_xp '//address[address="127.0.0.2"]/dane/state' verified
assert_xp '//address[address="127.0.0.2"]/dane/certificate' 0
assert_xp '//address[address="127.0.0.2"]/probe/level_reached' dane

case_ "null MX"
run_mxprobe "${MX[@]}" --xml nullmx.sig.test
assert_exit 0
assert_wellformed
assert_xp '/mxprobe/domain/mx/null_mx' true
assert_xp_count '/mxprobe/domain/hosts/host' 0

case_ "malformed domain: still a document, exit 64"
run_mxprobe "${MX[@]}" --xml 'bad..name'
assert_exit 64
assert_wellformed
assert_xp '/mxprobe/domain/exit_code' 64
[[ "$(xp 'string(/mxprobe/domain/reason)')" == *"empty label"* ]] && ok_ || fail_ "reason lacks 'empty label'"

case_ "batch: one document, a <domain> per domain, comments skipped, worst exit code"
printf '# batch\ngood.sig.test\n\nmulti.sig.test   # three MX\nnullmx.sig.test\nbad..name\n' >"$T/domains.txt"
run_mxprobe "${MX[@]}" --xml -j 3 -f "$T/domains.txt"
assert_exit 64
assert_wellformed
assert_xp_count '/mxprobe/domain' 4
assert_xp_count '/mxprobe/domain[@name="good.sig.test" and verdict="pass"]' 1
assert_xp_count '/mxprobe/domain[@name="multi.sig.test" and exit_code="2"]' 1
assert_xp_count '/mxprobe/domain[@name="nullmx.sig.test" and mx/null_mx="true"]' 1
assert_xp_count '/mxprobe/domain[input="bad..name" and exit_code="64"]' 1
[ "$(grep -c '<?xml' "$OUT")" = 1 ] && ok_ || fail_ "more than one XML declaration"
assert_not_contains "Verdict:"

case_ "batch from stdin, with JUnit next to it"
CMD="printf ... | mxprobe --xml -f - --junit"
printf 'good.sig.test\nnullmx.sig.test\n' | timeout 120 "$MXPROBE" "${MX[@]}" --xml -f - --junit "$T/j.xml" >"$OUT" 2>"$ERR"
RC=$?
assert_exit 0
assert_wellformed
assert_xp_count '/mxprobe/domain' 2
xmllint --noout "$T/j.xml" && ok_ || fail_ "JUnit not well-formed"
[ "$(xmllint --xpath 'count(//testsuite)' "$T/j.xml")" = 2 ] && ok_ || fail_ "want 2 testsuites"

case_ "--xml excludes --json and --nagios"
run_mxprobe "${MX[@]}" --xml --json good.sig.test
assert_exit 64
assert_contains "choose one of"
run_mxprobe "${MX[@]}" --xml --nagios good.sig.test
assert_exit 64
assert_contains "choose one of"

case_ "--help documents --xml"
run_mxprobe --help
assert_exit 0
assert_contains "--xml "

finish
