#!/usr/bin/env bash
# Install (idempotently) the Debian packages mailtls needs to build, test and demo.
set -eu
# swaks needs libnet-ssleay-perl for --tls and libio-socket-inet6-perl for IPv6: they are only
# its Recommends, which --no-install-recommends leaves out
PKGS="build-essential pkg-config clang libclang-rt-14-dev
libgnutls28-dev libldns-dev libxml2-dev libjansson-dev zlib1g-dev libidn2-dev libcmocka-dev
gnutls-bin postfix swaks ldnsutils unbound nsd python3 ca-certificates openssl
iproute2 procps mawk time libxml2-utils gzip perl jq
libnet-ssleay-perl libio-socket-inet6-perl"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	export DEBIAN_FRONTEND=noninteractive
	# postfix asks how to configure itself: a local-only answer keeps it off the network
	echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
	echo "postfix postfix/mailname string mailtls.localhost" | debconf-set-selections
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends $missing
fi
# The Debian postfix package may start the system instance; our tests run their own.
if command -v postfix >/dev/null && postfix status >/dev/null 2>&1; then postfix stop >/dev/null 2>&1 || true; fi
exit 0
