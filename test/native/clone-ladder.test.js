// The clone ladder: every rung spawns a working box, and probe() reports
// the best one. Forcing a lower rung is how the fallbacks get tested on a
// kernel that has the best one.
'use strict';
const fs = require('node:fs');
const t = require('tap');
const { native } = require('../../dist/internal/native');
const { runSh, spawnError } = require('../helpers/payload');

const RUNGS = ['clone3', 'clone3-basic', 'clone'];

t.afterEach(() => native().forceRung(-1));

for (const [rung, name] of RUNGS.entries()) {
  t.test(`rung ${name}: a fully isolated box works`, async (t) => {
    native().forceRung(rung);
    const result = await runSh('echo $$; hostname; readlink /proc/self/ns/net; trap "" USR1; kill -USR1 $$; echo alive');
    t.equal(result.code, 0, result.stderr);
    const [pid, hostname, net, alive] = result.stdout.trim().split('\n');
    t.equal(pid, '2');
    t.equal(hostname, 'cordon');
    t.not(net, fs.readlinkSync('/proc/self/ns/net'));
    t.equal(alive, 'alive');
  });

  t.test(`rung ${name}: signal handlers of Node are not inherited`, async (t) => {
    native().forceRung(rung);
    // Node installs handlers (SIGINT when listened to, SIGWINCH/SIGCHLD by libuv);
    // an inherited handler address would be garbage after exec, so the kernel
    // resets caught signals at exec, but ignored ones stay ignored: SIGPIPE is
    // ignored by Node and must be default in the box.
    process.on('SIGUSR2', () => {});
    t.teardown(() => process.removeAllListeners('SIGUSR2'));
    const result = await runSh('grep -E "^Sig(Ign|Blk)" /proc/self/status', { init: false });
    t.equal(result.code, 0, result.stderr);
    for (const line of result.stdout.trim().split('\n')) {
      const [key, mask] = line.split(/:\s+/);
      t.equal(mask, '0000000000000000', `${key}: nothing ignored or blocked`);
    }
  });
}

t.test('the legacy clone rung cannot make a time namespace and says so', async (t) => {
  native().forceRung(2);
  const { error } = await spawnError('/bin/true', [], { namespaces: { time: 'new' } });
  t.equal(error.code, 'EINVAL');
  t.equal(error.step, 'clone');
});

t.test('spawns settle on the best rung', async (t) => {
  native().forceRung(-1);
  await runSh('true');
  t.equal(native().settledRung(), 0, 'clone3 with CLONE_CLEAR_SIGHAND on this kernel');
});
