// Each namespace, proven from inside the box.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const t = require('tap');
const { skipExpected } = require('../helpers/skip');
const { runSh, run, isRoot } = require('../helpers/payload');

const NS = ['user', 'pid', 'mnt', 'net', 'ipc', 'uts', 'cgroup'];

function hostInode(ns) {
  return fs.readlinkSync(`/proc/self/ns/${ns}`);
}

t.test('every namespace but time is new by default', async (t) => {
  const script = NS.map((ns) => `readlink /proc/self/ns/${ns}`).join('; ') + '; readlink /proc/self/ns/time';
  const result = await runSh(script);
  t.equal(result.code, 0, result.stderr);
  const lines = result.stdout.trim().split('\n');
  NS.forEach((ns, i) => t.not(lines[i], hostInode(ns), `${ns} namespace differs from the host's`));
  t.equal(lines[NS.length], hostInode('time'), 'time namespace is the host\'s unless asked');
});

t.test('a new time namespace when asked', async (t) => {
  const result = await runSh('readlink /proc/self/ns/time', { namespaces: { time: 'new' } });
  t.equal(result.code, 0, result.stderr);
  t.not(result.stdout.trim(), hostInode('time'));
});

t.test('pid namespace: the init is PID 1 and the payload sees only the box', async (t) => {
  const result = await runSh('echo $$; for p in /proc/[0-9]*; do cat $p/comm; done');
  t.equal(result.code, 0, result.stderr);
  const [pid, ...comms] = result.stdout.trim().split('\n');
  t.equal(pid, '2', 'the payload is PID 2 under the init');
  t.ok(comms.includes('cordon_init'), 'PID 1 is the init');
  t.ok(comms.length <= 4, `only the box's processes are visible: ${comms.join(',')}`);
  t.notOk(comms.includes('node'), 'the host\'s node is not visible');
});

t.test('init: false makes the payload PID 1', async (t) => {
  const result = await runSh('echo $$', { init: false });
  t.equal(result.stdout.trim(), '1');
});

t.test('uts namespace: default hostname and a chosen one', async (t) => {
  t.equal((await run('/bin/hostname', [])).stdout.trim(), 'cordon');
  t.equal((await run('/bin/hostname', [], { hostname: 'tenant-42' })).stdout.trim(), 'tenant-42');
  t.equal(os.hostname() === 'tenant-42', false, 'the host keeps its name');
});

t.test('net namespace: only lo, and it is up', async (t) => {
  const result = await runSh('cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " "; cat /sys/class/net/lo/operstate 2>/dev/null; cat /sys/class/net/lo/flags');
  t.equal(result.code, 0, result.stderr);
  const lines = result.stdout.trim().split('\n');
  t.same(lines[0], 'lo', 'only the loopback interface exists');
  t.equal(lines.filter((l) => /^[a-z]/.test(l) && l !== 'lo' && l !== 'unknown' && !l.startsWith('0x')).length, 0);
  const flags = Number.parseInt(lines.at(-1), 16);
  t.ok(flags & 1, `lo has IFF_UP (flags ${lines.at(-1)})`);
});

t.test('mount namespace: a mount in the box does not reach the host', async (t) => {
  const before = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  const result = await runSh('cat /proc/self/mountinfo | wc -l');
  t.equal(result.code, 0, result.stderr);
  t.equal(fs.readFileSync('/proc/self/mountinfo', 'utf8'), before, 'the host mount table is unchanged');
});

t.test('user namespace: uid and gid mapping', async (t) => {
  const result = await runSh('id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map');
  t.equal(result.code, 0, result.stderr);
  const [uid, gid, uidMap, gidMap] = result.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '));
  t.equal(uid, '0');
  t.equal(gid, '0');
  const outside = isRoot ? 65534 : process.geteuid();
  t.equal(uidMap, `0 ${outside} 1`, 'box root is the caller (rootless) or nobody (root caller)');
  t.equal(gidMap, `0 ${isRoot ? 65534 : process.getegid()} 1`);
});

t.test('user namespace: the payload holds no host privileges', async (t) => {
  const result = await runSh('grep -E "^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs)" /proc/self/status');
  t.equal(result.code, 0, result.stderr);
  for (const line of result.stdout.trim().split('\n')) {
    const [key, value] = line.split(/:\s+/);
    if (key === 'NoNewPrivs') t.equal(value, '1', 'no_new_privs is set');
    else t.equal(value, '0000000000000000', `${key} is empty`);
  }
  // The box's process on the host runs as the mapped uid, never as root.
  const { spawnIsolated } = require('../..');
  const box = spawnIsolated('/bin/sleep', ['5'], { init: false, stdio: 'ignore' });
  await new Promise((resolve) => box.once('spawn', resolve));
  const status = fs.readFileSync(`/proc/${box.pid}/status`, 'utf8');
  const hostUid = status.match(/^Uid:\s+(\d+)/m)[1];
  t.equal(Number(hostUid), isRoot ? 65534 : process.geteuid(), 'host uid of the box');
  box.kill('SIGKILL');
  await box.exited;
});

t.test('a mapped range and a non-root uid inside (root only)', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass (needs root: an unprivileged caller maps only its own id)')) return;
  const result = await runSh('id -u; id -g; cat /proc/self/uid_map', {
    uidMap: [{ inside: 0, outside: 200000, count: 65536 }],
    gidMap: [{ inside: 0, outside: 200000, count: 65536 }],
    uid: 1000,
    gid: 1000,
  });
  t.equal(result.code, 0, result.stderr);
  const [uid, gid, map] = result.stdout.trim().split('\n');
  t.equal(uid, '1000');
  t.equal(gid, '1000');
  t.equal(map.trim().split(/\s+/).join(' '), '0 200000 65536');
});

t.test('supplementary groups of a root caller are dropped', async (t) => {
  if (!skipExpected(t, isRoot, "unprivileged pass (the rootless box keeps the caller's own groups (setgroups is denied))")) return;
  const result = await runSh('grep ^Groups: /proc/self/status');
  t.equal(result.stdout.trim().replace(/\s+/g, ' '), 'Groups:');
});

t.test('joining namespaces by path and by fd', async (t) => {
  const { spawnIsolated } = require('../..');
  const holder = spawnIsolated('/bin/sleep', ['30'], { stdio: 'ignore', init: false, hostname: 'holder' });
  await new Promise((resolve) => holder.once('spawn', resolve));
  t.teardown(() => holder.kill('SIGKILL'));
  const nsOf = (ns) => fs.readlinkSync(`/proc/${holder.pid}/ns/${ns}`);

  const byPath = await runSh('readlink /proc/self/ns/net; readlink /proc/self/ns/uts; hostname; readlink /proc/self/ns/mnt', {
    namespaces: {
      pid: 'host',
      user: { path: `/proc/${holder.pid}/ns/user` },
      net: { path: `/proc/${holder.pid}/ns/net` },
      uts: { path: `/proc/${holder.pid}/ns/uts` },
    },
  });
  t.equal(byPath.code, 0, byPath.stderr);
  const [net, uts, hostname, mnt] = byPath.stdout.trim().split('\n');
  t.same([net, uts, hostname], [nsOf('net'), nsOf('uts'), 'holder']);
  t.not(mnt, nsOf('mnt'), 'a new mount namespace, made inside the joined user namespace');
  t.not(mnt, fs.readlinkSync('/proc/self/ns/mnt'));

  const netFd = fs.openSync(`/proc/${holder.pid}/ns/net`, 'r');
  const userFd = fs.openSync(`/proc/${holder.pid}/ns/user`, 'r');
  t.teardown(() => {
    fs.closeSync(netFd);
    fs.closeSync(userFd);
  });
  const byFd = await runSh('readlink /proc/self/ns/net', { namespaces: { pid: 'host', user: { fd: userFd }, net: { fd: netFd } } });
  t.equal(byFd.code, 0, byFd.stderr);
  t.equal(byFd.stdout.trim(), nsOf('net'));
  t.doesNotThrow(() => fs.fstatSync(netFd), 'cordon leaves the caller\'s fd open');
});

t.test('joining a pid namespace runs the payload inside it', async (t) => {
  const { spawnIsolated } = require('../..');
  const holder = spawnIsolated('/bin/sleep', ['30'], { stdio: 'ignore' });
  await new Promise((resolve) => holder.once('spawn', resolve));
  t.teardown(() => holder.kill('SIGKILL'));
  const result = await runSh('readlink /proc/self/ns/pid', {
    namespaces: { user: { path: `/proc/${holder.pid}/ns/user` }, pid: { path: `/proc/${holder.pid}/ns/pid` } },
  });
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stdout.trim(), fs.readlinkSync(`/proc/${holder.pid}/ns/pid`));
});

t.test('sharing namespaces with the host is explicit', async (t) => {
  const result = await runSh('readlink /proc/self/ns/net; readlink /proc/self/ns/uts', {
    namespaces: { net: 'host', uts: 'host' },
  });
  t.equal(result.code, 0, result.stderr);
  t.same(result.stdout.trim().split('\n'), [hostInode('net'), hostInode('uts')]);
});

t.test('a new pid namespace inside a joined user namespace: the box is PID 1 (its init) and sees only its own processes', async (t) => {
  const { spawnIsolated } = require('../..');
  const holder = spawnIsolated('/bin/sleep', ['30'], { stdio: 'ignore', init: false });
  await new Promise((resolve) => holder.once('spawn', resolve));
  t.teardown(() => holder.kill('SIGKILL'));
  const userNs = fs.readlinkSync(`/proc/${holder.pid}/ns/user`);
  const script = 'readlink /proc/self/ns/user; readlink /proc/self/ns/pid; echo $$; ls /proc | grep -c "^[0-9]"; cat /proc/1/comm';
  const result = await runSh(script, { namespaces: { user: { path: `/proc/${holder.pid}/ns/user` } } });
  t.equal(result.code, 0, result.stderr);
  const [user, pid, self, count, first] = result.stdout.trim().split('\n');
  t.equal(user, userNs, 'in the joined user namespace');
  t.not(pid, fs.readlinkSync('/proc/self/ns/pid'), 'a pid namespace of its own');
  t.not(pid, fs.readlinkSync(`/proc/${holder.pid}/ns/pid`), 'not the holder\'s either');
  t.equal(self, '2', 'the payload is the init\'s child');
  t.equal(first, 'cordon_init', 'PID 1 is cordon\'s init');
  t.ok(Number(count) <= 4, `a fresh /proc shows only the box's processes (${count})`);
  t.ok(result.box.pid > 0);

  const killed = spawnIsolated('/bin/sleep', ['30'], { namespaces: { user: { path: `/proc/${holder.pid}/ns/user` } }, stdio: 'ignore' });
  await new Promise((resolve) => killed.once('spawn', resolve));
  killed.kill('SIGTERM');
  const exit = await killed.exited;
  t.equal(exit.signal, 'SIGTERM', 'signals reach the payload and its status is reported');
});
