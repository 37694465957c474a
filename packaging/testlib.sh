# Shell helpers shared by tests/integration/package_*.sh (sourced, not run).
# Needs $SEISMO_ROOT and $BUILD, as tests/run.sh exports them.

pkg_cache_dir() {
	echo "$SEISMO_ROOT/build/packaging/cache"
}

# Re-runs the calling script in a private mount namespace, so every mount it
# makes into a chroot disappears with it, whatever happens. Call first:
#   pkg_enter_mountns "$0" "$@"
pkg_enter_mountns() {
	[ -n "${SEISMO_PKG_MOUNTNS:-}" ] && return 0
	SEISMO_PKG_MOUNTNS=1 exec unshare --mount --propagation private bash "$@"
}

# Prints the path of a cached Debian 12 minbase root, made once with
# debootstrap from deb.debian.org and kept under build/packaging/cache, so
# later runs only unpack it. It has systemd (for `systemd-analyze verify`),
# man-db (so the units' man: references are checked) and fresh apt lists.
# Returns 2 when debootstrap is missing or the mirror cannot be reached.
pkg_debroot_tarball() {
	local cache tarball work tmp
	cache=$(pkg_cache_dir)
	tarball=$cache/bookworm-minbase.tar
	if [ -s "$tarball" ]; then
		echo "$tarball"
		return 0
	fi
	command -v debootstrap >/dev/null || return 2
	mkdir -p "$cache"
	work=$(mktemp -d "${TMPDIR:-/tmp}/seismo-debootstrap.XXXXXX")
	if ! debootstrap --variant=minbase --include=systemd,man-db \
		bookworm "$work" http://deb.debian.org/debian >"$cache/debootstrap.log" 2>&1 ||
		! cp /etc/resolv.conf "$work/etc/resolv.conf" ||
		! chroot "$work" apt-get update -q >>"$cache/debootstrap.log" 2>&1; then
		echo "debootstrap failed, see $cache/debootstrap.log" >&2
		rm -rf --one-file-system "$work"
		return 2
	fi
	rm -f "$work"/var/cache/apt/archives/*.deb
	# Two test runs may build the cache at once: each writes its own file
	# and the rename is atomic.
	tmp=$(mktemp "$cache/bookworm-minbase.XXXXXX")
	tar -C "$work" -cf "$tmp" . && mv "$tmp" "$tarball"
	rm -rf --one-file-system "$work"
	echo "$tarball"
}

# Unpacks a fresh root into a new directory outside build/ (the top Makefile
# includes every *.d under build/, and a root file system is full of them)
# and prints it.
pkg_fresh_root() {
	local root
	root=$(mktemp -d "${TMPDIR:-/tmp}/seismo-root.XXXXXX") || return 1
	tar -C "$root" -xf "$1" || return 1
	# mktemp made it 0700: "/" must be 0755 or no unprivileged user of the
	# root (man, _apt, the services' users) can reach anything.
	chmod 0755 "$root" || return 1
	echo "$root"
}

# Mounts what a process in the chroot needs to see the real kernel: proc,
# sysfs, tracefs, cgroup2, bpffs; and the apt archive cache so packages the
# test installs are downloaded once. Only inside pkg_enter_mountns.
pkg_mount_kernel_fs() {
	local root=$1 cgroup
	mount -t proc proc "$root/proc"
	mount -t sysfs sysfs "$root/sys"
	mount -t tracefs nodev "$root/sys/kernel/tracing" 2>/dev/null || true
	mount -t bpf bpf "$root/sys/fs/bpf" 2>/dev/null || true
	mount -t cgroup2 none "$root/sys/fs/cgroup" 2>/dev/null || true
	mkdir -p "$(pkg_cache_dir)/archives/partial"
	mount --bind "$(pkg_cache_dir)/archives" "$root/var/cache/apt/archives"
}

# Unmounts everything under root, then deletes it without ever crossing into
# a file system still mounted there.
pkg_remove_root() {
	local root=$1
	[ -n "$root" ] && [ -d "$root" ] || return 0
	umount -R "$root/var/cache/apt/archives" 2>/dev/null
	umount -R "$root/sys" 2>/dev/null
	umount -R "$root/proc" 2>/dev/null
	if findmnt -rn -o TARGET | grep -q "^$root/"; then
		echo "not removing $root: still mounted" >&2
		return 1
	fi
	rm -rf --one-file-system "$root"
}

# Runs apt-get in the root with the given arguments, non-interactively. The
# archive cache is shared by every test run, so one apt at a time uses it.
pkg_apt() {
	local root=$1
	shift
	flock "$(pkg_cache_dir)/archives.lock" chroot "$root" \
		env DEBIAN_FRONTEND=noninteractive apt-get -q "$@"
}

# The common start of a package test: skips (77) unless root and every named
# tool are there; defines fail, in_root (a command in the test root $root)
# and a trap that removes $root at exit.
#   pkg_test_setup TOOL...
pkg_test_setup() {
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null ||
			{ echo "SKIP: $tool not installed (tools/deps.sh installs it)"; exit 77; }
	done
	[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for chroot and mounts"; exit 77; }
	root=
	trap 'pkg_remove_root "$root"' EXIT
}

fail() { echo "FAIL: $*" >&2; exit 1; }
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
