// A socket file's "dev:ino" (what listenUnixAt gives and a state record
// keeps) is checked before use, in JS and in the addon: a damaged record
// must not abort the supervisor that reads it (an uncaught C++ exception
// in a binding does) nor aim an unlink at a file cordon cannot tell apart.
'use strict';
const { spawnSync } = require('node:child_process');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');
const { isFileId } = require('../../dist/sockets');

const { EINVAL } = os.constants.errno;

t.test('isFileId: two unsigned 64-bit decimals and nothing else', async (t) => {
  for (const good of ['0:0', '2049:131', '18446744073709551615:18446744073709551615']) t.ok(isFileId(good), good);
  for (const bad of ['', ':', '1:', ':1', '1:2:3', ' 1:2', '-1:2', '+1:2', '1:2 ', '0x10:1', '1.5:2', 'dev:ino',
    '18446744073709551616:0', '0:18446744073709551616', '99999999999999999999999:1', 5, null, undefined, ['1:2']]) {
    t.notOk(isFileId(bad), `refused: ${JSON.stringify(bad)}`);
  }
});

t.test('the addon refuses a malformed "dev:ino" with -EINVAL, and the process lives on', async (t) => {
  // In a child: before the fix, std::stoull's exception aborted the process.
  const script = `
    const { native } = require(${JSON.stringify(path.resolve(__dirname, '../../dist/internal/native'))});
    const out = ['99999999999999999999999:1', '1:18446744073709551616', 'dev:ino', '-1:2', ' 1:2', '1:'].map((file) => native().unlinkSocketAt(-1, 'x.sock', file));
    process.stdout.write(JSON.stringify(out));
  `;
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
  t.equal(run.signal, null, `not killed by a signal: ${run.stderr}`);
  t.equal(run.status, 0, 'exits 0');
  t.same(JSON.parse(run.stdout || 'null'), Array(6).fill(-EINVAL), 'each call answers -EINVAL');
});
