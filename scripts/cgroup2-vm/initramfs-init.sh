#!/bin/busybox sh
# Stage 1 of the cgroup2 test VM: /init of the initramfs that run.js builds
# (static busybox, this script, a handful of modules from the Debian kernel
# package). It loads the modules, mounts the host's root (shared read-only by
# qemu over virtio-9p) under a tmpfs overlay so that the guest may write
# anywhere without touching the host, formats the scratch disk for /tmp,
# bind-mounts the project copy (appended to the initrd by run.js) at the
# project's path, and switches root into stage 2 (guest-init.sh).
# Whatever goes wrong, the VM powers off: run.js then reports the failure.

echo "# cgroup2-vm: stage 1 (initramfs)"
/bin/busybox mkdir -p /bin /proc /sys /dev /host /rw /newroot
/bin/busybox --install -s /bin
export PATH=/bin

mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t proc proc /proc
mount -t sysfs sysfs /sys

# Keys from the kernel command line: cgvm.init=..., cgvm.run=...
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    cgvm.init=*) CGVM_INIT="${arg#cgvm.init=}" ;;
    cgvm.run=*) CGVM_RUN="${arg#cgvm.run=}" ;;
    cgvm.msize=*) CGVM_MSIZE="${arg#cgvm.msize=}" ;;
    cgvm.project=*) CGVM_PROJECT="${arg#cgvm.project=}" ;;
  esac
done

die() {
  echo "cgroup2-vm: stage 1 (initramfs) failed: $*"
  echo "cgroup2-vm: mounts:"
  cat /proc/mounts
  echo "cgroup2-vm: kernel log tail:"
  dmesg | tail -n 25
  sync
  echo o > /proc/sysrq-trigger
  poweroff -f
  sleep 30
}

for module in $(cat /modules/load-order); do
  insmod "/modules/$module.ko" || die "insmod $module"
done

mount -t 9p -o "trans=virtio,version=9p2000.L,msize=${CGVM_MSIZE:-512000},cache=loose,ro" hostroot /host || die "mount the 9p host root"
mount -t tmpfs -o mode=0755 cgvm-rw /rw || die "mount the overlay's tmpfs"
mkdir -p /rw/upper /rw/work
# The host root is the only lower layer; every write lands in the tmpfs.
mount -t overlay -o lowerdir=/host,upperdir=/rw/upper,workdir=/rw/work,index=off,metacopy=off,redirect_dir=off,xino=off cgvm-root /newroot ||
  die "mount the overlay root"

# The scratch disk (found by its serial): a real block device for /tmp (the
# io throttle test needs its temp files on one), formatted on every boot.
disk() {
  for serial in /sys/block/vd*/serial; do
    [ "$(cat "$serial" 2>/dev/null)" = "$1" ] || continue
    dev="${serial%/serial}"
    echo "/dev/${dev##*/}"
    return 0
  done
  return 1
}

if scratch=$(disk cgvm-scratch); then
  mke2fs -q -F -m 0 -L cgvm-tmp "$scratch" >/dev/null || die "mke2fs $scratch"
  mount -t ext2 "$scratch" /newroot/tmp || die "mount $scratch on /tmp"
  chmod 1777 /newroot/tmp
else
  mount -t tmpfs -o mode=1777 tmpfs /newroot/tmp || die "mount a tmpfs on /tmp"
fi

# The project copy that run.js appended to the initrd (9p makes the thousands
# of lookups in node_modules far too slow under TCG): at the project's path.
if [ -d /cgvm-project ]; then
  [ -n "${CGVM_PROJECT:-}" ] || die "a project copy but no cgvm.project="
  mkdir -p "/newroot$CGVM_PROJECT"
  mount --bind /cgvm-project "/newroot$CGVM_PROJECT" || die "bind the project copy at $CGVM_PROJECT"
fi

[ -n "${CGVM_INIT:-}" ] || die "no cgvm.init= on the kernel command line"
[ -f "/newroot$CGVM_INIT" ] || die "stage 2 $CGVM_INIT is not in the guest's root"
# The run's settings, from the host's run dir (which the project tmpfs may hide).
cp "/host${CGVM_RUN:-/nonexistent}/env" /newroot/etc/cgroup2-vm.env || die "no run settings in ${CGVM_RUN:-(no cgvm.run=)}"

mount --move /dev /newroot/dev || die "move /dev"
mount --move /proc /newroot/proc || die "move /proc"
mount --move /sys /newroot/sys || die "move /sys"

# switch_root without its emptying of the initramfs, which holds the project copy.
cd /newroot || die "cd /newroot"
mount --move . / || die "move the new root onto /"
exec chroot . /bin/sh "$CGVM_INIT" /etc/cgroup2-vm.env
die "chroot into the new root"
