// Red team: a hostile bundle. In a hosting platform the rootfs is the
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

const { isRoot } = require('../helpers/payload');
const { BUSYBOX, scratch } = require('../helpers/images');
const { scriptBundle, ociCli } = require('../helpers/oci');
const { until } = require('../helpers/until');
const { requireOrSkip } = require('../helpers/skip');

const oci = ociCli;
/** Enough `..` to climb from any host directory to the host's root. */
const UP = '/..'.repeat(24);
/** The fd numbers tried: what a Node process has open (its own, libuv's, cordon's). */
const FDS = Array.from({ length: 38 }, (_, i) => i + 3);

// Climbs from the cwd as far as `..` goes: inside the box that is the box's
// root, outside it the host's. `stat` of each says which.
const WHERE = `i=0; while [ $i -lt 40 ]; do cd -P .. 2>/dev/null; i=$((i+1)); done
if [ "$(stat -c %d:%i .)" = "$(stat -c %d:%i /)" ]; then echo cwd-inside; else echo cwd-OUTSIDE; ls; fi`;
// The payload's open fds, listed by a child (ls), whose own fd on the
// directory is then not among them: "... N -> target" a line.
const FD_LIST = 'ls -l /proc/$$/fd';

/** A limit makes cordon give the box a cgroup of its own (as root; the cgroup's fd is what CVE-2024-21626 leaked). */
function withCgroup(c) {
  if (isRoot) c.linux.resources = { ...c.linux.resources, pids: { limit: 64 } };
}

function stateRoot(t) {
  return path.join(scratch(t, 'cordon-oci-redteam-root-'), 'state');
}

/** The fds a listing shows besides stdio, as "N -> target". */
function extraFds(stdout) {
  return stdout.split('\n').map((line) => / (\d+ -> .*)$/.exec(line)?.[1]).filter((fd) => fd !== undefined && !/^[012] /.test(fd));
}

/** dev:ino of a host file, as busybox stat prints them. */
function devIno(file) {
  const stat = fs.statSync(file);
  return `${stat.dev}:${stat.ino}`;
}

/** create + start in the background (stdout to a file); returns the container's out file. */
function createStarted(t, root, dir, id) {
  const out = path.join(dir, 'out');
  const err = path.join(dir, 'err');
  const fds = [fs.openSync(out, 'w'), fs.openSync(err, 'w')];
  const created = oci(root, ['create', '--bundle', dir, id], ['ignore', ...fds]);
  for (const fd of fds) fs.closeSync(fd);
  t.teardown(() => oci(root, ['delete', '--force', id]));
  t.equal(created.status, 0, `create: ${fs.readFileSync(err, 'utf8')}`);
  if (created.status !== 0) return undefined;
  const started = oci(root, ['start', id]);
  t.equal(started.status, 0, `start: ${started.stderr}`);
  until(() => fs.readFileSync(out, 'utf8').includes('started\n'), 'the container to start');
  return out;
}

/** `oci exec` of an OCI process (the config's, edited) in a created container. */
function execIn(root, dir, id, edit) {
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const processSpec = structuredClone(config.process);
  edit(processSpec);
  const file = path.join(dir, `process-${Math.random().toString(36).slice(2)}.json`);
  fs.writeFileSync(file, JSON.stringify(processSpec));
  return oci(root, ['exec', '--process', file, id]);
}

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
