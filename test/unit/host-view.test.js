// The default view's host facts: which listed sockets need a mask, which
// homes are hidden, and the steps a default box gets.
'use strict';
const t = require('tap');
const { parseUnixSockets, callerHomes, hiddenByDefault } = require('../../dist/host-view');
const { filesystemSteps, validateRootfs, validateMounts } = require('../../dist/filesystem');

t.test('/proc/net/unix: absolute paths outside the hidden directories, each once', async (t) => {
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
  t.same(parseUnixSockets(text), ['/opt/app/control.sock', '/data/with space/s.sock']);
});

t.test('hidden by default: state, homes and the box\'s own directories, not the system', async (t) => {
  for (const hidden of ['/run/x', '/var/lib/x', '/home', '/root/.ssh', '/tmp/x', '/srv/a', '/boot/vmlinuz']) t.ok(hiddenByDefault(hidden), hidden);
  for (const shown of ['/usr/bin/env', '/etc/passwd', '/opt/x', '/', '/variable', '/homes']) t.notOk(hiddenByDefault(shown), shown);
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

t.test('steps: a target under a hidden directory makes it writable until the mounts are in', async (t) => {
  const names = (mounts) => filesystemSteps(validateRootfs('host'), validateMounts(mounts), { newPid: true, newNet: true, inUserNamespace: true })
    .map((step) => `${step.op} ${step.name}`);
  const plain = names([]);
  t.ok(plain.includes('bindMount hide /home'), 'a copy of the shared empty tmpfs');
  t.notOk(plain.some((name) => name.includes('make /home read-only')), 'no extra step without a target under it');
  t.ok(plain.includes('setMountAttr make /var read-only'), '/var gets its links, then is sealed');
  t.ok(plain.includes('mountFs mount /sys'));
  t.notOk(plain.includes('mountFs mount own cgroup'));
  const bound = names([{ type: 'bind', source: '/srv/x', target: '/home/u/x' }]);
  t.ok(bound.includes('mountFs hide /home'), 'a tmpfs of its own for a directory with a mount point');
  t.ok(bound.indexOf('setMountAttr make /home read-only') > bound.indexOf('bindMount mounts[0] bind'), 'sealed after the mounts');
  const replaced = names([{ type: 'tmpfs', target: '/home' }]);
  t.notOk(replaced.some((name) => name.endsWith('hide /home')), 'a mount at the hidden directory itself replaces it');
  const hostNet = filesystemSteps(validateRootfs('host'), [], { newPid: true, newNet: false, inUserNamespace: true }).map((step) => step.name);
  t.ok(hostNet.includes('hide /sys'));
  const image = filesystemSteps(validateRootfs({ dir: '/srv/image' }), [], { newPid: true, newNet: true, inUserNamespace: true }).map((step) => step.name);
  t.notOk(image.some((name) => name.startsWith('hide ') || name === 'mount /sys'), 'an image root is not affected');
});

t.test('steps: every tmpfs the payload may write has a file count as well as a size', async (t) => {
  const { tmpfsInodes } = require('../../dist/filesystem');
  t.equal(tmpfsInodes(64 * 1024 * 1024), '65536', 'one file per KiB');
  t.equal(tmpfsInodes(65536), '1024', 'at least 1024');
  const writable = (rootfs, context) => filesystemSteps(validateRootfs(rootfs), [], { newPid: true, newNet: true, inUserNamespace: true, ...context })
    // (the staging area, at /tmp before the pivot, is gone before the payload runs)
    .filter((step) => step.op === 'mountFs' && step.name !== 'mount staging tmpfs' && step.str?.[0] === 'tmpfs' && ['/tmp', '/dev', '/dev/shm', '/run', '/upper'].includes(step.path));
  const steps = [...writable('host', { tmpSize: 1 << 20 }), ...writable({ layers: ['/srv/t'], upper: 'tmpfs', upperSize: 8 << 20 }, {})];
  t.same(steps.map((step) => step.path).sort(), ['/dev', '/dev', '/dev/shm', '/dev/shm', '/run', '/tmp', '/tmp', '/upper'].sort());
  for (const step of steps) {
    const config = step.lists?.[1] ?? [];
    const size = Number(config[config.indexOf('size') + 1]);
    t.equal(config[config.indexOf('nr_inodes') + 1], tmpfsInodes(size), `${step.path}: nr_inodes for ${size} bytes`);
  }
});
