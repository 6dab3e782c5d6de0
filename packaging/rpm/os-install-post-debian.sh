#!/bin/bash
# rpmbuild's post-install step for builds on Debian (`make rpm` passes it as
# __os_install_post there). Debian's rpm runs its brp-* scripts with
# /bin/sh (dash), where brp-compress's `read -d` fails, and builds no
# -debuginfo packages, so nothing strips the binaries. This does what
# Fedora's post-install does to the files: gzip manual pages, strip ELF
# objects.
set -euo pipefail
[ -n "${RPM_BUILD_ROOT:-}" ] && [ "$RPM_BUILD_ROOT" != / ] || exit 0
bash /usr/lib/rpm/brp-compress /usr
find "$RPM_BUILD_ROOT" -type f \( -perm -0100 -o -name '*.so' \) -print0 |
	while IFS= read -r -d '' f; do
		if file -b "$f" | grep -q '^ELF'; then
			strip --strip-unneeded "$f"
		fi
	done
