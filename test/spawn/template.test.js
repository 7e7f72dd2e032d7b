// compileBox(): a template's boxes are spawnIsolated()'s boxes. Its plan,
// reused with each box's fds, exec and terminal patched in, decodes to the
// plan spawnIsolated() builds for the same options and runtime; bad options
// throw at compile time with the same CordonOptionError; each box gets its
// own resources (pipes, namespaces, pool entries, cgroups, terminals); it
// works in a worker thread and as an unprivileged caller.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const t = require('tap');

const { spawnIsolated, spawnIsolatedAsync, compileBox, createNamespacePool, probe, CordonOptionError } = require('../..');
const { PlanCache, quickShapeKey, slowShapeKey } = require('../../dist/template.js');
const { planFresh, callerFacts } = require('../../dist/spawn.js');
const { validateOptions } = require('../../dist/validate.js');
const { HEADER_SIZE, STEP_SIZE, NO_STRING } = require('../../dist/internal/plan-abi.js');
const { isRoot, spawnError } = require('../helpers/payload');
const { requireOrSkip, skipExpected } = require('../helpers/skip');
const { removeTree } = require('../helpers/remove-tree');

// ---------------------------------------------------------------------------
// The plan: a template's, decoded, is spawnIsolated()'s.

/** A string at `offset` in the plan's string area (NUL-terminated), and where the next begins. */
function readString(buffer, at) {
  const end = buffer.indexOf(0, at);
  return { text: buffer.toString('utf8', at, end), next: end + 1 };
}

/**
 * The plan's records as the child reads them: op, side, slot, numbers, and
 * each string field resolved (a list as many strings as `shape`'s step has
 * in that field; `shape` is the plan spawnIsolated() built).
 */
function decode(encoded, shape) {
  const buffer = encoded.buffer;
  const count = buffer.readUInt32LE(8);
  const fdCount = buffer.readUInt32LE(12);
  const area = buffer.readUInt32LE(16);
  const areaLength = buffer.readUInt32LE(20);
  const steps = [];
  for (let i = 0; i < count; i++) {
    const at = HEADER_SIZE + i * STEP_SIZE;
    const num = [0, 1, 2, 3].map((k) => buffer.readInt32LE(at + 20 + k * 8) * 2 ** 32 + buffer.readUInt32LE(at + 16 + k * 8));
    const strings = [0, 1, 2, 3].map((k) => {
      const offset = buffer.readUInt32LE(at + 48 + k * 4);
      if (offset === NO_STRING) return null;
      if (offset >= areaLength) return `<offset ${offset} outside the area>`;
      const listLength = shape.steps[i]?.lists?.[k]?.length;
      let cursor = area + offset;
      const texts = [];
      for (let n = 0; n < (listLength ?? 1); n++) {
        const read = readString(buffer, cursor);
        texts.push(read.text);
        cursor = read.next;
      }
      return listLength === undefined ? texts[0] : texts;
    });
    steps.push({ op: buffer.readUInt32LE(at), side: buffer.readUInt32LE(at + 4), slot: buffer.readInt32LE(at + 8), num, strings });
  }
  return { magic: buffer.readUInt32LE(0), version: buffer.readUInt32LE(4), fdCount, steps, fds: [...encoded.fds] };
}

// fds as a box's would be: different numbers for each box.
let nextFd = 100;
const fd = () => nextFd++;

/** A runtime like acquire()'s for `validated`, with fresh fd numbers; `extra` adds what the options need. */
function runtimeFor(validated, extra = {}) {
  const runtime = Object.assign(Object.create(null), {
    stdio: validated.stdio.map((entry) => (entry.kind === 'ignore' ? undefined : fd())),
    namespaces: {},
    idmappedTrees: new Map(),
  });
  if (validated.init) runtime.init = fd();
  for (const [name, setting] of Object.entries(validated.namespaces)) {
    if (setting.kind === 'path') runtime.namespaces[name] = fd();
    if (setting.kind === 'fd') runtime.namespaces[name] = setting.fd;
  }
  if (validated.rootfs.kind === 'host' && validated.namespaces.mount.kind === 'new') {
    runtime.hostView = require('../../dist/host-view.js').gatherHostView();
  }
  return Object.assign(runtime, typeof extra === 'function' ? extra(validated) : extra);
}

const CASES = [
  ['defaults', {}],
  // Each box its own cgroup, so its own paths (named in its steps for errors): one plan for them all.
  ['cgroup (v2 dir fd and v1 procs fds)', {}, () => {
    const name = `box-${nextFd}`;
    return { cgroup: { dirFd: fd(), procs: [{ fd: fd(), hierarchy: 'v2', path: `/sys/fs/cgroup/cordon/${name}/cgroup.procs`, unlessPlaced: true }, { fd: fd(), hierarchy: 'pids', path: `/sys/fs/cgroup/pids/cordon/${name}/cgroup.procs`, unlessPlaced: false }] } };
  }],
  ['cgroup without CLONE_INTO_CGROUP', {}, () => ({ cgroup: { dirFd: -1, procs: [{ fd: fd(), hierarchy: 'v2', path: `/sys/fs/cgroup/cordon/box-${nextFd}/cgroup.procs`, unlessPlaced: false }] } })],
  ['cgroup joined by the child (v1 tasks)', {}, () => {
    const name = `box-${nextFd}`;
    return { cgroup: { dirFd: fd(), procs: [{ fd: fd(), hierarchy: 'v2', path: `/sys/fs/cgroup/unified/cordon/${name}/cgroup.procs`, unlessPlaced: true }, { fd: fd(), hierarchy: 'memory', path: `/sys/fs/cgroup/memory/cordon/${name}/tasks`, unlessPlaced: false, self: true }] } };
  }],
  ['listen (two sockets)', { listen: [{ port: 0, name: 'web' }, { path: '/tmp/x.sock', name: 'admin' }] }, (v) => {
    const stdio = [...v.stdio.map(() => fd()), fd(), fd()];
    return { stdio, listenNames: ['web', 'admin'], blocking: new Set() };
  }],
  ['rootfs layers, upper tmpfs', { rootfs: { layers: ['/usr', '/etc'], upper: 'tmpfs' } }],
  ['rootfs layers with a quota tree and idmapped layers', { rootfs: { layers: ['/usr'], upper: 'tmpfs' } }, () => ({ upperTree: fd(), layerTrees: new Map([[0, fd()]]) })],
  ['netnsPool hit (user+net)', {}, () => ({ pooled: { user: fd(), net: fd() } })],
  ['netnsPool hit (net)', { namespaces: { user: 'host' }, ...(isRoot ? { uid: 1000, gid: 1000 } : {}) }, () => ({ pooled: { net: fd() } })],
  ['tty', { tty: { cols: 80, rows: 24 } }, () => {
    const slave = fd();
    return { stdio: [slave, slave, slave], terminal: { master: fd(), slavePath: `/dev/pts/${nextFd}` } };
  }],
  ['tty without a slave path', { tty: true }, () => {
    const slave = fd();
    return { stdio: [slave, slave, slave], terminal: { master: fd(), slavePath: undefined } };
  }],
  ['idmapped bind', { mounts: [{ type: 'bind', source: '/usr', target: '/mnt/usr' }, { type: 'bind', source: '/etc', target: '/mnt/etc' }] }, () => ({ idmappedTrees: new Map([[1, fd()]]) })],
  ['joined namespace by path, startGate', { namespaces: { uts: { path: '/proc/self/ns/uts' } }, hostname: undefined, startGate: 0 }, (v) => ({ startGate: Math.max(3, v.stdio.length), stdio: [...v.stdio.map(() => fd()), ...Array(Math.max(0, 3 - v.stdio.length)).fill(undefined), fd()] })],
  ['no init, host pid, env, cwd, hostname, seccomp, landlock', { init: false, namespaces: { pid: 'host' }, env: { A: '1', PATH: '/bin' }, cwd: '/tmp', hostname: 'h', landlock: { paths: [{ path: '/usr', access: ['read'] }], mode: 'best-effort' }, seccomp: { deny: ['ptrace'] } }],
  ['rlimits, capabilities, kernel counters, sysctl', { rlimits: { nofile: 64 }, capabilities: ['CAP_NET_BIND_SERVICE'], kernelCounters: { userNamespaces: 10 }, sysctl: { 'net.ipv4.ip_forward': '0' } }],
  ['stdio: ignore, inherit, an fd', { stdio: ['ignore', 'inherit', 2, 'pipe'] }],
];

t.test('a template\'s plan decodes to spawnIsolated()\'s, box after box, with each box\'s fds, exec and terminal', async (t) => {
  for (const [name, options, extra] of CASES) {
    let validated;
    try {
      validated = validateOptions('/bin/true', [], options);
    } catch (error) {
      t.fail(`${name}: the options are refused: ${error.message}`);
      continue;
    }
    const cache = new PlanCache();
    const caller = callerFacts(validated);
    const boxes = [['/bin/true', []], ['/bin/echo', ['a', 'b c']], ['sh', ['-c', 'exit 0']], ['/bin/true', []]];
    const seenFds = new Set();
    for (const [i, [file, args]] of boxes.entries()) {
      const box = Object.assign(Object.create(null), validated, { file, args, argv0: file });
      const runtime = runtimeFor(box, extra);
      const fresh = planFresh(box, runtime, caller);
      const reused = cache.planner(box, runtime, caller);
      t.same(decode(reused.encoded, fresh.plan), decode(fresh.encoded, fresh.plan), `${name}, box ${i + 1} (${file}): the same records, strings and fds`);
      t.same(reused.plan.steps, fresh.plan.steps, `${name}, box ${i + 1}: the same steps for errors and timings`);
      t.same(reused.plan.spawnargs, [file, ...args]);
      t.same(reused.plan.fds, fresh.plan.fds);
      for (const slotFd of reused.encoded.fds) {
        if (slotFd >= 100) t.notOk(seenFds.has(slotFd) && !Object.values(runtime.namespaces).includes(slotFd), `${name}: fd ${slotFd} is this box's, not an earlier one's`);
      }
      for (const slotFd of reused.encoded.fds) seenFds.add(slotFd);
    }
    t.ok(cache.size <= 1, `${name}: one plan kept for one shape`);
  }
});

t.test('the one-pass shape key is the tokenized shape\'s key, with the same fds, or leaves the runtime to it', async (t) => {
  let quick = 0;
  for (const [name, options, extra] of CASES) {
    const validated = validateOptions('/bin/true', [], options);
    const caller = callerFacts(validated);
    for (let box = 0; box < 2; box++) {
      const runtime = runtimeFor(validated, extra);
      const quickFds = [];
      const slowFds = [];
      const key = quickShapeKey(runtime, caller, quickFds);
      const slow = slowShapeKey(runtime, caller, slowFds);
      t.ok(slow !== undefined, `${name}: the template knows every field of the runtime`);
      if (key === undefined) continue;
      quick++;
      t.equal(key, slow, `${name}, box ${box + 1}: the same key`);
      t.same(quickFds, slowFds, `${name}, box ${box + 1}: the same fds, in the same order`);
    }
  }
  t.ok(quick >= 2 * 3, 'the common runtimes (defaults, layers, no init) take the one pass');
  const validated = validateOptions('/bin/true', [], {});
  const caller = callerFacts(validated);
  for (const [what, extra] of [['a joined namespace', { namespaces: { uts: fd() } }], ['an idmapped tree', { idmappedTrees: new Map([[0, fd()]]) }], ['a pool entry', { pooled: { net: fd() } }]]) {
    t.equal(quickShapeKey(runtimeFor(validated, extra), caller, []), undefined, `${what}: left to the tokenized shape`);
  }
});

t.test('a pool hit and a miss are two shapes, each planned once; a bridge box is planned per box', async (t) => {
  const validated = validateOptions('/bin/true', [], {});
  const caller = callerFacts(validated);
  const cache = new PlanCache();
  for (const pooled of [true, false, true, false]) {
    const runtime = runtimeFor(validated, pooled ? () => ({ pooled: { user: fd(), net: fd() } }) : {});
    const fresh = planFresh(validated, runtime, caller);
    const reused = cache.planner(validated, runtime, caller);
    t.same(decode(reused.encoded, fresh.plan), decode(fresh.encoded, fresh.plan), pooled ? 'pool hit' : 'pool miss');
    t.equal(fresh.plan.steps.some((step) => step.op === 'loopbackUp'), !pooled, 'a miss brings lo up itself');
  }
  t.equal(cache.size, 2);
  const bridge = { bridge: 'cordon0', hostName: 'cdn1', boxName: 'eth0', address: 0x0a000002, prefix: 24, gateway: 0x0a000001, gatewayOnly: false, info: {} };
  const runtime = runtimeFor(validated, { bridge });
  const reused = cache.planner(validated, runtime, caller);
  t.same(decode(reused.encoded, reused.plan), decode(planFresh(validated, runtime, caller).encoded, reused.plan));
  t.equal(cache.size, 2, 'the bridge box left no plan behind');
});

t.test('a plan with an fd number inside a step is never reused', async (t) => {
  // An fd that buildPlan would write into a step's numbers instead of a
  // slot (none does today): a runtime field the template turns into a token.
  const validated = validateOptions('/bin/true', [], { startGate: 0 });
  const caller = callerFacts(validated);
  const cache = new PlanCache();
  // startGate is a box fd (a number in a step), not an fd of this process:
  // one equal to a token's value must not be taken for one.
  const runtime = runtimeFor(validated, (v) => ({ startGate: 0x70000000 + 1, stdio: [...v.stdio.map(() => fd())] }));
  const reused = cache.planner(validated, runtime, caller);
  const fresh = planFresh(validated, runtime, caller);
  t.same(decode(reused.encoded, fresh.plan), decode(fresh.encoded, fresh.plan));
  t.equal(cache.size, 1);
  const again = runtimeFor(validated, (v) => ({ startGate: 0x70000000 + 1, stdio: [...v.stdio.map(() => fd())] }));
  t.same(decode(cache.planner(validated, again, caller).encoded, fresh.plan), decode(planFresh(validated, again, caller).encoded, fresh.plan), 'planned afresh: the number was not patched');
});

// ---------------------------------------------------------------------------
// Options: refused at compile time, as spawnIsolated() refuses them.

function thrown(fn) {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

function sameError(t, got, want, what) {
  t.ok(want instanceof CordonOptionError, `${what}: spawnIsolated() throws a CordonOptionError`);
  t.ok(got instanceof CordonOptionError, `${what}: compileBox() throws a CordonOptionError`);
  t.same({ code: got?.code, option: got?.option, message: got?.message }, { code: want?.code, option: want?.option, message: want?.message }, what);
}

const BAD_OPTIONS = [
  ['unknown option', { colour: 'red' }],
  ['uid without a map', { uid: 5 }],
  ['hostname too long', { hostname: 'x'.repeat(65) }],
  ['bad stdio', { stdio: ['ipc'] }],
  ['bad cgroup', { cgroup: { memory: { max: -1 } } }],
  ['cgroupParent without cgroup', { cgroupParent: '/x' }],
  ['bad listen', { listen: [{ port: 'eighty' }] }],
  ['bad rootfs layers', { rootfs: { layers: 'usr' } }],
  ['relative mount target', { mounts: [{ type: 'tmpfs', target: 'tmp' }] }],
  ['netnsPool not a pool', { netnsPool: {} }],
  ['tty with stdio', { tty: true, stdio: 'inherit' }],
  ['bad env', { env: { 'A=B': 'x' } }],
  ['seccomp with new privileges', { seccomp: {}, allowNewPrivileges: true }],
  ['options not an object', 'fast'],
  ['shell', { shell: true }],
  ['bad killSignal', { killSignal: 'SIGNOPE' }],
];

t.test('bad options throw at compile time, the same CordonOptionError as spawnIsolated()', async (t) => {
  for (const [what, options] of BAD_OPTIONS) {
    sameError(t, thrown(() => compileBox(options)), thrown(() => spawnIsolated('/bin/true', [], options)), what);
  }
  const tmpl = compileBox({ stdio: 'ignore' });
  for (const [what, file, args] of [['file not a string', 42, []], ['empty file', '', []], ['args not an array', '/bin/true', 'x'], ['an arg not a string', '/bin/true', [1]], ['NUL in an arg', '/bin/true', ['a\0b']], ['args too long for execve', '/bin/true', ['x'.repeat(200000)]]]) {
    sameError(t, thrown(() => tmpl.spawn(file, args)), thrown(() => spawnIsolated(file, args, { stdio: 'ignore' })), `spawn(): ${what}`);
    const rejected = await tmpl.spawnAsync(file, args).then(() => undefined, (error) => error);
    const rejectedToo = await spawnIsolatedAsync(file, args, { stdio: 'ignore' }).then(() => undefined, (error) => error);
    sameError(t, rejected, rejectedToo, `spawnAsync(): ${what}`);
  }
  for (const [what, overrides, options] of [
    ['bad env override', { env: { '': 'x' } }, { env: { '': 'x' } }],
    ['env value not a string', { env: { A: 1 } }, { env: { A: 1 } }],
    ['bad argv0', { argv0: 5 }, { argv0: 5 }],
    ['bad signal', { signal: 'stop' }, { signal: 'stop' }],
    ['unknown override', { cwd: '/tmp' }, { cwd: '/tmp', colour: 1 }],
  ]) {
    const got = thrown(() => tmpl.spawn('/bin/true', [], overrides));
    t.ok(got instanceof CordonOptionError, `${what}: a CordonOptionError`);
    if (what !== 'unknown override') sameError(t, got, thrown(() => spawnIsolated('/bin/true', [], { stdio: 'ignore', ...options })), what);
  }
});

// ---------------------------------------------------------------------------
// Boxes: the same behaviour, their own resources.

async function output(box) {
  const chunks = [];
  box.stdout.on('data', (chunk) => chunks.push(chunk));
  const result = await box.exited;
  return { ...result, stdout: Buffer.concat(chunks).toString() };
}

const PROBE = 'echo $(readlink /proc/self/ns/net) $(readlink /proc/self/ns/pid) $(hostname) $A; cat /proc/self/cgroup | tail -1; ls /proc/self/fd | tr "\\n" " "; echo';

t.test('a template\'s boxes do what spawnIsolated()\'s do, each in namespaces of its own', async (t) => {
  const options = { stdio: ['pipe', 'pipe', 'inherit'], env: { A: 'template', PATH: '/usr/bin:/bin' } };
  const template = compileBox(options);
  const plain = await output(spawnIsolated('/bin/sh', ['-c', PROBE], options));
  const boxes = [template.spawn('/bin/sh', ['-c', `${PROBE}; read x`]), await template.spawnAsync('/bin/sh', ['-c', `${PROBE}; read x`])];
  const lines = await Promise.all(boxes.map((box) => new Promise((resolve) => {
    let text = '';
    box.stdout.on('data', (chunk) => {
      text += chunk;
      if (text.split('\n').length >= 4) resolve(text.split('\n'));
    });
  })));
  const netns = boxes.map((box) => fs.readlinkSync(`/proc/${box.pid}/ns/net`));
  for (const box of boxes) box.stdin.end('\n');
  const results = await Promise.all(boxes.map((box) => box.exited));
  t.same(results.map((result) => result.code), [0, 0]);
  t.notSame(netns[0], netns[1], 'each box has its own network namespace');
  t.notSame(netns[0], fs.readlinkSync('/proc/self/ns/net'));
  const [plainFirst, , plainFds] = plain.stdout.split('\n');
  for (const [first, , fdsLine] of lines) {
    t.equal(first.split(' ').slice(2).join(' '), plainFirst.split(' ').slice(2).join(' '), 'the same hostname and env as spawnIsolated()');
    t.equal(fdsLine.trim(), plainFds.trim(), 'the same fds in the box');
  }
  t.notSame(boxes[0].stdout, boxes[1].stdout);
  const overridden = await output(template.spawn('/bin/sh', ['-c', 'echo $A $0'], { env: { A: 'override', PATH: '/bin' }, argv0: 'zero' }));
  t.equal(overridden.stdout, 'override zero\n', 'env and argv0 overridden for this box alone');
  const again = await output(template.spawn('/bin/sh', ['-c', 'echo $A']));
  t.equal(again.stdout, 'template\n', 'the next box has the template\'s env again');
});

t.test('a failed spawn fails as spawnIsolated()\'s does, and leaves no fd behind', async (t) => {
  const template = compileBox({ stdio: 'pipe' });
  const before = fs.readdirSync('/proc/self/fd').length;
  const want = (await spawnError('/nonexistent/payload', [], { stdio: 'pipe' })).error;
  const box = template.spawn('/nonexistent/payload');
  const emitted = await new Promise((resolve) => box.once('error', resolve));
  await t.rejects(box.exited);
  t.same({ code: emitted.code, syscall: emitted.syscall, step: emitted.step, path: emitted.path, spawnargs: emitted.spawnargs },
    { code: want.code, syscall: want.syscall, step: want.step, path: want.path, spawnargs: want.spawnargs });
  const rejected = await template.spawnAsync('/nonexistent/payload').then(() => undefined, (error) => error);
  t.equal(rejected?.code, want.code);
  t.equal(fs.readdirSync('/proc/self/fd').length, before, 'every fd of the failed boxes was closed');
  const aborted = new AbortController();
  aborted.abort();
  const abortedBox = template.spawn('/bin/true', [], { signal: aborted.signal });
  await t.rejects(abortedBox.exited, { name: 'AbortError' }, 'a per-box signal aborts that box');
  t.equal((await output(template.spawn('/bin/echo', ['ok']))).stdout, 'ok\n', 'and only that one');
});

t.test('a template with a netnsPool takes one entry per box', async (t) => {
  const pool = createNamespacePool({ kind: 'user+net', size: 2 });
  t.teardown(() => pool.close());
  await pool.ready?.();
  const template = compileBox({ netnsPool: pool, stdio: ['pipe', 'pipe', 'inherit'] });
  const boxes = [template.spawn('/bin/sh', ['-c', 'read x']), template.spawn('/bin/sh', ['-c', 'read x']), template.spawn('/bin/sh', ['-c', 'read x'])];
  const namespaces = boxes.map((box) => `${fs.readlinkSync(`/proc/${box.pid}/ns/net`)} ${fs.readlinkSync(`/proc/${box.pid}/ns/user`)}`);
  for (const box of boxes) box.stdin.end('\n');
  t.same((await Promise.all(boxes.map((box) => box.exited))).map((result) => result.code), [0, 0, 0]);
  t.equal(new Set(namespaces).size, 3, 'three boxes, three network and user namespaces (hits or misses alike)');
  t.ok(pool.stats().taken + pool.stats().misses >= 3, 'each box asked the pool once');
});

t.test('a template with a cgroup gives each box a cgroup of its own', async (t) => {
  const report = probe().cgroup;
  if (!skipExpected(t, isRoot, 'unprivileged pass (this host delegates no cgroup to an unprivileged user)')) return;
  if (!requireOrSkip(t, report.mode !== 'none', 'the host has no cgroups')) return;
  const template = compileBox({ cgroup: { pids: { max: 20 } }, stdio: ['pipe', 'pipe', 'inherit'] });
  const boxes = [template.spawn('/bin/sh', ['-c', 'read x']), await template.spawnAsync('/bin/sh', ['-c', 'read x'])];
  const cgroups = boxes.map((box) => fs.readFileSync(`/proc/${box.pid}/cgroup`, 'utf8'));
  const stats = boxes.map((box) => box.stats());
  for (const box of boxes) box.stdin.end('\n');
  t.same((await Promise.all(boxes.map((box) => box.exited))).map((result) => result.code), [0, 0]);
  t.notSame(cgroups[0], cgroups[1], 'two boxes, two cgroups');
  t.ok(stats.every((entry) => entry !== null), 'each box reads its own cgroup');
});

t.test('a template with tty gives each box its own terminal', async (t) => {
  const template = compileBox({ tty: true, env: { PATH: '/usr/bin:/bin' } });
  const names = [];
  for (let i = 0; i < 2; i++) {
    const box = template.spawn('/bin/sh', ['-c', 'test -t 0 && echo T:$(tty):$((2+1))']);
    let text = '';
    box.stdout.on('data', (chunk) => (text += chunk));
    await box.exited;
    names.push(/T:(\S+):3/.exec(text)?.[1]);
  }
  t.same(names, ['/dev/console', '/dev/console'], 'each box has a terminal at /dev/console');
});

t.test('a template with listen hands each box the sockets', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-template-'));
  t.teardown(() => removeTree(dir));
  fs.chmodSync(dir, 0o755);
  const template = compileBox({ listen: [{ port: 0, name: 'web' }], stdio: ['ignore', 'pipe', 'inherit'] });
  for (let i = 0; i < 2; i++) {
    const result = await output(template.spawn('/bin/sh', ['-c', 'echo $LISTEN_FDS $LISTEN_FDNAMES; ls /proc/self/fd | tr "\\n" " "']));
    t.match(result.stdout, /^1 web\n0 1 2 3 4 /, `box ${i + 1}: its socket at fd 3`);
  }
});

t.test('a template in a worker thread', async (t) => {
  const worker = new Worker(`
    const { parentPort } = require('node:worker_threads');
    const { compileBox } = require(${JSON.stringify(path.join(__dirname, '..', '..'))});
    (async () => {
      const template = compileBox({ stdio: ['ignore', 'pipe', 'inherit'] });
      const out = [];
      for (const word of ['one', 'two']) {
        const box = await template.spawnAsync('/bin/echo', [word]);
        let text = '';
        box.stdout.on('data', (chunk) => (text += chunk));
        await box.exited;
        out.push(text.trim());
      }
      parentPort.postMessage(out);
    })().catch((error) => parentPort.postMessage(String(error.stack)));
  `, { eval: true });
  const message = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  t.same(message, ['one', 'two']);
});

t.test('what a template checked of live objects is checked again per box: a closed pool, a closed stream', async (t) => {
  const pool = createNamespacePool({ kind: 'user+net', size: 1 });
  const pooled = compileBox({ netnsPool: pool, stdio: 'ignore' });
  t.equal((await pooled.spawn('/bin/true').exited).code, 0, 'a box while the pool is open');
  await pool.close();
  sameError(t, thrown(() => pooled.spawn('/bin/true')), thrown(() => spawnIsolated('/bin/true', [], { netnsPool: pool, stdio: 'ignore' })), 'the pool closed since');

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-template-'));
  t.teardown(() => removeTree(dir));
  const stream = fs.createWriteStream(path.join(dir, 'log'));
  await new Promise((resolve) => stream.once('open', resolve));
  const logged = compileBox({ stdio: ['ignore', stream, 'ignore'] });
  t.equal((await logged.spawn('/bin/echo', ['into the stream']).exited).code, 0);
  const options = { stdio: ['ignore', stream, 'ignore'] };
  await new Promise((resolve) => stream.end(resolve));
  await new Promise((resolve) => (stream.closed ? resolve() : stream.once('close', resolve)));
  // The stream's old fd number may name another file by now: never handed on.
  fs.openSync(path.join(dir, 'other'), 'w');
  sameError(t, thrown(() => logged.spawn('/bin/true')), thrown(() => spawnIsolated('/bin/true', [], options)), 'the stream closed since');
  t.equal(fs.readFileSync(path.join(dir, 'log'), 'utf8'), 'into the stream\n');
});

t.test('box.exec() into a template\'s box runs in that box', async (t) => {
  const template = compileBox({ stdio: ['pipe', 'pipe', 'inherit'], hostname: 'tmpl-box' });
  const box = template.spawn('/bin/sh', ['-c', 'read x']);
  await new Promise((resolve) => box.once('spawn', resolve));
  const inner = await output(box.exec('/bin/sh', ['-c', 'hostname; readlink /proc/self/ns/net'], { stdio: ['ignore', 'pipe', 'inherit'] }));
  const [hostname, netns] = inner.stdout.trim().split('\n');
  t.equal(hostname, 'tmpl-box');
  t.equal(netns, fs.readlinkSync(`/proc/${box.pid}/ns/net`), 'in the box\'s network namespace');
  box.stdin.end('\n');
  t.equal((await box.exited).code, 0);
});

t.test('compileBox() reads each option once: a getter cannot tell the template one thing and its boxes another', async (t) => {
  let reads = 0;
  const options = { stdio: ['ignore', 'pipe', 'inherit'] };
  Object.defineProperty(options, 'argv0', {
    enumerable: true,
    get() {
      reads++;
      return reads === 1 ? 'first' : undefined;
    },
  });
  const template = compileBox(options);
  t.equal(reads, 1, 'read once, at compile time');
  const result = await output(template.spawn('/bin/sh', ['-c', 'echo $0']));
  t.equal(result.stdout, 'first\n', 'every box has the argv0 the template was compiled with');
  t.equal(reads, 1);
});
