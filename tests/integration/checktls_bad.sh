#!/usr/bin/env bash
# checktls against scripted misbehaving SMTP servers (tests/fixtures/badsmtp.py):
# refused STARTTLS, injected bytes, silent and closing servers, overlong and malformed replies.
. "$(dirname "$0")/lib.sh"
need_cmd certtool
[ -x "$PY" ] || command -v "$PY" >/dev/null || skip "python3 not installed"
need_checktls
setup_pki

CA=(--cafile "$PKI/ca.pem")
N=(--name mx.test.example)
CERT=(--cert "$PKI/good.chain.pem" --key "$PKI/good.key")
LO=127.0.0.1

case_ "454 to STARTTLS"
start_bad starttls454 --count 1
run_checktls "${CA[@]}" "${N[@]}" -p "$BAD_PORT" $LO
stop_bad
assert_exit 2
assert_line "^$TS -->STARTTLS$"
assert_contains "454 4.7.0 TLS not available due to local problem"
assert_fault starttls-refused
assert_verdict FAIL verify

case_ "bytes injected after 220 to STARTTLS"
start_bad inject "${CERT[@]}" --count 1
run_checktls "${CA[@]}" "${N[@]}" -p "$BAD_PORT" $LO
stop_bad
assert_exit 1
assert_line "^$TS<-- 220 Go ahead"
assert_fault starttls-injection
assert_verdict FAIL verify

case_ "bytes injected, --json"
start_bad inject "${CERT[@]}" --count 1
run_checktls "${CA[@]}" "${N[@]}" --json -p "$BAD_PORT" $LO
stop_bad
assert_exit 1
assert_json 'any(f["fault"] == "starttls-injection" for f in j["faults"]) and j["verdict"] == "fail"'

case_ "banner never comes, --timeout 2"
start_bad nobanner --count 1 --hold 30
run_checktls "${CA[@]}" "${N[@]}" --timeout 2 -p "$BAD_PORT" $LO
stop_bad
assert_exit 3
[ "$ELAPSED_MS" -le 3500 ] && ok_ || fail_ "took ${ELAPSED_MS} ms, want <= 3500"
[ "$ELAPSED_MS" -ge 1500 ] && ok_ || fail_ "gave up after ${ELAPSED_MS} ms, before the 2 s timeout"
if cat "$OUT" "$ERR" | grep -qiE 'timed out|timeout'; then ok_; else fail_ "no timeout message"; fi

case_ "banner never comes, overall --deadline 2"
start_bad nobanner --count 1 --hold 30
run_checktls "${CA[@]}" "${N[@]}" --timeout 30 --deadline 2 -p "$BAD_PORT" $LO
stop_bad
assert_exit 3
[ "$ELAPSED_MS" -le 3500 ] && ok_ || fail_ "took ${ELAPSED_MS} ms, want <= 3500"

case_ "connection closed at ClientHello"
start_bad closehs --count 1
run_checktls "${CA[@]}" "${N[@]}" -p "$BAD_PORT" $LO
stop_bad
assert_exit 2
assert_line "^$TS -->STARTTLS$"
assert_fault handshake-failed
assert_verdict FAIL verify

case_ "20,000-character banner line"
start_bad overlong --count 1
run_checktls "${CA[@]}" "${N[@]}" -p "$BAD_PORT" $LO
stop_bad
assert_exit 3
if cat "$OUT" "$ERR" | grep -qiE 'overlong|too long'; then ok_; else fail_ "no overlong-line message"; fi
[ "$(wc -c <"$OUT")" -lt 200000 ] && ok_ || fail_ "output is $(wc -c <"$OUT") bytes"

case_ "20,000-character line inside the EHLO reply"
start_bad overlong-ehlo --count 1
run_checktls "${CA[@]}" "${N[@]}" -p "$BAD_PORT" $LO
stop_bad
assert_exit 3
if cat "$OUT" "$ERR" | grep -qiE 'overlong|too long'; then ok_; else fail_ "no overlong-line message"; fi

case_ "malformed reply code"
start_bad badcode --count 1
run_checktls "${CA[@]}" "${N[@]}" -p "$BAD_PORT" $LO
stop_bad
assert_exit 3
assert_icontains "malformed"
assert_contains "2x0 hello"

case_ "421 banner"
start_bad tempfail421 --count 1
run_checktls "${CA[@]}" "${N[@]}" -p "$BAD_PORT" $LO
stop_bad
assert_exit 3
assert_contains "421 4.3.2 mx.test.example Service not available, closing transmission channel"

case_ "multi-line banner, then a correct dialog"
start_bad multiline "${CERT[@]}" --count 1
run_checktls "${CA[@]}" "${N[@]}" -p "$BAD_PORT" $LO
stop_bad
assert_exit 0
assert_line "^$TS<-- 220-mx\.test\.example ESMTP badsmtp$"
assert_line "^$TS<-- 220-this banner has three lines$"
assert_line "^$TS<-- 220 mx\.test\.example ready$"
assert_contains "Connection converted to TLS"
assert_verdict PASS verify "verify|secure"

case_ "server that does everything right (control)"
start_bad good "${CERT[@]}" --count 1
run_checktls "${CA[@]}" "${N[@]}" -p "$BAD_PORT" $LO
stop_bad
assert_exit 0
assert_no_faults

finish
