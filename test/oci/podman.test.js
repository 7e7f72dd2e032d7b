// podman with cordon as its OCI runtime (--runtime): a locally imported
// busybox image (no registry), the argv podman calls recorded by a wrapper.
// Root only: rootless podman needs newuidmap/subuid set up for the user.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const t = require('tap');

const { requireOrSkip, skipExpected } = require('../helpers/skip');
const { isRoot } = require('../helpers/payload');
const { busyboxImage, scratch } = require('../helpers/images');

const cli = path.join(__dirname, '..', '..', 'dist', 'cli.js');

function podmanPresent() {
  return spawnSync('podman', ['--version'], { encoding: 'utf8' }).status === 0;
}

t.test('podman run --rm: output, exit status, and the runtime verbs it calls', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass: podman runs as root here (rootless podman needs subuid/newuidmap for this user)')) return;
  if (!requireOrSkip(t, podmanPresent(), 'podman (apt-get install podman)')) return;
  const dir = scratch(t, 'cordon-podman-');
  const argvLog = path.join(dir, 'argv.log');
  // podman starts the runtime with an environment of its own: the log path
  // is written into this wrapper (what bin/cordon-oci-wrapper does with
  // CORDON_OCI_ARGV_LOG).
  const wrapper = path.join(dir, 'cordon-oci');
  fs.writeFileSync(wrapper, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${argvLog}'\nexec '${process.execPath}' '${cli}' oci "$@"\n`, { mode: 0o755 });
  // podman's defaults (containers.conf) as they are: its
  // net.ipv4.ping_group_range sysctl is set in the box's own net namespace.
  const rootfs = path.join(dir, 'rootfs');
  busyboxImage(rootfs);
  const tar = path.join(dir, 'rootfs.tar');
  t.equal(spawnSync('tar', ['-C', rootfs, '-cf', tar, '.']).status, 0);
  const image = `localhost/cordon-test-busybox:${process.pid}`;
  const imported = spawnSync('podman', ['import', tar, image], { encoding: 'utf8' });
  t.equal(imported.status, 0, imported.stderr);
  t.teardown(() => spawnSync('podman', ['rmi', '--force', image]));
  const env = { ...process.env };
  const podman = (args) => spawnSync('podman', ['--runtime', wrapper, '--runtime-flag', 'host-credentials', ...args], { encoding: 'utf8', env, timeout: 120000 });

  // What podman's defaults still need: its nofile limit (1048576) is above
  // this process's hard limit: cordon raises it before the capabilities
  // drop, but this host's root has no CAP_SYS_RESOURCE. Its default seccomp
  // profile (with argument filters on personality and socket), its default
  // network (a namespace joined by path, with a sysfs mount) and its sysctl
  // run as they are.
  const limits = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];
  const result = podman(['run', '--rm', ...limits, image, 'sh', '-c', 'echo hi from $$; id -u; cat /proc/sys/net/ipv4/ping_group_range; ls /sys/class/net | tr "\\n" " "; exit 3']);
  t.equal(result.status, 3, `podman run's status is the container's: ${result.stderr}`);
  const [own, interfaces] = result.stdout.split(/(?<=\n)(?=[^\n]*$)/);
  t.match(interfaces, /(^| )lo /, 'podman\'s default network: the namespace it made, with its sysfs');
  t.notMatch(interfaces, /cni-podman0|podman0/, 'the host\'s bridge is not in the box\'s sysfs');
  t.equal(own.replace(/\s+(?=\d+\n$)/, ' '), 'hi from 2\n0\n0 0\n', 'its output (PID 2 under cordon\'s init), and podman\'s default ping_group_range ("0 0"; the kernel\'s is "1 0") in the box');
  const verbs = fs.readFileSync(argvLog, 'utf8').trim().split('\n').map((line) => line.replace(/^--host-credentials /, '').split(' ')[0]);
  t.same(verbs, ['create', 'start', 'delete'], 'podman created, started and deleted the container through cordon');
  t.match(fs.readFileSync(argvLog, 'utf8'), /^--host-credentials create --bundle \S+ --pid-file \S+ [0-9a-f]{64}$/m, 'create got a bundle and a pid file');

  // -t: podman's conmon passes --console-socket; cordon sends it the pty master.
  fs.writeFileSync(argvLog, '');
  const tty = podman(['run', '-t', '--rm', ...limits, image, 'sh', '-c', '[ -t 0 ] && [ -t 1 ] && echo terminal; exit 4']);
  t.equal(tty.status, 4, tty.stderr);
  t.equal(tty.stdout, 'terminal\r\n', 'fds 0 and 1 are a terminal (the pty turns \\n into \\r\\n)');
  t.match(fs.readFileSync(argvLog, 'utf8'), /create .*--console-socket \S+ /, 'conmon asked for the terminal through --console-socket');

  // podman's default seccomp profile is in force, argument filters and all:
  // a static probe makes the calls it filters (test/oci/seccomp-calls.c).
  const probe = path.join(rootfs, 'bin', 'seccomp-calls');
  const built = spawnSync('cc', ['-static', '-O1', '-o', probe, path.join(__dirname, 'seccomp-calls.c')], { encoding: 'utf8' });
  if (requireOrSkip(t, built.status === 0, `a C compiler with a static libc (cc -static): ${built.stderr ?? built.error?.message}`)) {
    const probeTar = path.join(dir, 'probe.tar');
    t.equal(spawnSync('tar', ['-C', rootfs, '-cf', probeTar, '.']).status, 0);
    const probeImage = `localhost/cordon-test-seccomp:${process.pid}`;
    const importedProbe = spawnSync('podman', ['import', probeTar, probeImage], { encoding: 'utf8' });
    t.equal(importedProbe.status, 0, importedProbe.stderr);
    t.teardown(() => spawnSync('podman', ['rmi', '--force', probeImage]));
    fs.writeFileSync(argvLog, '');
    const calls = podman(['run', '--rm', ...limits, probeImage, '/bin/seccomp-calls']);
    t.equal(calls.status, 0, calls.stderr);
    t.match(calls.stdout, /^personality-query ok$/m, 'personality(0xffffffff): allowed by the profile\'s argument filter');
    t.match(calls.stdout, /^personality-0x10000 err 38$/m, 'personality(0x10000): refused with the profile\'s default errno (ENOSYS)');
    t.match(calls.stdout, /^socket-netlink-audit err 22$/m, 'socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT): EINVAL, as the profile says without CAP_AUDIT_WRITE');
    t.match(calls.stdout, /^socket-netlink-route ok$/m, 'another netlink socket: allowed');
    t.match(calls.stdout, /^bpf err 1$/m, 'bpf without CAP_SYS_ADMIN: EPERM');
    t.same(fs.readFileSync(argvLog, 'utf8').trim().split('\n').map((line) => line.replace(/^--host-credentials /, '').split(' ')[0]), ['create', 'start', 'delete'], 'through cordon');
    // And unconfined still means no filter at all.
    const unconfined = podman(['run', '--rm', '--security-opt', 'seccomp=unconfined', ...limits, probeImage, '/bin/seccomp-calls']);
    t.equal(unconfined.status, 0, unconfined.stderr);
    t.match(unconfined.stdout, /^personality-0x10000 ok$/m, 'seccomp=unconfined: personality(0x10000) runs');
  }
  t.equal(spawnSync('podman', ['ps', '-a', '--filter', `ancestor=${image}`, '-q'], { encoding: 'utf8' }).stdout, '', 'nothing left in podman');
});
