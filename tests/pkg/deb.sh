#!/bin/sh
# deb.sh: builds the Debian package with "make deb" in build-deb/ and checks it: it holds what
# "make install" installs and only Debian's own files besides, the configuration is a conffile,
# installing it enables and starts nothing, and lintian reports no error. Prints PASS:/FAIL:
# lines and writes build-deb/deb-suite.log for scripts/summary; exits 1 when a check failed, 77
# when the Debian tools are missing (apt-get install dpkg-dev debhelper lintian fakeroot).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
for tool in dpkg-buildpackage dh lintian fakeroot; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "deb: $tool is missing: apt-get install dpkg-dev debhelper lintian fakeroot" >&2
		exit 77
	}
done
cd "$top"
[ -x configure ] || ./bootstrap >/dev/null
rm -rf build-deb
mkdir build-deb
cd build-deb
out=$(pwd)
pass=0 fail=0

# check NAME CMD...: one PASS or FAIL line.
check() {
	name=$1
	shift
	if "$@"; then
		echo "PASS: deb: $name"
		pass=$((pass + 1))
	else
		echo "FAIL: deb: $name"
		fail=$((fail + 1))
		return 1
	fi
}

finish() {
	printf '# PASS: %d\n# FAIL: %d\n' "$pass" "$fail" >"$out/deb-suite.log"
	[ "$fail" -eq 0 ]
	exit $?
}

# The suites ran already; the package build need not run them a third time.
build() {
	"$top/configure" >configure.out 2>&1 &&
		DEB_BUILD_OPTIONS="nocheck parallel=2" DEB_BUILD_PROFILES=nocheck make deb \
			>make-deb.out 2>&1 && ls tsinv_*.deb >/dev/null 2>&1
}
check "make deb builds tsinv_*.deb" build || {
	tail -n 30 make-deb.out configure.out 2>/dev/null >&2
	finish
}
version=$(sed -n 's/^PACKAGE_VERSION = //p' Makefile)
deb=$(ls tsinv_*.deb | head -n 1)
tree=deb/tsinv-$version
echo "deb: $deb, $(wc -c <"$deb") bytes"
check "the package's version is configure's ($version)" \
	test "$(dpkg-deb -f "$deb" Version)" = "$version"

# What "make install" puts, from the tree the package was configured and built in.
make -C "$tree" install DESTDIR="$out/root" >install.out 2>&1 || {
	tail -n 20 install.out >&2
	check "make install in the package's tree" false
	finish
}
(cd root && find . \( -type f -o -type l \) | sed 's|^\./||' | sort) >install.list
# The package's files, with dh_compress's .gz taken off where make install has the plain file,
# less what Debian adds to every package (copyright, changelog).
dpkg-deb --fsys-tarfile "$deb" | tar -t | sed -n 's|^\./||; /[^/]$/p' | sort >deb.raw
while read -r f; do
	case $f in
	usr/share/doc/tsinv/copyright | usr/share/doc/tsinv/changelog.gz) continue ;;
	*.gz) grep -qx "${f%.gz}" install.list && f=${f%.gz} ;;
	esac
	echo "$f"
done <deb.raw | sort >deb.list
same_files() {
	diff -u install.list deb.list >files.diff && return 0
	echo "deb: make install (-) and the package (+) differ:" >&2
	cat files.diff >&2
	return 1
}
check "the package holds exactly what make install installs" same_files
for f in usr/sbin/tsinvd usr/bin/tsinvctl usr/share/man/man8/tsinvd.8.gz \
	usr/share/man/man1/tsinvctl.1.gz usr/share/man/man5/tsinvd.conf.5.gz \
	lib/systemd/system/tsinvd.service lib/systemd/system/tsinvd.socket \
	usr/lib/sysusers.d/tsinv.conf usr/lib/tmpfiles.d/tsinv.conf etc/tsinv/tsinvd.conf \
	usr/share/doc/tsinv/examples/hooks/slack.sh usr/share/doc/tsinv/examples/hooks/README.md \
	usr/share/doc/tsinv/examples/tsinv-metrics.service \
	usr/share/doc/tsinv/examples/tsinv-metrics.timer; do
	check "ships /$f" grep -qx "$f" deb.raw
done

rm -rf x ctrl
dpkg-deb -x "$deb" x
dpkg-deb -e "$deb" ctrl
check "example hooks stay executable" test -x x/usr/share/doc/tsinv/examples/hooks/mail.sh
check "the packaged tsinvd runs and knows its version" \
	test "$(x/usr/sbin/tsinvd --version 2>&1)" = "tsinvd $version"
# The shipped configuration is complete but for the API key, which the unit loads as a credential.
mkdir -p creds
printf 'tskey-api-test\n' >creds/api-key
check "the packaged tsinvd -n accepts the packaged configuration with a key" \
	env CREDENTIALS_DIRECTORY="$out/creds" x/usr/sbin/tsinvd -n -c x/etc/tsinv/tsinvd.conf
without_key() {
	! env -u CREDENTIALS_DIRECTORY x/usr/sbin/tsinvd -n -c x/etc/tsinv/tsinvd.conf \
		2>no-key.err && grep -q 'api_key_file: cannot open api-key' no-key.err
}
check "the packaged tsinvd -n names the missing key" without_key
check "the unit starts the packaged tsinvd with the packaged configuration" \
	grep -qx 'ExecStart=/usr/sbin/tsinvd -c /etc/tsinv/tsinvd.conf' \
	x/lib/systemd/system/tsinvd.service
check "/etc/tsinv/tsinvd.conf is a conffile" grep -qx /etc/tsinv/tsinvd.conf ctrl/conffiles
# dh_installsystemd --no-enable: postinst enables a unit again only when the admin had enabled
# it (was-enabled), and deb-systemd-invoke starts no unit that is not enabled.
enables_only_again() {
	awk '/deb-systemd-helper enable/ && prev !~ /was-enabled/ {bad = 1}
		NF && $1 !~ /^#/ {prev = $0} END {exit bad}' ctrl/postinst &&
		! grep -Eq 'systemctl[^|;]* (enable|start)' ctrl/postinst
}
check "postinst enables a unit only when it was enabled before" enables_only_again

# Installed into an empty root as "dpkg --root" does it, the maintainer scripts running with
# DPKG_ROOT: the group and /run/tsinv are there, no unit is enabled, and purge takes it all.
root=$out/dpkg-root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
: >"$root/var/lib/dpkg/status"
: >"$root/var/lib/dpkg/available"
dpkg_root() {
	dpkg --root="$root" --force-script-chrootless --force-depends --force-not-root "$@" \
		>>dpkg-root.out 2>&1
}
check "dpkg --root installs it" dpkg_root -i "$deb"
gid=$(awk -F: '$1 == "tsinv" {print $3}' "$root/etc/group" 2>/dev/null)
check "postinst created the tsinv group" test -n "$gid"
check "postinst created /run/tsinv, mode 0750, group tsinv" \
	test "$(stat -c %a:%g "$root/run/tsinv" 2>/dev/null)" = "750:$gid"
check "installing enabled no unit" test -z "$(find "$root/etc" "$root/lib" -type l)"
check "dpkg --root purges it" dpkg_root --purge tsinv
check "purge leaves no file of the package" \
	test -z "$(cd "$root" && ls -d etc/tsinv usr/sbin/tsinvd lib/systemd/system/tsinvd.* \
		usr/lib/sysusers.d/tsinv.conf usr/share/doc/tsinv 2>/dev/null)"

# lintian: errors fail; warnings are shown, each with its reason in README's "Debian package".
lint() {
	lintian --fail-on error --tag-display-limit 0 "$deb" >lintian.out 2>&1
	rc=$?
	sed 's/^/deb: lintian: /' lintian.out
	return $rc
}
check "lintian reports no error" lint
finish
