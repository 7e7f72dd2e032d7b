// lib/internal/resolve.ts: host paths resolved one name at a time, never
// through a symlink the policy refuses, never out of the root.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');

const { resolveBeneath, hostSystemLinks } = require('../../dist/internal/resolve.js');

function tree(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-resolve-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const all = () => true;

t.test('links resolve beneath the root: an absolute target starts again at the root, .. stops there', async (t) => {
  const outside = tree(t);
  fs.writeFileSync(path.join(outside, 'secret'), 'host');
  const root = tree(t);
  fs.mkdirSync(path.join(root, 'etc'));
  fs.writeFileSync(path.join(root, 'etc', 'inside'), 'image');
  fs.symlinkSync(outside, path.join(root, 'out'));
  fs.symlinkSync('../../../../etc', path.join(root, 'up'));
  fs.symlinkSync('/etc/inside', path.join(root, 'abs'));

  t.equal(resolveBeneath(root, '/out/secret', all), undefined, 'a link to a host directory leads to root/<that path>, which the image lacks');
  t.equal(resolveBeneath(root, '/up/inside', all)?.path, path.join(root, 'etc', 'inside'), '.. above the root stays at the root');
  t.equal(resolveBeneath(root, '/abs', all)?.path, path.join(root, 'etc', 'inside'), 'an absolute link starts again at the root');
  t.equal(resolveBeneath(root, '/../../etc/inside', all)?.path, path.join(root, 'etc', 'inside'), '.. in the path itself stops at the root');
  t.equal(resolveBeneath(root, '/etc/inside/more', all), undefined, 'a file is not passed through');
  t.equal(resolveBeneath(root, '/up/inside', () => false), undefined, 'a refused link ends the resolution');
});

t.test('a loop of links gives up', async (t) => {
  const root = tree(t);
  fs.symlinkSync('b', path.join(root, 'a'));
  fs.symlinkSync('a', path.join(root, 'b'));
  t.equal(resolveBeneath(root, '/a', all), undefined);
});

t.test("hostSystemLinks follows the host's own links only", async (t) => {
  // /bin -> usr/bin where the host has it (merged /usr); else /lib64 and the like.
  const system = ['/bin', '/sbin', '/lib', '/lib64'].find((link) => {
    const stat = fs.lstatSync(link, { throwIfNoEntry: false });
    return stat?.isSymbolicLink() && stat.uid === 0;
  });
  if (system !== undefined) {
    t.ok(resolveBeneath('/', system, hostSystemLinks), `${system}, root's link in root's /, is followed`);
  }
  // A link in a directory others may write (the temp dir, 1777) is refused,
  // whoever owns it: a tenant's link says nothing of where it leads.
  const dir = tree(t);
  fs.chmodSync(dir, 0o777);
  fs.symlinkSync('/etc', path.join(dir, 'etc-link'));
  t.equal(resolveBeneath('/', path.join(dir, 'etc-link', 'hostname'), hostSystemLinks), undefined, 'a link in a world-writable directory is not followed');
  // In a directory of its owner's that no one else may write: followed
  // only when that owner is root (root's own link), never a user's.
  fs.chmodSync(dir, 0o755);
  const followed = resolveBeneath('/', path.join(dir, 'etc-link'), hostSystemLinks) !== undefined;
  t.equal(followed, process.geteuid() === 0, `a link owned by uid ${process.geteuid()} in its own 0755 directory: followed only if that is root`);
});
