#!/bin/busybox sh
# /init of the chaos VM: mounts what seismo and the tests need, loads the
# qdisc/veth modules, runs /guest.sh and powers off. The host reads the
# console: the last line "VMTEST-EXIT: N" is /guest.sh's exit status.
/bin/busybox --install -s /bin
export PATH=/usr/sbin:/usr/bin:/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
mkdir -p /var && ln -s /run /var/run
mount -t bpf bpf /sys/fs/bpf
mkdir -p /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
for m in /modules/*.ko; do
	insmod "$m" || echo "guest-init: insmod $m failed"
done
ip link set lo up
echo "guest-init: kernel $(uname -r), $(nproc) cpus"
sh /guest.sh
rc=$?
printf "\nVMTEST-EXIT: %s\n" "$rc"
sync
poweroff -f
