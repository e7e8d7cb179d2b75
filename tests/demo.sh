#!/usr/bin/env bash
# demo.sh — `make demo`, the main job: the receiver on loopback with its demonstration
# certificate (made on the spot in a temp dir), probed by checktls trusting the demo CA; the
# full transcript, then what the receiver recorded. Exits with checktls's exit code.
# DEMO_PORT moves the port (default 2525). The Postfix-backed variant: tests/demo-postfix.sh.
set -u
cd "$(dirname "$0")/.."
T=$(mktemp -d /tmp/mailtls-demo.XXXXXX)
RPID=
cleanup() {
	[ -n "$RPID" ] && kill -TERM "$RPID" 2>/dev/null && wait "$RPID"
	rm -rf "$T"
}
trap cleanup EXIT
PORT=${DEMO_PORT:-2525}
for b in receiver/receiver checktls/checktls; do
	[ -x "$b" ] || { echo "demo: $b not built (run make)" >&2; exit 70; }
done
receiver/receiver -d "$T" -l 127.0.0.1:$PORT --hostname localhost --no-rdns >"$T/receiver.err" 2>&1 &
RPID=$!
for _ in $(seq 100); do grep -q "listening on" "$T/receiver.err" && break; sleep 0.05; done
grep -q "listening on" "$T/receiver.err" || { cat "$T/receiver.err" >&2; exit 70; }
echo "== receiver on 127.0.0.1:$PORT with a demonstration certificate ($T/certs/demo-ca.pem)"
checktls/checktls -p "$PORT" --cafile "$T/certs/demo-ca.pem" -l verify --name localhost \
	--mail-from demo@localhost --rcpt postmaster@localhost 127.0.0.1
rc=$?
echo
echo "== what the receiver recorded"
kill -TERM "$RPID"
wait "$RPID"
RPID=
receiver/receiver -d "$T" sessions --last 1
exit $rc
