#!/usr/bin/env bash
# relay_crash.sh — crash safety: N messages (default 1,000; RELAY_CRASH_N) with unique numbered
# tokens are injected, then the queue runner delivers them to a receiver over STARTTLS and is
# killed with SIGKILL at random moments, several times (RELAY_CRASH_KILLS, default 5), and
# restarted; finally `relay --once` runs until the queue is empty. Every token must be at the
# receiver (at-least-once: duplicates are allowed, counted and printed), every inject must
# have succeeded, and the queue must be empty. The queue lives on /dev/shm when it is writable
# (RELAY_CRASH_DIR overrides): SIGKILL does not lose the page cache, so what is tested is the
# commit order (temp file, rename, envelope last), not the disk's fsync latency, and 1,000
# injects fit the time budget.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/fixtures/relay_env.sh"
need_relay

N=${RELAY_CRASH_N:-1000}
KILLS=${RELAY_CRASH_KILLS:-5}
P=$(fport)
R=$T/sink
start_receiver RPID "$R" -l "127.0.0.1:$P" --hostname sink.test.example
base=${RELAY_CRASH_DIR:-/dev/shm}
[ -d "$base" ] && [ -w "$base" ] || base=$T
Q=$(mktemp -d "$base/relaycrash.XXXXXX")
trap 'rm -rf "$Q"; cleanup' EXIT
CONF=$T/relay.conf
cat >"$CONF" <<EOF
queue_dir = $Q
hostname = crash.relay.test.example
cafile = $R/certs/demo-ca.pem
retry = 1
timeout = 10
workers = 16
destination = crash.test.example tls=Preferred route=[127.0.0.1]:$P
EOF

case_ "inject $N messages (4 at a time)"
t0=$SECONDS
INJ=()
for w in 0 1 2 3; do
	(
		for ((i = w + 1; i <= N; i += 4)); do
			printf 'Subject: crash %s\r\nMessage-ID: <crash-%s@relay.test.example>\r\n\r\nbody crash-tok-%s-end\r\n' \
				"$i" "$i" "$i" |
				"$RELAY" -c "$CONF" inject --from a@src.test.example \
					--to "rcpt$((i % 7))@crash.test.example" >/dev/null 2>>"$T/inject.err"
			echo "$i $?"
		done >"$T/inject.$w.log"
	) &
	INJ+=($!)
done
wait "${INJ[@]}"
cat "$T"/inject.*.log >"$T/inject.log"
bad=$(awk '$2 != 0' "$T/inject.log" | wc -l)
[ "$(wc -l <"$T/inject.log")" = "$N" ] && [ "$bad" = 0 ] && ok_ ||
	fail_ "inject: $(wc -l <"$T/inject.log") ran, $bad failed: $(head -3 "$T/inject.err" 2>/dev/null)"
queued=$(ls "$Q/env" | wc -l)
[ "$queued" = "$N" ] && ok_ || fail_ "$queued envelopes for $N injects"
echo "  $N injected in $((SECONDS - t0)) s"

delivered() { ls "$R/spool/new" 2>/dev/null | wc -l; }

case_ "runner killed with SIGKILL $KILLS times at random moments"
t0=$SECONDS
kills=0
while [ $kills -lt "$KILLS" ]; do
	"$RELAY" -c "$CONF" >>"$T/runner.out" 2>&1 &
	RUN=$!
	# 0.05 to 0.3 s (the queue drains in about a second): early kills land while the first
	# workers connect, later ones mid-stream
	sleep "0.$((5 + RANDOM % 26))"
	if kill -0 $RUN 2>/dev/null; then
		kill -9 $RUN
		kills=$((kills + 1))
	else
		fail_ "runner exited by itself: $(tail -3 "$T/runner.out")"
		break
	fi
	wait $RUN 2>/dev/null
	echo "  kill $kills at $((SECONDS - t0)) s: $(delivered) delivered, $(ls "$Q/env" | wc -l) queued"
done
[ "$kills" = "$KILLS" ] && ok_ || fail_ "only $kills kills"

case_ "relay --once until the queue is empty"
left=-1
for pass in $(seq 1 10); do
	run_relay "$CONF" --once
	[ "$RC" = 0 ] || fail_ "relay --once exit $RC"
	left=$("$RELAY" -c "$CONF" queue --json | jq -s '[.[] | if type=="array" then .[] else . end] | length')
	echo "  pass $pass: $left left, $(delivered) delivered"
	[ "$left" = 0 ] && break
done
[ "$left" = 0 ] && ok_ || fail_ "$left messages still queued after 10 passes"
[ -z "$(ls -A "$Q/env" 2>/dev/null)" ] && ok_ || fail_ "env/ not empty"
# a kill between removing env/MID and msg/MID leaves an orphan that a runner removes after an
# hour (an inject in progress looks the same until its envelope is written): at most one per
# worker and kill
orph=$(ls -A "$Q/msg" 2>/dev/null | wc -l)
echo "  $orph orphaned message files left in msg/"
[ "$orph" -le $((KILLS * 16)) ] && ok_ || fail_ "$orph orphaned message files"

case_ "every token at the receiver (at-least-once)"
sleep 0.2
files=$(delivered)
toks() { cat "$R"/spool/new/* 2>/dev/null | grep -ao 'crash-tok-[0-9]*-end' | sed 's/crash-tok-\([0-9]*\)-end/\1/'; }
distinct=$(toks | sort -u | wc -l)
missing=$(comm -23 <(seq 1 "$N" | sort) <(toks | sort -u) | head -10 | tr '\n' ' ')
echo "  $N injected, $files delivered, $distinct distinct, $((files - distinct)) duplicates, $kills kills"
[ "$distinct" = "$N" ] && ok_ || fail_ "$distinct of $N tokens arrived; missing e.g. $missing"
# each transaction is committed when it ends, not when its (reused) session ends: a kill
# repeats at most the transactions in flight, one per worker
dups=$((files - distinct))
[ "$dups" -le $((kills * 16)) ] && ok_ || fail_ "$dups duplicates after $kills kills (at most $((kills * 16)) expected: one per worker and kill)"
# each message arrived whole: its token line is the body's last line
partial=$(grep -aL 'crash-tok-[0-9]*-end' "$R"/spool/new/* 2>/dev/null | wc -l)
[ "$partial" = 0 ] && ok_ || fail_ "$partial spool files without a complete token line"
done_lines=$(grep -c 'Message done DCID' "$Q/mail.log")
[ "$done_lines" -ge "$N" ] && ok_ || fail_ "only $done_lines 'Message done' lines for $N messages"
finish
