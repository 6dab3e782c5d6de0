#!/bin/sh
# A Debian 12 root file system with systemd as init and the shared
# libraries okta-jitd and okta-jit-web link against, for `make
# systemd-check` (tests/systemd/test_units.py boots it with systemd-nspawn).
#
# Usage: rootfs.sh [CACHE_DIR]   (default /var/tmp/okta-jit-systemd)
# Prints the root file system's path. Built once (about a minute: the
# Debian archive must be reachable) and kept under CACHE_DIR: the name
# carries a hash of this script, so a change here builds a fresh one and
# removes the old. The container boots it with --volatile=overlay, so a
# run never writes to the cached copy. Root only.
set -eu

CACHE=${1:-/var/tmp/okta-jit-systemd}
SUITE=bookworm
MIRROR=${OJIT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# systemd as PID 1 and D-Bus (systemctl, systemd-analyze); then what
# `ldd build/okta-jitd build/okta-jit-web build/okta-jit` names; then
# OpenSSL's tpm2 provider and the TPM transports it loads (issue 21: the
# Okta key in a TPM under the unit; the tests' TPM is swtpm on loopback).
PKGS="systemd systemd-sysv dbus ca-certificates libcurl4 libcjson1 libinih1 libmicrohttpd12 libpq5 libsqlite3-0 libssl3"
PKGS="$PKGS tpm2-openssl libtss2-tcti-swtpm0 libtss2-tcti-device0"

for tool in debootstrap systemd-nspawn flock; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "rootfs.sh: $tool not found (apt-get install debootstrap systemd-container; packaging/install-deps.sh)" >&2
		exit 1
	}
done

key=$(cat "$0" | sha256sum | cut -c1-16)
root="$CACHE/rootfs-$key"
mkdir -p "$CACHE"
chmod 0700 "$CACHE"
# One builder at a time; a second run waits and then finds it built.
exec 9>"$CACHE/lock"
flock 9
if [ -d "$root" ]; then
	echo "$root"
	exit 0
fi

tmp="$CACHE/building-$key"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
echo "rootfs.sh: building $root (debootstrap $SUITE from $MIRROR)" >&2
debootstrap --variant=minbase "$SUITE" "$tmp" "$MIRROR" >&2
chroot "$tmp" /bin/sh -c "export DEBIAN_FRONTEND=noninteractive LC_ALL=C
	apt-get update -q && apt-get install -y -q --no-install-recommends $PKGS && apt-get clean" >&2
rm -rf "$tmp/var/lib/apt/lists/"*
# No one logs in: the console getty would only wait on the container's pty.
chroot "$tmp" systemctl mask console-getty.service getty.target >&2
# Fully built: only now does it get its name (rename is atomic), and the
# copies an older script built go.
for old in "$CACHE"/rootfs-* "$CACHE"/building-*; do
	if [ -d "$old" ] && [ "$old" != "$root" ] && [ "$old" != "$tmp" ]; then
		rm -rf "$old"
	fi
done
mv "$tmp" "$root"
trap - EXIT
echo "$root"
