#!/usr/bin/env bash
# bench/logscan.sh — logscan's full parse + correlation against the tools a user would
# otherwise run, on the same generated ESA and Postfix logs, in one run:
#   LC_ALL=C grep -c (a pattern count), a one-pass mawk TLS counter, a stateful per-domain
#   mawk script, a perl one-pass counter, and pflogsumm (Postfix only).
# Reports MB/s, ratios to logscan and peak RSS (/usr/bin/time -v).  logscan runs three
# times: as installed (two parsing threads on two or more CPUs), with LOGSCAN_THREADS=1 (one
# core, the figure the target is about), and with that and LOGSCAN_MMAP=0 too (the log
# read(), not mapped; every tool gets it on stdin redirected from the file).  Three kinds of
# log, each LOGSCAN_BENCH_MB big:
#   dense      loggen without -r: nearly every line is a TLS, connection or message event
#              (the worst case for logscan; a real log is far from it).  Since 2026-11-30
#              its ESA messages end with "Message finished" and its Postfix processes serve
#              100 sessions each, as real ones do (before, every message and client session
#              stayed open until evicted); the file names carry the generator's revision
#              (g2), so a log an older loggen wrote is not reused
#   realistic  loggen -r: the lines a real AsyncOS / Postfix-with-postscreen writes around
#              them, in the proportions of the real samples in ../shared/corpus/logs
#   corpus     a real sample from ../shared/corpus/logs repeated to the size (ids repeat,
#              which logscan counts as reused); skipped when the corpus is absent
#
#   LOGSCAN_BENCH_MB=256 bench/logscan.sh      # size of each log (default 1024 = 1 GiB)
#   LOGSCAN_BENCH_DIR=/var/tmp/lsbench          # where the logs go (default bench/out)
#   LOGSCAN_BENCH_KINDS="dense realistic"       # which kinds (default all three)
#   LOGSCAN_BENCH_RUNS=3                        # rounds (each runs every tool once, in turn):
#                                               # the fastest run is reported, the highest RSS
# mawk and pflogsumm are installed with apt-get when missing (noted in the output); a tool
# that is still missing is reported as skipped.
set -eu
cd "$(dirname "$0")/.."
MB=${LOGSCAN_BENCH_MB:-1024}
DIR=${LOGSCAN_BENCH_DIR:-bench/out}
LS=logscan/logscan GEN=tests/fixtures/loggen
[ -x $LS ] && [ -x $GEN ] || make -s $LS $GEN
mkdir -p "$DIR"
for tool in mawk pflogsumm; do
	if ! command -v $tool >/dev/null; then
		echo "note: $tool missing, installing with apt-get" >&2
		(apt-get install -y $tool >/dev/null 2>&1 || sudo -n apt-get install -y $tool >/dev/null 2>&1) ||
			echo "note: could not install $tool; its rows are skipped" >&2
	fi
done
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (GNU time) for peak RSS"; exit 77; }

KINDS=${LOGSCAN_BENCH_KINDS:-dense realistic corpus}
CORPUS=../shared/corpus/logs
declare -A SAMPLE=([esa]=$CORPUS/esa/cribl-esa-mailtext-2014.log [postfix]=$CORPUS/postfix/pixelpark-helga-part1.log)
LOGS=()
for kind in $KINDS; do
	for f in esa postfix; do
		log="$DIR/$f-$kind-$MB.log"
		case $kind in
		dense | realistic)
			log="$DIR/$f-$kind-$MB-g2.log"
			if [ ! -s "$log" ]; then
				echo "generating $MB MB $kind $f log..." >&2
				$GEN -s "$MB" -f $f -S 42 $([ $kind = realistic ] && echo -r) "$log" "$DIR/$f-$kind-$MB-g2.expected.json"
			fi ;;
		corpus)
			src=${SAMPLE[$f]}
			if [ ! -r "$src" ]; then
				echo "note: $src absent, corpus rows skipped" >&2
				continue
			fi
			if [ ! -s "$log" ]; then
				echo "repeating $src to $MB MB..." >&2
				want=$((MB * 1048576)) have=$(stat -c %s "$src")
				for _ in $(seq $(((want + have - 1) / have))); do cat "$src"; done >"$log"
			fi ;;
		*) echo "unknown kind $kind" >&2; exit 64 ;;
		esac
		LOGS+=("$f|$kind|$log")
	done
done

# one-pass counters: what people write first
AWK1='/TLS success|TLS connection established/ {ok++} /TLS failed|SSL_accept error|SSL_connect error/ {bad++} END {print ok+0, bad+0}'
# stateful: remember each connection's TLS state, count per destination domain at delivery
AWK2='
/ TLS success/ { for (i = 1; i <= NF; i++) if ($i == "ICID" || $i == "DCID") tls[$(i+1)] = 1 }
/Delivery start DCID/ { for (i = 1; i <= NF; i++) if ($i == "DCID") d = $(i+1); n["esa"]++; if (d in tls) t["esa"]++ }
/ close$/ { for (i = 1; i <= NF; i++) if ($i == "ICID" || $i == "DCID") delete tls[$(i+1)] }
/TLS connection established to/ { split($0, a, "["); p = a[1]; sub(/.*\[/, "", p); pid[$5] = 1 }
/ to=<.*status=sent/ { dom = $0; sub(/.*to=<[^@]*@/, "", dom); sub(/>.*/, "", dom); n[dom]++; if ($5 in pid) t[dom]++; delete pid[$5] }
END { for (k in n) c++; print c+0 }'
PERL='while (<>) { $ok++ if /TLS success|TLS connection established/; $bad++ if /TLS failed|SSL_accept error|SSL_connect error/ } print $ok+0, " ", $bad+0, "\n"'

RUNS=${LOGSCAN_BENCH_RUNS:-3}
run1() { # label file cmd...   one timed run: "label|file|seconds|rss KB", or "label|file|failed"
	local label=$1 file=$2; shift 2
	local t; t=$(mktemp)
	# output to a file, not /dev/null: GNU grep stops at the first match when it sees /dev/null
	if ! /usr/bin/time -v "$@" <"$file" >"$t.out" 2>"$t"; then
		echo "$label|$file|failed|"
	else
		echo "$label|$file|$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$t")|$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$t")"
	fi
	rm -f "$t" "$t.out"
}

# Each round runs every tool once, so each tool's fastest run comes from the same stretch of
# time as the others' (shared machines drift: a block of runs per tool could catch one tool
# in a slow minute and the next in a fast one).
runs=$(mktemp)
for spec in "${LOGS[@]}"; do
	IFS='|' read -r f kind log <<<"$spec"
	cat "$log" >/dev/null # warm the page cache so every tool reads from memory
	for ((k = 0; k < RUNS; k++)); do
		run1 "logscan (parse+correlate)" "$log" $LS - >>"$runs"
		run1 "logscan, one thread" "$log" env LOGSCAN_THREADS=1 $LS - >>"$runs"
		run1 "logscan, one thread, read()" "$log" env LOGSCAN_THREADS=1 LOGSCAN_MMAP=0 $LS - >>"$runs"
		run1 "LC_ALL=C grep -c TLS" "$log" env LC_ALL=C grep -c -E 'TLS (success|failed)|TLS connection established|SSL_(accept|connect) error' >>"$runs"
		command -v mawk >/dev/null && run1 "mawk one-pass counter" "$log" mawk "$AWK1" >>"$runs"
		command -v mawk >/dev/null && run1 "mawk stateful per-domain" "$log" mawk "$AWK2" >>"$runs"
		run1 "perl one-pass counter" "$log" perl -e "$PERL" >>"$runs"
		if [ $f = postfix ] && command -v pflogsumm >/dev/null; then
			run1 "pflogsumm" "$log" pflogsumm >>"$runs"
		fi
	done
done
# per tool and log, in first-seen order: the fastest run and the largest RSS ("failed" if any run failed)
results=$(mktemp)
awk -F'|' '{ k = $1 "|" $2; if (!(k in best)) { order[++n] = k; best[k] = ""; rss[k] = 0 }
	if ($3 == "failed") { fail[k] = 1; next }
	if (best[k] == "" || $3 + 0 < best[k] + 0) best[k] = $3
	if ($4 + 0 > rss[k]) rss[k] = $4 + 0 }
	END { for (i = 1; i <= n; i++) { k = order[i]; print k "|" (k in fail ? "failed" : best[k]) "|" rss[k] } }' "$runs" >"$results"
rm -f "$runs"

echo
echo "logscan bench: $MB MB per log, fastest of $RUNS interleaved runs, $(nproc) CPU(s), $(uname -m)"
printf "%-18s %-28s %9s %10s %12s %12s\n" log tool seconds "MB/s" "logscan1 x" "peak RSS MB"
for spec in "${LOGS[@]}"; do
	IFS='|' read -r f kind log <<<"$spec"
	bytes=$(stat -c %s "$log")
	base=$(awk -F'|' -v l="$log" '$2 == l && $1 == "logscan, one thread" { print $3 }' "$results")
	awk -F'|' -v l="$log" -v f="$f $kind" -v b="$bytes" -v base="$base" '$2 == l {
		if ($3 == "failed") { printf "%-18s %-28s %9s\n", f, $1, "failed"; next }
		mbs = b / 1048576 / ($3 > 0 ? $3 : 0.001)
		printf "%-18s %-28s %9.2f %10.1f %12.2f %12.1f\n", f, $1, $3, mbs, $3 / (base > 0 ? base : 0.001), $4 / 1024 }' "$results"
done
echo "(\"logscan1 x\" = tool time / one-thread logscan time: above 1 means logscan on one core is faster)"
rm -f "$results"
