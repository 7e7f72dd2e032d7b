// Escape attempts from inside a box, the way a hostile tenant would make
// them: test/escape/escape.c (built here with gcc -static) runs every known
// attack, each in its own process with a timeout, and prints one line per
// attack (`<attack> BLOCKED|ESCAPED|ERROR <why>`). Every line is one
// assertion per configuration: a default box, and a hosting configuration
// (overlay templates, a persistent tenant layer, a 65,536-id range, a
// cgroup). Attacks that need the host's side (symlinks planted in tenant
// dirs, exhausting per-user kernel counters, Object.prototype pollution,
// the exit status, mounts and processes of the host) are checked here.
// test/escape/README.md lists the attacks and what stops each.
//
// Attacks that still get through on main are marked `todo` with the topic
// that fixes them; each asserts the real condition, so removing the todo
// once the fix is merged makes it a plain test.
'use strict';
const { removeTree } = require('../helpers/remove-tree');
const { buildEscapePayload, runToEnd, transcript } = require('../helpers/escape-payload');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');
const { spawnIsolated, probe } = require('../..');
const { subordinateRanges } = require('../../dist/identity');
const { HIDDEN_DIRS } = require('../../dist/host-view');
const { isRoot } = require('../helpers/payload');
const { isDead, runNode } = require('../helpers/procfs');
const { cgroupMounts } = require('../helpers/cgroup-fixture');
const { requireOrSkip } = require('../helpers/skip');

// Where the payload's directory is bound in every box (the box's /tmp is
// its own, so the host's temp dir is not visible there).
const BOX_DIR = '/tmp/.escape';
const BOX_BIN = `${BOX_DIR}/escape`;
// What `escape all` exits with: a forged exit record would show another status.
const ALL_EXIT_CODE = 37;
const SIZE_LIMIT = 1024 * 1024 * 1024;


// Attacks that get through on main, by the topic that will fix them: none
// now. A new finding goes here (as a todo) until its fix lands.
const TODO = {};

function todo(name) {
  return TODO[name] === undefined ? {} : { todo: TODO[name] };
}

// ---------------------------------------------------------------- the payload

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-escape-'));
fs.chmodSync(base, 0o755);
const { binDir, bin, built, problem: BUILD_PROBLEM } = buildEscapePayload(base);

// A host path no box may see: in the host's temp dir, which every box replaces.
const hostMarker = path.join(base, 'host-marker');
fs.writeFileSync(hostMarker, 'host\n');

// Outside the host's /tmp, so a default box can see it without a bind: a
// fake HOME with a secret, and a copy of the payload for a box spawned with {}.
const visible = fs.mkdtempSync('/var/tmp/cordon-escape-');
fs.chmodSync(visible, 0o755);
const fakeHome = path.join(visible, 'home');
fs.mkdirSync(fakeHome, { mode: 0o755 });
const secretFile = path.join(fakeHome, '.npmrc');
fs.writeFileSync(secretFile, '//registry.example/:_authToken=cordon-escape-secret\n', { mode: 0o644 });
const visibleBin = path.join(visible, 'escape');
if (built) fs.copyFileSync(bin, visibleBin);

const savedHome = process.env.HOME;
process.env.HOME = fakeHome;

// A host process the box must not reach (the payload tries to SIGKILL it).
const sleeper = spawn('sleep', ['3600'], { stdio: 'ignore' });

const servers = [];
t.teardown(async () => {
  process.env.HOME = savedHome;
  sleeper.kill('SIGKILL');
  for (const server of servers) server.close();
  for (const dir of [base, visible, ...listenerDirs]) removeBestEffort(dir);
});

// Best effort, so one leftover cannot hide the other removals.
function removeBestEffort(dir) {
  try {
    removeTree(dir);
  } catch (error) {
    t.comment(`could not remove ${dir}: ${error.message}`);
  }
}

const attackList = built
  ? spawnSync(bin, ['list'], { encoding: 'utf8' }).stdout.trim().split('\n').map((line) => {
    const [name, needs] = line.split(' ');
    return { name, needs };
  })
  : [];

/** The attacks `escape all` runs with these inputs. */
function expectedAttacks(env) {
  return attackList.filter((a) => a.needs === undefined || (env[a.needs] ?? '') !== '').map((a) => a.name);
}

// ---------------------------------------------------------------- what the host has

// Listening AF_UNIX sockets, mode 0777, in a fresh directory under one of `parents`.
const listenerDirs = [];
async function listener(parents) {
  for (const parent of parents) {
    let dir;
    try {
      dir = fs.mkdtempSync(path.join(parent, 'cordon-escape-'));
    } catch {
      continue;
    }
    listenerDirs.push(dir);
    fs.chmodSync(dir, 0o755);
    const file = path.join(dir, 'sock');
    const server = net.createServer((socket) => socket.destroy());
    servers.push(server);
    await new Promise((resolve, reject) => server.once('error', reject).listen(file, resolve));
    fs.chmodSync(file, 0o777);
    return file;
  }
  return undefined;
}

async function abstractListener() {
  const name = `cordon-escape-${process.pid}`;
  const server = net.createServer((socket) => socket.destroy());
  servers.push(server);
  await new Promise((resolve, reject) => server.once('error', reject).listen(`\0${name}`, resolve));
  return name;
}

/** Pathname and abstract sockets of the host, from its /proc/net/unix. */
function hostSockets(exclude) {
  const paths = new Set();
  const abstract = new Set();
  for (const line of fs.readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)) {
    const name = line.trim().split(/\s+/)[7];
    if (name === undefined) continue;
    if (name.startsWith('@')) {
      abstract.add(name.slice(1));
    } else if (name.startsWith('/') && !exclude.includes(name)) {
      try {
        if (fs.statSync(name).isSocket()) paths.add(name);
      } catch {
        // gone, or not ours to stat
      }
    }
  }
  return { paths: [...paths].slice(0, 50), abstract: [...abstract].filter((n) => !/\s/.test(n)).slice(0, 50) };
}

/** Host cgroup directories the box must not see: this process's own, and the tops of each tree. */
function hostCgroups() {
  const found = new Set();
  const own = fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n').filter(Boolean).map((line) => line.split(':').slice(2).join(':'));
  for (const mount of cgroupMounts()) {
    for (const rel of own) {
      if (rel !== '/' && fs.existsSync(path.join(mount, rel))) found.add(path.join(mount, rel));
    }
    try {
      for (const entry of fs.readdirSync(mount, { withFileTypes: true })) {
        if (entry.isDirectory()) found.add(path.join(mount, entry.name));
      }
    } catch {
      // not readable
    }
  }
  // A hybrid host mounts v1 hierarchies under /sys/fs/cgroup: a box's fresh
  // cgroup mount could hold a controller dir of the same name. Only
  // directories below a hierarchy tell the host's tree.
  const hierarchies = new Set(cgroupMounts());
  return [...found].filter((dir) => !hierarchies.has(dir)).slice(0, 40);
}

function hostNamespaces() {
  return ['user', 'pid', 'net', 'mnt', 'ipc', 'uts', 'cgroup']
    .map((kind) => `${kind}=${fs.readlinkSync(`/proc/self/ns/${kind}`).match(/\[(\d+)\]/)[1]}`)
    .join(',');
}

function realHome() {
  const home = os.userInfo().homedir;
  try {
    fs.readdirSync(home);
    return home;
  } catch {
    return undefined;
  }
}

const mountMarker = `cordon-escape-${process.pid}`;
let hostInputs;

/** The inputs every configuration gets, made once. */
async function inputs() {
  if (hostInputs !== undefined) return hostInputs;
  const runSocket = await listener(['/run', '/run/lock', '/run/user']);
  const varSocket = await listener(['/var/lib', '/var/tmp']);
  const abstract = await abstractListener();
  const host = hostSockets([runSocket, varSocket]);
  const home = realHome();
  hostInputs = {
    PATH: '/usr/bin:/bin',
    ESCAPE_HOST_PIDS: `${process.pid},${sleeper.pid}`,
    ESCAPE_VICTIM_PIDS: String(sleeper.pid),
    ESCAPE_HOST_MARKER: hostMarker,
    ESCAPE_UNIX_RUN: runSocket ?? '',
    ESCAPE_UNIX_VAR: varSocket ?? '',
    ESCAPE_UNIX_HOST: host.paths.join('\n'),
    ESCAPE_UNIX_ABSTRACT: [...host.abstract.filter((n) => n.startsWith(abstract)), ...host.abstract.filter((n) => !n.startsWith(abstract))].join('\n'),
    ESCAPE_SECRET_FILES: secretFile,
    ESCAPE_HOME_DIRS: home ?? '',
    ESCAPE_HOST_IFACES: fs.readdirSync('/sys/class/net').join(','),
    ESCAPE_HOST_CGROUPS: hostCgroups().join('\n'),
    ESCAPE_HOST_NS: hostNamespaces(),
    ESCAPE_MOUNT_MARKER: mountMarker,
    ESCAPE_SIZE_LIMIT: String(SIZE_LIMIT),
  };
  for (const key of Object.keys(hostInputs)) if (hostInputs[key] === '') delete hostInputs[key];
  return hostInputs;
}

// ---------------------------------------------------------------- running boxes

/** Runs the payload in a box; resolves with the result or the spawn error, and the output. */
function runBox(file, args, options, { stdin } = {}) {
  return runToEnd(file, args, options, stdin);
}

/** `name -> { status, detail }` from the payload's lines. */
function verdicts(stdout) {
  const lines = new Map();
  for (const line of stdout.split('\n')) {
    const match = line.match(/^(\S+) (BLOCKED|ESCAPED|ERROR|HOLDING)\b ?(.*)$/);
    if (match) lines.set(match[1], { status: match[2], detail: match[3] });
    else if (line === 'done ' || line === 'done') lines.set('done', { status: 'done', detail: '' });
  }
  return lines;
}


/** One assertion per attack: each must be BLOCKED. Returns the verdicts. */
function assertAllBlocked(t, label, run, expected) {
  const output = transcript(run);
  const lines = verdicts(run.stdout);
  t.equal(run.error, undefined, `${label}: the box ran the payload`, { output });
  t.ok(lines.has('done'), `${label}: the payload got through every attack`, { output });
  for (const name of expected) {
    const line = lines.get(name);
    t.equal(line?.status, 'BLOCKED', `${label}: ${name}: ${line ? `${line.status} ${line.detail}` : 'no verdict'}`, { ...todo(name), output });
  }
  return lines;
}

/** Checks what only the host can tell after an `all` run. */
function assertHostSide(t, label, run) {
  const output = transcript(run);
  t.same(
    run.result && { code: run.result.code, signal: run.result.signal },
    { code: ALL_EXIT_CODE, signal: null },
    `${label}: exit-status: the box reports the payload's own exit status, not a forged one`,
    { ...todo('exit-status'), output },
  );
  t.notOk(isDead(sleeper.pid), `${label}: kill-host-pids: the host process the payload tried to SIGKILL lives`, { output });
  t.notOk(
    fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(mountMarker),
    `${label}: mount-propagation: no mount of the box shows in the host's mountinfo`,
    { output },
  );
}

// ---------------------------------------------------------------- the hosting configuration

// 65,536 ids. Root maps the range from 0. An unprivileged caller maps its
// own id as the box's root and 65,535 ids of its /etc/subuid range (through
// newuidmap) after it: the persistent tenant layer must belong to the box's
// root, and an unprivileged caller cannot give files to its subordinate ids.
const RANGE_COUNT = 65536;
const subuid = subordinateRanges('/etc/subuid')[0];
const subgid = subordinateRanges('/etc/subgid')[0];
const HOSTING_PROBLEM = isRoot
  ? ''
  : !fs.existsSync('/usr/bin/newuidmap')
    ? 'needs newuidmap (Debian: uidmap) to map a range unprivileged'
    : subuid === undefined || subgid === undefined || subuid.count < RANGE_COUNT - 1 || subgid.count < RANGE_COUNT - 1
      ? 'needs 65,535-id ranges for this user in /etc/subuid and /etc/subgid (.ci/run adds nobody:300000:65536)'
      : '';
const idMaps = isRoot
  ? {
    uidMap: [{ inside: 0, outside: 1000000, count: RANGE_COUNT }],
    gidMap: [{ inside: 0, outside: 1000000, count: RANGE_COUNT }],
  }
  : {
    uidMap: [{ inside: 0, outside: process.geteuid(), count: 1 }, { inside: 1, outside: subuid?.start, count: RANGE_COUNT - 1 }],
    gidMap: [{ inside: 0, outside: process.getegid(), count: 1 }, { inside: 1, outside: subgid?.start, count: RANGE_COUNT - 1 }],
  };

// A cgroup needs root here or a delegated subtree (see test/spawn/cgroup.test.js).
const cgroupReport = probe().cgroup;
const canCgroup = ['memory', 'pids'].every((c) => cgroupReport.writableControllers.includes(c));

const templates = path.join(base, 'templates');
const site = path.join(templates, 'site');
const system = path.join(templates, 'system');
for (const [dir, file, content] of [[site, 'etc/site', 'site\n'], [system, 'etc/motd', 'system\n']]) {
  fs.mkdirSync(path.join(dir, path.dirname(file)), { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(dir, file), content);
}
fs.chmodSync(templates, 0o755);
const tenants = path.join(base, 'tenants');
fs.mkdirSync(tenants, { mode: 0o755 });

/** A tenant directory; cordon makes its `upper/` and `work/`. */
function tenantDir(name) {
  const dir = path.join(tenants, name);
  fs.mkdirSync(dir, { mode: 0o755 });
  return dir;
}

/** Every path under `dir`, relative, sorted; a directory this caller cannot read is listed, not entered. */
function tree(dir, prefix = '') {
  let entries;
  try {
    entries = fs.readdirSync(path.join(dir, prefix), { withFileTypes: true });
  } catch {
    return [];
  }
  const found = [];
  for (const entry of entries) {
    const rel = path.join(prefix, entry.name);
    found.push(rel);
    if (entry.isDirectory()) found.push(...tree(dir, rel));
  }
  return found.sort();
}

function hostingOptions(tenant, env, extra = {}) {
  return {
    rootfs: { layers: [site, system], upper: { dir: tenant } },
    ...idMaps,
    ...(canCgroup ? { cgroup: { memory: { max: 256 * 1024 * 1024 }, pids: { max: 64 } } } : {}),
    mounts: [{ type: 'bind', source: binDir, target: BOX_DIR }],
    env,
    ...extra,
  };
}

function defaultOptions(env) {
  return { mounts: [{ type: 'bind', source: binDir, target: BOX_DIR }], env };
}

// ---------------------------------------------------------------- the tests

t.test('a default box: every attack is blocked', async (t) => {
  if (!requireOrSkip(t, built, BUILD_PROBLEM)) return;
  const env = {
    ...(await inputs()),
    // The directories the default view empties (read-only, one shared tmpfs).
    ESCAPE_HIDDEN_DIRS: HIDDEN_DIRS.filter((dir) => fs.existsSync(dir)).join('\n'),
    ESCAPE_LINK_FILES: ['/etc/passwd', '/etc/hostname'].filter((file) => fs.existsSync(file)).join('\n'),
  };
  t.comment(`host listeners: ${env.ESCAPE_UNIX_RUN}, ${env.ESCAPE_UNIX_VAR}; real home: ${env.ESCAPE_HOME_DIRS ?? 'not readable'}`);
  const run = await runBox(BOX_BIN, ['all'], defaultOptions(env));
  assertAllBlocked(t, 'default box', run, expectedAttacks(env));
  assertHostSide(t, 'default box', run);

  // Controls: the same attacks made on the host itself succeed, so a
  // BLOCKED from the box is the box's doing, not a broken attack.
  const controls = ['host-unix-connect-run', 'host-unix-connect-var', 'host-unix-connect-abstract', 'read-home-secret'].filter((name) => expectedAttacks(env).includes(name));
  const control = spawnSync(bin, controls, { env, encoding: 'utf8' });
  const lines = verdicts(control.stdout);
  for (const name of controls) {
    t.equal(lines.get(name)?.status, 'ESCAPED', `control on the host: ${name} works there (${lines.get(name)?.detail})`, { output: control.stdout + control.stderr });
  }
});

t.test('the hosting configuration: every attack is blocked', async (t) => {
  if (!requireOrSkip(t, built, BUILD_PROBLEM)) return;
  if (!requireOrSkip(t, HOSTING_PROBLEM === '', HOSTING_PROBLEM)) return;
  if (!canCgroup) t.comment('no cgroup: this caller has no delegated cgroup with memory and pids (root only here, as in cgroup.test.js)');
  const tenant = tenantDir('hosted');
  const env = {
    ...(await inputs()),
    ESCAPE_HOST_PATHS: [site, system, tenant].join('\n'),
    ESCAPE_SUID_DIRS: '/',
    // A template file, through the overlay.
    ESCAPE_LINK_FILES: '/etc/motd',
  };
  const options = hostingOptions(tenant, env);
  const run = await runBox(BOX_BIN, ['all'], options);
  const lines = assertAllBlocked(t, 'hosting', run, expectedAttacks(env));
  assertHostSide(t, 'hosting', run);

  // The payload planted a setuid-root copy of itself in its persistent
  // layer; a later box of the same tenant runs it as another uid.
  const planted = path.join(tenant, 'upper', 'escape-suid');
  const plantedMode = fs.existsSync(planted) ? fs.statSync(planted).mode & 0o7777 : undefined;
  t.comment(`setuid-plant: ${lines.get('setuid-plant')?.detail}; on the host: ${plantedMode?.toString(8) ?? 'absent'}`);
  if (plantedMode !== undefined && (plantedMode & 0o4000) !== 0) {
    const second = await runBox('/escape-suid', ['ids'], { ...options, uid: 1000, gid: 1000 });
    const ids = second.stdout.match(/ids uid=(\d+) euid=(\d+)/);
    t.ok(ids, 'setuid-plant: the planted copy ran as uid 1000', { output: transcript(second) });
    t.equal(ids?.[2], '1000', `hosting: setuid-plant: euid stays 1000 when uid 1000 runs the tenant's setuid-root copy (euid ${ids?.[2]})`, { output: transcript(second) });
  } else {
    t.equal(lines.get('setuid-plant')?.status, 'BLOCKED', 'hosting: setuid-plant: no setuid copy could be planted', { output: transcript(run) });
  }
});

t.test('tenant dir symlinks: upper -> another tenant, work -> elsewhere', async (t) => {
  if (!requireOrSkip(t, built, BUILD_PROBLEM)) return;
  if (!requireOrSkip(t, HOSTING_PROBLEM === '', HOSTING_PROBLEM)) return;
  // The other tenant's box wrote a file into its layer (every tenant here
  // gets the same range, as an unprivileged supervisor's one /etc/subuid
  // range gives them).
  const other = tenantDir('other');
  const write = await runBox(BOX_BIN, ['write', '/other-tenant-secret', 'other\n'], hostingOptions(other, { PATH: '/usr/bin:/bin' }));
  t.ok(fs.existsSync(path.join(other, 'upper', 'other-tenant-secret')), "the other tenant's box wrote its file", { output: transcript(write) });
  const elsewhere = path.join(base, 'elsewhere');
  fs.mkdirSync(elsewhere);
  fs.chmodSync(elsewhere, 0o777);
  const evil = tenantDir('evil');
  // Planted by the tenant between two boxes (its dir is its own).
  fs.symlinkSync('../other/upper', path.join(evil, 'upper'));
  fs.symlinkSync('../../elsewhere', path.join(evil, 'work'));

  const otherBefore = tree(other);
  const env = { PATH: '/usr/bin:/bin', ESCAPE_FORBIDDEN: '/other-tenant-secret' };
  const run = await runBox(BOX_BIN, ['forbidden-files'], hostingOptions(evil, env));
  const line = verdicts(run.stdout).get('forbidden-files');
  const output = transcript(run);
  t.ok(
    run.error !== undefined || line?.status === 'BLOCKED',
    `tenant-upper-symlink: the box does not see the other tenant's layer (${run.error ? `refused: ${run.error.code} ${run.error.message}` : `${line?.status} ${line?.detail}`})`,
    { output },
  );
  t.same(tree(elsewhere), [], 'tenant-work-symlink: nothing is made where the planted work link points', { output });
  t.same(tree(other), otherBefore, "tenant-upper-symlink: the other tenant's dir is unchanged", { output });
});

t.test('a bind source that is a symlink the tenant planted', async (t) => {
  if (!requireOrSkip(t, built, BUILD_PROBLEM)) return;
  if (!requireOrSkip(t, HOSTING_PROBLEM === '', HOSTING_PROBLEM)) return;
  const victim = tenantDir('victim');
  fs.mkdirSync(path.join(victim, 'www'), { mode: 0o755 });
  fs.writeFileSync(path.join(victim, 'www', 'victim-secret'), 'victim\n', { mode: 0o644 });
  const attacker = tenantDir('attacker');
  fs.mkdirSync(path.join(attacker, 'www'), { mode: 0o755 });
  fs.symlinkSync('../../victim/www', path.join(attacker, 'www', 'public'));

  const env = { PATH: '/usr/bin:/bin', ESCAPE_FORBIDDEN: '/var/www/victim-secret' };
  const options = hostingOptions(attacker, env);
  options.mounts = [...options.mounts, { type: 'bind', source: path.join(attacker, 'www', 'public'), target: '/var/www', readonly: false }];
  const run = await runBox(BOX_BIN, ['forbidden-files'], options);
  const line = verdicts(run.stdout).get('forbidden-files');
  t.ok(
    run.error !== undefined || line?.status === 'BLOCKED',
    `bind-source-symlink: the box does not see the other tenant's files (${run.error ? `refused: ${run.error.code} ${run.error.message}` : `${line?.status} ${line?.detail}`})`,
    { output: transcript(run) },
  );
});

// In a default box, and in the hosting configuration (each box a tenant of
// its own, as two tenants of a supervisor would be).
for (const config of ['default', 'hosting']) {
  t.test(`inotify instances exhausted in one ${config} box: a second box and the supervisor still get one`, async (t) => {
    if (!requireOrSkip(t, built, BUILD_PROBLEM)) return;
    if (config === 'hosting' && !requireOrSkip(t, HOSTING_PROBLEM === '', HOSTING_PROBLEM)) return;
    const env = { PATH: '/usr/bin:/bin' };
    const options = (name) => (config === 'hosting' ? hostingOptions(tenantDir(`inotify-${name}`), env) : defaultOptions(env));
    const hog = spawnIsolated(BOX_BIN, ['inotify-exhaust'], { ...options('hog'), stdio: ['pipe', 'pipe', 'pipe'], timeout: 120_000, killSignal: 'SIGKILL' });
    hog.on('error', () => {});
    let hogOut = '';
    const holding = new Promise((resolve) => {
      hog.stdout.setEncoding('utf8').on('data', (chunk) => {
        hogOut += chunk;
        if (hogOut.includes('\n')) resolve(hogOut);
      });
      hog.stdout.on('end', () => resolve(hogOut));
    });
    let second;
    let supervisor;
    try {
      const line = (await holding).trim();
      const match = line.match(/^inotify-exhaust HOLDING (\d+) (\S+)/);
      t.ok(match && Number(match[1]) > 0, `the box took inotify instances until refused: ${line}`);
      // While the first box holds them all:
      second = await runBox(BOX_BIN, ['inotify-one'], options('second'));
      supervisor = spawnSync(bin, ['inotify-one'], { encoding: 'utf8' });
    } finally {
      hog.stdin.end();
    }
    const hogResult = await hog.exited.catch((error) => ({ error }));
    t.equal(hogResult.code, 0, 'the first box let go of them', { output: hogOut });
    t.match(second.stdout, /inotify-one OK/, `${config}: inotify-exhaust: a second box gets an inotify instance (${second.stdout.trim()})`, { output: transcript(second) });
    t.match(supervisor.stdout, /inotify-one OK/, `${config}: inotify-exhaust: the supervisor gets an inotify instance (${supervisor.stdout.trim()})`);
  });
}

for (const config of ['default', 'hosting']) {
  t.test(`TIOCSTI into the caller's terminal from a ${config} box with stdio 'inherit'`, async (t) => {
    if (!requireOrSkip(t, built, BUILD_PROBLEM)) return;
    if (config === 'hosting' && !requireOrSkip(t, HOSTING_PROBLEM === '', HOSTING_PROBLEM)) return;
    // The supervisor runs on a pseudo-terminal it controls (escape pty-run)
    // and hands it to the box as fds 0-2: what a CLI does with stdio 'inherit'.
    const options = config === 'hosting' ? hostingOptions(tenantDir('tiocsti'), undefined) : defaultOptions(undefined);
    delete options.env;
    const script = `
      const { spawnIsolated } = require(process.env.CORDON);
      const box = spawnIsolated(${JSON.stringify(BOX_BIN)}, ['tiocsti'], { ...JSON.parse(process.env.BOX_OPTIONS), stdio: 'inherit' });
      box.exited.then(() => process.exit(0), (error) => { console.log('spawn failed: ' + error.message); process.exit(1); });
    `;
    const env = { ...process.env, CORDON: path.join(__dirname, '..', '..'), BOX_OPTIONS: JSON.stringify(options) };
    const inBox = spawnSync(bin, ['pty-run', process.execPath, '-e', script], { env, encoding: 'utf8', timeout: 60_000 });
    const onHost = spawnSync(bin, ['pty-run', bin, 'tiocsti'], { encoding: 'utf8', timeout: 60_000 });
    // An input pushed on the host's side is echoed before the line: "#tiocsti ESCAPED".
    const hostLine = verdicts(onHost.stdout.replace(/\r/g, '').replace(/^#+/gm, '')).get('tiocsti');
    t.comment(`control, the same attack on the host's side of the terminal: ${hostLine?.status} ${hostLine?.detail}`);
    const line = verdicts(inBox.stdout.replace(/\r/g, '')).get('tiocsti');
    t.equal(inBox.status, 0, 'the box ran on the terminal', { output: inBox.stdout + inBox.stderr });
    t.notMatch(line?.detail ?? '', /fd 0: ENOTTY/, "the box's fd 0 is the caller's terminal", { output: inBox.stdout + inBox.stderr });
    t.equal(line?.status, 'BLOCKED', `${config}: tiocsti-terminal: ${line ? `${line.status} ${line.detail}` : 'no verdict'}`, { output: inBox.stdout + inBox.stderr });
  });
}

t.test('Object.prototype pollution does not loosen a box spawned with {}', async (t) => {
  if (!requireOrSkip(t, built, BUILD_PROBLEM)) return;
  // The payload is first run from a copy outside the host's /tmp, which a
  // box spawned with {} may see; if the default view hides it (ENOENT), it
  // is run again through the usual bind, still under the polluted prototype.
  // A spawn that refuses to run under a polluted prototype (a
  // CordonOptionError from {}) is safe too.
  const source = `
    const { spawnIsolated } = require(process.env.CORDON);
    Object.prototype.namespaces = { user: 'host', pid: 'host', net: 'host', mount: 'host', ipc: 'host', uts: 'host', cgroup: 'host' };
    Object.prototype.allowHostCredentials = true;
    Object.prototype.net = 'host';
    const args = ['ESCAPE_HOST_NS=' + process.env.ESCAPE_HOST_NS, 'namespaces', 'host-root'];
    function attempt(file, options) {
      let box;
      try {
        box = spawnIsolated(file, args, options);
      } catch (error) {
        return Promise.resolve({ thrown: String(error && error.stack || error), optionError: error instanceof TypeError && typeof error.code === 'string' });
      }
      box.on('error', () => {});
      const out = [];
      box.stdout?.on('data', (d) => out.push(d));
      return box.exited.then(
        (r) => ({ code: r.code, signal: r.signal, stdout: Buffer.concat(out).toString() }),
        (error) => ({ error: String(error && error.message || error), code: error && error.code }),
      );
    }
    (async () => {
      const attempts = [await attempt(process.env.ESCAPE_BIN, {})];
      if (attempts[0].code === 'ENOENT') {
        attempts.push(await attempt(process.env.ESCAPE_BOX_BIN, { mounts: [{ type: 'bind', source: process.env.ESCAPE_BIN_DIR, target: process.env.ESCAPE_BOX_DIR }] }));
      }
      for (const key of ['namespaces', 'allowHostCredentials', 'net']) delete Object.prototype[key];
      console.log(JSON.stringify(attempts));
    })();
  `;
  const { done } = runNode(source, {
    env: { ESCAPE_BIN: visibleBin, ESCAPE_BOX_BIN: BOX_BIN, ESCAPE_BIN_DIR: binDir, ESCAPE_BOX_DIR: BOX_DIR, ESCAPE_HOST_NS: hostNamespaces() },
  });
  const child = await done;
  let attempts;
  try {
    attempts = JSON.parse(child.stdout.trim().split('\n').pop());
  } catch {
    attempts = [{ error: `no report: ${child.stdout} ${child.stderr}` }];
  }
  const last = attempts.at(-1);
  const output = JSON.stringify(attempts, null, 2);
  const refused = attempts[0].optionError === true;
  const lines = verdicts(last.stdout ?? '');
  for (const [name, what] of [['namespaces', 'has new namespaces'], ['host-root', 'is not host root']]) {
    const line = lines.get(name);
    t.ok(
      refused || line?.status === 'BLOCKED',
      `prototype-pollution: the box ${what} (${refused ? `refused: ${attempts[0].thrown.split('\n')[0]}` : line ? `${line.status} ${line.detail}` : last.thrown ?? last.error})`,
      { output },
    );
  }
});
