// For the red-team tests of the set-up threads, parent death and the exit
// watch's finalizer: each attack runs in a driver process of its own (a
// crash there must not take the test runner with it), and what a box leaves
// is found by a marker argument only that attack's boxes carry.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');

const ROOT = path.join(__dirname, '..', '..');

/** Pids (not ours, not `except`) whose command line holds `marker`. */
function holding(marker, except = []) {
  const found = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid || except.includes(Number(entry))) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Waits until no process holds `marker`, up to `limitMs`; resolves with those left. */
async function drained(marker, limitMs = 30000) {
  const until = Date.now() + limitMs;
  let left = holding(marker);
  while (left.length > 0 && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    left = holding(marker);
  }
  return left;
}

/** SIGKILLs what holds `marker` (a test's own boxes left by a failed attack). */
function killLeft(marker) {
  for (const pid of holding(marker)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/**
 * Runs `source` (a script; argv[1] is `marker`, ROOT is defined) in a node
 * process of its own. Resolves with { code, signal, stdout, stderr, pid }.
 * A driver still running after `limitMs` is SIGKILLed (hung: signal SIGKILL, hung true).
 * A driver whose test process dies (tap's timeout kills the test, not its
 * children) ends itself: it sees EOF on its stdin, a pipe only the test
 * holds. (Two orphaned drivers once held 140 boxes for 35 minutes.)
 */
function drive(source, marker, { limitMs = 120000, nodeArgs = [], onLine, extraArgs = [] } = {}) {
  return new Promise((resolve) => {
    const orphanGuard = "process.stdin.on('end', () => process.kill(process.pid, 'SIGKILL')).resume().unref();";
    const script = `const ROOT = ${JSON.stringify(ROOT)};\n${orphanGuard}\n${source}`;
    const child = spawn(process.execPath, [...nodeArgs, '-e', script, marker, ...extraArgs], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let hung = false;
    let pending = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (onLine === undefined) return;
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const line of lines) onLine(line, child);
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, limitMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, pid: child.pid, hung });
    });
  });
}

/**
 * A marker unique to this test process and call: a number, so that it can
 * be one more argument of sleep (which adds its arguments up) and a box
 * running `sleep 1000 MARKER` sleeps instead of failing at once.
 */
let serial = 0;
function newMarker() {
  serial++;
  return `${process.pid}0${serial}0${Date.now() % 1000000}.25`;
}

module.exports = { ROOT, holding, drained, killLeft, drive, newMarker };
