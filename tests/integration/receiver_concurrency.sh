#!/usr/bin/env bash
# receiver_concurrency.sh — 1,000 concurrent sessions against one receiver process: all
# connect first and hold their session open, then each runs EHLO, MAIL, RCPT, DATA and
# QUIT (every tenth with STARTTLS); every message must be accepted and recorded.
set -u
cd "$(dirname "$0")/../.."
R=$PWD/receiver/receiver
[ -x "$R" ] || { echo "receiver not built"; exit 77; }
for t in python3 jq; do command -v $t >/dev/null || { echo "$t not installed"; exit 77; }; done
N=${RECEIVER_SESSIONS:-1000}
[ "$(ulimit -Hn)" -ge $((N + 100)) ] 2>/dev/null || [ "$(ulimit -Hn)" = unlimited ] ||
	{ echo "open file limit $(ulimit -Hn) below $N"; exit 77; }
ulimit -n "$(ulimit -Hn)"
T=$(mktemp -d /tmp/rcvconc.XXXXXX)
RPID=
cleanup() { [ -n "$RPID" ] && kill "$RPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
P=$(python3 "$(dirname "$0")/../fixtures/freeport.py")
"$R" -d "$T/d" -l 127.0.0.1:$P -o max_per_client=0 -o max_sessions=5000 --no-rdns \
	>"$T/stderr" 2>&1 &
RPID=$!
for _ in $(seq 100); do grep -q "listening on" "$T/stderr" && break; sleep 0.05; done
grep -q "listening on" "$T/stderr" || fail "receiver did not start: $(cat "$T/stderr")"

python3 - "$P" "$N" <<'PY' || fail "client side failed"
import asyncio, ssl, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE

async def reply(r):
    while True:
        line = await asyncio.wait_for(r.readline(), 60)
        if not line:
            raise RuntimeError("closed")
        if line[3:4] != b"-":
            return line.decode().strip()

async def session(i, gate, opened):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    g = await reply(r)
    assert g.startswith("220"), g
    opened.append(i)
    await gate.wait()          # every session is open at the same time
    w.write(b"EHLO c%d.test\r\n" % i)
    await reply(r)
    if i % 10 == 0:
        w.write(b"STARTTLS\r\n")
        assert (await reply(r)).startswith("220")
        await w.start_tls(ctx)
        w.write(b"EHLO c%d.test\r\n" % i)
        await reply(r)
    w.write(b"MAIL FROM:<s%d@src.test>\r\nRCPT TO:<r%d@dst.test>\r\nDATA\r\n" % (i, i))
    for want in ("250", "250", "354"):
        got = await reply(r)
        assert got.startswith(want), got
    w.write(b"Subject: %d\r\n\r\n" % i + b"x" * 1000 + b"\r\n.\r\nQUIT\r\n")
    got = await reply(r)
    assert got.startswith("250 2.0.0 Ok: queued"), got
    assert (await reply(r)).startswith("221")
    w.close()
    return 1

async def main():
    gate = asyncio.Event()
    opened = []
    tasks = [asyncio.create_task(session(i, gate, opened)) for i in range(n)]
    for _ in range(600):
        if len(opened) == n:
            break
        await asyncio.sleep(0.05)
    print("open at once:", len(opened))
    assert len(opened) == n, len(opened)
    gate.set()
    res = await asyncio.gather(*tasks, return_exceptions=True)
    bad = [x for x in res if x != 1]
    assert not bad, bad[:3]
    print("sessions ok:", len(res))
asyncio.run(main())
PY
ps -o rss= -p $RPID | awk '{printf "receiver RSS after the run: %d kB\n", $1}'
kill -TERM $RPID; wait $RPID; RPID=
recs=$(wc -l <"$T/d/sessions.jsonl")
[ "$recs" -eq "$N" ] || fail "$recs records for $N sessions"
msgs=$(ls "$T/d/spool/new" | wc -l)
[ "$msgs" -eq "$N" ] || fail "$msgs messages spooled for $N sessions"
tls=$(jq -s 'map(select(.tls.established)) | length' "$T/d/sessions.jsonl")
[ "$tls" -eq $((N / 10)) ] || fail "$tls TLS sessions, expected $((N / 10))"
echo ok
