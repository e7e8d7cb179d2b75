#!/usr/bin/env bash
# checktls --cert-file: offline lint of PEM and PKCS#12 files from the generated PKI.
# Same chain and name checks as a live probe, plus key match, stale and duplicate intermediates.
. "$(dirname "$0")/lib.sh"
need_cmd certtool openssl
need_checktls
setup_pki

CA=(--cafile "$PKI/ca.pem")
N=(--name mx.test.example)

# Without --cafile the lint trusts what a live probe would: the system store, which does
# not hold the test root. The structure is still fine, so only trust fails.
case_ "good chain with key (no --cafile): untrusted by the system store"
run_checktls --cert-file "$PKI/good.chain.pem" --key "$PKI/good.key" "${N[@]}"
assert_exit 1
assert_contains "untrusted"
assert_contains "Certificate 1 of 2 in chain"
assert_contains "Cert Hostname VERIFIED (mx.test.example = mx.test.example"
assert_contains "SHA-256 fingerprint: $(cert_sha256 "$PKI/good.pem")"

case_ "good chain with key and --cafile"
run_checktls --cert-file "$PKI/good.chain.pem" --key "$PKI/good.key" "${CA[@]}" "${N[@]}"
assert_exit 0
assert_contains "Certificate 1 of 2 in chain: Cert VALIDATED: ok"
assert_no_faults

case_ "combined PEM (key, leaf, intermediate)"
run_checktls --cert-file "$PKI/good.combined.pem" "${CA[@]}" "${N[@]}"
assert_exit 0
assert_no_faults

case_ "PKCS#12 with the right password"
run_checktls --cert-file "$PKI/good.p12" --password secret "${CA[@]}" "${N[@]}"
assert_exit 0
assert_contains "Cert Hostname VERIFIED (mx.test.example = mx.test.example"

case_ "PKCS#12 password from a file"
printf 'secret\n' >"$T/pw"
run_checktls --cert-file "$PKI/good.p12" --password-file "$T/pw" "${CA[@]}" "${N[@]}"
assert_exit 0

case_ "duplicate intermediate"
run_checktls --cert-file "$PKI/good.dup.pem" --key "$PKI/good.key" "${CA[@]}" "${N[@]}"
assert_fault duplicate-certificate
assert_verdict_exit

case_ "stale intermediate"
run_checktls --cert-file "$PKI/good.stale.pem" --key "$PKI/good.key" "${CA[@]}" "${N[@]}"
assert_fault stale-intermediate
assert_verdict_exit

case_ "wrong order (intermediate, leaf)"
run_checktls --cert-file "$PKI/good.wrongorder.pem" --key "$PKI/good.key" "${CA[@]}" "${N[@]}"
assert_fault wrong-order
assert_verdict_exit

case_ "root included"
run_checktls --cert-file "$PKI/good.withroot.pem" --key "$PKI/good.key" "${CA[@]}" "${N[@]}"
assert_fault root-sent
assert_verdict_exit

case_ "leaf only"
run_checktls --cert-file "$PKI/good.noint.pem" --key "$PKI/good.key" "${CA[@]}" "${N[@]}"
assert_fault missing-intermediate
assert_exit 1

case_ "key does not match the certificate"
run_checktls --cert-file "$PKI/good.pem" --key "$PKI/mismatch.key" "${CA[@]}" "${N[@]}"
assert_exit 1
assert_fault key-mismatch

case_ "name mismatch"
run_checktls --cert-file "$PKI/mismatch.chain.pem" --key "$PKI/mismatch.key" "${CA[@]}" "${N[@]}"
assert_exit 1
assert_contains "Cert Hostname DOES NOT VERIFY (mx.test.example != other.example.net | DNS:other.example.net)"
assert_fault name-mismatch

case_ "expired"
run_checktls --cert-file "$PKI/expired.chain.pem" "${CA[@]}" "${N[@]}"
assert_exit 1
assert_fault expired

case_ "not yet valid"
run_checktls --cert-file "$PKI/notyet.chain.pem" "${CA[@]}" "${N[@]}"
assert_exit 1
assert_fault not-yet-valid

case_ "expiring within --warn-days"
run_checktls --cert-file "$PKI/expiring.chain.pem" "${CA[@]}" "${N[@]}"
assert_fault expiring
assert_verdict_exit

case_ "expiring fault off with --warn-days 0"
run_checktls --cert-file "$PKI/good.chain.pem" "${CA[@]}" "${N[@]}" --warn-days 0
assert_exit 0
assert_no_faults

case_ "weak key"
run_checktls --cert-file "$PKI/weakkey.chain.pem" "${CA[@]}" "${N[@]}"
assert_fault weak-key
assert_contains "Key: RSA 1024 bits"
assert_verdict_exit

case_ "SHA-1 signature"
run_checktls --cert-file "$PKI/sha1.chain.pem" "${CA[@]}" "${N[@]}"
assert_fault weak-signature
assert_verdict_exit

case_ "CN only, no subjectAltName"
run_checktls --cert-file "$PKI/cnonly.chain.pem" "${CA[@]}" "${N[@]}"
assert_fault cn-only
assert_verdict_exit

case_ "self-signed"
run_checktls --cert-file "$PKI/selfsigned.pem" --key "$PKI/selfsigned.key" "${CA[@]}" "${N[@]}"
assert_exit 1
assert_fault self-signed

case_ "lint --json"
run_checktls --json --cert-file "$PKI/good.dup.pem" --key "$PKI/good.key" "${CA[@]}" "${N[@]}"
assert_json 'any(f["fault"] == "duplicate-certificate" for f in j["faults"])'
assert_json 'len(j["certs"]) == 3'

case_ "lint --xml is well-formed"
run_checktls --xml --cert-file "$PKI/good.chain.pem" "${CA[@]}" "${N[@]}"
assert_exit 0
if "$PY" -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' "$OUT" 2>/dev/null; then ok_; else
	fail_ "--xml output does not parse"; fi

finish
