// Red team: a hostile bundle, its paths half (the fds half, cwd and exec
// paths through /proc/self/fd/N, is redteam-bundle.test.js). In a hosting platform the rootfs is the
// tenant's image and parts of config.json (cwd, env, mounts' destinations,
// masked and read-only paths) may be tenant-influenced; cordon's OCI runtime
// must keep every path of it inside the box's root and leak no host fd into
// it. The classic runc/crun escapes, adapted (see test/escape/README.md,
// "OCI bundles"): a cwd or an exec path through /proc/self/fd/N (runc
// CVE-2024-21626), mount destinations through symlinks out of the rootfs
// (CVE-2021-30465), /proc and /dev as symlinks (CVE-2019-19921), masked and
// read-only paths through symlinks. Root and nobody.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const t = require('tap');

// Dozens of `cordon oci` commands: the bound (for hangs) is above tap's
// per-file default, which the fds half outran beside a CI run.
t.setTimeout(900_000);

const { isRoot } = require('../helpers/payload');
const { BUSYBOX, scratch } = require('../helpers/images');
const { scriptBundle } = require('../helpers/oci');
const { until } = require('../helpers/until');
const { requireOrSkip } = require('../helpers/skip');
const { oci, UP, stateRoot, devIno, createStarted, execIn } = require('../helpers/oci-redteam');

/**
 * A host directory the tenant's symlinks point at (a temp dir standing for
 * a host path), with a file in it; `check()` says it is as it was.
 */
function hostVictim(t) {
  const dir = scratch(t, 'cordon-oci-victim-');
  fs.writeFileSync(path.join(dir, 'secret'), 'host\n');
  const before = fs.readdirSync(dir).sort();
  return {
    dir,
    check(t, what) {
      t.same(fs.readdirSync(dir).sort(), before, `${what}: nothing made in the host directory`);
      t.equal(fs.readFileSync(path.join(dir, 'secret'), 'utf8'), 'host\n', `${what}: the host file unchanged`);
      t.notOk(fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(dir), `${what}: nothing mounted there on the host`);
    },
  };
}

/** Runs the bundle; a refusal must be a step error, a start must report each write. */
function ranOrRefused(t, result, what, wrote) {
  t.comment(`${what}: ${result.status === 0 ? 'ran' : result.stderr.trim()}`);
  if (result.status !== 0) {
    t.match(result.stderr, /step \d+\/\d+ '/, `${what}: refused as a step error`);
    t.notMatch(result.stdout, /wrote /, `${what}: the payload did not run`);
  } else {
    for (const where of wrote) t.match(result.stdout, new RegExp(`^wrote ${where}$`, 'm'), `${what}: the write to ${where} went inside the box`);
  }
}

t.test('mount destinations through symlinks out of the rootfs (CVE-2021-30465 family)', async (t) => {
  const victim = hostVictim(t);
  const cases = {
    'a relative symlink climbing out': { links: { 'etc/evil': `..${UP}${victim.dir}` }, destination: '/etc/evil' },
    'an absolute symlink to a host path': { links: { 'etc/abs': victim.dir }, destination: '/etc/abs' },
    'a symlink in an intermediate component': { links: { lnk: victim.dir }, destination: '/lnk/sub' },
    'a symlink to /': { links: { 'etc/root': '/' }, destination: '/etc/root/sub' },
    '.. components': { links: {}, destination: `/etc${UP}${victim.dir}/sub` },
  };
  const root = stateRoot(t);
  let index = 0;
  for (const [what, { links, destination }] of Object.entries(cases)) {
    for (const type of ['tmpfs', 'bind']) {
      const bundle = scriptBundle(t, `echo hi > ${destination}/owned && echo wrote ${destination}`, (c) => {
        c.root.readonly = false; // so a missing target is made, not refused with EROFS
        c.mounts.push(type === 'tmpfs'
          ? { destination, type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] }
          : { destination, type: 'bind', source: 'data', options: ['rbind', 'rw'] });
      });
      if (bundle === undefined) return;
      fs.mkdirSync(path.join(bundle, 'data'), { mode: 0o777 });
      fs.chmodSync(path.join(bundle, 'data'), 0o777);
      for (const [link, target] of Object.entries(links)) fs.symlinkSync(target, path.join(bundle, 'rootfs', link));
      const result = oci(root, ['run', '--bundle', bundle, `mnt${index++}`]);
      ranOrRefused(t, result, `${what} (${type})`, [destination]);
      victim.check(t, `${what} (${type})`);
    }
  }
});

t.test('maskedPaths and readonlyPaths through symlinks out of the rootfs', async (t) => {
  const victim = hostVictim(t);
  const root = stateRoot(t);
  const bundle = scriptBundle(t, 'echo wrote /data; cat /etc/keep', (c) => {
    c.root.readonly = false;
    c.linux.maskedPaths = [...(c.linux.maskedPaths ?? []), '/etc/masklink', '/lnk/secret'];
    c.linux.readonlyPaths = [...(c.linux.readonlyPaths ?? []), '/etc/rolink', '/lnk'];
  });
  if (bundle === undefined) return;
  fs.writeFileSync(path.join(bundle, 'rootfs', 'etc', 'keep'), 'kept\n');
  fs.symlinkSync(path.join(victim.dir, 'secret'), path.join(bundle, 'rootfs', 'etc', 'masklink'));
  fs.symlinkSync(victim.dir, path.join(bundle, 'rootfs', 'etc', 'rolink'));
  fs.symlinkSync(victim.dir, path.join(bundle, 'rootfs', 'lnk'));
  const result = oci(root, ['run', '--bundle', bundle, 'masks']);
  ranOrRefused(t, result, 'masks through symlinks', ['/data']);
  victim.check(t, 'masks through symlinks');
});

t.test('readonlyPaths through a symlink: no host file\'s existence decides the box\'s start', async (t) => {
  // presentInBox looked at path.join(rootfs, target) with the host's
  // resolution: `/lnk/secret` with /lnk -> a host directory made the start
  // depend on whether the host has that file (an oracle on host paths).
  const victim = hostVictim(t);
  const root = stateRoot(t);
  const outcome = {};
  for (const name of ['secret', 'absent']) {
    const bundle = scriptBundle(t, 'echo ran', (c) => {
      c.linux.readonlyPaths = [...(c.linux.readonlyPaths ?? []), `/lnk/${name}`];
    });
    if (bundle === undefined) return;
    fs.symlinkSync(victim.dir, path.join(bundle, 'rootfs', 'lnk'));
    const result = oci(root, ['run', '--bundle', bundle, `ro-${name}`]);
    outcome[name] = { status: result.status, stdout: result.stdout };
    t.equal(result.status, 0, `${name}: ${result.stderr}`);
  }
  t.same(outcome.secret, outcome.absent, 'the same start whether the host file exists or not');
  victim.check(t, 'readonlyPaths oracle');
});

t.test('/dev, /proc and /sys as symlinks in the rootfs (CVE-2019-19921 family), devices under them', async (t) => {
  const victim = hostVictim(t);
  const root = stateRoot(t);
  const cases = {
    '/dev to a host path, a device bound in it': { link: ['dev', victim.dir], device: true },
    '/dev to /': { link: ['dev', '/'], device: true },
    '/proc to a host path': { link: ['proc', victim.dir] },
    '/proc to /': { link: ['proc', '/'] },
    '/sys to a host path': { link: ['sys', victim.dir] },
  };
  let index = 0;
  for (const [what, { link, device }] of Object.entries(cases)) {
    const bundle = scriptBundle(t, 'echo wrote /dev/null > /dev/null; echo wrote /dev/null; echo kcore $(cat /proc/kcore 2>/dev/null | wc -c)', (c) => {
      c.root.readonly = false;
      if (device) c.linux.devices = [{ path: '/dev/null', type: 'c', major: 1, minor: 3 }, { path: '/dev/../dev/zero', type: 'c', major: 1, minor: 5 }];
    });
    if (bundle === undefined) return;
    const at = path.join(bundle, 'rootfs', link[0]);
    fs.rmSync(at, { recursive: true, force: true });
    fs.symlinkSync(link[1], at);
    const result = oci(root, ['run', '--bundle', bundle, `sym${index++}`]);
    ranOrRefused(t, result, what, ['/dev/null']);
    if (result.status === 0) t.match(result.stdout, /^kcore 0$/m, `${what}: /proc/kcore masked (or no procfs there)`);
    // procfs and sysfs go on ordinary directories only (runc's rule): before,
    // procfs was mounted where the link pointed, beneath the box's root.
    if (link[0] === 'proc' || link[0] === 'sys') t.not(result.status, 0, `${what}: refused (${result.stderr.trim().split('\n')[0]})`);
    victim.check(t, what);
  }
});

t.test('oci exec: the process entering the box is no host binary the box can reach (CVE-2019-5736 family)', async (t) => {
  // Until its exec, the process `oci exec` puts in the container is a clone
  // of the runtime: Node's binary, Node's memory. The container watches its
  // /proc for it (redteam-exec-window.c) while exec runs again and again.
  const { spawnSync } = require('node:child_process');
  const dir = scriptBundle(t, '', (c) => {
    c.root.readonly = false;
    c.process.args = ['/watch', devIno(process.execPath)];
  });
  if (dir === undefined) return;
  const build = spawnSync('cc', ['-static', '-O1', '-Wall', '-o', path.join(dir, 'rootfs', 'watch'), path.join(__dirname, 'redteam-exec-window.c')], { encoding: 'utf8' });
  if (!requireOrSkip(t, build.status === 0, `cc -static failed: ${build.error?.message ?? build.stderr}`)) return;
  const root = stateRoot(t);
  const out = createStarted(t, root, dir, 'win1');
  if (out === undefined) return;
  const EXECS = 20;
  for (let i = 0; i < EXECS; i++) {
    const result = execIn(root, dir, 'win1', (p) => {
      p.args = ['sh', '-c', 'while [ ! -e /tmp/seen-$$ ]; do :; done'];
    });
    t.equal(result.status, 0, `exec ${i}: ${result.stderr}`);
  }
  t.equal(oci(root, ['kill', 'win1', 'TERM']).status, 0);
  const report = until(() => /^done .*$/m.exec(fs.readFileSync(out, 'utf8'))?.[0], 'the watcher\'s report');
  const found = /seen=(\d+) host-exe=(\d+) mem=(\d+)/.exec(report);
  t.equal(Number(found[1]), EXECS, 'the watcher saw every exec\'d process (it looks in the right place)');
  t.equal(Number(found[2]), 0, `no exec'd process showed the runtime's binary as its exe: ${fs.readFileSync(out, 'utf8').split('\n').filter((line) => /^(HOST-EXE|MEM) /.test(line)).slice(0, 5).join(', ')}`);
  t.equal(Number(found[3]), 0, 'nor its memory (Node\'s)');
});

t.test('a step error names no host fact about a path the bundle chose', async (t) => {
  // cordon's hints look at the host for newcomers: "X exists on the host"
  // after an exec's ENOENT, the mode and owner of a host directory on the
  // way to the file after an EACCES (found by following the rootfs's
  // symlinks on the host). From a bundle the path is the tenant's, and the
  // engine relays the runtime's message to whoever deployed it.
  const victim = hostVictim(t);
  const root = stateRoot(t);
  const messages = {};
  for (const name of ['secret', 'absent']) {
    const bundle = scriptBundle(t, '', (c) => {
      c.process.args = [path.join(victim.dir, name)];
    });
    if (bundle === undefined) return;
    const result = oci(root, ['run', '--bundle', bundle, `hint-${name}`]);
    t.equal(result.status, 1, `${name}: the exec fails`);
    messages[name] = result.stderr.replaceAll(name, 'NAME');
  }
  t.match(messages.secret, /ENOENT: step \d+\/\d+ 'execve'/, 'a step error');
  t.equal(messages.secret, messages.absent, 'the same message whether the host has the file or not');
  t.notMatch(messages.secret, /exists on the host/);

  // EACCES on the way through a rootfs symlink, /x -> /root: in the box the
  // image's /root (0700), on the host the host's /root, whose mode and owner
  // the hint would tell. As root only: the box user needs a uid map.
  const hostRoot = fs.statSync('/root');
  if (!isRoot || (hostRoot.mode & 0o001) !== 0) {
    t.comment('the EACCES walk needs a root caller and a host /root others cannot enter');
    return;
  }
  const bundle = scriptBundle(t, '', (c) => {
    c.process.user = { uid: 1000, gid: 1000 };
    c.process.args = ['/x/prog'];
    c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  });
  if (bundle === undefined) return;
  // The image's /root: the box's root's (host uid 100000), so "owner 0" can only be the host's /root.
  const imageRoot = path.join(bundle, 'rootfs', 'root');
  fs.mkdirSync(imageRoot, { mode: 0o700 });
  fs.copyFileSync(BUSYBOX, path.join(imageRoot, 'prog'));
  fs.chownSync(imageRoot, 100000, 100000);
  fs.chmodSync(imageRoot, 0o700);
  fs.symlinkSync('/root', path.join(bundle, 'rootfs', 'x'));
  const result = oci(root, ['run', '--bundle', bundle, 'hint-eacces']);
  t.comment(result.stderr.trim());
  t.match(result.stderr, /EACCES: step \d+\/\d+ 'execve'/, 'the exec fails with EACCES');
  t.notMatch(result.stderr, /owner 0\b/, 'no mode or owner of the host\'s /root');
});
