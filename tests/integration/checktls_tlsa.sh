#!/usr/bin/env bash
# checktls --tlsa against a real Postfix smtpd on loopback (tests/fixtures/postfix.sh): TLSA
# records typed by hand, computed here with openssl from the PKI of tests/fixtures/pki.sh,
# matched by the core's DANE judge. DANE-EE on untrusted, self-signed and expired chains,
# DANE-TA on the intermediate and on a root the server sends, every selector and matching
# type, mismatches and their exit codes, dane-only, the transcript line, JSON, XML, quiet,
# Nagios, the offline lint, and malformed records rejected as usage errors.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd postfix certtool openssl sha256sum sha512sum
need_checktls
setup_pki
MAILTLS_SCENARIOS="good selfsigned expired mismatch withroot notls smtps" start_postfix

LO=127.0.0.1
N=(--name mx.test.example)

# hex digests for TLSA data: of a certificate's DER (selector 0) or its SPKI (selector 1)
der() { openssl x509 -in "$1" -outform DER; }
spki() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER; }
sha256hex() { sha256sum | cut -d' ' -f1; }
sha512hex() { sha512sum | cut -d' ' -f1; }

EE_311=$(spki "$PKI/good.pem" | sha256hex)
EE_301=$(der "$PKI/good.pem" | sha256hex)
EE_312=$(spki "$PKI/good.pem" | sha512hex)
EE_300=$(der "$PKI/good.pem" | od -An -v -tx1 | tr -d ' \n')
SELF_311=$(spki "$PKI/selfsigned.pem" | sha256hex)
EXP_311=$(spki "$PKI/expired.pem" | sha256hex)
MM_311=$(spki "$PKI/mismatch.pem" | sha256hex)
INT_201=$(der "$PKI/int.pem" | sha256hex)
INT_211=$(spki "$PKI/int.pem" | sha256hex)
ROOT_201=$(der "$PKI/ca.pem" | sha256hex)
ZERO=$(printf '%064d' 0)
[ ${#EE_311} = 64 ] && [ ${#EE_312} = 128 ] && [ ${#INT_201} = 64 ] && [ ${#EE_300} -gt 200 ] ||
	{ echo "FATAL: could not compute the TLSA data"; exit 1; }

# the DANE line comes before the verdict line
assert_dane_before_verdict() {
	local d v
	d=$(grep -nE "^$TS DANE " "$OUT" | head -1 | cut -d: -f1)
	v=$(grep -nE "^$TS Verdict: " "$OUT" | tail -1 | cut -d: -f1)
	if [ -n "$d" ] && [ -n "$v" ] && [ "$d" -lt "$v" ]; then ok_; else
		fail_ "no DANE transcript line before the verdict (DANE at '${d}', verdict at '${v}')"; fi
}

case_ "DANE-EE 3 1 1 on a chain the system store does not trust: level dane by default"
run_checktls -p "$PORT_good" --tlsa "3 1 1 $EE_311" $LO
assert_exit 0
assert_line "^$TS DANE verified: DANE-EE 3 1 1 ${EE_311:0:16}\.\.\.${EE_311:48:16} matched certificate 0 \(CN=mx\.test\.example\)$"
assert_dane_before_verdict
assert_verdict "(PASS|WARN)" dane dane
assert_not_contains "dane-mismatch"

case_ "DANE-EE on a self-signed certificate"
run_checktls -p "$PORT_selfsigned" --tlsa "3 1 1 $SELF_311" $LO
assert_exit 0
assert_contains "DANE verified: DANE-EE 3 1 1"
assert_verdict "(PASS|WARN)" dane dane

case_ "DANE-EE ignores dates (RFC 7672 3.1.1): expired leaf passes"
run_checktls -p "$PORT_expired" --tlsa "3 1 1 $EXP_311" $LO
assert_exit 0
assert_contains "DANE verified: DANE-EE 3 1 1"
assert_verdict "(PASS|WARN)" dane dane

case_ "DANE-EE ignores names: a leaf for another host passes, the mismatch is a warning"
run_checktls -p "$PORT_mismatch" "${N[@]}" --tlsa "3 1 1 $MM_311" $LO
assert_exit 0
assert_contains "DANE verified: DANE-EE 3 1 1"
assert_contains "matched certificate 0 (CN=other.example.net)"
assert_last_line "^$TS Verdict: WARN: requested dane, reached dane; faults: .*name-mismatch"

case_ "DANE-EE, other selectors and matching types: 3 0 1, 3 1 2, 3 0 0"
for rec in "3 0 1 $EE_301" "3 1 2 $EE_312" "3 0 0 $EE_300"; do
	run_checktls -p "$PORT_good" --tlsa "$rec" $LO
	assert_exit 0
	assert_contains "DANE verified: DANE-EE ${rec:0:5} "
	assert_verdict "(PASS|WARN)" dane dane
done

case_ "hex with blanks and upper case, as DNS zone files write it"
run_checktls -p "$PORT_good" --tlsa "3 1 1 $(echo "${EE_311:0:32}" | tr a-f A-F) ${EE_311:32}" $LO
assert_exit 0
assert_contains "DANE verified: DANE-EE 3 1 1"

case_ "DANE-TA 2 0 1 and 2 1 1 on the intermediate, reference name from --name"
for rec in "2 0 1 $INT_201" "2 1 1 $INT_211"; do
	run_checktls -p "$PORT_good" "${N[@]}" --tlsa "$rec" $LO
	assert_exit 0
	assert_line "^$TS DANE verified: DANE-TA ${rec:0:5} .* matched certificate 1 \(CN=mailtls Test Intermediate CA.*; name mx\.test\.example matched "
	assert_verdict "(PASS|WARN)" dane dane
done

case_ "DANE-TA on the intermediate, but the leaf names another host: mismatch, exit 1"
run_checktls -p "$PORT_mismatch" "${N[@]}" --tlsa "2 0 1 $INT_201" $LO
assert_exit 1
assert_contains "DANE mismatch: DANE-TA 2 0 1"
assert_contains "the leaf names none of the reference names (mx.test.example)"
assert_fault dane-mismatch
assert_verdict FAIL dane

case_ "DANE-TA 2 0 1 on the root: matches when the server sends it, not otherwise"
run_checktls -p "$PORT_withroot" "${N[@]}" --tlsa "2 0 1 $ROOT_201" $LO
assert_exit 0
assert_contains "DANE verified: DANE-TA 2 0 1"
assert_contains "matched certificate 2"
run_checktls -p "$PORT_good" "${N[@]}" --tlsa "2 0 1 $ROOT_201" $LO
assert_exit 1
assert_contains "DANE mismatch: none of 1 usable TLSA record matched the 2 certificates sent"

case_ "implicit TLS (SMTPS) with DANE-EE"
run_checktls --implicit-tls -p "$PORT_smtps" --tlsa "3 1 1 $EE_311" $LO
assert_exit 0
assert_contains "DANE verified: DANE-EE 3 1 1"
assert_verdict "(PASS|WARN)" dane dane

case_ "wrong hash: DANE mismatch fails like a verification failure (exit 1)"
run_checktls -p "$PORT_good" --tlsa "3 1 1 $ZERO" $LO
assert_exit 1
assert_line "^$TS DANE mismatch: none of 1 usable TLSA record matched the 2 certificates sent$"
assert_dane_before_verdict
assert_contains "Reason: DANE: no TLSA record matched the server's certificate chain"
assert_fault dane-mismatch
assert_verdict FAIL dane encrypt

case_ "the SPKI hash as a certificate hash (3 0 1) does not match"
run_checktls -p "$PORT_good" --tlsa "3 0 1 $EE_311" $LO
assert_exit 1
assert_contains "DANE mismatch"

case_ "several records: a wrong one, then the right one"
run_checktls -p "$PORT_good" --tlsa "3 1 1 $ZERO" --tlsa "3 1 1 $EE_311" --json $LO
assert_exit 0
assert_json 'j["dane"]["state"]=="verified" and j["dane"]["record"]==1 and j["dane"]["certificate"]==0'
assert_json 'len(j["dane"]["records"])==2 and all(r["usable"] for r in j["dane"]["records"])'
assert_json 'j["level_requested"]=="dane" and j["level_reached"]=="dane" and j["exit_code"]==0'

case_ "dane-only without a matching record fails"
run_checktls -p "$PORT_good" -l dane-only --tlsa "3 1 1 $ZERO" $LO
assert_exit 1
assert_contains "DANE mismatch"
assert_verdict FAIL dane-only
run_checktls -p "$PORT_good" -l dane-only --tlsa "3 1 1 $EE_311" $LO
assert_exit 0
assert_verdict "(PASS|WARN)" dane-only dane

case_ "only unusable records (PKIX-EE): dane means mandatory TLS, dane-only fails"
run_checktls -p "$PORT_good" --tlsa "1 1 1 $EE_311" $LO
assert_exit 0
assert_contains "DANE no-usable-tlsa: 1 TLSA record, none usable (PKIX-TA(0) and PKIX-EE(1) are not usable for SMTP"
assert_verdict "(PASS|WARN)" dane encrypt
run_checktls -p "$PORT_good" -l dane-only --tlsa "1 1 1 $EE_311" $LO
assert_exit 1
assert_contains "dane-only: no usable TLSA records"
run_checktls -p "$PORT_notls" --tlsa "1 1 1 $EE_311" $LO
assert_exit 2

case_ "no STARTTLS with usable records: TLS is mandatory, exit 2"
run_checktls -p "$PORT_notls" --tlsa "3 1 1 $EE_311" $LO
assert_exit 2
assert_contains "STARTTLS is not offered by this server"
assert_contains "DANE mismatch: no certificate chain to match (no TLS)"
assert_verdict FAIL dane

case_ "--tlsa at level verify: PKIX decides, a DANE mismatch is a warning"
run_checktls -p "$PORT_good" -l verify --cafile "$PKI/ca.pem" "${N[@]}" --tlsa "3 1 1 $ZERO" $LO
assert_exit 0
assert_contains "DANE mismatch"
assert_last_line "Verdict: WARN: requested verify, reached (verify|secure); faults: dane-mismatch$"
run_checktls -p "$PORT_good" -l verify "${N[@]}" --tlsa "3 1 1 $EE_311" $LO
assert_exit 1
assert_contains "DANE verified"
assert_verdict FAIL verify

case_ "JSON carries the DANE result"
run_checktls -p "$PORT_good" --tlsa "3 1 1 $EE_311" --json $LO
assert_exit 0
assert_json 'j["dane"]["state"]=="verified" and j["dane"]["record"]==0 and j["dane"]["certificate"]==0'
assert_json 'j["dane"]["text"].startswith("DANE-EE 3 1 1 ") and "matched certificate 0" in j["dane"]["text"]'
assert_json 'j["dane"]["records"][0]["record"].startswith("3 1 1 '"${EE_311:0:16}"'")'
assert_json 'j["verdict"] in ("pass","warn") and j["level_reached"]=="dane"'
run_checktls -p "$PORT_good" --tlsa "3 1 1 $ZERO" --json $LO
assert_exit 1
assert_json 'j["dane"]["state"]=="mismatch" and j["dane"]["record"]==-1 and j["exit_code"]==1'
assert_json 'any(f["fault"]=="dane-mismatch" and f["severity"]=="error" for f in j["faults"])'
run_checktls -p "$PORT_good" --json "${N[@]}" --cafile "$PKI/ca.pem" $LO
assert_exit 0
assert_json '"dane" not in j'

case_ "XML carries the DANE result and parses"
if command -v xmllint >/dev/null; then
	run_checktls -p "$PORT_good" "${N[@]}" --tlsa "2 0 1 $INT_201" --xml $LO
	assert_exit 0
	xmllint --noout "$OUT" && ok_ || fail_ "--xml output does not parse"
	[ "$(xmllint --xpath 'string(/checktls/dane/state)' "$OUT")" = verified ] && ok_ || fail_ "dane/state is not verified"
	[ "$(xmllint --xpath 'string(/checktls/dane/certificate)' "$OUT")" = 1 ] && ok_ || fail_ "dane/certificate is not 1"
	[ "$(xmllint --xpath 'string(/checktls/dane/records/tlsa[1]/usable)' "$OUT")" = true ] && ok_ || fail_ "records/tlsa/usable"
	[ "$(xmllint --xpath 'string(/checktls/level_reached)' "$OUT")" = dane ] && ok_ || fail_ "level_reached is not dane"
	run_checktls -p "$PORT_good" --tlsa "3 1 1 $ZERO" --xml $LO
	assert_exit 1
	xmllint --noout "$OUT" && ok_ || fail_ "--xml output does not parse"
	[ "$(xmllint --xpath 'string(/checktls/dane/state)' "$OUT")" = mismatch ] && ok_ || fail_ "dane/state is not mismatch"
	[ "$(xmllint --xpath 'count(/checktls/faults/fault[@name="dane-mismatch"])' "$OUT")" = 1 ] && ok_ || fail_ "no dane-mismatch fault"
else
	echo "(xmllint not installed: XML checks skipped)"
fi

case_ "quiet: only the verdict line"
run_checktls -q -p "$PORT_good" --tlsa "3 1 1 $EE_311" $LO
assert_exit 0
[ "$(grep -c . "$OUT")" = 1 ] && ok_ || fail_ "quiet printed more than one line"
assert_line "^Verdict: (PASS|WARN): requested dane, reached dane"

case_ "Nagios: a DANE mismatch is CRITICAL"
run_checktls --nagios -p "$PORT_good" --tlsa "3 1 1 $ZERO" $LO
assert_exit 2
assert_line "^CHECKTLS CRITICAL - "
run_checktls --nagios -p "$PORT_good" --tlsa "3 1 1 $EE_311" $LO
assert_exit 0 1
assert_line "^CHECKTLS (OK|WARNING) - "

case_ "offline lint: would these records match this certificate file?"
run_checktls --cert-file "$PKI/good.chain.pem" --tlsa "3 1 1 $EE_311"
assert_exit 0
assert_line "^DANE verified: DANE-EE 3 1 1 "
run_checktls --cert-file "$PKI/good.chain.pem" --tlsa "3 1 1 $SELF_311"
assert_exit 1
assert_line "^DANE mismatch: "
assert_fault dane-mismatch

case_ "malformed records and misuse are usage errors (exit 64)"
bad_tlsa() {
	run_checktls -p "$PORT_good" --tlsa "$1" $LO
	assert_exit 64
	assert_contains "$2"
	assert_contains "Try 'checktls --help'."
	assert_not_contains "Connected to"
}
bad_tlsa "9 1 1 $EE_311" "certificate usage 9 is not 0-3"
bad_tlsa "4 1 1 $EE_311" "certificate usage 4 is not 0-3"
bad_tlsa "3 2 1 $EE_311" "selector 2 is not 0"
bad_tlsa "3 1 3 $EE_311" "matching type 3 is not 0"
bad_tlsa "3 1 1 ${EE_311:0:40}" "SHA-256 data must be 64 hex digits, not 40"
bad_tlsa "3 1 2 $EE_311" "SHA-512 data must be 128 hex digits, not 64"
bad_tlsa "3 1 1 ${EE_311:0:63}" "odd number of hex digits"
bad_tlsa "3 1 1 ${EE_311:0:62}zz" "is not a hex digit"
bad_tlsa "3 1 1" "expected a blank after the matching type"
bad_tlsa "3 1 1 " "no data"
bad_tlsa "three 1 1 $EE_311" "usage is not a number"
bad_tlsa "300 1 1 $EE_311" "usage is over 255"
bad_tlsa "" "TLSA record"
args=()
for i in $(seq 1 17); do args+=(--tlsa "3 1 1 $EE_311"); done
run_checktls -p "$PORT_good" "${args[@]}" $LO
assert_exit 64
assert_contains "too many --tlsa options (at most 16)"

case_ "levels dane and dane-only need --tlsa"
for lv in dane dane-only; do
	run_checktls -p "$PORT_good" -l $lv $LO
	assert_exit 64
	assert_contains "level $lv needs TLSA records: give them with --tlsa"
done
run_checktls -p "$PORT_good" --fingerprint "$EE_311" --tlsa "3 1 1 $EE_311" $LO
assert_exit 64
assert_contains "choose the level with -l"

case_ "--help documents --tlsa"
run_checktls --help
assert_exit 0
assert_contains '--tlsa "U S M HEX"'
assert_contains "dane and dane-only need --tlsa"

finish
