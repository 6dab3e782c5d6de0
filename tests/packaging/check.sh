#!/bin/bash
# tests/packaging/check.sh - the packaging gate (`make package-check`).
#
# Builds the .debs and the .rpms from a staging copy of the tree, lints them
# (lintian, rpmlint, systemd-analyze security), checks the RPM contents,
# installs the .debs with dpkg, checks files, modes, conffile handling and
# service enablement, runs the end-to-end tests against the installed
# binaries, removes (ledger kept) and purges (nothing left).
#
# Debian 12, as root. Changes this machine: installs and purges okta-jit,
# libpam-okta-jit, libnss-okta-jit and okta-jit-web (and so adds, then
# deletes, the system user okta-jit-keys and the system group okta-jit-web), and for a moment selects the okta-jit pam-auth-update
# profile (only sshd and sudo are affected) to show removal takes it out.
# Prints one line per check and ends with "N passed, N failed"; exits
# non-zero when anything failed.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
OUT=$BUILD/packages
LOGS=$OUT/logs
PYTHON=${PYTHON:-/usr/bin/python3}
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
PAMMOD=/lib/$MA/security/pam_okta_jit.so
NSSMOD=/usr/lib/$MA/libnss_okta_jit.so.2
UNIT=packaging/systemd/okta-jitd.service
WANTS=/etc/systemd/system/multi-user.target.wants/okta-jitd.service
WEB_UNIT=packaging/systemd/okta-jit-web.service
WEB_WANTS=/etc/systemd/system/multi-user.target.wants/okta-jit-web.service
export DEBIAN_FRONTEND=noninteractive

cd "$ROOT" || exit 2
mkdir -p "$LOGS"

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS  $*"; }
fail() { failed=$((failed + 1)); echo "FAIL  $*"; }
# check DESCRIPTION COMMAND...: pass when COMMAND succeeds.
check() {
	local what=$1
	shift
	if "$@" >>"$LOGS/checks.log" 2>&1; then pass "$what"; else fail "$what"; fi
}
# mode_is PATH MODE OWNER:GROUP
mode_is() { [ "$(stat -c '%a %U:%G' "$1" 2>/dev/null)" = "$2 $3" ]; }
absent() { local p; for p; do [ ! -e "$p" ] && [ ! -L "$p" ] || { echo "left: $p"; return 1; }; done; }
present() { local p; for p; do [ -e "$p" ] || { echo "missing: $p"; return 1; }; done; }
finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit $?
}

if [ "$(id -u)" -ne 0 ]; then
	fail "must run as root (installs packages)"
	finish
fi
: >"$LOGS/checks.log"

# Start from a machine without the packages.
dpkg --purge okta-jit-web libnss-okta-jit libpam-okta-jit okta-jit >"$LOGS/pre-purge.log" 2>&1 || true
if getent passwd okta-jit-keys >/dev/null; then
	fail "user okta-jit-keys exists before the packages are installed (not made by them: remove it by hand)"
	finish
fi
if getent group okta-jit-web >/dev/null; then
	fail "group okta-jit-web exists before the packages are installed (not made by them: remove it by hand)"
	finish
fi

BINARIES=(/usr/sbin/okta-jitd /usr/bin/okta-jit "$PAMMOD" "$NSSMOD" /usr/sbin/okta-jit-web)
COMPLETION=/usr/share/bash-completion/completions/okta-jit
MANPAGES=(/usr/share/man/man1/okta-jit.1.gz /usr/share/man/man8/okta-jitd.8.gz
	/usr/share/man/man8/pam_okta_jit.8.gz /usr/share/man/man5/okta-jit.conf.5.gz
	/usr/share/man/man8/libnss_okta_jit.8.gz /usr/share/man/man8/okta-jit-web.8.gz)

# ---- systemd unit ----------------------------------------------------------
echo "== systemd-analyze security --offline=true $UNIT"
systemd-analyze security --offline=true "$UNIT" >"$LOGS/systemd-analyze.log" 2>&1
exposure=$(sed -n 's/.*Overall exposure level for okta-jitd.service: \([0-9.]*\).*/\1/p' "$LOGS/systemd-analyze.log")
echo "   exposure: ${exposure:-?} $(grep -o 'Overall exposure level.*' "$LOGS/systemd-analyze.log" | sed 's/.*: [0-9.]* //')"
check "unit exposure ${exposure:-?} <= 2.5" awk -v e="${exposure:-99}" 'BEGIN { exit !(e <= 2.5) }'
echo "== systemd-analyze security --offline=true $WEB_UNIT"
systemd-analyze security --offline=true "$WEB_UNIT" >"$LOGS/systemd-analyze-web.log" 2>&1
wexposure=$(sed -n 's/.*Overall exposure level for okta-jit-web.service: \([0-9.]*\).*/\1/p' "$LOGS/systemd-analyze-web.log")
echo "   exposure: ${wexposure:-?}"
check "web unit exposure ${wexposure:-?} <= 2.0 (DynamicUser=, no capability)" \
	awk -v e="${wexposure:-99}" 'BEGIN { exit !(e <= 2.0) }'

# ---- Debian ----------------------------------------------------------------
echo "== make deb"
if make -C "$ROOT" --no-print-directory BUILD="$BUILD" deb >"$LOGS/deb-build.log" 2>&1; then
	pass "make deb"
else
	fail "make deb (see $LOGS/deb-build.log)"
	tail -20 "$LOGS/deb-build.log"
	finish
fi
VERSION=$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)
ARCH=$(dpkg --print-architecture)
DEB_MAIN=$OUT/okta-jit_${VERSION}_${ARCH}.deb
DEB_PAM=$OUT/libpam-okta-jit_${VERSION}_${ARCH}.deb
DEB_NSS=$OUT/libnss-okta-jit_${VERSION}_${ARCH}.deb
DEB_WEB=$OUT/okta-jit-web_${VERSION}_${ARCH}.deb
CHANGES=$OUT/okta-jit_${VERSION}_${ARCH}.changes
check "built $(basename "$DEB_MAIN"), $(basename "$DEB_PAM"), $(basename "$DEB_NSS") and $(basename "$DEB_WEB")" \
	present "$DEB_MAIN" "$DEB_PAM" "$DEB_NSS" "$DEB_WEB"

echo "== lintian"
lintian --pedantic -I --show-overrides "$CHANGES" >"$LOGS/lintian.log" 2>&1
lint_e=$(grep -c '^E: ' "$LOGS/lintian.log")
lint_w=$(grep -c '^W: ' "$LOGS/lintian.log")
lint_i=$(grep -c '^[IP]: ' "$LOGS/lintian.log")
lint_o=$(grep -c '^O: ' "$LOGS/lintian.log")
echo "   lintian: $lint_e errors, $lint_w warnings, $lint_i info/pedantic, $lint_o overridden (each with a reason)"
grep '^[EWIP]: ' "$LOGS/lintian.log" | sed 's/^/   /'
check "lintian: no errors" test "$lint_e" -eq 0
check "lintian: no warnings (fixed or overridden with a reason)" test "$lint_w" -eq 0

echo "== deb contents"
check "okta-jit.deb: binaries, unit, config 0640, keys 0700, man pages, bash completion" bash -c "
	c=\$(dpkg-deb -c '$DEB_MAIN')
	for f in ./usr/sbin/okta-jitd ./usr/bin/okta-jit ./lib/systemd/system/okta-jitd.service \
		./usr/share/bash-completion/completions/okta-jit \
		./usr/share/man/man1/okta-jit.1.gz ./usr/share/man/man8/okta-jitd.8.gz \
		./usr/share/man/man5/okta-jit.conf.5.gz ./usr/share/doc/okta-jit/copyright \
		./usr/share/doc/okta-jit/changelog.Debian.gz; do
		grep -q \" \$f\$\" <<<\"\$c\" || { echo missing \$f; exit 1; }
	done
	grep -q '^-rw-r----- root/root .* ./etc/okta-jit/okta-jit.conf\$' <<<\"\$c\" &&
	grep -q '^drwx------ root/root .* ./etc/okta-jit/keys/\$' <<<\"\$c\""
check "libpam-okta-jit.deb: module in /lib/$MA/security, profile, man page" bash -c "
	c=\$(dpkg-deb -c '$DEB_PAM')
	for f in .$PAMMOD ./usr/share/pam-configs/okta-jit ./usr/share/man/man8/pam_okta_jit.8.gz; do
		grep -q \" \$f\$\" <<<\"\$c\" || { echo missing \$f; exit 1; }
	done"
check "libpam-okta-jit depends on okta-jit (= $VERSION)" bash -c \
	"dpkg-deb -f '$DEB_PAM' Depends | grep -q 'okta-jit (= $VERSION)'"
check "libnss-okta-jit.deb: the module in the multiarch lib dir, its man page, Multi-Arch: same" bash -c "
	dpkg-deb -c '$DEB_NSS' | grep -q ' .$NSSMOD\$' &&
	dpkg-deb -c '$DEB_NSS' | grep -q ' ./usr/share/man/man8/libnss_okta_jit.8.gz\$' &&
	dpkg-deb -f '$DEB_NSS' Multi-Arch | grep -qx same"
check "libnss-okta-jit.deb: the module's SONAME is libnss_okta_jit.so.2" bash -c "
	d=\$(mktemp -d) && dpkg-deb -x '$DEB_NSS' \$d &&
	objdump -p \$d$NSSMOD | grep -q 'SONAME *libnss_okta_jit.so.2\$'; rc=\$?; rm -rf \$d; exit \$rc"
check "libnss-okta-jit.deb: ldconfig trigger (as Debian's libnss-* packages)" bash -c "
	d=\$(mktemp -d) && dpkg-deb -e '$DEB_NSS' \$d &&
	grep -qx 'activate-noawait ldconfig' \$d/triggers; rc=\$?; rm -rf \$d; exit \$rc"
check "okta-jit.deb: depends on adduser (postinst makes okta-jit-keys)" bash -c \
	"dpkg-deb -f '$DEB_MAIN' Depends | grep -qw adduser"
check "okta-jit.deb: recommends bash-completion" bash -c \
	"dpkg-deb -f '$DEB_MAIN' Recommends | grep -qw bash-completion"
check "okta-jit-web.deb: the binary, its unit and man page; okta-jit-web is in no other package" bash -c "
	c=\$(dpkg-deb -c '$DEB_WEB')
	for f in ./usr/sbin/okta-jit-web ./lib/systemd/system/okta-jit-web.service \
		./usr/share/man/man8/okta-jit-web.8.gz ./usr/share/doc/okta-jit-web/copyright; do
		grep -q \" \$f\$\" <<<\"\$c\" || { echo missing \$f; exit 1; }
	done
	! dpkg-deb -c '$DEB_MAIN' | grep -q okta-jit-web"
check "okta-jit-web depends on okta-jit (= $VERSION) and adduser (postinst makes the group)" bash -c \
	"d=\$(dpkg-deb -f '$DEB_WEB' Depends) && grep -q 'okta-jit (= $VERSION)' <<<\"\$d\" && grep -qw adduser <<<\"\$d\""

# ---- RPM -------------------------------------------------------------------
echo "== make rpm"
if make -C "$ROOT" --no-print-directory BUILD="$BUILD" rpm >"$LOGS/rpm-build.log" 2>&1; then
	pass "make rpm (rpmbuild)"
else
	fail "make rpm (see $LOGS/rpm-build.log)"
	tail -20 "$LOGS/rpm-build.log"
fi
RPMV=$(sed -n 's/^Version: *//p' packaging/rpm/okta-jit.spec)
RPM_MAIN=$(ls "$OUT"/okta-jit-"$RPMV"-*.x86_64.rpm 2>/dev/null | head -1)
RPM_PAM=$(ls "$OUT"/okta-jit-pam-"$RPMV"-*.x86_64.rpm 2>/dev/null | head -1)
RPM_NSS=$(ls "$OUT"/okta-jit-nss-"$RPMV"-*.x86_64.rpm 2>/dev/null | head -1)
RPM_WEB=$(ls "$OUT"/okta-jit-web-"$RPMV"-*.x86_64.rpm 2>/dev/null | head -1)
SRPM=$(ls "$OUT"/okta-jit-"$RPMV"-*.src.rpm 2>/dev/null | head -1)
if [ -n "$RPM_MAIN" ] && [ -n "$RPM_PAM" ] && [ -n "$RPM_NSS" ] && [ -n "$RPM_WEB" ]; then
	echo "== rpmlint"
	rpmlint -c packaging/rpm/rpmlint.toml "$RPM_MAIN" "$RPM_PAM" "$RPM_NSS" "$RPM_WEB" ${SRPM:+"$SRPM"} \
		packaging/rpm/okta-jit.spec \
		>"$LOGS/rpmlint.log" 2>&1
	grep -E ': [EW]: ' "$LOGS/rpmlint.log" | sed 's/^/   /'
	summary=$(grep 'packages and .* specfiles checked' "$LOGS/rpmlint.log")
	echo "   rpmlint:$summary"
	check "rpmlint: no errors" grep -q ' 0 errors' <<<"$summary"
	rpm -qplv --nosignature "$RPM_MAIN" "$RPM_PAM" "$RPM_NSS" "$RPM_WEB" >"$LOGS/rpm-contents.log" 2>&1
	sed 's/^/   /' "$LOGS/rpm-contents.log" | grep -v '\.build-id'
	check "rpm: binaries, unit, preset, man pages, bash completion, LICENSE" bash -c "
		for f in /usr/sbin/okta-jitd /usr/bin/okta-jit /usr/lib64/security/pam_okta_jit.so \
			/usr/share/bash-completion/completions/okta-jit \
			/usr/lib64/libnss_okta_jit.so.2 /usr/share/man/man8/libnss_okta_jit.8.gz \
			/usr/lib/systemd/system/okta-jitd.service /usr/lib/systemd/system-preset/80-okta-jit.preset \
			/usr/share/man/man1/okta-jit.1.gz /usr/share/man/man8/okta-jitd.8.gz \
			/usr/share/man/man8/pam_okta_jit.8.gz /usr/share/man/man5/okta-jit.conf.5.gz \
			/usr/share/licenses/okta-jit-$RPMV/LICENSE; do
			grep -q \" \$f\$\" '$LOGS/rpm-contents.log' || { echo missing \$f; exit 1; }
		done"
	check "rpm: config 0640 root, keys 0700, /var/lib/okta-jit 0700" bash -c "
		grep -q '^-rw-r----- .*root *root .* /etc/okta-jit/okta-jit.conf\$' '$LOGS/rpm-contents.log' &&
		grep -q '^drwx------ .*root *root .* /etc/okta-jit/keys\$' '$LOGS/rpm-contents.log' &&
		grep -q '^drwx------ .*root *root .* /var/lib/okta-jit\$' '$LOGS/rpm-contents.log'"
	check "rpm: config is %config(noreplace)" bash -c \
		"rpm -qp --nosignature --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' '$RPM_MAIN' | grep -q '^cn /etc/okta-jit/okta-jit.conf\$'"
	check "rpm: okta-jit-pam requires okta-jit = $RPMV" bash -c \
		"rpm -qpR --nosignature '$RPM_PAM' | grep -q '^okta-jit(x86-64) = $RPMV'"
	check "rpm: okta-jit-nss holds the module in %{_libdir} and runs ldconfig" bash -c "
		rpm -qpl --nosignature '$RPM_NSS' | grep -qx /usr/lib64/libnss_okta_jit.so.2 &&
		s=\$(rpm -qp --nosignature --scripts '$RPM_NSS') &&
		grep -q 'postinstall program: /sbin/ldconfig' <<<\"\$s\" &&
		grep -q 'postuninstall program: /sbin/ldconfig' <<<\"\$s\""
	check "rpm: okta-jit's %pre makes the system user okta-jit-keys (nologin)" bash -c "
		rpm -qp --nosignature --scripts '$RPM_MAIN' | sed -n '/^preinstall scriptlet/,/^postinstall scriptlet/p' |
		grep -q 'useradd -r .*-s /sbin/nologin .*okta-jit-keys' &&
		rpm -qpR --nosignature '$RPM_MAIN' | grep -q '^shadow-utils'"
	check "rpm: /var/cache/okta-jit 0755 root" \
		grep -q '^drwxr-xr-x .*root *root .* /var/cache/okta-jit$' "$LOGS/rpm-contents.log"
	check "rpm: okta-jit-web holds the binary, its unit, preset and man page, and requires okta-jit = $RPMV" bash -c "
		l=\$(rpm -qpl --nosignature '$RPM_WEB') &&
		for f in /usr/sbin/okta-jit-web /usr/lib/systemd/system/okta-jit-web.service \
			/usr/lib/systemd/system-preset/80-okta-jit-web.preset /usr/share/man/man8/okta-jit-web.8.gz; do
			grep -qx \$f <<<\"\$l\" || { echo missing \$f; exit 1; }
		done
		! rpm -qpl --nosignature '$RPM_MAIN' | grep -q okta-jit-web &&
		rpm -qpR --nosignature '$RPM_WEB' | grep -q '^okta-jit(x86-64) = $RPMV'"
	check "rpm: okta-jit-web's %pre makes the system group okta-jit-web" bash -c "
		rpm -qp --nosignature --scripts '$RPM_WEB' | sed -n '/^preinstall scriptlet/,/^postinstall scriptlet/p' |
		grep -q 'groupadd -r okta-jit-web'"
else
	fail "rpmbuild made okta-jit, okta-jit-pam, okta-jit-nss and okta-jit-web x86_64 RPMs"
fi

# ---- install ---------------------------------------------------------------
echo "== dpkg -i"
cp /etc/pam.d/common-account "$LOGS/common-account.before"
cp /etc/pam.d/common-session "$LOGS/common-session.before"
cp /etc/nsswitch.conf "$LOGS/nsswitch.conf.before"
sshd_before=$(cat /etc/ssh/sshd_config /etc/ssh/sshd_config.d/* 2>/dev/null | sha256sum)
if dpkg -i "$DEB_MAIN" "$DEB_PAM" "$DEB_NSS" "$DEB_WEB" >"$LOGS/install.log" 2>&1 ||
	apt-get install -f -y -q >>"$LOGS/install.log" 2>&1; then
	pass "dpkg -i okta-jit libpam-okta-jit libnss-okta-jit okta-jit-web"
else
	fail "dpkg -i (see $LOGS/install.log)"
	tail -20 "$LOGS/install.log"
fi
check "the four packages installed" bash -c \
	"dpkg-query -W -f='\${db:Status-Status}\n' okta-jit libpam-okta-jit libnss-okta-jit okta-jit-web | grep -vx installed | (! grep .)"
check "installed: binaries, module, man pages, bash completion, profile, units" present "${BINARIES[@]}" "${MANPAGES[@]}" "$COMPLETION" \
	/usr/share/pam-configs/okta-jit /lib/systemd/system/okta-jitd.service /lib/systemd/system/okta-jit-web.service
check "the PAM module is where pkg-config's pam libdir says" \
	test -e "$(pkg-config --variable=libdir pam)/security/pam_okta_jit.so"
check "/etc/okta-jit/okta-jit.conf 0640 root:root" mode_is /etc/okta-jit/okta-jit.conf 640 root:root
check "/etc/okta-jit/keys 0700 root:root" mode_is /etc/okta-jit/keys 700 root:root
check "/var/lib/okta-jit 0700 root:root" mode_is /var/lib/okta-jit 700 root:root
check "/etc/okta-jit/okta-jit.conf is a conffile" bash -c \
	"dpkg-query -W -f='\${Conffiles}\n' okta-jit | grep -q '^ /etc/okta-jit/okta-jit.conf '"
check "config is the example" cmp /etc/okta-jit/okta-jit.conf packaging/okta-jit.conf.example
check "okta-jitd.service enabled (multi-user.target.wants symlink)" \
	bash -c "[ \"\$(readlink '$WANTS')\" = /lib/systemd/system/okta-jitd.service ]"
check "okta-jitd.service not started (no daemon, no socket)" bash -c \
	"! pgrep -f '^/usr/sbin/okta-jitd' && [ ! -e /run/okta-jit/okta-jitd.sock ]"
check "installing changed no PAM stack (profile is Default: no)" bash -c \
	"cmp /etc/pam.d/common-account '$LOGS/common-account.before' &&
	 cmp /etc/pam.d/common-session '$LOGS/common-session.before' && ! grep -rqs pam_okta_jit /etc/pam.d"
check "systemd-analyze verify: installed unit is clean" bash -c \
	"systemd-analyze verify --man=no /lib/systemd/system/okta-jitd.service 2>&1 | (! grep .)"
echo "== okta-jit-web"
check "group okta-jit-web: a system group (gid < 1000), no member" bash -c "
	IFS=: read -r n _ gid members < <(getent group okta-jit-web) &&
	[ \"\$n\" = okta-jit-web ] && [ \"\$gid\" -lt 1000 ] && [ -z \"\$members\" ]"
check "okta-jit-web.service enabled (multi-user.target.wants symlink), not started" bash -c \
	"[ \"\$(readlink '$WEB_WANTS')\" = /lib/systemd/system/okta-jit-web.service ] && ! pgrep -f '^/usr/sbin/okta-jit-web'"
check "systemd-analyze verify: installed okta-jit-web.service is clean" bash -c \
	"systemd-analyze verify --man=no /lib/systemd/system/okta-jit-web.service 2>&1 | (! grep .)"
check "the unit's SupplementaryGroups= is the group the package made" bash -c \
	"grep -qx 'SupplementaryGroups=okta-jit-web' /lib/systemd/system/okta-jit-web.service"
check "installed okta-jit-web runs (--help)" bash -c "/usr/sbin/okta-jit-web --help 2>&1 | grep -qi usage"
check "installed okta-jit runs (--help)" bash -c "/usr/bin/okta-jit --help 2>&1 | grep -qi usage"
check "installed module exports the PAM entry points" bash -c \
	"nm -D --defined-only '$PAMMOD' | grep -c ' T pam_sm_' | grep -qx 5"
echo "== NSS module and the keys user"
# glibc's NSS dlopens "libnss_okta_jit.so.2" by name: the run-time linker's
# cache must know it (the ldconfig trigger ran), and the same dlopen by name
# must load it and find the passwd and group entry points.
# (with merged /usr, ldconfig names /lib/MA for /usr/lib/MA)
check "ld.so.cache names $NSSMOD (the ldconfig trigger ran)" bash -c \
	"ldconfig -p | grep -Eq 'libnss_okta_jit.so.2 \\(libc6,x86-64\\) => (/usr)?/lib/$MA/libnss_okta_jit.so.2\$'"
check "dlopen(\"libnss_okta_jit.so.2\") by name finds the NSS entry points" "$PYTHON" -c "
import ctypes
m = ctypes.CDLL('libnss_okta_jit.so.2')
for f in ('getpwnam_r', 'getpwuid_r', 'getgrnam_r', 'getgrgid_r', 'initgroups_dyn'):
    getattr(m, '_nss_okta_jit_' + f)
"
check "user okta-jit-keys: system uid, no home, nologin shell" bash -c "
	IFS=: read -r n _ uid _ _ home shell < <(getent passwd okta-jit-keys) &&
	[ \"\$n\" = okta-jit-keys ] && [ \"\$uid\" -lt 1000 ] && [ ! -e \"\$home\" ] &&
	[ \"\$shell\" = /usr/sbin/nologin ]"
check "installing changed neither nsswitch.conf nor sshd_config" bash -c \
	"cmp /etc/nsswitch.conf '$LOGS/nsswitch.conf.before' &&
	 [ \"\$(cat /etc/ssh/sshd_config /etc/ssh/sshd_config.d/* 2>/dev/null | sha256sum)\" = '$sshd_before' ]"

echo "== conffile handling"
echo "# local change by check.sh" >>/etc/okta-jit/okta-jit.conf
dpkg -i --force-confdef --force-confold "$DEB_MAIN" >"$LOGS/reinstall.log" 2>&1
check "reinstalling keeps a changed config" grep -q '^# local change by check.sh$' /etc/okta-jit/okta-jit.conf
chmod 0755 /etc/okta-jit/keys
dpkg -i --force-confdef --force-confold "$DEB_MAIN" >>"$LOGS/reinstall.log" 2>&1
check "reinstalling restores keys to 0700" mode_is /etc/okta-jit/keys 700 root:root
check "reinstalling keeps the one okta-jit-keys user" bash -c \
	"[ \"\$(getent passwd | grep -c '^okta-jit-keys:')\" = 1 ]"
dpkg -i "$DEB_WEB" >>"$LOGS/reinstall.log" 2>&1
check "reinstalling okta-jit-web keeps the one okta-jit-web group" bash -c \
	"[ \"\$(getent group | grep -c '^okta-jit-web:')\" = 1 ]"

echo "== pam-auth-update profile"
if pam-auth-update --enable okta-jit >"$LOGS/pam-auth-update.log" 2>&1; then
	check "selected profile adds the module to common-account, for sshd/sudo only" bash -c \
		"grep -q 'pam_succeed_if.so quiet service notin sshd:sudo' /etc/pam.d/common-account &&
		 grep -q 'required.*pam_okta_jit.so group=okta-jit-access' /etc/pam.d/common-account"
	pam-auth-update --disable okta-jit >>"$LOGS/pam-auth-update.log" 2>&1
fi
check "deselecting restores common-account" cmp /etc/pam.d/common-account "$LOGS/common-account.before"

# ---- end to end against the installed binaries ------------------------------
echo "== end-to-end tests (OJIT_INSTALLED=1)"
tools=("$BUILD/tests/okta_driver" "$BUILD/tests/nss_cache_tool")
[ -f tests/tools/pam_driver.c ] && tools+=("$BUILD/tests/pam_driver")
make -C "$ROOT" --no-print-directory BUILD="$BUILD" WERROR=0 "${tools[@]}" >"$LOGS/tools-build.log" 2>&1 ||
	fail "build the test tools (see $LOGS/tools-build.log)"
k="pam or daemon_lifecycle or nss_e2e"
if ! ls tests/integration/test_pam*.py >/dev/null 2>&1; then
	echo "   (no tests/integration/test_pam*.py yet: -k \"$k\" selects the daemon tests)"
fi
OJIT_INSTALLED=1 OJIT_BUILD=$BUILD "$PYTHON" -m pytest -q -p no:cacheprovider tests/integration -k "$k" \
	>"$LOGS/pytest.log" 2>&1
rc=$?
tail -1 "$LOGS/pytest.log" | sed 's/^/   /'
if [ $rc -eq 0 ]; then pass "pytest -k \"$k\" against installed binaries"; else
	fail "pytest -k \"$k\" against installed binaries (rc $rc, see $LOGS/pytest.log)"
	grep -E '^(FAILED|ERROR)' "$LOGS/pytest.log" | head -20 | sed 's/^/   /'
fi

# ---- remove and purge ------------------------------------------------------
echo "== remove, then purge"
echo "ledger" >/var/lib/okta-jit/ledger.db
echo "key" >/etc/okta-jit/keys/okta.key
chmod 0600 /etc/okta-jit/keys/okta.key
pam-auth-update --enable okta-jit >>"$LOGS/pam-auth-update.log" 2>&1
check "profile selected before removal" grep -q pam_okta_jit.so /etc/pam.d/common-account
dpkg -r okta-jit-web libnss-okta-jit libpam-okta-jit okta-jit >"$LOGS/remove.log" 2>&1
check "dpkg -r removed the four" bash -c \
	"! dpkg-query -W -f='\${db:Status-Status}\n' okta-jit libpam-okta-jit libnss-okta-jit okta-jit-web | grep -qx installed"
check "remove: prerm took the profile out of the PAM stack" bash -c \
	"cmp /etc/pam.d/common-account '$LOGS/common-account.before' && ! grep -rqs pam_okta_jit /etc/pam.d"
check "remove: binaries, module, bash completion and profile gone" absent "${BINARIES[@]}" "$COMPLETION" /usr/share/pam-configs/okta-jit
check "remove: ld.so.cache no longer names the NSS module" bash -c "! ldconfig -p | grep -q libnss_okta_jit"
check "remove: ledger, config and key kept" present /var/lib/okta-jit/ledger.db \
	/etc/okta-jit/okta-jit.conf /etc/okta-jit/keys/okta.key
dpkg --purge okta-jit-web libnss-okta-jit libpam-okta-jit okta-jit >"$LOGS/purge.log" 2>&1
check "dpkg --purge: packages unknown to dpkg" bash -c \
	"! dpkg-query -W okta-jit libpam-okta-jit libnss-okta-jit okta-jit-web 2>/dev/null | grep -q ."
check "purge: user and group okta-jit-keys deleted" bash -c \
	"! getent passwd okta-jit-keys && ! getent group okta-jit-keys"
check "purge: group okta-jit-web deleted" bash -c "! getent group okta-jit-web"
check "purge: nothing left" absent /etc/okta-jit /var/lib/okta-jit /run/okta-jit /var/cache/okta-jit \
	/usr/share/pam-configs/okta-jit "${BINARIES[@]}" "${MANPAGES[@]}" "$COMPLETION" \
	/lib/systemd/system/okta-jitd.service "$WANTS" /usr/share/doc/okta-jit /usr/share/doc/libpam-okta-jit /usr/share/doc/libnss-okta-jit \
	/lib/systemd/system/okta-jit-web.service "$WEB_WANTS" /usr/share/doc/okta-jit-web
check "purge: no okta-jit file in the filesystem" bash -c \
	"! find /etc /usr /lib /var/lib /run -xdev \( -name '*okta-jit*' -o -name 'pam_okta_jit*' -o -name 'libnss_okta_jit*' \) \
	 -not -path '$ROOT/*' -not -path '$BUILD/*' 2>/dev/null | grep -v '^/var/lib/systemd/deb-systemd' | grep ."

finish
