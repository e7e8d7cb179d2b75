#!/usr/bin/env bash
# receiver_pipelining.sh — RFC 2920 pipelining (a whole transaction in one write, replies
# in order) and the STARTTLS injection attempt (CVE-2011-0411): plaintext pipelined after
# STARTTLS must be discarded, never executed, before or after the TLS handshake.
set -u
cd "$(dirname "$0")/../.."
R=$PWD/receiver/receiver
[ -x "$R" ] || { echo "receiver not built"; exit 77; }
for t in python3 jq; do command -v $t >/dev/null || { echo "$t not installed"; exit 77; }; done
T=$(mktemp -d /tmp/rcvpipe.XXXXXX)
RPID=
cleanup() { [ -n "$RPID" ] && kill "$RPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
P=$(python3 "$(dirname "$0")/../fixtures/freeport.py")
"$R" -d "$T/d" -l 127.0.0.1:$P --hostname mx.test --no-rdns >"$T/stderr" 2>&1 &
RPID=$!
for _ in $(seq 100); do grep -q "listening on" "$T/stderr" && break; sleep 0.05; done
grep -q "listening on" "$T/stderr" || fail "receiver did not start: $(cat "$T/stderr")"

python3 - "$P" <<'PY' || fail "client checks failed"
import socket, ssl, sys, time
port = int(sys.argv[1])

def replies(sock, n, timeout=5):
    """Read until n complete replies (last line 'NNN ') arrived; return them as lists."""
    sock.settimeout(timeout)
    buf, out, cur = b"", [], []
    while len(out) < n:
        while b"\r\n" not in buf:
            d = sock.recv(65536)
            if not d:
                raise SystemExit("connection closed after %d replies: %r" % (len(out), out))
            buf += d
        line, buf = buf.split(b"\r\n", 1)
        line = line.decode()
        cur.append(line)
        if len(line) < 4 or line[3] == " ":
            out.append(cur)
            cur = []
    return out, buf

def check(cond, msg):
    if not cond:
        raise SystemExit("FAIL: " + msg)

# 1. a pipelined transaction in one write; replies come back in order
s = socket.create_connection(("127.0.0.1", port))
(greet,), _ = replies(s, 1)
check(greet[0].startswith("220 mx.test"), "greeting %r" % greet)
s.sendall(b"EHLO pipe.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\n"
          b"RCPT TO:<bad>\r\nRCPT TO:<e@f.test>\r\nDATA\r\n")
r, rest = replies(s, 6)
check(rest == b"", "extra bytes")
codes = [x[-1][:3] for x in r]
check(codes == ["250", "250", "250", "501", "250", "354"], "codes %r" % codes)
check("250-PIPELINING" in r[0], "PIPELINING not advertised")
s.sendall(b"Subject: pipelined\r\n\r\n..dot-stuffed\r\n.\r\nRSET\r\nNOOP\r\nQUIT\r\n")
r, _ = replies(s, 4)
codes = [x[-1][:3] for x in r]
check(codes == ["250", "250", "250", "221"], "codes after DATA %r" % codes)
s.close()

# 2. injection in the same segment as STARTTLS
s = socket.create_connection(("127.0.0.1", port))
replies(s, 1)
s.sendall(b"EHLO inject.test\r\n")
replies(s, 1)
s.sendall(b"STARTTLS\r\nMAIL FROM:<evil@inject.test>\r\nRCPT TO:<evil@inject.test>\r\n")
r, rest = replies(s, 1)
check(r[0][0].startswith("220 "), "STARTTLS reply %r" % r)
check(rest == b"", "server answered the injected commands in clear: %r" % rest)
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
t = ctx.wrap_socket(s, server_hostname="mx.test")
t.sendall(b"EHLO after.test\r\n")
r, rest = replies(t, 1)
check(r[0][0].startswith("250-mx.test Hello after.test"), "first TLS reply %r" % r)
check(rest == b"", "extra TLS data %r" % rest)
t.sendall(b"MAIL FROM:<ok@inject.test>\r\nQUIT\r\n")
r, _ = replies(t, 2)
check(r[0][0] == "250 2.1.0 Ok", "MAIL after TLS %r (injected MAIL executed?)" % r)
t.close()

# 3. injected bytes in their own segment right after STARTTLS, before the ClientHello
s = socket.create_connection(("127.0.0.1", port))
replies(s, 1)
s.sendall(b"EHLO inject2.test\r\n")
replies(s, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.sendall(b"STARTTLS\r\n")
time.sleep(0.05)
s.sendall(b"MAIL FROM:<evil2@inject.test>\r\n")
r, rest = replies(s, 1)
check(r[0][0].startswith("220 "), "STARTTLS reply %r" % r)
time.sleep(0.2)
s.setblocking(False)
try:
    extra = s.recv(4096)
except (BlockingIOError, ConnectionResetError):
    extra = b""
check(b"250" not in extra and b"503" not in extra, "injected command answered: %r" % extra)
s.close()
print("client ok")
PY
sleep 0.3
kill -TERM $RPID; wait $RPID; RPID=
J=$T/d/sessions.jsonl
jq -e -s '[.[] | select(.ehlo=="pipe.test")][0] | .messages[0].reply | startswith("250 2.0.0 Ok: queued")' "$J" >/dev/null || fail "pipelined message not stored"
f=$(ls "$T"/d/spool/new/*.eml | head -1)
grep -q "^\.dot-stuffed" "$f" || fail "dot-stuffing not undone in $f"
jq -e -s '[.[] | select(.ehlo=="inject.test")][0] | .injected_bytes == 58 and .starttls_used
	and .tls.established and ([.commands[].line | select(test("evil"))] | length == 0)
	and .messages[0].from == "ok@inject.test"' "$J" >/dev/null ||
	fail "injection record wrong: $(grep inject.test "$J")"
grep -q "58 bytes of plaintext pipelined after STARTTLS discarded" "$T/d/mail.log" || fail "injection not logged"
jq -e -s '[.[] | select(.ehlo=="inject2.test")][0] | ([.commands[].line | select(test("evil"))] | length == 0)
	and (.messages | length == 0)' "$J" >/dev/null || fail "second injection executed"
echo ok
