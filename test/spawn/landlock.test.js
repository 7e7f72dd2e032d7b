// Landlock, proven from inside the box.
'use strict';
const net = require('node:net');
const t = require('tap');
const { probe, spawnIsolated } = require('../..');
const { runSh, run, spawnError } = require('../helpers/payload');
const { requireOrSkip } = require('../helpers/skip');

const abi = probe().landlock.abi;
const readEverywhere = [{ path: '/', access: ['read', 'execute'] }];

t.test('writes outside the allowed paths are denied', async (t) => {
  if (!requireOrSkip(t, abi >= 1, 'the kernel has no Landlock')) return;
  const result = await runSh('echo a > /tmp/ok && echo tmp-ok; echo b > /dev/shm/no || echo shm-denied; mkdir /tmp/d && echo mkdir-ok; cat /etc/hostname >/dev/null && echo read-ok', {
    landlock: { paths: [...readEverywhere, { path: '/tmp', access: ['write'] }, { path: '/dev/null', access: ['write'] }] },
  });
  t.same(result.stdout.trim().split('\n'), ['tmp-ok', 'shm-denied', 'mkdir-ok', 'read-ok']);
  t.match(result.stderr, /Permission denied/);
});

t.test('reads and execution outside the allowed paths are denied', async (t) => {
  if (!requireOrSkip(t, abi >= 1, 'the kernel has no Landlock')) return;
  const result = await run('/bin/sh', ['-c', 'ls /etc >/dev/null 2>&1 || echo etc-denied; /usr/bin/id >/dev/null 2>&1 || echo id-denied; echo end'], {
    landlock: { paths: [{ path: '/bin', access: ['read', 'execute'] }, { path: '/lib64', access: ['read', 'execute'] }, { path: '/usr/lib', access: ['read', 'execute'] }] },
  });
  t.equal(result.code, 0, result.stderr);
  t.same(result.stdout.trim().split('\n'), ['etc-denied', 'id-denied', 'end']);
  t.same(result.box.landlock.missing, [], 'everything asked is enforced');
  t.ok(result.box.landlock.filesystem.includes('execute'));
});

t.test('connects to ports not allowed are denied', async (t) => {
  if (!requireOrSkip(t, abi >= 4, `Landlock ABI ${abi} has no TCP rules (needs 4)`)) return;
  const servers = await Promise.all([0, 1].map(() => new Promise((resolve) => {
    const server = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.end('hi\n');
    }).listen(0, '127.0.0.1', () => resolve(server));
  })));
  t.teardown(() => servers.forEach((server) => server.close()));
  const [allowed, denied] = servers.map((server) => server.address().port);
  const connect = (port) => `use IO::Socket::INET; IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => ${port}) ? print("connected ${port}\\n") : print("refused ${port}: $!\\n");`;
  const result = await run('/usr/bin/perl', ['-e', connect(allowed) + connect(denied)], {
    namespaces: { net: 'host' },
    landlock: { paths: readEverywhere, connectTcp: [allowed] },
  });
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, new RegExp(`connected ${allowed}`));
  t.match(result.stdout, new RegExp(`refused ${denied}: Permission denied`));
  t.equal(result.box.landlock.network, true);
});

t.test('signals out of the box are denied with the signal scope', async (t) => {
  if (!requireOrSkip(t, abi >= 6, `Landlock ABI ${abi} has no scopes (needs 6)`)) return;
  const result = await runSh(`kill -0 ${process.pid} && echo can-signal || echo scoped`, {
    namespaces: { pid: 'host' },
    uidMap: [{ inside: 0, outside: process.geteuid() === 0 ? 0 : process.geteuid(), count: 1 }],
    landlock: { paths: readEverywhere, scopes: ['signal'] },
  });
  t.equal(result.stdout.trim(), 'scoped');
});

t.test('required fails when the kernel lacks a feature; best effort reports it', async (t) => {
  const { landlockMasks, validateLandlock } = require('../../dist/landlock');
  const options = validateLandlock({ paths: readEverywhere, connectTcp: [80], mode: 'required' });
  t.throws(() => landlockMasks(options, 3), { code: 'ERR_CORDON_HOST_UNSUPPORTED', message: /tcp rules \(ABI 4\)/ });
  const best = landlockMasks(validateLandlock({ paths: readEverywhere, connectTcp: [80] }), 3);
  t.equal(best.net, 0);
  t.same(best.report.missing, ['tcp rules (ABI 4)']);
  t.equal(best.report.network, false);
});

t.test('a rule path that does not exist names the step and the path', async (t) => {
  if (!requireOrSkip(t, abi >= 1, 'the kernel has no Landlock')) return;
  const { error } = await spawnError('/bin/true', [], { landlock: { paths: [...readEverywhere, { path: '/nonexistent', access: ['read'] }] } });
  t.equal(error.code, 'ENOENT');
  t.equal(error.step, 'landlock_restrict_self');
  t.equal(error.syscall, 'open');
  t.equal(error.path, '/nonexistent');
});

t.test('the box without landlock has no report', async (t) => {
  const box = spawnIsolated('/bin/true', [], { stdio: 'ignore' });
  await box.exited;
  t.equal(box.landlock, undefined);
});
