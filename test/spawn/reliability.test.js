// A box can never take down its supervisor, and a supervisor short of a
// resource hears which one. Here: a supervisor near its RLIMIT_NOFILE gets an
// error that names the fd shortage and the limit, whichever step hit it.
'use strict';
const { spawn } = require('node:child_process');
const path = require('node:path');
const t = require('tap');

const ROOT = path.resolve(__dirname, '../..');

/** The environment of a supervisor this test starts: without tap's loaders (NODE_OPTIONS), which open files of their own. */
function supervisorEnv() {
  const env = { ...process.env, CORDON_ROOT: ROOT };
  delete env.NODE_OPTIONS;
  return env;
}

/** Runs `source` in a fresh node whose soft RLIMIT_NOFILE is `limit`; resolves with its stdout lines parsed as JSON. */
function nodeWithFdLimit(limit, source) {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', `ulimit -n ${limit} && unset NODE_OPTIONS && exec "$0" -e "$1"`, process.execPath, source], {
      env: supervisorEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`supervisor exited ${code}: ${err}`));
      resolve(out.split('\n').filter(Boolean).map((line) => JSON.parse(line)));
    });
  });
}

// Holds 0, 1, 2, ... extra fds open and spawns a box each time, until the
// supervisor itself cannot open more: each spawn meets the limit at another
// step (the sealed init, stdio socketpairs, clone3's pidfd, the child's
// mounts, the exec), and every error is printed.
const SUPERVISOR = `
const fs = require('node:fs');
const { spawnIsolated } = require(process.env.CORDON_ROOT);
(async () => {
  const held = [];
  for (let extra = 0; extra < 64; extra++) {
    if (extra > 0) {
      try { held.push(fs.openSync('/dev/null', 'r')); } catch { break; }
    }
    let box;
    try {
      box = spawnIsolated('/bin/true', [], {});
    } catch (error) {
      console.log(JSON.stringify({ thrown: true, name: error.name, code: error.code, step: error.step, message: error.message, hint: error.hint }));
      continue;
    }
    box.on('error', () => {});
    try {
      await box.exited;
    } catch (error) {
      console.log(JSON.stringify({ name: error.name, code: error.code, step: error.step, errno: error.errno, syscall: error.syscall, message: error.message, hint: error.hint }));
    }
  }
  for (const fd of held) fs.closeSync(fd);
})();
`;

t.test('EMFILE from any step names the fd shortage, the limit and what to do', async (t) => {
  const errors = await nodeWithFdLimit(40, SUPERVISOR);
  const emfile = errors.filter((error) => error.code === 'EMFILE');
  t.ok(emfile.length > 0, `the supervisor hit its fd limit (${errors.length} errors)`);
  t.same(errors.filter((error) => error.code !== 'EMFILE').map((e) => e.message), [], 'every failure was EMFILE');
  const steps = new Set(emfile.map((error) => error.step));
  t.ok(steps.size >= 3, `the limit was met at several steps: ${[...steps].join(', ')}`);
  t.comment(emfile[0].message);
  for (const error of emfile) {
    const where = `step ${error.step}`;
    t.equal(error.name, 'CordonError', where);
    t.equal(error.thrown, undefined, `reported on the box, not thrown: ${where}`);
    t.equal(error.errno, -24, `errno kept: ${where}`);
    t.type(error.step, 'string', `step kept: ${where}`);
    t.match(error.message, /out of file descriptors/, `the message names the shortage: ${where}`);
    t.match(error.message, /RLIMIT_NOFILE/, `the message names the limit: ${where}`);
    t.match(error.hint, /soft limit 40\b/, `the hint gives the limit: ${where}`);
    t.match(error.hint, /ulimit -n/, `the hint says how to raise it: ${where}`);
    t.match(error.hint, /close/, `the hint says to close fds: ${where}`);
  }
});

// The same with spawnIsolatedAsync(): its stdio socket pairs are made on
// the set-up thread (off the JS thread), so the limit is met there too.
const ASYNC_SUPERVISOR = SUPERVISOR
  .replace("const { spawnIsolated } = require(process.env.CORDON_ROOT);", "const { spawnIsolatedAsync } = require(process.env.CORDON_ROOT);")
  .replace("box = spawnIsolated('/bin/true', [], {});", "box = await spawnIsolatedAsync('/bin/true', [], {});")
  // A failed spawnIsolatedAsync() rejects: its error lands in the catch that reports thrown errors.
  .replace('{ thrown: true, name: error.name, code: error.code, step: error.step,', '{ name: error.name, code: error.code, step: error.step, errno: error.errno, syscall: error.syscall,');

t.test('EMFILE in spawnIsolatedAsync, the set-up thread\'s socket pairs included, is reported the same way', async (t) => {
  t.not(ASYNC_SUPERVISOR, SUPERVISOR, 'the async supervisor is the sync one with spawnIsolatedAsync');
  const errors = await nodeWithFdLimit(40, ASYNC_SUPERVISOR);
  const emfile = errors.filter((error) => error.code === 'EMFILE');
  t.ok(emfile.length > 0, `the supervisor hit its fd limit (${errors.length} errors)`);
  t.same(errors.filter((error) => error.code !== 'EMFILE').map((e) => e.message), [], 'every failure was EMFILE');
  const pairs = emfile.filter((error) => /^stdio\[\d\]$/.test(error.step ?? ''));
  t.ok(pairs.length > 0, `the limit was met making a stdio socket pair: ${[...new Set(emfile.map((error) => error.step))].join(', ')}`);
  for (const error of pairs) {
    t.equal(error.syscall, 'socketpair', `the syscall is named (${error.message})`);
    t.equal(error.errno, -24, 'errno kept');
    t.match(error.message, /out of file descriptors/, 'the message names the shortage');
    t.match(error.hint, /soft limit 40\b/, 'the hint gives the limit');
  }
});

t.test('ENFILE names the system file table; a step\'s own hint is kept', async (t) => {
  const { CordonError } = require('../..');
  const enfile = new CordonError('ENFILE', 'socketpair ENFILE: cannot create stdio[0]', { errno: -23, step: 'stdio[0]' });
  t.match(enfile.message, /system ran out of file descriptors/, enfile.message);
  t.match(enfile.hint, /fs\.file-max/, 'the hint names fs.file-max');
  t.equal(enfile.step, 'stdio[0]', 'the step is kept');
  const own = new CordonError('EMFILE', 'x', { hint: 'a hint of its own' });
  t.equal(own.hint, 'a hint of its own', 'an explicit hint wins');
  t.equal(own.message, 'x', 'and the message is left alone');
  const other = new CordonError('ENOENT', 'y');
  t.equal(other.hint, undefined, 'other codes get no fd hint');
});
