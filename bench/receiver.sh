#!/usr/bin/env bash
# bench/receiver.sh — complete STARTTLS sessions per second (EHLO, STARTTLS, EHLO, MAIL,
# RCPT, DATA of a 10 kB message, QUIT) against the receiver and against Postfix smtpd on
# the same machine with the same certificate, with 1, 16 and 128 concurrent clients; then
# the receiver's RSS with 5,000 concurrent idle sessions.
#
# Both servers store each message durably (receiver: spool file fsync'd and renamed;
# Postfix: queue file, delivered to the discard transport). The load generator is a small
# threaded GnuTLS client compiled from this script, so neither server is measured through a
# slow client. Needs root for the private Postfix instance (loopback only, temp dir).
# Usage: bench/receiver.sh [seconds-per-point]   (default 5)
set -u
cd "$(dirname "$0")/.."
SECS=${1:-5}
R=$PWD/receiver/receiver
[ -x "$R" ] || { echo "build first: make receiver/receiver"; exit 1; }
T=$(mktemp -d /tmp/rcvbench.XXXXXX)
chmod 755 "$T"
RPID=
cleanup() {
	[ -n "$RPID" ] && kill "$RPID" 2>/dev/null
	[ -d "$T/pf/etc" ] && postfix -c "$T/pf/etc" stop >/dev/null 2>&1
	wait 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"

# ---- the load generator ----
cat >"$T/load.c" <<'C'
/* load.c — N threads, each running complete STARTTLS sessions back to back until the time
 * is up; prints the number of sessions completed and failed. */
#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port, secs;
static double t_end;
static long ok_total, bad_total;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static gnutls_certificate_credentials_t cred;
static char msg[10240 + 64];

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct io { int fd; gnutls_session_t s; char buf[8192]; size_t len; };

static int io_read(struct io *c, char *p, size_t n)
{
	if (!c->s)
		return (int)read(c->fd, p, n);
	for (;;) {
		/* a TLS 1.3 NewSessionTicket can surface as EAGAIN even on a blocking socket */
		int r = (int)gnutls_record_recv(c->s, p, n);
		if (r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED)
			return r;
	}
}
static int io_write(struct io *c, const char *p, size_t n)
{
	while (n) {
		int w = c->s ? (int)gnutls_record_send(c->s, p, n) : (int)write(c->fd, p, n);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}
/* read one complete reply; return its code */
static int reply(struct io *c)
{
	for (;;) {
		char *start = c->buf;
		for (;;) {
			char *nl = memchr(start, '\n', c->len - (size_t)(start - c->buf));
			if (!nl)
				break;
			if (nl - start >= 4 && start[3] == ' ') {
				int code = atoi(start);
				size_t used = (size_t)(nl + 1 - c->buf);
				memmove(c->buf, nl + 1, c->len - used);
				c->len -= used;
				return code;
			}
			start = nl + 1;
		}
		if (c->len >= sizeof c->buf - 1)
			return -1;
		int r = io_read(c, c->buf + c->len, sizeof c->buf - 1 - c->len);
		if (r <= 0)
			return -1;
		c->len += (size_t)r;
	}
}

static int session(void)
{
	struct io c = {0};
	int rc = -1;
	c.fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(0x7f000001);
	int one = 1;
	setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(c.fd, (void *)&a, sizeof a) != 0)
		goto out;
	if (reply(&c) != 220 || io_write(&c, "EHLO load.test\r\n", 16) || reply(&c) != 250 ||
	    io_write(&c, "STARTTLS\r\n", 10) || reply(&c) != 220)
		goto out;
	gnutls_init(&c.s, GNUTLS_CLIENT);
	gnutls_set_default_priority(c.s);
	gnutls_credentials_set(c.s, GNUTLS_CRD_CERTIFICATE, cred);
	gnutls_transport_set_int(c.s, c.fd);
	if (gnutls_handshake(c.s) < 0)
		goto out;
	c.len = 0;
	if (io_write(&c, "EHLO load.test\r\n", 16) || reply(&c) != 250 ||
	    io_write(&c, "MAIL FROM:<load@src.test>\r\n", 27) || reply(&c) != 250 ||
	    io_write(&c, "RCPT TO:<sink@dst.test>\r\n", 25) || reply(&c) != 250 ||
	    io_write(&c, "DATA\r\n", 6) || reply(&c) != 354 || io_write(&c, msg, strlen(msg)) ||
	    reply(&c) != 250 || io_write(&c, "QUIT\r\n", 6) || reply(&c) != 221)
		goto out;
	rc = 0;
out:
	if (c.s) {
		gnutls_bye(c.s, GNUTLS_SHUT_WR);
		gnutls_deinit(c.s);
	}
	close(c.fd);
	return rc;
}

static void *worker(void *arg)
{
	long ok = 0, bad = 0;
	while (now() < t_end)
		session() == 0 ? ok++ : bad++;
	pthread_mutex_lock(&mu);
	ok_total += ok;
	bad_total += bad;
	pthread_mutex_unlock(&mu);
	return NULL;
}

int main(int argc, char **argv)
{
	port = atoi(argv[1]);
	int n = atoi(argv[2]);
	secs = atoi(argv[3]);
	gnutls_global_init();
	gnutls_certificate_allocate_credentials(&cred);
	size_t k = (size_t)sprintf(msg, "Subject: load\r\n\r\n");
	while (k < 10240) {
		memcpy(msg + k, "0123456789012345678901234567890123456789012345678901234567890123456789\r\n", 72);
		k += 72;
	}
	strcpy(msg + k, ".\r\n");
	pthread_t th[1024];
	double t0 = now();
	t_end = t0 + secs;
	for (int i = 0; i < n; i++)
		pthread_create(&th[i], NULL, worker, NULL);
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	double dt = now() - t0;
	printf("%.1f %ld %ld\n", ok_total / dt, ok_total, bad_total);
	return 0;
}
C
cc -O2 -o "$T/load" "$T/load.c" $(pkg-config --cflags --libs gnutls) -lpthread || exit 1

# ---- one certificate for both servers: the receiver's demo certificate ----
RP=$(( 20000 + (RANDOM * 7 + $$) % 20000 ))
PP=$((RP + 1))
"$R" -d "$T/r" -l 127.0.0.1:$RP --no-rdns -o max_per_client=0 -o max_sessions=10000 \
	--hostname mx.test >"$T/r.err" 2>&1 &
RPID=$!
for _ in $(seq 100); do grep -q "listening on" "$T/r.err" && break; sleep 0.05; done
grep -q "listening on" "$T/r.err" || { echo "receiver did not start"; cat "$T/r.err"; exit 1; }
CERT=$T/r/certs/demo-cert.pem KEY=$T/r/certs/demo-key.pem

# ---- a private Postfix instance on loopback ----
have_postfix=0
if [ "$(id -u)" = 0 ] && command -v postfix >/dev/null; then
	mkdir -p "$T/pf/etc" "$T/pf/queue" "$T/pf/data"
	chown postfix "$T/pf/data"
	cp "$CERT" "$T/pf/etc/cert.pem"
	install -m 600 "$KEY" "$T/pf/etc/key.pem"
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
myhostname = mx.test
mydestination =
mynetworks = 127.0.0.0/8
relay_domains =
default_transport = discard
relay_transport = discard
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_tls_security_level = may
smtpd_tls_cert_file = $T/pf/etc/cert.pem
smtpd_tls_key_file = $T/pf/etc/key.pem
smtpd_tls_session_cache_database =
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_peername_lookup = no
default_process_limit = 300
maillog_file_prefixes = /var, /dev/stdout, $T
maillog_file = $T/pf/maillog
alias_maps =
alias_database =
PF
	cat >"$T/pf/etc/master.cf" <<PF
127.0.0.1:$PP inet n - n - 300 smtpd
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
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
discard   unix - - n - - discard
tlsmgr    unix - - n 1000? 1 tlsmgr
postlog   unix-dgram n - n - 1 postlogd
PF
	if postfix -c "$T/pf/etc" check >"$T/pf.err" 2>&1 && postfix -c "$T/pf/etc" start >>"$T/pf.err" 2>&1; then
		for _ in $(seq 100); do
			(exec 3<>/dev/tcp/127.0.0.1/$PP) 2>/dev/null && { have_postfix=1; break; }
			sleep 0.1
		done
	fi
	[ $have_postfix = 1 ] || { echo "Postfix did not start:"; cat "$T/pf.err"; }
else
	echo "not root or no Postfix: measuring the receiver alone"
fi

echo "complete STARTTLS sessions per second, 10 kB message, ${SECS}s per point, $(nproc) CPU(s)"
printf "%-12s %14s %14s %8s\n" clients receiver postfix ratio
for c in 1 16 128; do
	read -r rs rok rbad < <("$T/load" $RP $c "$SECS")
	ps=-; ratio=-
	if [ $have_postfix = 1 ]; then
		read -r ps pok pbad < <("$T/load" $PP $c "$SECS")
		ratio=$(awk -v a="$rs" -v b="$ps" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
		[ "$pbad" -gt 0 ] && echo "  (postfix: $pbad failed sessions at $c clients)"
	fi
	[ "$rbad" -gt 0 ] && echo "  (receiver: $rbad failed sessions at $c clients)"
	printf "%-12s %14s %14s %8s\n" $c "$rs" "$ps" "$ratio"
done

# ---- RSS with 5,000 idle sessions ----
python3 - "$RP" "$RPID" <<'PY'
import socket, sys, time
port, pid = int(sys.argv[1]), int(sys.argv[2])
def rss():
    with open("/proc/%d/status" % pid) as f:
        for l in f:
            if l.startswith("VmRSS"):
                return int(l.split()[1])
before = rss()
socks = []
for i in range(5000):
    s = socket.create_connection(("127.0.0.1", port))
    socks.append(s)
for s in socks:
    s.settimeout(10)
    assert s.recv(512).startswith(b"220")
time.sleep(0.5)
after = rss()
print("receiver RSS: %d kB before, %d kB with 5000 idle sessions (%.1f MB; target <= 256 MB)"
      % (before, after, after / 1024))
for s in socks:
    s.close()
PY
