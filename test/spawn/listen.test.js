// Network isolation and socket handoff, from both sides.
'use strict';
const { removeTree } = require('../helpers/remove-tree');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');
const { spawnIsolated } = require('../..');
const { run, spawnError, isRoot } = require('../helpers/payload');

const SERVE = `use IO::Socket; $| = 1;
  print "$ENV{LISTEN_FDS} $ENV{LISTEN_FDNAMES} $ENV{LISTEN_PID} $$\\n";
  for my $fd (3 .. 2 + $ENV{LISTEN_FDS}) { my $l = IO::Socket->new_from_fd($fd, "r") or die "fd $fd: $!"; my $c = $l->accept; print $c "hello from fd $fd\\n"; close $c; }`;

function fetch(options) {
  return new Promise((resolve) => {
    const socket = net.connect(options);
    let data = '';
    socket.on('data', (d) => (data += d));
    socket.on('end', () => resolve(data.trim()));
    socket.on('error', (error) => resolve(`error ${error.code}`));
  });
}

function firstLine(box) {
  return new Promise((resolve) => box.stdout.once('data', (d) => resolve(String(d).trim())));
}

t.test('a box cannot reach a server on the host loopback', async (t) => {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.end('host\n');
  }).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  t.teardown(() => server.close());
  const { port } = server.address();
  const probe = `use IO::Socket::INET; IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => ${port}, Timeout => 2) ? print "reached\\n" : print "unreachable: $!\\n"`;
  const boxed = await run('/usr/bin/perl', ['-e', probe]);
  t.match(boxed.stdout, /^unreachable: Connection refused/, 'the box\'s loopback is its own');
  const shared = await run('/usr/bin/perl', ['-e', probe], { namespaces: { net: 'host' } });
  t.equal(shared.stdout.trim(), 'reached', 'with the host network (an explicit opt-out) it is reachable');
});

t.test('handed-in TCP and Unix sockets accept connections from the host', async (t) => {
  const dir = path.join(os.tmpdir(), `cordon-listen-${process.pid}-${Date.now()}`);
  const socketPath = path.join(dir, 'tenant', 'app.sock');
  const box = spawnIsolated('/usr/bin/perl', ['-e', SERVE], {
    listen: [{ port: 0, name: 'web' }, { path: socketPath, name: 'admin' }],
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const line = await firstLine(box);
  t.equal(line, '2 web:admin 2 2', 'LISTEN_FDS, LISTEN_FDNAMES, and LISTEN_PID is the payload\'s own pid');
  t.same(box.sockets.map((s) => [s.name, s.fd]), [['web', 3], ['admin', 4]]);
  const stat = fs.statSync(socketPath);
  t.ok(stat.isSocket(), 'the Unix socket exists on the host');
  t.equal(stat.uid, isRoot ? 65534 : process.geteuid(), 'owned by the box\'s root as the host sees it');
  t.equal(await fetch({ host: '127.0.0.1', port: box.sockets[0].port }), 'hello from fd 3');
  t.equal(await fetch(socketPath), 'hello from fd 4');
  const result = await box.exited;
  t.equal(result.code, 0);
  t.notOk(fs.existsSync(path.join(dir, 'tenant')), 'the socket and the directory cordon made are gone');
  removeTree(dir);
});

t.test('LISTEN_PID is right without an init and in the host pid namespace', async (t) => {
  const noInit = spawnIsolated('/usr/bin/perl', ['-e', SERVE], { init: false, listen: [{ port: 0 }], stdio: ['ignore', 'pipe', 'ignore'] });
  t.match(await firstLine(noInit), /^1 tcp-0 1 1$/);
  await fetch({ host: '127.0.0.1', port: noInit.sockets[0].port });
  await noInit.exited;
  const hostPid = spawnIsolated('/usr/bin/perl', ['-e', SERVE], { namespaces: { pid: 'host' }, listen: [{ port: 0 }], stdio: ['ignore', 'pipe', 'ignore'] });
  const [, , listenPid, pid] = (await firstLine(hostPid)).split(' ');
  t.equal(listenPid, pid);
  t.equal(Number(pid), hostPid.pid, 'the host pid, as the payload sees it');
  await fetch({ host: '127.0.0.1', port: hostPid.sockets[0].port });
  await hostPid.exited;
});

t.test('a listening net.Server and a raw fd can be handed in', async (t) => {
  const server = net.createServer(() => t.fail('the parent must not accept')).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address();
  const box = spawnIsolated('/usr/bin/perl', ['-e', SERVE], { listen: [server], stdio: ['ignore', 'pipe', 'ignore'] });
  t.match(await firstLine(box), /^1 server /);
  t.equal(box.sockets[0].port, port, 'box.sockets reports its port');
  server.close(); // the box keeps its own copy of the socket
  t.equal(await fetch({ host: '127.0.0.1', port }), 'hello from fd 3');
  await box.exited;
});

t.test('a privileged port is bound as the caller', async (t) => {
  if (isRoot) {
    const box = spawnIsolated('/usr/bin/perl', ['-e', SERVE], { listen: [{ port: 80 }], stdio: ['ignore', 'pipe', 'ignore'] });
    await firstLine(box);
    t.equal(await fetch({ host: '127.0.0.1', port: 80 }), 'hello from fd 3', 'a root supervisor hands out port 80');
    await box.exited;
  } else {
    const { error } = await spawnError('/bin/true', [], { listen: [{ port: 80 }] });
    t.equal(error.code, 'EACCES');
    t.equal(error.step, 'listen 127.0.0.1:80');
  }
});

t.test('no fd of the parent is left behind', async (t) => {
  await spawnIsolated('/bin/true', [], { listen: [{ port: 0 }], stdio: 'ignore' }).exited;
  const before = fs.readdirSync('/proc/self/fd').length;
  for (let i = 0; i < 20; i++) {
    const box = spawnIsolated('/bin/true', [], { listen: [{ port: 0 }], stdio: 'ignore' });
    await box.exited;
  }
  t.equal(fs.readdirSync('/proc/self/fd').length, before);
});
