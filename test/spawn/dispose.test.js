// `await using` releases a box or a pool when the scope is left, the way
// README's Box section says. The syntax (explicit resource management) is
// native from Node 24; on Node 22 it is a SyntaxError, so this file checks
// the syntax first and skips there (the disposers themselves are tested on
// every line in lifecycle.test.js and pool.test.js).
'use strict';
const t = require('tap');
const { spawnIsolated } = require('../..');
const { skipExpected } = require('../helpers/skip');

function hasAwaitUsing() {
  try {
    // eslint-disable-next-line no-new-func
    new Function('return async () => { await using x = null; };');
    return true;
  } catch (error) {
    if (error instanceof SyntaxError) return false;
    throw error;
  }
}

const supported = hasAwaitUsing();
const major = Number(process.versions.node.split('.')[0]);

t.test('the syntax check agrees with the Node line', async (t) => {
  // Node 24 and later parse `await using` without flags; if this fails the
  // skip below would hide the rest of the file where it should run.
  t.equal(supported, major >= 24, `await using on Node ${process.version}`);
});

if (skipExpected(t, supported, `Node line (${process.version} has no \`await using\`; it is native from Node 24)`)) {
  const { boxScope, poolScope } = require('../helpers/await-using-scopes');

  t.test('leaving the scope kills a running box and waits for it', async (t) => {
    let settledInScope = false;
    const { box, error } = await boxScope(async (box) => {
      await new Promise((resolve) => box.once('spawn', resolve));
      box.exited.then(() => { settledInScope = true; }, () => { settledInScope = true; });
      t.equal(box.exitCode, null, 'the box runs inside the scope');
    });
    t.equal(error, undefined);
    await Promise.resolve();
    t.equal(settledInScope, true, 'exited has settled when the scope is left');
    t.equal((await box.exited).signal, 'SIGKILL');
    t.equal(box.kill(), false, 'nothing left to kill');
    t.ok(box.stdin.destroyed && box.stdout.destroyed && box.stderr.destroyed, 'its pipes are destroyed');
  });

  t.test('a throw out of the scope still disposes the box, and the error comes through', async (t) => {
    const thrown = new Error('tenant handler failed');
    const { box, error } = await boxScope(async (box) => {
      await new Promise((resolve) => box.once('spawn', resolve));
      throw thrown;
    });
    t.equal(error, thrown);
    t.equal((await box.exited).signal, 'SIGKILL');
  });

  t.test('leaving the scope closes a namespace pool', async (t) => {
    const pool = await poolScope({ kind: 'user+net', size: 1 });
    t.equal(pool.closed, true);
    t.throws(() => spawnIsolated('/bin/true', [], { netnsPool: pool }), { code: 'ERR_CORDON_POOL_CLOSED' });
  });
}
