// The sysctl option: parameters of the box's own net and IPC namespaces,
// written in those namespaces; never the host's.
'use strict';
const fs = require('node:fs');
const t = require('tap');
const { spawnIsolated, CordonOptionError } = require('../..');
const { runSh, spawnError } = require('../helpers/payload');

const HOST_FILES = ['/proc/sys/net/ipv4/ping_group_range', '/proc/sys/kernel/shmmax', '/proc/sys/fs/mqueue/msg_max'];

t.test('net.* and IPC parameters are set in the box, and the host keeps its own', async (t) => {
  const before = HOST_FILES.map((file) => fs.readFileSync(file, 'utf8'));
  const sysctl = { 'net.ipv4.ping_group_range': '0 0', 'kernel.shmmax': 65536, 'fs.mqueue.msg_max': '20' };
  for (const init of [true, false]) {
    const result = await runSh(`cat ${HOST_FILES.join(' ')}`, { sysctl, init });
    t.equal(result.code, 0, result.stderr);
    t.same(result.stdout.trim().split('\n').map((line) => line.replace(/\s+/g, ' ')), ['0 0', '65536', '20'], `init: ${init}: the box's values`);
  }
  t.same(HOST_FILES.map((file) => fs.readFileSync(file, 'utf8')), before, 'the host\'s values are unchanged');
});

t.test('a parameter of no box namespace, or of a shared one, is refused by name before anything runs', async (t) => {
  const cases = [
    [{ sysctl: { 'kernel.pid_max': '4096' } }, 'sysctl["kernel.pid_max"]', 'ERR_INVALID_ARG_VALUE'],
    [{ sysctl: { 'vm.overcommit_memory': 1 } }, 'sysctl["vm.overcommit_memory"]', 'ERR_INVALID_ARG_VALUE'],
    [{ sysctl: { 'kernel.hostname': 'x' } }, 'sysctl["kernel.hostname"]', 'ERR_INVALID_ARG_VALUE'],
    // A path out of /proc/sys/net through '..' or '/' is not a name.
    [{ sysctl: { 'net...kernel.core_pattern': '|/tmp/x' } }, 'sysctl["net...kernel.core_pattern"]', 'ERR_INVALID_ARG_VALUE'],
    [{ sysctl: { 'net.ipv4/../../kernel/core_pattern': '|/tmp/x' } }, 'sysctl["net.ipv4/../../kernel/core_pattern"]', 'ERR_INVALID_ARG_VALUE'],
    [{ sysctl: { 'net.ipv4.ping_group_range': '0 0\n1' } }, 'sysctl["net.ipv4.ping_group_range"]', 'ERR_INVALID_ARG_VALUE'],
    [{ sysctl: { 'net.ipv4.ping_group_range': '0 0' }, network: 'host' }, 'sysctl["net.ipv4.ping_group_range"]', 'ERR_CORDON_CONFLICTING_OPTIONS'],
    [{ sysctl: { 'kernel.shmmax': '1' }, namespaces: { ipc: 'host' } }, 'sysctl["kernel.shmmax"]', 'ERR_CORDON_CONFLICTING_OPTIONS'],
    [{ sysctl: 'net.ipv4.ip_forward=1' }, 'sysctl', 'ERR_INVALID_ARG_TYPE'],
  ];
  for (const [options, option, code] of cases) {
    let thrown;
    try {
      spawnIsolated('/bin/true', [], options);
    } catch (error) {
      thrown = error;
    }
    t.type(thrown, CordonOptionError, `${JSON.stringify(options)}: an option error`);
    t.match(thrown, { code, option }, `${JSON.stringify(options)}: ${code} ${option}`);
  }
});

t.test('a parameter this namespace lacks fails at its named step', async (t) => {
  const { error } = await spawnError('/bin/true', [], { sysctl: { 'net.ipv4.no_such_parameter': '1' } });
  t.match(error, { code: 'ENOENT', step: 'set sysctl net.ipv4.no_such_parameter', path: '/proc/sys/net/ipv4/no_such_parameter' });
});

// Writes into one directory are made beneath one directory fd
// (native/child/limits.cc): each still fails as its own step.
t.test('in a run of writes into one directory, each failure is its own step\'s', async (t) => {
  const missing = { step: 'set sysctl net.ipv4.no_such_parameter', path: '/proc/sys/net/ipv4/no_such_parameter' };
  const after = await spawnError('/bin/true', [], { sysctl: { 'net.ipv4.ping_group_range': '0 0', 'net.ipv4.no_such_parameter': '1' } });
  t.match(after.error, { code: 'ENOENT', errno: -2, syscall: 'write', ...missing }, 'the second file missing: the second step');
  const before = await spawnError('/bin/true', [], { sysctl: { 'net.ipv4.no_such_parameter': '1', 'net.ipv4.ping_group_range': '0 0' } });
  t.match(before.error, { code: 'ENOENT', ...missing }, 'the first file missing: the first step');
  const refused = await spawnError('/bin/true', [], { sysctl: { 'net.ipv4.ping_group_range': '0 0', 'net.ipv4.ip_local_port_range': 'not numbers' } });
  t.match(refused.error, { code: 'EINVAL', step: 'set sysctl net.ipv4.ip_local_port_range', path: '/proc/sys/net/ipv4/ip_local_port_range' }, 'a value the kernel refuses: its own step');
  const result = await runSh('cat /proc/sys/net/ipv4/ping_group_range /proc/sys/net/ipv4/ip_local_port_range', {
    sysctl: { 'net.ipv4.ping_group_range': '0 0', 'net.ipv4.ip_local_port_range': '40000 50000' },
  });
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /^0\s+0\n40000\s+50000\n$/, 'both written');
});
