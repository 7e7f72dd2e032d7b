// The plan format is written once (native/plan_abi.h) and mirrored in
// lib/internal/plan-abi.ts. Both the header text and the compiled addon must
// agree with the TypeScript copy, so a stale prebuild fails loudly.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const t = require('tap');
const abi = require('../../dist/internal/plan-abi');
const { native } = require('../../dist/internal/native');

const header = fs.readFileSync(path.join(__dirname, '..', '..', 'native', 'plan_abi.h'), 'utf8');

// The rows of the op table: X(number, Name, jsName, side, ...).
function headerOps() {
  const ops = {};
  for (const [, value, name, js] of header.matchAll(/^\s*X\((\d+), (\w+), (\w+), k(?:Parent|Child),/gm)) {
    if (js !== name[0].toLowerCase() + name.slice(1)) throw new Error(`op ${name}: TypeScript name ${js} is not its camelCase`);
    ops[js] = Number(value);
  }
  return ops;
}

function headerConstant(name) {
  const match = header.match(new RegExp(`constexpr uint32_t ${name} = (0x[0-9a-f]+|\\d+)`));
  return Number(match[1]);
}

t.test('opcodes: header, addon and TypeScript agree', async (t) => {
  const fromHeader = headerOps();
  t.ok(Object.keys(fromHeader).length >= 20, 'the header lists the opcodes');
  t.same(abi.Op, fromHeader, 'TypeScript mirrors the header');
  t.same({ ...native().ops }, fromHeader, 'the compiled addon exports the same numbers');
});

t.test("the init's own failure parts: header and TypeScript agree", async (t) => {
  const body = header.match(/#define CORDON_INIT_PART\(X\)([\s\S]*?)\n\n/)[1];
  const values = [...body.matchAll(/X\(\w+, (-\d+),/g)].map((match) => Number(match[1])).sort((a, b) => a - b);
  t.ok(values.length >= 6, 'the header lists the parts');
  t.same(Object.keys(abi.InitPart).map(Number).sort((a, b) => a - b), values, 'each has a step name in TypeScript');
});

t.test('versions, limits and sizes agree', async (t) => {
  t.equal(abi.PLAN_MAGIC, headerConstant('kPlanMagic'));
  t.equal(abi.PLAN_ABI_VERSION, headerConstant('kPlanAbiVersion'));
  t.equal(abi.MAX_STEPS, headerConstant('kMaxSteps'));
  t.equal(abi.MAX_FD_SLOTS, headerConstant('kMaxFdSlots'));
  t.equal(abi.MAX_INSTALLED_FDS, headerConstant('kMaxInstalledFds'));
  t.equal(abi.NO_STRING, headerConstant('kNoString'));
  const layout = native().layout;
  t.equal(native().abiVersion, abi.PLAN_ABI_VERSION);
  t.equal(layout.magic, abi.PLAN_MAGIC);
  t.equal(layout.headerSize, abi.HEADER_SIZE);
  t.equal(layout.stepSize, abi.STEP_SIZE);
  t.equal(layout.statusRecordSize, abi.STATUS_RECORD_SIZE);
  t.equal(layout.exitRecordSize, abi.EXIT_RECORD_SIZE);
  t.equal(layout.maxSteps, abi.MAX_STEPS);
  t.equal(layout.maxFdSlots, abi.MAX_FD_SLOTS);
  t.equal(layout.maxInstalledFds, abi.MAX_INSTALLED_FDS);
  t.equal(layout.sideParent, abi.Side.parent);
  t.equal(layout.sideChild, abi.Side.child);
});

t.test('a stale addon is refused with a clear error', async (t) => {
  const { native: load, setNativeBinding } = require('../../dist/internal/native');
  // The loader checks the version of what it loads; simulate a stale one.
  const Module = require('node:module');
  const original = Module.prototype.require;
  Module.prototype.require = function (id) {
    if (id === 'node-gyp-build') return () => ({ ...native(), abiVersion: abi.PLAN_ABI_VERSION + 1 });
    return original.apply(this, arguments);
  };
  t.teardown(() => {
    Module.prototype.require = original;
  });
  delete require.cache[require.resolve('../../dist/internal/native')];
  const fresh = require('../../dist/internal/native');
  t.throws(() => fresh.native(), { code: 'ERR_CORDON_NATIVE_MISMATCH', message: /stale/ });
  delete require.cache[require.resolve('../../dist/internal/native')];
  t.type(load, 'function');
  t.type(setNativeBinding, 'function');
});

t.test('the addon rejects a malformed plan as a bug, not a runtime failure', async (t) => {
  const binding = native();
  t.throws(() => binding.spawn(Buffer.alloc(8), new Int32Array(0)), /malformed plan/);
  const bad = Buffer.alloc(abi.HEADER_SIZE + 1);
  bad.writeUInt32LE(abi.PLAN_MAGIC, 0);
  bad.writeUInt32LE(abi.PLAN_ABI_VERSION + 7, 4);
  t.throws(() => binding.spawn(bad, new Int32Array(0)), /ABI version/);
});

t.test('encodePlan lays out what the decoder expects', async (t) => {
  const { encodePlan } = require('../../dist/internal/encode');
  const plan = {
    steps: [
      { op: 'clone', name: 'clone', syscall: 'clone3', kind: 'clone', num: [0, 0] },
      { op: 'chdir', name: 'chdir', syscall: 'chdir', kind: 'chdir', str: ['/tmp'] },
      { op: 'installFd', name: 'install fd 0', syscall: 'dup3', kind: 'fd', slot: 0, num: [0] },
      { op: 'exec', name: 'execve', syscall: 'spawn x', kind: 'exec', num: [2, 0, 1], lists: [['a', 'b'], [], ['/bin/x']] },
    ],
    fds: [7],
    spawnargs: [],
    usesInit: false,
  };
  const { buffer, fds } = encodePlan(plan);
  t.equal(buffer.readUInt32LE(0), abi.PLAN_MAGIC);
  t.equal(buffer.readUInt32LE(8), 4, 'step count');
  t.equal(buffer.readUInt32LE(12), 1, 'fd slots');
  t.equal(buffer.readUInt32LE(16), abi.HEADER_SIZE + 4 * abi.STEP_SIZE, 'strings follow the steps');
  t.equal(buffer.length, buffer.readUInt32LE(16) + buffer.readUInt32LE(20));
  const chdirAt = abi.HEADER_SIZE + abi.STEP_SIZE;
  t.equal(buffer.readUInt32LE(chdirAt), abi.Op.chdir);
  t.equal(buffer.readUInt32LE(chdirAt + 4), abi.Side.child);
  t.equal(buffer.readInt32LE(chdirAt + 8), -1, 'no fd slot');
  const offset = buffer.readUInt32LE(chdirAt + 48);
  const strings = buffer.subarray(buffer.readUInt32LE(16));
  t.equal(strings.toString('utf8', offset, strings.indexOf(0, offset)), '/tmp');
  t.equal(buffer.readUInt32LE(chdirAt + 52), abi.NO_STRING);
  t.same([...fds], [7]);
  t.equal(buffer.at(-1), 0, 'NUL-terminated');
});

t.test('types/native.d.ts declares exactly what the addon exports', async (t) => {
  const declaration = fs.readFileSync(path.join(__dirname, '..', '..', 'types', 'native.d.ts'), 'utf8');
  const body = declaration.match(/export interface NativeBinding \{([\s\S]*?)\n\}/)[1];
  const declared = [...body.matchAll(/^\s{2}(\w+)[(:]/gm)].map((m) => m[1]).sort();
  t.same(Object.keys(native()).sort(), declared);
  const watchBody = declaration.match(/export interface NativeExitWatch \{([\s\S]*?)\n\}/)[1];
  const watchMethods = [...watchBody.matchAll(/^\s{2}(\w+)\(/gm)].map((m) => m[1]).sort();
  t.same(Object.getOwnPropertyNames(native().ExitWatch.prototype).filter((n) => n !== 'constructor').sort(), watchMethods);
});
