// What /proc says about this process and others: zombies, fds, pidfds.
// Used by the lifecycle and leak tests to prove cordon leaves nothing behind.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');

/** Parses /proc/<pid>/stat: { pid, comm, state, ppid } or null if the process is gone. */
function procStat(pid) {
  let text;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // comm is in parentheses and may itself contain ') '; the last ')' ends it.
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const rest = text.slice(close + 2).split(' ');
  return { pid: Number(pid), comm, state: rest[0], ppid: Number(rest[1]) };
}

/** Every process in /proc whose parent is `ppid` (default: this process). */
function childrenOf(ppid = process.pid) {
  const found = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(entry);
    if (stat !== null && stat.ppid === ppid) found.push(stat);
  }
  return found;
}

/** Zombie children of `ppid` (default: this process), as stat objects. */
function zombieChildren(ppid = process.pid) {
  return childrenOf(ppid).filter((stat) => stat.state === 'Z');
}

/** True if `pid` no longer runs: gone from /proc, or a zombie (dead, awaiting its reaper). */
function isDead(pid) {
  const stat = procStat(pid);
  return stat === null || stat.state === 'Z';
}

/** Polls until `pid` is dead or `ms` have passed; resolves with isDead(pid). */
async function waitDead(pid, ms = 5000, step = 25) {
  const until = Date.now() + ms;
  while (!isDead(pid)) {
    if (Date.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, step));
  }
  return true;
}

/** The targets of this process's open fds, by fd number (entries that vanish while reading are left out). */
function openFds() {
  const fds = new Map();
  for (const entry of fs.readdirSync('/proc/self/fd')) {
    try {
      fds.set(Number(entry), fs.readlinkSync(path.join('/proc/self/fd', entry)));
    } catch {
      // the fd readdir itself used, closed by now
    }
  }
  return fds;
}

function fdCount() {
  return fs.readdirSync('/proc/self/fd').length;
}

function pidfdCount() {
  let count = 0;
  for (const target of openFds().values()) if (target.includes('anon_inode:[pidfd]')) count++;
  return count;
}

/** Host pids of processes whose full command line is exactly `argv`. */
function pidsWithCmdline(argv) {
  const wanted = argv.join('\0') + '\0';
  const pids = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8') === wanted) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/**
 * Runs `source` as a separate node process (CommonJS, with `require('cordon')`
 * resolved to this package via the `CORDON` env var) and collects its output.
 * Resolves with { code, signal, stdout, stderr, ms }.
 */
function runNode(source, { onStdout, env = {}, stdio } = {}) {
  const root = path.join(__dirname, '..', '..');
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, ['-e', source], {
    cwd: root,
    env: { ...process.env, CORDON: root, ...env },
    stdio: stdio ?? ['ignore', 'pipe', 'pipe'],
  });
  const out = [];
  const err = [];
  child.stdout?.on('data', (d) => {
    out.push(d);
    onStdout?.(Buffer.concat(out).toString(), child);
  });
  child.stderr?.on('data', (d) => err.push(d));
  const done = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
        ms: Number(process.hrtime.bigint() - started) / 1e6,
      });
    });
  });
  return { child, done };
}

module.exports = {
  procStat,
  childrenOf,
  zombieChildren,
  isDead,
  waitDead,
  openFds,
  fdCount,
  pidfdCount,
  pidsWithCmdline,
  runNode,
};
