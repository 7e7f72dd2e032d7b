// The service layer: restarts that lose no request, crash-loop detection,
// stop escalating to SIGKILL, reload, the health watchdog.
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');
const { createService, createListener, Service, CordonOptionError } = require('../..');
const { removeTree } = require('../helpers/remove-tree');

// Serves "ok <GEN>" per connection on fd 3; on SIGTERM finishes the
// connection in hand and exits (what a server's graceful stop does).
const GRACEFUL = `use IO::Socket; $| = 1; my $stop = 0; $SIG{TERM} = sub { $stop = 1 };
  my $l = IO::Socket->new_from_fd(3, "r") or die "fd 3: $!"; print "ready\\n";
  while (!$stop) { my $c = $l->accept or next; print $c "ok $ENV{GEN}\\n"; close $c; }`;

// Answers one HTTP request, then hangs without accepting (a wedged server).
const WEDGED = `use IO::Socket; my $l = IO::Socket->new_from_fd(3, "r") or die;
  my $c = $l->accept; while (my $line = <$c>) { last if $line =~ /^\\r?\\n$/ }
  print $c "HTTP/1.0 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok"; close $c; sleep 1000;`;

function fetch(address) {
  return new Promise((resolve) => {
    const socket = net.connect(address);
    let data = '';
    socket.on('data', (d) => (data += d));
    socket.on('end', () => resolve(data.trim()));
    socket.on('error', (error) => resolve(`error ${error.code}`));
  });
}

function scratch(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-service-'));
  fs.chmodSync(dir, 0o755);
  t.teardown(() => removeTree(dir));
  return dir;
}

function next(emitter, event) {
  return new Promise((resolve) => emitter.once(event, (...args) => resolve(args)));
}

t.test('restart() loses no request: a client loops through three restarts', async (t) => {
  const dir = scratch(t);
  const listener = createListener({ path: path.join(dir, 'app.sock') });
  t.teardown(() => listener.close());
  let generation = 0;
  const service = createService({
    file: '/usr/bin/perl', args: ['-e', GRACEFUL],
    options: () => ({ listen: [listener], env: { GEN: String(++generation) }, stdio: ['ignore', 'ignore', 'inherit'] }),
    stop: { timeoutMs: 30000 },
  });
  t.ok(service instanceof Service);
  await service.start();
  const replies = new Map();
  let stop = false;
  const clients = [0, 1].map(async () => {
    while (!stop) {
      const reply = await fetch(listener.path);
      replies.set(reply, (replies.get(reply) ?? 0) + 1);
    }
  });
  const served = (gen) => replies.has(`ok ${gen}`);
  const around = [];
  for (let gen = 1; gen <= 3; gen++) {
    while (!served(gen)) await new Promise((resolve) => setImmediate(resolve));
    // Requests made right before and while the box is being replaced.
    around.push(fetch(listener.path));
    const restarting = service.restart();
    around.push(fetch(listener.path));
    await restarting;
  }
  while (!served(4)) await new Promise((resolve) => setImmediate(resolve));
  stop = true;
  await Promise.all(clients);
  const result = await service.stop();
  t.comment(JSON.stringify(Object.fromEntries(replies)));
  t.same([...replies.keys()].sort(), ['ok 1', 'ok 2', 'ok 3', 'ok 4'], 'every request answered, by each generation in turn; none refused or cut');
  const arounds = await Promise.all(around);
  t.ok(arounds.every((reply) => /^ok [1-4]$/.test(reply)), `requests made as each restart began are answered: ${arounds.join(', ')}`);
  t.equal(result.signal, null, 'the last box ended by its own graceful stop');
  t.equal(service.state, 'stopped');
});

t.test('a crash-looping service stops restarting and says so', async (t) => {
  const service = createService({ file: '/bin/false', options: { stdio: 'ignore' }, restart: { initialMs: 5, maxRestarts: 3, windowMs: 600000 } });
  const starts = [];
  const delays = [];
  const states = [];
  service.on('start', (box) => starts.push(box.pid));
  service.on('restart', ({ delayMs }) => delays.push(delayMs));
  service.on('state', (to, from, reason) => states.push(`${from}>${to}:${reason}`));
  const loop = next(service, 'crash-loop');
  await service.start();
  const [info] = await loop;
  t.same(info, { restarts: 3, windowMs: 600000 });
  t.equal(service.state, 'crash-loop');
  t.equal(service.box, undefined);
  t.equal(starts.length, 4, 'the first start and three restarts');
  t.same(delays, [5, 10, 20], 'the backoff doubles');
  t.same(states.slice(0, 4), ['idle>starting:start', 'starting>running:spawned', 'running>backoff:crash', 'backoff>starting:backoff']);
  t.equal(states.at(-1), 'running>crash-loop:crash-loop');
  // start() brings it back.
  const again = next(service, 'crash-loop');
  await service.start();
  await again;
  t.equal(starts.length, 8, 'start() resets the count');
});

t.test('on-failure and never', async (t) => {
  const clean = createService({ file: '/bin/true', options: { stdio: 'ignore' }, restart: { policy: 'on-failure' } });
  const cleanStop = next(clean, 'state');
  await clean.start();
  let [to] = await cleanStop;
  while (to !== 'stopped') [to] = await next(clean, 'state');
  t.equal(clean.state, 'stopped', 'a clean exit is not restarted under on-failure');
  const never = createService({ file: '/bin/false', options: { stdio: 'ignore' }, restart: { policy: 'never' } });
  await never.start();
  const [box, result] = await next(never, 'exit');
  t.equal(result.code, 1);
  t.ok(box);
  t.equal(never.state, 'stopped');
});

t.test('stop() escalates to SIGKILL; a graceful payload ends by its signal', async (t) => {
  const stubborn = createService({
    file: '/bin/sh', args: ['-c', 'trap "" TERM; echo ready; while :; do sleep 1; done'],
    options: { stdio: ['ignore', 'pipe', 'ignore'] }, stop: { timeoutMs: 300 },
  });
  const box = await stubborn.start();
  await new Promise((resolve) => box.stdout.once('data', resolve));
  const killed = next(stubborn, 'kill');
  const result = await stubborn.stop();
  await killed;
  t.equal(result.signal, 'SIGKILL', 'SIGTERM was ignored: SIGKILL after the timeout');
  t.equal(stubborn.state, 'stopped');

  const polite = createService({ file: '/bin/sleep', args: ['1000'], options: { stdio: 'ignore' }, stop: { timeoutMs: 60000 } });
  let escalated = false;
  polite.on('kill', () => (escalated = true));
  await polite.start();
  const ended = await polite.stop();
  t.equal(ended.signal, 'SIGTERM');
  t.notOk(escalated);
  t.equal(await polite.stop(), undefined, 'stopping a stopped service is a no-op');
});

t.test('reload() sends the reload signal', async (t) => {
  const service = createService({
    file: '/bin/sh', args: ['-c', 'trap "echo reloaded" HUP; echo ready; while :; do sleep 0.05; done'],
    options: { stdio: ['ignore', 'pipe', 'ignore'] }, stop: { signal: 'SIGKILL' },
  });
  t.equal(service.reload(), false, 'nothing to reload before start');
  const box = await service.start();
  let out = '';
  box.stdout.on('data', (d) => (out += d));
  while (!out.includes('ready')) await new Promise((resolve) => box.stdout.once('data', resolve));
  const reloaded = next(service, 'reload');
  t.equal(service.reload(), true);
  await reloaded;
  while (!out.includes('reloaded')) await new Promise((resolve) => box.stdout.once('data', resolve));
  t.pass('the payload got SIGHUP');
  await service.stop();
});

t.test('the health watchdog restarts a wedged box', async (t) => {
  const listener = createListener({ port: 0 });
  t.teardown(() => listener.close());
  let generation = 0;
  const service = createService({
    file: '/usr/bin/perl', args: ['-e', WEDGED],
    options: () => ({ listen: [listener], env: { GEN: String(++generation) }, stdio: 'ignore' }),
    health: { check: { http: { target: listener, path: '/health' } }, intervalMs: 20, startPeriodMs: 0, timeoutMs: 300, failures: 2 },
    stop: { timeoutMs: 100 },
  });
  const outcomes = [];
  service.on('health', ({ ok, failures }) => outcomes.push(`${ok}:${failures}`));
  const unhealthy = next(service, 'unhealthy');
  const first = await service.start();
  const [wedged] = await unhealthy;
  t.equal(wedged, first, 'the wedged box is named');
  t.same(outcomes.slice(0, 3), ['true:0', 'false:1', 'false:2'], 'one answer, then two checks without one');
  const [second] = await next(service, 'start');
  t.not(second, first, 'a new box replaces it');
  t.equal(generation, 2);
  await service.stop();
});

t.test('a custom check (the hook for box.exec) and a connect check', async (t) => {
  const dir = scratch(t);
  const listener = createListener({ path: path.join(dir, 'c.sock') });
  t.teardown(() => listener.close());
  const seen = [];
  const custom = createService({
    file: '/bin/sleep', args: ['1000'], options: { stdio: 'ignore' },
    health: { check: { custom: async (box) => { seen.push(box.pid); throw new Error('not ready'); } }, intervalMs: 10, startPeriodMs: 0, failures: 1 },
    stop: { signal: 'SIGKILL' },
  });
  const box = await custom.start();
  const [result] = await next(custom, 'health');
  t.equal(result.ok, false);
  t.match(result.error.message, /not ready/);
  t.equal(seen[0], box.pid, 'the check is given the box');
  await next(custom, 'start');
  await custom.stop();

  const connect = createService({
    file: '/bin/sleep', args: ['1000'], options: { stdio: 'ignore' },
    health: { check: { connect: { path: path.join(dir, 'nothing.sock') } }, intervalMs: 10, startPeriodMs: 0, failures: 5 },
    stop: { signal: 'SIGKILL' },
  });
  await connect.start();
  const [refused] = await next(connect, 'health');
  t.equal(refused.ok, false);
  t.equal(refused.error.code, 'ENOENT');
  await connect.stop();
});

t.test('bad options throw CordonOptionError', async (t) => {
  for (const [options, code] of [
    [undefined, 'ERR_INVALID_ARG_TYPE'],
    [{}, 'ERR_INVALID_ARG_TYPE'],
    [{ file: '/bin/true', restart: { policy: 'sometimes' } }, 'ERR_INVALID_ARG_VALUE'],
    [{ file: '/bin/true', restart: { initialMs: -1 } }, 'ERR_INVALID_ARG_VALUE'],
    [{ file: '/bin/true', stop: { signal: 'SIGNOPE' } }, 'ERR_INVALID_ARG_VALUE'],
    [{ file: '/bin/true', health: { check: {} } }, 'ERR_INVALID_ARG_TYPE'],
    [{ file: '/bin/true', health: { check: { http: { target: { port: 80 }, path: 'x' } } } }, 'ERR_INVALID_ARG_VALUE'],
    [{ file: '/bin/true', health: { check: { custom: 1 } } }, 'ERR_INVALID_ARG_TYPE'],
    [{ file: '/bin/true', restart: { retries: 1 } }, 'ERR_CORDON_UNKNOWN_OPTION'],
  ]) {
    let thrown;
    try {
      createService(options);
    } catch (error) {
      thrown = error;
    }
    t.ok(thrown instanceof CordonOptionError && thrown.code === code, `${JSON.stringify(options)}: ${code}`, { thrown: thrown?.message });
  }
  const badSpawn = createService({ file: '/bin/true', options: { hostname: 5 } });
  await t.rejects(badSpawn.start(), { code: 'ERR_INVALID_ARG_TYPE' }, 'bad spawn options reject start()');
  t.equal(badSpawn.state, 'stopped', 'and do not loop');
});

t.test('calls at once never make two boxes', async (t) => {
  const service = createService({ file: '/bin/sleep', args: ['1000'], options: { stdio: 'ignore' }, stop: { timeoutMs: 60000 } });
  const starts = [];
  service.on('start', (box) => starts.push(box));
  const [a, b] = await Promise.all([service.start(), service.start()]);
  t.equal(a, b, 'two start() calls: one box');
  const [c, d] = await Promise.all([service.restart(), service.restart()]);
  t.not(c, d, 'two restarts, one after the other');
  t.equal(starts.length, 3);
  t.equal(starts.filter((box) => box.exitCode === null && box.signalCode === null).length, 1, 'only the last box runs');
  const stopping = service.stop();
  const restarted = service.start();
  await stopping;
  const e = await restarted;
  t.equal(service.box, e, 'a start() after a stop() waits for it');
  t.equal(service.state, 'running');
  await service.stop();
});
