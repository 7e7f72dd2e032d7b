// The order in which the init lets its payload go, read from strace: the
// init closes its end of the status pipe before it writes the gate byte
// that starts the payload. A payload that may trace pid 1 (capabilities:
// ['CAP_SYS_PTRACE']) could otherwise make the init write into the still
// open pipe, and the parent would read those bytes as the box's setup
// report (seen in CI: redteam-init-forge.test.js failed with
// `clone3 EPROTO: step 1/79 'clone'` when its injected record landed
// there). The race itself cannot be forced from a test; the order can be
// checked on every run.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');
const { requireOrSkip } = require('../helpers/skip');
const { removeTree } = require('../helpers/remove-tree');

const hasStrace = spawnSync('strace', ['-V'], { stdio: 'ignore' }).status === 0;

t.test('the init closes the status pipe before the payload may run', async (t) => {
  if (!requireOrSkip(t, hasStrace, 'strace is not installed')) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-strace-init-'));
  t.teardown(() => removeTree(dir));
  const script = `
    const { spawnIsolated } = require(${JSON.stringify(path.join(__dirname, '../..'))});
    spawnIsolated('/bin/true', [], {}).exited.then((r) => process.exit(r.code), (e) => { console.error(e); process.exit(1); });`;
  const result = spawnSync('strace', ['-f', '-ff', '-qq', '-s', '64', '-o', path.join(dir, 'trace'), process.execPath, '-e', script], {
    encoding: 'utf8',
  });
  t.equal(result.status, 0, result.stderr);
  let checked = 0;
  for (const file of fs.readdirSync(dir)) {
    const lines = fs.readFileSync(path.join(dir, file), 'utf8').split('\n');
    // The box child execs the init (cordon_init STATUS_FD EXIT_FD ...) with execveat.
    const exec = lines.findIndex((l) => l.startsWith('execveat(') && l.includes('"cordon-init"'));
    if (exec < 0) continue;
    const statusFd = /"cordon-init", "(\d+)"/.exec(lines[exec])?.[1];
    t.ok(statusFd, `the init's status fd is in its argv: ${lines[exec].slice(0, 160)}`);
    const after = lines.slice(exec + 1);
    const closed = after.findIndex((l) => l.startsWith(`close(${statusFd})`));
    // The gate: the one byte "\1" the init writes to let its payload exec.
    const gate = after.findIndex((l) => /^write\(\d+, "\\1", 1\)/.test(l));
    t.ok(gate >= 0, 'the init opened the gate');
    t.ok(closed >= 0, `the init closed the status pipe (fd ${statusFd})`);
    t.ok(closed < gate, `close(${statusFd}) (line ${closed}) comes before the gate's write (line ${gate})`);
    checked++;
  }
  t.equal(checked, 1, 'one init traced');
});
