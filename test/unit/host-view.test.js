// The default view's host facts: which listed sockets need a mask, which
// homes are hidden, and the steps a default box gets.
'use strict';
const t = require('tap');
const { parseUnixSockets, callerHomes, hiddenByDefault, hiddenInBox, topLevel, ALLOWED_DIRS } = require('../../dist/host-view');
const { filesystemSteps, validateRootfs, validateMounts } = require('../../dist/filesystem');

t.test('/proc/net/unix: absolute paths under the allowed directories, each once', async (t) => {
  const text = [
    'Num       RefCount Protocol Flags    Type St Inode Path',
    '0000000000000000: 00000002 00000000 00010000 0001 01 21000 /run/systemd/private',
    '0000000000000000: 00000002 00000000 00010000 0001 01 21001 /opt/app/control.sock',
    '0000000000000000: 00000003 00000000 00000000 0001 03 21002 /opt/app/control.sock',
    '0000000000000000: 00000002 00000000 00010000 0001 01 21003 /srv/with space/s.sock',
    '0000000000000000: 00000002 00000000 00010000 0001 01 21004 /data/with space/s.sock',
    '0000000000000000: 00000002 00000000 00010000 0001 01 21005 @/tmp/.X11-unix/X0',
    '0000000000000000: 00000002 00000000 00010000 0001 01 21006 relative.sock',
    '0000000000000000: 00000002 00000000 00000000 0002 01 21007',
    '0000000000000000: 00000002 00000000 00010000 0001 01 21008 /var/run/docker.sock',
    '0000000000000000: 00000002 00000000 00010000 0001 01 21009 /home/u/.ssh/agent',
  ].join('\n');
  t.same(parseUnixSockets(text), ['/opt/app/control.sock']);
  const spaced = '0000000000000000: 00000002 00000000 00010000 0001 01 21010 /etc/with space/s.sock';
  t.same(parseUnixSockets(spaced), ['/etc/with space/s.sock'], 'a path with a space');
});

t.test('hidden by default: every top-level directory but the allowed ones, and the box\'s own', async (t) => {
  const cases = {
    '/run/x': '/run', '/var/lib/x': '/var', '/home': '/home', '/root/.ssh': '/root', '/tmp/x': '/tmp', '/srv/a': '/srv',
    '/boot/vmlinuz': '/boot', '/work/app/server': '/work', '/data': '/data', '/variable/x': '/variable', '/homes': '/homes', '/usrx/y': '/usrx',
  };
  for (const [hidden, dir] of Object.entries(cases)) t.equal(hiddenByDefault(hidden), dir, hidden);
  for (const shown of ['/usr/bin/env', '/usr/local/bin/x', '/etc/passwd', '/opt/x', '/bin/sh', '/lib64/ld.so', '/', '/nix/store/x']) t.notOk(hiddenByDefault(shown), shown);
  t.equal(hiddenInBox('/work/app/bin/x', [], ['/work/app']), undefined, 'a mount covers it: what it mounts decides');
  t.equal(hiddenInBox('/work/other/x', [], ['/work/app']), '/work', 'a mount beside it does not');
  t.equal(hiddenInBox('/opt/me/x', ['/opt/me'], []), '/opt/me', "the caller's home under an allowed directory");
});

t.test('the top level: the allowed directories the host has, links kept when they lead into sight', async (t) => {
  const fs = require('node:fs');
  const top = topLevel();
  t.ok(top.some((entry) => entry.name === '/usr' && entry.kind === 'dir'), '/usr is bound');
  for (const entry of top) {
    t.ok(ALLOWED_DIRS.includes(entry.name), `${entry.name} is allowed`);
    const stat = fs.lstatSync(entry.name);
    if (entry.kind === 'link') t.equal(entry.to, fs.readlinkSync(entry.name), `${entry.name} -> ${entry.to} as on the host`);
    else t.ok(fs.statSync(entry.name).isDirectory() && (stat.isDirectory() || stat.isSymbolicLink()), `${entry.name} is a directory`);
  }
  for (const name of ALLOWED_DIRS) t.equal(top.some((entry) => entry.name === name), fs.existsSync(name), `${name}: listed when present`);
});

t.test("the caller's homes: $HOME unless missing, '/', a system dir or already hidden", async (t) => {
  const saved = process.env.HOME;
  t.teardown(() => {
    process.env.HOME = saved;
  });
  const check = (home) => {
    process.env.HOME = home;
    return callerHomes().includes(home);
  };
  t.ok(check('/usr/share'), 'a directory under a system one is hidden');
  t.notOk(check('/'), "'/'");
  t.notOk(check('/usr'), '/usr');
  t.notOk(check('/etc'), '/etc');
  t.notOk(check('/nonexistent'), 'missing');
  t.notOk(check('/tmp'), 'the box has its own /tmp');
  t.notOk(check('/etc/passwd'), 'not a directory');
});

t.test('steps: a root tmpfs of the box\'s own, the allowed directories bound in, sealed after the mounts', async (t) => {
  const steps = (mounts, context = {}) => filesystemSteps(validateRootfs('host'), validateMounts(mounts), { newPid: true, newNet: true, inUserNamespace: true, ...context });
  const names = (mounts, context) => steps(mounts, context).map((step) => `${step.op} ${step.name}`);
  const plain = names([]);
  t.ok(plain.includes('mountFs mount box root tmpfs'), 'the root is a tmpfs');
  t.notOk(plain.some((name) => name.includes('bind host root')), 'the host root is not bound');
  t.ok(plain.includes('bindMount bind host /usr'), '/usr is bound');
  t.ok(plain.includes('bindMount bind host /etc'), '/etc is bound');
  t.ok(plain.includes('makeDir make /home') || !require('node:fs').existsSync('/home'), 'an empty /home');
  t.ok(plain.includes('symlink link /var/tmp'), '/var gets its links');
  t.equal(plain.at(-2), 'setMountAttr make the box root read-only', 'the root is sealed last, before entering it');
  t.ok(plain.includes('mountFs mount /sys'));
  t.notOk(plain.includes('mountFs mount own cgroup'));
  const usr = steps([]).find((step) => step.name === 'bind host /usr');
  t.equal(usr.num[1], 1, 'recursive');
  t.equal(usr.num[0] & 0x7, 0x7, 'read-only, nosuid, nodev');
  const bound = names([{ type: 'bind', source: '/srv/x', target: '/work/app' }]);
  t.ok(bound.indexOf('setMountAttr make the box root read-only') > bound.indexOf('bindMount mounts[0] bind'), 'sealed after the mounts');
  const replaced = names([{ type: 'tmpfs', target: '/opt' }]);
  t.ok(replaced.indexOf('bindMount bind host /opt') < replaced.indexOf('mountFs mounts[0] tmpfs'), 'a mount at an allowed directory goes on top of its bind');
  const home = { top: [{ name: '/usr', kind: 'dir' }], present: [], homes: ['/usr/share/me'], sockets: ['/etc/app.sock'] };
  const withHome = names([], { hostView: home });
  t.ok(withHome.includes('bindMount hide /usr/share/me'), "the caller's home under /usr is hidden");
  t.ok(withHome.includes('mask mask host socket'), 'a listed socket under an allowed directory is masked');
  const homeTarget = names([{ type: 'bind', source: '/srv/x', target: '/usr/share/me/x' }], { hostView: home });
  t.ok(homeTarget.includes('mountFs hide /usr/share/me'), 'a tmpfs of its own for a home with a mount point');
  t.ok(homeTarget.indexOf('setMountAttr make /usr/share/me read-only') > homeTarget.indexOf('bindMount mounts[0] bind'), 'sealed after the mounts');
  const hostNet = names([], { newNet: false });
  t.ok(hostNet.includes('makeDir make /sys'), 'an empty /sys without a network of its own');
  t.notOk(hostNet.includes('mountFs mount /sys'));
  const image = filesystemSteps(validateRootfs({ dir: '/srv/image' }), [], { newPid: true, newNet: true, inUserNamespace: true }).map((step) => step.name);
  t.notOk(image.some((name) => name.startsWith('hide ') || name.startsWith('bind host ') || name === 'mount box root tmpfs'), 'an image root is not affected');
});

t.test('steps: a listed host socket and a `mask` mount share one empty file, written once', async (t) => {
  // Found by the suite run beside .ci/run: while a test of the other run
  // listened under /opt, every box with a `mask` failed at its second
  // 'empty file for masks' (EEXIST).
  const view = { top: [{ name: '/usr', kind: 'dir' }, { name: '/etc', kind: 'dir' }, { name: '/opt', kind: 'dir' }], present: [], homes: [], sockets: ['/opt/app/control.sock'] };
  const steps = filesystemSteps(validateRootfs('host'), validateMounts([{ type: 'mask', target: '/etc/passwd' }, { type: 'mask', target: '/etc/shadow' }]), {
    newPid: true, newNet: true, inUserNamespace: true, hostView: view,
  });
  const writes = steps.filter((step) => step.op === 'writeFile');
  t.equal(writes.length, 1, 'one empty file');
  const masks = steps.filter((step) => step.op === 'mask');
  t.same(masks.map((step) => step.name), ['mask host socket', 'mounts[0] mask', 'mounts[1] mask']);
  const written = writes[0].path;
  for (const mask of masks) t.equal(mask.str[0], written, `${mask.name} covers with the file written`);
  t.ok(steps.indexOf(writes[0]) < steps.indexOf(masks[0]), 'written before the first mask');
});

t.test('steps: every tmpfs the payload may write has a file count as well as a size', async (t) => {
  const { tmpfsInodes } = require('../../dist/filesystem');
  t.equal(tmpfsInodes(64 * 1024 * 1024), '65536', 'one file per KiB');
  t.equal(tmpfsInodes(65536), '1024', 'at least 1024');
  const writable = (rootfs, context) => filesystemSteps(validateRootfs(rootfs), [], { newPid: true, newNet: true, inUserNamespace: true, ...context })
    // (the staging area, or the box's root while it is built, is at /tmp
    // before the pivot; the one is gone and the other read-only before the payload runs)
    .filter((step) => step.op === 'mountFs' && step.name !== 'mount staging tmpfs' && step.name !== 'mount box root tmpfs' && step.str?.[0] === 'tmpfs' && ['/tmp', '/dev', '/dev/shm', '/run', '/upper'].includes(step.path));
  const steps = [...writable('host', { tmpSize: 1 << 20 }), ...writable({ layers: ['/srv/t'], upper: 'tmpfs', upperSize: 8 << 20 }, {})];
  t.same(steps.map((step) => step.path).sort(), ['/dev', '/dev', '/dev/shm', '/dev/shm', '/run', '/tmp', '/tmp', '/upper'].sort());
  for (const step of steps) {
    const config = step.lists?.[1] ?? [];
    const size = Number(config[config.indexOf('size') + 1]);
    t.equal(config[config.indexOf('nr_inodes') + 1], tmpfsInodes(size), `${step.path}: nr_inodes for ${size} bytes`);
  }
});
