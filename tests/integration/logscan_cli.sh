#!/usr/bin/env bash
# logscan end to end: the ESA guide's examples, listings, output formats, exit codes,
# robustness (garbage, 1 MB lines, truncated gzip), --follow across rotation.
set -u
cd "$(dirname "$0")/../.."
LS=logscan/logscan
FX=tests/fixtures/logs
[ -x $LS ] || { echo "build first (make)"; exit 77; }
tmp=$(mktemp -d); trap 'kill $fpid 2>/dev/null; rm -rf "$tmp"' EXIT
fpid=
fails=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi; }
# a log's TLS-RPT reports, a row per domain and policy (tests/fixtures/tlsrpt_rows.py)
rpt() { $LS --tlsrpt --org-name example.net --contact tlsrpt@example.net "$@" | python3 tests/fixtures/tlsrpt_rows.py; }

# --- the guide's four examples
out=$($LS --failed $FX/esa-guide-examples.log); rc=$?
check "failed: exit 1 when failures listed" '[ $rc -eq 1 ]'
check "failed: inbound no shared cipher" 'grep -q "590052584 .*failed .*no shared cipher" <<<"$out"'
check "failed: outbound STARTTLS 454" "grep -q \"40986669 .*STARTTLS unexpected response; 454-'TLS not available\" <<<\"\$out\""
check "failed: successes not listed" '! grep -q "590125205 " <<<"$(sed -n "2,3p" <<<"$out")"'
j=$($LS --json $FX/esa-guide-examples.log); rc=$?
check "summary: exit 0" '[ $rc -eq 0 ]'
py() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)" <<<"$j"; }
check "json: inbound 2 (1 tls, 1 failed)" '[ "$(py "d[\"summary\"][\"connections\"][\"inbound\"][\"total\"], d[\"summary\"][\"connections\"][\"inbound\"][\"tls\"], d[\"summary\"][\"connections\"][\"inbound\"][\"failed\"]")" = "2 1 1" ]'
check "json: outbound 2 (1 tls, 1 failed)" '[ "$(py "d[\"summary\"][\"connections\"][\"outbound\"][\"tls\"], d[\"summary\"][\"connections\"][\"outbound\"][\"failed\"]")" = "1 1" ]'
check "json: TLSv1 deprecated" '[ "$(py "[p[\"deprecated\"] for p in d[\"summary\"][\"protocols\"] if p[\"protocol\"]==\"TLSv1\"][0]")" = "True" ]'
check "json: TLSv1.2 not deprecated" '[ "$(py "[p[\"deprecated\"] for p in d[\"summary\"][\"protocols\"] if p[\"protocol\"]==\"TLSv1.2\"][0]")" = "False" ]'
check "json: 3 blank lines ignored, none unparsed" '[ "$(py "d[\"summary\"][\"input\"][\"unparsed\"], d[\"summary\"][\"input\"][\"lines\"]")" = "0 18" ]'
m=$($LS --messages --json $FX/esa-guide-examples.log)
check "messages: MID 179701980 received over TLS" 'grep -q "\"message\":\"179701980\".*\"received\":\"tls\"" <<<"$m"'

# --- --no-tls / --messages on a mixed fixture
cat >$tmp/mixed.log <<'L'
Tue Apr 17 01:00:00 2018 Info: New SMTP ICID 7 interface Data 1 (192.0.2.1) address 192.0.2.9 reverse dns host a.example.org verified yes
Tue Apr 17 01:00:01 2018 Info: Start MID 70 ICID 7
Tue Apr 17 01:00:01 2018 Info: MID 70 ICID 7 RID 0 To: <u@example.net>
Tue Apr 17 01:00:02 2018 Info: ICID 7 close
Tue Apr 17 01:00:03 2018 Info: New SMTP DCID 8 interface 192.0.2.1 address 192.0.2.20 port 25
Tue Apr 17 01:00:03 2018 Info: DCID 8 TLS success protocol TLSv1.2 cipher AES128-SHA
Tue Apr 17 01:00:03 2018 Info: Delivery start DCID 8 MID 70 to RID [0]
Tue Apr 17 01:00:04 2018 Info: DCID 8 close
Tue Apr 17 01:00:04 2018 Info: Message finished MID 70 done
Tue Apr 17 02:00:00 2018 Info: New SMTP ICID 9 interface Data 1 (192.0.2.1) address 192.0.2.10 reverse dns host b.example.com verified yes
Tue Apr 17 02:00:00 2018 Info: ICID 9 TLS success protocol TLSv1.3 cipher TLS_AES_256_GCM_SHA384
Tue Apr 17 02:00:01 2018 Info: Start MID 71 ICID 9
Tue Apr 17 02:00:02 2018 Info: ICID 9 close
Tue Apr 17 02:00:05 2018 Info: DCID 10 TLS was required but remote host did not offer STARTTLS
L
# a message handed to a content filter (queued as Y) and, for another recipient, delivered
# itself: Y is the message that went through the filter; X is still listed, with its own hop
cat >"$tmp/filter.log" <<'EOF'
Jan  1 00:00:01 mx postfix/smtpd[100]: connect from c.example[192.0.2.1]
Jan  1 00:00:01 mx postfix/smtpd[100]: Anonymous TLS connection established from c.example[192.0.2.1]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)
Jan  1 00:00:01 mx postfix/smtpd[100]: 4A1B2C3D0E1: client=c.example[192.0.2.1]
Jan  1 00:00:01 mx postfix/smtpd[100]: disconnect from c.example[192.0.2.1] ehlo=2 starttls=1 mail=1 rcpt=2 data=1 quit=1 commands=8
Jan  1 00:00:01 mx postfix/smtpd[101]: connect from localhost[127.0.0.1]
Jan  1 00:00:01 mx postfix/smtpd[101]: 5B2C3D4E5F2: client=localhost[127.0.0.1]
Jan  1 00:00:01 mx postfix/smtpd[101]: disconnect from localhost[127.0.0.1] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5
Jan  1 00:00:02 mx postfix/smtp[200]: 4A1B2C3D0E1: to=<u@t.example>, relay=127.0.0.1[127.0.0.1]:10024, delay=1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 5B2C3D4E5F2)
Jan  1 00:00:02 mx postfix/smtp[201]: 4A1B2C3D0E1: to=<v@w.example>, relay=mx.w.example[192.0.2.8]:25, delay=1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 1)
Jan  1 00:00:03 mx postfix/qmgr[9]: 4A1B2C3D0E1: removed
Jan  1 00:00:03 mx postfix/qmgr[9]: 5B2C3D4E5F2: removed
EOF
o=$($LS --messages --csv "$tmp/filter.log")
check "filter: Y listed with orig_id X, received over TLS" 'grep -q "^message,.*,5B2C3D4E5F2,.*,tls,1,0,1,,4A1B2C3D0E1,,,,,$" <<<"$o"'
check "filter: X listed too, with its own hop" 'grep -q "^message,.*,4A1B2C3D0E1,.*,tls,1,0,1,,,,,,,$" <<<"$o"'
o=$($LS --json "$tmp/filter.log")
check "filter: 2 messages, none continued (X has a hop of its own)" '[ "$(python3 -c "import json,sys; m=json.load(sys.stdin)[\"summary\"][\"messages\"]; print(m[\"total\"], m[\"continued\"])" <<<"$o")" = "2 0" ]'
o=$($LS --messages --no-tls $tmp/mixed.log)
check "messages --no-tls lists MID 70 (received in clear)" 'grep -q "msg 70 .* clear " <<<"$o"'
check "messages --no-tls omits MID 71 (TLS)" '! grep -q "msg 71 " <<<"$o"'
o=$($LS --required-failures $tmp/mixed.log); rc=$?
check "required-failures: exit 1 and cause" '[ $rc -eq 1 ] && grep -q "REQUIRED: STARTTLS not advertised" <<<"$o"'
o=$($LS --no-tls --json $tmp/mixed.log)
check "--no-tls connections: ICID 7 only" '[ "$(grep -c "\"type\":\"connection\"" <<<"$o")" = 1 ] && grep -q "\"id\":\"7\"" <<<"$o"'
o=$($LS --all --json --direction out $tmp/mixed.log)
check "--direction out" '! grep -q "\"direction\":\"in\"" <<<"$o" && grep -q "\"id\":\"8\"" <<<"$o"'
o=$($LS --all --json --since "2018-04-17 01:30" $tmp/mixed.log)
check "--since" '! grep -q "\"id\":\"7\"" <<<"$o" && grep -q "\"id\":\"9\"" <<<"$o"'
o=$($LS --all --json --until "2018-04-17 01:30" $tmp/mixed.log)
check "--until" 'grep -q "\"id\":\"7\"" <<<"$o" && ! grep -q "\"id\":\"9\"" <<<"$o"'
o=$($LS --all --json --ip 192.0.2.10 $tmp/mixed.log)
check "--ip" '[ "$(grep -c "\"type\":\"connection\"" <<<"$o")" = 1 ]'
o=$($LS --all --json --domain example.com $tmp/mixed.log)
check "--domain" 'grep -q "\"id\":\"9\"" <<<"$o" && ! grep -q "\"id\":\"7\"" <<<"$o"'
o=$($LS --by hour --json $tmp/mixed.log)
check "--by hour buckets" 'grep -q "2018-04-17T01:00" <<<"$o" && grep -q "2018-04-17T02:00" <<<"$o"'

# --- --loopback-local: connections in clear over loopback are local, counted apart (not in
# the totals, rates, peer tables); TLS over loopback is still TLS; --no-tls does not list
# them, --all does
cat >$tmp/lb.log <<'EOF'
Jan 10 10:00:00 mx postfix/smtpd[100]: connect from localhost[127.0.0.1]
Jan 10 10:00:01 mx postfix/smtpd[100]: disconnect from localhost[127.0.0.1] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5
Jan 10 10:00:02 mx postfix/smtpd[101]: connect from a.example.net[192.0.2.10]
Jan 10 10:00:03 mx postfix/smtpd[101]: disconnect from a.example.net[192.0.2.10] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5
Jan 10 10:00:04 mx postfix/smtpd[102]: connect from localhost[::1]
Jan 10 10:00:04 mx postfix/smtpd[102]: Anonymous TLS connection established from localhost[::1]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)
Jan 10 10:00:05 mx postfix/smtpd[102]: disconnect from localhost[::1] ehlo=2 starttls=1 mail=1 rcpt=1 data=1 quit=1 commands=7
Jan 10 10:00:06 mx postfix/smtp[200]: ABC123: to=<u@example.org>, relay=127.0.0.1[127.0.0.1]:10024, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (250 2.0.0 Ok)
EOF
lb() { $LS --json "$@" $tmp/lb.log | python3 -c "
import json,sys; d=json.load(sys.stdin)['summary']; c=d['connections']
print(*[c[x][k] for x in ('inbound', 'outbound') for k in ('total', 'tls', 'none', 'local')], len(d['peer_addresses']))"; }
check "loopback counted as any peer by default" '[ "$(lb)" = "3 1 2 0 1 0 1 0 3" ]'
check "--loopback-local: 1 in and 1 out local, TLS over ::1 still counted" '[ "$(lb --loopback-local)" = "2 1 1 1 0 0 0 1 2" ]'
check "--loopback-local --no-tls lists the remote clear one only" '[ "$($LS --no-tls --csv --loopback-local $tmp/lb.log | grep -c "^connection,")" = 1 ] && $LS --no-tls --csv --loopback-local $tmp/lb.log | grep -q "^connection,.*192.0.2.10"'
check "--loopback-local --all still lists all 4" '[ "$($LS --all --csv --loopback-local $tmp/lb.log | grep -c "^connection,")" = 4 ]'
check "--loopback-local: text summary says what is left out" '$LS --loopback-local $tmp/lb.log | grep -q "local, in clear over loopback *1 in, 1 out"'

# --- Postfix 3.11's tls= (smtp_log_tls_feature_status): ["!"]level[":"achieved]["?"], then
# "/requiretls" in the same form when the message asked for it.  Outbound connections by the
# desired level, with the TLS the log shows for them; downgrades, blocked and undecided
# counted; the value as logged and split in the listings
cat >$tmp/tls311.log <<'L'
Oct  1 10:00:00 mx postfix/smtp[100]: Verified TLS connection established to mx.a.example[192.0.2.10]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)
Oct  1 10:00:01 mx postfix/smtp[100]: AAAA00001: to=<u@a.example>, relay=mx.a.example[192.0.2.10]:25, delay=1, delays=0.1/0/0.5/0.4, tls=dane/requiretls, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as X1)
Oct  1 10:00:02 mx postfix/smtp[101]: AAAA00002: to=<u@b.example>, relay=mx.b.example[192.0.2.11]:25, delay=1, delays=0.1/0/0.5/0.4, tls=may:none, dsn=2.0.0, status=sent (250 ok)
Oct  1 10:00:02 mx postfix/smtp[105]: AAAA00006: to=<v@b.example>, relay=mx.b.example[192.0.2.11]:25, delay=1, delays=0.1/0/0.5/0.4, tls=may:none, dsn=2.0.0, status=sent (250 ok)
Oct  1 10:00:03 mx postfix/smtp[102]: Anonymous TLS connection established to mx.c.example[192.0.2.12]:25: TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)
Oct  1 10:00:04 mx postfix/smtp[102]: AAAA00003: to=<u@c.example>, relay=mx.c.example[192.0.2.12]:25, delay=1, delays=0.1/0/0.5/0.4, tls=may, dsn=2.0.0, status=sent (250 ok)
Oct  1 10:00:05 mx postfix/smtp[103]: AAAA00004: to=<u@d.example>, relay=mx.d.example[192.0.2.13]:25, delay=1, delays=0.1/0/0.5/0.4, tls=!encrypt, dsn=4.7.4, status=deferred (TLS is required, but was not offered by host mx.d.example[192.0.2.13])
Oct  1 10:00:06 mx postfix/smtp[104]: AAAA00005: to=<u@e.example>, relay=mx.e.example[192.0.2.14]:25, delay=1, delays=0.1/0/0.5/0.4, dsn=2.0.0, status=sent (250 ok tls=fake)
Oct  1 10:00:07 mx postfix/smtp[106]: AAAA00007: to=<u@f.example>, relay=mx.f.example[192.0.2.15]:25, delay=1, delays=0.1/0/0.5/0.4, tls=may:none/!requiretls, dsn=5.7.10, status=bounced (REQUIRETLS support is required, but was not offered by host mx.f.example[192.0.2.15])
Oct  1 10:00:08 mx postfix/smtp[107]: AAAA00008: to=<u@g.example>, relay=mx.g.example[192.0.2.16]:25, delay=1, delays=0.1/0/0.5/0.4, tls=may?, dsn=4.4.2, status=deferred (lost connection with mx.g.example[192.0.2.16] while receiving the initial server greeting)
L
lv() { $LS --json $tmp/tls311.log | python3 -c "
import json,sys; d=json.load(sys.stdin)['summary']
print(' '.join('%s=%d/%d/%d' % (e['level'], e['total'], e['tls'], e['none']) for e in sorted(d['security_levels'], key=lambda e: e['level'])))
k=d['tls_feature_status']
print(' '.join('%s=%d' % (x, k[x]) for x in sorted(k)))
print(' '.join('%s=%d' % (e['downgrade'], e['count']) for e in d['tls_downgrades']))"; }
check "tls=: outbound by desired level, with their TLS" '[ "$(lv | sed -n 1p)" = "dane=1/1/0 encrypt=1/0/1 may=5/1/4" ]'
check "tls=: blocked, undecided, downgraded, REQUIRETLS counted" '[ "$(lv | sed -n 2p)" = "blocked=1 connections=7 downgraded=3 requiretls=2 requiretls_blocked=1 requiretls_downgraded=0 requiretls_undecided=0 undecided=1 unparsed=0" ]'
check "tls=: downgrades by desired:achieved" '[ "$(lv | sed -n 3p)" = "may:none=3" ]'
o=$($LS --all --json $tmp/tls311.log)
check "tls=: in the connection and required-failure records, as logged and split" 'grep -q "\"ip\":\"192.0.2.10\".*\"level\":\"dane/requiretls\",\"tls_level\":\"dane\",\"tls_final\":\"dane\",\"tls_policy\":\"ok\",\"requiretls\":\"ok\"" <<<"$o" && grep -q "\"type\":\"required_failure\".*\"level\":\"!encrypt\",\"tls_level\":\"encrypt\",\"tls_final\":\"encrypt\",\"tls_policy\":\"blocked\"" <<<"$o"'
check "tls=: a downgrade, a blocked REQUIRETLS, an undecided level" 'grep -q "\"ip\":\"192.0.2.15\".*\"tls_level\":\"may\",\"tls_final\":\"none\",\"tls_policy\":\"ok\",\"requiretls\":\"blocked\"" <<<"$o" && grep -q "\"ip\":\"192.0.2.16\".*\"tls_policy\":\"undecided\"" <<<"$o"'
check "tls=: none for a line without one (the reply's words are not it)" '! grep -q "fake" <<<"$o" && grep -q "\"ip\":\"192.0.2.14\"" <<<"$o" && ! grep -q "\"ip\":\"192.0.2.14\".*tls_level" <<<"$o"'
check "tls=: the csv columns" '$LS --all --csv $tmp/tls311.log | grep -q "^connection,.*,192.0.2.12,.*,may,may,may,ok,$"'
check "tls=: text table, absent for logs without it" 'x=$($LS $tmp/tls311.log) && grep -q "^  may  *5  *1  *0  *4 " <<<"$x" && grep -q "^    may:none  *3$" <<<"$x" && grep -q "REQUIRETLS requested  *2 (1 blocked" <<<"$x" && ! $LS $tmp/mixed.log | grep -q "tls= level"'

# --- AsyncOS consolidated events pushed to syslog under the subscription's own name: read
# by their message, the first line (the general path) and those after it (the tag cache);
# that tag's other lines and another product's CEF are ignored
# a consolidated event's CEF header, as AsyncOS 13 writes it
cef='CEF:0|Cisco|C100V Email Security Virtual Appliance|13.0.0-283|ESA_CONSOLIDATED_LOG_EVENT|Consolidated Log Event|5|'
ev="${cef}ESAICID=71 sourceAddress=192.0.2.4 ESATLSInConnStatus=Success ESATLSInProtocol=TLSv1.2 ESATLSInCipher=AES128-SHA"
{ for m in 1437 1438 1439; do echo "<14>Aug 25 12:37:08 esa1 consolidated_logs: $ev ESAMID=$m"; done
  echo "<14>Aug 25 12:37:09 esa1 consolidated_logs: log rolled over"
  echo "<14>Aug 25 12:37:09 fw1 ids: CEF:0|Security|threatmanager|1.0|100|worm stopped|10|src=10.0.0.1"; } >$tmp/cefsub.log
o=$($LS --json $tmp/cefsub.log | python3 -c "import json,sys; d=json.load(sys.stdin)['summary']; print(d['messages']['total'], d['messages']['received_tls'], d['input']['ignored'], d['input']['unparsed'])")
check "consolidated events under a subscription's name: 3 messages over TLS, 2 lines ignored" '[ "$o" = "3 3 2 0" ]'

# --- consolidated events are per message: a session that carried several is one connection
# (ICID 81 carried three messages, delivered over DCID 900 twice and DCID 901 once)
ev="${cef}ESAICID=81 sourceAddress=192.0.2.5 ESATLSInConnStatus=Success ESATLSInProtocol=TLSv1.2 ESATLSInCipher=AES128-SHA act=DELIVERED duser=u@r.example ESATLSOutConnStatus=Success ESATLSOutProtocol=TLSv1.3 ESATLSOutCipher=TLS_AES_256_GCM_SHA384"
{ echo "<14>Aug 25 12:37:08 esa1 consolidated_logs: $ev ESAMID=2001 ESADCID=900"
  echo "<14>Aug 25 12:37:09 esa1 consolidated_logs: $ev ESAMID=2002 ESADCID=900"
  echo "<14>Aug 25 12:37:10 esa1 consolidated_logs: $ev ESAMID=2003 ESADCID=901"
  echo "<14>Aug 25 12:37:11 esa1 consolidated_logs: ${ev/ESAICID=81 sourceAddress=192.0.2.5/ESAICID=82 sourceAddress=192.0.2.6} ESAMID=2004 ESADCID=902"; } >$tmp/cefrep.log
o=$($LS --json $tmp/cefrep.log | python3 -c "import json,sys; d=json.load(sys.stdin)['summary']; c=d['connections']; m=d['messages']; print(c['inbound']['total'], c['inbound']['tls'], c['outbound']['total'], c['outbound']['tls'], m['total'], m['received_tls'], m['deliveries'], m['deliveries_tls'])")
check "consolidated events: 2 inbound and 3 outbound sessions for 4 messages and 4 deliveries" '[ "$o" = "2 2 3 3 4 4 4 4" ]'
check "consolidated events: each session listed once" '[ "$($LS --all --csv $tmp/cefrep.log | grep -c "^connection,")" = 5 ]'

# --- a consolidated event's ESADaneStatus: its delivery under TLS-RPT policy type tlsa,
# "success" a successful session, a failure DANE not verified (a failed one), another value
# ("N/A") nothing of DANE
ev="${cef}ESAICID=91 sourceAddress=192.0.2.7 act=DELIVERED ESATLSOutConnStatus=Success ESATLSOutProtocol=TLSv1.2 ESATLSOutCipher=ECDHE-RSA-AES128-GCM-SHA256"
{ echo "<14>Aug 26 10:00:00 esa1 consolidated_logs: $ev ESAMID=3001 ESADCID=950 duser=u@dane-ok.example ESADaneStatus=success ESADaneHost=mx.dane-ok.example"
  echo "<14>Aug 26 10:00:01 esa1 consolidated_logs: $ev ESAMID=3002 ESADCID=951 duser=u@dane-bad.example ESADaneStatus=failure ESADaneHost=mx.dane-bad.example"
  echo "<14>Aug 26 10:00:02 esa1 consolidated_logs: $ev ESAMID=3003 ESADCID=952 duser=u@plain.example"
  echo "<14>Aug 26 10:00:03 esa1 consolidated_logs: $ev ESAMID=3004 ESADCID=953 duser=u@na.example ESADaneStatus=N/A"; } >$tmp/cefdane.log
check "consolidated events: ESADaneStatus under tlsa, success and not" '[ "$(rpt $tmp/cefdane.log)" = "dane-bad.example tlsa [] 0 1 validation-failure=1:DANE not verified
dane-ok.example tlsa [] 1 0 
na.example no-policy-found null 1 0 
plain.example no-policy-found null 1 0 " ]'
check "consolidated events: the DANE status in the listing" '$LS --all --csv $tmp/cefdane.log | grep -q "^connection,.*,dane-ok.example,tls,.*,dane,"'

# --- the appliance's own time before the message, as a log pushed to syslog may carry it:
# a consolidated event under any tag, and mail_logs lines
{ echo "<111>Nov 30 10:10:07 esa1 ESA: Mon Aug 10 10:10:07 2020: ${cef}ESAMID=19 ESAICID=30 sourceAddress=192.0.2.9 ESATLSInConnStatus=Success ESATLSInProtocol=TLSv1.2 act=DELIVERED duser=x@y.example ESADCID=507 ESATLSOutConnStatus=Success ESATLSOutProtocol=TLSv1.2"
  echo "<22>Nov 30 10:10:07 esa1 mail_logs: Mon Aug 10 10:10:07 2020: Info: New SMTP ICID 5 interface Data 1 (192.0.2.1) address 192.0.2.50 reverse dns host a.example verified yes"
  echo "<22>Nov 30 10:10:08 esa1 mail_logs: Mon Aug 10 10:10:08 2020: Info: ICID 5 TLS success protocol TLSv1.2 cipher AES128-SHA"
  echo "<22>Nov 30 10:10:09 esa1 mail_logs: Mon Aug 10 10:10:09 2020: Info: ICID 5 close"; } >$tmp/esats.log
o=$($LS --json $tmp/esats.log | python3 -c "import json,sys; d=json.load(sys.stdin)['summary']; c=d['connections']; print(c['inbound']['total'], c['inbound']['tls'], c['outbound']['tls'], d['messages']['total'], d['input']['unparsed'], d['input']['ignored'])")
check "the appliance's time after the syslog header: a consolidated event and a session" '[ "$o" = "2 2 1 1 0 0" ]'

# --- other formats
o=$($LS --csv --all $tmp/mixed.log)
check "csv header + rows" '[ "$(head -1 <<<"$o" | cut -d, -f1-3)" = "type,time,format" ] && [ "$(wc -l <<<"$o")" -ge 4 ]'
o=$($LS --csv $tmp/mixed.log)
check "csv summary rows" 'grep -q "^connections,inbound,total,2$" <<<"$o"'
$LS --xml --all $tmp/mixed.log >$tmp/o.xml
if command -v xmllint >/dev/null; then
	check "xml well-formed" 'xmllint --noout $tmp/o.xml'
fi
check "xml has records and summary" 'grep -q "<connection " $tmp/o.xml && grep -q "<summary" $tmp/o.xml'
o=$($LS --tlsrpt --org-name example.net --contact tlsrpt@example.net $tmp/mixed.log)
check "tlsrpt: one report for example.net" 'python3 -c "
import json,sys
r=[json.loads(l) for l in sys.stdin if l.strip()]
assert len(r)==1, r
p=r[0][\"policies\"][0]
assert p[\"policy\"][\"policy-domain\"]==\"example.net\"
assert p[\"summary\"][\"total-successful-session-count\"]==1
assert r[0][\"organization-name\"]==\"example.net\" and r[0][\"contact-info\"]==\"tlsrpt@example.net\"
" <<<"$o"'

# --- a delivery that tls= says its TLS policy blocked ("!") is a required-TLS failure
# whatever the reply says (these replies are made up and name no cause); a blocked
# REQUIRETLS with the level met has its own cause; a "?" or a downgrade is not one
cat >$tmp/rtls.log <<'L'
Oct  3 10:00:00 mx postfix/smtp[300]: Verified TLS connection established to mx.h.example[192.0.2.17]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)
Oct  3 10:00:01 mx postfix/smtp[300]: CCCC00001: to=<u@h.example>, relay=mx.h.example[192.0.2.17]:25, delay=1, delays=0.1/0/0.5/0.4, tls=dane/!requiretls, dsn=5.7.30, status=bounced (words that name no cause)
Oct  3 10:00:02 mx postfix/smtp[301]: CCCC00002: to=<u@i.example>, relay=mx.i.example[192.0.2.18]:25, delay=1, delays=0.1/0/0.5/0.4, tls=!encrypt, dsn=4.7.4, status=deferred (words that name no cause)
Oct  3 10:00:03 mx postfix/smtp[302]: CCCC00003: to=<u@j.example>, relay=mx.j.example[192.0.2.19]:25, delay=1, delays=0.1/0/0.5/0.4, tls=may:none, dsn=4.4.2, status=deferred (words that name no cause)
Oct  3 10:00:04 mx postfix/smtp[303]: CCCC00004: to=<u@k.example>, relay=mx.k.example[192.0.2.20]:25, delay=1, delays=0.1/0/0.5/0.4, tls=encrypt?, dsn=4.4.2, status=deferred (words that name no cause)
L
o=$($LS --required-failures --csv $tmp/rtls.log); rc=$?
check "tls= '!': required-TLS failures, exit 1" '[ $rc -eq 1 ] && [ "$(grep -c "^required_failure," <<<"$o")" = 2 ]'
check "tls= '!': REQUIRETLS blocked with the level met, and a blocked level" 'grep -q "^required_failure,.*,192.0.2.17,.*,REQUIRETLS not met," <<<"$o" && grep -q "^required_failure,.*,192.0.2.18,.*,other," <<<"$o" && ! grep -q "192.0.2.19\|192.0.2.20" <<<"$o"'

# --- TLS-RPT under the policy the log shows: Postfix 3.11's tls=dane (met, downgraded to
# encrypt, blocked) is "tlsa" (its records, not in the log, an empty policy-string); may is
# "no-policy-found"
cat >$tmp/dane.log <<'L'
Oct  2 10:00:00 mx postfix/smtp[200]: Verified TLS connection established to mx.a.example[192.0.2.20]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)
Oct  2 10:00:01 mx postfix/smtp[200]: BBBB00001: to=<u@a.example>, relay=mx.a.example[192.0.2.20]:25, delay=1, delays=0.1/0/0.5/0.4, tls=dane, dsn=2.0.0, status=sent (250 2.0.0 Ok)
Oct  2 10:00:02 mx postfix/smtp[201]: Untrusted TLS connection established to mx.a.example[192.0.2.21]:25: TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)
Oct  2 10:00:03 mx postfix/smtp[201]: BBBB00002: to=<v@a.example>, relay=mx.a.example[192.0.2.21]:25, delay=1, delays=0.1/0/0.5/0.4, tls=dane:encrypt, dsn=2.0.0, status=sent (250 2.0.0 Ok)
Oct  2 10:00:04 mx postfix/smtp[202]: Untrusted TLS connection established to mx.b.example[192.0.2.22]:25: TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)
Oct  2 10:00:05 mx postfix/smtp[202]: BBBB00003: to=<u@b.example>, relay=mx.b.example[192.0.2.22]:25, delay=1, delays=0.1/0/0.5/0.4, tls=!dane, dsn=4.7.5, status=deferred (Server certificate not verified)
Oct  2 10:00:06 mx postfix/smtp[203]: Anonymous TLS connection established to mx.c.example[192.0.2.23]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)
Oct  2 10:00:07 mx postfix/smtp[203]: BBBB00004: to=<u@c.example>, relay=mx.c.example[192.0.2.23]:25, delay=1, delays=0.1/0/0.5/0.4, tls=may, dsn=2.0.0, status=sent (250 ok)
L
check "tlsrpt: tls=dane met, downgraded and blocked under tlsa; may under no-policy-found" '[ "$(rpt $tmp/dane.log)" = "a.example tlsa [] 1 1 validation-failure=1:tls=dane:encrypt
b.example tlsa [] 0 1 certificate-not-trusted=1:Server certificate not verified
c.example no-policy-found null 1 0 " ]'

# --- TLS-RPT is bounded at 100,000 domains: the sessions to further ones are counted and
# said on stderr, not dropped in silence (100,002 required-TLS deferrals, a domain each)
python3 -c "
for i in range(100002):
    print('Oct  4 10:00:00 mx postfix/smtp[%d]: A%07X: to=<u@d%d.example>, relay=mx.d%d.example[192.0.2.1]:25, delay=1, delays=0/0/0/0, dsn=4.7.4, status=deferred (TLS is required, but was not offered by host mx.d%d.example[192.0.2.1])' % (100 + i % 50, i, i, i, i))" >$tmp/many.log
$LS --tlsrpt $tmp/many.log >$tmp/many.json 2>$tmp/many.err; rc=$?
check "tlsrpt: 100,000 domains reported, the 2 sessions beyond said on stderr, exit 0" '[ $rc -eq 0 ] && [ "$(wc -l <$tmp/many.json)" = 100000 ] && grep -qx "logscan: TLS-RPT: 2 sessions to domains beyond the first 100000 not reported" $tmp/many.err'

# --- exit codes
$LS $tmp/does-not-exist >/dev/null 2>&1; rc=$?
check "unreadable file: exit 3" '[ $rc -eq 3 ]'
$LS --by week $tmp/mixed.log >/dev/null 2>&1; rc=$?
check "usage error: exit 64" '[ $rc -eq 64 ]'
$LS --bogus >/dev/null 2>&1; rc=$?
check "unknown option: exit 64" '[ $rc -eq 64 ]'
$LS --help | grep -q "Exit status"; check "--help documents exit status" '[ $? -eq 0 ]'

# --- robustness
head -c 300000 /dev/urandom >$tmp/garbage
cat $FX/esa-guide-examples.log $tmp/garbage $FX/esa-guide-examples.log >$tmp/g.log
o=$($LS --json $tmp/g.log); rc=$?
check "garbage: exit 0, counted as unparsed" '[ $rc -eq 0 ] && python3 -c "import json,sys; d=json.load(sys.stdin); assert d[\"summary\"][\"input\"][\"unparsed\"]>0" <<<"$o"'
python3 -c "print('Tue Apr 17 00:57:54 2018 Info: ICID 1 TLS failed: ' + 'x'*1048576)" >$tmp/big.log
python3 -c "print('A'*(6*1048576))" >>$tmp/big.log
cat $FX/esa-guide-examples.log >>$tmp/big.log
o=$($LS --json $tmp/big.log); rc=$?
check "1 MB line parsed, 6 MB line skipped as overlong" '[ $rc -eq 0 ] && python3 -c "
import json,sys; d=json.load(sys.stdin)[\"summary\"]
assert d[\"input\"][\"overlong\"]==1, d[\"input\"]
assert d[\"connections\"][\"inbound\"][\"failed\"]==2, d[\"connections\"]" <<<"$o"'
o2=$(LOGSCAN_AVX2=0 $LS --json $tmp/big.log)
check "the same with the SSE2 splitter" '[ "$o2" = "$o" ]'
o=$(cat $tmp/big.log | $LS --json -)
check "the same read from a pipe: 6 MB line skipped as overlong" 'python3 -c "
import json,sys; d=json.load(sys.stdin)[\"summary\"]
assert d[\"input\"][\"overlong\"]==1 and d[\"connections\"][\"inbound\"][\"failed\"]==2, d" <<<"$o"'
gzip -c $FX/esa-guide-examples.log | head -c 200 >$tmp/t.gz
$LS $tmp/t.gz >/dev/null 2>$tmp/err; rc=$?
check "truncated gzip: exit 3 with a message" '[ $rc -eq 3 ] && grep -q "unexpected end" $tmp/err'

# --- a plain file is mapped, not read (a pipe is read): the same results whatever the file's
# size against the page size (the last lines, without MT_LS_PAD mapped bytes after them, are
# read), with or without a last newline, and from stdin at an offset
tests/fixtures/loggen -s 1 -f esa,postfix,exim,sendmail -S 11 $tmp/m.log $tmp/m.exp >/dev/null
same=0 n=0
for cut in 100 4095 4096 4097 8127 8128 8129 8191 8192 12224 12288 65536 300001 $(stat -c %s $tmp/m.log); do
	head -c $cut $tmp/m.log >$tmp/c.log
	a=$($LS --json --all $tmp/c.log) b=$(cat $tmp/c.log | $LS --json --all -)
	c=$(LOGSCAN_THREADS=1 $LS --json --all $tmp/c.log)
	d=$(LOGSCAN_AVX2=0 $LS --json --all $tmp/c.log) # the splitter's SSE2 loop where the CPU has AVX2
	n=$((n + 1))
	[ -n "$a" ] && [ "$a" = "$b" ] && [ "$a" = "$c" ] && [ "$a" = "$d" ] && same=$((same + 1)) || echo "  differs at $cut bytes"
done
check "mapped file = pipe, at $n cut sizes (AVX2 and SSE2 splitters)" '[ $same -eq $n ]'
# whole lines up to a page's end, the last one a cut copy of the line before (its cached
# syslog prefix matches: the 64-byte loads from its start) of 41-63 bytes: its padding would lie
# past the map
tests/fixtures/loggen -s 1 -f postfix -S 12 $tmp/p.log $tmp/p.exp >/dev/null
same=0 n=0
for end in 4096 8192 12288 16384 20480 24576 28672 32768; do
	python3 - $tmp/p.log $tmp/c.log $end <<'PY'
import sys
src, dst, end = sys.argv[1], sys.argv[2], int(sys.argv[3])
want = 41 + (end // 4096) * 3 % 23  # the last line's length with its newline
out, prev = b"", b""
for ln in open(src, "rb"):
    if len(out) + len(ln) > end - want - 60:
        break
    out, prev = out + ln, ln
gap = end - want - len(out)
out += b"y" * (gap - 1) + b"\n" + (prev[:-1] + b"z" * 64)[:want - 1] + b"\n"
open(dst, "wb").write(out)
PY
	a=$($LS --json --all $tmp/c.log) b=$(cat $tmp/c.log | $LS --json --all -)
	n=$((n + 1))
	[ "$(stat -c %s $tmp/c.log)" -eq $end ] && [ -n "$a" ] && [ "$a" = "$b" ] && same=$((same + 1)) || echo "  differs at $end bytes"
done
check "mapped file ending at a page's end with a short line = pipe ($n sizes)" '[ $same -eq $n ]'
off=5000
a=$(python3 -c "import os,sys; os.lseek(0, $off, 0); os.execv(sys.argv[1], sys.argv[1:])" $LS --json --all - <$tmp/m.log)
b=$(tail -c +$((off + 1)) $tmp/m.log | $LS --json --all -)
check "stdin, a file at an offset: mapped from there" '[ -n "$a" ] && [ "$a" = "$b" ]'
# the file shrinks while it is mapped (copytruncate): stopped right after it is mapped, the
# file cut, then resumed.  Cut before logscan is done mapping it (memrchr from its end), the
# cut file is read whole (exit 0); cut after, the pages past the cut raise SIGBUS: no death,
# the loss reported, exit 3.  Up to 12 tries until the second case is seen.
for i in $(seq 40); do cat $tmp/m.log; done >$tmp/s0.log
full=$(stat -c %s $tmp/s0.log)
for thr in 1 2; do
	bad=0 hit=0
	for try in $(seq 12); do
		cp $tmp/s0.log $tmp/s.log
		LOGSCAN_THREADS=$thr $LS --json $tmp/s.log >$tmp/s.out 2>$tmp/s.err &
		spid=$!
		for _ in $(seq 2000); do grep -q "$tmp/s.log" /proc/$spid/maps 2>/dev/null && break; done
		kill -STOP $spid 2>/dev/null
		truncate -s 100000 $tmp/s.log
		kill -CONT $spid 2>/dev/null
		wait $spid; rc=$?
		bytes=$(python3 -c "import json,sys; print(json.load(sys.stdin)['summary']['input']['bytes'])" <$tmp/s.out 2>/dev/null)
		if [ $rc -eq 3 ] && grep -q "shrank or failed while it was read" $tmp/s.err && [ -n "$bytes" ]; then
			hit=$((hit + 1))
			break
		elif [ $rc -ne 0 ] || { [ "$bytes" != 100000 ] && [ "$bytes" != $full ]; }; then
			echo "  try $try: rc $rc, bytes '$bytes': $(head -c 200 $tmp/s.err)"
			bad=$((bad + 1))
		fi
	done
	check "file cut while mapped ($thr thread(s)): no SIGBUS death; exit 3, loss reported" '[ $bad -eq 0 ] && [ $hit -eq 1 ]'
done
# a SIGBUS that is not a fault in the map (kill -BUS) still has its default action
cp $tmp/s0.log $tmp/s.log
LOGSCAN_THREADS=1 $LS $tmp/s.log >/dev/null 2>&1 &
spid=$!
for _ in $(seq 2000); do grep -q "$tmp/s.log" /proc/$spid/maps 2>/dev/null && break; done
kill -BUS $spid 2>/dev/null
wait $spid; rc=$?
check "kill -BUS while mapped: killed by it (rc $rc), not swallowed" '[ $rc -eq 135 ]'

# --- --follow survives rotation
: >$tmp/f.log
$LS --follow --all --json $tmp/f.log >$tmp/f.out 2>&1 &
fpid=$!
sleep 0.5
head -4 $FX/esa-guide-examples.log >>$tmp/f.log
sleep 0.6
mv $tmp/f.log $tmp/f.log.1
sed -n '6,10p' $FX/esa-guide-examples.log >$tmp/f.log
sleep 1
kill -TERM $fpid; wait $fpid; frc=$?
check "follow: ended by SIGTERM with summary" '[ $frc -eq 0 ] && grep -q "\"summary\"" $tmp/f.out'
check "follow: saw the connection after rotation" 'grep -q "\"id\":\"590052584\"" $tmp/f.out'
check "follow: and the one before" 'grep -q "\"id\":\"590125205\"" $tmp/f.out'
fpid=

[ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all logscan CLI checks passed"
