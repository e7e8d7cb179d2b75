#!/usr/bin/env bash
# mxprobe with MTA-STS and TLS-RPT, and in batch: policies fetched over HTTPS from a loopback
# server with a test-CA certificate (tests/fixtures/stshttps.py), DNS from dnsfix, MX hosts
# on 127.0.0.x in front of real Postfix. Scenarios: enforce with matching and non-matching
# MX, testing mode, fetch failures (404, redirect, wrong type, too big), malformed policy and
# TXT, TLS-RPT good and bad; batch with -j, JSON Lines, JUnit, IDN input, comments.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/fixtures/mxprobe_env.sh"
need_mxprobe
need_cmd openssl certtool
setup_pki
start_postfix
start_fwd 127.0.0.2="$PORT_good" 127.0.0.3="$PORT_expired"

DOMS="enf nomatch testing e404 redir ctype big badpol badtxt wild"
HOSTS=()
for d in $DOMS two; do HOSTS+=("mta-sts.$d.sts.test"); done
start_sts_https "${HOSTS[@]}"

Z=$T/zones
mkdir -p "$Z"
{
	echo '$ORIGIN test.example.'
	echo '$TTL 300'
	echo '@ SOA ns hostmaster 1 3600 600 86400 300'
	echo 'mx A 127.0.0.2'
	echo 'expired A 127.0.0.3'
} >"$Z/test.example.zone"
{
	echo '$ORIGIN sts.test.'
	echo '$TTL 300'
	echo '@ SOA ns hostmaster 1 3600 600 86400 300'
	for d in $DOMS; do
		echo "$d MX 10 mx.test.example."
		echo "_mta-sts.$d TXT \"v=STSv1; id=20260101\""
		echo "mta-sts.$d A 127.0.0.1"
	done
	echo 'two MX 10 mx.test.example.'
	echo 'two MX 20 expired.test.example.'
	echo '_mta-sts.two TXT "v=STSv1; id=2"'
	echo 'mta-sts.two A 127.0.0.1'
	echo 'badtxt2 MX 10 mx.test.example.'
	echo '_mta-sts.badtxt2 TXT "v=STSv1; id=has-dash"'
	echo 'nosts MX 10 mx.test.example.'
	echo '_smtp._tls.nosts TXT "v=TLSRPTv1; rua=mailto:tls@nosts.sts.test,https://r.sts.test/x"'
	echo '_smtp._tls.enf TXT "v=TLSRPTv1; rua=ftp://r.sts.test/x"'
	echo '_smtp._tls.testing TXT "v=TLSRPTv1;"'
	echo 'xn--bcher-kva MX 10 mx.test.example.'
} >"$Z/sts.test.zone"
start_dns "$Z/test.example.zone:signed" "$Z/sts.test.zone"

S=$T/sts
pol() { printf 'version: STSv1\r\nmode: %s\r\n%bmax_age: 86400\r\n' "$1" "$2"; }
pol enforce 'mx: mx.test.example\r\n' >"$S/mta-sts.enf.sts.test"
pol enforce 'mx: mx.other.example\r\n' >"$S/mta-sts.nomatch.sts.test"
pol testing 'mx: mx.other.example\r\n' >"$S/mta-sts.testing.sts.test"
pol enforce 'mx: *.test.example\r\n' >"$S/mta-sts.wild.sts.test"
printf '404\n' >"$S/mta-sts.e404.sts.test.status"
printf '301\nhttps://elsewhere.sts.test/x\n' >"$S/mta-sts.redir.sts.test.status"
pol enforce 'mx: mx.test.example\r\n' >"$S/mta-sts.ctype.sts.test"
echo 'text/html' >"$S/mta-sts.ctype.sts.test.type"
echo 70000 >"$S/mta-sts.big.sts.test.big"
printf 'version: STSv1\nmode: enforce-ish\nmx: mx.test.example\nmax_age: 86400\n' >"$S/mta-sts.badpol.sts.test"
# badtxt: policy fine but TXT broken below (id with a dash, set in the zone as badtxt2)
pol enforce 'mx: mx.test.example\r\n' >"$S/mta-sts.badtxt.sts.test"

MX=(--resolver "127.0.0.1:$DNS_PORT" -p "$MX_PORT" --cafile "$PKI/ca.pem" --timeout 5
	--mta-sts-port "$STS_PORT" --no-color -4)

case_ "enforce, MX matches and verifies: pass; TLS-RPT with a bad scheme: a warning"
run_mxprobe "${MX[@]}" enf.sts.test
assert_exit 0
assert_contains "MTA-STS: ok, mode enforce, max_age 86400, id 20260101, mx: mx.test.example"
assert_line '^10 +mx\.test\.example +127\.0\.0\.2 .* ok +PASS$'
assert_contains "[127.0.0.2] MTA-STS: ok (mx: mx.test.example)"
assert_contains "TLS-RPT: error"
assert_contains "scheme ftp: is not mailto: or https:"
assert_line '^Verdict: WARN: enf\.sts\.test'

case_ "enforce with a wildcard mx pattern"
run_mxprobe "${MX[@]}" wild.sts.test
assert_exit 0
assert_contains "MTA-STS: ok (mx: *.test.example)"

case_ "enforce, MX matches no pattern: fail, exit 1, says STS senders would not deliver"
run_mxprobe "${MX[@]}" nomatch.sts.test
assert_exit 1
assert_line '^10 +mx\.test\.example .* FAIL +PASS$'
assert_contains "MX matches no mx pattern: STS senders would not deliver here"
assert_line '^Reason: MTA-STS enforce: 127\.0\.0\.2'

case_ "enforce, second MX matches but does not verify (expired)"
pol enforce 'mx: *.test.example\r\n' >"$S/mta-sts.two.sts.test"
run_mxprobe "${MX[@]}" -l may two.sts.test
assert_exit 1
assert_contains "[127.0.0.3] MTA-STS: certificate does not verify: STS senders would not deliver here"
assert_contains "[127.0.0.2] MTA-STS: ok"

case_ "testing mode mismatch: a warning, exit 0; TLS-RPT without rua named"
run_mxprobe "${MX[@]}" testing.sts.test
assert_exit 0
assert_line '^10 +mx\.test\.example .* warn +PASS$'
assert_contains "TLS-RPT: no rua field"
assert_line '^Verdict: WARN'

case_ "fetch failures are named: 404, redirect, content type, size cap"
run_mxprobe "${MX[@]}" e404.sts.test
assert_exit 1
assert_contains "fetch-error: HTTP status 404"
run_mxprobe "${MX[@]}" redir.sts.test
assert_exit 1
assert_contains "HTTP 301 redirect to https://elsewhere.sts.test/x not followed"
run_mxprobe "${MX[@]}" ctype.sts.test
assert_exit 1
assert_contains 'Content-Type is "text/html"'
run_mxprobe "${MX[@]}" big.sts.test
assert_exit 1
assert_contains "over 65536 octets"

case_ "policy host certificate not trusted: fetch error"
run_mxprobe --resolver "127.0.0.1:$DNS_PORT" -p "$MX_PORT" --cafile "$PKI/ca.pem" \
	--mta-sts-cafile "$PKI/client-ca.pem" --mta-sts-port "$STS_PORT" -4 enf.sts.test
assert_exit 1
assert_contains "not trusted"

case_ "malformed policy: the field is named"
run_mxprobe "${MX[@]}" badpol.sts.test
assert_exit 1
assert_contains 'policy-error: policy of badpol.sts.test: line 2: mode "enforce-ish" is not enforce, testing or none'

case_ "malformed TXT record"
run_mxprobe "${MX[@]}" badtxt2.sts.test
assert_exit 1
assert_contains "txt-error"
assert_contains "letters and digits"

case_ "policy server down: fetch error within the timeout"
run_mxprobe --resolver "127.0.0.1:$DNS_PORT" -p "$MX_PORT" --cafile "$PKI/ca.pem" \
	--mta-sts-port "$(free_port)" --timeout 2 -4 enf.sts.test
assert_exit 1
assert_contains "fetch-error"

case_ "no MTA-STS, TLS-RPT good"
run_mxprobe "${MX[@]}" nosts.sts.test
assert_exit 0
assert_contains "MTA-STS: none"
assert_contains "TLS-RPT: ok: reports to mailto:tls@nosts.sts.test, https://r.sts.test/x"
assert_line '^Verdict: PASS'

case_ "JSON carries the policies"
run_mxprobe "${MX[@]}" --json nomatch.sts.test
assert_exit 1
assert_json 'j["mta_sts"]["state"]=="ok" and j["mta_sts"]["mode"]=="enforce" and j["mta_sts"]["mx"]==["mx.other.example"]'
assert_json 'j["hosts"][0]["addresses"][0]["mta_sts"]["ok"] is False'
run_mxprobe "${MX[@]}" --json nosts.sts.test
assert_json 'j["tls_rpt"]["state"]=="ok" and len(j["tls_rpt"]["rua"])==2'

case_ "batch: -j 4, JSON Lines as domains finish, comments/blanks skipped, IDN converted"
{
	echo "# a comment"
	echo
	for d in enf nomatch testing e404 wild nosts; do echo "  $d.sts.test  # trailing comment"; done
	echo "bücher.sts.test"
	echo "bad..name"
} >"$T/list"
run_mxprobe "${MX[@]}" --json -j 4 -f "$T/list" --junit "$T/batch.xml" --no-progress
assert_exit 64
[ "$(wc -l <"$OUT")" = 8 ] && ok_ || fail_ "want 8 JSON lines, got $(wc -l <"$OUT")"
"$PY" - "$OUT" <<-'EOF2' && ok_ || fail_ "JSON Lines content"
	import json, sys
	rows = [json.loads(l) for l in open(sys.argv[1])]
	by = {r["domain"]: r for r in rows}
	assert by["enf.sts.test"]["exit_code"] == 0, by["enf.sts.test"]["exit_code"]
	assert by["nomatch.sts.test"]["exit_code"] == 1
	assert by["e404.sts.test"]["mta_sts"]["state"] == "fetch-error"
	assert by["xn--bcher-kva.sts.test"]["input"] == "bücher.sts.test"
	assert by["xn--bcher-kva.sts.test"]["exit_code"] == 0
	assert by["bad..name"]["exit_code"] == 64
EOF2
if command -v xmllint >/dev/null; then
	xmllint --noout "$T/batch.xml" && ok_ || fail_ "JUnit not well-formed"
	[ "$(xmllint --xpath 'count(//testsuite)' "$T/batch.xml")" = 8 ] && ok_ || fail_ "want 8 testsuites"
	xmllint --xpath 'string(//testsuite[@name="nomatch.sts.test"]//failure/@message)' "$T/batch.xml" | grep -q "no mx pattern" && ok_ || fail_ "nomatch failure reason"
fi

case_ "batch from stdin, text matrices, exit code is the worst"
printf 'enf.sts.test\nnosts.sts.test\n' | timeout 60 "$MXPROBE" "${MX[@]}" --text -f - >"$OUT" 2>"$ERR"
RC=$?
CMD="mxprobe --text -f - (2 domains)"
assert_exit 0
[ "$(grep -c '^Verdict: ' "$OUT")" = 2 ] && ok_ || fail_ "want 2 verdicts"

case_ "batch into a file without a format option: JSON Lines (mxprobe -f list > results.jsonl)"
printf 'enf.sts.test\nnosts.sts.test\n' | timeout 60 "$MXPROBE" "${MX[@]}" -f - >"$OUT" 2>"$ERR"
RC=$?
CMD="mxprobe -f - > file (2 domains)"
assert_exit 0
[ "$(jq -c .domain "$OUT" 2>/dev/null | sort | tr '\n' ' ')" = '"enf.sts.test" "nosts.sts.test" ' ] && ok_ ||
	fail_ "want 2 JSON lines, got: $(head -c 300 "$OUT")"
run_mxprobe "${MX[@]}" --text --json -f -
assert_exit 64
assert_contains "choose one of"

case_ "batch: unreadable list"
run_mxprobe "${MX[@]}" -f "$T/nonexistent"
assert_exit 64
assert_contains "cannot open"

finish
