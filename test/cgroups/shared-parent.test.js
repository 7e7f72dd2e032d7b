// The default cgroup parent (`<mount>/cordon` in every hierarchy, made by
// the first root supervisor that needs it) is shared by every supervisor on
// the host. Whichever of them leaves last removes it, whether or not it made
// it: when the maker exits (ordinarily, by SIGKILL, or by process.exit())
// while another supervisor's boxes still use the parent, the other removes
// it at its own exit. A spawn that finds the parent removed under it (the
// window between the parent lookup and the box's mkdir) makes it again.
//
// Each case gives its supervisors a default parent of its own name
// (CORDON_CGROUP_PARENT_NAME=cordon-test-<pid>-...), so it never touches the
// host's `cordon` parents, which other work may be using; the fixture's
// teardown removes whatever a failing case left under that name.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');

const { startSupervisor } = require('../helpers/supervisor');
const { isRoot } = require('../helpers/payload');
const { waitDead } = require('../helpers/procfs');
const { requireOrSkip, skipExpected } = require('../helpers/skip');
const { cgroupMounts, testCgroupName } = require('../helpers/cgroup-fixture');
const { removeTree } = require('../helpers/remove-tree');
const { boxCgroupsOf } = require('../helpers/host-snapshot');
const { probe } = require('../../dist');

// Each case starts two or three node processes: slow in the TCG VM of `npm run test:cgroup2`.
t.setTimeout(600_000);

const cgroupReport = (() => {
  try {
    return probe().cgroup;
  } catch (error) {
    return { mode: 'none', writableControllers: [], error: error.message };
  }
})();
const cgroupsUsable = cgroupReport.writableControllers.includes('pids');
const ROOT_ONLY = 'unprivileged pass: cordon makes a default parent only as root (others use a delegated cgroup, which it never removes)';

const sleeper = { file: '/bin/sleep', args: ['1000'] };
const boxOptions = { cgroup: { pids: { max: 64 } }, stdio: 'ignore' };

/** The directories named `name` directly under a cgroup mount: the default parent's, in every hierarchy. */
function parentDirs(name) {
  return cgroupMounts().map((mount) => path.join(mount, name)).filter((dir) => fs.existsSync(dir)).sort();
}

/** A default parent name of the case's own, a state directory the case's supervisors share, and their env. */
function isolate(t, label) {
  const { name } = testCgroupName(t, label);
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), `cordon-shared-parent-${label}-`));
  t.teardown(() => removeTree(stateDir));
  t.same(parentDirs(name), [], `before: no parent named ${name}`);
  return { name, env: { CORDON_CGROUP_PARENT_NAME: name, CORDON_STATE_DIR: stateDir } };
}

function rootCase(t) {
  if (!skipExpected(t, isRoot, ROOT_ONLY)) return false;
  return requireOrSkip(t, cgroupsUsable, `no writable pids controller here: ${cgroupReport.error ?? JSON.stringify(cgroupReport.writableControllers)}`);
}

/** A (the maker) and B each run a box under the shared parent; returns them with their boxes. */
async function twoSupervisors(t, env, name) {
  const a = await startSupervisor(t, { env });
  const boxA = await a.request('spawn', { ...sleeper, options: boxOptions });
  t.ok(boxA.pid > 0, `A runs a box ${JSON.stringify(boxA.failed ?? '')}`);
  const made = parentDirs(name);
  t.ok(made.length > 0, `A made the parent: ${made.join(', ')}`);
  const b = await startSupervisor(t, { env });
  const boxB = await b.request('spawn', { ...sleeper, options: boxOptions });
  t.ok(boxB.pid > 0, `B runs a box ${JSON.stringify(boxB.failed ?? '')}`);
  t.ok(boxCgroupsOf(b.pid).length > 0 && boxCgroupsOf(b.pid).every((dir) => made.includes(path.dirname(dir))), `B's box cgroups are in A's parent: ${boxCgroupsOf(b.pid).join(', ')}`);
  return { a, b, boxA, boxB, made };
}

/** B, the last user, leaves by `how`; afterwards no parent of the name is left. */
async function lastLeaves(t, b, boxB, name, how, who = 'B') {
  if (how === 'exit') {
    await b.request('exit').catch(() => {});
  } else {
    // The ordinary end: its box finishes (here: is killed), then the loop runs out.
    await b.request('kill', { box: boxB.id });
    await b.end();
  }
  await b.exited;
  t.ok(await waitDead(boxB.pid), `${who}'s box ended with ${who}`);
  t.same(boxCgroupsOf(b.pid), [], `${who} removed its box cgroups`);
  t.same(parentDirs(name), [], 'after: the last supervisor removed the parent it did not make, in every hierarchy');
}

t.test('the maker exits first: the last supervisor removes the parent', { timeout: 180_000 }, async (t) => {
  if (!rootCase(t)) return;
  const { name, env } = isolate(t, 'maker-ends');
  const { a, b, boxA, boxB, made } = await twoSupervisors(t, env, name);
  await a.request('kill', { box: boxA.id });
  await a.end();
  t.ok(await waitDead(boxA.pid), 'A\'s box ended with A');
  t.same(parentDirs(name), made, 'A left the parent in place: B\'s box still uses it');
  await lastLeaves(t, b, boxB, name, 'end');
});

t.test('the maker is SIGKILLed: the last supervisor sweeps its box cgroups and removes the parent', { timeout: 180_000 }, async (t) => {
  if (!rootCase(t)) return;
  const { name, env } = isolate(t, 'maker-killed');
  const { a, b, boxA, boxB, made } = await twoSupervisors(t, env, name);
  await a.kill();
  t.ok(await waitDead(boxA.pid), 'A\'s box died with A');
  t.ok(boxCgroupsOf(a.pid).length > 0, `A left its box cgroups: ${boxCgroupsOf(a.pid).join(', ')}`);
  t.same(parentDirs(name), made, 'and the parent');
  await lastLeaves(t, b, boxB, name, 'end');
  t.same(boxCgroupsOf(a.pid), [], 'B\'s exit swept A\'s box cgroups');
});

t.test('process.exit() with a box running: the last supervisor removes the parent', { timeout: 180_000 }, async (t) => {
  if (!rootCase(t)) return;
  const { name, env } = isolate(t, 'process-exit');
  const { a, b, boxA, boxB, made } = await twoSupervisors(t, env, name);
  await a.request('exit').catch(() => {});
  await a.exited;
  t.ok(await waitDead(boxA.pid), 'A\'s box ended at A\'s process.exit()');
  t.same(parentDirs(name), made, 'A left the parent in place: B\'s box still uses it');
  await lastLeaves(t, b, boxB, name, 'exit');
});

t.test('the parent removed between two spawns: the next spawn makes it again', { timeout: 180_000 }, async (t) => {
  if (!rootCase(t)) return;
  const { name, env } = isolate(t, 'removed-under');
  const a = await startSupervisor(t, { env });
  const first = await a.request('spawn', { ...sleeper, options: boxOptions });
  t.ok(first.pid > 0, 'the first box runs: A has looked the parent up (and keeps it)');
  const made = parentDirs(name);
  await a.request('kill', { box: first.id });
  t.same(boxCgroupsOf(a.pid), [], 'its box cgroups are gone');
  // What another supervisor's exit does when it is the last user: the parent
  // goes while A still holds it, before A's next mkdir of a box cgroup in it.
  for (const dir of made) fs.rmdirSync(dir);
  t.same(parentDirs(name), [], 'the parent is gone from every hierarchy');
  const second = await a.request('spawn', { ...sleeper, file: '/bin/sh', args: ['-c', 'cat /proc/self/cgroup; exec sleep 1000'], options: { ...boxOptions, stdio: ['ignore', 'pipe', 'ignore'] } });
  if (!t.ok(second.pid > 0, `the second spawn succeeds ${JSON.stringify(second.failed ?? '')}`)) return;
  t.same(parentDirs(name), made, 'the parent was made again in every hierarchy');
  t.ok(boxCgroupsOf(a.pid).length > 0 && boxCgroupsOf(a.pid).every((dir) => made.includes(path.dirname(dir))), `the box cgroups are in it: ${boxCgroupsOf(a.pid).join(', ')}`);
  const { line } = await a.request('firstLine', { box: second.id });
  t.match(line, /:\/$/, 'the box is placed in its cgroup');
  await lastLeaves(t, a, second, name, 'end', 'A');
});

t.test('a tenant cgroup made after the parent was removed under this process', { timeout: 180_000 }, async (t) => {
  if (!rootCase(t)) return;
  // In this process: the only case here that takes the default parent itself.
  const { name, env } = isolate(t, 'tenant');
  const saved = { ...process.env };
  Object.assign(process.env, env);
  t.teardown(() => {
    for (const key of Object.keys(env)) if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  });
  const { createTenantCgroup, spawnIsolated } = require('../..');
  const first = createTenantCgroup(`${name}-a`, { pids: { max: 32 } });
  const made = parentDirs(name);
  t.ok(made.length > 0, `the tenant took the parent: ${made.join(', ')}`);
  await first.close();
  for (const dir of made) fs.rmdirSync(dir);
  t.same(parentDirs(name), [], 'the parent is gone, as another supervisor\'s exit would leave it');
  const second = createTenantCgroup(`${name}-b`, { pids: { max: 32 } });
  t.teardown(() => second.close({ wait: true }));
  t.same(parentDirs(name), made, 'the next tenant made the parent again in every hierarchy');
  const tenantDirs = [second.path.v2, ...Object.values(second.path.v1)].filter(Boolean);
  t.ok(tenantDirs.length > 0 && tenantDirs.every((dir) => fs.existsSync(dir) && made.includes(path.dirname(dir))), `the tenant is in it: ${tenantDirs.join(', ')}`);
  const box = spawnIsolated('/bin/true', [], { cgroup: second, stdio: 'ignore' });
  const result = await box.exited;
  t.equal(result.code, 0, 'a box runs in the tenant');
});

t.test('cleanup() after the last user was SIGKILLed: the sweep removes its box cgroups, then the parent', { timeout: 180_000 }, async (t) => {
  if (!rootCase(t)) return;
  const { name, env } = isolate(t, 'gc');
  const a = await startSupervisor(t, { env });
  const box = await a.request('spawn', { ...sleeper, options: boxOptions });
  t.ok(box.pid > 0, 'A runs a box');
  const made = parentDirs(name);
  await a.kill();
  t.ok(await waitDead(box.pid), 'the box died with A');
  t.same(parentDirs(name), made, 'A left the parent (and its box cgroups in it)');
  const gc = await startSupervisor(t, { env });
  const { report } = await gc.request('cleanup', { options: {} });
  t.same(report.errors, [], 'no removal failed');
  t.same(boxCgroupsOf(a.pid), [], 'A\'s box cgroups are swept');
  for (const dir of made) t.ok(report.cgroups.includes(dir), `the report lists the parent ${dir}`);
  t.same(parentDirs(name), [], 'the parent is gone before cleanup() resolves');
  await gc.end();
  t.same(parentDirs(name), [], 'and stays gone');
});

t.test('a parent with a cgroup cordon did not make in it stays, and so does that cgroup', { timeout: 180_000 }, async (t) => {
  if (!rootCase(t)) return;
  const { name, env } = isolate(t, 'foreign');
  const a = await startSupervisor(t, { env });
  const box = await a.request('spawn', { ...sleeper, options: boxOptions });
  t.ok(box.pid > 0, 'A runs a box');
  const made = parentDirs(name);
  const foreign = made.map((dir) => path.join(dir, 'not-cordons'));
  for (const dir of foreign) fs.mkdirSync(dir);
  await a.request('kill', { box: box.id });
  await a.end();
  t.same(boxCgroupsOf(a.pid), [], 'A removed its box cgroups');
  t.same(parentDirs(name), made, 'the parent stays: it is not empty');
  t.ok(foreign.every((dir) => fs.existsSync(dir)), 'the cgroup cordon did not make is untouched (no removal reaches into a parent)');
});

t.test('a configured cgroupParent is never removed, empty or not', { timeout: 180_000 }, async (t) => {
  if (!rootCase(t)) return;
  const { name, env } = isolate(t, 'configured');
  // The configured parent is the test's, in every hierarchy (like test/cgroups/leftovers.test.js's).
  const configured = [];
  for (const mount of cgroupMounts()) {
    try {
      fs.mkdirSync(path.join(mount, name));
      configured.push(path.join(mount, name));
    } catch {
      // a named v1 hierarchy that refuses it: not one cordon uses
    }
  }
  const a = await startSupervisor(t, { env: { ...env, CORDON_CGROUP_PARENT_NAME: `${name}-default` } });
  const box = await a.request('spawn', { ...sleeper, options: { ...boxOptions, cgroupParent: `/${name}` } });
  t.ok(box.pid > 0, 'A runs a box under the configured parent');
  t.ok(boxCgroupsOf(a.pid).length > 0 && boxCgroupsOf(a.pid).every((dir) => configured.includes(path.dirname(dir))), `its box cgroups are there: ${boxCgroupsOf(a.pid).join(', ')}`);
  await a.request('exit').catch(() => {});
  await a.exited;
  t.same(boxCgroupsOf(a.pid), [], 'A removed its box cgroups at process.exit()');
  t.same(parentDirs(name), configured.sort(), 'the configured parent stays, empty, in every hierarchy');
  t.same(parentDirs(`${name}-default`), [], 'no default parent was made');
});

t.test('CORDON_CGROUP_PARENT_NAME that is not one path component: spawnIsolated throws, nothing is made', { timeout: 180_000 }, async (t) => {
  const { name, env } = isolate(t, 'bad-name');
  const a = await startSupervisor(t, { env: { ...env, CORDON_CGROUP_PARENT_NAME: `../${name}` } });
  const box = await a.request('spawn', { ...sleeper, options: boxOptions });
  t.notOk(box.pid, 'the box does not start');
  t.equal(box.thrown?.name, 'CordonOptionError', `spawnIsolated throws: ${JSON.stringify(box.thrown)}`);
  t.equal(box.thrown?.code, 'ERR_INVALID_ARG_VALUE');
  t.match(box.thrown?.message, /CORDON_CGROUP_PARENT_NAME/, 'names the variable');
  await a.end();
  t.same(parentDirs(name), [], 'no parent was made');
  t.same(cgroupMounts().filter((mount) => fs.existsSync(path.join(path.dirname(mount), name))), [], 'nor one level up');
});

t.test('unprivileged: no default parent is made, so none is left', { timeout: 180_000 }, async (t) => {
  if (!skipExpected(t, !isRoot, 'root pass (the cases above)')) return;
  const { name, env } = isolate(t, 'unprivileged');
  const a = await startSupervisor(t, { env });
  const box = await a.request('spawn', { ...sleeper, options: boxOptions });
  if (cgroupsUsable) {
    t.ok(box.pid > 0, 'a delegated cgroup takes the box');
    await a.request('kill', { box: box.id });
  } else {
    t.ok(box.failed, 'without a delegated cgroup the box fails');
  }
  t.same(parentDirs(name), [], 'no parent of the default name was made');
  await a.end();
  t.same(parentDirs(name), [], 'none after the supervisor left');
});
