# Shared helpers for the integration scripts (source it; it is not run on its own).
#
#   . "$(dirname "$0")/lib.sh"
#   need_root; need_cmd postfix certtool; need_checktls
#   setup_pki; start_postfix            # PKI in $PKI, ports in PORT_<scenario>
#   start_bad inject --cert ...         # BAD_PORT
#   run_checktls -p "$PORT_good" --cafile "$PKI/ca.pem" 127.0.0.1
#   assert_exit 0; assert_contains "Connection converted to TLS"; assert_json 'j["verdict"]=="pass"'
#   finish                              # exit 1 if any assertion failed
#
# Everything lives in /tmp/mailtls-test-$$ and is removed by an EXIT trap (KEEP=1 keeps it).
# Skips (exit 77) print the reason as the last line, as tests/run.sh expects.
# Only loopback addresses are ever used.

set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CHECKTLS=${CHECKTLS:-$ROOT/checktls/checktls}
T=/tmp/mailtls-test-$$
PKI=$T/pki
PFDIR=$T/postfix
OUT=$T/out
ERR=$T/err
RC=
ELAPSED_MS=
CMD=
FAILS=0
CHECKS=0
CASE="(setup)"
BAD_PIDS=()
# The pyenv shim costs half a second per call; the system interpreter is the same language.
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi
# Every transcript line starts with the elapsed time: "[SSS.mmm]"
TS='\[[0-9]{3}\.[0-9]{3}\]'

mkdir -p "$T"
: >"$OUT"
: >"$ERR"

cleanup() {
	local p
	for p in "${BAD_PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	[ -d "$PFDIR/etc" ] && "$ROOT/tests/fixtures/postfix.sh" stop "$PFDIR" >/dev/null 2>&1
	if [ "${KEEP:-0}" = 1 ]; then
		echo "kept $T" >&2
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

skip() {
	echo "skip: $*"
	exit 77
}

need_root() { [ "$(id -u)" = 0 ] || skip "needs root (private Postfix instance)"; }

need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "$c not installed"
	done
}

need_checktls() {
	[ -x "$CHECKTLS" ] || skip "$CHECKTLS not built (run make)"
}

# setup_pki: generate the test PKI into $PKI (tests/fixtures/pki.sh, or $MAILTLS_PKI_SH)
setup_pki() {
	local gen=${MAILTLS_PKI_SH:-$ROOT/tests/fixtures/pki.sh}
	[ -f "$gen" ] || skip "no PKI generator ($gen)"
	need_cmd certtool
	bash "$gen" "$PKI" >"$T/pki.log" 2>&1 || { cat "$T/pki.log"; echo "FATAL: PKI generation failed"; exit 1; }
	[ -f "$PKI/ca.pem" ] && [ -f "$PKI/good.chain.pem" ] || { echo "FATAL: PKI incomplete"; exit 1; }
}

# start_postfix: start the private instance on $PKI; sets PORT_<scenario> for each listener
start_postfix() {
	need_root
	need_cmd postfix
	local s p
	"$ROOT/tests/fixtures/postfix.sh" start "$PFDIR" "$PKI" >"$T/postfix.log" 2>&1 ||
		{ cat "$T/postfix.log"; echo "FATAL: could not start Postfix"; exit 1; }
	while IFS='=' read -r s p; do
		printf -v "PORT_$s" '%s' "$p"
	done <"$PFDIR/ports"
}

# postfix_log: the instance's maillog (for assertions on what smtpd saw)
postfix_log() { cat "$PFDIR/maillog" 2>/dev/null; }

# free_port: print a TCP port on 127.0.0.1 that nothing listens on right now
free_port() {
	"$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_bad MODE [badsmtp args...]: start tests/fixtures/badsmtp.py, wait for "ready", set BAD_PORT
start_bad() {
	local fifo=$T/bad.$RANDOM.fifo line
	mkfifo "$fifo"
	"$PY" "$ROOT/tests/fixtures/badsmtp.py" "$@" >"$fifo" 2>>"$T/badsmtp.log" &
	BAD_PIDS+=($!)
	BAD_PID=$!
	exec 9<"$fifo"
	if ! IFS= read -r -t 10 line <&9; then
		echo "FATAL: badsmtp.py $* did not start"
		cat "$T/badsmtp.log"
		exit 1
	fi
	exec 9<&-
	rm -f "$fifo"
	BAD_PORT=${line#ready }
}

stop_bad() {
	kill "$BAD_PID" 2>/dev/null
	wait "$BAD_PID" 2>/dev/null
	return 0
}

# case_ NAME: label the assertions that follow
case_() {
	CASE=$1
	echo "--- $CASE"
}

# run_checktls ARGS...: run checktls; stdout in $OUT, stderr in $ERR, exit code in $RC,
# wall time in $ELAPSED_MS. A hard 90 s cap keeps a hung probe from hanging the suite.
run_checktls() {
	CMD="checktls $*"
	local t0=${EPOCHREALTIME/./}
	timeout 90 "$CHECKTLS" "$@" >"$OUT" 2>"$ERR" </dev/null
	RC=$?
	local t1=${EPOCHREALTIME/./}
	ELAPSED_MS=$(((t1 - t0) / 1000))
}

fail_() {
	FAILS=$((FAILS + 1))
	echo "FAIL [$CASE] $*"
	echo "  command: $CMD (exit $RC, ${ELAPSED_MS} ms)"
	echo "  stdout (last 25 lines):"
	tail -25 "$OUT" | cut -c1-300 | sed 's/^/    | /'
	if [ -s "$ERR" ]; then
		echo "  stderr:"
		tail -10 "$ERR" | cut -c1-300 | sed 's/^/    ! /'
	fi
}

ok_() { CHECKS=$((CHECKS + 1)); }

# assert_exit WANT...: the exit code is one of WANT
assert_exit() {
	local w
	for w in "$@"; do
		[ "$RC" = "$w" ] && { ok_; return 0; }
	done
	fail_ "exit code $RC, want $*"
}

# assert_contains TEXT: stdout or stderr contains TEXT (fixed string)
assert_contains() {
	if cat "$OUT" "$ERR" | grep -qF -- "$1"; then ok_; else fail_ "output lacks: $1"; fi
}

# assert_icontains TEXT: same, case-insensitive
assert_icontains() {
	if cat "$OUT" "$ERR" | grep -qiF -- "$1"; then ok_; else fail_ "output lacks (any case): $1"; fi
}

assert_not_contains() {
	if cat "$OUT" "$ERR" | grep -qF -- "$1"; then fail_ "output has: $1"; else ok_; fi
}

# assert_line REGEX: some stdout line matches the extended regex
assert_line() {
	if grep -qE -- "$1" "$OUT"; then ok_; else fail_ "no stdout line matches /$1/"; fi
}

# assert_stderr_nonempty: a message for the person was printed
assert_message() {
	if [ -s "$ERR" ] || [ -s "$OUT" ]; then ok_; else fail_ "no message printed"; fi
}

# assert_last_line REGEX: the last non-empty stdout line matches
assert_last_line() {
	local last
	last=$(grep -v '^[[:space:]]*$' "$OUT" | tail -1)
	if [[ "$last" =~ $1 ]]; then ok_; else fail_ "last line '$last' !~ /$1/"; fi
}

# assert_verdict PASS|WARN|FAIL REQUESTED [REACHED-REGEX]: the closing verdict line
assert_verdict() {
	local v=$1 req=$2 reached=${3:-[a-z-]+}
	assert_last_line "^($TS ?)?Verdict: $v: requested $req, reached ($reached); faults: "
}

# assert_fault NAME: the verdict line lists the fault and a "Fault: NAME:" line explains it
assert_fault() {
	local last
	last=$(grep -E "Verdict: " "$OUT" | tail -1)
	if [[ "$last" =~ faults:\ (.*,\ ?)?$1(,|$) ]]; then ok_; else fail_ "verdict line lacks fault $1: '$last'"; fi
	if grep -qE -- "Fault: $1: " "$OUT"; then ok_; else fail_ "no 'Fault: $1: ...' line"; fi
}

# assert_no_faults: verdict line says "faults: none"
assert_no_faults() {
	assert_last_line "faults: none$"
}

# assert_verdict_exit: exit code agrees with the verdict word (PASS/WARN -> 0, FAIL -> 1 or 2)
assert_verdict_exit() {
	local last
	last=$(grep -E "Verdict: " "$OUT" | tail -1)
	case $last in
	*"Verdict: PASS"* | *"Verdict: WARN"*) assert_exit 0 ;;
	*"Verdict: FAIL"*) assert_exit 1 2 3 ;;
	*) fail_ "no verdict line" ;;
	esac
}

# assert_json PYEXPR [MESSAGE]: stdout parses as JSON (bound to j) and PYEXPR is true
assert_json() {
	local why
	if why=$("$PY" - "$OUT" "$1" 2>&1 <<-'EOF'
		import json, sys
		try:
		    j = json.load(open(sys.argv[1]))
		except Exception as e:
		    print("not JSON: %s" % e); sys.exit(1)
		try:
		    r = eval(sys.argv[2], {"j": j})
		except Exception as e:
		    print("expression raised %r" % e); sys.exit(1)
		if not r:
		    print("false"); sys.exit(1)
		EOF
	); then ok_; else fail_ "json: ${2:-$1}: $why"; fi
}

# cert_sha256 FILE: the certificate's SHA-256 fingerprint as AB:CD:...
cert_sha256() {
	openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^[^=]*=//' | tr a-f A-F
}

# finish: summary line; exit 1 when an assertion failed
finish() {
	echo
	echo "$CHECKS checks passed, $FAILS failed"
	[ "$FAILS" = 0 ] || exit 1
	exit 0
}
