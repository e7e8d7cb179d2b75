#!/usr/bin/env bash
# checktls on bad input: unknown host, bad ports, refused connection, unreadable or malformed
# certificate files, wrong PKCS#12 password, contradictory options. Each must print a clear
# message and exit with the documented code, never crash (exit >= 128) or hang.
. "$(dirname "$0")/lib.sh"
need_cmd certtool
need_checktls
setup_pki

# no_crash: the exit code is a normal one (not a signal) and a message was printed
no_crash() {
	[ "$RC" -lt 126 ] && ok_ || fail_ "exit $RC looks like a crash or a timeout"
	assert_message
}

case_ "unknown host"
run_checktls --timeout 5 nonexistent.invalid
assert_exit 3
assert_contains "nonexistent.invalid"
no_crash

for p in 0 70000 abc -1 25x ""; do
	case_ "bad port '$p'"
	run_checktls -p "$p" 127.0.0.1
	assert_exit 64
	no_crash
done

case_ "closed port on 127.0.0.1"
port=$(free_port)
run_checktls --timeout 5 -p "$port" 127.0.0.1
assert_exit 3
assert_icontains "connection refused"
no_crash

case_ "no host and no --cert-file"
run_checktls
assert_exit 64
no_crash

case_ "unknown option"
run_checktls --no-such-option 127.0.0.1
assert_exit 64
no_crash

case_ "unknown level"
run_checktls -l bogus 127.0.0.1
assert_exit 64
assert_contains "bogus"

case_ "--cert-file together with HOST"
run_checktls --cert-file "$PKI/good.chain.pem" 127.0.0.1
assert_exit 64
no_crash

case_ "--json with --xml"
run_checktls --json --xml --cert-file "$PKI/good.chain.pem"
assert_exit 64
no_crash

case_ "--help and --version"
run_checktls --help
assert_exit 0
assert_icontains "usage"
assert_contains "--cert-file"
run_checktls --version
assert_exit 0
assert_line "[0-9]+\.[0-9]+"

case_ "certificate file that does not exist"
run_checktls --cert-file "$T/does-not-exist.pem"
assert_exit 3 64
assert_contains "does-not-exist.pem"
no_crash

case_ "certificate file is a directory"
run_checktls --cert-file "$T"
assert_exit 3 64
no_crash

case_ "certificate file unreadable (non-root only)"
cp "$PKI/good.chain.pem" "$T/unreadable.pem"
chmod 000 "$T/unreadable.pem"
if [ "$(id -u)" != 0 ]; then
	run_checktls --cert-file "$T/unreadable.pem"
	assert_exit 3 64
	assert_contains "unreadable.pem"
	no_crash
else
	echo "(root reads mode 000 files: case not applicable)"
fi

case_ "malformed PEM"
printf -- '-----BEGIN CERTIFICATE-----\nthis is not base64 at all!\n-----END CERTIFICATE-----\n' >"$T/bad.pem"
run_checktls --cert-file "$T/bad.pem"
assert_exit 1 3 64
no_crash

case_ "empty certificate file"
: >"$T/empty.pem"
run_checktls --cert-file "$T/empty.pem"
assert_exit 1 3 64
no_crash

case_ "random bytes as certificate file"
head -c 3000 /dev/urandom >"$T/random.der"
run_checktls --cert-file "$T/random.der"
assert_exit 1 3 64
no_crash

case_ "truncated certificate"
head -c 600 "$PKI/good.pem" >"$T/truncated.pem"
run_checktls --cert-file "$T/truncated.pem"
assert_exit 1 3 64
no_crash

case_ "wrong PKCS#12 password"
run_checktls --cert-file "$PKI/good.p12" --password wrong --name mx.test.example
[ "$RC" != 0 ] && ok_ || fail_ "exit 0 with a wrong password"
assert_contains "wrong PKCS#12 password"
no_crash

case_ "wrong PKCS#12 password from --password-file"
printf 'wrong\n' >"$T/pw"
run_checktls --cert-file "$PKI/good.p12" --password-file "$T/pw" --name mx.test.example
[ "$RC" != 0 ] && ok_ || fail_ "exit 0 with a wrong password"
assert_contains "wrong PKCS#12 password"

case_ "--password-file that does not exist"
run_checktls --cert-file "$PKI/good.p12" --password-file "$T/no-such-pw" --name mx.test.example
assert_exit 3 64
assert_contains "no-such-pw"

case_ "--client-cert without --client-key"
run_checktls --client-cert "$PKI/client.pem" -p 25 127.0.0.1
assert_exit 64
no_crash

finish
