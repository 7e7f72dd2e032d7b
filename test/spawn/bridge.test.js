// Bridge networking: a veth on a host bridge, what the box reaches through
// it, and what is left on the host afterwards. All traffic stays on this
// machine: the bridges here are made by the tests (or by cordon for them).
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const { execFileSync } = require('node:child_process');
const t = require('tap');
const { skipExpected } = require('../helpers/skip');
const { spawnIsolated } = require('../..');
const { run, isRoot } = require('../helpers/payload');

const BRIDGE = 'cdt-bridge';
const SUBNET = '10.231.0.1/24';
const GATEWAY = '10.231.0.1';
const ROOT_ONLY = 'unprivileged pass (bridge networking needs a root caller; the unprivileged case is tested below)';

// A perl client: one line per address, what it read or why it could not connect.
function probeScript(targets) {
  return targets.map(([host, port]) =>
    `{ my $s = IO::Socket::INET->new(PeerAddr => "${host}", PeerPort => ${port}, Timeout => 2);
       if ($s) { my $l = <$s>; chomp $l; print "${host} $l\\n" } else { print "${host} unreachable\\n" } }`).join('');
}

function boxClient(targets, network) {
  return run('/usr/bin/perl', ['-MIO::Socket::INET', '-e', probeScript(targets)], { network });
}

async function hostServer(t, host, reply) {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.end(`${reply}\n`);
  }).listen(0, host);
  await new Promise((resolve) => server.once('listening', resolve));
  t.teardown(() => server.close());
  return server.address().port;
}

function hostAddressOutsideBridge() {
  for (const [name, entries] of Object.entries(os.networkInterfaces())) {
    if (name === BRIDGE) continue;
    const entry = entries.find((candidate) => candidate.family === 'IPv4' && !candidate.internal);
    if (entry) return entry.address;
  }
  return undefined;
}

const linkExists = (name) => fs.existsSync(`/sys/class/net/${name}`);

// The kernel removes a veth with its namespace, asynchronously, some ms
// after the box's last process is gone: wait for that, up to `ms`.
async function goneWithin(name, ms) {
  const deadline = Date.now() + ms;
  while (linkExists(name) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  return !linkExists(name);
}

function processesInNetns(link) {
  let count = 0;
  for (const pid of fs.readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      if (fs.readlinkSync(`/proc/${pid}/ns/net`) === link) count++;
    } catch {}
  }
  return count;
}

t.test('a bridge box reaches a host-side server on the bridge address and nothing else', async (t) => {

  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  const port = await hostServer(t, '0.0.0.0', 'host');
  const loopbackPort = await hostServer(t, '127.0.0.1', 'loopback');
  const other = hostAddressOutsideBridge();
  const network = { bridge: BRIDGE, subnet: SUBNET };

  // A second box on the same bridge, serving on its own address.
  const peer = spawnIsolated('/usr/bin/perl', ['-MIO::Socket::INET', '-e',
    '$| = 1; my $l = IO::Socket::INET->new(LocalAddr => "0.0.0.0", LocalPort => 7000, Listen => 5, ReuseAddr => 1) or die $!; print "ready\\n"; while (my $c = $l->accept) { print $c "peer\\n"; close $c }'],
  { network: { ...network, reach: 'any' }, stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => peer.kill('SIGKILL'));
  await new Promise((resolve) => peer.stdout.once('data', resolve));

  const targets = [[GATEWAY, port], ['127.0.0.1', loopbackPort], [peer.network.address, 7000]];
  if (other) targets.push([other, port]);
  const boxed = await boxClient(targets, network);
  t.equal(boxed.code, 0, boxed.stderr);
  const lines = boxed.stdout.trim().split('\n');
  t.equal(lines[0], `${GATEWAY} host`, 'the host-side server on the bridge address answers');
  t.equal(lines[1], '127.0.0.1 unreachable', 'the host loopback is not the box\'s');
  t.equal(lines[2], `${peer.network.address} unreachable`, 'another box on the bridge is out of reach');
  if (other) t.equal(lines[3], `${other} unreachable`, `the host's other address (${other}) is out of reach`);

  // The same box with reach 'any': what stopped it above is cordon's filter.
  const open = await boxClient(targets, { ...network, reach: 'any' });
  const openLines = open.stdout.trim().split('\n');
  t.equal(openLines[0], `${GATEWAY} host`);
  t.equal(openLines[2], `${peer.network.address} peer`, 'with reach \'any\' the other box answers');
  if (other) t.equal(openLines[3], `${other} host`, 'with reach \'any\' the host routes to its other address');
});

t.test('box.network reports the lease; addresses are distinct and in the subnet', async (t) => {

  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  const boxes = [1, 2, 3].map(() => spawnIsolated('/bin/sh', ['-c', 'readlink /proc/self/ns/net; read x'], {
    network: { bridge: BRIDGE, subnet: SUBNET }, stdio: ['pipe', 'pipe', 'inherit'],
  }));
  const namespaces = await Promise.all(boxes.map((box) => new Promise((resolve) => box.stdout.once('data', (d) => resolve(String(d).trim())))));
  const addresses = boxes.map((box) => box.network.address);
  t.equal(new Set(addresses).size, 3, `three boxes, three addresses: ${addresses.join(' ')}`);
  for (const box of boxes) {
    t.match(box.network, { bridge: BRIDGE, prefix: 24, gateway: GATEWAY, interface: 'eth0', reach: 'gateway' });
    t.match(box.network.address, /^10\.231\.0\.\d+$/);
    t.not(box.network.address, GATEWAY);
    t.ok(linkExists(box.network.hostInterface), `the host end ${box.network.hostInterface} exists while the box runs`);
    t.equal(fs.readFileSync(`/sys/class/net/${box.network.hostInterface}/master/uevent`, 'utf8').match(/INTERFACE=(.*)/)[1], BRIDGE, 'on the bridge');
  }
  t.equal(new Set(namespaces).size, 3, 'each box has its own network namespace');
  for (const box of boxes) box.stdin.end('\n');
  await Promise.all(boxes.map((box) => box.exited));
});

t.test('veths and namespaces are gone after exit; the bridge stays for the next box', async (t) => {

  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  const box = spawnIsolated('/bin/sh', ['-c', 'readlink /proc/self/ns/net; read x'], {
    network: { bridge: BRIDGE, subnet: SUBNET }, stdio: ['pipe', 'pipe', 'inherit'],
  });
  const netns = await new Promise((resolve) => box.stdout.once('data', (d) => resolve(String(d).trim())));
  const hostEnd = box.network.hostInterface;
  t.ok(linkExists(BRIDGE) && linkExists(hostEnd), 'bridge and veth exist while the box runs');
  t.not(netns, fs.readlinkSync('/proc/self/ns/net'), 'the box has its own network namespace');
  t.ok(processesInNetns(netns) >= 1);
  box.stdin.end('\n');
  t.equal((await box.exited).code, 0);
  t.ok(await goneWithin(hostEnd, 500), 'the veth is gone with the namespace');
  t.ok(linkExists(BRIDGE), 'the bridge cordon made stays for later boxes (it goes when the process exits)');
  t.equal(processesInNetns(netns), 0, 'no process is left in the box\'s network namespace');
  const held = fs.readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`) === netns;
    } catch {
      return false;
    }
  });
  t.same(held, [], 'cordon holds no fd to it');
});

t.test('a killed box and a failed spawn leave no veth', async (t) => {

  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  const box = spawnIsolated('/bin/sleep', ['60'], { network: { bridge: BRIDGE, subnet: SUBNET } });
  const hostEnd = box.network.hostInterface;
  t.ok(linkExists(hostEnd));
  box.kill('SIGKILL');
  await box.exited;
  t.ok(await goneWithin(hostEnd, 500), 'killed: the veth is gone');

  const failed = spawnIsolated('/nonexistent/payload', [], { network: { bridge: BRIDGE, subnet: SUBNET } });
  const error = await new Promise((resolve) => failed.once('error', resolve));
  t.equal(error.code, 'ENOENT');
  await failed.exited.catch(() => {});
  t.ok(await goneWithin(failed.network.hostInterface, 500), 'failed spawn: the veth is gone');
});

t.test('an existing bridge is used as it is and kept', async (t) => {

  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  const name = 'cdt-keep';
  execFileSync('ip', ['link', 'add', name, 'type', 'bridge']);
  t.teardown(() => execFileSync('ip', ['link', 'del', name]));
  const noAddress = await new Promise((resolve) => spawnIsolated('/bin/true', [], { network: { bridge: name } }).once('error', resolve));
  t.equal(noAddress.code, 'ERR_CORDON_HOST_UNSUPPORTED');
  t.match(noAddress.message, /has no IPv4 address/);
  execFileSync('ip', ['addr', 'add', '10.232.0.1/24', 'dev', name]);
  execFileSync('ip', ['link', 'set', name, 'up']);

  const result = await run('/bin/sh', ['-c', 'ip -4 -o addr show eth0 2>/dev/null || cat /proc/net/fib_trie | grep -c 10.232'], { network: { bridge: name, address: '10.232.0.77' } });
  t.equal(result.code, 0);
  t.equal(result.box.network.address, '10.232.0.77', 'the address asked for');
  t.equal(result.box.network.gateway, '10.232.0.1', 'the bridge\'s own address is the gateway');
  t.ok(linkExists(name), 'a bridge cordon did not make stays');

  const mismatch = await new Promise((resolve) => spawnIsolated('/bin/true', [], { network: { bridge: name, subnet: '10.233.0.1/24' } }).once('error', resolve));
  t.match(mismatch.message, /has 10\.232\.0\.1\/24, not 10\.233\.0\.1\/24/);
  const outside = await new Promise((resolve) => spawnIsolated('/bin/true', [], { network: { bridge: name, address: '10.9.9.9' } }).once('error', resolve));
  t.match(outside.message, /not a free host address/);
  const gateway = await new Promise((resolve) => spawnIsolated('/bin/true', [], { network: { bridge: name, address: '10.232.0.1' } }).once('error', resolve));
  t.match(gateway.message, /not a free host address/);

  const holder = spawnIsolated('/bin/sleep', ['60'], { network: { bridge: name, address: '10.232.0.50' } });
  t.teardown(() => holder.kill('SIGKILL'));
  const taken = await new Promise((resolve) => spawnIsolated('/bin/true', [], { network: { bridge: name, address: '10.232.0.50' } }).once('error', resolve));
  t.equal(taken.code, 'EADDRINUSE');
  const notBridge = await new Promise((resolve) => spawnIsolated('/bin/true', [], { network: { bridge: 'lo' } }).once('error', resolve));
  t.match(notBridge.message, /lo exists and is not a bridge/);
});

t.test('an unprivileged caller is told bridge networking needs root, before anything is made', async (t) => {
  if (!skipExpected(t, !isRoot, 'root pass (the refusal is for unprivileged callers (runs in the unprivileged pass))')) return;
  // Another supervisor (a root one running beside this suite) may have a
  // cordon0 with its boxes on it: what must not change is whether it exists.
  const before = linkExists('cordon0');
  t.throws(() => spawnIsolated('/bin/true', [], { network: 'bridge' }), {
    code: 'ERR_CORDON_HOST_UNSUPPORTED', message: /bridge networking needs root/,
  });
  if (!before) t.notOk(linkExists('cordon0'), 'no bridge was made');
  else t.pass('cordon0 belongs to another supervisor here; the refusal came before anything was made');
});

t.test('network shorthands: none is a fresh namespace with lo, host is the host\'s', async (t) => {
  const own = fs.readlinkSync('/proc/self/ns/net');
  const none = await run('/bin/sh', ['-c', 'readlink /proc/self/ns/net; cat /sys/class/net/lo/operstate 2>/dev/null; ls /sys/class/net'], { network: 'none' });
  const [link] = none.stdout.trim().split('\n');
  t.not(link, own, "'none': a namespace of its own");
  t.equal(none.box.network, undefined, 'no bridge lease');
  const host = await run('/bin/sh', ['-c', 'readlink /proc/self/ns/net'], { network: 'host' });
  t.equal(host.stdout.trim(), own, "'host': the host's namespace");
  if (!isRoot) return;
  const joined = await run('/bin/sh', ['-c', 'readlink /proc/self/ns/net'], { network: { path: '/proc/self/ns/net' }, namespaces: { user: 'host' }, uid: 65534, gid: 65534 });
  t.equal(joined.stdout.trim(), own, '{ path }: joins that namespace (root, no user namespace)');
});

t.test('a bridge cordon made goes when the process exits, boxes still running or not', async (t) => {

  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  const script = `const { spawnIsolated } = require(${JSON.stringify(require.resolve('../..'))});
    const box = spawnIsolated('/bin/sleep', ['60'], { network: { bridge: 'cdt-exit', subnet: '10.235.0.1/24' } });
    console.log(box.network.hostInterface);
    setTimeout(() => process.exit(0), 100);`;
  t.notOk(linkExists('cdt-exit'));
  const hostEnd = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim();
  t.match(hostEnd, /^cv[0-9a-f]{12}$/);
  t.notOk(linkExists('cdt-exit'), 'the bridge it made is gone');
  t.ok(await goneWithin(hostEnd, 500), 'the veth went with the box');
});

t.test('a bridge deleted behind cordon\'s back is made again for the next box', async (t) => {

  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  const first = await run('/bin/true', [], { network: { bridge: BRIDGE, subnet: SUBNET } });
  t.equal(first.code, 0);
  execFileSync('ip', ['link', 'del', BRIDGE]);
  const second = await run('/bin/true', [], { network: { bridge: BRIDGE, subnet: SUBNET } });
  t.equal(second.code, 0, 'the next box works');
  t.ok(linkExists(BRIDGE), 'on a bridge made again');
});

t.test('a veth whose namespace outlives the box (held elsewhere) is deleted by cordon after a grace period', async (t) => {

  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  const box = spawnIsolated('/bin/sh', ['-c', 'read x'], { network: { bridge: BRIDGE, subnet: SUBNET }, stdio: ['pipe', 'ignore', 'inherit'] });
  const hostEnd = box.network.hostInterface;
  const held = fs.openSync(`/proc/${box.pid}/ns/net`, 'r');
  t.teardown(() => fs.closeSync(held));
  box.stdin.end('\n');
  await box.exited;
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.ok(linkExists(hostEnd), 'the namespace is held, so the kernel keeps the pair');
  t.ok(await goneWithin(hostEnd, 3000), 'cordon deletes the host end after its grace period');
});

t.test('a frontend on the host reaches a server in a gateway-only bridge box at box.network.address', async (t) => {

  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  const box = spawnIsolated('/usr/bin/perl', ['-MIO::Socket::INET', '-e',
    '$| = 1; my $l = IO::Socket::INET->new(LocalAddr => "0.0.0.0", LocalPort => 8080, Listen => 5, ReuseAddr => 1) or die $!; print "ready\\n"; my $c = $l->accept; print $c "backend\\n"; close $c'],
  { network: { bridge: BRIDGE, subnet: SUBNET }, stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => box.kill('SIGKILL'));
  await new Promise((resolve) => box.stdout.once('data', resolve));
  const reply = await new Promise((resolve) => {
    const socket = net.connect({ host: box.network.address, port: 8080 });
    let data = '';
    socket.on('data', (d) => (data += d));
    socket.on('end', () => resolve(data.trim()));
    socket.on('error', (error) => resolve(`error ${error.code}`));
  });
  t.equal(reply, 'backend', 'the replies go to the gateway, which the filter lets through');
  t.equal((await box.exited).code, 0);
});

t.test('a root supervisor\'s bridge box under a host uid, without a user namespace', async (t) => {

  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  const result = await run('/bin/sh', ['-c', 'id -u; ip -4 -o addr show eth0'], {
    network: { bridge: BRIDGE, subnet: SUBNET }, namespaces: { user: 'host' }, uid: 4242, gid: 4242,
  });
  t.equal(result.code, 0, result.stderr);
  const [uid, address] = result.stdout.trim().split('\n');
  t.equal(uid, '4242');
  t.match(address, new RegExp(`eth0\\s+inet ${result.box.network.address.replace(/\./g, '\\.')}/24`));
});

t.test('a failing part of the veth setup is named in the error, and nothing is left', async (t) => {

  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  // The box's namespace has a 'lo' already: making the pair's box end fails.
  const box = spawnIsolated('/bin/true', [], { network: { bridge: BRIDGE, subnet: SUBNET, interface: 'lo' } });
  const error = await new Promise((resolve) => box.once('error', resolve));
  t.equal(error.code, 'EEXIST');
  t.equal(error.step, 'attach veth to bridge: create the veth pair');
  t.equal(error.syscall, 'netlink RTM_NEWLINK');
  t.equal(error.path, box.network.hostInterface);
  t.match(error.message, /netlink RTM_NEWLINK EEXIST: step \d+\/\d+ 'attach veth to bridge: create the veth pair'/);
  await box.exited.catch(() => {});
  t.notOk(linkExists(box.network.hostInterface), 'no host end was left');
});

t.test('a bridge cordon made keeps its MAC as boxes come and go (boxes cache the gateway\'s)', async (t) => {

  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  const first = spawnIsolated('/bin/sleep', ['60'], { network: { bridge: BRIDGE, subnet: SUBNET } });
  t.teardown(() => first.kill('SIGKILL'));
  const mac = () => fs.readFileSync(`/sys/class/net/${BRIDGE}/address`, 'utf8').trim();
  const before = mac();
  t.equal(fs.readFileSync(`/sys/class/net/${BRIDGE}/addr_assign_type`, 'utf8').trim(), '3', 'an address set at creation, not taken from a port');
  for (let i = 0; i < 3; i++) {
    const box = spawnIsolated('/bin/true', [], { network: { bridge: BRIDGE, subnet: SUBNET }, stdio: 'ignore' });
    const hostEnd = box.network.hostInterface;
    await box.exited;
    t.ok(await goneWithin(hostEnd, 500));
    t.equal(mac(), before, `the same MAC after box ${i + 1} left`);
  }
});

t.test('two supervisors share a bridge through a rolling restart: the old one leaves it while the new one\'s boxes are on it', async (t) => {

  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  const { spawn } = require('node:child_process');
  const name = 'cdt-roll';
  const gateway = '10.236.0.1';
  t.teardown(() => {
    if (linkExists(name)) execFileSync('ip', ['link', 'del', name]);
  });
  t.notOk(linkExists(name), 'no bridge before');
  // The old supervisor: makes the bridge, runs a box on it, exits when told.
  const old = spawn(process.execPath, ['-e', `const { spawnIsolated } = require(${JSON.stringify(require.resolve('../..'))});
    const box = spawnIsolated('/bin/sleep', ['60'], { network: { bridge: '${name}', subnet: '${gateway}/24' } });
    console.log(box.network.hostInterface);
    process.stdin.on('data', () => process.exit(0));`], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => old.kill('SIGKILL'));
  const oldEnd = String(await new Promise((resolve) => old.stdout.once('data', resolve))).trim();
  t.match(oldEnd, /^cv[0-9a-f]{12}$/, "the old supervisor's box is up");
  t.equal(fs.readFileSync(`/sys/class/net/${name}/ifalias`, 'utf8').trim(), 'cordon', 'the bridge is marked as made by cordon');

  // The new supervisor (this process) starts a box on the same bridge; the
  // box reaches a server on the gateway before and after the old one leaves.
  const port = await hostServer(t, gateway, 'host');
  const probe = `{ my $s = IO::Socket::INET->new(PeerAddr => "${gateway}", PeerPort => ${port}, Timeout => 2);
    if ($s) { my $l = <$s>; chomp $l; print "$l\\n" } else { print "unreachable $!\\n" } }`;
  // Addresses are leased per process: the new supervisor gives its own, as
  // two processes sharing a bridge should.
  const box = spawnIsolated('/usr/bin/perl', ['-MIO::Socket::INET', '-e', `$| = 1; ${probe} <STDIN>; ${probe}`], {
    network: { bridge: name, address: '10.236.0.20' }, stdio: ['pipe', 'pipe', 'inherit'],
  });
  t.teardown(() => box.kill('SIGKILL'));
  const lines = [];
  let wake;
  box.stdout.on('data', (chunk) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    wake?.();
  });
  const nextLine = async (count) => {
    while (lines.length < count) await new Promise((resolve) => (wake = resolve));
    return lines[count - 1];
  };
  t.equal(await nextLine(1), 'host', 'the new box reaches the gateway');

  old.stdin.write('exit\n');
  const exit = await new Promise((resolve) => old.once('exit', (code, signal) => resolve({ code, signal })));
  t.same(exit, { code: 0, signal: null }, 'the old supervisor exited');
  t.ok(await goneWithin(oldEnd, 2000), "the old supervisor's box and its veth are gone");
  t.ok(linkExists(name), "the bridge stays: the new supervisor's box is on it");
  t.same(fs.readdirSync(`/sys/class/net/${name}/brif`), [box.network.hostInterface], 'with only the new box as its port');
  box.stdin.end('again\n');
  t.equal(await nextLine(2), 'host', 'the new box still reaches the gateway after the restart');
  t.equal((await box.exited).code, 0);
  t.ok(await goneWithin(box.network.hostInterface, 2000), 'the new box left the bridge');

  // The last supervisor to leave removes it, whether it made it or not. (Its
  // subnet is given: with no box on it, nobody holds the bridge's lock, and a
  // supervisor another test starts meanwhile may sweep it; it is made again.)
  const last = execFileSync(process.execPath, ['-e', `const { spawnIsolated } = require(${JSON.stringify(require.resolve('../..'))});
    spawnIsolated('/bin/true', [], { network: { bridge: '${name}', subnet: '${gateway}/24', address: '10.236.0.30' } }).exited.then((r) => console.log(r.code));`], { encoding: 'utf8' }).trim();
  t.equal(last, '0', 'a later supervisor used the bridge');
  t.notOk(linkExists(name), 'and, leaving no port on it, removed it at exit');
});

t.test('a box that outlives its supervisor (dieWithParent: false) keeps the bridge', async (t) => {

  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  const name = 'cdt-outlive';
  t.teardown(() => {
    if (linkExists(name)) execFileSync('ip', ['link', 'del', name]);
    // Its lock file stays while the bridge does (a later sweep finds the bridge by it): it goes with it here.
    const netns = /\[(\d+)\]/.exec(fs.readlinkSync('/proc/self/ns/net'))[1];
    fs.rmSync(`/run/cordon/bridges/${netns}-${name}.lock`, { force: true });
  });
  const output = execFileSync(process.execPath, ['-e', `const { spawnIsolated } = require(${JSON.stringify(require.resolve('../..'))});
    const box = spawnIsolated('/bin/sleep', ['60'], { network: { bridge: '${name}', subnet: '10.237.0.1/24' }, dieWithParent: false, stdio: 'ignore' });
    console.log(box.pid, box.network.hostInterface);
    box.unref?.();
    setTimeout(() => process.exit(0), 100);`], { encoding: 'utf8' }).trim();
  const [pid, hostEnd] = output.split(' ');
  t.teardown(() => {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {}
  });
  t.ok(linkExists(name), 'the bridge stays while that box runs');
  t.ok(linkExists(hostEnd), "with the box's veth on it");
});
