// Red team: a hostile bundle, its fds half (the paths half is
// redteam-bundle-paths.test.js). Each runs dozens of `cordon oci` commands:
// 186 s as nobody beside a CI run, so the file's bound (for hangs) is
// raised below. In a hosting platform the rootfs is the
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

t.setTimeout(900_000);

const { BUSYBOX } = require('../helpers/images');
const { scriptBundle } = require('../helpers/oci');
const { requireOrSkip } = require('../helpers/skip');
const { oci, UP, FDS, WHERE, FD_LIST, withCgroup, stateRoot, extraFds, devIno, createStarted, execIn } = require('../helpers/oci-redteam');

t.test('process.cwd through /proc/self/fd/N (CVE-2024-21626): run', async (t) => {
  const escapes = [];
  const root = stateRoot(t);
  let bundle;
  for (const fd of FDS) {
    bundle ??= scriptBundle(t, WHERE, withCgroup);
    if (bundle === undefined) return;
    const config = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
    config.process.cwd = `/proc/self/fd/${fd}`;
    fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(config));
    const result = oci(root, ['run', '--bundle', bundle, `cwd${fd}`]);
    if (result.stdout.includes('cwd-OUTSIDE')) escapes.push(`fd ${fd}: ${result.stdout.split('\n').slice(1, 6).join(' ')}`);
    else if (result.status !== 0) t.match(result.stderr, /chdir E[A-Z]+: step \d+\/\d+ 'chdir' \/proc\/self\/fd\//, `fd ${fd}: refused as a chdir step error`);
    else t.match(result.stdout, /^cwd-inside\n/, `fd ${fd}: the cwd is inside the box`);
  }
  t.same(escapes, [], 'no cwd outside the box\'s root');
});

t.test('a symlink in the rootfs to /proc/self/fd/N as process.cwd: run', async (t) => {
  const escapes = [];
  const root = stateRoot(t);
  const bundle = scriptBundle(t, WHERE, withCgroup);
  if (bundle === undefined) return;
  for (const fd of FDS) fs.symlinkSync(`/proc/self/fd/${fd}`, path.join(bundle, 'rootfs', `work${fd}`));
  for (const fd of FDS) {
    const config = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
    config.process.cwd = `/work${fd}`;
    fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(config));
    const result = oci(root, ['run', '--bundle', bundle, `lnk${fd}`]);
    if (result.stdout.includes('cwd-OUTSIDE')) escapes.push(`fd ${fd}: ${result.stdout.split('\n').slice(1, 6).join(' ')}`);
    else if (result.status !== 0) t.match(result.stderr, /chdir E[A-Z]+: step \d+\/\d+ 'chdir' \/work/, `fd ${fd}: refused as a chdir step error`);
  }
  t.same(escapes, [], 'no cwd outside the box\'s root');
});

t.test('the exec path through /proc/self/fd/N: a host binary as the box\'s process (run)', async (t) => {
  if (!requireOrSkip(t, BUSYBOX !== undefined, 'a static busybox on the host')) return;
  const bundle = scriptBundle(t, '', (c) => {
    withCgroup(c);
    // execvp's candidates: every fd's way to the host's busybox first, the rootfs's last.
    const hostDir = path.dirname(BUSYBOX);
    const env = c.process.env.filter((entry) => !entry.startsWith('PATH='));
    c.process.env = [...env, `PATH=${FDS.map((fd) => `/proc/self/fd/${fd}${UP}${hostDir}`).join(':')}:/bin`];
    c.process.args = ['busybox', 'sh', '-c', 'echo exe $(stat -L -c %d:%i /proc/self/exe)'];
  });
  if (bundle === undefined) return;
  const result = oci(stateRoot(t), ['run', '--bundle', bundle, 'exe1']);
  t.equal(result.status, 0, result.stderr);
  t.not(result.stdout, `exe ${devIno(BUSYBOX)}\n`, 'not the host\'s busybox');
  t.equal(result.stdout, `exe ${devIno(path.join(bundle, 'rootfs', 'bin', 'busybox'))}\n`, 'the rootfs\'s busybox');
});

t.test('no host fd in the payload: run', async (t) => {
  const bundle = scriptBundle(t, FD_LIST, withCgroup);
  if (bundle === undefined) return;
  const result = oci(stateRoot(t), ['run', '--bundle', bundle, 'fds1']);
  t.equal(result.status, 0, result.stderr);
  t.match(result.stdout, / 0 -> /, 'the listing ran');
  t.same(extraFds(result.stdout), [], 'stdio only');
});

t.test('oci exec into a created container: cwd and exec path through /proc/self/fd/N, its fds', async (t) => {
  if (!requireOrSkip(t, BUSYBOX !== undefined, 'a static busybox on the host')) return;
  const dir = scriptBundle(t, 'echo started; exec sleep 1000', withCgroup);
  if (dir === undefined) return;
  const root = stateRoot(t);
  if (createStarted(t, root, dir, 'ex1') === undefined) return;

  const listed = execIn(root, dir, 'ex1', (p) => {
    p.args = ['sh', '-c', FD_LIST];
  });
  t.equal(listed.status, 0, listed.stderr);
  t.match(listed.stdout, / 0 -> /, 'the listing ran');
  t.same(extraFds(listed.stdout), [], 'the exec\'d process has stdio only');

  const hostDir = path.dirname(BUSYBOX);
  const exe = execIn(root, dir, 'ex1', (p) => {
    p.env = [...p.env.filter((entry) => !entry.startsWith('PATH=')), `PATH=${FDS.map((fd) => `/proc/self/fd/${fd}${UP}${hostDir}`).join(':')}:/bin`];
    p.args = ['busybox', 'sh', '-c', 'echo exe $(stat -L -c %d:%i /proc/self/exe)'];
  });
  t.equal(exe.status, 0, exe.stderr);
  t.equal(exe.stdout, `exe ${devIno(path.join(dir, 'rootfs', 'bin', 'busybox'))}\n`, 'the rootfs\'s busybox, not a host binary');

  const escapes = [];
  for (const fd of FDS) {
    const result = execIn(root, dir, 'ex1', (p) => {
      p.cwd = `/proc/self/fd/${fd}`;
      p.args = ['sh', '-c', WHERE];
    });
    if (result.stdout.includes('cwd-OUTSIDE')) escapes.push(`fd ${fd}: ${result.stdout.split('\n').slice(1, 6).join(' ')}`);
    else if (result.status !== 0) t.match(result.stderr, /chdir E[A-Z]+: step \d+\/\d+ 'chdir' \/proc\/self\/fd\//, `fd ${fd}: refused as a chdir step error`);
  }
  t.same(escapes, [], 'no exec\'d process with its cwd outside the box\'s root');
});

