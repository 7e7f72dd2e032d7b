// Tenant cgroups: one cgroup several boxes join (each in its own leaf under
// it), limits changed while they run (read back from the kernel files),
// stats over all of them, and removal when closed and empty.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const t = require('tap');

// Slow in the TCG VM of `npm run test:cgroup2` (over tap's default 30 s there).
t.setTimeout(600_000);

const { spawnIsolated, createTenantCgroup, TenantCgroup, CordonOptionError, probe } = require('../..');
const { isRoot } = require('../helpers/payload');
const { requireOrSkip, skipExpected } = require('../helpers/skip');
const { testCgroupName, cgroupMounts, waitFor } = require('../helpers/cgroup-fixture');
const { waitDead } = require('../helpers/procfs');

const report = probe().cgroup;
const ROOT_ONLY = 'unprivileged pass: this host delegates no cgroup to an unprivileged user (the refusal is checked below)';

/** A parent for the test's tenants in every hierarchy, removed (with all under it) at teardown. */
function makeParent(t, label) {
  const { name } = testCgroupName(t, label);
  for (const mount of cgroupMounts()) {
    try {
      fs.mkdirSync(path.join(mount, name));
    } catch {
      // a named v1 hierarchy that refuses it: not one cordon uses
    }
  }
  return `/${name}`;
}

function read(file) {
  return fs.readFileSync(file, 'utf8').trim();
}

function cgroupLines(pid) {
  return read(`/proc/${pid}/cgroup`).split('\n');
}

async function sleeper(t, options) {
  const box = spawnIsolated('/bin/sleep', ['1000'], { stdio: 'ignore', ...options });
  t.teardown(() => box.dispose());
  await new Promise((resolve, reject) => {
    box.once('spawn', resolve);
    box.once('error', reject);
  });
  return box;
}

t.test('several boxes join a tenant; live limits show in the kernel files; stats sum them; close removes it', async (t) => {
  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  const cgroupParent = makeParent(t, 'tenant');
  const tenant = createTenantCgroup('site', { pids: { max: 100 }, memory: { max: 256 * 1024 * 1024 } }, { cgroupParent });
  t.teardown(() => tenant.close({ wait: true, timeoutMs: 5000 }).catch(() => {}));
  t.type(tenant, TenantCgroup, 'a TenantCgroup');
  const dirs = [tenant.path.v2, ...Object.values(tenant.path.v1)].filter(Boolean);
  t.ok(dirs.length > 0, `its directories: ${[...new Set(dirs)].join(', ')}`);
  for (const dir of dirs) t.equal(path.basename(dir), 'tenant-site', `${dir} is named after the tenant`);
  const pidsDir = tenant.path.v1.pids ?? tenant.path.v2;
  t.equal(read(`${pidsDir}/pids.max`), '100', 'the creation\'s limit is written');

  const site = await sleeper(t, { cgroup: tenant });
  const cron = await sleeper(t, { cgroup: { tenant, pids: { max: 10 } } });
  for (const [label, box] of [['site', site], ['cron', cron]]) {
    const line = cgroupLines(box.pid).find((entry) => (tenant.path.v1.pids !== undefined ? /^\d+:(.*,)?pids(,.*)?:/.test(entry) : entry.startsWith('0::')));
    t.match(line, /\/tenant-site\/box-\d+-/, `the ${label} box is in its own leaf under the tenant: ${line}`);
  }
  const siteLeaf = cgroupLines(site.pid).find((entry) => entry.startsWith('0::'));
  const cronLeaf = cgroupLines(cron.pid).find((entry) => entry.startsWith('0::'));
  t.not(siteLeaf, cronLeaf, `each box has a leaf of its own (${siteLeaf}, ${cronLeaf})`);
  const cronPidsLeaf = path.join(pidsDir, cgroupLines(cron.pid).find((entry) => (tenant.path.v1.pids !== undefined ? /^\d+:(.*,)?pids(,.*)?:/.test(entry) : entry.startsWith('0::'))).split('/').pop());
  t.equal(read(`${cronPidsLeaf}/pids.max`), '10', 'the cron box\'s own limit is in its leaf');

  // Live limit changes: written while both run, read back from the kernel.
  tenant.update({ cpu: { weight: 10 } });
  if (tenant.path.v1.cpu !== undefined && report.v1Controllers.cpu !== undefined && !(report.v2Controllers ?? []).includes('cpu')) {
    t.equal(read(`${tenant.path.v1.cpu}/cpu.shares`), String(require('../../dist/cgroups').sharesFromWeight(10)), 'cpu weight 10 is v1 cpu.shares');
  } else {
    t.equal(read(`${tenant.path.v2}/cpu.weight`), '10', 'cpu.weight is 10');
  }
  tenant.update({ pids: { max: 50 } });
  t.equal(read(`${pidsDir}/pids.max`), '50', 'pids.max is 50 now');
  const memoryDir = tenant.path.v1.memory ?? tenant.path.v2;
  tenant.update({ memory: { max: 128 * 1024 * 1024 } });
  const memoryFile = tenant.path.v1.memory !== undefined ? 'memory.limit_in_bytes' : 'memory.max';
  t.equal(read(`${memoryDir}/${memoryFile}`), String(128 * 1024 * 1024), `${memoryFile} is 128 MiB now`);
  t.same(tenant.limits.pids, { max: 50 }, 'limits says what was written last');

  const stats = tenant.stats();
  t.ok(stats.pids !== null && stats.pids.current >= 2, `stats count both boxes' processes (${stats.pids?.current})`);
  t.ok(stats.memory !== null && stats.memory.current > 0, `and their memory (${stats.memory?.current} bytes)`);
  t.ok(tenant.procs().includes(site.pid) && tenant.procs().includes(cron.pid), 'procs() lists both boxes');
  t.notOk(tenant.procs().includes(process.pid), 'and not Node: nothing that shares Node\'s memory is in the tenant');

  // Closing with boxes in it refuses, clearly.
  await t.rejects(tenant.close(), { code: 'EBUSY', step: 'close tenant cgroup' }, 'close() with boxes running rejects with EBUSY');
  t.ok(dirs.every((dir) => fs.existsSync(dir)), 'and removes nothing');
  // One box ends: the other keeps the tenant.
  await cron.dispose();
  t.ok(dirs.every((dir) => fs.existsSync(dir)), 'one box ended: the tenant stays');
  const closing = tenant.close({ wait: true });
  await site.dispose();
  await closing;
  t.ok(tenant.closed, 'close({ wait: true }) finished once the last box ended');
  for (const dir of new Set(dirs)) t.notOk(fs.existsSync(dir), `${dir} is removed`);
  t.throws(() => tenant.update({ pids: { max: 1 } }), { code: 'ERR_CORDON_TENANT_CLOSED' }, 'a closed tenant cannot be updated');
  t.throws(() => spawnIsolated('/bin/true', [], { cgroup: tenant }), CordonOptionError, 'nor joined');
});

t.test('a tenant\'s limit binds its boxes together', async (t) => {
  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  const cgroupParent = makeParent(t, 'bind');
  const tenant = createTenantCgroup('forks', { pids: { max: 6 } }, { cgroupParent });
  t.teardown(() => tenant.close({ wait: true, timeoutMs: 5000 }).catch(() => {}));
  const first = await sleeper(t, { cgroup: tenant, init: false });
  const second = await sleeper(t, { cgroup: tenant, init: false });
  t.ok(first.pid > 0 && second.pid > 0, 'two boxes hold 2 of the tenant\'s 6 pids');
  // A third box tries to start 8 processes: the tenant's pids.max (6, with 2 used) stops it, not its own leaf (no limit).
  const box = spawnIsolated('/bin/sh', ['-c', 'for i in 1 2 3 4 5 6 7 8; do sleep 100 & done; wait'], { cgroup: tenant, init: false, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  box.stderr.setEncoding('utf8').on('data', (chunk) => { stderr += chunk; });
  const exit = box.exited.catch((error) => ({ error }));
  // Wait until the tenant is full, then end the box.
  const until = Date.now() + 10_000;
  while (!/fork|Resource temporarily|Cannot/i.test(stderr) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
  t.match(stderr, /fork|Resource temporarily unavailable|Cannot/i, `the shell could not start all 8: ${stderr.trim().split('\n')[0]}`);
  t.ok(tenant.stats().pids.current <= 6, `the tenant never holds more than 6 (${tenant.stats().pids.current})`);
  box.kill('SIGKILL');
  await exit;
});

/** The leaf directories under a tenant, in each hierarchy it joined. */
function leavesOf(tenant) {
  const out = {};
  for (const dir of new Set([tenant.path.v2, ...Object.values(tenant.path.v1)].filter(Boolean))) {
    out[dir] = fs.readdirSync(dir, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
  }
  return out;
}

/** The name of the v2 leaf a box runs in. */
function leafOf(box) {
  return cgroupLines(box.pid).find((entry) => entry.startsWith('0::')).split('/').pop();
}

/** A tenant with `spareLeaves` under a parent of the test's own, closed at teardown, and the directories it joined. */
function tenantWithSpares(t, label, limits, spareLeaves) {
  const cgroupParent = makeParent(t, label);
  const tenant = createTenantCgroup('spares', limits, { cgroupParent, spareLeaves });
  t.teardown(() => tenant.close({ wait: true, timeoutMs: 5000 }).catch(() => {}));
  return { tenant, hierarchies: Object.keys(leavesOf(tenant)) };
}

t.test('spare leaves: made with the tenant, taken by a box without limits of its own, made again after, gone with the tenant', async (t) => {
  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  const { tenant, hierarchies } = tenantWithSpares(t, 'spares', { pids: { max: 50 } }, 2);
  const before = leavesOf(tenant);
  t.ok(hierarchies.length > 0, `the tenant joined ${hierarchies.join(', ')}`);
  const spares = before[hierarchies[0]];
  t.equal(spares.length, 2, `two spare leaves are ready: ${spares.join(', ')}`);
  for (const dir of hierarchies) t.same(before[dir], spares, `the same two in ${dir}`);
  for (const name of spares) t.match(name, /^box-\d+-\d+-[0-9a-f]+$/, `${name} is named as a box cgroup (a sweep knows its owner)`);

  const site = await sleeper(t, { cgroup: tenant });
  t.ok(spares.includes(leafOf(site)), `the box took a spare leaf (${leafOf(site)})`);
  // The next spare is made once no box has taken a leaf for a moment.
  t.ok(await waitFor(() => tenant._spareCount === 2, 10_000, 5), 'the tenant made a spare again');
  const refilled = leavesOf(tenant)[hierarchies[0]];
  t.equal(refilled.length, 3, `two spares again, beside the box's leaf: ${refilled.join(', ')}`);
  const ready = refilled.filter((name) => name !== leafOf(site));

  const cron = await sleeper(t, { cgroup: { tenant, pids: { max: 10 } } });
  t.notOk(ready.includes(leafOf(cron)), 'a box with limits of its own makes its own leaf');
  const pidsDir = tenant.path.v1.pids ?? tenant.path.v2;
  t.equal(read(path.join(pidsDir, leafOf(cron), 'pids.max')), '10', 'with its limit');
  t.same(leavesOf(tenant)[hierarchies[0]].filter((name) => ready.includes(name)), ready, 'the spares stay ready');

  const siteLeaf = leafOf(site);
  site.kill('SIGKILL');
  await site.exited;
  for (const dir of hierarchies) t.notOk(fs.existsSync(path.join(dir, siteLeaf)), `the ended box's leaf is removed from ${dir}`);
  cron.kill('SIGKILL');
  await cron.exited;
  await tenant.close();
  for (const dir of hierarchies) t.notOk(fs.existsSync(dir), `close() removed ${dir} with its spares`);
});

t.test('a spare leaf removed behind the tenant\'s back is not taken: the box gets another', async (t) => {
  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  const { tenant, hierarchies } = tenantWithSpares(t, 'spares-gone', {}, 1);
  const [spare] = leavesOf(tenant)[hierarchies[0]];
  t.ok(spare, `a spare leaf is ready: ${spare}`);
  // What another supervisor's sweep does to an empty box cgroup it takes for a leftover.
  for (const dir of hierarchies) fs.rmdirSync(path.join(dir, spare));
  const box = await sleeper(t, { cgroup: tenant });
  const leaf = leafOf(box);
  t.not(leaf, spare, `the box runs in a leaf of its own (${leaf})`);
  t.ok(tenant.procs().includes(box.pid), 'inside the tenant');
});

t.test('idle spares are made anew before a sweep could take them; an old one is never taken', async (t) => {
  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  const { tenant, hierarchies } = tenantWithSpares(t, 'spares-age', {}, 2);
  const first = leavesOf(tenant)[hierarchies[0]];
  const realNow = Date.now;
  t.teardown(() => {
    Date.now = realNow;
  });
  // What the renewal timer does 20 s on (the sweep's grace is 60 s).
  Date.now = () => realNow() + 21_000;
  tenant._fillSpares();
  Date.now = realNow;
  const renewed = leavesOf(tenant)[hierarchies[0]];
  t.equal(renewed.length, 2, 'two spares still');
  t.same(renewed.filter((name) => first.includes(name)), [], `both made anew (${first.join(', ')} → ${renewed.join(', ')})`);
  for (const dir of hierarchies) t.same(leavesOf(tenant)[dir], renewed, `the old ones are gone from ${dir}`);
  // A renewal held up (a busy loop): a spare over 30 s old is not taken
  // (the renewed ones were made at the clock above).
  Date.now = () => realNow() + 21_000 + 31_000;
  const box = await sleeper(t, { cgroup: tenant });
  Date.now = realNow;
  const leaf = leafOf(box);
  t.notOk(renewed.includes(leaf), `the box made its own leaf (${leaf})`);
  for (const name of renewed) t.notOk(fs.existsSync(path.join(hierarchies[0], name)), `the old spare ${name} is removed`);
});

t.test('a process.exit() leaves no tenant cgroup and no spare leaf', async (t) => {
  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  const cgroupParent = makeParent(t, 'spares-exit');
  const script = `
    const { createTenantCgroup } = require(process.env.CORDON_ROOT);
    const tenant = createTenantCgroup('spares', {}, { cgroupParent: ${JSON.stringify(cgroupParent)}, spareLeaves: 3 });
    const dirs = [tenant.path.v2, ...Object.values(tenant.path.v1)].filter(Boolean);
    const leaves = dirs.map((dir) => require('fs').readdirSync(dir, { withFileTypes: true }).filter((entry) => entry.isDirectory()).length);
    console.log(JSON.stringify({ dirs, leaves }));
    process.exit(0);
  `;
  const { spawnSync } = require('node:child_process');
  const run = spawnSync('/bin/sh', ['-c', 'unset NODE_OPTIONS && exec "$0" -e "$1"', process.execPath, script], {
    env: { ...process.env, CORDON_ROOT: path.resolve(__dirname, '../..') }, encoding: 'utf8', timeout: 60_000,
  });
  t.equal(run.status, 0, `the supervisor exited with process.exit(0): ${run.stderr}`);
  const { dirs, leaves } = JSON.parse(run.stdout.trim().split('\n').pop());
  t.ok(dirs.length > 0 && leaves.every((count) => count === 3), `it had three spares in each hierarchy (${leaves.join(', ')})`);
  for (const dir of new Set(dirs)) t.notOk(fs.existsSync(dir), `${dir} is removed with its spares`);
});

t.test('a process.exit() with tenant boxes running leaves no tenant cgroup', async (t) => {
  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  const cgroupParent = makeParent(t, 'exit');
  // A supervisor of its own: it makes the tenant and a box, then calls process.exit().
  const script = `
    const { createTenantCgroup, spawnIsolated } = require(process.env.CORDON_ROOT);
    const tenant = createTenantCgroup('exiting', { pids: { max: 20 } }, { cgroupParent: ${JSON.stringify(cgroupParent)} });
    const box = spawnIsolated('/bin/sleep', ['1000'], { cgroup: tenant, stdio: 'ignore' });
    box.on('spawn', () => { console.log(JSON.stringify({ pid: box.pid, dirs: [tenant.path.v2, ...Object.values(tenant.path.v1)].filter(Boolean) })); process.exit(0); });
  `;
  const { spawnSync } = require('node:child_process');
  const run = spawnSync('/bin/sh', ['-c', 'unset NODE_OPTIONS && exec "$0" -e "$1"', process.execPath, script], {
    env: { ...process.env, CORDON_ROOT: path.resolve(__dirname, '../..') }, encoding: 'utf8', timeout: 60_000,
  });
  t.equal(run.status, 0, `the supervisor exited with process.exit(0): ${run.stderr}`);
  const { pid, dirs } = JSON.parse(run.stdout.trim().split('\n').pop());
  t.ok(await waitDead(pid), 'its box died with it');
  t.ok(dirs.length > 0, 'it had a tenant cgroup');
  for (const dir of new Set(dirs)) t.notOk(fs.existsSync(dir), `${dir} is removed`);
});

t.test('bad tenant names, limits and options are CordonOptionErrors; nothing is made', async (t) => {
  for (const name of ['../x', '', 'a/b', '.hidden', 'cgroup.procs', 5]) {
    t.throws(() => createTenantCgroup(name), CordonOptionError, `name ${JSON.stringify(name)}`);
  }
  t.throws(() => createTenantCgroup('ok', { memory: { max: -1 } }), CordonOptionError, 'a negative memory limit');
  t.throws(() => createTenantCgroup('ok', { nope: 1 }), CordonOptionError, 'an unknown controller');
  t.throws(() => createTenantCgroup('ok', {}, { cgroupParent: 'relative' }), CordonOptionError, 'a relative cgroupParent');
  t.throws(() => spawnIsolated('/bin/true', [], { cgroup: { tenant: {} } }), { name: 'CordonOptionError', code: 'ERR_INVALID_ARG_TYPE', option: 'cgroup.tenant' }, 'cgroup.tenant that is not a tenant');
  t.throws(() => spawnIsolated('/bin/true', [], { cgroup: { tenant: null } }), CordonOptionError, 'cgroup.tenant null');
});

t.test('unprivileged without a delegated cgroup: a clear CgroupError', async (t) => {
  if (!skipExpected(t, !isRoot, 'root pass: root can always make a cgroup parent')) return;
  if (!requireOrSkip(t, !report.writableControllers.includes('pids'), 'this unprivileged user has a delegated cgroup (the refusal needs one without)')) return;
  let error;
  try {
    createTenantCgroup('nobody-site', { pids: { max: 10 } });
  } catch (caught) {
    error = caught;
  }
  t.ok(error, 'createTenantCgroup throws');
  t.equal(error?.name, 'CgroupError', 'a CgroupError');
  t.equal(error?.code, 'ERR_CORDON_HOST_UNSUPPORTED', 'the host cannot give it');
  t.match(error?.message, /delegat/, `saying nothing is delegated: ${error?.message}`);
});

t.test('update(): bad limits are CordonOptionErrors, a refused write a CgroupError naming the file', async (t) => {
  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  const cgroupParent = makeParent(t, 'update');
  const tenant = createTenantCgroup('limits', {}, { cgroupParent });
  t.teardown(() => tenant.close().catch(() => {}));
  t.throws(() => tenant.update({ cpu: { weight: 0 } }), CordonOptionError, 'cpu weight 0');
  t.throws(() => tenant.update({ memory: { max: 'lots' } }), CordonOptionError, 'a memory max that is not bytes');
  let refused;
  try {
    tenant.update({ cpuset: { cpus: '9999' } });
  } catch (error) {
    refused = error;
  }
  t.equal(refused?.name, 'CgroupError', `a CPU set the tenant cannot have is a CgroupError: ${refused?.message}`);
  t.type(refused?.path, 'string', 'naming the path');
  t.type(refused?.step, 'string', 'and the step');
  t.throws(() => createTenantCgroup('limits', {}, { cgroupParent }), { code: 'EBUSY' }, 'the same tenant twice in one process: EBUSY (one owner)');
});

t.test('probe() says whether tenant cgroups and adoption are available here, and why not', async (t) => {
  const { tenants } = probe();
  t.equal(tenants.cgroups.available, report.writableControllers.length > 0, `tenant cgroups: ${tenants.cgroups.available} (${tenants.cgroups.reason ?? 'a writable cgroup'})`);
  if (!tenants.cgroups.available) t.match(tenants.cgroups.reason, /delegat|mounted/, 'the reason names delegation');
  if (isRoot) t.equal(tenants.adoption.stateDir, process.env.CORDON_STATE_DIR || '/run/cordon', 'root keeps records in /run/cordon');
  if (tenants.adoption.available) t.type(tenants.adoption.stateDir, 'string', `records go to ${tenants.adoption.stateDir}`);
  else t.match(tenants.adoption.reason, /XDG_RUNTIME_DIR|pidfd/, `why not: ${tenants.adoption.reason}`);
});

t.test('attack: a box cannot loosen its tenant\'s limits or leave the tenant', async (t) => {
  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  const cgroupParent = makeParent(t, 'attack');
  const tenant = createTenantCgroup('victim', { pids: { max: 8 }, memory: { max: 64 * 1024 * 1024 } }, { cgroupParent });
  t.teardown(() => tenant.close({ wait: true, timeoutMs: 5000 }).catch(() => {}));
  const pidsDir = tenant.path.v1.pids ?? tenant.path.v2;
  // Everything the box can see of cgroups: raise each limit file, move itself up, make a sibling.
  const script = [
    'for f in $(find /sys/fs/cgroup -name "*.max" -o -name "*limit_in_bytes" 2>/dev/null); do echo max > "$f" 2>/dev/null && echo "wrote $f"; done',
    'for d in /sys/fs/cgroup/.. /sys/fs/cgroup/../..; do echo $$ > "$d/cgroup.procs" 2>/dev/null && echo "moved to $d"; done',
    'mkdir /sys/fs/cgroup/escape 2>/dev/null && echo $$ > /sys/fs/cgroup/escape/cgroup.procs 2>/dev/null && echo "moved to escape"',
    'cat /proc/self/cgroup',
  ].join('; ');
  const box = spawnIsolated('/bin/sh', ['-c', script], { cgroup: tenant, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  box.stdout.setEncoding('utf8').on('data', (chunk) => { out += chunk; });
  box.stderr.resume();
  const result = await box.exited;
  t.equal(result.code, 0, 'the box ran its attempts');
  t.notMatch(out, /moved to/, `it could not move itself anywhere: ${out.trim()}`);
  t.equal(read(`${pidsDir}/pids.max`), '8', 'the tenant\'s pids.max is still 8');
  const memoryFile = tenant.path.v1.memory !== undefined ? `${tenant.path.v1.memory}/memory.limit_in_bytes` : `${tenant.path.v2}/memory.max`;
  t.equal(read(memoryFile), String(64 * 1024 * 1024), 'and its memory limit unchanged');
  for (const line of out.split('\n').filter((entry) => /^\d+:/.test(entry))) {
    t.notMatch(line, /:\/\.\.|escape/, `inside, its cgroup is its own leaf: ${line}`);
  }
});

/** Runs `script` in a node process of its own (CORDON_ROOT set); resolves with its first stdout line as JSON, and the child. */
function startScript(t, script, env) {
  const { spawn } = require('node:child_process');
  const child = spawn('/bin/sh', ['-c', 'unset NODE_OPTIONS && exec "$0" -e "$1"', process.execPath, script], {
    env: { ...process.env, ...env, CORDON_ROOT: path.resolve(__dirname, '../..') }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => { stderr += chunk; });
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })));
  const first = new Promise((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      out += chunk;
      if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))));
    });
    exited.then((result) => reject(new Error(`the script ended first: ${JSON.stringify(result)}`)));
  });
  return { child, first, exited };
}

t.test('after its owner is SIGKILLed, a tenant is taken over (its lasting box adopted) or, empty, swept', async (t) => {
  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  const cgroupParent = makeParent(t, 'takeover');
  const stateDir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'cordon-tenant-state-'));
  t.teardown(() => fs.rmSync(stateDir, { recursive: true, force: true }));
  const env = { CORDON_STATE_DIR: stateDir };
  const a = startScript(t, `
    const { createTenantCgroup, spawnIsolated } = require(process.env.CORDON_ROOT);
    const kept = createTenantCgroup('kept', { pids: { max: 20 } }, { cgroupParent: ${JSON.stringify(cgroupParent)}, spareLeaves: 2 });
    const empty = createTenantCgroup('empty', {}, { cgroupParent: ${JSON.stringify(cgroupParent)}, spareLeaves: 2 });
    const box = spawnIsolated('/bin/sleep', ['1000'], { cgroup: kept, dieWithParent: false, stdio: 'ignore' });
    box.on('spawn', () => console.log(JSON.stringify({ pid: box.pid, id: box.adoptionId, kept: kept.path, empty: empty.path })));
    setInterval(() => {}, 1000);
  `, env);
  const made = await a.first;
  t.teardown(() => {
    try {
      process.kill(made.pid, 'SIGKILL');
    } catch {
      // ended
    }
  });
  a.child.kill('SIGKILL');
  await a.exited;
  const dirsOf = (where) => [where.v2, ...Object.values(where.v1)].filter(Boolean);
  t.ok(dirsOf(made.kept).every((dir) => fs.existsSync(dir)), 'the SIGKILL left the tenant with the lasting box');
  t.ok(dirsOf(made.empty).every((dir) => fs.existsSync(dir)), 'and the empty tenant');

  const b = startScript(t, `
    const { createTenantCgroup, adoptAll, cleanup } = require(process.env.CORDON_ROOT);
    (async () => {
      const report = await cleanup({ cgroupParent: ${JSON.stringify(cgroupParent)} });
      const kept = createTenantCgroup('kept', { pids: { max: 30 } }, { cgroupParent: ${JSON.stringify(cgroupParent)} });
      const boxes = await adoptAll();
      const pidsMax = require('fs').readFileSync((kept.path.v1.pids ?? kept.path.v2) + '/pids.max', 'utf8').trim();
      const procs = kept.procs();
      const ended = new Promise((resolve) => boxes[0].on('exit', resolve));
      boxes[0].kill('SIGKILL');
      await ended;
      await kept.close({ wait: true, timeoutMs: 5000 });
      console.log(JSON.stringify({ swept: report.cgroups, adopted: boxes.map((box) => box.pid), pidsMax, procs, closed: kept.closed }));
    })().catch((error) => { console.log(JSON.stringify({ error: error.message, code: error.code })); });
  `, env);
  const result = await b.first;
  t.notOk(result.error, `the new supervisor did its part ${result.error ?? ''}`);
  t.ok(dirsOf(made.empty).every((dir) => result.swept.includes(dir)), 'cleanup() swept the empty tenant of the dead owner');
  t.ok(dirsOf(made.empty).every((dir) => !fs.existsSync(dir)), 'it is gone');
  t.same(result.adopted, [made.pid], 'the lasting box was adopted');
  t.ok(result.procs.includes(made.pid), 'and is in the tenant it took over');
  t.equal(result.pidsMax, '30', 'which has the new owner\'s limit');
  t.ok(result.closed, 'the new owner closed it once the box ended');
  t.ok(dirsOf(made.kept).every((dir) => !fs.existsSync(dir)), 'nothing of the tenant is left');
  t.same(fs.readdirSync(path.join(stateDir, 'tenants')), [], 'nor any tenant record');
  t.same(fs.readdirSync(path.join(stateDir, 'boxes')), [], 'nor any box record');
});

t.test('box.exec() into a box of a tenant runs under the tenant\'s limits', async (t) => {
  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  const cgroupParent = makeParent(t, 'exec');
  const tenant = createTenantCgroup('shell', { pids: { max: 40 } }, { cgroupParent });
  t.teardown(() => tenant.close({ wait: true, timeoutMs: 5000 }).catch(() => {}));
  const site = await sleeper(t, { cgroup: tenant });
  const shell = site.exec('/bin/sleep', ['1000'], { stdio: 'ignore' });
  t.teardown(() => shell.dispose());
  await new Promise((resolve, reject) => {
    shell.once('spawn', resolve);
    shell.once('error', reject);
  });
  t.ok(tenant.procs().includes(shell.pid), `the exec'd process ${shell.pid} is in the tenant`);
  t.ok(tenant.stats().pids.current >= 2, 'and counted in its stats');
});

t.test('createTenantCgroup(): the error each bad input gets, before anything is made', async (t) => {
  for (const [args, code, what] of [
    [['../escape'], 'ERR_INVALID_ARG_VALUE', 'a name that is not one path component'],
    [['cgroup.procs'], 'ERR_INVALID_ARG_VALUE', 'a control file\'s name'],
    [[5], 'ERR_INVALID_ARG_TYPE', 'a name that is not a string'],
    [['bad-input', 'x'], 'ERR_INVALID_ARG_TYPE', 'limits that are not an object'],
    [['bad-input', { pids: { max: -1 } }], 'ERR_INVALID_ARG_VALUE', 'a limit out of range'],
    [['bad-input', { bogus: 1 }], 'ERR_CORDON_UNKNOWN_OPTION', 'a limit it does not know'],
    [['bad-input', {}, 'x'], 'ERR_INVALID_ARG_TYPE', 'options that are not an object'],
    [['bad-input', {}, { cgroupParent: 'relative' }], 'ERR_INVALID_ARG_VALUE', 'a relative cgroupParent'],
    [['bad-input', {}, { parent: '/x' }], 'ERR_CORDON_UNKNOWN_OPTION', 'an option it does not know'],
    [['bad-input', {}, { spareLeaves: '2' }], 'ERR_INVALID_ARG_TYPE', 'spareLeaves that is not a number'],
    [['bad-input', {}, { spareLeaves: -1 }], 'ERR_INVALID_ARG_VALUE', 'a negative spareLeaves'],
    [['bad-input', {}, { spareLeaves: 1.5 }], 'ERR_INVALID_ARG_VALUE', 'a fractional spareLeaves'],
    [['bad-input', {}, { spareLeaves: 65 }], 'ERR_INVALID_ARG_VALUE', 'more than 64 spare leaves'],
  ]) {
    t.throws(() => createTenantCgroup(...args), { name: 'CordonOptionError', code }, `${what}: ${code}`);
  }
});
