// A supervisor SIGKILLed while boxes are being set up leaves none behind
// (dieWithParent, the default). The box's parent-death signal was set
// late in its set-up (after its last credential change, which clears it):
// a box whose supervisor died before that went on, exec'd its init and
// payload and ran on, orphaned; one whose supervisor died before it said
// "go" waited for it forever. Seen: 2-3 orphaned boxes per SIGKILL of a
// supervisor starting 8 boxes at a time.
'use strict';
const t = require('tap');
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');

const ROOT = path.join(__dirname, '..', '..');

/** Pids of the processes whose command line holds `marker` (the supervisor's box children before their exec hold its command line). */
function holding(marker) {
  const found = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

// Starts boxes 8 at a time, each killed once started, and prints a line per box.
const SUPERVISOR = `
  const { spawnIsolatedAsync } = require(${JSON.stringify(ROOT)});
  const marker = process.argv[1];
  async function loop() {
    for (;;) {
      const box = await spawnIsolatedAsync('/bin/sleep', [marker], { stdio: 'ignore' });
      console.log('started');
      box.kill('SIGKILL');
      await box.exited;
    }
  }
  for (let i = 0; i < 8; i++) loop();
`;

t.test('SIGKILL of a supervisor in the middle of set-ups leaves no box', async (t) => {
  for (let round = 0; round < 6; round++) {
    const marker = `${process.pid}${round}${Date.now() % 100000}.75`;
    const supervisor = spawn(process.execPath, ['-e', SUPERVISOR, marker], { stdio: ['ignore', 'pipe', 'inherit'] });
    const gone = new Promise((resolve) => supervisor.once('exit', resolve));
    // Killed after some boxes have started, so that others are in flight.
    let started = 0;
    await new Promise((resolve) => {
      supervisor.stdout.on('data', (chunk) => {
        started += chunk.toString().split('\n').length - 1;
        if (started >= 10 + round * 7) resolve();
      });
    });
    supervisor.kill('SIGKILL');
    await gone;
    // Whatever the supervisor had in flight dies with it (a SIGKILL each,
    // delivered at once): wait until none holds the marker.
    while (holding(marker).length > 0) await new Promise((resolve) => setTimeout(resolve, 25));
    t.same(holding(marker), [], `round ${round}: no box of the killed supervisor is left`);
  }
});
