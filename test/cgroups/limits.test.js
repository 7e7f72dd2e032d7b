// Limits for real: a fork bomb stopped by pids.max while the host is fine,
// a double-forked daemon killed with the box, a memory hog OOM-killed and
// reported. On this hybrid host the limits live in v1 and each test runs
// twice: with the v2 box cgroup beside them (kill = cgroup.kill) and v1 only
// (kill = freezer); once more without a freezer (kill = sweep) for the daemon.
'use strict';
const fs = require('node:fs');
const t = require('tap');
const { skipExpected } = require('../helpers/skip');
const {
  makeParent, startWaiting, go, waitFor, isDead, procState, hostCanSpawn, isRoot, oursIn, cgroupTree,
} = require('../helpers/cgroup-fixture');

const cg = require('../../dist/cgroups');
const host = cg.detectCgroups();

function variants() {
  const list = [];
  if (host.v2 !== undefined) list.push({ label: host.mode === 'v2' ? 'v2' : 'hybrid (v2 box + v1 limits)', options: {}, kill: host.mode === 'v2' || host.v2 ? 'cgroup.kill' : 'freeze-kill' });
  if (Object.keys(host.v1).length > 0) list.push({ label: 'v1 only', options: { v2: false }, kill: host.v1.freezer ? 'freeze-kill' : 'sweep' });
  return list;
}

function needRoot(t) {
  return skipExpected(t, isRoot(), 'unprivileged pass: needs root, this user has no delegated cgroup (detect.test.js checks the refusal and its reason)');
}

function pidsEventsMax(box) {
  const dir = box.placement.pids === 'v2' ? box.v2Dir : box.v1Dir('pids');
  const text = fs.readFileSync(`${dir}/pids.events`, 'utf8');
  return Number(/max (\d+)/.exec(text)?.[1] ?? 0);
}

// A fork bomb with a depth bound (2^10 leaves at most, should the limit
// fail). bash retries a refused fork (with backoff) instead of exiting, as
// dash does, so the bomb keeps pushing against the limit until it is killed.
const BASH = ['/bin/bash', '/usr/bin/bash'].find((file) => fs.existsSync(file));
const BOMB_BODY = 'b() { [ $1 -gt 0 ] || exec sleep 60; b $(($1-1)) & b $(($1-1)) & wait; }; b 10';
const BOMB = BASH === undefined ? BOMB_BODY : `exec ${BASH} -c '${BOMB_BODY}'`;

for (const variant of variants()) {
  t.test(`fork bomb stopped by pids.max 20, host fine (${variant.label})`, async (t) => {
    if (!needRoot(t)) return;
    const { parent, track } = makeParent(t, 'bomb', variant.options);
    const box = cg.createBoxCgroup(parent, 'bomb', { pids: { max: 20 } }, undefined, { openDirFd: false });
    t.comment(`placement ${JSON.stringify(box.placement)}; dirs ${box.dirs.join(' ')}`);
    const bomb = track(startWaiting(BOMB));
    box.attach(bomb.pid);
    t.ok(box.procs().includes(bomb.pid), 'attached before it forked');
    go(bomb);

    const hit = await waitFor(() => pidsEventsMax(box) > 0, 10000);
    t.ok(hit, `pids.events max counts refused forks (${pidsEventsMax(box)})`);
    let most = 0;
    for (let i = 0; i < 20; i++) {
      most = Math.max(most, box.stats().pids.current, box.procs().length);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    t.ok(most <= 20, `never more than 20 tasks in the box (most seen ${most})`);
    t.ok(most >= 15, `the bomb did fork up to the limit (${most})`);
    t.ok(hostCanSpawn(), 'the host can still start processes');

    const inside = box.procs();
    const report = box.kill();
    t.equal(report.method, variant.kill, `killed with ${report.method}`);
    t.ok(await box.drained(5000), 'the box drained');
    const result = await bomb.done;
    t.equal(result.signal, 'SIGKILL', 'the first process died of SIGKILL');
    t.ok(await waitFor(() => inside.every(isDead), 3000), `all ${inside.length} processes seen inside are dead`);
    const removed = await box.remove();
    t.ok(removed.removed, `removed (${removed.attempts} attempt(s))`);
  });
}

function daemonTest(label, findOptions, boxOptions, expected) {
  t.test(`a double-forked daemon dies with the box (${label})`, async (t) => {
    if (!needRoot(t)) return;
    const { parent, track } = makeParent(t, 'daemon', findOptions);
    const box = cg.createBoxCgroup(parent, 'daemon', { pids: { max: 50 } }, undefined, { openDirFd: false, ...boxOptions });
    const shell = track(startWaiting("(setsid sh -c 'echo $$; exec sleep 300' &); exec sleep 300"));
    box.attach(shell.pid);
    go(shell);
    const daemon = Number(await waitFor(() => shell.out.trim(), 5000));
    if (!t.ok(daemon > 0, `daemon pid ${daemon}`)) {
      t.comment(`stderr: ${shell.err}`);
      return;
    }
    const stat = fs.readFileSync(`/proc/${daemon}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    t.not(ppid, shell.pid, `the daemon left its parent (ppid ${ppid})`);
    t.ok(box.procs().includes(daemon), 'but not the box');
    t.equal(procState(daemon) !== null && !isDead(daemon), true, 'it runs');

    const report = box.kill();
    t.equal(report.method, expected, `killed with ${report.method}`);
    t.ok(await waitFor(() => isDead(daemon), 5000), 'the daemon is dead');
    t.equal((await shell.done).signal, 'SIGKILL', 'so is the first process');
    t.ok(await box.drained(5000), 'the box drained');
    t.ok((await box.remove()).removed, 'removed');
  });
}

if (host.v2 !== undefined) daemonTest(host.mode === 'v2' ? 'v2 cgroup.kill' : 'hybrid: v2 cgroup.kill', {}, {}, 'cgroup.kill');
if (host.v1.freezer !== undefined) daemonTest('v1 freezer', { v2: false }, {}, 'freeze-kill');
if (Object.keys(host.v1).length > 0) daemonTest('v1 without a freezer: sweep', { v2: false }, { accounting: false }, 'sweep');

for (const variant of variants()) {
  t.test(`a memory hog is OOM-killed and reported (${variant.label})`, async (t) => {
    if (!needRoot(t)) return;
    const { parent, track } = makeParent(t, 'oom', variant.options);
    const limit = 96 * 1024 * 1024;
    let box;
    try {
      box = cg.createBoxCgroup(parent, 'hog', { memory: { max: limit, swapMax: 0 } }, undefined, { openDirFd: false });
    } catch (error) {
      if (error.controller === 'memory') {
        skipExpected(t, false, `host variant: no memory controller here: ${error.message}`);
        return;
      }
      throw error;
    }
    t.comment(`memory is ${box.placement.memory}`);
    const events = [];
    const watcher = box.watchOom((event) => events.push(event), { intervalMs: 50 });
    t.teardown(() => watcher.close());
    t.comment(`OOM watcher: ${watcher.method}`);
    t.same(box.oomEvents(), { oom: 0, oomKill: 0 }, 'no OOM yet');
    t.equal(box.oomKilled(), false);

    const hog = track(startWaiting(`exec ${process.execPath} -e "const a = []; for (;;) a.push(Buffer.alloc(1 << 20, 1))"`));
    box.attach(hog.pid);
    go(hog);
    const result = await hog.done;
    t.equal(result.signal, 'SIGKILL', 'the hog was killed');
    t.ok(box.oomKilled(), 'oomKilled() says so');
    t.ok(box.oomEvents().oomKill >= 1, `oom_kill ${box.oomEvents().oomKill}`);
    t.ok(await waitFor(() => events.length > 0, 3000), 'the watcher reported it');
    t.ok(events[0]?.newOomKills >= 1, `event ${JSON.stringify(events[0])}`);
    const memory = box.stats().memory;
    t.ok(memory.peak !== null && memory.peak <= limit + 1024 * 1024, `peak ${memory.peak} within the limit`);
    t.ok(memory.peak >= limit / 2, 'and the hog did climb to it');
    t.ok((await box.remove()).removed, 'removed');
  });
}

t.test('memory.high has no v1 equivalent: an error, not a silent skip', async (t) => {
  if (!needRoot(t)) return;
  if (!skipExpected(t, host.v1.memory !== undefined, 'host variant: no v1 memory hierarchy (pure cgroup v2)')) return;
  const { parent, name } = makeParent(t, 'high', { v2: false });
  const boxDirs = () => oursIn(cgroupTree(), name).filter((dir) => dir.endsWith('/high'));
  t.throws(() => cg.createBoxCgroup(parent, 'high', { memory: { high: 1 << 26 } }), {
    name: 'CgroupError',
    code: 'ERR_CORDON_HOST_UNSUPPORTED',
    controller: 'memory',
    message: /memory\.high has no cgroup v1 equivalent/,
  });
  t.same(boxDirs(), [], 'the box cgroups made before the failure are gone again');
  t.ok(oursIn(cgroupTree(), name).length > 0, '(while the parents stay, for the teardown to remove)');
});
