// Lasting listeners: one socket, made once by the supervisor, lent to box
// after box. Connections made while no box runs wait in the backlog.
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');
const { spawnIsolated, createListener, Listener, CordonError, CordonOptionError } = require('../..');
const { run, isRoot } = require('../helpers/payload');
const { removeTree } = require('../helpers/remove-tree');

// Accepts on fd 3 until killed, answering each connection with its tag.
const SERVE = `use IO::Socket; $| = 1; my $l = IO::Socket->new_from_fd(3, "r") or die "fd 3: $!";
  print "ready\\n"; while (my $c = $l->accept) { print $c "ok $ARGV[0]\\n"; close $c; }`;

function serve(listener, tag, extra = {}) {
  const box = spawnIsolated('/usr/bin/perl', ['-e', SERVE, tag], { listen: [listener], stdio: ['ignore', 'pipe', 'pipe'], ...extra });
  const ready = new Promise((resolve, reject) => {
    box.stdout.once('data', (d) => resolve(String(d).trim()));
    box.once('error', reject);
  });
  return { box, ready };
}

function fetch(address) {
  return new Promise((resolve) => {
    const socket = net.connect(address);
    let data = '';
    socket.on('data', (d) => (data += d));
    socket.on('end', () => resolve(data.trim()));
    socket.on('error', (error) => resolve(`error ${error.code}`));
  });
}

/** Asserts fn throws an error that check() accepts. */
function throwsWhere(t, fn, check, message) {
  let thrown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  t.ok(thrown !== undefined && check(thrown), message, { thrown: thrown && { name: thrown.name, code: thrown.code, message: thrown.message } });
}

function scratch(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-listener-'));
  fs.chmodSync(dir, 0o755);
  t.teardown(() => removeTree(dir));
  return dir;
}

t.test('a Unix listener outlives its boxes and queues connections between them', async (t) => {
  const dir = scratch(t);
  const socketPath = path.join(dir, 'tenant', 'app.sock');
  const listener = createListener({ path: socketPath, mode: 0o600 });
  t.teardown(() => listener.close());
  t.ok(listener instanceof Listener);
  t.equal(listener.path, socketPath);
  const stat = fs.statSync(socketPath);
  t.ok(stat.isSocket(), 'the socket file is made at once');
  t.equal(stat.mode & 0o777, 0o600, 'with the mode asked for');
  t.equal(stat.uid, process.geteuid(), 'owned by the caller by default');

  const first = serve(listener, 'first');
  t.equal(await first.ready, 'ready');
  t.equal(await fetch(socketPath), 'ok first');
  first.box.kill('SIGKILL');
  await first.box.exited;
  t.ok(fs.statSync(socketPath).isSocket(), 'the socket file stays when the box ends');

  // No box accepts now: the connection waits in the backlog, not refused.
  const waiting = fetch(socketPath);
  const second = serve(listener, 'second');
  t.equal(await waiting, 'ok second', 'a connection made between boxes is answered by the next box');
  t.equal(await fetch(socketPath), 'ok second');
  second.box.kill('SIGKILL');
  await second.box.exited;

  listener.close();
  t.ok(listener.closed);
  t.notOk(fs.existsSync(path.join(dir, 'tenant')), 'close() removes the socket file and the directory it made');
  t.match(await fetch(socketPath), /^error (ENOENT|ECONNREFUSED)$/, 'closed: connections are refused');
  listener.close(); // idempotent
});

t.test('a client looping while the box is killed and replaced is never refused', async (t) => {
  const dir = scratch(t);
  const socketPath = path.join(dir, 'loop.sock');
  const listener = createListener({ path: socketPath });
  t.teardown(() => listener.close());
  let current = serve(listener, 'g0');
  await current.ready;
  const outcomes = new Map();
  let stop = false;
  const answeredBy = new Set();
  const client = (async () => {
    while (!stop) {
      const reply = await fetch(socketPath);
      const key = reply.startsWith('ok ') ? 'ok' : reply === '' ? 'empty' : reply;
      if (reply.startsWith('ok ')) answeredBy.add(reply.slice(3));
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }
  })();
  for (let generation = 1; generation <= 4; generation++) {
    // Let the client get answers from this generation before killing it.
    while (!answeredBy.has(`g${generation - 1}`)) await new Promise((resolve) => setImmediate(resolve));
    current.box.kill('SIGKILL');
    await current.box.exited;
    current = serve(listener, `g${generation}`);
    await current.ready;
  }
  while (!answeredBy.has('g4')) await new Promise((resolve) => setImmediate(resolve));
  stop = true;
  await client;
  current.box.kill('SIGKILL');
  await current.box.exited;
  t.comment(`outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`);
  t.notOk(outcomes.has('error ECONNREFUSED'), 'no connection refused');
  t.notOk(outcomes.has('error ENOENT'), 'the socket file never went away');
  t.same([...answeredBy].sort(), ['g0', 'g1', 'g2', 'g3', 'g4'], 'every generation answered');
  // A SIGKILL may cut a connection its box had accepted; nothing else fails.
  for (const key of outcomes.keys()) t.match(key, /^(ok|empty|error ECONNRESET|error EPIPE)$/, `outcome ${key}`);
});

t.test('a TCP listener: the port, LISTEN_* and the variables for servers of their own', async (t) => {
  const listener = createListener({ port: 0, name: 'web' });
  t.teardown(() => listener.close());
  t.ok(listener.port > 0, 'port 0 is given a free port');
  t.equal(listener.host, '127.0.0.1');
  const env = await run('/bin/sh', ['-c', 'echo "$LISTEN_FDS $LISTEN_FDNAMES $APP_FD $FPM_SOCKETS"'], {
    listen: [{ listener, fdEnv: 'APP_FD', fpmAddress: '127.0.0.1:9000' }, { listener, name: 'again', fpmAddress: '/run/php/www.sock' }],
  });
  t.equal(env.stdout.trim(), '2 web:again 3 127.0.0.1:9000=3,/run/php/www.sock=4');
  const { box, ready } = serve(listener, 'tcp');
  await ready;
  t.same(box.sockets, [{ name: 'web', fd: 3, host: '127.0.0.1', port: listener.port }], 'box.sockets reports the listener');
  t.equal(await fetch({ host: '127.0.0.1', port: listener.port }), 'ok tcp');
  box.kill('SIGKILL');
  await box.exited;
  listener.close();
  t.equal(await fetch({ host: '127.0.0.1', port: listener.port }), 'error ECONNREFUSED', 'closed by the supervisor only');
});

t.test('a box that makes the socket non-blocking does not break the next box', async (t) => {
  const listener = createListener({ port: 0 });
  t.teardown(() => listener.close());
  const flip = await run('/usr/bin/perl', ['-e', 'use Fcntl; open(my $s, "+<&=3") or die "fd 3: $!"; fcntl($s, F_SETFL, O_NONBLOCK) or die "fcntl: $!"; print((fcntl($s, F_GETFL, 0) & O_NONBLOCK) ? "nonblocking\\n" : "blocking\\n")'], { listen: [listener] });
  t.equal(flip.stdout.trim(), 'nonblocking', 'the first box sets O_NONBLOCK on the shared socket');
  const { box, ready } = serve(listener, 'next');
  await ready;
  t.equal(await fetch({ host: '127.0.0.1', port: listener.port }), 'ok next', 'the next box gets it blocking again (its accept waits)');
  box.kill('SIGKILL');
  await box.exited;
});

t.test('a privileged port is bound as the caller', async (t) => {
  if (isRoot) {
    const listener = createListener({ port: 81 });
    t.equal(listener.port, 81);
    listener.close();
  } else {
    throwsWhere(t, () => createListener({ port: 81 }), (error) => error instanceof CordonError && error.code === 'EACCES' && error.step === 'listen 127.0.0.1:81' && error.syscall === 'bind');
  }
});

t.test('bad options and host failures', async (t) => {
  const dir = scratch(t);
  const cases = [
    [undefined, 'ERR_INVALID_ARG_TYPE'],
    [{}, 'ERR_INVALID_ARG_TYPE'],
    [{ path: 'relative.sock' }, 'ERR_INVALID_ARG_VALUE'],
    [{ path: `/${'x'.repeat(120)}` }, 'ERR_INVALID_ARG_VALUE'],
    [{ path: '/run/x.sock', mode: 0o1777 }, 'ERR_INVALID_ARG_VALUE'],
    [{ path: '/run/x.sock', owner: { uid: 1 } }, 'ERR_INVALID_ARG_TYPE'],
    [{ path: '/run/x.sock', port: 1 }, 'ERR_CORDON_UNKNOWN_OPTION'],
    [{ port: 70000 }, 'ERR_INVALID_ARG_VALUE'],
    [{ port: 0, host: 'localhost' }, 'ERR_INVALID_ARG_VALUE'],
    [{ port: 0, name: 'a:b' }, 'ERR_INVALID_ARG_VALUE'],
    [{ port: 0, backlog: 0 }, 'ERR_INVALID_ARG_VALUE'],
  ];
  for (const [options, code] of cases) {
    throwsWhere(t, () => createListener(options), (error) => error instanceof CordonOptionError && error.code === code, `${JSON.stringify(options)}: ${code}`);
  }
  const listener = createListener({ port: 0 });
  for (const [entry, code] of [
    [{ listener, fdEnv: '1X' }, 'ERR_INVALID_ARG_VALUE'],
    [{ listener, fdEnv: 'LISTEN_FDS' }, 'ERR_INVALID_ARG_VALUE'],
    [{ listener, fpmAddress: 'a=b' }, 'ERR_INVALID_ARG_VALUE'],
    [{ listener: {} }, 'ERR_INVALID_ARG_TYPE'],
    [{ listener, backlog: 3 }, 'ERR_CORDON_UNKNOWN_OPTION'],
  ]) {
    throwsWhere(t, () => spawnIsolated('/bin/true', [], { listen: [entry] }), (error) => error instanceof CordonOptionError && error.code === code, `${Object.keys(entry)}: ${code}`);
  }
  t.throws(() => spawnIsolated('/bin/true', [], { listen: [{ listener, fdEnv: 'A' }, { port: 0, fdEnv: 'A' }] }), { code: 'ERR_CORDON_CONFLICTING_OPTIONS' });
  t.throws(() => spawnIsolated('/bin/true', [], { env: { FPM_SOCKETS: 'x' }, listen: [{ listener, fpmAddress: '/a' }] }), { code: 'ERR_CORDON_CONFLICTING_OPTIONS' });
  listener.close();
  throwsWhere(t, () => spawnIsolated('/bin/true', [], { listen: [listener] }), (error) => error instanceof CordonOptionError && /is closed/.test(error.message), 'a closed listener is refused');

  // A live socket at the path is not taken; a planted symlink is not followed.
  const live = createListener({ path: path.join(dir, 'live.sock') });
  throwsWhere(t, () => createListener({ path: path.join(dir, 'live.sock') }), (error) => error instanceof CordonError && error.code === 'EADDRINUSE' && error.path === path.join(dir, 'live.sock'));
  fs.mkdirSync(path.join(dir, 'real'));
  fs.symlinkSync(path.join(dir, 'real'), path.join(dir, 'link'));
  throwsWhere(t, () => createListener({ path: path.join(dir, 'link', 'x.sock') }), (error) => error instanceof CordonError && error.code === 'ELOOP' && error.syscall === 'openat2');
  t.notOk(fs.existsSync(path.join(dir, 'real', 'x.sock')));
  // A file that is not a socket is never replaced.
  fs.writeFileSync(path.join(dir, 'data.sock'), 'not a socket');
  throwsWhere(t, () => createListener({ path: path.join(dir, 'data.sock') }), (error) => error instanceof CordonError && error.code === 'EEXIST' && error.syscall === 'bind' && error.step === `listen ${path.join(dir, 'data.sock')}` && error.path === path.join(dir, 'data.sock'));
  t.equal(fs.readFileSync(path.join(dir, 'data.sock'), 'utf8'), 'not a socket', 'and it is left as it was');

  // close() removes only the file it bound: one put at the path since stays.
  fs.unlinkSync(path.join(dir, 'live.sock'));
  fs.writeFileSync(path.join(dir, 'live.sock'), 'not ours');
  live.close();
  t.equal(fs.readFileSync(path.join(dir, 'live.sock'), 'utf8'), 'not ours', 'a file another put at the path is left alone');
});

t.test('a supervisor that exits without closing leaves no socket file', async (t) => {
  const dir = scratch(t);
  const socketPath = path.join(dir, 'sub', 'exit.sock');
  const { execFileSync } = require('node:child_process');
  execFileSync(process.execPath, ['-e', `
    const { createListener } = require(${JSON.stringify(path.resolve(__dirname, '../..'))});
    createListener({ path: ${JSON.stringify(socketPath)} });
    require('fs').statSync(${JSON.stringify(socketPath)});
  `]);
  t.notOk(fs.existsSync(path.join(dir, 'sub')), 'removed at process exit');
});

t.test('a listener closed while an async spawn is under way: the box still gets the socket', async (t) => {
  const { spawnIsolatedAsync } = require('../..');
  const listener = createListener({ port: 0 });
  const port = listener.port;
  const starting = spawnIsolatedAsync('/usr/bin/perl', ['-e', SERVE, 'async'], { listen: [listener], stdio: ['ignore', 'pipe', 'ignore'] });
  listener.close(); // the box's copy was taken when the spawn began
  const box = await starting;
  await new Promise((resolve) => box.stdout.once('data', resolve));
  t.equal(await fetch({ host: '127.0.0.1', port }), 'ok async', 'the box serves its copy');
  box.kill('SIGKILL');
  await box.exited;
  t.equal(await fetch({ host: '127.0.0.1', port }), 'error ECONNREFUSED', 'gone with the last copy');
});

t.test('a box that shuts the listener down does not break it for the next box', async (t) => {
  const dir = scratch(t);
  const SHUT = 'use Socket; open(my $s, "+<&=3") or die "fd 3: $!"; shutdown($s, 2) or die "shutdown: $!"; print "shut\\n"';
  const free = createListener({ port: 0 });
  const explicitPort = free.port;
  free.close();
  for (const options of [{ port: 0 }, { port: explicitPort, name: 'explicit' }, { path: path.join(dir, 'shut.sock') }]) {
    const listener = createListener(options);
    t.teardown(() => listener.close());
    const address = listener.path ?? { host: '127.0.0.1', port: listener.port };
    const attack = await run('/usr/bin/perl', ['-e', SHUT], { listen: [listener] });
    t.equal(attack.stdout, 'shut\n', `${listener.name}: the box shuts its copy down`);
    t.match(await fetch(address), /^error ECONNREFUSED$/, 'which stops the shared socket accepting');
    const { box, ready } = serve(listener, 'after');
    await ready;
    t.equal(await fetch(address), 'ok after', 'the next box gets a socket that accepts again');
    t.equal(listener.renewals, 1, 'and the listener counts the renewal');
    box.kill('SIGKILL');
    await box.exited;
    listener.close();
    if (listener.path !== undefined) t.notOk(fs.existsSync(listener.path), 'the renewed socket file is removed at close');
  }
});

t.test('a box that shrinks the backlog does not shrink it for the next box', async (t) => {
  const dir = scratch(t);
  const listener = createListener({ path: path.join(dir, 'backlog.sock'), backlog: 64 });
  t.teardown(() => listener.close());
  const shrink = await run('/usr/bin/perl', ['-e', 'use Socket; open(my $s, "+<&=3") or die; listen($s, 0) or die "listen: $!"; print "shrunk\\n"'], { listen: [listener] });
  t.equal(shrink.stdout, 'shrunk\n');
  // Nothing accepts now; lend it to a box that does not accept either, then count what queues.
  const idle = spawnIsolated('/bin/sh', ['-c', 'echo idle; exec sleep 1000'], { listen: [listener], stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise((resolve) => idle.stdout.once('data', resolve));
  const sockets = [];
  const outcomes = await Promise.all(Array.from({ length: 16 }, () => new Promise((resolve) => {
    const socket = net.connect(listener.path);
    sockets.push(socket);
    socket.once('connect', () => resolve('queued'));
    socket.once('error', (error) => resolve(error.code));
  })));
  for (const socket of sockets) socket.destroy();
  t.same(outcomes.filter((outcome) => outcome !== 'queued'), [], 'all 16 connections queue: the backlog is the listener\'s own again');
  idle.kill('SIGKILL');
  await idle.exited;
});
