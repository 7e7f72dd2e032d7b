// One test per bad-input class: each throws synchronously, names the option,
// and creates nothing (no fd is opened, no process started).
'use strict';
const fs = require('node:fs');
const t = require('tap');
const { skipExpected } = require('../helpers/skip');
const { spawnIsolated, CordonOptionError } = require('../..');

function fdCount() {
  return fs.readdirSync('/proc/self/fd').length;
}

function rejects(t, args, code, option, message) {
  const before = fdCount();
  let thrown;
  try {
    spawnIsolated(...args);
  } catch (error) {
    thrown = error;
  }
  t.type(thrown, CordonOptionError, `${option}: throws a CordonOptionError`);
  t.type(thrown, TypeError, 'which is a TypeError, like Node\'s argument errors');
  t.equal(thrown?.code, code, `${option}: code`);
  t.equal(thrown?.option, option, 'names the option');
  if (message) t.match(thrown?.message, message);
  t.equal(fdCount(), before, 'no fd was opened');
}

const classes = [
  ['unknown option', ['/bin/true', [], { hostName: 'x' }], 'ERR_CORDON_UNKNOWN_OPTION', 'hostName', /Did you mean "hostname"/],
  ['unknown option, no guess', ['/bin/true', [], { zzzzzzzz: 1 }], 'ERR_CORDON_UNKNOWN_OPTION', 'zzzzzzzz', /^Unknown option "zzzzzzzz"\.$/],
  ['unknown nested option', ['/bin/true', [], { namespaces: { nett: 'new' } }], 'ERR_CORDON_UNKNOWN_OPTION', 'namespaces.nett', /namespaces\.net/],
  ['options not an object', ['/bin/true', [], 'fast'], 'ERR_INVALID_ARG_TYPE', 'options'],
  ['file not a string', [42, []], 'ERR_INVALID_ARG_TYPE', 'file'],
  ['empty file', ['', []], 'ERR_INVALID_ARG_VALUE', 'file'],
  ['NUL in file', ['/bin/tr\0ue', []], 'ERR_INVALID_ARG_VALUE', 'file', /null bytes/],
  ['args not an array', ['/bin/true', 'x', {}], 'ERR_INVALID_ARG_TYPE', 'args'],
  ['arg not a string', ['/bin/true', ['a', 3]], 'ERR_INVALID_ARG_TYPE', 'args[1]'],
  ['NUL in an arg', ['/bin/true', ['a\0b']], 'ERR_INVALID_ARG_VALUE', 'args[0]'],
  ['relative cwd', ['/bin/true', [], { cwd: 'tmp' }], 'ERR_INVALID_ARG_VALUE', 'cwd', /absolute path/],
  ['cwd wrong type', ['/bin/true', [], { cwd: 1 }], 'ERR_INVALID_ARG_TYPE', 'cwd'],
  ['NUL in cwd', ['/bin/true', [], { cwd: '/tmp\0' }], 'ERR_INVALID_ARG_VALUE', 'cwd'],
  ['env not an object', ['/bin/true', [], { env: 'PATH=/bin' }], 'ERR_INVALID_ARG_TYPE', 'env'],
  ['env value not a string', ['/bin/true', [], { env: { A: 1 } }], 'ERR_INVALID_ARG_TYPE', 'env.A'],
  ['NUL in env value', ['/bin/true', [], { env: { A: 'b\0' } }], 'ERR_INVALID_ARG_VALUE', 'env.A'],
  ['= in env name', ['/bin/true', [], { env: { 'A=B': 'c' } }], 'ERR_INVALID_ARG_VALUE', 'env.A=B'],
  ['namespace setting wrong', ['/bin/true', [], { namespaces: { net: 'none' } }], 'ERR_INVALID_ARG_TYPE', 'namespaces.net'],
  ['relative namespace path', ['/bin/true', [], { namespaces: { net: { path: 'ns/net' } } }], 'ERR_INVALID_ARG_VALUE', 'namespaces.net.path'],
  ['negative namespace fd', ['/bin/true', [], { namespaces: { net: { fd: -1 } } }], 'ERR_INVALID_ARG_VALUE', 'namespaces.net.fd'],
  ['extra key in a namespace', ['/bin/true', [], { namespaces: { net: { path: '/x', fd: 3 } } }], 'ERR_CORDON_UNKNOWN_OPTION', 'namespaces.net.fd'],
  ['id map not an array', ['/bin/true', [], { uidMap: { inside: 0 } }], 'ERR_INVALID_ARG_TYPE', 'uidMap'],
  ['id map entry incomplete', ['/bin/true', [], { uidMap: [{ inside: 0, outside: 1000 }] }], 'ERR_INVALID_ARG_TYPE', 'uidMap[0].count'],
  ['id map count zero', ['/bin/true', [], { uidMap: [{ inside: 0, outside: 1000, count: 0 }] }], 'ERR_INVALID_ARG_VALUE', 'uidMap[0].count'],
  ['id map overlapping', ['/bin/true', [], { gidMap: [{ inside: 0, outside: 1000, count: 10 }, { inside: 5, outside: 2000, count: 1 }] }], 'ERR_INVALID_ARG_VALUE', 'gidMap', /overlapping/],
  ['uid not mapped', ['/bin/true', [], { uid: 5, uidMap: [{ inside: 0, outside: 1000, count: 1 }] }], 'ERR_CORDON_CONFLICTING_OPTIONS', 'uid'],
  ['uid without a map', ['/bin/true', [], { uid: 5 }], 'ERR_CORDON_CONFLICTING_OPTIONS', 'uid'],
  ['uid not an integer', ['/bin/true', [], { uid: 1.5 }], 'ERR_INVALID_ARG_VALUE', 'uid'],
  ['map without a new user namespace', ['/bin/true', [], { namespaces: { user: 'host' }, allowHostCredentials: true, uidMap: [{ inside: 0, outside: 0, count: 1 }] }], 'ERR_CORDON_CONFLICTING_OPTIONS', 'uidMap'],
  ['hostname too long', ['/bin/true', [], { hostname: 'x'.repeat(65) }], 'ERR_INVALID_ARG_VALUE', 'hostname'],
  ['hostname without a uts namespace', ['/bin/true', [], { namespaces: { uts: 'host' }, hostname: 'a' }], 'ERR_CORDON_CONFLICTING_OPTIONS', 'hostname'],
  ['network wrong type', ['/bin/true', [], { network: 5 }], 'ERR_INVALID_ARG_TYPE', 'network'],
  ['network unknown kind', ['/bin/true', [], { network: 'nat' }], 'ERR_INVALID_ARG_TYPE', 'network', /'bridge'/],
  ['network unknown key', ['/bin/true', [], { network: { bridge: 'br0', mtu: 1400 } }], 'ERR_CORDON_UNKNOWN_OPTION', 'network.mtu'],
  ['network relative join path', ['/bin/true', [], { network: { path: 'run/netns/x' } }], 'ERR_INVALID_ARG_VALUE', 'network.path'],
  ['bridge name too long', ['/bin/true', [], { network: { bridge: 'a-very-long-bridge-name' } }], 'ERR_INVALID_ARG_VALUE', 'network.bridge', /interface name/],
  ['bridge subnet without a prefix', ['/bin/true', [], { network: { subnet: '10.1.2.1' } }], 'ERR_INVALID_ARG_VALUE', 'network.subnet', /prefix/],
  ['bridge subnet is a network address', ['/bin/true', [], { network: { subnet: '10.1.2.0/24' } }], 'ERR_INVALID_ARG_VALUE', 'network.subnet', /host address/],
  ['bridge address not IPv4', ['/bin/true', [], { network: { address: 'fd00::5' } }], 'ERR_INVALID_ARG_VALUE', 'network.address', /IPv4/],
  ['bridge reach unknown', ['/bin/true', [], { network: { reach: 'everything' } }], 'ERR_INVALID_ARG_VALUE', 'network.reach'],
  ['network and namespaces.net', ['/bin/true', [], { network: 'none', namespaces: { net: 'new' } }], 'ERR_CORDON_CONFLICTING_OPTIONS', 'network'],
  ['bridge in a joined user namespace', ['/bin/true', [], { network: 'bridge', namespaces: { user: { path: '/proc/1/ns/user' }, pid: 'host' } }], 'ERR_CORDON_CONFLICTING_OPTIONS', 'network'],
  ['init without a pid namespace', ['/bin/true', [], { namespaces: { pid: 'host' }, init: true }], 'ERR_CORDON_CONFLICTING_OPTIONS', 'init'],
  ['no init in a joined pid namespace', ['/bin/true', [], { namespaces: { pid: { path: '/proc/1/ns/pid' } }, init: false }], 'ERR_CORDON_CONFLICTING_OPTIONS', 'init'],
  ['new time namespace in a joined user namespace, no init, no new pid namespace', ['/bin/true', [], { namespaces: { user: { path: '/proc/1/ns/user' }, pid: 'host', time: 'new' }, init: false }], 'ERR_CORDON_CONFLICTING_OPTIONS', 'namespaces.time'],
  ['init not a boolean', ['/bin/true', [], { init: 'yes' }], 'ERR_INVALID_ARG_TYPE', 'init'],
  ['stdio wrong', ['/bin/true', [], { stdio: 'pipes' }], 'ERR_INVALID_ARG_TYPE', 'stdio'],
  ['stdio entry wrong', ['/bin/true', [], { stdio: ['pipe', 'bogus'] }], 'ERR_INVALID_ARG_TYPE', 'stdio[1]'],
  ['stdio ipc', ['/bin/true', [], { stdio: ['pipe', 'pipe', 'pipe', 'ipc'] }], 'ERR_INVALID_ARG_VALUE', 'stdio[3]'],
  ['stdio negative fd', ['/bin/true', [], { stdio: [-1] }], 'ERR_INVALID_ARG_VALUE', 'stdio[0]'],
  ['stream without an fd', ['/bin/true', [], { stdio: [new (require('node:stream').PassThrough)()] }], 'ERR_INVALID_ARG_VALUE', 'stdio[0]'],
  ['timeout negative', ['/bin/true', [], { timeout: -1 }], 'ERR_INVALID_ARG_VALUE', 'timeout'],
  ['timeout wrong type', ['/bin/true', [], { timeout: '5s' }], 'ERR_INVALID_ARG_TYPE', 'timeout'],
  ['unknown kill signal', ['/bin/true', [], { killSignal: 'SIGNOPE' }], 'ERR_INVALID_ARG_VALUE', 'killSignal'],
  ['signal not an AbortSignal', ['/bin/true', [], { signal: {} }], 'ERR_INVALID_ARG_TYPE', 'signal'],
  ['dieWithParent not a boolean', ['/bin/true', [], { dieWithParent: 1 }], 'ERR_INVALID_ARG_TYPE', 'dieWithParent'],
  ['argv0 wrong type', ['/bin/true', [], { argv0: null }], 'ERR_INVALID_ARG_TYPE', 'argv0'],
  ['rootfs wrong', ['/bin/true', [], { rootfs: 'none' }], 'ERR_INVALID_ARG_TYPE', 'rootfs'],
  ['relative rootfs dir', ['/bin/true', [], { rootfs: { dir: 'img' } }], 'ERR_INVALID_ARG_VALUE', 'rootfs.dir'],
  ['unknown rootfs key', ['/bin/true', [], { rootfs: { dir: '/img', readonly: true } }], 'ERR_CORDON_UNKNOWN_OPTION', 'rootfs.readonly'],
  ['empty layers', ['/bin/true', [], { rootfs: { layers: [], upper: 'tmpfs' } }], 'ERR_INVALID_ARG_TYPE', 'rootfs.layers'],
  ['layer with a colon', ['/bin/true', [], { rootfs: { layers: ['/a:b'], upper: 'tmpfs' } }], 'ERR_INVALID_ARG_VALUE', 'rootfs.layers[0]', /overlayfs separators/],
  ['upper missing', ['/bin/true', [], { rootfs: { layers: ['/a'] } }], 'ERR_INVALID_ARG_TYPE', 'rootfs.upper'],
  ['upper inside a layer', ['/bin/true', [], { rootfs: { layers: ['/srv/t'], upper: { dir: '/srv/t/up' } } }], 'ERR_CORDON_CONFLICTING_OPTIONS', 'rootfs.upper.dir'],
  ['upperSize for a dir upper', ['/bin/true', [], { rootfs: { layers: ['/a'], upper: { dir: '/b' }, upperSize: 4096 } }], 'ERR_CORDON_CONFLICTING_OPTIONS', 'rootfs.upperSize'],
  ['upperSize too small', ['/bin/true', [], { rootfs: { layers: ['/a'], upper: 'tmpfs', upperSize: 10 } }], 'ERR_INVALID_ARG_VALUE', 'rootfs.upperSize'],
  ['rootfs without a mount namespace', ['/bin/true', [], { namespaces: { mount: 'host' }, rootfs: { dir: '/img' } }], 'ERR_CORDON_CONFLICTING_OPTIONS', 'rootfs'],
  ['mounts without a mount namespace', ['/bin/true', [], { namespaces: { mount: 'host' }, mounts: [{ type: 'tmpfs', target: '/tmp/x' }] }], 'ERR_CORDON_CONFLICTING_OPTIONS', 'mounts'],
  ['mounts not an array', ['/bin/true', [], { mounts: { type: 'tmpfs' } }], 'ERR_INVALID_ARG_TYPE', 'mounts'],
  ['mount type unknown', ['/bin/true', [], { mounts: [{ type: 'nfs', target: '/x' }] }], 'ERR_INVALID_ARG_VALUE', 'mounts[0].type'],
  ['mount key unknown', ['/bin/true', [], { mounts: [{ type: 'bind', source: '/a', target: '/b', ro: true }] }], 'ERR_CORDON_UNKNOWN_OPTION', 'mounts[0].ro'],
  ['relative mount target', ['/bin/true', [], { mounts: [{ type: 'tmpfs', target: 'tmp' }] }], 'ERR_INVALID_ARG_VALUE', 'mounts[0].target'],
  ['relative bind source', ['/bin/true', [], { mounts: [{ type: 'bind', source: 'src', target: '/b' }] }], 'ERR_INVALID_ARG_VALUE', 'mounts[0].source'],
  ['followSymlinks not a boolean', ['/bin/true', [], { mounts: [{ type: 'bind', source: '/a', target: '/b', followSymlinks: 'yes' }] }], 'ERR_INVALID_ARG_TYPE', 'mounts[0].followSymlinks'],
  ['NUL in a target', ['/bin/true', [], { mounts: [{ type: 'tmpfs', target: '/x\0' }] }], 'ERR_INVALID_ARG_VALUE', 'mounts[0].target'],
  ['mount over the root', ['/bin/true', [], { mounts: [{ type: 'tmpfs', target: '/' }] }], 'ERR_INVALID_ARG_VALUE', 'mounts[0].target'],
  ['tmpfs mode out of range', ['/bin/true', [], { mounts: [{ type: 'tmpfs', target: '/t', mode: 0o10000 }] }], 'ERR_INVALID_ARG_VALUE', 'mounts[0].mode'],
  ['hidepid unknown', ['/bin/true', [], { mounts: [{ type: 'proc', target: '/p', hidepid: 2 }] }], 'ERR_INVALID_ARG_VALUE', 'mounts[0].hidepid'],
  ['file content not a string', ['/bin/true', [], { mounts: [{ type: 'file', target: '/f', content: Buffer.from('x') }] }], 'ERR_INVALID_ARG_TYPE', 'mounts[0].content'],
  ['sysfs without a net namespace', ['/bin/true', [], { namespaces: { net: 'host' }, mounts: [{ type: 'sysfs', target: '/sys' }] }], 'ERR_CORDON_CONFLICTING_OPTIONS', 'mounts[0]'],
  ['groups not an array', ['/bin/true', [], { groups: 5 }], 'ERR_INVALID_ARG_TYPE', 'groups'],
  ['group out of range', ['/bin/true', [], { groups: [-1] }], 'ERR_INVALID_ARG_VALUE', 'groups[0]'],
  ['unknown capability', ['/bin/true', [], { capabilities: ['CAP_FLY'] }], 'ERR_INVALID_ARG_VALUE', 'capabilities[0]'],
  ['capability not a string', ['/bin/true', [], { capabilities: [10] }], 'ERR_INVALID_ARG_TYPE', 'capabilities[0]'],
  ['unknown rlimit', ['/bin/true', [], { rlimits: { files: 10 } }], 'ERR_CORDON_UNKNOWN_OPTION', 'rlimits.files'],
  ['negative rlimit', ['/bin/true', [], { rlimits: { nofile: -1 } }], 'ERR_INVALID_ARG_VALUE', 'rlimits.nofile'],
  ['soft above hard', ['/bin/true', [], { rlimits: { nofile: { soft: 10, hard: 5 } } }], 'ERR_CORDON_CONFLICTING_OPTIONS', 'rlimits.nofile'],
  ['umask out of range', ['/bin/true', [], { umask: 0o1000 }], 'ERR_INVALID_ARG_VALUE', 'umask'],
  ['nice out of range', ['/bin/true', [], { nice: 20 }], 'ERR_INVALID_ARG_VALUE', 'nice'],
  ['oomScoreAdj out of range', ['/bin/true', [], { oomScoreAdj: 1001 }], 'ERR_INVALID_ARG_VALUE', 'oomScoreAdj'],
  ['allowNewPrivileges not a boolean', ['/bin/true', [], { allowNewPrivileges: 'yes' }], 'ERR_INVALID_ARG_TYPE', 'allowNewPrivileges'],
  ['landlock empty', ['/bin/true', [], { landlock: {} }], 'ERR_CORDON_CONFLICTING_OPTIONS', 'landlock'],
  ['landlock unknown access', ['/bin/true', [], { landlock: { paths: [{ path: '/', access: ['fly'] }] } }], 'ERR_INVALID_ARG_VALUE', 'landlock.paths[0].access[0]'],
  ['landlock relative path', ['/bin/true', [], { landlock: { paths: [{ path: 'usr', access: ['read'] }] } }], 'ERR_INVALID_ARG_VALUE', 'landlock.paths[0].path'],
  ['landlock bad port', ['/bin/true', [], { landlock: { connectTcp: [70000] } }], 'ERR_INVALID_ARG_VALUE', 'landlock.connectTcp[0]'],
  ['landlock bad mode', ['/bin/true', [], { landlock: { scopes: ['signal'], mode: 'strict' } }], 'ERR_INVALID_ARG_VALUE', 'landlock.mode'],
  ['landlock unknown scope', ['/bin/true', [], { landlock: { scopes: ['ptrace'] } }], 'ERR_INVALID_ARG_VALUE', 'landlock.scopes[0]'],
  ['cgroup limit unknown', ['/bin/true', [], { cgroup: { memory: { maxx: 1 } } }], 'ERR_CORDON_UNKNOWN_OPTION', 'cgroup.memory.maxx'],
  ['seccomp unknown syscall', ['/bin/true', [], { seccomp: { deny: ['not_a_syscall'] } }], 'ERR_INVALID_ARG_VALUE', 'seccomp.deny[0]'],
  ['seccomp with allowNewPrivileges', ['/bin/true', [], { seccomp: {}, allowNewPrivileges: true }], 'ERR_CORDON_CONFLICTING_OPTIONS', 'seccomp'],
  ['listen not an array', ['/bin/true', [], { listen: { port: 80 } }], 'ERR_INVALID_ARG_TYPE', 'listen'],
  ['listen bad port', ['/bin/true', [], { listen: [{ port: 70000 }] }], 'ERR_INVALID_ARG_VALUE', 'listen[0].port'],
  ['listen bad host', ['/bin/true', [], { listen: [{ port: 80, host: 'localhost' }] }], 'ERR_INVALID_ARG_VALUE', 'listen[0].host'],
  ['listen relative path', ['/bin/true', [], { listen: [{ path: 'app.sock' }] }], 'ERR_INVALID_ARG_VALUE', 'listen[0].path'],
  ['listen name with a colon', ['/bin/true', [], { listen: [{ port: 0, name: 'a:b' }] }], 'ERR_INVALID_ARG_VALUE', 'listen[0].name'],
  ['listen with extra stdio fds', ['/bin/true', [], { listen: [{ port: 0 }], stdio: ['pipe', 'pipe', 'pipe', 'pipe'] }], 'ERR_CORDON_CONFLICTING_OPTIONS', 'listen'],
  ['listen a server not listening', ['/bin/true', [], { listen: [require('node:net').createServer()] }], 'ERR_INVALID_ARG_VALUE', 'listen[0]'],
  ['cgroupParent without cgroup', ['/bin/true', [], { cgroupParent: '/sys/fs/cgroup/x' }], 'ERR_CORDON_CONFLICTING_OPTIONS', 'cgroupParent'],
];

for (const [name, args, code, option, message] of classes) {
  t.test(name, async (t) => rejects(t, args, code, option, message));
}

t.test('an unprivileged box cannot set groups', async (t) => {
  if (!skipExpected(t, process.geteuid() !== 0, 'root pass (root may)')) return;
  rejects(t, ['/bin/true', [], { groups: [0] }], 'ERR_CORDON_CONFLICTING_OPTIONS', 'groups', /denies setgroups/);
});

t.test('root without a user namespace needs allowHostCredentials', async (t) => {
  if (!skipExpected(t, process.geteuid() === 0, 'unprivileged pass (only a root caller would run as real root)')) return;
  rejects(t, ['/bin/true', [], { namespaces: { user: 'host' } }], 'ERR_INVALID_ARG_VALUE', 'namespaces.user', /real root/);
});

t.test('options may be omitted and args may be skipped', async (t) => {
  const { spawnIsolated } = require('../..');
  const withOptions = spawnIsolated('/bin/true', { stdio: 'ignore' });
  t.equal((await withOptions.exited).code, 0);
  const bare = spawnIsolated('/bin/true');
  bare.stdout.resume();
  bare.stderr.resume();
  t.equal((await bare.exited).code, 0);
});
