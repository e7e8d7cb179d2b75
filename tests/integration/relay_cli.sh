#!/usr/bin/env bash
# relay_cli.sh — the relay's command line and bad input: no config, a bad config line
# (file:line, exit 64), an unknown policy, inject without recipients (65), an empty message
# (65), a bad address (65), delete of an unknown MID (69), two runners on one queue (75),
# flush with and without a runner, sendmail -t with To/Cc/Bcc (Bcc removed from the queued
# message, its address kept as a recipient), the queue listing (text and JSON), delete, and
# the destinations output.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/fixtures/relay_env.sh"
need_relay

Q=$T/q
cat >"$T/ok.conf" <<EOF
# a valid configuration
queue_dir = $Q
hostname = cli.relay.test.example
retry = 600
timeout = 5
workers = 4
destination = default tls=Preferred
destination = secure.test.example tls=Required-Verify max_conn=3 route=[127.0.0.1]:2
destination = Plain.Test.Example tls=none dane=no mta_sts=no
destination = enc.test.example tls=Required
EOF
OKC=$T/ok.conf
rl() { CMD="relay $*"; timeout 30 "$RELAY" "$@" >"$OUT" 2>"$ERR"; RC=$?; }

case_ "no configuration and no -q: usage error naming queue_dir"
(cd "$T" && timeout 10 "$RELAY" queue >"$OUT" 2>"$ERR" </dev/null)
RC=$?
CMD="relay queue (no config)"
assert_exit 64
assert_contains "queue_dir"

case_ "a configuration file that does not exist"
rl -c "$T/nonexistent.conf" queue
assert_exit 64
assert_contains "nonexistent.conf"

case_ "a bad config line names file:line"
printf 'queue_dir = %s\n# comment\n\nthis is not a setting\n' "$Q" >"$T/bad1.conf"
rl -c "$T/bad1.conf" queue
assert_exit 64
assert_contains "bad1.conf:4"

case_ "an unknown key names file:line"
printf 'queue_dir = %s\nqueue_speed = fast\n' "$Q" >"$T/bad2.conf"
rl -c "$T/bad2.conf" queue
assert_exit 64
assert_contains "bad2.conf:2"

case_ "an unknown policy is named"
printf 'queue_dir = %s\ndestination = x.test.example tls=Sometimes\n' "$Q" >"$T/bad3.conf"
rl -c "$T/bad3.conf" destinations
assert_exit 64
assert_contains "bad3.conf:2"
assert_contains "Sometimes"

case_ "a bad route and a bad duration"
printf 'queue_dir = %s\ndestination = x.test.example tls=Required route=[127.0.0.1]:99999\n' "$Q" >"$T/bad4.conf"
rl -c "$T/bad4.conf" destinations
assert_exit 64
assert_contains "bad4.conf:2"
printf 'queue_dir = %s\nmax_queue_lifetime = 5 weeks\n' "$Q" >"$T/bad5.conf"
rl -c "$T/bad5.conf" destinations
assert_exit 64
assert_contains "bad5.conf:2"

case_ "unknown command and option: usage"
rl -c "$OKC" frobnicate
assert_exit 64
rl -c "$OKC" --no-such-option
assert_exit 64

case_ "inject with no recipients: 65"
rl -c "$OKC" inject --from a@src.test.example <<<"Subject: x"
assert_exit 65
assert_icontains "recipient"

case_ "inject an empty message: 65"
rl -c "$OKC" inject --from a@src.test.example --to b@dst.test.example </dev/null
assert_exit 65
assert_icontains "empty"

case_ "inject a malformed address: 65"
rl -c "$OKC" inject --from a@src.test.example --to 'not an address' <<<"Subject: x"
assert_exit 65

case_ "nothing was queued by the failures"
rl -c "$OKC" queue --json
assert_exit 0
[ ! -s "$OUT" ] || [ "$(jq -s '[.[] | if type=="array" then .[] else . end] | length' "$OUT")" = 0 ] &&
	ok_ || fail_ "failed injects left messages: $(cat "$OUT")"

case_ "inject: queued MID, listed in text and JSON"
rl -c "$OKC" inject --from a@src.test.example --to b@dst.test.example --to c@secure.test.example \
	< <(mkmsg tok-cli-1)
assert_exit 0
assert_line '^queued MID [0-9]+$'
M1=$(sed -n 's/^queued MID //p' "$OUT")
[ -f "$Q/env/$M1" ] && [ -f "$Q/msg/$M1" ] && ok_ || fail_ "no env/$M1 and msg/$M1"
rl -c "$OKC" queue
assert_exit 0
assert_contains "<a@src.test.example>"
assert_contains "<b@dst.test.example>"
assert_contains "<c@secure.test.example>"
assert_line "^$M1 "
rl -c "$OKC" queue --json
assert_exit 0
jq -e -s --argjson m "$M1" '[.[] | if type=="array" then .[] else . end | select(.mid==$m)][0] |
	.from=="a@src.test.example" and ([.rcpts[].to]|sort)==["b@dst.test.example","c@secure.test.example"]
	and .attempts==0' "$OUT" >/dev/null && ok_ || fail_ "queue --json: $(cat "$OUT")"

case_ "sendmail -t: recipients from To/Cc/Bcc, Bcc removed"
printf 'From: Sender <s@src.test.example>\nTo: x@one.test.example, "Why, Not" <y@two.test.example>\nCc: z@three.test.example\nBcc: hidden@four.test.example\nSubject: t\n\nbody tok-cli-t\n' |
	timeout 30 "$RELAY" -c "$OKC" -t -f env@src.test.example >"$OUT" 2>"$ERR"
RC=$?
CMD="relay -t -f env@src.test.example"
assert_exit 0
MT=$(sed -n 's/^queued MID //p' "$OUT")
rl -c "$OKC" queue --json
jq -e -s --argjson m "${MT:-0}" '[.[] | if type=="array" then .[] else . end | select(.mid==$m)][0] |
	.from=="env@src.test.example" and ([.rcpts[].to]|sort)==
	["hidden@four.test.example","x@one.test.example","y@two.test.example","z@three.test.example"]' \
	"$OUT" >/dev/null && ok_ || fail_ "-t recipients: $(cat "$OUT")"
grep -qi '^Bcc:' "$Q/msg/$MT" && fail_ "Bcc header still in the queued message" || ok_
grep -q 'hidden@four' "$Q/msg/$MT" && fail_ "Bcc address still in the queued message" || ok_
grep -q '^To: x@one.test.example' "$Q/msg/$MT" && grep -q '^Cc: z@three.test.example' "$Q/msg/$MT" &&
	ok_ || fail_ "To/Cc changed: $(head -5 "$Q/msg/$MT")"
grep -q 'body tok-cli-t' "$Q/msg/$MT" && ok_ || fail_ "body lost"

case_ "sendmail -t with no recipient headers: 65"
printf 'From: s@src.test.example\nSubject: none\n\nbody\n' |
	timeout 30 "$RELAY" -c "$OKC" -t >"$OUT" 2>"$ERR"
RC=$?
assert_exit 65

case_ "sendmail -t with a folded To and extra command-line recipients (-i: a lone dot is data)"
printf 'To: one@a.test.example,\n two@b.test.example\nSubject: fold\n\nline\n.\nafter the dot\n' |
	timeout 30 "$RELAY" -c "$OKC" -t -i -f e@src.test.example extra@c.test.example >"$OUT" 2>"$ERR"
RC=$?
assert_exit 0
MF=$(sed -n 's/^queued MID //p' "$OUT")
rl -c "$OKC" queue --json
jq -e -s --argjson m "${MF:-0}" '[.[] | if type=="array" then .[] else . end | select(.mid==$m)][0] |
	([.rcpts[].to]|sort)==["extra@c.test.example","one@a.test.example","two@b.test.example"]' "$OUT" \
	>/dev/null && ok_ || fail_ "folded To / extra recipients: $(cat "$OUT")"
grep -q 'after the dot' "$Q/msg/$MF" && ok_ || fail_ "-i: text after a lone dot lost"

case_ "delete: unknown MID 69, a queued one 0 and gone"
rl -c "$OKC" delete 987654
assert_exit 69
rl -c "$OKC" delete notanumber
assert_exit 64 69
rl -c "$OKC" delete "$MF"
assert_exit 0
[ -e "$Q/env/$MF" ] && fail_ "env/$MF still there" || ok_
rl -c "$OKC" delete "$MF"
assert_exit 69
grep -q "MID $MF deleted" "$Q/mail.log" && ok_ || fail_ "deletion not logged"

case_ "destinations: the controls in force"
rl -c "$OKC" destinations
assert_exit 0
assert_line '^\(default\) +Preferred '
assert_line '^secure\.test\.example +Required-Verify +3 +\[127\.0\.0\.1\]:2 '
assert_line '^plain\.test\.example +([Nn]one) .* no +no *$'
assert_line '^enc\.test\.example +Required '

case_ "flush without a runner: 75"
rl -c "$OKC" flush
assert_exit 75

case_ "two runners on one queue: the second gets 75; flush reaches the first"
"$RELAY" -c "$OKC" >"$T/runner.out" 2>&1 &
RUNNER=$!
BAD_PIDS+=($RUNNER)
for _ in $(seq 100); do [ -s "$Q/relay.pid" ] && break; sleep 0.05; done
sleep 0.2
kill -0 $RUNNER 2>/dev/null && ok_ || fail_ "runner died: $(cat "$T/runner.out")"
rl -c "$OKC"
assert_exit 75
rl -c "$OKC" --once
assert_exit 75
rl -c "$OKC" flush
assert_exit 0
kill -TERM $RUNNER
wait $RUNNER
RC=$?
CMD="runner after SIGTERM"
assert_exit 0
grep -q "relay stopped" "$Q/mail.log" && ok_ || fail_ "no 'relay stopped' line"

case_ "SIGHUP reloads the configuration (same pid, new settings); a bad file is refused"
HQ=$T/hupq
HC=$T/hup.conf
printf 'queue_dir = %s\nworkers = 2\nhostname = hup.relay.test.example\n' "$HQ" >"$HC"
"$RELAY" -c "$HC" >"$T/hup.out" 2>&1 &
HPID=$!
BAD_PIDS+=($HPID)
waitlog() { for _ in $(seq 100); do grep -qE -- "$1" "$HQ/mail.log" 2>/dev/null && return 0; sleep 0.05; done; return 1; }
waitlog "relay starting on $HQ \(2 workers\)" && ok_ || fail_ "runner did not start: $(cat "$T/hup.out")"
printf 'queue_dir = %s\nworkers = 3\nhostname = hup.relay.test.example\n' "$HQ" >"$HC"
kill -HUP $HPID
waitlog "relay starting on $HQ \(3 workers\)" && ok_ || fail_ "new settings not in force: $(cat "$HQ/mail.log")"
grep -qF "relay reloading $HC: finishing the deliveries in flight" "$HQ/mail.log" && ok_ || fail_ "no reloading line"
kill -0 $HPID 2>/dev/null && ok_ || fail_ "runner gone after SIGHUP: $(cat "$T/hup.out")"
[ "$(cat "$HQ/relay.pid" 2>/dev/null)" = "$HPID" ] && ok_ || fail_ "relay.pid '$(cat "$HQ/relay.pid" 2>/dev/null)', want $HPID"
rl -c "$HC" flush
assert_exit 0
printf 'queue_dir = %s\nworkers = lots\n' "$HQ" >"$HC"
kill -HUP $HPID
waitlog "reload refused, running on with the configuration in force: .*workers" && ok_ ||
	fail_ "no refusal line: $(tail -3 "$HQ/mail.log")"
printf 'queue_dir = %s/elsewhere\n' "$T" >"$HC"
kill -HUP $HPID
waitlog "reload refused, .*queue_dir changed to $T/elsewhere" && ok_ || fail_ "a moved queue not refused: $(tail -3 "$HQ/mail.log")"
sleep 0.3
kill -0 $HPID 2>/dev/null && ok_ || fail_ "runner gone after a refused reload"
[ "$(grep -c 'relay starting' "$HQ/mail.log")" = 2 ] && ok_ || fail_ "restarted on a refused file"
kill -TERM $HPID
wait $HPID
RC=$?
CMD="runner after SIGHUP and SIGTERM"
assert_exit 0

case_ "a stale relay.pid (runner killed) never gets a signal sent to that pid"
sleep 60 &
VICTIM=$!
BAD_PIDS+=($VICTIM)
echo "$VICTIM" >"$Q/relay.pid"
rl -c "$OKC" flush
assert_exit 75
rl -c "$OKC" inject --from a@src.test.example --to b@dst.test.example < <(mkmsg tok-stale)
assert_exit 0
sleep 0.2
kill -0 $VICTIM 2>/dev/null && ok_ || fail_ "the process named by a stale relay.pid was signalled"
kill $VICTIM 2>/dev/null

case_ "the queue survives: messages still listed after the runner stopped"
rl -c "$OKC" queue --json
jq -e -s --argjson m "$M1" '[.[] | if type=="array" then .[] else . end | select(.mid==$m)] | length==1' \
	"$OUT" >/dev/null && ok_ || fail_ "MID $M1 lost"

case_ "-q overrides queue_dir"
rl -c "$OKC" -q "$T/other" inject --from a@src.test.example --to b@dst.test.example < <(mkmsg tok-q)
assert_exit 0
ls "$T/other/env/" 2>/dev/null | grep -q . && ok_ || fail_ "-q queue not used"

case_ "an unwritable queue: 73"
if [ "$(id -u)" = 0 ]; then
	: >"$T/afile"
	rl -q "$T/afile/q" inject --from a@src.test.example --to b@dst.test.example < <(mkmsg tok-73)
	assert_exit 73
else
	mkdir -p "$T/ro" && chmod 555 "$T/ro"
	rl -q "$T/ro/q" inject --from a@src.test.example --to b@dst.test.example < <(mkmsg tok-73)
	assert_exit 73
fi

case_ "--help: usage on stdout, exit 0"
rl --help
assert_exit 0
assert_contains "inject"
finish
