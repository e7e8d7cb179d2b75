#!/usr/bin/env bash
# receiver_postfix.sh — a private Postfix instance (temp dir, loopback only) relays a message
# to the receiver with `smtp_tls_security_level = secure`, trusting the receiver's demo CA:
# Postfix must log a Verified TLS connection, the receiver must record the TLS session from
# Postfix's EHLO name and spool the message. Needs root (Postfix's master) and Postfix.
set -u
cd "$(dirname "$0")/../.."
R=$PWD/receiver/receiver
[ -x "$R" ] || { echo "receiver not built"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "needs root to run a private Postfix"; exit 77; }
for t in postfix postconf swaks jq; do command -v $t >/dev/null || { echo "$t not installed"; exit 77; }; done
T=$(mktemp -d /tmp/rcvpf.XXXXXX)
chmod 755 "$T"
RPID=
cleanup() {
	[ -n "$RPID" ] && kill "$RPID" 2>/dev/null
	[ -d "$T/pf/etc" ] && postfix -c "$T/pf/etc" stop >/dev/null 2>&1
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$T/pf/maillog" ] && tail -20 "$T/pf/maillog"; exit 1; }
RP=$(python3 "$(dirname "$0")/../fixtures/freeport.py")
PP=$((RP + 1))
"$R" -d "$T/r" -l 127.0.0.1:$RP --hostname localhost >"$T/r.err" 2>&1 &
RPID=$!
for _ in $(seq 100); do grep -q "listening on" "$T/r.err" && break; sleep 0.05; done
grep -q "listening on" "$T/r.err" || fail "receiver did not start: $(cat "$T/r.err")"

mkdir -p "$T/pf/etc" "$T/pf/queue" "$T/pf/data"
chown postfix "$T/pf/data"
cp "$T/r/certs/demo-ca.pem" "$T/pf/etc/ca.pem"
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
myhostname = relay-pf.test
mydestination =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
relayhost = [localhost]:$RP
smtp_tls_security_level = secure
smtp_tls_CAfile = $T/pf/etc/ca.pem
smtp_tls_secure_cert_match = nexthop
smtp_tls_loglevel = 1
smtp_host_lookup = native
maillog_file_prefixes = /var, /dev/stdout, $T
maillog_file = $T/pf/maillog
alias_maps =
alias_database =
PF
cat >"$T/pf/etc/master.cf" <<PF
127.0.0.1:$PP inet n - n - - smtpd
pickup    unix n - n 60 1 pickup
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
tlsmgr    unix - - n 1000? 1 tlsmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
smtp      unix - - n - - smtp
relay     unix - - n - - smtp
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
PF
postfix -c "$T/pf/etc" check >"$T/pf.err" 2>&1 && postfix -c "$T/pf/etc" start >>"$T/pf.err" 2>&1 ||
	fail "Postfix did not start: $(cat "$T/pf.err")"
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$PP) 2>/dev/null && break; sleep 0.1; done
swaks -S 1 --server 127.0.0.1:$PP --from sender@src.test --to rcpt@dst.test \
	--body "relayed through postfix" >/dev/null 2>&1 || fail "Postfix refused the message"
for _ in $(seq 150); do
	grep -q "status=sent" "$T/pf/maillog" 2>/dev/null && break
	grep -q "status=deferred\|status=bounced" "$T/pf/maillog" 2>/dev/null && fail "Postfix could not deliver"
	sleep 0.1
done
grep -q "Verified TLS connection established to localhost\[127.0.0.1\]:$RP" "$T/pf/maillog" ||
	fail "Postfix did not verify the receiver's certificate"
grep -q "status=sent" "$T/pf/maillog" || fail "no delivery within 15s"
kill -TERM $RPID; wait $RPID; RPID=
jq -e -s '[.[] | select(.ehlo=="relay-pf.test")] | length == 1 and all(.starttls_used and .tls.established
	and .tls.sni == "" and (.messages[0].rcpts == ["rcpt@dst.test"]))' "$T/r/sessions.jsonl" >/dev/null ||
	fail "receiver record: $(cat "$T/r/sessions.jsonl")"
grep -rq "relayed through postfix" "$T/r/spool/new" || fail "message not spooled"
echo ok
