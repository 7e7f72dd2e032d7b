'use strict';
// Where a box's root is built (lib/filesystem.ts RootLayout): straight over
// /tmp of the box's copy of the host's tree, unless the box needs the
// staging area (file contents, a hidden home, overlay layers) or reads a
// host path under /tmp once its root is there.
const t = require('tap');
const { filesystemSteps, validateRootfs, validateMounts } = require('../../dist/filesystem');

const context = { newPid: true, newNet: true, inUserNamespace: true };
const plan = (rootfs, mounts = [], extra = {}) => filesystemSteps(validateRootfs(rootfs), validateMounts(mounts), { ...context, ...extra });
const staged = (steps) => steps.some((step) => step.name === 'pivot into staging');
const texts = (steps) => steps.flatMap((step) => [...(step.str ?? []), ...(step.lists ?? []).flat()]).filter((s) => typeof s === 'string');

t.test('a default box builds its root in place: no staging area, no host path renamed', async (t) => {
  const steps = plan('host');
  t.notOk(staged(steps), 'no pivot into a staging area');
  t.notOk(steps.some((step) => step.name === 'mount staging tmpfs'), 'no staging tmpfs');
  const root = steps.find((step) => step.name === 'mount box root tmpfs');
  t.equal(root.path, '/tmp', 'the root tmpfs is mounted over /tmp of the private copy');
  t.equal(steps.at(-1).name, 'enter new root');
  t.equal(steps.at(-1).path, '/tmp', 'and entered from there');
  t.notOk(texts(steps).some((s) => s.startsWith('/oldroot') || s.startsWith('/newroot')), 'host paths are read where they are');
  const usr = steps.find((step) => step.name === 'bind host /usr');
  t.ok(usr.str.includes('/'), 'links of an allowed directory are followed beneath the host root');
  const devices = steps.find((step) => step.op === 'bindDevices');
  t.ok(devices.str.includes('/dev'), 'device nodes come from the host /dev');
});

t.test('an image root and binds outside /tmp stay in place too', async (t) => {
  t.notOk(staged(plan({ dir: '/srv/image' })), 'rootfs dir');
  t.notOk(staged(plan({ dir: '/tmp/image' })), 'rootfs dir under /tmp: read before the root is mounted there');
  t.notOk(staged(plan('host', [{ type: 'bind', source: '/srv/x', target: '/work/app' }, { type: 'tmpfs', target: '/work/tmp' }, { type: 'symlink', linkTo: '/work', target: '/w' }])), 'binds, tmpfs, links');
  t.notOk(staged(plan('host', [], { console: '/dev/pts/3' })), 'a terminal');
});

t.test('what needs the staging area takes it', async (t) => {
  t.ok(staged(plan({ layers: ['/srv/t'], upper: 'tmpfs' })), 'overlay layers (named neutrally)');
  t.ok(staged(plan('host', [{ type: 'file', target: '/etc/app.conf', content: 'x' }])), 'a file: its content is staged');
  t.ok(staged(plan('host', [{ type: 'mask', target: '/etc/shadow' }])), 'a mask: its empty file is staged');
  t.ok(staged(plan('host', [], { hostView: { top: [{ name: '/usr', kind: 'dir' }], present: [], homes: ['/usr/share/me'], sockets: [] } })), 'a hidden home: the shared empty tmpfs');
  t.ok(staged(plan('host', [], { hostView: { top: [{ name: '/usr', kind: 'dir' }], present: [], homes: [], sockets: ['/usr/app.sock'] } })), 'a masked host socket');
  for (const source of ['/tmp/data', '/tmp', '/']) {
    const steps = plan('host', [{ type: 'bind', source, target: '/data' }]);
    t.ok(staged(steps), `a bind of ${source}: the root over /tmp would hide it`);
    const bind = steps.find((step) => step.name === 'mounts[0] bind');
    t.ok(texts([bind]).some((s) => s.startsWith('/oldroot')), `${source} is read through the host's root kept at /oldroot`);
  }
  t.ok(staged(plan({ dir: '/srv/image' }, [{ type: 'bind', source: '/tmp/data', target: '/data', followSymlinks: true }])), 'a followed bind under /tmp');
  // /srv/link -> /tmp/data would resolve beneath the box's own root in the direct layout.
  t.ok(staged(plan('host', [{ type: 'bind', source: '/srv/link', target: '/data', followSymlinks: true }])), 'any followed bind: its links may lead under /tmp');
});
