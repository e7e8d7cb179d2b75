#!/usr/bin/env bash
# receiver_signals.sh — SIGHUP reloads the config (a policy change applies to the next
# session) and certificates without dropping the listener; a bad config on SIGHUP keeps the
# old one; SIGTERM in the middle of DATA tempfails after the grace period and leaves nothing
# half-written; config errors exit 64 with file:line; a group/world-readable key is refused;
# --user drops privileges (when run as root).
set -u
cd "$(dirname "$0")/../.."
R=$PWD/receiver/receiver
[ -x "$R" ] || { echo "receiver not built"; exit 77; }
for t in python3 jq swaks; do command -v $t >/dev/null || { echo "$t not installed"; exit 77; }; done
T=$(mktemp -d /tmp/rcvsig.XXXXXX)
chmod 755 "$T"
RPID=
cleanup() { [ -n "$RPID" ] && kill "$RPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
start() {
	: >"$T/stderr"
	"$R" "$@" >"$T/stderr" 2>&1 &
	RPID=$!
	for _ in $(seq 100); do
		grep -q "listening on" "$T/stderr" && return 0
		kill -0 $RPID 2>/dev/null || break
		sleep 0.05
	done
	fail "receiver did not start: $(cat "$T/stderr")"
}
P=$(python3 "$(dirname "$0")/../fixtures/freeport.py")

# config errors: exit 64 with file:line
printf 'hostname = a\n\nmax_line = lots\n' >"$T/bad.conf"
out=$("$R" -c "$T/bad.conf" -d "$T/d" 2>&1); rc=$?
[ $rc -eq 64 ] || fail "bad config exit $rc"
grep -q "$T/bad.conf:3: max_line" <<<"$out" || fail "no file:line in '$out'"
"$R" --no-such-option >/dev/null 2>&1; [ $? -eq 64 ] || fail "bad option not 64"
"$R" --help | grep -q "exit codes: 0 ok" || fail "--help lacks exit codes"

# a world-readable key is refused at start
"$R" -d "$T/k" cert new --cn mx.test >/dev/null || fail "cert new"
chmod 644 "$T/k/certs/key.pem"
out=$("$R" -d "$T/k" -l 127.0.0.1:$P 2>&1); rc=$?
[ $rc -eq 64 ] && grep -q "readable by group or others" <<<"$out" || fail "loose key accepted ($rc): $out"

# SIGHUP: policy preferred -> required, and the listener stays
cat >"$T/r.conf" <<CONF
listen = 127.0.0.1:$P
hostname = mx.test
reverse_dns = no
shutdown_grace = 1s
group = ALL policy=preferred match=all
CONF
start -c "$T/r.conf" -d "$T/d"
swaks -S 1 --server 127.0.0.1:$P --from a@b.test --to c@d.test >/dev/null 2>&1 || fail "preferred refused plain mail"
sed -i 's/policy=preferred/policy=required/' "$T/r.conf"
kill -HUP $RPID
for _ in $(seq 50); do grep -q "SIGHUP: configuration and certificates reloaded" "$T/d/mail.log" && break; sleep 0.05; done
out=$(swaks --server 127.0.0.1:$P --from a@b.test --to c@d.test 2>&1)
grep -q "530 5.7.0 Must issue a STARTTLS command first" <<<"$out" || fail "reload did not apply: $out"
# a certificate installed meanwhile is picked up by SIGHUP
"$R" -d "$T/d" cert new --cn reloaded.test --san reloaded.test >/dev/null || fail "cert new"
kill -HUP $RPID
sleep 0.3
out=$(echo QUIT | timeout 5 openssl s_client -starttls smtp -connect 127.0.0.1:$P 2>&1)
grep -q "CN *= *reloaded.test" <<<"$out" || fail "new certificate not served after SIGHUP"
# a broken config on SIGHUP keeps the running one
echo "junk line" >>"$T/r.conf"
kill -HUP $RPID
sleep 0.3
grep -q "SIGHUP: configuration not reloaded: .*r.conf:6" "$T/d/mail.log" || fail "bad reload not reported"
kill -0 $RPID || fail "receiver died on a bad reload"
sed -i '$d' "$T/r.conf"

# SIGTERM in the middle of DATA: 421 after the grace period, no file in the spool
python3 - "$P" "$RPID" <<'PY' || fail "SIGTERM checks failed"
import os, signal, socket, ssl, sys, time
port, pid = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(5)
def rd(sock):
    b = b""
    while not b.endswith(b"\r\n"):
        b += sock.recv(4096)
    return b.decode()
rd(s)
s.sendall(b"EHLO t\r\n"); time.sleep(0.1); rd(s)
s.sendall(b"STARTTLS\r\n"); rd(s)
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
t = ctx.wrap_socket(s)
t.sendall(b"EHLO t\r\n"); time.sleep(0.1); rd(t)
t.sendall(b"MAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n")
r = ""
while r.count("\r\n") < 3:
    r += rd(t)
assert "354" in r, r
t.sendall(b"Subject: half\r\n\r\nfirst half\r\n")
time.sleep(0.2)
os.kill(pid, signal.SIGTERM)
t0 = time.time()
r = rd(t)
assert r.startswith("421 4.3.2"), r
assert 0.7 < time.time() - t0 < 3, time.time() - t0
print("client ok")
PY
wait $RPID; rc=$?; RPID=
[ $rc -eq 0 ] || fail "exit $rc after SIGTERM"
[ -z "$(ls "$T/d/spool/tmp")" ] || fail "half-written temp file left"
grep -rq "first half" "$T/d/spool/new" && fail "half message in the spool"
tail -1 "$T/d/sessions.jsonl" | jq -e '.outcome=="shutdown" and .messages[0].reply=="421 4.3.2 shutdown"' >/dev/null ||
	fail "shutdown record: $(tail -1 "$T/d/sessions.jsonl")"

# --user: bind as root, then serve as nobody
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	start -d "$T/u" -l 127.0.0.1:$P --no-rdns --user nobody
	[ "$(ps -o user= -p $RPID)" = nobody ] || fail "still running as $(ps -o user= -p $RPID)"
	swaks -S 1 --server 127.0.0.1:$P --from a@b.test --to c@d.test --tls >/dev/null 2>&1 || fail "mail as nobody"
	ls "$T"/u/spool/new/*.eml >/dev/null 2>&1 || fail "nobody could not spool"
	kill -TERM $RPID; wait $RPID; RPID=
fi
echo ok
