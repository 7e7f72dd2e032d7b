// A box with a cgroup of its own: limits hold, accounting, OOM, whole-box
// kill, freeze, and nothing left behind. Root only here (no delegated
// cgroup for an unprivileged user on this host); the unprivileged pass
// checks the refusal instead.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const t = require('tap');
const { spawnIsolated, probe } = require('../..');
const { runSh, spawnError, isRoot } = require('../helpers/payload');
const { requireOrSkip, skipExpected } = require('../helpers/skip');

const report = probe().cgroup;
const ROOT_ONLY = 'root only: this host delegates no cgroup to an unprivileged user (the refusal is tested instead)';

// Every box cgroup directory cordon may have made, in every hierarchy.
function boxCgroups() {
  const roots = [report.v2Mount, ...Object.values(report.v1Controllers)].filter(Boolean);
  const found = [];
  for (const root of new Set(roots)) {
    const parent = path.join(root, process.env.CORDON_CGROUP_PARENT_NAME || 'cordon');
    if (!fs.existsSync(parent)) continue;
    for (const entry of fs.readdirSync(parent, { withFileTypes: true })) {
      if (entry.isDirectory() && entry.name.startsWith(`box-${process.pid}-`)) found.push(path.join(parent, entry.name));
    }
  }
  return found.sort();
}

t.test('unprivileged without a delegated cgroup: a clear error naming the controller', async (t) => {
  if (!skipExpected(t, !isRoot, 'root pass (root can create cgroups)')) return;
  const { error } = await spawnError('/bin/true', [], { cgroup: { pids: { max: 10 } } });
  t.equal(error.code, 'ERR_CORDON_HOST_UNSUPPORTED');
  t.match(error.message, /pids/);
  t.match(error.message, /delegat/);
});

t.test('the box is placed in its cgroup and sees it as its root', async (t) => {
  if (!skipExpected(t, isRoot, `unprivileged pass (${ROOT_ONLY})`)) return;
  if (!requireOrSkip(t, report.mode !== 'none', 'the host has no cgroups')) return;
  const result = await runSh('cat /proc/self/cgroup', { cgroup: { pids: { max: 64 } } });
  t.equal(result.code, 0, result.stderr);
  for (const line of result.stdout.trim().split('\n')) t.match(line, /:\/$/, `cgroup namespace root: ${line}`);
  t.same(boxCgroups(), [], 'removed after exit');
});

t.test('a fork bomb is stopped by pids.max while the host is fine', async (t) => {
  if (!skipExpected(t, isRoot, `unprivileged pass (${ROOT_ONLY})`)) return;
  if (!requireOrSkip(t, report.mode !== 'none', 'the host has no cgroups')) return;
  // perl goes on when fork fails (dash would give up at the first failure).
  const bomb = '$| = 1; my $n = 0; for (1..200) { my $p = fork; if (defined $p && $p == 0) { sleep 30; exit } $n++ if defined $p } print "spawned $n\\n"; sleep 30';
  const box = spawnIsolated('/usr/bin/perl', ['-e', bomb], {
    cgroup: { pids: { max: 20 } },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const line = String(await new Promise((resolve) => box.stdout.once('data', resolve)));
  const forked = Number(line.match(/spawned (\d+)/)[1]);
  t.ok(forked < 20, `most forks failed: ${forked} of 200 succeeded`);
  const stats = box.stats();
  t.ok(stats.pids.current <= 20, `at most 20 tasks (${stats.pids.current})`);
  t.ok(stats.pids.current >= 10, `the bomb did run (${stats.pids.current})`);
  t.equal(spawnSync('/bin/true').status, 0, 'the host can still start processes');
  t.ok(box.kill('SIGKILL'));
  const result = await box.exited;
  t.equal(result.signal, 'SIGKILL');
  t.same(boxCgroups(), []);
});

t.test('a memory hog is OOM-killed and reported', async (t) => {
  if (!skipExpected(t, isRoot, `unprivileged pass (${ROOT_ONLY})`)) return;
  if (!requireOrSkip(t, report.mode !== 'none', 'the host has no cgroups')) return;
  const box = spawnIsolated(process.execPath, ['-e', 'const a = []; for (;;) a.push(Buffer.alloc(8 << 20, 1));'], {
    cgroup: { memory: { max: 96 * 1024 * 1024 } },
    init: false,
    stdio: 'ignore',
    mounts: [{ type: 'bind', source: path.dirname(process.execPath), target: path.dirname(process.execPath) }].filter((m) => !m.source.startsWith('/usr')),
  });
  const oom = new Promise((resolve) => box.once('oom', resolve));
  const result = await box.exited;
  t.equal(result.signal, 'SIGKILL', 'killed');
  t.equal(result.oomKilled, true, 'by the OOM killer');
  t.ok(result.stats.memory.peak <= 100 * 1024 * 1024, `peak ${result.stats.memory.peak} within the limit`);
  const event = await Promise.race([oom, new Promise((resolve) => setTimeout(() => resolve(null), 2000))]);
  t.ok(event && event.oomKill >= 1, 'an oom event was emitted');
  t.same(boxCgroups(), []);
});

t.test('box.kill() kills double-forked daemons in the host pid namespace', async (t) => {
  if (!skipExpected(t, isRoot, `unprivileged pass (${ROOT_ONLY})`)) return;
  if (!requireOrSkip(t, report.mode !== 'none', 'the host has no cgroups')) return;
  // The daemon's pid is printed before the first process exits: the command
  // substitution waits for the middle shell, which leaves the sleep behind.
  const box = spawnIsolated('/bin/sh', ['-c', 'pid=$( (setsid sh -c "sleep 60 >/dev/null 2>&1 & echo \\$!" &) ); echo $pid; exit 0'], {
    cgroup: {},
    namespaces: { pid: 'host' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const daemon = Number(String(await new Promise((resolve) => box.stdout.once('data', resolve))).trim());
  t.ok(daemon > 0 && fs.existsSync(`/proc/${daemon}`), `the daemon runs (${daemon})`);
  // The box's first process exits on its own; the daemon would live on in the
  // host pid namespace, but the box's end kills its whole cgroup.
  await box.exited;
  let gone = false;
  for (let i = 0; i < 50 && !gone; i++) {
    gone = !fs.existsSync(`/proc/${daemon}`) || /State:\s+Z/.test(fs.readFileSync(`/proc/${daemon}/status`, 'utf8'));
    if (!gone) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  t.ok(gone, 'the daemon was killed with the box');
  t.same(boxCgroups(), []);
});

t.test('freeze and thaw', async (t) => {
  if (!skipExpected(t, isRoot, `unprivileged pass (${ROOT_ONLY})`)) return;
  if (!requireOrSkip(t, report.mode !== 'none', 'the host has no cgroups')) return;
  const box = spawnIsolated('/bin/sh', ['-c', 'while :; do :; done'], { cgroup: {}, stdio: 'ignore' });
  await new Promise((resolve) => box.once('spawn', resolve));
  await box.freeze();
  const before = box.stats().cpu.userUsec + box.stats().cpu.systemUsec;
  await new Promise((resolve) => setTimeout(resolve, 300));
  const after = box.stats().cpu.userUsec + box.stats().cpu.systemUsec;
  t.ok(after - before < 20000, `no CPU time while frozen (${after - before} µs)`);
  await box.thaw();
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.ok(box.stats().cpu.userUsec + box.stats().cpu.systemUsec > after, 'runs again after thaw');
  box.kill('SIGKILL');
  await box.exited;
  t.same(boxCgroups(), []);
});

t.test('nothing is left after a failed spawn', async (t) => {
  if (!skipExpected(t, isRoot, `unprivileged pass (${ROOT_ONLY})`)) return;
  if (!requireOrSkip(t, report.mode !== 'none', 'the host has no cgroups')) return;
  const { error } = await spawnError('/nonexistent', [], { cgroup: { pids: { max: 5 } } });
  t.equal(error.code, 'ENOENT');
  t.same(boxCgroups(), []);
});

t.test('stats and freeze need a cgroup', async (t) => {
  const box = spawnIsolated('/bin/sleep', ['1'], { stdio: 'ignore' });
  await new Promise((resolve) => box.once('spawn', resolve));
  t.equal(box.stats(), null);
  await t.rejects(box.freeze(), { code: 'ERR_CORDON_NO_CGROUP' });
  box.kill('SIGKILL');
  const result = await box.exited;
  t.equal(result.oomKilled, false);
  t.equal(result.stats, null);
});
