'use strict';
// The bridge lock files' primitive (native host::lock_file): a sweep opens
// the lock files it listed without making them back. Two sweeps racing
// (two supervisors starting, one SIGKILLed right after it made back the
// file the other had just removed with its bridge) left a lock file for a
// bridge long gone (seen in a `.ci/run` with a second suite beside it).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');
const { native } = require('../../dist/internal/native');

const LOCK_EX = 2;
const LOCK_NB = 4;
const ENOENT = 2;

t.test('lockFile without create: ENOENT for a missing file, and nothing is made', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-lockfile-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  t.equal(native().lockFile(dir, 'gone.lock', LOCK_EX | LOCK_NB, false), -ENOENT, 'not there: -ENOENT');
  t.same(fs.readdirSync(dir), [], 'no file made');
  const made = native().lockFile(dir, 'made.lock', LOCK_EX | LOCK_NB);
  t.ok(made >= 0, 'with create (the default): made and locked');
  t.same(fs.readdirSync(dir), ['made.lock']);
  t.ok(native().lockFile(dir, 'made.lock', LOCK_EX | LOCK_NB, false) < 0, 'an existing file held by another open file description: not taken');
  native().closeFd(made);
  const again = native().lockFile(dir, 'made.lock', LOCK_EX | LOCK_NB, false);
  t.ok(again >= 0, 'an existing file is opened and locked without create');
  t.equal(native().unlinkLockFile(dir, 'made.lock', again), 0);
  native().closeFd(again);
  t.equal(native().lockFile(dir, 'made.lock', LOCK_EX | LOCK_NB, false), -ENOENT, 'once a sweep removed it, not made back');
  t.same(fs.readdirSync(dir), []);
});
