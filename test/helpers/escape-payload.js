// The static attack payload (test/escape/escape.c), shared by the escape and
// red-team tests: built once per test file into a directory a box can be
// given with a bind, and run in a box to its end.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { spawnIsolated } = require('../..');

const SOURCE = path.join(__dirname, '..', 'escape', 'escape.c');

/** Builds the payload into `<base>/bin/escape`: { binDir, bin, built, problem } (problem says why not). */
function buildEscapePayload(base) {
  const binDir = path.join(base, 'bin');
  fs.mkdirSync(binDir, { mode: 0o755 });
  const bin = path.join(binDir, 'escape');
  const build = spawnSync('gcc', ['-static', '-O1', '-o', bin, SOURCE], { encoding: 'utf8' });
  const built = build.status === 0;
  if (built) fs.chmodSync(bin, 0o755);
  const problem = built ? '' : `needs gcc and a static libc (Debian: gcc libc6-dev) to build the payload: ${build.error?.message ?? build.stderr}`;
  return { binDir, bin, built, problem };
}

/** Runs `file` in a box to its end; resolves with the result or the spawn error, and the output. */
async function runToEnd(file, args, options, stdin) {
  let box;
  try {
    box = spawnIsolated(file, args, { timeout: 120_000, killSignal: 'SIGKILL', ...options, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (error) {
    return { error, stdout: '', stderr: '' };
  }
  box.on('error', () => {});
  const out = [];
  const err = [];
  box.stdout.on('data', (d) => out.push(d));
  box.stderr.on('data', (d) => err.push(d));
  box.stdin.end(stdin);
  let result;
  let error;
  try {
    result = await box.exited;
  } catch (e) {
    error = e;
  }
  return { result, error, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

/** What a run printed, for an assertion's diagnostic. */
function transcript(run) {
  return `payload stdout:\n${run.stdout}\npayload stderr:\n${run.stderr}${run.error ? `\nspawn error: ${run.error.stack ?? run.error}` : ''}`;
}

module.exports = { buildEscapePayload, runToEnd, transcript };
