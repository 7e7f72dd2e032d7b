// Diagnostics: NODE_DEBUG=cordon prints each spawn's phases, steps and exit
// with their times; diagnostics_channel carries the same to APM tools; and
// with neither, the native side is not even asked to read the clock.
'use strict';
const { spawnSync } = require('node:child_process');
const diagnosticsChannel = require('node:diagnostics_channel');
const path = require('node:path');
const t = require('tap');

const cordon = require('../..');
const { spawnIsolated, spawnIsolatedAsync, DIAGNOSTICS_CHANNELS } = cordon;
const nativeModule = require('../../dist/internal/native');

const ROOT = path.join(__dirname, '..', '..');

/** Runs a script in a fresh Node with `env` added; resolves with its stderr. */
function node(script, env) {
  const result = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60000 });
  return result;
}

const SPAWNS = `
  const { spawnIsolated, spawnIsolatedAsync } = require('.');
  (async () => {
    await spawnIsolated('/bin/sh', ['-c', 'exit 3'], { stdio: 'ignore' }).exited;
    await (await spawnIsolatedAsync('/bin/true', [], { stdio: 'ignore' })).exited;
    await spawnIsolated('/nonexistent', [], { stdio: 'ignore' }).exited.catch(() => {});
  })();
`;

t.test('NODE_DEBUG=cordon: every phase, every step and the exit, with their times', async (t) => {
  const result = node(SPAWNS, { NODE_DEBUG: 'cordon' });
  t.equal(result.status, 0, result.status === 0 ? 'the script ran' : result.stderr);
  const lines = result.stderr.split('\n').filter((line) => line.startsWith('CORDON '));
  const ms = '\\d+\\.\\d{3} ms';
  for (const phase of ['validate', 'open namespaces', 'stdio', 'plan', 'native spawn', 'hand over']) {
    t.ok(lines.some((line) => new RegExp(`: spawn #1 /bin/sh: ${phase} ${ms}$`).test(line)), `phase ${phase} of the first spawn`);
  }
  const steps = lines.filter((line) => /: spawn #1 \/bin\/sh: step \d+\//.test(line));
  t.ok(steps.length > 10, `its plan steps (${steps.length})`);
  t.match(steps[0], new RegExp(`step 1/(\\d+) 'clone' \\(parent\\) ${ms}, at ${ms}$`), 'the clone first, run by the parent');
  t.match(steps.at(-1), new RegExp(`step (\\d+)/\\1 'execve' \\(child\\) ${ms}, at ${ms}$`), 'the exec last, the child\'s');
  t.ok(steps.some((line) => /'mount proc' \(child\)/.test(line)), 'the mounts in between');
  t.ok(lines.some((line) => /: spawn #1 \/bin\/sh: started pid \d+$/.test(line)), 'the start');
  t.ok(lines.some((line) => new RegExp(`: box \\d+ /bin/sh: exit code 3 signal null after ${ms} \\(spawn ${ms}\\)$`).test(line)), 'the exit, with its code');
  t.ok(lines.some((line) => /: spawn #2 \/bin\/true: step \d+\/\d+ 'execve'/.test(line)), 'spawnIsolatedAsync too');
  t.ok(lines.some((line) => /: spawn #3 \/nonexistent: failed: spawn \/nonexistent ENOENT: step (\d+)\/\1 'execve'/.test(line)), 'a failure, with its error');
  t.notOk(lines.some((line) => /: spawn #3 \/nonexistent: step \d+\/\d+ 'execve'/.test(line)), 'the step that failed has no end to report');
});

t.test('without NODE_DEBUG: not a line', async (t) => {
  const result = node(SPAWNS, { NODE_DEBUG: '' });
  t.equal(result.status, 0, result.status === 0 ? 'the script ran' : result.stderr);
  t.equal(result.stderr, '');
});

/** Records the third argument of each native spawn (whether step times were asked for). */
function watchNative(t) {
  const binding = nativeModule.native();
  const asked = [];
  const { spawn, spawnAsync } = binding;
  binding.spawn = (...args) => {
    asked.push(args[2]);
    return spawn.apply(binding, args);
  };
  binding.spawnAsync = (...args) => {
    asked.push(args[2]);
    return spawnAsync.apply(binding, args);
  };
  t.teardown(() => {
    binding.spawn = spawn;
    binding.spawnAsync = spawnAsync;
  });
  return asked;
}

t.test('no subscriber: the native side reads no clock, and nothing is published', async (t) => {
  t.notOk(diagnosticsChannel.hasSubscribers(DIAGNOSTICS_CHANNELS.step), 'no step subscriber to begin with');
  const asked = watchNative(t);
  await spawnIsolated('/bin/true', [], { stdio: 'ignore' }).exited;
  await (await spawnIsolatedAsync('/bin/true', [], { stdio: 'ignore' })).exited;
  t.same(asked, [false, false], 'no step times asked for');

  const steps = [];
  const onStep = (message) => steps.push(message);
  diagnosticsChannel.subscribe(DIAGNOSTICS_CHANNELS.step, onStep);
  await spawnIsolated('/bin/true', [], { stdio: 'ignore' }).exited;
  diagnosticsChannel.unsubscribe(DIAGNOSTICS_CHANNELS.step, onStep);
  t.same(asked, [false, false, true], 'asked for once a step subscriber is there');
  t.ok(steps.length > 0, 'and the steps came');
});

/** Subscribes to the spawn tracing channel; returns the events as [name, context] pairs. */
function traceSpawns(t) {
  const events = [];
  const handlers = Object.fromEntries(['start', 'end', 'asyncStart', 'asyncEnd', 'error'].map((name) => [name, (context) => events.push([name, context])]));
  const channel = diagnosticsChannel.tracingChannel(DIAGNOSTICS_CHANNELS.spawn);
  channel.subscribe(handlers);
  t.teardown(() => channel.unsubscribe(handlers));
  return events;
}

t.test('tracing:cordon:spawn: start and end around spawnIsolated, with the box', async (t) => {
  const events = traceSpawns(t);
  const box = spawnIsolated('/bin/sh', ['-c', 'exit 0'], { stdio: 'ignore' });
  t.same(events.map(([name]) => name), ['start', 'end']);
  const context = events[0][1];
  t.equal(events[1][1], context, 'one context for the spawn');
  t.equal(context.file, '/bin/sh');
  t.same(context.args, ['-c', 'exit 0']);
  t.equal(context.async, false);
  t.equal(context.result, box, 'end carries the box');
  t.ok(Number.isInteger(context.id) && context.id > 0, 'numbered');
  await box.exited;
});

t.test('tracing:cordon:spawn: a failed spawn publishes error before end', async (t) => {
  const events = traceSpawns(t);
  const box = spawnIsolated('/nonexistent', [], { stdio: 'ignore' });
  const rejected = box.exited.catch((error) => error);
  t.same(events.map(([name]) => name), ['start', 'error', 'end']);
  const error = await rejected;
  t.equal(events[1][1].error, error, 'the error the box rejects with');
  t.equal(error.code, 'ENOENT');
  t.equal(events[2][1].result, box, 'end still carries the (failed) box');

  events.length = 0;
  t.throws(() => spawnIsolated('/bin/true', [], { hostName: 'x' }), { code: 'ERR_CORDON_UNKNOWN_OPTION' });
  t.same(events.map(([name]) => name), ['start', 'error', 'end'], 'a bad option too');
  t.equal(events[1][1].error.code, 'ERR_CORDON_UNKNOWN_OPTION');
});

t.test('tracing:cordon:spawn: spawnIsolatedAsync has asyncStart and asyncEnd', async (t) => {
  const events = traceSpawns(t);
  const box = await spawnIsolatedAsync('/bin/true', { stdio: 'ignore' });
  t.same(events.map(([name]) => name), ['start', 'end', 'asyncStart', 'asyncEnd']);
  const context = events[0][1];
  t.equal(context.async, true);
  t.same(context.args, [], 'no args given');
  t.equal(context.result, box);
  await box.exited;

  events.length = 0;
  const error = await spawnIsolatedAsync('/nonexistent', [], { stdio: 'ignore' }).catch((e) => e);
  t.equal(error.code, 'ENOENT');
  t.same(events.map(([name]) => name), ['start', 'end', 'error', 'asyncStart', 'asyncEnd']);
  t.equal(events[2][1].error, error);
});

/** Collects the messages of a plain channel while `t` runs. */
function collect(t, name) {
  const messages = [];
  const onMessage = (message) => messages.push(message);
  diagnosticsChannel.subscribe(name, onMessage);
  t.teardown(() => diagnosticsChannel.unsubscribe(name, onMessage));
  return messages;
}

t.test('cordon:spawn:phase and cordon:spawn:step: each phase and step, timed', async (t) => {
  const events = traceSpawns(t);
  const phases = collect(t, DIAGNOSTICS_CHANNELS.phase);
  const steps = collect(t, DIAGNOSTICS_CHANNELS.step);
  await spawnIsolated('/bin/true', [], { stdio: 'ignore' }).exited;
  const id = events[0][1].id;
  t.same(phases.map((message) => message.phase), ['validate', 'open namespaces', 'stdio', 'host view', 'plan', 'native spawn', 'hand over']);
  for (const message of phases) {
    t.equal(message.id, id, `${message.phase}: the spawn's id`);
    t.ok(message.ms >= 0 && Number.isFinite(message.ms), `${message.phase}: ${message.ms} ms`);
  }
  t.ok(steps.length > 10, `${steps.length} steps`);
  t.same(steps[0], { id, file: '/bin/true', index: 0, count: steps[0].count, name: 'clone', side: 'parent', ms: steps[0].ms, atMs: steps[0].atMs });
  const last = steps.at(-1);
  t.equal(last.name, 'execve');
  t.equal(last.side, 'child');
  t.equal(last.index, last.count - 1, 'the exec is the last step');
  t.ok(steps.some((step) => step.name === 'write uid_map' && step.side === 'parent'), 'the parent writes the id maps');
  const lastAt = { parent: 0, child: 0 };
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i];
    if (i > 0) t.ok(step.index > steps[i - 1].index, 'in plan order');
    t.ok(step.ms >= 0, `${step.name}: ${step.ms} ms`);
    t.ok(step.atMs >= lastAt[step.side], `${step.name}: ends after the previous step of its side`);
    t.ok(Math.abs(step.atMs - lastAt[step.side] - step.ms) < 1e-6, `${step.name}: its time is the gap since the previous step of its side`);
    lastAt[step.side] = step.atMs;
  }
});

t.test('cordon:spawn:step for a failed spawn: the steps before the failure', async (t) => {
  const steps = collect(t, DIAGNOSTICS_CHANNELS.step);
  const box = spawnIsolated('/nonexistent', [], { stdio: 'ignore' });
  const error = await box.exited.catch((e) => e);
  t.equal(error.step, 'execve');
  t.ok(steps.length > 10, 'the steps that ran');
  t.notOk(steps.some((step) => step.index === error.stepIndex), 'not the one that failed');
  t.equal(steps.at(-1).index, error.stepIndex - 1, 'up to the one before it');
});

t.test('cordon:box:exit: pid, code, signal and times, as box.exited has them', async (t) => {
  const exits = collect(t, DIAGNOSTICS_CHANNELS.exit);
  const box = spawnIsolated('/bin/sh', ['-c', 'exit 7'], { stdio: 'ignore' });
  const result = await box.exited;
  t.same(exits, [{
    pid: box.pid, file: '/bin/sh', code: 7, signal: null, runMs: result.runMs, spawnMs: result.spawnMs, oomKilled: false,
  }]);

  exits.length = 0;
  const killed = spawnIsolated('/bin/sleep', ['30'], { stdio: 'ignore' });
  killed.once('spawn', () => killed.kill('SIGKILL'));
  await killed.exited;
  t.equal(exits.length, 1);
  t.equal(exits[0].code, null);
  t.equal(exits[0].signal, 'SIGKILL');
});
