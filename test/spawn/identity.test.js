// Id ranges: newuidmap/newgidmap for unprivileged callers, and the
// per-tenant range allocator for supervisors.
'use strict';
const fs = require('node:fs');
const t = require('tap');
const { IdRangeAllocator } = require('../..');
const { subordinateRanges } = require('../../dist/identity');
const { runSh, spawnError, isRoot } = require('../helpers/payload');
const { requireOrSkip, skipExpected } = require('../helpers/skip');

t.test('an unprivileged caller maps a range granted by /etc/subuid', async (t) => {
  if (!skipExpected(t, !isRoot, 'root pass (root writes maps directly (namespaces.test.js maps 65,536 ids))')) return;
  const uids = subordinateRanges('/etc/subuid')[0];
  const gids = subordinateRanges('/etc/subgid')[0];
  if (!requireOrSkip(t, uids !== undefined && gids !== undefined && fs.existsSync('/usr/bin/newuidmap'),
    'needs newuidmap (Debian: uidmap) and /etc/subuid, /etc/subgid ranges for this user (.ci/run adds nobody:300000:65536)')) return;
  const result = await runSh('id -u; id -g; cat /proc/self/uid_map', {
    uidMap: [{ inside: 0, outside: process.geteuid(), count: 1 }, { inside: 1, outside: uids.start, count: Math.min(uids.count, 65535) }],
    gidMap: [{ inside: 0, outside: process.getegid(), count: 1 }, { inside: 1, outside: gids.start, count: Math.min(gids.count, 65535) }],
    uid: 1000,
    gid: 1000,
  });
  t.equal(result.code, 0, result.stderr);
  const [uid, gid, ...map] = result.stdout.trim().split('\n');
  t.equal(uid, '1000');
  t.equal(gid, '1000');
  t.equal(map.length, 2, 'both map lines');
  t.match(map[1], new RegExp(`^\\s*1\\s+${uids.start}\\s+`));
  // The box's child shared this process's memory when it became uid 1000
  // (another host uid), which made this process non-dumpable: its /proc
  // files then belonged to root and the next box's maps could not be written.
  t.equal(fs.statSync('/proc/self/status').uid, process.geteuid(), 'this process\'s /proc files are its own again');
  const next = await runSh('id -u');
  t.equal(next.code, 0, `a box with the default map still starts afterwards: ${next.stderr}`);
});

t.test('a range /etc/subuid does not grant is refused before anything runs', async (t) => {
  if (!skipExpected(t, !isRoot, 'root pass (root may map anything)')) return;
  const { error } = await spawnError('/bin/true', [], { uidMap: [{ inside: 0, outside: 4000000000, count: 10 }] });
  t.equal(error.code, 'ERR_CORDON_HOST_UNSUPPORTED');
  t.match(error.message, /not granted|not installed/);
});

t.test('IdRangeAllocator hands out non-overlapping ranges', async (t) => {
  const ranges = new IdRangeAllocator({ base: 100000, size: 65536, reserved: [{ start: 165536, count: 65536 }] });
  const a = ranges.allocate('tenant-a');
  const b = ranges.allocate('tenant-b');
  t.same(a, [{ inside: 0, outside: 100000, count: 65536 }]);
  t.same(b, [{ inside: 0, outside: 231072, count: 65536 }], 'skips a reserved range');
  t.same(ranges.allocate('tenant-a'), a, 'stable per tenant');
  t.ok(ranges.release('tenant-a'));
  t.same(ranges.allocate('tenant-c'), a, 'a released range is reused');
  const restored = new IdRangeAllocator({ base: 100000, size: 65536, reserved: [], assigned: ranges.toJSON() });
  t.same(restored.allocate('tenant-b'), b, 'state survives toJSON');
  t.throws(() => new IdRangeAllocator({ size: 0 }), RangeError);
  const all = ['x', 'y', 'z'].map((name) => ranges.allocate(name)[0]);
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) {
      t.ok(all[i].outside + all[i].count <= all[j].outside || all[j].outside + all[j].count <= all[i].outside, 'no overlap');
    }
  }
});

t.test('a root supervisor runs a tenant in its allocated range', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass (root only)')) return;
  const ranges = new IdRangeAllocator({ base: 2000000, reserved: [] });
  const map = ranges.allocate('site42');
  const result = await runSh('cat /proc/self/uid_map; id -u', { uidMap: map, gidMap: map, uid: 33, gid: 33 });
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /^\s*0\s+2000000\s+65536\n33\n$/);
});
