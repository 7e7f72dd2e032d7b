// Test cgroups that clean up after themselves on every path. Every directory
// a test makes is named `cordon-test-<pid>-<label>`, and teardown removes
// every such directory in every hierarchy (thawing, killing the processes the
// test put there, retrying rmdir), whether the test passed, failed or threw.
// Nothing here reads or writes a cgroup whose path lacks that prefix.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');

const PREFIX = `cordon-test-${process.pid}`;

/** The cgroup mount points, read from mountinfo independently of the module under test. */
function cgroupMounts() {
  const mounts = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const separator = line.indexOf(' - ');
    if (separator < 0) continue;
    const fstype = line.slice(separator + 3).split(' ')[0];
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const mount = line.slice(0, separator).split(' ')[4];
    if (mount !== undefined && !mounts.includes(mount)) mounts.push(mount);
  }
  return mounts;
}

function walk(dir, out, depth = 0) {
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const child = path.join(dir, entry.name);
    out.push(child);
    if (depth < 12) walk(child, out, depth + 1);
  }
  return out;
}

/** Every cgroup directory on the host, sorted. */
function cgroupTree() {
  const all = [];
  for (const mount of cgroupMounts()) walk(mount, all);
  return all.sort();
}

/** Directories whose path has a component starting with `prefix` (this process's by default). */
function oursIn(tree, prefix = PREFIX) {
  return tree.filter((dir) => dir.split('/').some((part) => part.startsWith(prefix)));
}

function readPids(file) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function tryWrite(file, value) {
  try {
    fs.writeFileSync(file, value);
    return true;
  } catch {
    return false;
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms) {
  Atomics.wait(sleeper, 0, 0, ms);
}

/**
 * Removes every directory named after `name` (a full test name) in every
 * hierarchy, deepest first. The processes inside were put there by this test:
 * they are thawed and SIGKILLed by pid. Returns what could not be removed.
 */
function forceRemove(name) {
  const dirs = oursIn(cgroupTree(), name).sort((a, b) => b.length - a.length);
  for (const dir of dirs) {
    tryWrite(`${dir}/cgroup.freeze`, '0');
    tryWrite(`${dir}/freezer.state`, 'THAWED');
    if (!tryWrite(`${dir}/cgroup.kill`, '1')) {
      for (const pid of readPids(`${dir}/cgroup.procs`)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
  }
  const left = [];
  for (const dir of dirs) {
    let done = false;
    for (let attempt = 0; attempt < 100 && !done; attempt++) {
      try {
        fs.rmdirSync(dir);
        done = true;
      } catch (error) {
        if (error.code === 'ENOENT') done = true;
        else sleepSync(20);
      }
    }
    if (!done) left.push(dir);
  }
  return left;
}

let counter = 0;

/**
 * A unique test name, with a teardown that removes whatever the test left
 * under it and kills the processes it started (by pid).
 */
function testCgroupName(t, label) {
  counter += 1;
  const name = `${PREFIX}-${label}-${counter}`;
  const children = [];
  t.teardown(() => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          child.kill('SIGKILL');
        } catch {
          // gone
        }
      }
    }
    const left = forceRemove(name);
    if (left.length > 0) throw new Error(`cgroup teardown left ${left.join(', ')}`);
  });
  return { name, track: (child) => (children.push(child), child) };
}

/**
 * Starts `/bin/sh -c 'read x; <script>'`: it waits for a line on stdin, so
 * the test can attach it to a cgroup before it forks anything. go(child)
 * sends the line. stdout is collected in child.out.
 */
function startWaiting(script, options = {}) {
  const child = spawn('/bin/sh', ['-c', `read x; ${script}`], { stdio: ['pipe', 'pipe', 'pipe'], ...options });
  child.out = '';
  child.err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (child.out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk) => (child.err += chunk));
  child.done = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return child;
}

function go(child) {
  child.stdin.end('go\n');
}

async function waitFor(predicate, ms = 5000, step = 20) {
  const until = Date.now() + ms;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > until) return value;
    await new Promise((resolve) => setTimeout(resolve, step));
  }
}

/** /proc/<pid>/stat state letter, or null when gone. */
function procState(pid) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return null;
  }
}

function isDead(pid) {
  const state = procState(pid);
  return state === null || state === 'Z' || state === 'X';
}

/** The host can still start a process (the fork bomb stayed in its box). */
function hostCanSpawn() {
  const result = spawnSync('/bin/true', [], { timeout: 5000 });
  return result.status === 0;
}

function isRoot() {
  return process.geteuid?.() === 0;
}

module.exports = {
  PREFIX,
  cgroupMounts,
  cgroupTree,
  oursIn,
  forceRemove,
  testCgroupName,
  startWaiting,
  go,
  waitFor,
  procState,
  isDead,
  hostCanSpawn,
  isRoot,
};

/**
 * A parent for the test's boxes, made by findParent as root under the test's
 * own name (so it is created, then removed by the teardown). `options` go to
 * findParent (v2: false for v1 only, ...).
 */
function makeParent(t, label, options = {}) {
  const cg = require('../../dist/cgroups');
  const { name, track } = testCgroupName(t, label);
  const host = cg.detectCgroups();
  const parent = cg.findParent(host, { name, ...options });
  t.teardown(() => parent.release());
  return { cg, host, parent, name, track };
}

module.exports.makeParent = makeParent;
