#!/usr/bin/env bash
# Interop: mxprobe through a real validating resolver. Unbound (validator) resolves zones
# served by NSD on loopback: sig.test signed by ldns-signzone (its KSK is Unbound's trust
# anchor), uns.test unsigned (declared insecure), bad.test signed with a key the trust anchor
# does not name (bogus). Postfix answers behind 127.0.0.2. The DNSSEC states and DANE come
# from real validation, not from dnsfix's marks. Nothing is asked outside the stub zones.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/fixtures/mxprobe_env.sh"
need_mxprobe
need_cmd nsd unbound ldns-keygen ldns-signzone drill openssl certtool
setup_pki
start_postfix
start_fwd 127.0.0.2="$PORT_good"

D=$T/interop
mkdir -p "$D"
cd "$D" || exit 1
EE=$(tlsa_spki "$PKI/good.pem")
zone() { # NAME BODY
	printf '$ORIGIN %s.\n$TTL 300\n@ SOA ns.%s. hostmaster.%s. 1 3600 600 86400 300\n@ NS ns.%s.\nns A 127.0.0.1\n%s\n' \
		"$1" "$1" "$1" "$1" "$2" >"$D/$1.zone"
}
zone sig.test "good MX 10 mx.sig.test.
mx A 127.0.0.2
_25._tcp.mx TLSA 3 1 1 $EE
bad MX 10 mxbad.sig.test.
mxbad A 127.0.0.2
_25._tcp.mxbad TLSA 3 1 1 $(printf '%064d' 0)"
zone uns.test "good MX 10 mx.uns.test.
mx A 127.0.0.2
_25._tcp.mx TLSA 3 1 1 $EE"
zone bad.test "good MX 10 mx.bad.test.
mx A 127.0.0.2"

sign() { # ZONE -> ZONE.zone.signed, prints the KSK key file base
	local ksk zsk
	ksk=$(ldns-keygen -a ECDSAP256SHA256 -k "$1") || return 1
	zsk=$(ldns-keygen -a ECDSAP256SHA256 "$1") || return 1
	ldns-signzone -n "$D/$1.zone" "$ksk" "$zsk" >/dev/null 2>&1 || return 1
	echo "$ksk"
}
KSK=$(sign sig.test) || { echo "FATAL: ldns-signzone sig.test"; exit 1; }
sign bad.test >/dev/null || { echo "FATAL: ldns-signzone bad.test"; exit 1; }
WRONG=$(ldns-keygen -a ECDSAP256SHA256 -k bad.test) # the anchor Unbound gets for bad.test
NSDP=$(free_port)
UBP=$(free_port)
while [ "$UBP" = "$NSDP" ]; do UBP=$(free_port); done

cat >"$D/nsd.conf" <<-EOF2
	server:
	  ip-address: 127.0.0.1@$NSDP
	  port: $NSDP
	  username: ""
	  chroot: ""
	  zonesdir: "$D"
	  database: ""
	  pidfile: "$D/nsd.pid"
	  xfrdfile: "$D/xfrd.state"
	  zonelistfile: "$D/zone.list"
	  logfile: "$D/nsd.log"
	  verbosity: 1
	  server-count: 1
	remote-control:
	  control-enable: no
	zone:
	  name: sig.test
	  zonefile: sig.test.zone.signed
	zone:
	  name: bad.test
	  zonefile: bad.test.zone.signed
	zone:
	  name: uns.test
	  zonefile: uns.test.zone
EOF2
cat >"$D/unbound.conf" <<-EOF2
	server:
	  interface: 127.0.0.1@$UBP
	  port: $UBP
	  username: ""
	  chroot: ""
	  directory: "$D"
	  pidfile: "$D/unbound.pid"
	  logfile: "$D/unbound.log"
	  use-syslog: no
	  verbosity: 1
	  num-threads: 1
	  do-ip6: no
	  do-not-query-localhost: no
	  access-control: 127.0.0.0/8 allow
	  module-config: "validator iterator"
	  trust-anchor-file: "$D/$KSK.key"
	  trust-anchor-file: "$D/$WRONG.key"
	  domain-insecure: "uns.test"
	  # test. is one of the RFC 6761 names Unbound answers NXDOMAIN for by default
	  local-zone: "test." nodefault
	  val-log-level: 2
	  harden-dnssec-stripped: yes
	  target-fetch-policy: "0 0 0 0 0"
	  root-hints: "$D/empty.hints"
	remote-control:
	  control-enable: no
	stub-zone:
	  name: "sig.test"
	  stub-addr: 127.0.0.1@$NSDP
	stub-zone:
	  name: "uns.test"
	  stub-addr: 127.0.0.1@$NSDP
	stub-zone:
	  name: "bad.test"
	  stub-addr: 127.0.0.1@$NSDP
EOF2
: >"$D/empty.hints"
nsd -d -c "$D/nsd.conf" >"$D/nsd.out" 2>&1 &
BAD_PIDS+=($!)
unbound -d -c "$D/unbound.conf" >"$D/unbound.out" 2>&1 &
BAD_PIDS+=($!)
for _ in $(seq 50); do
	drill -p "$UBP" @127.0.0.1 mx.sig.test A 2>/dev/null | grep -q '127\.0\.0\.2$' && break
	sleep 0.2
done
cd "$ROOT" || exit 1

MX=(--resolver "127.0.0.1:$UBP" -p "$MX_PORT" --cafile "$PKI/ca.pem" --timeout 5 --no-mta-sts --no-color -4)

case_ "signed zone validated by Unbound: secure, DANE-EE verified at dane-only"
run_mxprobe "${MX[@]}" -l dane-only good.sig.test
if grep -q "MX tempfail" "$OUT"; then cat "$D/unbound.log" "$D/nsd.log" | tail -20; fi
assert_exit 0
assert_line '^Domain good\.sig\.test: MX secure'
assert_line '^10 +mx\.sig\.test +127\.0\.0\.2 +secure .* verified .*(PASS|WARN)$'
assert_contains 'requested dane-only, reached dane'

case_ "signed zone, TLSA that does not match: dane-mismatch"
run_mxprobe "${MX[@]}" -l dane bad.sig.test
assert_exit 1
assert_contains "dane-mismatch"

case_ "unsigned zone: insecure, TLSA ignored"
run_mxprobe "${MX[@]}" -l dane good.uns.test
assert_exit 0
assert_line '^Domain good\.uns\.test: MX insecure'
assert_line ' insecure .* insecure '

case_ "zone signed with a key the anchor does not name: bogus, exit 3"
run_mxprobe "${MX[@]}" good.bad.test
assert_exit 3
assert_contains "MX bogus"

finish
