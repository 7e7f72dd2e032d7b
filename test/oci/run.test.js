// Bundles of `crun spec` / `runc spec` run under cordon, and the same bundle
// gives the same observable result under a reference runtime (runc or crun)
// and under cordon: uid, gid, groups, capabilities, hostname, mounts seen,
// masked and read-only paths, rlimits, PID 1, and a pids limit.
'use strict';
const t = require('tap');
const fs = require('node:fs');
const path = require('node:path');

const { loadOciBundle } = require('../..');
const { run, isRoot } = require('../helpers/payload');
const { requireOrSkip, skipExpected } = require('../helpers/skip');
const { toolSpec, makeBundle, runReference } = require('../helpers/oci');

// What a container sees of itself, one fact per line; fork-free where a
// pids limit may bite (globs and builtins only).
const FACTS = `
id -u; id -g; id -G
hostname
grep -E '^Cap(Eff|Bnd)' /proc/self/status
echo nofile $(ulimit -n)
echo pid $$
for m in /proc /dev /dev/pts /dev/shm /dev/mqueue /sys /proc/sys /proc/bus /data; do
  grep -q " $m " /proc/self/mountinfo && echo "mount $m $(grep " $m " /proc/self/mountinfo | head -n 1 | cut -d' ' -f6 | cut -c1-2)"
done
echo kcore $(cat /proc/kcore 2>/dev/null | wc -c)
echo write-root $(touch /rootfile 2>/dev/null && echo yes || echo no)
echo write-data $(touch /data/file 2>/dev/null && echo yes || echo no)
echo mkdir $(mkdir /dev/shm/made 2>/dev/null && echo yes || echo no)
`;
const PIDS = `for i in 1 2 3 4 5 6 7 8 9 10 11 12; do (sleep 30 &); done 2>/dev/null
n=0; for p in /proc/[0-9]*; do n=$((n+1)); done; echo procs $n`;

function spec(t) {
  const rootless = !isRoot;
  for (const tool of ['crun', 'runc']) {
    const config = toolSpec(t, tool, rootless);
    if (config !== undefined) return config;
  }
  return undefined;
}

async function underCordon(bundle, extra = {}) {
  const { file, args, options } = loadOciBundle(bundle, extra);
  return run(file, args, options);
}

t.test('the bundle of `crun spec` runs under cordon with what it asks for', async (t) => {
  const config = spec(t);
  if (!requireOrSkip(t, config !== undefined, 'crun or runc (apt-get install crun runc) to write a config')) return;
  const bundle = makeBundle(t, config, (c) => {
    c.process.terminal = false;
    c.process.args = ['sh', '-c', FACTS];
  });
  const result = await underCordon(bundle);
  t.equal(result.code, 0, result.stderr);
  const lines = result.stdout.split('\n');
  t.same(lines.slice(0, 3), ['0', '0', '0'], 'uid 0, gid 0, no other group');
  t.equal(lines[3], config.hostname, 'the hostname of the config');
  t.match(result.stdout, /CapEff:\s+0000000020000420\n/, 'CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE effective');
  t.match(result.stdout, /CapBnd:\s+0000000020000420\n/, 'and nothing else in the bounding set');
  t.match(result.stdout, /nofile 1024\n/, 'RLIMIT_NOFILE');
  t.match(result.stdout, /pid 1\n/, 'the process is PID 1');
  t.match(result.stdout, /mount \/dev\/mqueue /, 'its mqueue');
  t.match(result.stdout, /mount \/sys ro/, 'its read-only /sys');
  t.match(result.stdout, /mount \/proc\/sys ro/, 'readonlyPaths');
  t.match(result.stdout, /kcore 0\n/, 'maskedPaths');
  t.match(result.stdout, /write-root no\n/, 'root.readonly');
});

t.test('the same bundle under a reference runtime and under cordon: the same facts', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass: rootless crun and runc do not run containers on this host (no delegated cgroup v2)')) return;
  const config = spec(t);
  if (!requireOrSkip(t, config !== undefined, 'crun or runc (apt-get install crun runc)')) return;
  const payloads = {
    'root, as `crun spec` writes it': () => {},
    'a user with the capabilities the tool lists (ambient, not inheritable)': (c) => {
      c.process.user = { uid: 1000, gid: 1000 };
    },
    'a user with groups and an ambient capability, a writable bind, a pids limit': (c) => {
      c.process.user = { uid: 1000, gid: 1000, additionalGids: [10, 20] };
      c.process.capabilities = { bounding: ['CAP_NET_BIND_SERVICE'], effective: ['CAP_NET_BIND_SERVICE'], permitted: ['CAP_NET_BIND_SERVICE'], inheritable: ['CAP_NET_BIND_SERVICE'], ambient: ['CAP_NET_BIND_SERVICE'] };
      c.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 512, hard: 512 }];
      c.hostname = 'tenant-7';
      c.root.readonly = false;
      c.linux.resources = { ...c.linux.resources, pids: { limit: 6 } };
    },
    'a seccomp filter that refuses mkdir': (c) => {
      c.linux.seccomp = {
        defaultAction: 'SCMP_ACT_ALLOW',
        architectures: [process.arch === 'arm64' ? 'SCMP_ARCH_AARCH64' : 'SCMP_ARCH_X86_64'],
        syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
      };
    },
  };
  let index = 0;
  for (const [name, edit] of Object.entries(payloads)) {
    for (const script of [FACTS, PIDS]) {
      const bundle = makeBundle(t, config, (c) => {
        edit(c);
        c.process.terminal = false;
        c.process.args = ['sh', '-c', script];
        c.mounts.push({ destination: '/data', type: 'bind', source: 'data', options: ['rbind', 'rw'] });
      });
      const data = path.join(bundle, 'data');
      fs.mkdirSync(data, { mode: 0o777 });
      fs.chmodSync(data, 0o777);
      fs.mkdirSync(path.join(bundle, 'rootfs', 'data'));
      const reference = runReference(bundle, `cordon-test-${process.pid}-${index++}`);
      if (!requireOrSkip(t, reference !== undefined, 'a reference runtime (crun or runc) that runs containers here')) return;
      // As root, a config without a user namespace means host credentials: honoured on request.
      const ours = await underCordon(bundle, { hostCredentials: true });
      t.equal(ours.code, 0, `${name}: ${ours.stderr}`);
      // The one documented difference: a non-root payload's bounding set is
      // narrowed to what it keeps (docs/oci.md, process.capabilities).
      const comparable = (text) => (name.includes('tool lists') ? text.replace(/^CapBnd:.*\n/m, '') : text);
      t.equal(comparable(ours.stdout), comparable(reference.stdout), `${name}: the same facts under ${reference.tool} and cordon`);
      if (name.includes('tool lists') && script === FACTS) t.match(ours.stdout, /CapBnd:\s+0{16}\n/, `${name}: bounding narrowed to the (empty) kept set`);
      if (script === FACTS) t.match(ours.stdout, name.includes('seccomp') ? /mkdir no\n/ : /mkdir yes\n/, `${name}: mkdir as the filter says`);
      if (script === PIDS && index === 6) t.match(ours.stdout, /procs 5\n/, `${name}: a pids limit of 6 bites alike`);
    }
  }
});

t.test('a bind over an image\'s dangling /etc/resolv.conf lands where the link leads, as under the reference runtime', async (t) => {
  // podman binds its own resolv.conf over an image whose /etc/resolv.conf
  // is a link to systemd-resolved's stub, which the image does not have.
  const config = spec(t);
  if (!requireOrSkip(t, config !== undefined, 'crun or runc (apt-get install crun runc) to write a config')) return;
  const script = 'cat /etc/resolv.conf; cat /run/systemd/resolve/stub-resolv.conf; ls -l /etc/resolv.conf | cut -d">" -f2';
  const bundle = makeBundle(t, config, (c) => {
    c.process.terminal = false;
    c.process.args = ['sh', '-c', script];
    c.root.readonly = false;
    c.mounts.push({ destination: '/etc/resolv.conf', type: 'bind', source: 'resolv.conf', options: ['rbind', 'ro'] });
  });
  fs.writeFileSync(path.join(bundle, 'resolv.conf'), 'nameserver 192.0.2.53\n');
  fs.chmodSync(path.join(bundle, 'resolv.conf'), 0o644);
  const rootfs = path.join(bundle, 'rootfs');
  fs.symlinkSync('../run/systemd/resolve/stub-resolv.conf', path.join(rootfs, 'etc', 'resolv.conf'));
  if (!isRoot) {
    // The box's root (the caller) makes run/ in the image, as it would in podman's writable layer.
    fs.chmodSync(rootfs, 0o755);
  } else {
    fs.chmodSync(rootfs, 0o777);
  }
  const ours = await underCordon(bundle, { hostCredentials: true });
  t.equal(ours.code, 0, ours.stderr);
  t.equal(ours.stdout, 'nameserver 192.0.2.53\nnameserver 192.0.2.53\n ../run/systemd/resolve/stub-resolv.conf\n', 'the file is bound where the link leads; the link stays');
  if (!skipExpected(t, isRoot, 'unprivileged pass: rootless crun and runc do not run containers on this host (no delegated cgroup v2)')) return;
  fs.rmSync(path.join(rootfs, 'run'), { recursive: true, force: true });
  const reference = runReference(bundle, `cordon-test-${process.pid}-resolv`);
  if (!requireOrSkip(t, reference !== undefined, 'a reference runtime (crun or runc) that runs containers here')) return;
  t.equal(ours.stdout, reference.stdout, `the same under ${reference.tool}`);
});

t.test('a mask with ifExists skips a path the box lacks; without, that fails the box', async (t) => {
  const { spawnError } = require('../helpers/payload');
  const { spawnIsolated } = require('../..');
  const env = { PATH: '/bin:/usr/bin' };
  const skipped = await run('/bin/sh', ['-c', 'cat /etc/hostname >/dev/null 2>&1; echo ran'], { mounts: [{ type: 'mask', target: '/proc/no-such-file', ifExists: true }], env });
  t.equal(skipped.code, 0, skipped.stderr);
  t.equal(skipped.stdout, 'ran\n');
  const { error } = await spawnError('/bin/true', [], { mounts: [{ type: 'mask', target: '/proc/no-such-file' }], env });
  t.equal(error.code, 'ENOENT');
  t.match(error.step, /mounts\[0\] mask/);
  const masked = await run('/bin/sh', ['-c', 'cat /proc/kcore 2>/dev/null | wc -c'], { mounts: [{ type: 'mask', target: '/proc/kcore', ifExists: true }], env });
  t.equal(masked.stdout.trim(), '0', 'a present path is masked as ever');
  t.throws(() => spawnIsolated('/bin/true', [], { mounts: [{ type: 'mask', target: '/x', ifExists: 'yes' }] }), { code: 'ERR_INVALID_ARG_TYPE', option: 'mounts[0].ifExists' });
});
