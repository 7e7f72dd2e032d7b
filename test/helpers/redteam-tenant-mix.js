// Many tenants' boxes at once through spawnIsolated()'s options cache
// (test/spawn/redteam-options-cache.test.js): each tenant's options are a
// fresh literal every call (so they are keyed by content and compiled on
// the second sight), spawns of different tenants are in flight together
// (spawnIsolatedAsync) and interleaved with synchronous ones, and each box
// reports what it got: its env, hostname, mounted directory, rlimit and
// whether its seccomp filter refuses mkdir. Used from the main thread and
// from worker threads.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnIsolated, spawnIsolatedAsync } = require('../..');

const REPORT = 'echo "$TOKEN $(hostname) $(cat /tenant/who) $(ulimit -n) $(mkdir /tmp/m 2>/dev/null && echo mkdir-ok || echo mkdir-refused)"';

/** Makes each tenant's directory under `base` (a file naming it), and returns their names. */
function makeTenants(base, prefix, count) {
  const names = [];
  for (let i = 0; i < count; i++) {
    const name = `${prefix}${i}`;
    fs.mkdirSync(path.join(base, name), { recursive: true });
    fs.writeFileSync(path.join(base, name, 'who'), `${name}\n`);
    names.push(name);
  }
  return names;
}

/** A tenant's options: a fresh object every call. */
function tenantOptions(base, name, i) {
  return {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { TOKEN: `token-${name}`, PATH: '/usr/bin:/bin' },
    hostname: `host-${name}`,
    mounts: [{ type: 'bind', source: path.join(base, name), target: '/tenant' }],
    rlimits: { nofile: 200 + i },
    ...(i % 2 === 1 ? { seccomp: { deny: ['mkdir', 'mkdirat'] } } : {}),
  };
}

function expected(name, i) {
  return `token-${name} host-${name} ${name} ${200 + i} ${i % 2 === 1 ? 'mkdir-refused' : 'mkdir-ok'}`;
}

async function output(box) {
  const out = [];
  const err = [];
  box.stdout.on('data', (chunk) => out.push(chunk));
  box.stderr.on('data', (chunk) => err.push(chunk));
  const closed = new Promise((resolve) => box.stdout.once('close', resolve));
  const result = await box.exited;
  await closed;
  return result.code === 0 ? Buffer.concat(out).toString().trim() : `exit ${result.code}: ${Buffer.concat(err).toString()}`;
}

/** Runs `rounds` rounds of every tenant's box; returns [{ name, got, want }] for every box. */
async function runMix(base, names, rounds) {
  const results = [];
  for (let round = 0; round < rounds; round++) {
    const inFlight = names.map(async (name, i) => {
      // Odd rounds: every other tenant synchronously, amid the others' async spawns.
      const box = round % 2 === 1 && i % 2 === 0
        ? spawnIsolated('/bin/sh', ['-c', REPORT], tenantOptions(base, name, i))
        : await spawnIsolatedAsync('/bin/sh', ['-c', REPORT], tenantOptions(base, name, i));
      return { name, got: await output(box), want: expected(name, i) };
    });
    results.push(...await Promise.all(inFlight));
  }
  return results;
}

module.exports = { makeTenants, runMix };
