#!/usr/bin/env node
// The long leak run: spawns N boxes of a mix of configurations, one after
// another, and compares what the supervisor and the host hold before and
// after: the supervisor's fds (/proc/self/fd), its children and zombies,
// its mounts (/proc/self/mountinfo lines), cgroup directories under
// cordon's parents, files in /tmp with cordon's names, network interfaces
// (veths). Exits 1 and lists what differs if anything leaked.
//
//   node scripts/leak-run.js [N]           (default 1000; CORDON_LEAK_RUNS too)
//   kill -TERM <pid>                       stops early and still compares
//   setpriv --reuid=nobody --regid=nogroup --clear-groups node scripts/leak-run.js 1000
//
// The mix, by i % 8: default; init: false; a listen Unix socket in a
// directory cordon makes (and removes); a tmpfs mount; stdio pipes with
// data through them; a spawn that fails (missing file); as root a box with
// a cgroup (pids.max), and a box on network: 'bridge' (a veth pair).
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnIsolated } = require('..');
const { boxCgroupsOf } = require('../test/helpers/host-snapshot');

const RUNS = Number(process.argv[2] ?? process.env.CORDON_LEAK_RUNS ?? 1000);
const ROOT = process.geteuid() === 0;
const REPORT_EVERY = Number(process.env.CORDON_LEAK_REPORT ?? 1000);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'leak-run-'));

// SIGTERM ends the run early: after the spawn under way, the comparison is made and printed for the spawns done.
let stopRequested = false;
process.on('SIGTERM', () => { stopRequested = true; });

const settle = () => new Promise((resolve) => setImmediate(resolve));

function fdTargets() {
  const out = [];
  for (const entry of fs.readdirSync('/proc/self/fd')) {
    try {
      out.push(`${entry} -> ${fs.readlinkSync(`/proc/self/fd/${entry}`)}`);
    } catch {
      // the fd of the listing itself
    }
  }
  return out.sort();
}

function children() {
  const out = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[1]) === process.pid) out.push(`${entry} ${rest[0]}`);
    } catch {
      // gone
    }
  }
  return out.sort();
}

function snapshot() {
  return {
    fds: fdTargets(),
    children: children(),
    mounts: fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean).length,
    // Box cgroups are named box-<supervisor pid>-...: this run's only, as other supervisors may share the host.
    cgroups: boxCgroupsOf(process.pid),
    // What cordon itself makes in /tmp (probe()'s scratch layer); the listen sockets' directories are made in this run's own.
    tmp: fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith('cordon-probe-')).sort(),
    tmpRun: fs.readdirSync(tmp).sort(),
    // Veths are named cv<random>: those that appeared while one of this run's bridge boxes started.
    links: [...ourVeths].filter((name) => fs.existsSync(`/sys/class/net/${name}`)).sort(),
  };
}

function diff(before, after) {
  const out = {};
  for (const key of Object.keys(before)) {
    const a = before[key];
    const b = after[key];
    if (Array.isArray(a)) {
      const added = b.filter((x) => !a.includes(x));
      const removed = a.filter((x) => !b.includes(x));
      if (added.length > 0 || removed.length > 0) out[key] = { added: added.slice(0, 10), addedCount: added.length, removed: removed.slice(0, 10) };
    } else if (a !== b) {
      out[key] = { before: a, after: b };
    }
  }
  return out;
}

const ourVeths = new Set();
const veths = () => fs.readdirSync('/sys/class/net').filter((name) => name.startsWith('cv'));

const KINDS = ['default', 'init:false', 'listen', 'tmpfs', 'pipes', 'failing', 'cgroup', 'bridge'];

async function one(i, counts) {
  let kind = KINDS[i % KINDS.length];
  if (!ROOT && (kind === 'cgroup' || kind === 'bridge')) kind = KINDS[(i >> 3) % 5];
  counts[kind] = (counts[kind] ?? 0) + 1;
  let box;
  switch (kind) {
    case 'default': box = spawnIsolated('/bin/true', [], { stdio: 'ignore' }); break;
    case 'init:false': box = spawnIsolated('/bin/true', [], { init: false, stdio: 'ignore' }); break;
    case 'listen': box = spawnIsolated('/bin/true', [], { stdio: 'ignore', listen: [{ path: path.join(tmp, `d${i}`, 'sock') }] }); break;
    case 'tmpfs': box = spawnIsolated('/bin/sh', ['-c', 'echo x > /scratch/f'], { stdio: 'ignore', mounts: [{ type: 'tmpfs', target: '/scratch', size: 1 << 20 }] }); break;
    case 'cgroup': box = spawnIsolated('/bin/true', [], { stdio: 'ignore', cgroup: { pids: { max: 64 } } }); break;
    case 'bridge': {
      const present = new Set(veths());
      box = spawnIsolated('/bin/sleep', ['0.01'], { stdio: 'ignore', network: 'bridge' });
      await new Promise((resolve) => { box.once('spawn', resolve); box.once('error', resolve); });
      for (const name of veths()) if (!present.has(name)) ourVeths.add(name);
      break;
    }
    case 'failing': {
      box = spawnIsolated('/nonexistent/cordon-leak-run', [], { stdio: 'ignore' });
      box.on('error', () => {});
      const failed = await box.exited.then(() => false, () => true);
      if (!failed) throw new Error(`spawn ${i} (${kind}) was meant to fail`);
      return;
    }
    case 'pipes': {
      box = spawnIsolated('/bin/cat', [], { stdio: 'pipe' });
      const out = [];
      box.stdout.on('data', (d) => out.push(d));
      box.stderr.resume();
      box.stdin.end(`box ${i}\n`);
      const result = await box.exited;
      if (result.code !== 0 || Buffer.concat(out).toString() !== `box ${i}\n`) throw new Error(`spawn ${i} (pipes): ${JSON.stringify(result)} ${Buffer.concat(out)}`);
      return;
    }
    default: throw new Error(kind);
  }
  const result = await box.exited;
  if (result.code !== 0) throw new Error(`spawn ${i} (${kind}) exited ${result.code} ${result.signal}`);
}

/** A veth is deleted asynchronously after its box ends: gives the last ones up to 10 s. */
async function vethsReleased() {
  for (let k = 0; k < 200 && [...ourVeths].some((name) => fs.existsSync(`/sys/class/net/${name}`)); k++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

(async () => {
  const counts = {};
  // Warm up what cordon opens once per process (/dev/null, the sealed init, the bridge).
  for (let i = 0; i < KINDS.length * 2; i++) await one(i, {});
  for (let k = 0; k < 20; k++) await settle();
  await vethsReleased();
  const before = snapshot();
  const started = Date.now();
  let done = 0;
  let failure;
  try {
    for (let i = 0; i < RUNS && !stopRequested; i++) {
      await one(i, counts);
      done = i + 1;
      if (done % REPORT_EVERY === 0) {
        console.log(`${new Date().toISOString()} ${done} spawns, ${(done / ((Date.now() - started) / 1000)).toFixed(1)}/s, fds ${fs.readdirSync('/proc/self/fd').length - 1}`);
      }
    }
  } catch (error) {
    failure = error;
  }
  for (let k = 0; k < 20; k++) await settle();
  await vethsReleased();
  const after = snapshot();
  const changes = diff(before, after);
  const seconds = (Date.now() - started) / 1000;
  console.log(JSON.stringify({ uid: process.geteuid(), spawns: done, of: RUNS, stoppedEarly: stopRequested, vethsSeen: ourVeths.size, seconds, perSecond: done / seconds, counts, before: { fds: before.fds.length, children: before.children.length, mounts: before.mounts, cgroups: before.cgroups.length, tmp: before.tmp.length, links: before.links.length }, changes, failure: failure === undefined ? null : String(failure.stack) }, null, 1));
  fs.rmSync(tmp, { recursive: true, force: true });
  process.exitCode = failure !== undefined || Object.keys(changes).length > 0 ? 1 : 0;
})();
