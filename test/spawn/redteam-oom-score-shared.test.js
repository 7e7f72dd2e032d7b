// Red team: oomScoreAdj is one box's, never the supervisor's or another
// box's. The box child is cloned with CLONE_VM (it shares Node's memory
// until its exec) and writes /proc/self/oom_score_adj there; the kernel
// (__set_oom_adj) gives the value to every process sharing that mm that is
// no vfork child: Node itself and every box child in setup at that moment.
// So one box with oomScoreAdj 1000 made the supervisor the OOM killer's
// first victim, and every later box without the option ran with 1000 too.
// A plan that writes oom_score_adj now gets a child of its own memory
// (native/plan_decode.cc, as for a child placed in a cgroup).
// Run in a child process: the attack changes the process it runs in.
'use strict';
const { spawnSync } = require('node:child_process');
const t = require('tap');

const script = `
  const fs = require('node:fs');
  const { spawnIsolated } = require(${JSON.stringify(require.resolve('../..'))});
  const own = () => fs.readFileSync('/proc/self/oom_score_adj', 'utf8').trim();
  (async () => {
    const before = own();
    // Raised (anyone may raise it): a value other than the supervisor's.
    const wanted = Number(before) < 1000 ? Number(before) + 1 : 999;
    const first = spawnIsolated('/bin/cat', ['/proc/self/oom_score_adj'], { stdio: ['ignore', 'pipe', 'ignore'], oomScoreAdj: wanted });
    let firstOut = '';
    first.stdout.on('data', (d) => (firstOut += d));
    await first.exited;
    const after = own();
    // A later box that sets nothing: it inherits the supervisor's value.
    const box = spawnIsolated('/bin/cat', ['/proc/self/oom_score_adj'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    box.stdout.on('data', (d) => (out += d));
    await box.exited;
    console.log(JSON.stringify({ before, after, wanted: String(wanted), box: firstOut.trim(), laterBox: out.trim() }));
  })();`;

t.test('a box\'s oomScoreAdj stays the box\'s', async (t) => {
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  t.equal(result.status, 0, `the attack ran: ${result.stderr}`);
  const seen = JSON.parse(result.stdout.trim().split('\n').pop());
  t.equal(seen.box, seen.wanted, 'the box runs with its oomScoreAdj');
  t.equal(seen.after, seen.before, 'the supervisor\'s own oom_score_adj is unchanged by a box\'s');
  t.equal(seen.laterBox, seen.before, 'a later box without oomScoreAdj runs with the supervisor\'s value, not another box\'s');
});
