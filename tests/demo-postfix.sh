#!/usr/bin/env bash
# `make demo`: the main job on loopback. Generates a PKI on the spot, starts the private
# Postfix instance (tests/fixtures/postfix.sh) with the good chain, probes it with checktls
# printing the full transcript, stops Postfix and exits with checktls's exit code.
# Needs root (Postfix) and certtool; MAILTLS_PORT_BASE moves the ports.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CHECKTLS=${CHECKTLS:-$ROOT/checktls/checktls}
T=$(mktemp -d /tmp/mailtls-demo-XXXXXX)
chmod 755 "$T" # Postfix's daemons run as user postfix and must reach the queue below

cleanup() {
	"$ROOT/tests/fixtures/postfix.sh" stop "$T/postfix" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ -x "$CHECKTLS" ] || { echo "demo: $CHECKTLS not built (run make)" >&2; exit 70; }
[ "$(id -u)" = 0 ] || { echo "demo: needs root to run the private Postfix instance" >&2; exit 70; }
for c in postfix certtool; do
	command -v "$c" >/dev/null || { echo "demo: $c not installed" >&2; exit 70; }
done

echo "== generating a test PKI in $T/pki"
bash "$ROOT/tests/fixtures/pki.sh" "$T/pki" >"$T/pki.log" 2>&1 || { cat "$T/pki.log" >&2; exit 70; }
echo "== starting a private Postfix on loopback"
MAILTLS_SCENARIOS=good "$ROOT/tests/fixtures/postfix.sh" start "$T/postfix" "$T/pki" >"$T/postfix.log" 2>&1 ||
	{ cat "$T/postfix.log" >&2; exit 70; }
port=$(sed -n 's/^good=//p' "$T/postfix/ports")
[ -n "$port" ] || { echo "demo: no port for the good listener" >&2; exit 70; }

echo "== checktls --cafile $T/pki/ca.pem --name mx.test.example -p $port 127.0.0.1"
echo
"$CHECKTLS" --cafile "$T/pki/ca.pem" --name mx.test.example -p "$port" 127.0.0.1
rc=$?
echo
echo "== checktls exit code: $rc"
exit $rc
