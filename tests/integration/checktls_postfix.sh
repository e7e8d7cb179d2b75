#!/usr/bin/env bash
# checktls against a real Postfix smtpd on loopback, one listener per PKI scenario
# (tests/fixtures/postfix.sh): verdicts, exit codes, key transcript lines, JSON, quiet, nagios.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd postfix certtool openssl
need_checktls
setup_pki
start_postfix

CA=(--cafile "$PKI/ca.pem")
N=(--name mx.test.example)
LO=127.0.0.1
GOOD_FP=$(cert_sha256 "$PKI/good.pem")
SELF_FP=$(cert_sha256 "$PKI/selfsigned.pem")

case_ "good chain, full transcript"
run_checktls "${CA[@]}" "${N[@]}" -p "$PORT_good" $LO
assert_exit 0
assert_line "^$TS "
assert_contains "Connected to 127.0.0.1 port $PORT_good"
assert_line "^$TS<-- 220 mx.test.example ESMTP"
assert_line "^$TS -->EHLO "
assert_line "^$TS<-- 250-mx.test.example"
assert_line "^$TS<-- 250-STARTTLS"
assert_contains "TLS is an option on this server"
assert_line "^$TS -->STARTTLS$"
assert_line "^$TS<-- 220 2.0.0 Ready to start TLS"
assert_contains "Connection converted to TLS"
assert_contains "SSLVersion in use: TLSv1.3"
assert_line "Cipher in use: [A-Z0-9_-]+"
assert_line "Key exchange: [A-Za-z0-9]+"
assert_contains "Certificate 1 of 2 in chain: Cert VALIDATED: ok"
assert_contains "Certificate 2 of 2 in chain: Cert VALIDATED: ok"
assert_line "subject= .*mx\.test\.example"
assert_line "issuer= .*Test Intermediate CA"
assert_line "Not Valid Before: "
assert_line "Not Valid After: "
assert_line "subjectAltName: DNS:mx\.test\.example, DNS:localhost, IP:127\.0\.0\.1"
assert_contains "Key: RSA 2048 bits"
assert_line "Signature algorithm: .*(SHA256|sha256)"
assert_contains "SHA-256 fingerprint: $GOOD_FP"
assert_contains "Cert Hostname VERIFIED (mx.test.example = mx.test.example | DNS:mx.test.example | DNS:localhost)"
assert_contains "TLS successfully started on this server"
# EHLO again after TLS, then QUIT
[ "$(grep -cE "^$TS -->EHLO " "$OUT")" -ge 2 ] && ok_ || fail_ "EHLO not repeated after TLS"
assert_line "^$TS -->QUIT$"
assert_verdict PASS verify "verify|secure"
assert_no_faults

case_ "expired leaf"
run_checktls "${CA[@]}" "${N[@]}" -p "$PORT_expired" $LO
assert_exit 1
assert_contains "Certificate 1 of 2 in chain: Cert NOT VALIDATED: "
assert_fault expired
assert_verdict FAIL verify

case_ "not yet valid leaf"
run_checktls "${CA[@]}" "${N[@]}" -p "$PORT_notyet" $LO
assert_exit 1
assert_contains "Certificate 1 of 2 in chain: Cert NOT VALIDATED: "
assert_fault not-yet-valid
assert_verdict FAIL verify

case_ "name mismatch"
run_checktls "${CA[@]}" "${N[@]}" -p "$PORT_mismatch" $LO
assert_exit 1
assert_contains "Cert Hostname DOES NOT VERIFY (mx.test.example != other.example.net | DNS:other.example.net)"
assert_fault name-mismatch
assert_verdict FAIL verify

case_ "wildcard matches one label"
run_checktls "${CA[@]}" --name a.test.example -p "$PORT_wildcard" $LO
assert_exit 0
assert_contains "Cert Hostname VERIFIED (a.test.example = *.test.example"
assert_verdict PASS verify "verify|secure"

case_ "wildcard does not match the parent domain"
run_checktls "${CA[@]}" --name test.example -p "$PORT_wildcard" $LO
assert_exit 1
assert_contains "Cert Hostname DOES NOT VERIFY (test.example != "
assert_fault name-mismatch
assert_verdict FAIL verify

case_ "several --name, second one matches"
run_checktls "${CA[@]}" --name nomatch.example.net --name mx.test.example -p "$PORT_good" $LO
assert_exit 0
assert_contains "Cert Hostname VERIFIED (mx.test.example = mx.test.example"
assert_verdict PASS verify "verify|secure"

case_ "self-signed"
run_checktls "${CA[@]}" "${N[@]}" -p "$PORT_selfsigned" $LO
assert_exit 1
assert_contains "Certificate 1 of 1 in chain: Cert NOT VALIDATED: "
assert_fault self-signed
assert_verdict FAIL verify

case_ "missing intermediate"
run_checktls "${CA[@]}" "${N[@]}" -p "$PORT_noint" $LO
assert_exit 1
assert_contains "Certificate 1 of 1 in chain"
assert_fault missing-intermediate
assert_verdict FAIL verify

case_ "duplicate intermediate"
run_checktls "${CA[@]}" "${N[@]}" -p "$PORT_dup" $LO
assert_contains "Certificate 3 of 3 in chain"
assert_fault duplicate-certificate
assert_verdict_exit

case_ "chain out of order (leaf, root, intermediate)"
run_checktls "${CA[@]}" "${N[@]}" -p "$PORT_wrongorder" $LO
assert_contains "Certificate 3 of 3 in chain"
assert_fault wrong-order
assert_verdict_exit

case_ "root sent"
run_checktls "${CA[@]}" "${N[@]}" -p "$PORT_withroot" $LO
assert_contains "Certificate 3 of 3 in chain"
assert_fault root-sent
assert_verdict_exit

case_ "no STARTTLS, level verify"
run_checktls "${CA[@]}" "${N[@]}" -l verify -p "$PORT_notls" $LO
assert_exit 2
assert_contains "STARTTLS is not offered by this server"
assert_not_contains "-->STARTTLS"
assert_fault no-starttls
assert_verdict FAIL verify

for lv in may Preferred none None; do
	case_ "no STARTTLS, level $lv"
	run_checktls "${N[@]}" -l "$lv" -p "$PORT_notls" $LO
	assert_exit 0
	assert_contains "STARTTLS is not offered by this server"
	assert_last_line "Verdict: (PASS|WARN): requested $lv"
done

for lv in Required encrypt; do
	case_ "no STARTTLS, level $lv"
	run_checktls "${N[@]}" -l "$lv" -p "$PORT_notls" $LO
	assert_exit 2
	assert_fault no-starttls
	assert_last_line "Verdict: FAIL: requested $lv"
done

case_ "client certificate requested, none given"
run_checktls "${CA[@]}" "${N[@]}" -p "$PORT_ccert" $LO
assert_exit 0
assert_verdict PASS verify "verify|secure"

case_ "client certificate requested and given"
run_checktls "${CA[@]}" "${N[@]}" --client-cert "$PKI/client.pem" --client-key "$PKI/client.key" -p "$PORT_ccert" $LO
assert_exit 0
assert_verdict PASS verify "verify|secure"
sleep 0.3 # smtpd writes its log line via postlogd
if postfix_log | grep -q "postfix/ccert/smtpd.*Trusted TLS connection established from"; then ok_; else
	fail_ "Postfix did not log a trusted client certificate"; fi

case_ "fingerprint level, matching"
run_checktls -l fingerprint --fingerprint "$GOOD_FP" -p "$PORT_good" $LO
assert_exit 0
assert_verdict PASS fingerprint

case_ "fingerprint level, self-signed server pinned"
run_checktls -l fingerprint --fingerprint "00:11:22:33" --fingerprint "$SELF_FP" -p "$PORT_selfsigned" $LO
assert_exit 0
assert_verdict PASS fingerprint

case_ "fingerprint level, mismatch"
run_checktls -l fingerprint --fingerprint "$SELF_FP" -p "$PORT_good" $LO
assert_exit 1
assert_fault fingerprint-mismatch
assert_verdict FAIL fingerprint

case_ "encrypt on self-signed"
run_checktls -l encrypt -p "$PORT_selfsigned" $LO
assert_exit 0
assert_contains "Connection converted to TLS"
assert_last_line "Verdict: (PASS|WARN): requested encrypt, reached encrypt"

case_ "Preferred-Verify on self-signed: WARN, exit 0"
run_checktls "${CA[@]}" "${N[@]}" -l Preferred-Verify -p "$PORT_selfsigned" $LO
assert_exit 0
assert_verdict WARN Preferred-Verify
assert_fault self-signed

case_ "Required-Verify on self-signed: FAIL, exit 1"
run_checktls "${CA[@]}" "${N[@]}" -l Required-Verify -p "$PORT_selfsigned" $LO
assert_exit 1
assert_verdict FAIL Required-Verify
assert_fault self-signed

case_ "Required-Verify on good chain"
run_checktls "${CA[@]}" "${N[@]}" -l Required-Verify -p "$PORT_good" $LO
assert_exit 0
assert_verdict PASS Required-Verify

case_ "secure on good chain"
run_checktls "${CA[@]}" "${N[@]}" -l secure -p "$PORT_good" $LO
assert_exit 0
assert_verdict PASS secure secure

case_ "--tls-max 1.2"
run_checktls "${CA[@]}" "${N[@]}" --tls-max 1.2 -p "$PORT_good" $LO
assert_exit 0
assert_contains "SSLVersion in use: TLSv1.2"

case_ "--json on good chain"
run_checktls "${CA[@]}" "${N[@]}" --json -p "$PORT_good" $LO
assert_exit 0
assert_json 'j["verdict"] == "pass"'
assert_json 'j["exit_code"] == 0'
assert_json 'j["level_requested"] == "verify"'
assert_json 'j["level_reached"] in ("verify", "secure")'
assert_json 'j["host"] == "127.0.0.1"'
assert_json "j['port'] == $PORT_good"
assert_json 'j["address"] == "127.0.0.1"'
assert_json 'j["starttls_offered"] is True'
assert_json 'j["tls"]["protocol"] == "TLSv1.3" and j["tls"]["cipher"] and j["tls"]["kx"]'
assert_json 'len(j["certs"]) == 2'
assert_json '"mx.test.example" in j["certs"][0]["subject"] and "Intermediate" in j["certs"][0]["issuer"]'
assert_json '"mx.test.example" in j["certs"][0]["dns_names"] and "localhost" in j["certs"][0]["dns_names"]'
assert_json "j['certs'][0]['sha256'].replace(':', '').upper() == '${GOOD_FP//:/}'"
assert_json 'j["certs"][0]["not_before"] and j["certs"][0]["not_after"]'
assert_json 'j["trusted"] is True and j["name_matched"] is True'
assert_json 'j["matched_name"] == "mx.test.example"'
assert_json 'j["faults"] == []'
assert_json 'any(e["dir"] == "send" and e["text"].startswith("EHLO") for e in j["transcript"])'
assert_json 'any(e["dir"] == "recv" and e["text"].startswith("220 ") for e in j["transcript"])'
assert_json 'all(e["dir"] in ("send", "recv", "info") and "t" in e for e in j["transcript"])'

case_ "--json on expired"
run_checktls "${CA[@]}" "${N[@]}" --json -p "$PORT_expired" $LO
assert_exit 1
assert_json 'j["verdict"] == "fail" and j["exit_code"] == 1'
assert_json 'any(f["fault"] == "expired" and f["cert"] in (0, 1) and f["severity"] and f["detail"] for f in j["faults"])'

case_ "--json on no STARTTLS"
run_checktls --json -l verify -p "$PORT_notls" $LO
assert_exit 2
assert_json 'j["starttls_offered"] is False and j["verdict"] == "fail" and j["exit_code"] == 2'
assert_json 'any(f["fault"] == "no-starttls" for f in j["faults"])'

case_ "--quiet prints only the verdict"
run_checktls "${CA[@]}" "${N[@]}" --quiet -p "$PORT_good" $LO
assert_exit 0
[ "$(grep -c . "$OUT")" = 1 ] && ok_ || fail_ "--quiet printed $(grep -c . "$OUT") lines"
assert_verdict PASS verify "verify|secure"

case_ "--quiet on expired"
run_checktls "${CA[@]}" "${N[@]}" --quiet -p "$PORT_expired" $LO
assert_exit 1
[ "$(grep -c . "$OUT")" = 1 ] && ok_ || fail_ "--quiet printed $(grep -c . "$OUT") lines"
assert_last_line "Verdict: FAIL: .*expired"

case_ "--quiet --json is allowed"
run_checktls "${CA[@]}" "${N[@]}" --quiet --json -p "$PORT_good" $LO
assert_exit 0
assert_json 'j["verdict"] == "pass"'

case_ "--nagios OK"
run_checktls "${CA[@]}" "${N[@]}" --nagios -p "$PORT_good" $LO
assert_exit 0
[ "$(grep -c . "$OUT")" = 1 ] && ok_ || fail_ "--nagios printed $(grep -c . "$OUT") lines"
assert_line "^CHECKTLS OK - .*\|.*="

case_ "--nagios CRITICAL"
run_checktls "${CA[@]}" "${N[@]}" --nagios -p "$PORT_expired" $LO
assert_exit 2
assert_line "^CHECKTLS CRITICAL - .*\|"

case_ "--nagios WARNING (Preferred-Verify, self-signed)"
run_checktls "${CA[@]}" "${N[@]}" --nagios -l Preferred-Verify -p "$PORT_selfsigned" $LO
assert_exit 1
assert_line "^CHECKTLS WARNING - .*\|"

case_ "--mail-from / --rcpt"
run_checktls "${CA[@]}" "${N[@]}" --mail-from sender@test.example --rcpt a@test.example --rcpt b@test.example -p "$PORT_good" $LO
assert_exit 0
assert_line "^$TS -->MAIL FROM:<sender@test.example>"
assert_line "^$TS<-- 250 2\.1\.0 Ok"
assert_line "^$TS -->RCPT TO:<a@test.example>"
assert_line "^$TS -->RCPT TO:<b@test.example>"
assert_line "^$TS<-- 250 2\.1\.5 Ok"

case_ "-4 with localhost"
run_checktls "${CA[@]}" "${N[@]}" -4 -p "$PORT_good" localhost
assert_exit 0
assert_contains "Connected to 127.0.0.1 port $PORT_good"

if [ -n "${PORT_good6:-}" ]; then
	case_ "IPv6 loopback"
	run_checktls "${CA[@]}" "${N[@]}" -6 -p "$PORT_good6" ::1
	assert_exit 0
	assert_contains "Connected to ::1 port $PORT_good6"
	assert_verdict PASS verify "verify|secure"
fi

case_ "--ehlo name is sent"
run_checktls "${CA[@]}" "${N[@]}" --ehlo probe.test.example -p "$PORT_good" $LO
assert_exit 0
assert_line "^$TS -->EHLO probe\.test\.example$"

case_ "--no-color output has no escape sequences"
run_checktls "${CA[@]}" "${N[@]}" --no-color -p "$PORT_good" $LO
assert_exit 0
if grep -q $'\e\[' "$OUT"; then fail_ "escape sequences with --no-color"; else ok_; fi

finish
