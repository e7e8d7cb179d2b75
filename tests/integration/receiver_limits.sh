#!/usr/bin/env bash
# receiver_limits.sh — limits with small values: overlong command and data lines, an
# oversized message (SIZE and actual), a slow client timing out per phase, the session
# deadline, sessions per client address and in total, commands per session.
set -u
cd "$(dirname "$0")/../.."
R=$PWD/receiver/receiver
[ -x "$R" ] || { echo "receiver not built"; exit 77; }
for t in python3 jq; do command -v $t >/dev/null || { echo "$t not installed"; exit 77; }; done
T=$(mktemp -d /tmp/rcvlim.XXXXXX)
RPID=
cleanup() { [ -n "$RPID" ] && kill "$RPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
P=$(python3 "$(dirname "$0")/../fixtures/freeport.py")
cat >"$T/r.conf" <<CONF
listen = 127.0.0.1:$P
hostname = mx.test
reverse_dns = no
max_line = 600
max_message_size = 2000
timeout_command = 700ms
timeout_data = 700ms
session_deadline = 3s
max_per_client = 3
max_sessions = 5
max_commands = 12
CONF
"$R" -c "$T/r.conf" -d "$T/d" >"$T/stderr" 2>&1 &
RPID=$!
for _ in $(seq 100); do grep -q "listening on" "$T/stderr" && break; sleep 0.05; done
grep -q "listening on" "$T/stderr" || fail "receiver did not start: $(cat "$T/stderr")"

python3 - "$P" <<'PY' || fail "client checks failed"
import socket, sys, time
port = int(sys.argv[1])

def conn(src="127.0.0.1"):
    s = socket.socket()
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    s.settimeout(5)
    return s

def reply(s):
    buf = b""
    while True:
        d = s.recv(65536)
        if not d:
            return buf.decode()
        buf += d
        lines = buf.split(b"\r\n")
        if len(lines) >= 2 and len(lines[-2]) >= 4 and lines[-2][3:4] == b" ":
            return buf.decode()

def check(cond, msg):
    if not cond:
        raise SystemExit("FAIL: " + msg)

# overlong command line: 500 5.5.2, the session goes on
s = conn()
reply(s)
s.sendall(b"EHLO " + b"x" * 700 + b"\r\n")
r = reply(s)
check(r.startswith("500 5.5.2 Error: line too long"), "overlong command: %r" % r)
s.sendall(b"EHLO ok.test\r\n")
check(reply(s).startswith("250-mx.test"), "session unusable after an overlong line")
# overlong in pieces, with no LF for a while (the buffer must not grow)
s.sendall(b"NOOP " + b"y" * 5000)
time.sleep(0.1)
s.sendall(b"y" * 5000 + b"\r\nNOOP\r\n")
r = reply(s)
if r.count("\r\n") < 2:
    r += reply(s)
check(r.startswith("500 5.5.2") and "250 2.0.0 Ok" in r, "chunked overlong: %r" % r)
# SIZE declared over the limit
s.sendall(b"MAIL FROM:<a@b.test> SIZE=2001\r\n")
check(reply(s).startswith("552 5.3.4"), "SIZE over the limit accepted")
# a message over the limit: 552 after the dot, nothing stored
s.sendall(b"MAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n")
r = reply(s)
while r.count("\r\n") < 3:
    r += reply(s)
check(r.split("\r\n")[2].startswith("354"), "DATA: %r" % r)
s.sendall((b"z" * 70 + b"\r\n") * 40 + b".\r\n")
check(reply(s).startswith("552 5.3.4"), "oversized message accepted")
# a data line over the limit
s.sendall(b"MAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n")
r = reply(s)
while r.count("\r\n") < 3:
    r += reply(s)
s.sendall(b"w" * 900 + b"\r\n.\r\n")
check(reply(s).startswith("500 5.5.2 Error: message line too long"), "long data line accepted")
s.close()

# commands per session: the 12th command ends the session with 421
s = conn()
reply(s)
s.sendall(b"NOOP\r\n" * 11)
r = ""
while r.count("\r\n") < 11:
    r += reply(s)
s.sendall(b"NOOP\r\n")
r = reply(s)
check("421 4.7.0 Error: too many commands" in r, "command limit: %r" % r)
s.close()

# slow client: nothing sent within timeout_command -> 421 4.4.2 and close
s = conn()
reply(s)
t0 = time.time()
r = reply(s)
dt = time.time() - t0
check(r.startswith("421 4.4.2 mx.test Error: timeout exceeded"), "idle: %r" % r)
check(0.5 < dt < 2.5, "idle timeout after %.2fs" % dt)
# slow in DATA
s = conn()
reply(s)
s.sendall(b"HELO slow.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n")
r = ""
while r.count("\r\n") < 4:
    r += reply(s)
s.sendall(b"Subject: slow\r\n")
r = reply(s)
check(r.startswith("421 4.4.2"), "slow DATA: %r" % r)
# session deadline: a client trickling NOOPs is still cut off
s = conn()
reply(s)
t0 = time.time()
got = ""
while time.time() - t0 < 6:
    try:
        s.sendall(b"NOOP\r\n")
        got = reply(s)
    except (BrokenPipeError, ConnectionResetError):
        break
    if "421" in got:
        break
    time.sleep(0.4)
check("421 4.4.2" in got and time.time() - t0 < 4.5, "deadline: %r after %.1fs" % (got, time.time() - t0))
s.close()

# per client address: the 4th from 127.0.0.1 is refused, 127.0.0.2 still gets in
held = [conn() for _ in range(3)]
for h in held:
    reply(h)
x = conn()
check(reply(x).startswith("421 4.7.0 Error: too many connections from your address"), "per-client limit")
y = conn("127.0.0.2")
check(reply(y).startswith("220 "), "other address refused")
z = conn("127.0.0.3")
check(reply(z).startswith("220 "), "5th session refused")
w = conn("127.0.0.4")
check(reply(w).startswith("421 4.7.0 Error: too many connections,"), "max_sessions not enforced")
for h in held + [x, y, z, w]:
    h.close()
print("client ok")
PY
sleep 0.3
kill -TERM $RPID; wait $RPID; RPID=
[ -z "$(ls "$T/d/spool/new")" ] || fail "an over-limit message was stored"
[ -z "$(ls "$T/d/spool/tmp")" ] || fail "temp files left"
jq -e -s 'map(select(.outcome=="timeout")) | length >= 3' "$T/d/sessions.jsonl" >/dev/null || fail "timeouts not recorded"
jq -e -s 'map(select(.outcome=="limit")) | length >= 1' "$T/d/sessions.jsonl" >/dev/null || fail "limit not recorded"
grep -q "refused: 3 sessions from this address" "$T/d/mail.log" || fail "per-client refusal not logged"
echo ok
