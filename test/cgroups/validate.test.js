// validateLimits(): one test per bad-input class, each a CordonOptionError
// with the code and the dotted option name, thrown before anything exists.
'use strict';
const fs = require('node:fs');
const t = require('tap');
const { CordonOptionError } = require('../../dist/errors');
const cg = require('../../dist/cgroups');
const { cgroupTree, oursIn } = require('../helpers/cgroup-fixture');

function fdCount() {
  return fs.readdirSync('/proc/self/fd').length;
}

const treeBefore = cgroupTree();

const classes = [
  ['limits not an object', 'fast', 'ERR_INVALID_ARG_TYPE', 'cgroup'],
  ['limits an array', [], 'ERR_INVALID_ARG_TYPE', 'cgroup'],
  ['limits null', null, 'ERR_INVALID_ARG_TYPE', 'cgroup'],
  ['unknown top-level key, with a guess', { memroy: {} }, 'ERR_CORDON_UNKNOWN_OPTION', 'cgroup.memroy', /Did you mean "cgroup\.memory"/],
  ['unknown top-level key, no guess', { zzzzzz: 1 }, 'ERR_CORDON_UNKNOWN_OPTION', 'cgroup.zzzzzz', /^Unknown option "cgroup\.zzzzzz"\.$/],
  ['section not an object', { memory: 5 }, 'ERR_INVALID_ARG_TYPE', 'cgroup.memory'],
  ['unknown nested key', { memory: { mx: 1 } }, 'ERR_CORDON_UNKNOWN_OPTION', 'cgroup.memory.mx', /cgroup\.memory\.max/],
  ['bytes of the wrong type', { memory: { max: '64M' } }, 'ERR_INVALID_ARG_TYPE', 'cgroup.memory.max', /number of bytes or 'max'/],
  ['bytes negative', { memory: { max: -1 } }, 'ERR_INVALID_ARG_VALUE', 'cgroup.memory.max'],
  ['bytes not an integer', { memory: { high: 1.5 } }, 'ERR_INVALID_ARG_VALUE', 'cgroup.memory.high'],
  ['bytes beyond 2^53', { memory: { swapMax: 2 ** 60 } }, 'ERR_INVALID_ARG_VALUE', 'cgroup.memory.swapMax'],
  ['cpu weight out of range (0)', { cpu: { weight: 0 } }, 'ERR_INVALID_ARG_VALUE', 'cgroup.cpu.weight', /from 1 to 10000/],
  ['cpu weight out of range (10001)', { cpu: { weight: 10001 } }, 'ERR_INVALID_ARG_VALUE', 'cgroup.cpu.weight'],
  ['cpu weight "max" (weights have none)', { cpu: { weight: 'max' } }, 'ERR_INVALID_ARG_TYPE', 'cgroup.cpu.weight'],
  ['cpu.max not an object', { cpu: { max: 50000 } }, 'ERR_INVALID_ARG_TYPE', 'cgroup.cpu.max'],
  ['cpu.max without quota', { cpu: { max: { period: 100000 } } }, 'ERR_INVALID_ARG_TYPE', 'cgroup.cpu.max.quota', /required/],
  ['cpu.max quota below 1 ms', { cpu: { max: { quota: 999 } } }, 'ERR_INVALID_ARG_VALUE', 'cgroup.cpu.max.quota'],
  ['cpu.max period above 1 s', { cpu: { max: { quota: 50000, period: 2_000_000 } } }, 'ERR_INVALID_ARG_VALUE', 'cgroup.cpu.max.period'],
  ['cpu.max unknown key', { cpu: { max: { quota: 50000, burst: 1 } } }, 'ERR_CORDON_UNKNOWN_OPTION', 'cgroup.cpu.max.burst'],
  ['pids.max of the wrong type', { pids: { max: '20' } }, 'ERR_INVALID_ARG_TYPE', 'cgroup.pids.max'],
  ['pids.max negative', { pids: { max: -5 } }, 'ERR_INVALID_ARG_VALUE', 'cgroup.pids.max'],
  ['io weight out of range', { io: { weight: 0 } }, 'ERR_INVALID_ARG_VALUE', 'cgroup.io.weight'],
  ['io devices not an array', { io: { devices: { major: 8, minor: 0 } } }, 'ERR_INVALID_ARG_TYPE', 'cgroup.io.devices'],
  ['io device not an object', { io: { devices: ['8:0'] } }, 'ERR_INVALID_ARG_TYPE', 'cgroup.io.devices[0]'],
  ['io device without major', { io: { devices: [{ minor: 0, readBps: 1 }] } }, 'ERR_INVALID_ARG_TYPE', 'cgroup.io.devices[0].major'],
  ['io device major out of range', { io: { devices: [{ major: 4096, minor: 0, readBps: 1 }] } }, 'ERR_INVALID_ARG_VALUE', 'cgroup.io.devices[0].major'],
  ['io device with no limit', { io: { devices: [{ major: 8, minor: 0 }] } }, 'ERR_INVALID_ARG_VALUE', 'cgroup.io.devices[0]', /sets no limit/],
  ['io device limit zero', { io: { devices: [{ major: 8, minor: 0, readBps: 0 }] } }, 'ERR_INVALID_ARG_VALUE', 'cgroup.io.devices[0].readBps'],
  ['io device repeated', { io: { devices: [{ major: 8, minor: 0, readBps: 1 }, { major: 8, minor: 0, writeBps: 1 }] } }, 'ERR_INVALID_ARG_VALUE', 'cgroup.io.devices[1]', /repeats device 8:0/],
  ['io device unknown key', { io: { devices: [{ major: 8, minor: 0, readbps: 1 }] } }, 'ERR_CORDON_UNKNOWN_OPTION', 'cgroup.io.devices[0].readbps', /readBps/],
  ['cpuset cpus not a string', { cpuset: { cpus: [0, 1] } }, 'ERR_INVALID_ARG_TYPE', 'cgroup.cpuset.cpus'],
  ['cpuset cpus malformed', { cpuset: { cpus: '0-' } }, 'ERR_INVALID_ARG_VALUE', 'cgroup.cpuset.cpus'],
  ['cpuset cpus empty', { cpuset: { cpus: '' } }, 'ERR_INVALID_ARG_VALUE', 'cgroup.cpuset.cpus'],
  ['cpuset descending range', { cpuset: { mems: '3-1' } }, 'ERR_INVALID_ARG_VALUE', 'cgroup.cpuset.mems', /descending/],
];

for (const [label, input, code, option, message] of classes) {
  t.test(label, async (t) => {
    const before = fdCount();
    let thrown;
    try {
      cg.validateLimits(input);
    } catch (error) {
      thrown = error;
    }
    t.type(thrown, CordonOptionError, 'a CordonOptionError');
    t.type(thrown, TypeError, 'which is a TypeError');
    t.equal(thrown?.code, code, 'code');
    t.equal(thrown?.option, option, 'names the option');
    if (message) t.match(thrown?.message, message, 'message');
    t.equal(fdCount(), before, 'no fd was opened');
  });
}

t.test('the option prefix is the caller\'s', async (t) => {
  t.throws(() => cg.validateLimits({ pids: { max: -1 } }, 'limits'), { option: 'limits.pids.max' });
});

t.test('valid limits come back normalized, holding only the keys given', async (t) => {
  t.same(cg.validateLimits(undefined), {}, 'undefined: no limits');
  const input = {
    memory: { max: 64 << 20, high: 'max', swapMax: 0 },
    cpu: { weight: 10, max: { quota: 50000 } },
    pids: { max: 'max' },
    io: { weight: 100, devices: [{ major: 254, minor: 0, readBps: 1 << 20, writeIops: 'max' }] },
    cpuset: { cpus: ' 0-1,3 ', mems: '0' },
  };
  t.same(cg.validateLimits(input), { ...input, cpuset: { cpus: '0-1,3', mems: '0' } });
  t.same(cg.controllersFor(cg.validateLimits(input)), ['cpuset', 'cpu', 'io', 'memory', 'pids']);
  t.same(cg.controllersFor(cg.validateLimits({ memory: {}, pids: { max: 3 } })), ['pids'], 'an empty section needs no controller');
});

t.test('cpu weight → v1 cpu.shares: max(2, round(weight * 1024 / 100))', async (t) => {
  t.equal(cg.sharesFromWeight(100), 1024, 'the defaults match');
  t.equal(cg.sharesFromWeight(10), 102);
  t.equal(cg.sharesFromWeight(1), 10);
  t.equal(cg.sharesFromWeight(10000), 102400, 'within v1\'s 2..262144');
  t.ok(Math.abs(cg.sharesFromWeight(100) / cg.sharesFromWeight(10) - 10) < 0.05, 'ratios are kept');
});

t.test('cgroupParent and cgroup names', async (t) => {
  t.throws(() => cg.validateCgroupParent('boxes'), { code: 'ERR_INVALID_ARG_VALUE', option: 'cgroupParent' }, 'relative');
  t.throws(() => cg.validateCgroupParent('/a/../b'), { code: 'ERR_INVALID_ARG_VALUE' }, '..');
  t.throws(() => cg.validateCgroupParent('/a\0'), { code: 'ERR_INVALID_ARG_VALUE' }, 'NUL');
  t.throws(() => cg.validateCgroupParent(3), { code: 'ERR_INVALID_ARG_TYPE' }, 'type');
  t.equal(cg.validateCgroupParent('/boxes/'), '/boxes');
  for (const bad of ['', '.', '..', 'a/b', '.hidden', 'cgroup.procs', 'x'.repeat(300)]) {
    t.throws(() => cg.validateCgroupName(bad), { code: 'ERR_INVALID_ARG_VALUE' }, JSON.stringify(bad.slice(0, 20)));
  }
  t.equal(cg.validateCgroupName('box-1.a_b'), 'box-1.a_b');
});

t.test('nothing was created', async (t) => {
  t.same(oursIn(cgroupTree()), oursIn(treeBefore), 'no cgroup of this process appeared');
  t.same(oursIn(cgroupTree()), [], 'none at all');
});
