#!/usr/bin/env bash
# The shared real-log corpus: every file parses without a crash, and the known facts of
# each format's samples come out.  Skips when ../shared/corpus/logs is absent.
set -u
cd "$(dirname "$0")/../.."
LS=$PWD/logscan/logscan
top=$(git rev-parse --show-toplevel 2>/dev/null || pwd)
C="$top/../shared/corpus/logs"
[ -d "$C" ] || C="$top/../../shared/corpus/logs"
[ -d "$C" ] || { echo "corpus not found at ../shared/corpus/logs"; exit 77; }
[ -x "$LS" ] || { echo "build first (make)"; exit 77; }
fails=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi; }
for f in "$C"/*/*.log; do
	$LS --json "$f" >/dev/null 2>&1; rc=$?
	check "parses $(basename "$(dirname "$f")")/$(basename "$f") (rc=$rc)" '[ $rc -eq 0 ]'
done
j() { $LS --json "$@" | python3 -c "import json,sys; d=json.load(sys.stdin)['summary']; print($EXPR)"; }
EXPR='d["connections"]["inbound"]["tls"], d["connections"]["outbound"]["tls"], d["input"]["unparsed"]'
check "ESA cribl: 6 inbound, 4 outbound TLS, nothing unparsed" '[ "$(j "$C/esa/cribl-esa-mailtext-2014.log")" = "6 4 0" ]'
# AsyncOS consolidated event logs (CEF): a line per message; two received over TLS (the
# third names no inbound session), three delivery sessions over TLS, one of them bounced
EXPR='d["connections"]["inbound"]["tls"], d["connections"]["outbound"]["tls"], d["messages"]["total"], d["messages"]["received_tls"], d["messages"]["deliveries_tls"], d["input"]["unparsed"]'
check "ESA consolidated CEF: 2 in, 3 out over TLS, 3 messages" '[ "$(j "$C/esa/sekoia-consolidated-cef.log")" = "2 3 3 2 2 0" ]'
EXPR='d["connections"]["outbound"]["tls"], d["messages"]["deliveries_tls"]'
check "ESA msqa: DCID 30 TLS, MID 14 delivered over it" '[ "$(j "$C/esa/msqa-1363239.log")" = "1 1" ]'
EXPR='d["connections"]["inbound"]["failed"]'
check "ESA technote: one TLS failed" '[ "$(j "$C/esa/cisco-technote-118500.log")" = "1" ]'
EXPR='d["required_failures"]["total"], d["required_failures"]["by_cause"].get("STARTTLS not advertised",0)'
check "Postfix EFF: 2 required failures, 1 not advertised" '[ "$(j "$C/postfix/eff-starttls-everywhere-comments.log")" = "2 1" ]'
EXPR='d["connections"]["inbound"]["tls"] > 150, d["input"]["unparsed"]'
check "Postfix helga: >150 inbound TLS, nothing unparsed" '[ "$(j "$C/postfix/pixelpark-helga-part1.log")" = "True 0" ]'
# a submission smtpd that logs no TLS line (smtpd_tls_loglevel 0): "starttls=1" in its
# disconnect line is the session's TLS record, and the message it received went over TLS
EXPR='d["connections"]["inbound"]["tls"], d["messages"]["received_tls"], d["messages"]["received_clear"]'
check "Postfix digineo: submission TLS from disconnect counters" '[ "$(j "$C/postfix/digineo-exporter-testdata.log")" = "1 1 0" ]'
# Postfix's smtp client (here also amavis's) opens a connection per message when none is
# cached (no conn_use= in this file): each of the eight (process, message) delivery runs is
# its own connection, also the same process's next message to the same address 50 s later
# and its next one to another port
EXPR='d["connections"]["outbound"]["total"], d["connections"]["outbound"]["tls"]'
want=$(grep -E 'postfix/([a-z]+/)?smtp\[[0-9]+\]: [0-9A-Za-z]+: to=.*relay=[^ ]*\[' "$C/postfix/pixelpark-helga-part2.log" |
	sed -E 's/.*smtp\[([0-9]+)\]: ([0-9A-Za-z]+):.*/\1 \2/' | sort -u | wc -l)
check "Postfix helga part2: an outbound connection per delivery run ($want), 2 TLS" '[ "$(j "$C/postfix/pixelpark-helga-part2.log")" = "$want 2" ] && [ "$want" = 8 ]'
# the same log behind amavis (a content filter on 127.0.0.1:10024, back in on :10025, "250
# 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as Y"): each of the 6
# messages is one, under its second queue id, received as it first was (4 over TLS, 2
# submitted locally); each has a hop in clear over loopback; with --loopback-local those hops
# are local and all 6 went over TLS
EXPR='d["messages"]["total"], d["messages"]["all_tls"], d["messages"]["some_clear"], d["messages"]["received_tls"], d["messages"]["received_local"], d["messages"]["continued"]'
check "Postfix helga part2: amavis hops clear by default" '[ "$(j "$C/postfix/pixelpark-helga-part2.log")" = "6 0 6 4 2 6" ]'
check "Postfix helga part2: --loopback-local makes them local" '[ "$(j --loopback-local "$C/postfix/pixelpark-helga-part2.log")" = "6 6 0 4 2 6" ]'
# and the connections: the 6 re-injections into :10025 ("connect from localhost[127.0.0.1]")
# and the 6 deliveries to amavis (relay=127.0.0.1[127.0.0.1]:1002x, one connection each) are
# local with --loopback-local: out of the totals and rates, the TLS counts unchanged
P2=$C/postfix/pixelpark-helga-part2.log
lin=$(grep -c 'smtpd\[[0-9]*\]: connect from localhost\[127\.0\.0\.1\]' "$P2")
lout=$(grep -c 'relay=127\.0\.0\.1\[127\.0\.0\.1\]:100' "$P2")
EXPR='" ".join(str(d["connections"][x][k]) for x in ("inbound", "outbound") for k in ("total", "tls", "none", "local"))'
a=$(j "$P2") b=$(j --loopback-local "$P2")
read -r it its inn _ ot ots on _ <<<"$a"
check "Postfix helga part2: --loopback-local counts the $lin + $lout amavis connections apart ($a -> $b)" \
	'[ "$lin $lout" = "6 6" ] && [ "$b" = "$((it - lin)) $its $((inn - lin)) $lin $((ot - lout)) $ots $((on - lout)) $lout" ]'
EXPR='d["messages"]["total"], d["messages"]["all_tls"], d["messages"]["some_clear"], d["messages"]["received_tls"], d["messages"]["received_local"], d["messages"]["continued"]'
check "Postfix helga part2: a message keeps the id it was received under (orig_id)" \
	'$LS --messages --csv "$C/postfix/pixelpark-helga-part2.log" | grep -q "^message,.*,4Pbdn5491gz3tG3,.*,4Pbdn10BG2z3tBr,,,,,$"'
EXPR='d["connections"]["outbound"]["tls"], d["messages"]["deliveries_clear"]'
check "Sendmail sna-labs: TLS to Gmail, local relay in clear" '[ "$(j "$C/sendmail/ionagamed-sna-labs.log")" = "1 1" ]'
EXPR='d["connections"]["inbound"]["failed"]'
check "Exim issues: 4 inbound TLS errors" '[ "$(j "$C/exim/github-issues.log")" = "4" ]'
# Exim's DANE in TLS-RPT: CV=dane deliveries, "DANE error: tlsa lookup" failures (as
# dnssec-invalid) and a message's TLS deferral after its "DANE attempt failed" are reported
# under policy-type tlsa, CV=no under no-policy-found
X="$C/exim/exim-testsuite-selected.log"
if [ -f "$X" ]; then
	rp=$($LS --tlsrpt --org-name t.example --contact r@t.example "$X" | python3 tests/fixtures/tlsrpt_rows.py)
	check "Exim corpus TLS-RPT: CV=dane under tlsa" 'grep -qx "dane256ee.test.ex tlsa \[\] 1 0 " <<<"$rp" && grep -qx "mxdane512ee.test.ex tlsa \[\] 1 0 " <<<"$rp"'
	check "Exim corpus TLS-RPT: tlsa lookup FAIL is dnssec-invalid" 'grep -qx "dane.no.1.test.ex tlsa \[\] 0 1 dnssec-invalid=1:DANE error: tlsa lookup FAIL" <<<"$rp"'
	check "Exim corpus TLS-RPT: CV=no under no-policy-found" 'grep -qx "dane.no.2.test.ex no-policy-found null 1 0 " <<<"$rp"'
	check "Exim corpus TLS-RPT: a TLS deferral after 'DANE attempt failed' under tlsa" 'grep -qx "danebroken7.example.com tlsa \[\] 0 1 validation-failure=1:TLS session: (SSL_connect): error: <<detail omitted>>" <<<"$rp" && ! grep -q "^danebroken7.example.com no-policy-found" <<<"$rp"'
fi
[ $fails -eq 0 ] || exit 1
echo "corpus ok"
