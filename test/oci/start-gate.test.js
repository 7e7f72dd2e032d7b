// The startGate option (what `cordon oci create`/`start` stand on): the box
// is set up and reports 'spawn', but nothing of the payload runs until one
// byte arrives on the gate; a signal ends it there unrun.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const t = require('tap');

const { spawnIsolated } = require('../../dist/index.js');
const { scratch } = require('../helpers/images');

/** A FIFO opened read-write (so opening it never blocks), and its path. */
function gateFifo(t) {
  const fifo = path.join(scratch(t, 'cordon-gate-'), 'gate');
  execFileSync('mkfifo', ['-m', '0600', fifo]);
  const fd = fs.openSync(fifo, fs.constants.O_RDWR);
  t.teardown(() => {
    try {
      fs.closeSync(fd);
    } catch {
      // closed by the test already
    }
  });
  return { fifo, fd };
}

function collect(stream) {
  let text = '';
  stream.on('data', (d) => (text += d));
  return () => text;
}

function open(fifo) {
  const w = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  fs.writeSync(w, '0');
  fs.closeSync(w);
}

t.test('nothing runs before the byte; then the payload runs without the gate fd', async (t) => {
  const { fifo, fd } = gateFifo(t);
  const box = spawnIsolated('/bin/sh', ['-c', 'echo ran; ls /proc/self/fd'], { startGate: fd, stdio: ['ignore', 'pipe', 'inherit'] });
  const out = collect(box.stdout);
  await new Promise((resolve, reject) => {
    box.once('spawn', resolve);
    box.once('error', reject);
  });
  fs.closeSync(fd);
  t.equal(out(), '', 'spawned, yet the payload has not run');
  open(fifo);
  const result = await box.exited;
  t.equal(result.code, 0);
  // fds of ls: 0 1 2 and the one it lists with; no gate (3 would be ls's own dir fd).
  const fds = out().split('\n').slice(1).filter(Boolean);
  t.equal(out().split('\n')[0], 'ran');
  t.same(fds, ['0', '1', '2', '3'], 'the gate fd was closed before the exec (3 is ls reading /proc/self/fd)');
});

t.test('a signal reaches a box waiting at its gate', async (t) => {
  const { fd } = gateFifo(t);
  const box = spawnIsolated('/bin/sh', ['-c', 'echo ran'], { startGate: fd, stdio: ['ignore', 'pipe', 'inherit'] });
  const out = collect(box.stdout);
  await new Promise((resolve) => box.once('spawn', resolve));
  box.kill('SIGKILL');
  const result = await box.exited;
  t.equal(out(), '');
  t.ok(result.code === 128 + 9 || result.signal === 'SIGKILL', JSON.stringify(result));
});

t.test('startGate needs the init, and an fd', async (t) => {
  t.throws(() => spawnIsolated('/bin/true', [], { startGate: 0, init: false }), { name: 'CordonOptionError', message: /start gate: it needs init/ });
  t.throws(() => spawnIsolated('/bin/true', [], { startGate: -1 }), { name: 'CordonOptionError', message: /startGate/ });
  t.throws(() => spawnIsolated('/bin/true', [], { startGate: '3' }), { name: 'CordonOptionError', message: /startGate/ });
});
