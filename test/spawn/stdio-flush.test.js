// Output nobody reads: a box behaves as a child_process child does. Each case
// runs in its own node process, once with child_process.spawn and once with
// spawnIsolated, and the events each saw before the process ended must match.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const t = require('tap');

const entry = path.join(__dirname, '..', '..');

// `use` is applied to the child right after the spawn; the payload writes
// `bytes` bytes to stdout and 10 to stderr, or copies stdin when `cat`.
const CASES = {
  'unread small output': { bytes: 1000, use: '' },
  'unread 100 kB': { bytes: 100000, use: '' },
  'partly read, then paused': { bytes: 100000, use: "child.stdout.once('data', () => child.stdout.pause());" },
  'paused from the start': { bytes: 1000, use: 'child.stdout.pause();' },
  'destroyed stdout': { bytes: 1000, use: 'child.stdout.destroy();' },
  'stdin closed early': { cat: true, use: 'child.stdin.end();' },
  'read in full': { bytes: 300000, use: "let n = 0; child.stdout.on('data', (d) => { n += d.length; }); child.on('close', () => seen.push('read ' + n));" },
};

function script(kind, { bytes, cat, use }) {
  const command = cat ? "'/bin/cat', []" : `'/bin/sh', ['-c', 'head -c ${bytes} /dev/zero; echo 123456789 >&2']`;
  const start = kind === 'box'
    ? `const { spawnIsolated } = require(${JSON.stringify(entry)}); const child = spawnIsolated(${command});`
    : `const child = require('node:child_process').spawn(${command});`;
  return `
    const seen = [];
    ${start}
    child.on('exit', (code, signal) => seen.push('exit ' + code + ' ' + signal));
    child.on('close', (code, signal) => seen.push('close ' + code + ' ' + signal));
    ${use}
    process.on('exit', () => console.log(JSON.stringify(seen)));`;
}

for (const [name, testCase] of Object.entries(CASES)) {
  t.test(name, async (t) => {
    const results = {};
    for (const kind of ['child_process', 'box']) {
      const run = spawnSync(process.execPath, ['-e', script(kind, testCase)], { encoding: 'utf8', timeout: 60000 });
      t.equal(run.status, 0, `${kind}: node exits 0 ${run.stderr}`);
      results[kind] = JSON.parse(run.stdout.trim().split('\n').pop() || '[]');
    }
    t.ok(results.child_process.some((event) => event.startsWith('close')), 'child_process: close came');
    t.same(results.box, results.child_process, 'the box saw the same events as child_process');
  });
}
