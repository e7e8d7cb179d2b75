#!/usr/bin/env bash
# receiver_interop.sh — the receiver with the project's other tools and Postfix's client:
# checktls probes it trusting the demo CA (the `make demo` path), posttls-finger sees a
# verified STARTTLS session, and logscan reads the AsyncOS mail log back (round trip:
# the message sent in clear is listed as not over TLS, the TLS one is not).
# Parts whose tool is not built or installed are skipped; all absent -> exit 77.
set -u
cd "$(dirname "$0")/../.."
R=$PWD/receiver/receiver
[ -x "$R" ] || { echo "receiver not built"; exit 77; }
command -v swaks >/dev/null || { echo "swaks not installed"; exit 77; }
T=$(mktemp -d /tmp/rcvinter.XXXXXX)
RPID=
cleanup() { [ -n "$RPID" ] && kill "$RPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
ran=0
P=$(python3 "$(dirname "$0")/../fixtures/freeport.py")
mkdir -p "$T/d"
echo "5000000 7000000" >"$T/d/ids" # distinctive ICIDs and MIDs for the log round trip
"$R" -d "$T/d" -l 127.0.0.1:$P --hostname localhost >"$T/stderr" 2>&1 &
RPID=$!
for _ in $(seq 100); do grep -q "listening on" "$T/stderr" && break; sleep 0.05; done
grep -q "listening on" "$T/stderr" || fail "receiver did not start: $(cat "$T/stderr")"
CA=$T/d/certs/demo-ca.pem

swaks -S 1 --server 127.0.0.1:$P --from clear@src.test --to a@dst.test >/dev/null 2>&1 || fail "clear mail"
swaks -S 1 --server 127.0.0.1:$P --from tls@src.test --to a@dst.test --tls >/dev/null 2>&1 || fail "TLS mail"

C=$PWD/checktls/checktls
if [ -x "$C" ] && "$C" --help >/dev/null 2>&1; then
	out=$("$C" -p $P --cafile "$CA" -l verify --name localhost 127.0.0.1 2>&1); rc=$?
	[ $rc -eq 0 ] || fail "checktls exit $rc against the receiver with its demo CA: $out"
	grep -q "Connection converted to TLS" <<<"$out" || fail "checktls transcript: $out"
	grep -q "Cert Hostname VERIFIED" <<<"$out" || fail "checktls name check: $out"
	out=$("$C" -p $P -l verify --no-color --name localhost 127.0.0.1 2>&1); rc=$?
	[ $rc -eq 1 ] || fail "checktls without the demo CA should fail verification (exit 1), got $rc"
	ran=$((ran + 1))
else
	echo "skip: checktls not built"
fi

if command -v posttls-finger >/dev/null; then
	out=$(timeout 20 posttls-finger -c -l secure -F "$CA" "[127.0.0.1]:$P" localhost 2>&1)
	grep -q "Verified TLS connection established" <<<"$out" ||
		fail "posttls-finger: $out"
	ran=$((ran + 1))
fi

kill -TERM $RPID; wait $RPID; RPID=
grep -q "Start MID 7000000 ICID 5000000" "$T/d/mail.log" || fail "ids file not honoured"

L=$PWD/logscan/logscan
if [ -x "$L" ] && "$L" --help >/dev/null 2>&1; then
	out=$("$L" --messages --no-tls "$T/d/mail.log" 2>&1) || fail "logscan exit $?: $out"
	grep -qw 7000000 <<<"$out" || fail "logscan --no-tls misses the clear-text MID 7000000: $out"
	grep -qw 7000001 <<<"$out" && fail "logscan --no-tls lists the TLS MID 7000001: $out"
	out=$("$L" --json "$T/d/mail.log" 2>&1) || fail "logscan --json exit $?"
	grep -q "TLSv1.3" <<<"$out" || fail "logscan --json lacks the TLS protocol: $out"
	ran=$((ran + 1))
else
	echo "skip: logscan not built"
fi
[ $ran -gt 0 ] || { echo "checktls, posttls-finger and logscan all unavailable"; exit 77; }
echo ok
