// A box with many fds: the child moves the payload's fds to their numbers
// (0, 1, 2, 3, ...), and the fd it execs the init from must survive that,
// wherever it happens to sit among them (Reliability: "EACCES at step 'exec
// init' when a box has many fds"). The init's fd is made once per thread,
// so its number is fixed here; the sweep moves the targets over it.
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const t = require('tap');
const { spawnIsolated } = require('../..');
const { initSource } = require('../../dist/internal/sealed-init');

const devNull = fs.openSync('/dev/null', 'r+');
t.teardown(() => fs.closeSync(devNull));

async function exitOf(box) {
  try {
    return await box.exited;
  } catch (error) {
    return { error: `${error.code} at '${error.step}'` };
  }
}

t.test('3 to 64 extra fds, the init fd under each target and each control slot', async (t) => {
  const initFd = initSource().fd;
  t.ok(initFd > 2, `the init's fd (${initFd})`);
  const failures = [];
  for (let extra = 3; extra <= 64; extra++) {
    // Fds 0..2, then `extra` more: targets 3..extra+2; the status and exit
    // pipes go just above them.
    const stdio = ['ignore', 'ignore', 'ignore', ...Array(extra).fill(devNull)];
    const result = await exitOf(spawnIsolated('/bin/sh', ['-c', `[ -e /proc/self/fd/${extra + 2} ] || exit 9`], { stdio }));
    if (result.error !== undefined || result.code !== 0) failures.push(`${extra}: ${result.error ?? `exit ${result.code}`}`);
  }
  t.same(failures, [], 'every box ran, its last fd in place');
  t.ok(initFd <= 64 + 4, 'the sweep passed over the init fd');
});

t.test('16 listen sockets', async (t) => {
  const listen = Array.from({ length: 16 }, () => ({ port: 0, host: '127.0.0.1' }));
  const box = spawnIsolated('/bin/sh', ['-c', 'echo $LISTEN_FDS'], { listen });
  const out = [];
  box.stdout.on('data', (d) => out.push(d));
  const result = await exitOf(box);
  t.equal(result.code, 0, result.error);
  t.equal(Buffer.concat(out).toString().trim(), '16');
});
