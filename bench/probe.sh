#!/usr/bin/env bash
# Wall time of one STARTTLS probe of a loopback Postfix (good chain, verified against the
# test CA, name mx.test.example): checktls with its full transcript against the tools a user
# would otherwise run, side by side in ONE hyperfine run. Prints medians and the ratio to
# the fastest; the JSON export stays in bench/out/probe.json.
#
#   bench/probe.sh                 BENCH_RUNS=N (max runs per command, default 30),
#                                  BENCH_WARMUP=N (default 2), BENCH_NO_TESTSSL=1 to leave it out
#
# Every tool verifies the chain against the same CA file:
#   checktls        --cafile CA --name mx.test.example (transcript to /dev/null)
#   posttls-finger  -c -l secure -F CA, match name mx.test.example
#   gnutls-cli      --starttls-proto=smtp --x509cafile CA --verify-hostname, stdin /dev/null
#   openssl         s_client -starttls smtp -CAfile CA -verify_return_error -verify_hostname
#   swaks           --tls --tls-verify --tls-ca-path CA --quit-after HELO (EHLO after TLS)
#   testssl         --starttls smtp -p (protocols only: the quickest useful testssl run; it
#                   still takes tens of seconds, since testssl probes its openssl at start and
#                   paces every socket read; so it gets fewer runs, see --min-runs below)
# Exit 77 with a reason when a tool, root or the checktls binary is missing.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CHECKTLS=${CHECKTLS:-$ROOT/checktls/checktls}
RUNS=${BENCH_RUNS:-30}
WARMUP=${BENCH_WARMUP:-2}
OUTDIR=$ROOT/bench/out
T=$(mktemp -d /tmp/mailtls-bench-XXXXXX)
chmod 755 "$T" # Postfix's daemons (user postfix) must reach the queue below

skip() {
	echo "bench: skip: $*"
	exit 77
}
cleanup() {
	"$ROOT/tests/fixtures/postfix.sh" stop "$T/postfix" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || skip "needs root (private Postfix instance)"
[ -x "$CHECKTLS" ] || skip "$CHECKTLS not built (run make)"
tools="hyperfine postfix certtool posttls-finger gnutls-cli openssl swaks"
TESTSSL=
if [ "${BENCH_NO_TESTSSL:-0}" != 1 ]; then
	# Debian installs testssl.sh as "testssl"
	TESTSSL=$(command -v testssl.sh || command -v testssl) || skip "testssl.sh not installed"
fi
for c in $tools; do
	command -v "$c" >/dev/null || skip "$c not installed"
done
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

bash "$ROOT/tests/fixtures/pki.sh" "$T/pki" >"$T/pki.log" 2>&1 || { cat "$T/pki.log"; exit 1; }
MAILTLS_SCENARIOS=good "$ROOT/tests/fixtures/postfix.sh" start "$T/postfix" "$T/pki" >"$T/pf.log" 2>&1 ||
	{ cat "$T/pf.log"; exit 1; }
P=$(sed -n 's/^good=//p' "$T/postfix/ports")
CA=$T/pki/ca.pem
NAME=mx.test.example

# Each command must succeed once before timing: a tool that fails verification would
# otherwise be timed on its error path.
cmds=(
	"checktls|$CHECKTLS --cafile $CA --name $NAME -p $P 127.0.0.1 >/dev/null"
	"posttls-finger|posttls-finger -c -l secure -F $CA [127.0.0.1]:$P $NAME >/dev/null 2>&1"
	"gnutls-cli|gnutls-cli --starttls-proto=smtp --x509cafile $CA --verify-hostname $NAME -p $P 127.0.0.1 </dev/null >/dev/null 2>&1"
	"openssl s_client|openssl s_client -starttls smtp -connect 127.0.0.1:$P -CAfile $CA -verify_return_error -verify_hostname $NAME </dev/null >/dev/null 2>&1"
	"swaks|swaks --server 127.0.0.1 --port $P --tls --tls-verify --tls-ca-path $CA --tls-sni $NAME --quit-after HELO --from bench@test.example --to bench@test.example >/dev/null 2>&1"
)
[ -n "$TESTSSL" ] && cmds+=("testssl.sh|$TESTSSL --quiet --warnings off --color 0 --nodns none --starttls smtp -p 127.0.0.1:$P >/dev/null 2>&1")

args=()
for c in "${cmds[@]}"; do
	name=${c%%|*} cmd=${c#*|}
	bash -c "$cmd" || { echo "bench: $name failed its check run: $cmd"; exit 1; }
	args+=(-n "$name" "$cmd")
done
# a wrong CA must make the verifying tools fail, or they are not verifying
if bash -c "$CHECKTLS --cafile $T/pki/selfsigned.pem --name $NAME -p $P 127.0.0.1 >/dev/null"; then
	echo "bench: checktls passed with the wrong CA"; exit 1
fi

mkdir -p "$OUTDIR"
echo "bench: Postfix on 127.0.0.1:$P; hyperfine warmup $WARMUP, 3..$RUNS runs per command"
# --min-runs 3 lets testssl (tens of seconds a run) finish; the quick tools reach --max-runs
hyperfine --style basic --warmup "$WARMUP" --min-runs 3 --max-runs "$RUNS" \
	--export-json "$OUTDIR/probe.json" "${args[@]}" >"$OUTDIR/probe.hyperfine.txt" 2>&1 ||
	{ cat "$OUTDIR/probe.hyperfine.txt"; exit 1; }

"$PY" - "$OUTDIR/probe.json" <<-'EOF'
	import json, sys
	res = json.load(open(sys.argv[1]))["results"]
	rows = [(r["command"], r["median"], r["mean"], r["stddev"] or 0.0, len(r["times"])) for r in res]
	fastest = min(m for _, m, _, _, _ in rows)
	print("%-16s %11s %11s %10s %5s %9s" % ("tool", "median ms", "mean ms", "stddev ms", "runs", "ratio"))
	for name, med, mean, sd, n in sorted(rows, key=lambda r: r[1]):
	    print("%-16s %11.1f %11.1f %10.1f %5d %8.2fx" % (name, med * 1e3, mean * 1e3, sd * 1e3, n, med / fastest))
	ck = [m for name, m, _, _, _ in rows if name == "checktls"][0]
	others = [m for name, m, _, _, _ in rows if name != "checktls"]
	best = min(others)
	print("checktls / fastest other tool: %.2fx (target <= 1.20x): %s"
	      % (ck / best, "met" if ck <= 1.2 * best else "NOT met"))
EOF
