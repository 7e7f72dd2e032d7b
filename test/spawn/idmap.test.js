// Idmapped mounts: a tenant's files, owned by its host uid, used by the box's user.
'use strict';
const { removeTree } = require('../helpers/remove-tree');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');
const { skipExpected } = require('../helpers/skip');
const { runSh, spawnError, isRoot } = require('../helpers/payload');

t.test('files owned by the tenant\'s host uid appear owned by the box user, and new files get the host uid', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass (root only: idmapped mounts need CAP_SYS_ADMIN on the host)')) return;
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-idmap-'));
  t.teardown(() => removeTree(base));
  fs.chmodSync(base, 0o755);
  const data = path.join(base, 'data');
  fs.mkdirSync(data, { mode: 0o700 });
  fs.writeFileSync(path.join(data, 'f'), 'tenant\n', { mode: 0o600 });
  for (const p of [data, path.join(data, 'f')]) fs.chownSync(p, 4242, 4343);
  const mounts = [{ type: 'bind', source: data, target: '/srv', readonly: false, idmap: { uid: 4242, gid: 4343 } }];
  const result = await runSh('stat -c "%u %g" /srv/f; cat /srv/f; echo new > /srv/g && echo wrote', {
    mounts,
    uidMap: [{ inside: 0, outside: 100000, count: 1000 }],
    gidMap: [{ inside: 0, outside: 100000, count: 1000 }],
    uid: 33,
    gid: 33,
  });
  t.equal(result.code, 0, result.stderr);
  t.same(result.stdout.trim().split('\n'), ['33 33', 'tenant', 'wrote'], 'the box user owns the tenant\'s files');
  const stat = fs.statSync(path.join(data, 'g'));
  t.same([stat.uid, stat.gid], [4242, 4343], 'on disk the new file belongs to the tenant\'s host ids');

  const plain = await runSh('cat /srv/f 2>&1 || true', { mounts: [{ ...mounts[0], idmap: undefined }] });
  t.match(plain.stdout, /Permission denied/, 'without the idmap the box user cannot read them');
});

t.test('the parent keeps no fd of an idmapped tree', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass (root only)')) return;
  const { spawnIsolated } = require('../..');
  const mounts = [{ type: 'bind', source: '/usr/share', target: '/mnt', idmap: { uid: 0, gid: 0 } }];
  await spawnIsolated('/bin/true', [], { mounts, stdio: 'ignore' }).exited;
  const before = fs.readdirSync('/proc/self/fd').length;
  for (let i = 0; i < 10; i++) await spawnIsolated('/bin/true', [], { mounts, stdio: 'ignore' }).exited;
  t.equal(fs.readdirSync('/proc/self/fd').length, before);
});

t.test('an idmapped mount needs a root caller', async (t) => {
  if (!skipExpected(t, !isRoot, 'root pass (root may)')) return;
  const { CordonOptionError } = require('../..');
  t.throws(() => require('../..').spawnIsolated('/bin/true', [], { mounts: [{ type: 'bind', source: '/tmp', target: '/mnt', idmap: { uid: 1, gid: 1 } }] }), CordonOptionError);
});

t.test('a missing source names the step and the path', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass (root only)')) return;
  const { error } = await spawnError('/bin/true', [], { mounts: [{ type: 'bind', source: '/nonexistent-idmap', target: '/mnt', idmap: { uid: 1, gid: 1 } }] });
  t.equal(error.code, 'ENOENT');
  t.equal(error.step, 'mounts[0] bind');
  t.equal(error.syscall, 'openat2', 'the source is resolved without following symlinks');
  t.equal(error.path, '/nonexistent-idmap');
});
