'use strict';
const t = require('tap');
const { runSh } = require('../helpers/payload');

t.test('a box runs a shell and reports its exit', async (t) => {
  const result = await runSh('echo hello; exit 3');
  t.equal(result.stdout, 'hello\n');
  t.equal(result.code, 3);
  t.equal(result.signal, null);
});
