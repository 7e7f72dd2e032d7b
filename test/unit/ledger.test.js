// The owner ledger hands back a handle per resource: an early release or a
// transfer goes through it, never through a name that a typo could miss.
'use strict';
const t = require('tap');
const { Ledger } = require('../../dist/internal/resources');

t.test('a handle releases its own entry once, and only that one', async (t) => {
  const ledger = new Ledger();
  const released = [];
  const a = ledger.add('same name', () => released.push('a'));
  ledger.add('same name', () => released.push('b'));
  a.release();
  a.release();
  t.same(released, ['a'], 'released once, the other entry of the same name kept');
  t.equal(ledger.size, 1);
  ledger.releaseAll();
  t.same(released, ['a', 'b']);
});

t.test('a transferred entry is forgotten, not released', async (t) => {
  const ledger = new Ledger();
  const released = [];
  const a = ledger.add('a', () => released.push('a'));
  a.transfer();
  a.release();
  t.same(ledger.releaseAll(), []);
  t.same(released, [], 'its new owner releases it');
});

t.test('added after releaseAll: released at once, and the handle is inert', async (t) => {
  const ledger = new Ledger();
  ledger.releaseAll();
  const released = [];
  const late = ledger.add('late', () => released.push('late'));
  t.same(released, ['late']);
  late.release();
  t.same(released, ['late'], 'not twice');
});

t.test('hold() gives the fd with its entry', async (t) => {
  const fs = require('node:fs');
  const ledger = new Ledger();
  const held = ledger.hold('devnull', fs.openSync('/dev/null', 'r'), 'fs');
  t.ok(held.fd >= 0);
  t.ok(fs.fstatSync(held.fd).isCharacterDevice());
  held.release();
  t.throws(() => fs.fstatSync(held.fd), { code: 'EBADF' }, 'closed');
  t.equal(ledger.size, 0);
});
