#!/usr/bin/env bash
# bench/mxprobe.sh — mxprobe in batch against N domains served by the test DNS server
# (tests/fixtures/dnsfix), their MX on 20 loopback hosts 127.0.0.2-21 in front of a real
# Postfix (tests/fixtures/postfix.sh via mxfwd.py), and, on a sample of the same hosts in the
# same run, the per-domain cost of posttls-finger and testssl.sh (--starttls smtp; its --mx
# mode needs a real resolver, so it gets the MX host directly).
#
#   bench/mxprobe.sh                   # 1,000 and 10,000 domains, -j 64
#   MXB_N="1000" MXB_J=64 MXB_SAMPLE=10 bench/mxprobe.sh
# Reports domains/s, per-domain wall time and peak RSS (GNU time). Needs root (Postfix).
# Loopback only.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
NS=${MXB_N:-1000 10000}
J=${MXB_J:-64}
SAMPLE=${MXB_SAMPLE:-10}
[ -x mxprobe/mxprobe ] && [ -x tests/fixtures/dnsfix ] || make -s mxprobe/mxprobe tests/fixtures/dnsfix
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (GNU time) for peak RSS"; exit 77; }
# reuse the integration harness: PKI, Postfix, fixtures, cleanup on exit
. tests/integration/lib.sh
. tests/fixtures/mxprobe_env.sh
setup_pki
start_postfix
FWD=()
for i in $(seq 2 21); do FWD+=(127.0.0.$i="$PORT_good"); done
start_fwd "${FWD[@]}"
MAXN=0
for n in $NS; do [ "$n" -gt "$MAXN" ] && MAXN=$n; done
Z=$T/bench.zone
{
	echo '$ORIGIN bench.test.'
	echo '$TTL 300'
	echo '@ SOA ns hostmaster 1 3600 600 86400 300'
	for i in $(seq 2 21); do echo "mx$i A 127.0.0.$i"; done
	for d in $(seq 1 "$MAXN"); do echo "d$d MX 10 mx$(( d % 20 + 2 ))"; done
} >"$Z"
start_dns "$Z:signed"
: >"$T/dns.log" # the query log would only cost time here
COMMON=(--resolver "127.0.0.1:$DNS_PORT" -p "$MX_PORT" --cafile "$PKI/ca.pem" -l encrypt
	--no-progress --timeout 10)

printf '\n%-34s %8s %10s %12s %10s\n' "run" "domains" "wall s" "domains/s" "peak RSS"
for n in $NS; do
	seq 1 "$n" | sed 's/^/d/; s/$/.bench.test/' >"$T/list.$n"
	/usr/bin/time -f '%e %M' -o "$T/time.$n" mxprobe/mxprobe "${COMMON[@]}" --json -j "$J" \
		-f "$T/list.$n" >"$T/out.$n" 2>"$T/err.$n"
	rc=$?
	read -r wall rss <"$T/time.$n"
	lines=$(wc -l <"$T/out.$n")
	pass=$(grep -c '"exit_code": 0\|"exit_code":0' "$T/out.$n" || true)
	printf '%-34s %8s %10s %12.1f %8.1f MB   (exit %s, %s lines, %s passed)\n' \
		"mxprobe -j $J --json" "$n" "$wall" "$(awk -v a="$n" -v b="$wall" 'BEGIN{print a/b}')" \
		"$(awk -v a="$rss" 'BEGIN{print a/1024}')" "$rc" "$lines" "$pass"
done

# per-domain cost on a sample, sequential, same hosts
t0=${EPOCHREALTIME/./}
for d in $(seq 1 "$SAMPLE"); do
	mxprobe/mxprobe "${COMMON[@]}" "d$d.bench.test" >/dev/null 2>&1
done
t1=${EPOCHREALTIME/./}
m=$(( (t1 - t0) / SAMPLE / 1000 ))
printf '%-34s %8s %10s %12s\n' "mxprobe, one domain at a time" "$SAMPLE" "" "${m} ms/domain"
if command -v posttls-finger >/dev/null; then
	t0=${EPOCHREALTIME/./}
	for d in $(seq 1 "$SAMPLE"); do
		posttls-finger -c -l verify -P "$PKI" -F "$PKI/ca.pem" "[127.0.0.$(( d % 20 + 2 ))]:$MX_PORT" >/dev/null 2>&1
	done
	t1=${EPOCHREALTIME/./}
	p=$(( (t1 - t0) / SAMPLE / 1000 ))
	printf '%-34s %8s %10s %12s  (%.1fx mxprobe)\n' "posttls-finger (host only, no DNS)" "$SAMPLE" "" "${p} ms/domain" "$(awk -v a="$p" -v b="$m" 'BEGIN{print a/(b+0.001)}')"
fi
TS_BIN=$(command -v testssl.sh || command -v testssl || true)
if [ -n "$TS_BIN" ]; then
	# testssl runs minutes per host: one or two are enough for a per-domain figure
	k=${MXB_TESTSSL:-1}
	t0=${EPOCHREALTIME/./}
	tsok=1
	for d in $(seq 1 "$k"); do
		timeout 900 "$TS_BIN" --quiet --fast --nodns none --starttls smtp \
			"127.0.0.$(( d % 20 + 2 )):$MX_PORT" >"$T/testssl.$d" 2>&1
		# a run that did not reach the server is no figure
		if grep -q "Fatal error" "$T/testssl.$d" || ! grep -qi "cipher" "$T/testssl.$d"; then
			tsok=0
			echo "testssl did not complete: $(grep -m1 -i "fatal\|error" "$T/testssl.$d")"
		fi
	done
	t1=${EPOCHREALTIME/./}
	s=$(( (t1 - t0) / k / 1000 ))
	[ $tsok = 1 ] && printf '%-34s %8s %10s %12s  (%.1fx mxprobe)\n' "testssl --fast --starttls smtp (host)" "$k" "" "${s} ms/domain" "$(awk -v a="$s" -v b="$m" 'BEGIN{print a/(b+0.001)}')"
fi
