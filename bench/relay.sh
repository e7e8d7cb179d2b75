#!/usr/bin/env bash
# bench/relay.sh — messages per second delivered over verified TLS to a loopback receiver:
# the relay (Required-Verify) against Postfix's smtp client (smtp_tls_security_level =
# secure, match on the destination name) delivering the same N messages (RELAY_BENCH_N,
# default 10,000) to the same receiver (--discard, a certificate for bench.test.example from
# a test PKI). Both queues are loaded first; the clock runs from the flush to the empty queue.
# Prints a table (tool, messages, seconds, msg/s, ratio) and peak RSS (relay: the process;
# Postfix: the sum of its smtp processes, sampled) and the time each took to load its queue
# ("load s": relay inject, Postfix sendmail until every message sits in the deferred queue).
# 16 connections at most for both.
# Needs root for the private Postfix instance (loopback only, temp dir); without it the relay
# is measured alone.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
N=${RELAY_BENCH_N:-10000}
CONC=16
RELAY=$ROOT/relay/relay
RECEIVER=$ROOT/receiver/receiver
for b in "$RELAY" "$RECEIVER"; do [ -x "$b" ] || { echo "build first: make ($b)"; exit 1; }; done
command -v certtool >/dev/null || { echo "certtool not installed"; exit 1; }
T=$(mktemp -d /tmp/relaybench.XXXXXX)
chmod 755 "$T"
RPID=
cleanup() {
	[ -n "$RPID" ] && kill "$RPID" 2>/dev/null
	[ -d "$T/pf/etc" ] && postfix -c "$T/pf/etc" stop >/dev/null 2>&1
	wait 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
now() { echo "${EPOCHREALTIME}"; }
port() { python3 "$ROOT/tests/fixtures/freeport.py"; }

# ---- PKI: a root and a leaf for the destination name ----
bash "$ROOT/tests/fixtures/pki.sh" "$T/pki" >/dev/null 2>&1 || { echo "pki.sh failed"; exit 1; }
printf 'cn = "bench.test.example"\ndns_name = "bench.test.example"\ntls_www_server\nsigning_key\nencryption_key\nserial = 4242\nexpiration_days = 365\n' >"$T/leaf.tmpl"
certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 --no-text --outfile "$T/leaf.key" >/dev/null 2>&1
certtool --generate-certificate --load-privkey "$T/leaf.key" --load-ca-certificate "$T/pki/int.pem" \
	--load-ca-privkey "$T/pki/int.key" --template "$T/leaf.tmpl" --outfile "$T/leaf.pem" >/dev/null 2>&1
cat "$T/leaf.pem" "$T/pki/int.pem" >"$T/leaf.chain.pem"
chmod 600 "$T/leaf.key"
CA=$T/pki/ca.pem

# ---- the receiver ----
RP=$(port)
"$RECEIVER" -d "$T/r" -l "127.0.0.1:$RP" --discard --no-rdns --hostname bench.test.example \
	--cert "$T/leaf.chain.pem" --key "$T/leaf.key" -o max_per_client=0 >"$T/r.err" 2>&1 &
RPID=$!
for _ in $(seq 100); do grep -q "listening on" "$T/r.err" && break; sleep 0.05; done
grep -q "listening on" "$T/r.err" || { echo "receiver did not start"; cat "$T/r.err"; exit 1; }

BODY=$(head -c 3000 /dev/zero | tr '\0' 'x' | fold -w 76)
msg() { printf 'From: a@src.test.example\nTo: b@bench.test.example\nSubject: bench %s\n\n%s\n' "$1" "$BODY"; }

# ---- the relay: load, then run until the queue is empty ----
Q=$T/q
cat >"$T/relay.conf" <<EOF
queue_dir = $Q
hostname = relay.bench.test.example
cafile = $CA
workers = $CONC
retry = 600
destination = bench.test.example tls=Required-Verify max_conn=$CONC route=[127.0.0.1]:$RP
EOF
echo "loading $N messages into the relay queue..."
l0=$(now)
INJ=()
for w in 0 1 2 3; do
	(for ((i = w + 1; i <= N; i += 4)); do
		msg "$i" | "$RELAY" -c "$T/relay.conf" inject --from a@src.test.example --to b@bench.test.example >/dev/null || echo "inject $i failed"
	done) &
	INJ+=($!)
done
wait "${INJ[@]}"
rload=$(awk -v a="$l0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
[ "$(ls "$Q/env" | wc -l)" = "$N" ] || { echo "relay queue holds $(ls "$Q/env" | wc -l), not $N"; exit 1; }
t0=$(now)
/usr/bin/time -f "%M" -o "$T/relay.rss" "$RELAY" -c "$T/relay.conf" --once >"$T/relay.out" 2>&1
t1=$(now)
left=$(ls "$Q/env" | wc -l)
rsecs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
rdone=$(grep -c '"result":"delivered"' "$Q/attempts.jsonl")
rtls=$(grep '"result":"delivered"' "$Q/attempts.jsonl" | grep '"trusted":true' | grep -c '"name_matched":true')
rrss=$(cat "$T/relay.rss")
[ "$left" = 0 ] || echo "  relay: $left messages left in the queue"
[ "$rtls" = "$rdone" ] || echo "  relay: only $rtls of $rdone deliveries verified"

# ---- Postfix: load with smtp deferred, then flush ----
have_postfix=0
if [ "$(id -u)" = 0 ] && command -v postfix >/dev/null; then
	mkdir -p "$T/pf/etc" "$T/pf/queue" "$T/pf/data"
	chown postfix "$T/pf/data"
	echo "[127.0.0.1]:$RP secure match=bench.test.example" >"$T/pf/etc/tls_policy"
	echo "bench.test.example smtp:[127.0.0.1]:$RP" >"$T/pf/etc/transport"
	cat >"$T/pf/etc/main.cf" <<PF
compatibility_level = 3.6
queue_directory = $T/pf/queue
data_directory = $T/pf/data
command_directory = $(postconf -dh command_directory)
daemon_directory = $(postconf -dh daemon_directory)
shlib_directory = $(postconf -dh shlib_directory)
meta_directory = $(postconf -dh meta_directory)
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = relay.bench.test.example
mydestination =
relay_domains =
transport_maps = texthash:$T/pf/etc/transport
smtp_tls_policy_maps = texthash:$T/pf/etc/tls_policy
smtp_tls_security_level = secure
smtp_tls_CAfile = $CA
smtp_tls_loglevel = 1
smtp_tls_session_cache_database =
smtp_destination_concurrency_limit = $CONC
default_destination_concurrency_limit = $CONC
initial_destination_concurrency = $CONC
default_process_limit = 100
defer_transports = smtp
maillog_file_prefixes = /var, /dev/stdout, $T
maillog_file = $T/pf/maillog
alias_maps =
alias_database =
PF
	cat >"$T/pf/etc/master.cf" <<PF
pickup    unix n - n 60 1 pickup
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
smtp      unix - - n - - smtp
showq     unix n - n - - showq
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
tlsmgr    unix - - n 1000? 1 tlsmgr
postlog   unix-dgram n - n - 1 postlogd
PF
	if postfix -c "$T/pf/etc" check >"$T/pf.err" 2>&1 && postfix -c "$T/pf/etc" start >>"$T/pf.err" 2>&1; then
		have_postfix=1
	else
		echo "Postfix did not start:"
		cat "$T/pf.err"
	fi
fi
pfq() { find "$T/pf/queue/"{maildrop,incoming,active,deferred} -type f 2>/dev/null | wc -l; }
if [ $have_postfix = 1 ]; then
	echo "loading $N messages into the Postfix queue..."
	l0=$(now)
	INJ=()
	for w in 0 1 2 3; do
		(for ((i = w + 1; i <= N; i += 4)); do
			msg "$i" | sendmail -C "$T/pf/etc" -f a@src.test.example b@bench.test.example
		done) &
		INJ+=($!)
	done
	wait "${INJ[@]}"
	# wait until pickup and qmgr have put every message in the deferred queue
	for _ in $(seq 1200); do
		d=$(find "$T/pf/queue/deferred" -type f | wc -l)
		[ "$d" -ge "$N" ] && [ "$(pfq)" -ge "$N" ] && break
		sleep 0.25
	done
	pload=$(awk -v a="$l0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
	[ "$d" -ge "$N" ] || echo "  postfix: only $d of $N deferred after loading"
	postconf -c "$T/pf/etc" -e defer_transports=
	postfix -c "$T/pf/etc" reload >/dev/null 2>&1
	sleep 1
	peak=0
	t0=$(now)
	postqueue -c "$T/pf/etc" -f
	while [ "$(pfq)" -gt 0 ]; do
		s=$(ps -C smtp -o rss= 2>/dev/null | awk '{ t += $1 } END { print t + 0 }')
		[ "$s" -gt "$peak" ] && peak=$s
		sleep 0.05
		[ "$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print int(b - a) }')" -lt 1800 ] || { echo "  postfix: timeout"; break; }
	done
	t1=$(now)
	psecs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	pdone=$(grep -c 'status=sent' "$T/pf/maillog")
	pver=$(grep -c 'Verified TLS connection established' "$T/pf/maillog")
	[ "$pver" -gt 0 ] || echo "  postfix: no verified TLS connection in its log"
fi

echo
echo "delivered over verified TLS to a loopback receiver (--discard), $N messages, $(nproc) CPU(s), $CONC connections"
printf "%-10s %9s %9s %9s %7s %9s %12s\n" tool messages seconds msg/s ratio "load s" "peak RSS kB"
rrate=$(awk -v n="$rdone" -v s="$rsecs" 'BEGIN { printf "%.0f", n / s }')
if [ $have_postfix = 1 ]; then
	prate=$(awk -v n="$pdone" -v s="$psecs" 'BEGIN { printf "%.0f", n / s }')
	ratio=$(awk -v a="$rrate" -v b="$prate" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
	printf "%-10s %9s %9s %9s %7s %9s %12s\n" relay "$rdone" "$rsecs" "$rrate" "$ratio" "$rload" "$rrss"
	printf "%-10s %9s %9s %9s %7s %9s %12s\n" postfix "$pdone" "$psecs" "$prate" 1.00 "$pload" "$peak (smtp, sum)"
	echo "postfix: $pver verified TLS connections logged; relay: $rtls of $rdone deliveries verified"
else
	printf "%-10s %9s %9s %9s %7s %9s %12s\n" relay "$rdone" "$rsecs" "$rrate" - "$rload" "$rrss"
fi
