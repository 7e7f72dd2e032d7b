// Template layers as they are really built: owned by host root. Idmapped
// layers show host root as the box's root, so the box's root can create in
// a template directory (copied up into its own upper layer), and mount
// points missing in a template are made there, never on the host.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const t = require('tap');
const { spawnIsolated, probe, CordonOptionError } = require('../..');
const { run, spawnError, isRoot } = require('../helpers/payload');
const { busyboxUsable, busyboxImage, scratch, hostState, env } = require('../helpers/images');
const { requireOrSkip, skipExpected } = require('../helpers/skip');

function template(t) {
  const root = scratch(t, 'cordon-template-');
  const layer = busyboxImage(path.join(root, 'template'), { 'etc/hostname': 'template\n' });
  fs.mkdirSync(path.join(layer, 'var', 'tmp'), { recursive: true });
  fs.chmodSync(path.join(layer, 'var', 'tmp'), 0o1777);
  fs.mkdirSync(path.join(layer, 'var', 'www'), { recursive: true });
  fs.chownSync(path.join(layer, 'var', 'www'), 33, 33);
  const source = path.join(root, 'data');
  fs.mkdirSync(source);
  fs.writeFileSync(path.join(source, 'hello'), 'from the host\n');
  fs.chmodSync(source, 0o755);
  return { root, layer, source };
}

const SCRIPT = 'stat -c "%u %g" /etc /var/www; mkdir /etc/newdir && echo made; touch /var/tmp/x && echo touched';

t.test('idmapped template layers need a root caller and a new user namespace', async (t) => {
  if (isRoot) {
    t.throws(() => spawnIsolated('/bin/true', [], { namespaces: { user: 'host' }, allowHostCredentials: true, rootfs: { layers: ['/usr'], upper: 'tmpfs', idmapLayers: true } }), { code: 'ERR_CORDON_CONFLICTING_OPTIONS' });
  } else {
    t.throws(() => spawnIsolated('/bin/true', [], { rootfs: { layers: ['/usr'], upper: 'tmpfs', idmapLayers: true } }), { code: 'ERR_CORDON_CONFLICTING_OPTIONS' });
  }
  let thrown;
  try {
    spawnIsolated('/bin/true', [], { rootfs: { layers: ['/usr'], upper: 'tmpfs', idmapLayers: 'yes' } });
  } catch (error) {
    thrown = error;
  }
  t.ok(thrown instanceof CordonOptionError && thrown.code === 'ERR_INVALID_ARG_TYPE');
});

t.test('a root-owned template: closed to the box without idmapping, the box\'s own with it', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass: the template is the caller\'s own, and idmapping needs root')) return;
  if (!requireOrSkip(t, busyboxUsable, 'needs a static busybox (Debian: busybox-static)')) return;
  if (!requireOrSkip(t, probe().idmappedMounts.available, `probe().idmappedMounts: ${probe().idmappedMounts.reason}`)) return;
  const { layer } = template(t);
  const plain = await run('/bin/sh', ['-c', SCRIPT], { rootfs: { layers: [layer], upper: 'tmpfs' }, env });
  t.match(plain.stdout, /^65534 65534\n/, 'without idmapping host root shows as nobody');
  t.notMatch(plain.stdout, /made/, 'and the box\'s root cannot create in /etc');

  const mapped = await run('/bin/sh', ['-c', SCRIPT], { rootfs: { layers: [layer], upper: 'tmpfs', idmapLayers: true }, env });
  t.equal(mapped.stdout, '0 0\n65534 65534\nmade\ntouched\n', 'host root is the box\'s root; uid 33 is unmapped in a one-id box');
  t.equal(mapped.code, 0, mapped.stderr);
  t.notOk(fs.existsSync(path.join(layer, 'etc', 'newdir')), 'nothing is made in the template on the host');

  const range = { uidMap: [{ inside: 0, outside: 3000000, count: 65536 }], gidMap: [{ inside: 0, outside: 3000000, count: 65536 }] };
  const ranged = await run('/bin/sh', ['-c', 'stat -c "%u %g" /etc /var/www'], { ...range, rootfs: { layers: [layer], upper: 'tmpfs', idmapLayers: true }, env });
  t.equal(ranged.stdout, '0 0\n33 33\n', 'with a range, the template\'s uid 33 is the box\'s uid 33');
});

t.test('a bind to a mount point missing in the template', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass: the template is the caller\'s own, and idmapping needs root')) return;
  if (!requireOrSkip(t, busyboxUsable, 'needs a static busybox (Debian: busybox-static)')) return;
  if (!requireOrSkip(t, probe().idmappedMounts.available, `probe().idmappedMounts: ${probe().idmappedMounts.reason}`)) return;
  const { root, layer, source } = template(t);
  const before = hostState();
  const mounts = [{ type: 'bind', source, target: '/etc/newdir' }, { type: 'file', target: '/etc/app/config', content: 'x=1\n' }];
  const { error } = await spawnError('/bin/cat', ['/etc/newdir/hello'], { rootfs: { layers: [layer], upper: 'tmpfs' }, mounts, env });
  t.equal(error.code, 'EACCES', 'without idmapping the mount point cannot be made');
  t.equal(error.path, '/etc/newdir');
  t.match(error.hint, /rootfs\.idmapLayers: true/, 'and the hint says what to do');

  const ok = await run('/bin/sh', ['-c', 'cat /etc/newdir/hello /etc/app/config'], { rootfs: { layers: [layer], upper: 'tmpfs', idmapLayers: true }, mounts, env });
  t.equal(ok.stdout, 'from the host\nx=1\n', 'with idmapped layers the mount points are made in the box\'s upper layer');

  const tenant = path.join(root, 'tenant');
  fs.mkdirSync(tenant, { mode: 0o700 });
  const persistent = await run('/bin/cat', ['/etc/newdir/hello'], { rootfs: { layers: [layer], upper: { dir: tenant }, idmapLayers: true }, mounts: mounts.slice(0, 1), env });
  t.equal(persistent.stdout, 'from the host\n');
  t.ok(fs.statSync(path.join(tenant, 'upper', 'etc', 'newdir')).isDirectory(), 'in a persistent upper layer the mount point is the tenant\'s');
  t.equal(fs.statSync(path.join(tenant, 'upper', 'etc', 'newdir')).uid, 65534, 'owned by the box\'s root');
  t.notOk(fs.existsSync(path.join(layer, 'etc', 'newdir')), 'never in the template on the host');
  t.equal(hostState().mounts, before.mounts, 'no mount left on the host');
});
