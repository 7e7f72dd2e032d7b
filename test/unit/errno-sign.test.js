// One sign for errors across the addon: every native export reports a
// failure as -errno (as the kernel's system call ABI does), never +errno.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');
const { native } = require('../../dist/internal/native');

const { ENODEV, EPERM, EBADF, ENOENT } = os.constants.errno;

t.test('types/native.d.ts promises -errno everywhere', async (t) => {
  const declaration = fs.readFileSync(path.join(__dirname, '..', '..', 'types', 'native.d.ts'), 'utf8');
  t.notMatch(declaration, /positive errno/i);
  t.match(declaration, /-errno/);
});

t.test('exports that once gave +errno give -errno', async (t) => {
  const binding = native();
  const gone = binding.deleteLink('cordon-no-such-link');
  t.ok(gone === -ENODEV || gone === -EPERM, `deleteLink of a missing link: ${gone}`);
  t.equal(await binding.deleteLinkAsync('cordon-no-such-link'), gone, 'deleteLinkAsync the same');
  const address = binding.ipv4Address('cordon-no-such-link');
  t.ok(typeof address === 'number' && address < 0, `ipv4Address of a missing link: ${address}`);
  t.equal(binding.openSocketDir('/proc/cordon-no-such-dir/x', 0o750, -1, -1).error < 0, true, 'openSocketDir');
  t.equal(binding.prepareUpper('/cordon-no-such-dir', 0, 0, 0).error, -ENOENT, 'prepareUpper');
  t.equal(binding.closeFd(-1), -EBADF, 'closeFd (always -errno)');
});
