// The life of a box, event by event: spawn, exit, close, errors, signals,
// timeouts, aborts, ref/unref, dispose, the init, and dying with the parent.
'use strict';
const t = require('tap');
const { spawnIsolated } = require('../..');
const { runSh, spawnError } = require('../helpers/payload');
const { requireOrSkip } = require('../helpers/skip');
const { zombieChildren, isDead, waitDead, procStat, pidsWithCmdline, runNode } = require('../helpers/procfs');

const EVENTS = ['spawn', 'error', 'exit', 'close'];

/** Records every event of `box` in order, with its arguments. */
function recordEvents(box) {
  const events = [];
  for (const name of EVENTS) box.on(name, (...args) => events.push({ name, args }));
  return events;
}

const names = (events) => events.map((event) => event.name);
const spawned = (box) => new Promise((resolve) => box.once('spawn', resolve));
const closed = (box) => new Promise((resolve) => box.once('close', (code, signal) => resolve({ code, signal })));

/** Resolves with `promise`'s value, or with `fallback` after `ms` (for "this must not hang" checks). */
function within(promise, ms, fallback) {
  let timer;
  const late = new Promise((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

// Boxes a test left running (on failure) are killed so the file can end.
const running = new Set();
function box(file, args, options) {
  const b = spawnIsolated(file, args, options);
  running.add(b);
  b.once('close', () => running.delete(b));
  return b;
}
t.teardown(() => {
  for (const b of running) b.kill('SIGKILL');
});

t.test('a normal run emits spawn, exit, close in that order', async (t) => {
  const b = box('/bin/sh', ['-c', 'echo out; echo err >&2; exit 0']);
  const events = recordEvents(b);
  b.stdout.resume();
  b.stderr.resume();
  const result = await b.exited;
  t.same(names(events), ['spawn', 'exit', 'close']);
  t.same(events[1].args, [0, null], 'exit(code, signal)');
  t.same(events[2].args, [0, null], 'close(code, signal)');
  t.equal(result.code, 0);
  t.equal(b.exitCode, 0);
  t.equal(b.signalCode, null);
  t.equal(b.killed, false, 'killed stays false without kill()');
});

t.test('a missing binary emits error then close, never spawn or exit, like child_process', async (t) => {
  const b = box('/nonexistent/cordon-no-such-binary', []);
  const events = recordEvents(b);
  let rejected;
  await b.exited.catch((error) => {
    rejected = error;
  });
  // 'close' is emitted in the same tick as the rejection; give listeners a turn.
  await new Promise((resolve) => setImmediate(resolve));
  t.same(names(events), ['error', 'close']);
  const error = events[0].args[0];
  t.equal(error.code, 'ENOENT');
  t.equal(error.errno, -2);
  t.equal(rejected, error, 'exited rejects with the very error that was emitted');
  t.same(events[1].args, [-2, null], "close(-2, null), as child_process's");
  t.equal(b.exitCode, -2);
  t.equal(b.signalCode, null);
  t.equal(b.pid, undefined);
  t.equal(b.kill(), false, 'a box that never ran cannot be killed');
});

t.test('a missing binary with init: false fails the same way', async (t) => {
  const { error, box: b } = await spawnError('/nonexistent/cordon-no-such-binary', [], { init: false });
  t.equal(error.code, 'ENOENT');
  t.equal(b.exitCode, -2);
  t.equal(b.pid, undefined);
});

t.test('a failed box has stdio streams that end, like child_process: stdout.on(data) right after spawn works', async (t) => {
  const b = spawnIsolated('/nonexistent/cordon-no-such-binary', [], { stdio: ['pipe', 'pipe', 'ignore', 'pipe'] });
  t.not(b.stdout, null, 'stdout is a stream');
  t.not(b.stdin, null, 'stdin is a stream');
  t.equal(b.stderr, null, "stderr is null: it was 'ignore'");
  t.equal(b.stdio.length, 4);
  t.ok(Object.hasOwn(b.stdio, 2) && b.stdio[2] === null, 'stdio[2] is null, not a hole');
  t.equal(b.stdio[1], b.stdout);
  const chunks = [];
  b.stdout.on('data', (chunk) => chunks.push(chunk));
  const ended = new Promise((resolve) => b.stdout.once('end', resolve));
  const fd3Closed = new Promise((resolve) => b.stdio[3].once('close', resolve));
  const error = await new Promise((resolve) => b.once('error', resolve));
  t.equal(error.code, 'ENOENT', "the failure arrives as 'error'");
  await ended;
  await fd3Closed;
  t.same(chunks, [], 'stdout ends without data');
  await b.exited.catch(() => undefined);
  t.equal(b.kill(), false);
});

t.test('a box failing before the clone (an aborted signal) has ended streams too', async (t) => {
  const controller = new AbortController();
  controller.abort();
  const b = spawnIsolated('/bin/true', [], { signal: controller.signal });
  t.not(b.stdout, null, 'stdout is a stream');
  const ended = new Promise((resolve) => b.stdout.once('end', resolve));
  b.stdout.resume();
  const error = await b.exited.catch((e) => e);
  t.equal(error.name, 'AbortError');
  await ended;
  t.pass('stdout ended');
});

t.test('kill() with an unknown signal throws even when the box is not running, as ChildProcess.kill() does', async (t) => {
  const b = spawnIsolated('/nonexistent/cordon-no-such-binary', [], { stdio: 'ignore' });
  await b.exited.catch(() => undefined);
  t.throws(() => b.kill('SIGNOPE'), { code: 'ERR_UNKNOWN_SIGNAL', name: 'TypeError' });
  t.equal(b.kill('SIGTERM'), false, 'a known signal: false, the box is not running');
});

t.test('exited rejects with the emitted error object on spawn failure', async (t) => {
  const { error } = await spawnError('/nonexistent/cordon-no-such-binary', ['a']);
  t.equal(error.code, 'ENOENT');
  t.equal(error.syscall !== undefined, true, 'the error names its syscall');
});

for (const code of [0, 1, 42]) {
  t.test(`exit code ${code} is reported`, async (t) => {
    const result = await runSh(`exit ${code}`);
    t.equal(result.code, code);
    t.equal(result.signal, null);
    t.equal(result.box.exitCode, code);
  });
}

t.test('exited resolves with code, signal, pid and timings as numbers', async (t) => {
  const b = box('/bin/true', [], { stdio: 'ignore' });
  const pid = b.pid;
  const result = await b.exited;
  t.same(Object.keys(result).sort(), ['code', 'oomKilled', 'pid', 'runMs', 'signal', 'spawnMs', 'stats']);
  t.equal(result.oomKilled, false, 'no OOM kill (and no cgroup to know one)');
  t.equal(result.stats, null, 'no cgroup, no stats');
  t.equal(result.code, 0);
  t.equal(result.signal, null);
  t.equal(result.pid, pid);
  t.type(result.pid, 'number');
  t.ok(Number.isInteger(result.pid) && result.pid > 0, 'a host pid');
  for (const key of ['spawnMs', 'runMs']) {
    t.type(result[key], 'number', key);
    t.ok(Number.isFinite(result[key]) && result[key] >= 0, `${key} is a finite, non-negative number`);
  }
});

const killCases = [
  { label: 'the default init', options: {}, signals: ['SIGTERM', 'SIGKILL'] },
  // Without an init the payload is PID 1 of its namespace and the kernel drops
  // every signal it has no handler for except SIGKILL: SIGTERM cannot end it.
  { label: 'init: false (payload is PID 1)', options: { init: false }, signals: ['SIGKILL'] },
  { label: 'init: false in the host pid namespace', options: { init: false, namespaces: { pid: 'host' } }, signals: ['SIGTERM', 'SIGKILL'] },
];
for (const { label, options, signals } of killCases) {
  for (const signal of signals) {
    t.test(`a payload killed by ${signal} reports it, with ${label}`, async (t) => {
      const b = box('sleep', ['30'], { ...options, stdio: 'ignore' });
      const events = recordEvents(b);
      await spawned(b);
      t.equal(b.kill(signal), true, 'kill() delivered the signal');
      const result = await b.exited;
      t.equal(result.code, null);
      t.equal(result.signal, signal);
      t.equal(b.exitCode, null);
      t.equal(b.signalCode, signal);
      t.same(names(events), ['spawn', 'exit', 'close']);
      t.same(events[1].args, [null, signal]);
      t.same(events[2].args, [null, signal]);
    });
  }
}

t.test('kill() sends SIGTERM by default, sets killed, and returns false after exit', async (t) => {
  const b = box('sleep', ['30'], { stdio: 'ignore' });
  await spawned(b);
  t.equal(b.killed, false);
  t.equal(b.kill(), true);
  t.equal(b.killed, true);
  const result = await b.exited;
  t.equal(result.signal, 'SIGTERM');
  t.equal(b.kill(), false, 'kill after exit');
  t.equal(b.kill('SIGKILL'), false, 'kill(SIGKILL) after exit');
});

t.test('kill(9) is SIGKILL by number', async (t) => {
  const b = box('sleep', ['30'], { stdio: 'ignore' });
  await spawned(b);
  t.equal(b.kill(9), true);
  t.equal(b.killed, true);
  t.equal((await b.exited).signal, 'SIGKILL');
});

t.test('kill() with an unknown signal name throws and leaves the box running', async (t) => {
  const b = box('sleep', ['30'], { stdio: 'ignore' });
  await spawned(b);
  t.throws(() => b.kill('SIGNOPE'), { code: 'ERR_UNKNOWN_SIGNAL' });
  // As ChildProcess.kill(): a TypeError with code ERR_UNKNOWN_SIGNAL, for names and numbers alike.
  for (const signal of ['SIGNOPE', 12345, 1.5, 'toString', '__proto__', {}]) {
    let error;
    try {
      b.kill(signal);
    } catch (caught) {
      error = caught;
    }
    t.type(error, TypeError, `kill(${String(signal)}) throws a TypeError`);
    t.equal(error?.code, 'ERR_UNKNOWN_SIGNAL', 'with code ERR_UNKNOWN_SIGNAL');
  }
  t.equal(b.killed, false);
  t.equal(b.kill('SIGKILL'), true);
  t.equal((await b.exited).signal, 'SIGKILL');
});

t.test('timeout sends the default killSignal, SIGTERM', async (t) => {
  const b = box('sleep', ['30'], { stdio: 'ignore', timeout: 200 });
  const result = await b.exited;
  t.equal(result.signal, 'SIGTERM');
  t.equal(result.code, null);
  t.equal(b.killed, true);
});

t.test('timeout with killSignal SIGKILL ends the box by SIGKILL', async (t) => {
  const b = box('sleep', ['30'], { stdio: 'ignore', timeout: 200, killSignal: 'SIGKILL' });
  const result = await b.exited;
  t.equal(result.signal, 'SIGKILL');
  t.equal(b.killed, true);
});

t.test('a timeout that does not fire leaves the box alone', async (t) => {
  const result = await runSh('exit 5', { timeout: 60000 });
  t.equal(result.code, 5);
  t.equal(result.box.killed, false);
});

t.test('aborting while the box runs emits an AbortError and kills it with killSignal', async (t) => {
  for (const killSignal of [undefined, 'SIGKILL']) {
    const controller = new AbortController();
    const options = { stdio: 'ignore', signal: controller.signal };
    if (killSignal !== undefined) options.killSignal = killSignal;
    const b = box('sleep', ['30'], options);
    const events = recordEvents(b);
    await spawned(b);
    const reason = new Error('stop now');
    controller.abort(reason);
    const result = await b.exited;
    const errors = events.filter((event) => event.name === 'error');
    t.equal(errors.length, 1, 'one error');
    const error = errors[0]?.args[0];
    t.equal(error?.name, 'AbortError');
    t.equal(error?.code, 'ABORT_ERR');
    t.equal(error?.cause, reason, 'the abort reason is the cause');
    t.equal(result.signal, killSignal ?? 'SIGTERM', `ends by ${killSignal ?? 'SIGTERM'}`);
    t.same(names(events), ['spawn', 'error', 'exit', 'close']);
  }
});

t.test('an already aborted signal: AbortError, nothing runs', async (t) => {
  const controller = new AbortController();
  controller.abort();
  const b = box('sleep', ['30'], { stdio: 'pipe', signal: controller.signal });
  t.equal(b.pid, undefined, 'no pid: nothing was started');
  const events = recordEvents(b);
  let rejected;
  await b.exited.catch((error) => {
    rejected = error;
  });
  await new Promise((resolve) => setImmediate(resolve));
  t.same(names(events), ['error', 'close']);
  const error = events[0]?.args[0];
  t.equal(error?.name, 'AbortError');
  t.equal(error?.code, 'ABORT_ERR');
  t.equal(rejected, error, 'exited rejects with the emitted AbortError');
  t.equal(b.pid, undefined);
  // As child_process: a stream that ends, not null, but no pipe behind it.
  t.not(b.stdout, null, 'stdout is a stream');
  t.equal(b.stdout._handle ?? null, null, 'no pipe was made');
  t.equal(b.stdout.readableEnded || b.stdout.destroyed, true, 'and it has ended');
  t.equal(b.kill(), false);
});

t.test('aborting after exit does nothing', async (t) => {
  const controller = new AbortController();
  const b = box('/bin/true', [], { stdio: 'ignore', signal: controller.signal });
  const events = recordEvents(b);
  await b.exited;
  controller.abort();
  await new Promise((resolve) => setImmediate(resolve));
  t.same(names(events), ['spawn', 'exit', 'close'], 'no error after the box ended');
  t.equal(b.killed, false);
});

t.test('unref() lets node exit while the box runs', async (t) => {
  const script = `
    const { spawnIsolated } = require(process.env.CORDON);
    const box = spawnIsolated('sleep', ['5'], { stdio: 'pipe' });
    console.log(box.pid);
    box.unref();
  `;
  const { done } = runNode(script);
  const result = await done;
  t.equal(result.code, 0, result.stderr);
  t.ok(result.ms < 4000, `node exited before the 5 s sleep ended (took ${Math.round(result.ms)} ms)`);
  t.match(result.stdout, /^\d+\n$/, 'the box had started (it printed its pid)');
});

t.test('ref() after unref() keeps node waiting for the box again', async (t) => {
  const script = `
    const { spawnIsolated } = require(process.env.CORDON);
    const box = spawnIsolated('/bin/sh', ['-c', 'sleep 0.3; exit 9'], { stdio: 'pipe', timeout: 60000 });
    box.stdout.resume();
    box.unref();
    box.ref();
    box.on('exit', (code) => console.log('exit', code));
  `;
  const result = await runNode(script).done;
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stdout, 'exit 9\n', 'the exit event was waited for');
});

for (const how of ['Symbol.asyncDispose', 'dispose()']) {
  t.test(`${how} kills a running box and waits for it`, async (t) => {
    const b = box('sleep', ['30'], { stdio: 'pipe' });
    await spawned(b);
    let settled = false;
    b.exited.then(() => {
      settled = true;
    }, () => {
      settled = true;
    });
    if (how === 'dispose()') await b.dispose();
    else await b[Symbol.asyncDispose]();
    await Promise.resolve();
    t.equal(settled, true, 'exited has settled once dispose resolves');
    const result = await b.exited;
    t.equal(result.signal, 'SIGKILL');
    t.equal(b.kill(), false);
    t.ok(b.stdin.destroyed && b.stdout.destroyed && b.stderr.destroyed, 'its pipes are destroyed');
  });
}

t.test('dispose() of a finished or failed box resolves', async (t) => {
  const done = box('/bin/true', [], { stdio: 'ignore' });
  await done.exited;
  await done.dispose();
  t.equal((await done.exited).code, 0);
  const failed = box('/nonexistent/cordon-no-such-binary', []);
  failed.on('error', () => {});
  await failed.dispose();
  await t.rejects(failed.exited, { code: 'ENOENT' });
});

t.test('the init forwards SIGTERM to the payload', async (t) => {
  const b = box('/bin/sh', ['-c', 'trap "exit 7" TERM; echo ready; sleep 30 & wait'], { stdio: ['ignore', 'pipe', 'inherit'] });
  // Wait until the trap is set, or the TERM could beat it.
  await new Promise((resolve) => b.stdout.once('data', resolve));
  b.stdout.resume();
  t.equal(b.kill('SIGTERM'), true);
  const result = await b.exited;
  t.equal(result.code, 7, 'the trap ran: the payload got SIGTERM');
  t.equal(result.signal, null);
});

t.test('orphans are reaped and die with the box', async (t) => {
  const sleeper = ['sleep', '61.2345'];
  t.same(pidsWithCmdline(sleeper), [], 'no stray sleeper before');
  const zombiesBefore = zombieChildren().map((stat) => stat.pid);
  // The subshell forks the sleep and exits: it is orphaned to the box's init.
  const b = box('/bin/sh', ['-c', `(${sleeper.join(' ')} &); echo forked`]);
  const out = [];
  b.stdout.on('data', (d) => out.push(d));
  b.stderr.resume();
  const result = await within(b.exited, 20000, 'hung');
  t.not(result, 'hung', 'the box exited without waiting for its orphan');
  if (result === 'hung') return;
  t.equal(result.code, 0);
  t.equal(Buffer.concat(out).toString(), 'forked\n');
  let stray = pidsWithCmdline(sleeper);
  for (let i = 0; i < 40 && stray.length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    stray = pidsWithCmdline(sleeper);
  }
  t.same(stray, [], 'the orphaned sleep died with the pid namespace');
  t.same(zombieChildren().map((stat) => stat.pid), zombiesBefore, 'no zombie child of this process remains');
});

t.test('a payload that exits leaves no zombie behind', async (t) => {
  const before = zombieChildren().map((stat) => stat.pid);
  const pids = [];
  for (let i = 0; i < 5; i++) {
    const result = await runSh('exit 3', { init: i % 2 === 0 });
    pids.push(result.pid);
  }
  t.same(zombieChildren().map((stat) => stat.pid), before);
  for (const pid of pids) {
    const stat = procStat(pid);
    t.ok(stat === null || stat.ppid !== process.pid, `box ${pid} is not a child of ours any more`);
  }
});

/** Starts node with a box running `sleep 30`; resolves with the node child and the box pid. */
async function parentWithBox(t, dieWithParent) {
  const options = dieWithParent === undefined ? "{ stdio: 'ignore' }" : `{ stdio: 'ignore', dieWithParent: ${dieWithParent} }`;
  const script = `
    const { spawnIsolated } = require(process.env.CORDON);
    const box = spawnIsolated('sleep', ['30'], ${options});
    box.on('spawn', () => console.log('pid ' + box.pid));
    box.on('error', (error) => { console.error(error); process.exit(3); });
    setTimeout(() => {}, 60000);
  `;
  let resolvePid;
  const pidSeen = new Promise((resolve) => {
    resolvePid = resolve;
  });
  const { child, done } = runNode(script, {
    onStdout: (text) => {
      const match = /pid (\d+)\n/.exec(text);
      if (match) resolvePid(Number(match[1]));
    },
  });
  const pid = await within(pidSeen, 20000, undefined);
  // Whatever the test finds, the box must not outlive it: kill that pid, and
  // only while it is still the box's init (not a reused pid).
  t.teardown(() => {
    const stat = pid === undefined ? null : procStat(pid);
    if (stat !== null && stat.state !== 'Z' && stat.comm === 'cordon_init') {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  });
  if (pid === undefined) {
    child.kill('SIGKILL');
    const result = await done;
    t.fail(`the parent did not report a box pid: ${result.stderr}`);
  }
  return { child, done, pid };
}

t.test('dieWithParent (the default): the box dies when its node parent is SIGKILLed', async (t) => {
  const { child, done, pid } = await parentWithBox(t, undefined);
  if (pid === undefined) return;
  t.equal(isDead(pid), false, 'the box runs while its parent does');
  child.kill('SIGKILL');
  const result = await done;
  t.equal(result.signal, 'SIGKILL');
  t.ok(await waitDead(pid, 5000), `box ${pid} is gone within a few seconds`);
});

t.test('dieWithParent: false keeps the box alive after its parent dies', async (t) => {
  const { child, done, pid } = await parentWithBox(t, false);
  if (pid === undefined) return;
  child.kill('SIGKILL');
  await done;
  // The default case above dies within a moment; give this one the same chance.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const stat = procStat(pid);
  t.ok(stat !== null && stat.state !== 'Z', `box ${pid} still runs after its parent died`);
  if (!requireOrSkip(t, stat !== null && stat.comm === 'cordon_init', `box ${pid} is not the cordon init (comm ${stat?.comm})`)) return;
  process.kill(pid, 'SIGKILL');
  t.ok(await waitDead(pid, 5000), 'and dies when killed by pid');
});
