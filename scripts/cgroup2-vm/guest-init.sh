#!/bin/sh
# Stage 2 of the cgroup2 test VM: PID 1 once stage 1 has switched root. The
# root is the host's root (read-only 9p) under a tmpfs overlay, the project
# an initramfs copy at its own path, /tmp a fresh ext2 on the scratch disk.
# This mounts cgroup2 alone at /sys/fs/cgroup (the kernel booted with
# cgroup_no_v1=all), enables every controller in the root's
# cgroup.subtree_control, moves itself to /init.scope and runs the tests in
# /system.slice/cordon-tests.service (as on a systemd host: no process in
# the root cgroup), with TAP on the console (guest-runner.js, or tap's
# runner), then prints
#   CGROUP2_VM_EXIT_STATUS <nonce> <status>
# and powers off. $1 is the settings file run.js wrote (copied by stage 1).

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb NO_COLOR=1 FORCE_COLOR=0 TZ=UTC

SETTINGS="$1"
CGVM_NONCE=unknown
status=125

say() { echo "# cgroup2-vm: [$(cut -d" " -f1 /proc/uptime)] $*"; }

finish() {
  # The status line is what run.js waits for; then off, whatever happened.
  echo "CGROUP2_VM_EXIT_STATUS $CGVM_NONCE $status"
  sync
  echo o > /proc/sysrq-trigger
  sleep 30 2>/dev/null
}

fail() {
  say "guest setup failed: $*"
  status=125
  finish
}

if [ -z "$SETTINGS" ] || [ ! -r "$SETTINGS" ]; then
  fail "no run settings at '$SETTINGS'"
fi
. "$SETTINGS"

mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run || fail "mount /run"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /var/tmp || fail "mount /var/tmp"
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=0620,ptmxmode=0666 devpts /dev/pts || fail "mount /dev/pts"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm || fail "mount /dev/shm"
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd

# cgroup2, alone, where a pure-v2 systemd host has it.
mount -t cgroup2 -o "${CGVM_CGROUP2_OPTS:-nsdelegate,memory_recursiveprot}" cgroup2 /sys/fs/cgroup ||
  fail "mount cgroup2 at /sys/fs/cgroup"
CG=/sys/fs/cgroup
for controller in $(cat "$CG/cgroup.controllers"); do
  echo "+$controller" > "$CG/cgroup.subtree_control" || say "could not enable $controller in the root's cgroup.subtree_control"
done
mkdir -p "$CG/init.scope" && echo $$ > "$CG/init.scope/cgroup.procs" || fail "move init to /init.scope"
TESTS_CG="$CG/system.slice/cordon-tests.service"
mkdir -p "$TESTS_CG" || fail "mkdir $TESTS_CG"

say "kernel $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ { print int($2 / 1024) " MiB" }' /proc/meminfo)"
say "cmdline: $(cat /proc/cmdline)"
say "cgroup mounts: $(grep cgroup /proc/self/mounts | tr '\n' ';')"
say "/sys/fs/cgroup/cgroup.controllers: $(cat $CG/cgroup.controllers)"
say "/sys/fs/cgroup/cgroup.subtree_control: $(cat $CG/cgroup.subtree_control)"
say "/sys/fs/cgroup: $(ls $CG | tr '\n' ' ')"
say "/tmp: $(grep ' /tmp ' /proc/self/mounts)"
say "node $("$CGVM_NODE" --version) at $CGVM_NODE; project $CGVM_PROJECT"
say "tests: $CGVM_FILES"

cd "$CGVM_PROJECT" || fail "cd $CGVM_PROJECT"
# The project dir is the guest's own copy: .tap/ and the like are written here, never on the host.

if [ "${CGVM_SHELL:-0}" = 1 ]; then
  say "interactive shell (exit to power off)"
  sh -c 'echo $$ > "$1/cgroup.procs"; exec sh -i </dev/console >/dev/console 2>&1' sh "$TESTS_CG"
  status=$?
  finish
fi

# $CGVM_TAP_ARGS and $CGVM_FILES are split on blanks on purpose (run.js
# refuses file names with blanks). The runner goes into its own cgroup
# first; the test processes inherit it.
if [ "${CGVM_RUNNER:-node}" = tap ]; then
  set -- "$CGVM_NODE" "$CGVM_PROJECT/node_modules/tap/dist/esm/run.mjs" --reporter=tap $CGVM_TAP_ARGS $CGVM_FILES
else
  set -- "$CGVM_NODE" "$CGVM_PROJECT/scripts/cgroup2-vm/guest-runner.js" --timeout="${CGVM_FILE_TIMEOUT:-600}" $CGVM_FILES
fi
say "runner: $*"
sh -c 'echo $$ > "$1/cgroup.procs" || exit 125; shift; exec "$@"' sh "$TESTS_CG" "$@" &
runner=$!
# PID 1 reaps every orphan while it waits (dash's wait is waitpid(-1)).
wait $runner
status=$?

say "leftover cgroups under /sys/fs/cgroup: $(cd $CG && find . -mindepth 1 -type d | grep -v -e '^./init.scope$' -e '^./system.slice$' -e '^./system.slice/cordon-tests.service$' | tr '\n' ' ')"
finish
