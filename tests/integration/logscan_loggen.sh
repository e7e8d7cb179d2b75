#!/usr/bin/env bash
# Generated interleaved logs of every format (with the ESA consolidated event log): logscan's
# totals must equal the generator's, from a few lines to LOGSCAN_GEN_MB (default 64) MB;
# also through gzip and stdin, and with a tiny open-connection table (memory bound) on a log
# whose sessions are short; Postfix logging no TLS lines (-0) gives the same totals; peak
# RSS does not grow with a mapped file of long lines.
set -eu
cd "$(dirname "$0")/../.."
LS=logscan/logscan GEN=tests/fixtures/loggen
[ -x $LS ] && [ -x $GEN ] || { echo "build first (make)"; exit 77; }
command -v python3 >/dev/null || { echo "python3 missing"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
compare() { # expected.json actual.json
	python3 - "$1" "$2" <<'PY'
import json, sys
exp = json.load(open(sys.argv[1])); act = json.load(open(sys.argv[2]))["summary"]
bad = []
def walk(e, a, path):
    for k, v in e.items():
        if isinstance(v, dict): walk(v, a.get(k, {}), path + k + ".")
        elif a.get(k) != v: bad.append(f"{path}{k}: expected {v}, got {a.get(k)}")
walk(exp, act, "")
if bad: print("\n".join(bad)); sys.exit(1)
PY
}
for mb in 0.001 0.05 1 ${LOGSCAN_GEN_MB:-64}; do
	$GEN -s "$mb" -g -S 7 -f esa,cef,postfix,exim,sendmail "$tmp/l.log" "$tmp/e.json"
	$LS --json "$tmp/l.log" >"$tmp/a.json"
	compare "$tmp/e.json" "$tmp/a.json" || { echo "FAIL at ${mb} MB"; exit 1; }
	echo "ok ${mb} MB: $(wc -l <"$tmp/l.log") lines"
done
# one format at a time too (cef: AsyncOS's consolidated event log, a line per message)
for f in esa cef postfix exim sendmail; do
	$GEN -s 0.5 -f $f "$tmp/l.log" "$tmp/e.json"
	$LS --json "$tmp/l.log" >"$tmp/a.json"
	compare "$tmp/e.json" "$tmp/a.json" || { echo "FAIL for $f"; exit 1; }
done
# the realistic line mix (-r: the lines around the TLS lines that a real ESA and Postfix
# write, ESA rejects, postscreen turning clients away, "Message finished") gives the same
# exact totals, in every format, also with the small tables
for f in esa cef postfix esa,cef,postfix,exim,sendmail; do
	$GEN -r -s 2 -f $f -S 5 "$tmp/l.log" "$tmp/e.json"
	$LS --json "$tmp/l.log" >"$tmp/a.json"
	compare "$tmp/e.json" "$tmp/a.json" || { echo "FAIL for -r $f"; exit 1; }
	$LS --json --max-open 64 --max-messages 64 "$tmp/l.log" >"$tmp/a.json"
	compare "$tmp/e.json" "$tmp/a.json" || { echo "FAIL for -r $f with small tables"; exit 1; }
done
grep -q "Message finished MID" "$tmp/l.log" && grep -q "postfix/postscreen" "$tmp/l.log" &&
	grep -q "ESA_CONSOLIDATED_LOG_EVENT.*ESAAttachmentDetails" "$tmp/l.log" ||
	{ echo "FAIL: -r wrote no realistic lines"; exit 1; }
echo "ok -r (realistic line mix)"
# Postfix as smtpd_tls_loglevel = 0 (its default) logs: no TLS line, the TLS outcome only in
# the disconnect counters; the totals must not change (all inbound TLS was "none" before)
for r in "" -r; do
	$GEN -0 $r -s 2 -f postfix -S 11 "$tmp/l.log" "$tmp/e.json"
	! grep -q "TLS connection established from" "$tmp/l.log" || { echo "FAIL: -0 wrote TLS lines"; exit 1; }
	$LS --json "$tmp/l.log" >"$tmp/a.json"
	compare "$tmp/e.json" "$tmp/a.json" || { echo "FAIL for -0 $r"; exit 1; }
	$LS --json --max-open 64 --max-messages 64 "$tmp/l.log" >"$tmp/a.json"
	compare "$tmp/e.json" "$tmp/a.json" || { echo "FAIL for -0 $r with small tables"; exit 1; }
done
echo "ok -0 (TLS only in Postfix's disconnect counters)"
# gzip and stdin give the same answer
$GEN -s 2 -S 3 "$tmp/l.log" "$tmp/e.json"
gzip -c "$tmp/l.log" >"$tmp/l.log.gz"
$LS --json "$tmp/l.log.gz" >"$tmp/a.json"; compare "$tmp/e.json" "$tmp/a.json"
$LS --json - <"$tmp/l.log.gz" >"$tmp/a.json"; compare "$tmp/e.json" "$tmp/a.json"
cat "$tmp/l.log" | $LS --json >"$tmp/a.json"; compare "$tmp/e.json" "$tmp/a.json"
# split in two files given in order: same totals
head -n 5000 "$tmp/l.log" >"$tmp/p1"; tail -n +5001 "$tmp/l.log" >"$tmp/p2"
$LS --json "$tmp/p1" "$tmp/p2" >"$tmp/a.json"; compare "$tmp/e.json" "$tmp/a.json"
# a small table still gives exact totals when fewer sessions than the cap are open at once
$LS --json --max-open 64 --max-messages 64 "$tmp/l.log" >"$tmp/a.json"; compare "$tmp/e.json" "$tmp/a.json"
# memory does not grow with a mapped file, also when its lines are long: a block of 4,096
# consolidated event lines (~1.2 KB each) spans 5 MB, more than the reader kept mapped behind
# it before, so its first pages were let go, read again, and kept (peak RSS grew by a fifth
# of the file).  Peak RSS on a 20 MB log and on the same log ten times over (the same peers,
# so the summary tables hold as many keys), one and two threads.  Skipped under
# AddressSanitizer, whose shadow of the map grows with the file.
if ldd $LS 2>/dev/null | grep -q libasan; then
	echo "skip: peak RSS under AddressSanitizer"
else
	$GEN -r -s 20 -f cef -S 9 "$tmp/small.log" "$tmp/small.json"
	for _ in 1 2 3 4 5 6 7 8 9 10; do cat "$tmp/small.log"; done >"$tmp/big.log"
	rss() { python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)' env LOGSCAN_THREADS=$1 $LS "$2"; }
	for thr in 1 2; do
		a=$(rss $thr "$tmp/small.log") b=$(rss $thr "$tmp/big.log")
		echo "peak RSS, $thr thread(s): $a MB on 20 MB, $b MB on 200 MB"
		[ "$b" -le $((a + 6)) ] || { echo "FAIL: peak RSS grows with the file ($a -> $b MB)"; exit 1; }
	done
	rm -f "$tmp/big.log" "$tmp/small.log"
fi
echo "all generated-log totals match"
