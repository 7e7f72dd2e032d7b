// What a supervisor leaves on the host when it does not end the ordinary
// way (SIGKILL, process.exit() with boxes running) and what boxes that
// outlive it (dieWithParent: false) leave when they end: the next
// supervisor sweeps it, adopts the boxes that still run, and cleanup()
// removes the rest. Each test compares the host before and after: box
// cgroups of the supervisor in every hierarchy, socket files and the
// directories cordon made for them, state records, and (root) a bridge.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');

const { startSupervisor } = require('../helpers/supervisor');
const { isRoot } = require('../helpers/payload');
const { waitDead } = require('../helpers/procfs');
const { skipExpected } = require('../helpers/skip');
const { cgroupMounts } = require('../helpers/cgroup-fixture');
const { removeTree } = require('../helpers/remove-tree');
const { boxCgroupsOf, recordsIn, exists } = require('../helpers/host-snapshot');
const { probe } = require('../../dist');

// Each case starts two or three node processes: slow in the TCG VM of `npm run test:cgroup2`.
t.setTimeout(600_000);

const bridgeUsable = (() => {
  try {
    return probe().network.bridge.available;
  } catch {
    return false;
  }
})();

const cgroupsUsable = (() => {
  try {
    return probe().cgroup.writableControllers.includes('pids');
  } catch {
    return false;
  }
})();

function tempDir(t, label) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cordon-leftovers-${label}-`));
  t.teardown(() => removeTree(dir));
  return dir;
}

const sleeper = { file: '/bin/sleep', args: ['1000'] };

// The box cgroups of this file live under a parent of its own (in every
// hierarchy), so that the sweeps it triggers look at nothing but its own.
const { testCgroupName } = require('../helpers/cgroup-fixture');
let cgroupParent;
if (cgroupsUsable && isRoot) {
  const { name } = testCgroupName(t, 'leftovers');
  for (const mount of cgroupMounts()) {
    try {
      fs.mkdirSync(path.join(mount, name));
    } catch {
      // a named v1 hierarchy that refuses it: not one cordon uses
    }
  }
  cgroupParent = `/${name}`;
}
const parentOption = cgroupParent === undefined ? {} : { cgroupParent };

/** Spawn options for a box with what a supervisor can leave behind: a cgroup (where usable) and a listening socket in a directory cordon makes. */
function leavingOptions(socketPath, extra = {}) {
  return { ...(cgroupsUsable ? { cgroup: { pids: { max: 64 } }, ...parentOption } : {}), listen: [{ path: socketPath }], stdio: 'ignore', ...extra };
}

/**
 * Supervisor A starts a box that outlives it (dieWithParent: false), with
 * a socket in a directory cordon makes (`<sockets>/<label>/site.sock`), and
 * is SIGKILLed; with `endBox`, the box is SIGKILLed after it.
 */
async function lastingBoxOfDeadSupervisor(t, label, { endBox }) {
  const stateDir = tempDir(t, label);
  const sockets = tempDir(t, `${label}-sockets`);
  const socketPath = path.join(sockets, label, 'site.sock');
  const env = { CORDON_STATE_DIR: stateDir };
  const a = await startSupervisor(t, { env });
  const box = await a.request('spawn', { ...sleeper, options: leavingOptions(socketPath, { dieWithParent: false }) });
  t.teardown(() => {
    try {
      process.kill(box.pid, 'SIGKILL');
    } catch {
      // ended, as it should have
    }
  });
  t.ok(box.pid > 0 && typeof box.adoptionId === 'string', `the box runs with a state record id: ${box.adoptionId}`);
  t.ok(recordsIn(stateDir).includes(`boxes/${box.adoptionId}.json`), 'its record is in the state directory');
  await a.kill();
  if (endBox) {
    process.kill(box.pid, 'SIGKILL');
    t.ok(await waitDead(box.pid), 'the box ended after its supervisor');
  } else {
    t.notOk(await waitDead(box.pid, 300), 'the box outlives its supervisor');
  }
  return { stateDir, sockets, socketPath, env, a, box };
}

t.test('a SIGKILLed supervisor: the next one sweeps its box cgroups, socket files and directories', async (t) => {
  const stateDir = tempDir(t, 'state');
  const sockets = tempDir(t, 'sockets');
  const socketPath = path.join(sockets, 'made', 'by', 'cordon', 'site.sock');
  const env = { CORDON_STATE_DIR: stateDir };
  // Root: the box is on a bridge cordon makes, which A's SIGKILL leaves behind.
  const withBridge = isRoot && bridgeUsable;
  const bridge = `cdl${process.pid % 100000}`;
  const network = withBridge ? { network: { bridge, subnet: `10.${200 + (process.pid % 50)}.${process.pid % 250}.1/24` } } : {};
  t.teardown(() => {
    if (withBridge && exists(`/sys/class/net/${bridge}`)) require('node:child_process').spawnSync('ip', ['link', 'del', bridge]);
  });
  // Mounts that name this test's directories (other work on the host may mount elsewhere meanwhile).
  const ourMounts = () => fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((line) => line.includes(stateDir) || line.includes(sockets));
  const mountsBefore = ourMounts();
  const a = await startSupervisor(t, { env });
  const box = await a.request('spawn', { ...sleeper, options: leavingOptions(socketPath, network) });
  t.ok(box.pid > 0, `A runs a box ${JSON.stringify(box.failed ?? '')}`);
  if (withBridge) t.equal(fs.readdirSync(`/sys/class/net/${bridge}/brif`).length, 1, 'on a bridge A made');
  if (cgroupsUsable) {
    t.ok(boxCgroupsOf(a.pid).length > 0, `A's box has cgroups: ${boxCgroupsOf(a.pid).join(', ')}`);
    t.ok(recordsIn(stateDir).some((name) => name.startsWith('supervisors/')), 'A recorded itself as a supervisor');
  }
  await a.kill();
  t.ok(await waitDead(box.pid), 'the box died with its supervisor');
  // What A left (the bug: nobody ever removed it).
  const left = { cgroups: boxCgroupsOf(a.pid), socket: exists(socketPath), dir: exists(path.join(sockets, 'made')) };
  t.ok(left.socket && left.dir, 'A left its socket file and the directories made for it');
  if (cgroupsUsable) t.ok(left.cgroups.length > 0, `and its box cgroups: ${left.cgroups.join(', ')}`);

  if (withBridge) {
    // The box's veth goes with its network namespace, some ms after the box.
    // A supervisor another test starts meanwhile may sweep the bridge then:
    // it is a dead supervisor's, nobody holds its lock.
    const ports = () => {
      try {
        return fs.readdirSync(`/sys/class/net/${bridge}/brif`);
      } catch {
        return [];
      }
    };
    const until = Date.now() + 10_000;
    while (ports().length > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
    t.same(ports(), [], 'A\'s box\'s veth is gone from the bridge A left');
  }
  // B takes its cgroup parent (its first box) or cleans up, and sweeps.
  const b = await startSupervisor(t, { env });
  const other = await b.request('spawn', { ...sleeper, options: leavingOptions(path.join(sockets, 'b.sock')) });
  t.ok(other.pid > 0, 'B runs a box');
  t.notOk(exists(socketPath), 'B\'s first box swept A\'s socket file');
  t.notOk(exists(path.join(sockets, 'made')), 'and the directories cordon made for it');
  await b.request('kill', { box: other.id });
  if (cgroupsUsable) {
    t.same(boxCgroupsOf(a.pid), [], 'B\'s start swept A\'s box cgroups in every hierarchy');
  }
  // Nobody holds the lock of A's bridge any more (test/spawn/bridge-lock.test.js has the live holders).
  if (withBridge) {
    t.notOk(exists(`/sys/class/net/${bridge}`), 'B\'s start swept the bridge nobody uses any more');
    t.same(fs.readdirSync('/run/cordon/bridges').filter((file) => file.endsWith(`-${bridge}.lock`)), [], 'and its lock file');
  }
  else t.comment(`no bridge checked: ${isRoot ? probe().network.bridge.reason : 'bridges need root'}`);
  const { report } = await b.request('cleanup', { options: parentOption });
  t.same(report.errors, [], 'cleanup() reports no error');
  t.notOk(exists(socketPath), 'A\'s socket file is gone');
  t.notOk(exists(path.join(sockets, 'made')), 'and the directories cordon made for it');
  t.same(boxCgroupsOf(a.pid), [], 'no box cgroup of A is left');
  t.notOk(recordsIn(stateDir).some((name) => name.includes(`-${a.pid}.json`)), 'nor A\'s supervisor record');
  await b.end();
  t.same(boxCgroupsOf(b.pid), [], 'B ended the ordinary way and left no box cgroup');
  t.same(ourMounts(), mountsBefore, 'no mount of the test\'s directories came or stayed');
  t.same(recordsIn(stateDir), [], 'and no state record is left');
});

t.test('process.exit() with boxes running leaves no cgroup, socket file or directory', async (t) => {
  const stateDir = tempDir(t, 'state');
  const sockets = tempDir(t, 'sockets');
  const socketPath = path.join(sockets, 'sub', 'box.sock');
  const a = await startSupervisor(t, { env: { CORDON_STATE_DIR: stateDir } });
  const first = await a.request('spawn', { ...sleeper, options: leavingOptions(socketPath) });
  const second = await a.request('spawn', { ...sleeper, options: { ...(cgroupsUsable ? { cgroup: {}, ...parentOption } : {}), stdio: 'ignore' } });
  t.ok(first.pid > 0 && second.pid > 0, 'two boxes run');
  if (cgroupsUsable) t.ok(boxCgroupsOf(a.pid).length >= 2, 'each has its cgroup');
  t.ok(exists(socketPath), 'the socket file is there');
  a.request('exit').catch(() => {});
  const ended = await a.exited;
  t.equal(ended.code, 0, `the supervisor exited through process.exit(0) ${ended.stderr}`);
  t.ok(await waitDead(first.pid) && await waitDead(second.pid), 'its boxes died with it');
  t.same(boxCgroupsOf(a.pid), [], 'no box cgroup is left in any hierarchy');
  t.notOk(exists(socketPath), 'no socket file is left');
  t.notOk(exists(path.join(sockets, 'sub')), 'nor the directory cordon made for it');
  t.same(recordsIn(stateDir).filter((name) => name.includes(`-${a.pid}.json`)), [], 'nor its supervisor record');
});

t.test('a box that outlives its SIGKILLed supervisor is adopted, killed, and leaves nothing', async (t) => {
  const { stateDir, sockets, socketPath, env, a, box } = await lastingBoxOfDeadSupervisor(t, 'lasting', { endBox: false });
  const b = await startSupervisor(t, { env });
  const { boxes } = await b.request('adoptAll');
  t.equal(boxes.length, 1, 'B adopts one box');
  t.equal(boxes[0]?.pid, box.pid, 'the one A started');
  t.equal(boxes[0]?.adoptionId, box.adoptionId, 'under its record id');
  const cgroups = boxCgroupsOf(a.pid);
  if (cgroupsUsable) t.ok(cgroups.length > 0, `its cgroups are still there while it runs: ${cgroups.join(', ')}`);
  const exec = await b.request('execKey', { key: boxes[0].key });
  t.equal(exec.thrown?.code, 'ERR_CORDON_NOT_RUNNING', `box.exec() on an adopted box throws: ${exec.thrown?.message}`);
  const exit = b.ended(boxes[0].key);
  await b.request('killKey', { key: boxes[0].key });
  t.ok((await exit).event === 'exit', 'the adopted box emits exit');
  t.ok(await waitDead(box.pid), 'the box is gone');
  t.same(boxCgroupsOf(a.pid), [], 'its cgroups are gone in every hierarchy');
  t.notOk(exists(socketPath), 'its socket file is gone');
  t.notOk(exists(path.join(sockets, 'lasting')), 'and the directory cordon made for it');
  t.notOk(recordsIn(stateDir).includes(`boxes/${box.adoptionId}.json`), 'and its record');
});

t.test('a box that outlived its supervisor and ended since: cleanup() removes what it left', async (t) => {
  const { stateDir, sockets, socketPath, env, a } = await lastingBoxOfDeadSupervisor(t, 'orphan', { endBox: true });
  t.ok(exists(socketPath), 'it left its socket file (nobody was there to remove it)');
  if (cgroupsUsable) t.ok(boxCgroupsOf(a.pid).length > 0, 'and its cgroups');

  const b = await startSupervisor(t, { env });
  const { report } = await b.request('cleanup', { options: parentOption });
  t.same(report.errors, [], 'cleanup() reports no error');
  t.ok(report.sockets.includes(socketPath), 'cleanup() reports the socket file');
  t.notOk(exists(socketPath), 'the socket file is gone');
  t.notOk(exists(path.join(sockets, 'orphan')), 'and its directory');
  t.same(boxCgroupsOf(a.pid), [], 'and its cgroups');
  t.same(recordsIn(stateDir).filter((name) => name.startsWith('boxes/')), [], 'and its record');
});

t.test('a record whose pid now belongs to another process is never adopted', async (t) => {
  const stateDir = tempDir(t, 'state');
  fs.mkdirSync(path.join(stateDir, 'boxes'), { mode: 0o700 });
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const startTime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  const pidns = /\[(\d+)\]/.exec(fs.readlinkSync('/proc/self/ns/pid'))[1];
  // This test process has the recorded pid, but not the recorded start time: a recycled pid.
  const id = `box-${process.pid}-1-abcdef`;
  const record = { id, pid: process.pid, startTime: String(Number(startTime) + 1), pidns, file: '/bin/sleep', args: [], createdAt: Date.now(), supervisor: { pid: 1, startTime: '1', pidns }, sockets: [] };
  fs.writeFileSync(path.join(stateDir, 'boxes', `${id}.json`), JSON.stringify(record), { mode: 0o600 });
  const b = await startSupervisor(t, { env: { CORDON_STATE_DIR: stateDir } });
  const reply = await b.request('adopt', { adoptionId: id });
  t.equal(reply.thrown?.code, 'ESRCH', `adopt() refuses: ${reply.thrown?.message}`);
  t.equal(reply.thrown?.step, 'adopt box', 'with its step');
  t.notOk(exists(path.join(stateDir, 'boxes', `${id}.json`)), 'the stale record is removed');
  const all = await b.request('adoptAll');
  t.same(all.boxes, [], 'adoptAll() adopts nothing');
  const missing = await b.request('adopt', { adoptionId: 'box-1-1-000000' });
  t.equal(missing.thrown?.code, 'ENOENT', 'an unknown id is ENOENT');
  const bad = await b.request('adopt', { adoptionId: '../etc/passwd' });
  t.equal(bad.thrown?.code, 'ERR_INVALID_ARG_VALUE', 'an id that is not one is a CordonOptionError');
});

t.test('the state directory', async (t) => {
  const { stateDirChoice } = require('../../dist/state');
  t.equal(stateDirChoice({ CORDON_STATE_DIR: '/x/y' }).dir, '/x/y', 'CORDON_STATE_DIR wins');
  t.match(stateDirChoice({ CORDON_STATE_DIR: 'rel' }).reason, /absolute/, 'a relative one is refused with a reason');
  if (isRoot) t.equal(stateDirChoice({}).dir, '/run/cordon', 'root: /run/cordon');
  else {
    t.equal(stateDirChoice({ XDG_RUNTIME_DIR: '/run/user/65534' }).dir, '/run/user/65534/cordon', 'unprivileged: $XDG_RUNTIME_DIR/cordon');
    const none = stateDirChoice({});
    t.equal(none.dir, undefined, 'unprivileged without XDG_RUNTIME_DIR: none');
    t.match(none.reason, /XDG_RUNTIME_DIR/, 'and the reason says what to set');
  }
});

t.test('records in a state directory others can write are never acted on', async (t) => {
  const stateDir = tempDir(t, 'shared');
  fs.mkdirSync(path.join(stateDir, 'boxes'));
  fs.chmodSync(path.join(stateDir, 'boxes'), 0o777); // anyone could have planted this
  const sockets = tempDir(t, 'victim');
  const victim = path.join(sockets, 'victim.sock');
  const server = require('node:net').createServer();
  await new Promise((resolve) => server.listen(victim, resolve));
  t.teardown(() => server.close());
  const info = fs.statSync(victim);
  const pidns = /\[(\d+)\]/.exec(fs.readlinkSync('/proc/self/ns/pid'))[1];
  const planted = {
    id: 'box-1-1-abcdef', pid: 2 ** 22 - 1, startTime: '1', pidns, file: '/x', args: [], createdAt: 0,
    supervisor: { pid: 2 ** 22 - 1, startTime: '1', pidns }, sockets: [{ path: victim, file: `${info.dev}:${info.ino}`, madeDirs: [sockets] }],
  };
  fs.writeFileSync(path.join(stateDir, 'boxes', 'box-1-1-abcdef.json'), JSON.stringify(planted));
  const b = await startSupervisor(t, { env: { CORDON_STATE_DIR: stateDir } });
  const { report } = await b.request('cleanup', { options: parentOption });
  t.same(report.sockets, [], 'cleanup() removed no socket');
  t.ok(exists(victim), 'the socket the planted record named is still there');
  t.ok(exists(path.join(stateDir, 'boxes', 'box-1-1-abcdef.json')), 'and the planted record was not read');
  const adopted = await b.request('adopt', { adoptionId: 'box-1-1-abcdef' });
  t.equal(adopted.thrown?.code, 'ENOENT', 'adopt() does not see it either');
});

t.test('the event loop running out with an unref()ed box leaves nothing, and Node exits cleanly', async (t) => {
  const sockets = tempDir(t, 'unref');
  const socketPath = path.join(sockets, 'made', 'box.sock');
  const options = leavingOptions(socketPath, { stdio: 'pipe' });
  const script = `
    const { spawnIsolated } = require(process.env.CORDON_ROOT);
    const box = spawnIsolated('/bin/sleep', ['1000'], ${JSON.stringify(options)});
    box.on('spawn', () => { console.log(box.pid); box.unref(); });
  `;
  const { spawnSync } = require('node:child_process');
  const run = spawnSync('/bin/sh', ['-c', 'unset NODE_OPTIONS && exec "$0" -e "$1"', process.execPath, script], {
    env: { ...process.env, CORDON_ROOT: path.resolve(__dirname, '../..') }, encoding: 'utf8', timeout: 60_000,
  });
  t.equal(run.status, 0, `node exited 0, not aborted (signal ${run.signal}): ${run.stderr}`);
  const pid = Number(run.stdout.trim());
  t.ok(pid > 0, 'the box had started');
  t.ok(await waitDead(pid), 'the box died with it');
  t.notOk(exists(socketPath), 'no socket file is left');
  t.notOk(exists(path.join(sockets, 'made')), 'nor its directory');
  const supervisorPid = run.pid;
  t.same(boxCgroupsOf(supervisorPid), [], 'nor a box cgroup');
});

t.test('a damaged record (a socket\'s file id that is not "dev:ino") does not take cordon gc down', async (t) => {
  const { stateDir, socketPath, env, a, box } = await lastingBoxOfDeadSupervisor(t, 'damaged', { endBox: true });
  const recordFile = path.join(stateDir, 'boxes', `${box.adoptionId}.json`);
  const record = JSON.parse(fs.readFileSync(recordFile, 'utf8'));
  // The first a number too large for 64 bits, then another socket entry whose id is not numbers at all.
  record.sockets = [
    { ...record.sockets[0], file: `99999999999999999999999:${record.sockets[0].file.split(':')[1]}` },
    { path: path.join(path.dirname(socketPath), 'other.sock'), file: 'dev:ino', madeDirs: [] },
  ];
  fs.writeFileSync(recordFile, JSON.stringify(record), { mode: 0o600 });
  const { spawnSync } = require('node:child_process');
  const cli = path.resolve(__dirname, '../../dist/cli.js');
  const parentArgs = cgroupParent === undefined ? [] : ['--cgroup-parent', cgroupParent];
  const run = spawnSync(process.execPath, [cli, 'gc', '--json', ...parentArgs], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
  t.equal(run.status, 0, `cordon gc exits 0: ${run.stderr}`);
  t.equal(run.signal, null, 'and is not killed by a signal (an uncaught C++ exception aborts)');
  const report = JSON.parse(run.stdout || '{}');
  t.ok(exists(socketPath), 'the socket file the record no longer names rightly is kept');
  t.ok(report.kept?.some((entry) => entry.path === socketPath && /does not name/.test(entry.reason)), `and reported as kept, with why: ${JSON.stringify(report.kept)}`);
  t.same(report.errors, [], 'with no error');
  t.ok(report.records?.some((file) => file.endsWith(`${box.adoptionId}.json`)), 'the record is removed');
  if (cgroupsUsable) t.same(boxCgroupsOf(a.pid), [], 'and so are the box cgroups');
});

t.test('cordon gc removes what a dead box left and says so', async (t) => {
  const { socketPath, env, a, box } = await lastingBoxOfDeadSupervisor(t, 'gc', { endBox: true });
  const { spawnSync } = require('node:child_process');
  const cli = path.resolve(__dirname, '../../dist/cli.js');
  const parentArgs = cgroupParent === undefined ? [] : ['--cgroup-parent', cgroupParent];
  const run = spawnSync(process.execPath, [cli, 'gc', '--json', ...parentArgs], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
  t.equal(run.status, 0, `cordon gc exits 0: ${run.stderr}`);
  const report = JSON.parse(run.stdout);
  t.ok(report.sockets.includes(socketPath), 'it reports the socket file');
  t.ok(report.records.some((file) => file.endsWith(`${box.adoptionId}.json`)), 'and the record');
  t.notOk(exists(socketPath), 'the socket file is gone');
  if (cgroupsUsable) t.same(boxCgroupsOf(a.pid), [], 'and the box cgroups');
  // Bridges are host-wide: another supervisor's unheld bridge (another run's, beside this one) may be swept by any run.
  const again = spawnSync(process.execPath, [cli, 'gc', '--no-bridges', ...parentArgs], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
  t.equal(again.status, 0, 'a second run exits 0');
  t.notMatch(again.stdout, /removed/, `and finds nothing left: ${JSON.stringify(again.stdout)}`);
  const bad = spawnSync(process.execPath, [cli, 'gc', '--bogus'], { encoding: 'utf8', timeout: 60_000 });
  t.equal(bad.status, 125, 'an unknown option exits 125');
});

t.test('unprivileged without XDG_RUNTIME_DIR: a lasting box runs, with a warning that it cannot be adopted', async (t) => {
  if (!skipExpected(t, !isRoot, 'root pass: root keeps records in /run/cordon')) return;
  const a = await startSupervisor(t, { env: { CORDON_STATE_DIR: '', XDG_RUNTIME_DIR: '' } });
  const box = await a.request('spawn', { ...sleeper, options: { stdio: 'ignore', dieWithParent: false } });
  t.teardown(() => {
    try {
      process.kill(box.pid, 'SIGKILL');
    } catch {
      // ended
    }
  });
  t.ok(box.pid > 0, 'the box runs');
  t.equal(box.adoptionId, undefined, 'without a record id');
  const { report } = await a.request('cleanup', { options: {} });
  t.match(report.kept.map((entry) => entry.reason).join('\n'), /XDG_RUNTIME_DIR/, 'cleanup() says there are no records to read, and why');
  const { stderr } = await a.kill();
  t.match(stderr, /CORDON_NO_STATE_DIR|no later process can adopt it/, 'the warning says no later process can adopt it');
});

t.test('cleanup() and cordon gc: the error each bad option gets', async (t) => {
  const { cleanup } = require('../../dist');
  for (const [options, code, what] of [
    ['all', 'ERR_INVALID_ARG_TYPE', 'options that are not an object'],
    [[], 'ERR_INVALID_ARG_TYPE', 'an array'],
    [{ graceMs: -1 }, 'ERR_INVALID_ARG_VALUE', 'a negative graceMs'],
    [{ graceMs: 1.5 }, 'ERR_INVALID_ARG_VALUE', 'a graceMs that is not an integer'],
    [{ bridges: 'yes' }, 'ERR_INVALID_ARG_VALUE', 'a bridges value that is not true, false or \'unlocked\''],
    [{ cgroupParent: 5 }, 'ERR_INVALID_ARG_TYPE', 'a cgroupParent that is not a string'],
    [{ cgroupParent: 'relative/parent' }, 'ERR_INVALID_ARG_VALUE', 'a relative cgroupParent'],
    [{ cgroupParent: '/a/../b' }, 'ERR_INVALID_ARG_VALUE', 'a cgroupParent with ..'],
    [{ grace: 0 }, 'ERR_CORDON_UNKNOWN_OPTION', 'a key it does not know'],
  ]) {
    await t.rejects(cleanup(options), { name: 'CordonOptionError', code }, `${what}: ${code}`);
  }
  const { spawnSync } = require('node:child_process');
  const cli = path.resolve(__dirname, '../../dist/cli.js');
  for (const args of [['--grace-ms', 'soon'], ['--grace-ms'], ['--cgroup-parent', 'relative']]) {
    const run = spawnSync(process.execPath, [cli, 'gc', ...args], { encoding: 'utf8', timeout: 60_000 });
    t.equal(run.status, 125, `cordon gc ${args.join(' ')} exits 125: ${run.stderr.trim()}`);
  }
});

t.test('adopt(): a box whose owner still runs is EBUSY, one that dies with its supervisor EPERM', async (t) => {
  const stateDir = tempDir(t, 'owned');
  const sockets = tempDir(t, 'owned-sockets');
  const env = { CORDON_STATE_DIR: stateDir };
  const a = await startSupervisor(t, { env });
  const lasting = await a.request('spawn', { ...sleeper, options: leavingOptions(path.join(sockets, 'l', 'site.sock'), { dieWithParent: false }) });
  t.teardown(() => {
    try {
      process.kill(lasting.pid, 'SIGKILL');
    } catch {
      // ended
    }
  });
  // A box with a socket file has a record too (what a SIGKILL would leave), but dies with A.
  const dying = await a.request('spawn', { ...sleeper, options: leavingOptions(path.join(sockets, 'd', 'site.sock')) });
  const dyingRecords = recordsIn(stateDir).filter((name) => name.startsWith('boxes/') && name !== `boxes/${lasting.adoptionId}.json`);
  t.equal(dyingRecords.length, 1, `both boxes have records: ${recordsIn(stateDir).join(', ')}`);
  const dyingId = path.basename(dyingRecords[0] ?? '', '.json');
  const b = await startSupervisor(t, { env });
  const busy = await b.request('adopt', { adoptionId: lasting.adoptionId });
  t.equal(busy.thrown?.code, 'EBUSY', `its owner still runs: ${busy.thrown?.message}`);
  t.equal(busy.thrown?.step, 'adopt box');
  const bound = await b.request('adopt', { adoptionId: dyingId });
  t.equal(bound.thrown?.code, 'EPERM', `a box that dies with its supervisor: ${bound.thrown?.message}`);
  t.equal(bound.thrown?.step, 'adopt box');
  await a.kill();
  t.ok(await waitDead(dying.pid), 'the dying box died with A');
  const { boxes } = await b.request('adoptAll');
  t.same(boxes.map((box) => box.pid), [lasting.pid], 'once A is gone, only the lasting box is adopted');
  await b.request('killKey', { key: boxes[0].key });
  t.ok(await waitDead(lasting.pid), 'and killed');
});
