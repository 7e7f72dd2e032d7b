// A payload starts with every signal at its default disposition, whatever
// Node's are: Node ignores SIGPIPE (and an ignored signal survives execve),
// and its handlers must never run in a box. cordon's child resets them all
// before it execs the init or the payload; the init adds none of its own.
'use strict';
const t = require('tap');
const { run } = require('../helpers/payload');

/** The payload's own SigIgn and SigCgt masks, read from its /proc/self/status. */
async function dispositions(options) {
  // cat installs no handler of its own (grep, for one, catches SIGSEGV).
  const { stdout, code } = await run('/bin/cat', ['/proc/self/status'], options);
  if (code !== 0) throw new Error(`cat exited with ${code}`);
  const lines = stdout.split('\n').filter((line) => /^Sig(Ign|Cgt):/.test(line));
  return Object.fromEntries(lines.map((line) => line.split(/:\s+/)));
}

for (const [label, options] of [['with the init', {}], ['without an init', { init: false }]]) {
  t.test(`the payload ignores and catches no signal, ${label}`, async (t) => {
    const seen = await dispositions(options);
    t.same(seen, { SigIgn: '0000000000000000', SigCgt: '0000000000000000' }, 'all at the default');
  });
}
