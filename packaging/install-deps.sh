#!/bin/sh
# Install what okta-jit needs to build and test: apt-get on Debian/Ubuntu,
# dnf on Fedora/RHEL. Run as root (or through sudo).
set -eu

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO="sudo"
fi

if command -v apt-get >/dev/null 2>&1; then
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -q
	$SUDO apt-get install -y -q --no-install-recommends \
		build-essential pkg-config ca-certificates \
		libcurl4-openssl-dev libssl-dev libcjson-dev libpam0g-dev \
		libsqlite3-dev libinih-dev libcmocka-dev libpq-dev postgresql libmicrohttpd-dev libsystemd-dev \
		python3 python3-pytest python3-cryptography \
		valgrind pamtester openssh-server openssh-client sudo \
		clang libclang-rt-14-dev cppcheck \
		debhelper lintian rpm rpmlint file \
		chromium chromium-driver python3-selenium \
		debootstrap systemd-container bash-completion shellcheck \
		swtpm swtpm-tools tpm2-openssl tpm2-tools softhsm2 \
		prometheus
elif command -v dnf >/dev/null 2>&1; then
	$SUDO dnf install -y \
		gcc make pkgconf-pkg-config ca-certificates \
		libcurl-devel openssl-devel cjson-devel pam-devel \
		sqlite-devel inih-devel libcmocka-devel libpq-devel postgresql-server libmicrohttpd-devel systemd-devel \
		python3 python3-pytest python3-cryptography \
		valgrind pamtester openssh-server openssh-clients sudo \
		clang compiler-rt cppcheck \
		rpm-build rpmlint systemd-rpm-macros bash-completion ShellCheck \
		swtpm swtpm-tools tpm2-openssl tpm2-tools softhsm
else
	echo "install-deps.sh: neither apt-get nor dnf found; install the packages listed in README.md by hand" >&2
	exit 1
fi
