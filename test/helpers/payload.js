// Helpers shared by the spawn tests: collect a box's output and wait for it.
'use strict';
const { spawnIsolated } = require('../..');

/** Runs a shell script in a box; resolves with stdout, stderr and the exit result. */
async function runSh(script, options = {}) {
  return run('/bin/sh', ['-c', script], options);
}

async function run(file, args, options = {}) {
  const box = spawnIsolated(file, args, options);
  const out = [];
  const err = [];
  box.stdout?.on('data', (d) => out.push(d));
  box.stderr?.on('data', (d) => err.push(d));
  const result = await box.exited;
  return { ...result, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), box };
}

/** Resolves with the error a failed spawn emits (and checks exited rejects with the same one). */
async function spawnError(file, args, options = {}) {
  const box = spawnIsolated(file, args, options);
  const emitted = new Promise((resolve) => box.once('error', resolve));
  let rejected;
  try {
    await box.exited;
  } catch (error) {
    rejected = error;
  }
  const error = await emitted;
  if (rejected !== error) throw new Error('exited did not reject with the emitted error');
  return { error, box };
}

const isRoot = process.geteuid() === 0;

module.exports = { run, runSh, spawnError, isRoot };
