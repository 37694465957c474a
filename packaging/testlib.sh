# Shell helpers shared by tests/integration/package_*.sh (sourced, not run).
#
# pkg_debroot_tarball: prints the path of a cached Debian 12 minbase root
# (with systemd, for `systemd-analyze verify`), made once with debootstrap
# from deb.debian.org and kept under build/packaging/ so reruns only unpack
# it. Returns 77-worthy status 2 when debootstrap is missing or the mirror
# cannot be reached.

pkg_cache_dir() {
	echo "${BUILD:-$SEISMO_ROOT/build}/packaging/cache"
}

pkg_debroot_tarball() {
	local cache tarball work
	cache=$(pkg_cache_dir)
	tarball=$cache/bookworm-minbase-systemd.tar
	if [ -s "$tarball" ]; then
		echo "$tarball"
		return 0
	fi
	command -v debootstrap >/dev/null || return 2
	mkdir -p "$cache"
	work=$(mktemp -d "$cache/debootstrap.XXXXXX")
	# minbase keeps it small; systemd is there only so the unit files can be
	# checked with the systemd-analyze of the target system.
	if ! debootstrap --variant=minbase --include=systemd,ca-certificates \
		bookworm "$work" http://deb.debian.org/debian >"$cache/debootstrap.log" 2>&1; then
		echo "debootstrap failed, see $cache/debootstrap.log" >&2
		rm -rf "$work"
		return 2
	fi
	rm -rf "$work"/var/cache/apt/archives/*.deb
	tar -C "$work" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
	rm -rf "$work"
	echo "$tarball"
}
