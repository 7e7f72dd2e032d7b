// Per-user kernel counters (ucounts): the kernel counts inotify instances,
// namespaces, mqueue bytes, pending signals, ... per (user namespace, uid)
// and charges every box to the caller's uid on the host as well. A box that
// takes all it may must leave the caller (the supervisor) and a second box
// theirs. A small C helper (kernel-counters.c, built here with cc) takes as
// much of one counter as it is given, in a box and on the host alike.
'use strict';
const { removeTree } = require('../helpers/remove-tree');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');
const { spawnIsolated, createNamespacePool } = require('../..');
const { isRoot, runSh, spawnError } = require('../helpers/payload');
const { requireOrSkip, skipExpected } = require('../helpers/skip');

const EAGAIN = 11;
const EPERM = 1;
const EMFILE = 24;
const ENOSPC = 28;

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-ucounts-'));
t.teardown(() => removeTree(work));
fs.chmodSync(work, 0o755);
const helper = path.join(work, 'kernel-counters');
const build = spawnSync('cc', ['-O1', '-Wall', '-o', helper, path.join(__dirname, 'kernel-counters.c')], { encoding: 'utf8' });
const built = build.error === undefined && build.status === 0;
// The helper lives in a host directory the box sees at the same path.
const seeHelper = { mounts: [{ type: 'bind', source: work, target: work }] };

/** The caller's own /proc/sys/user/<file>, as the host's level of its boxes' counts. */
function callerSysctl(file) {
  return Number(fs.readFileSync(`/proc/sys/user/${file}`, 'utf8'));
}

/** The caller's own soft limit from /proc/self/limits (undefined: unlimited). */
function callerRlimit(row) {
  const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith(row));
  const soft = line.slice(row.length).trim().split(/\s+/)[0];
  return soft === 'unlimited' ? undefined : Number(soft);
}

/** The first line of a stream, or undefined at its end. */
function firstLine(stream) {
  return new Promise((resolve) => {
    let text = '';
    const onData = (chunk) => {
      text += chunk;
      const newline = text.indexOf('\n');
      if (newline < 0) return;
      stream.off('data', onData);
      stream.resume();
      resolve(text.slice(0, newline));
    };
    stream.setEncoding('utf8');
    stream.on('data', onData);
    stream.once('end', () => resolve(undefined));
  });
}

function parse(line, stderr, where) {
  if (line === undefined) throw new Error(`${where}: the helper printed nothing: ${stderr()}`);
  const [count, errno] = line.split(' ').map(Number);
  return { count, errno };
}

/** Takes up to `max` of `what` in a box; with `hold` keeps it until release(). */
async function inBox(what, max, options = {}, hold = true) {
  const box = spawnIsolated(helper, [what, String(max), ...(hold ? ['hold'] : [])], { ...seeHelper, ...options });
  const errors = [];
  box.stderr.on('data', (d) => errors.push(d));
  const exited = box.exited.catch((error) => error);
  const line = await Promise.race([firstLine(box.stdout), exited.then((result) => {
    if (result instanceof Error) throw result;
  })]);
  const taken = parse(line, () => Buffer.concat(errors).toString(), `box ${what}`);
  return {
    ...taken,
    release: async () => {
      box.stdin.end();
      const result = await exited;
      if (result instanceof Error) throw result;
      return result;
    },
  };
}

/** The supervisor's turn: the same helper on the host, as the caller; with `hold`, kept until release(). */
async function onHost(what, max, hold = false) {
  const child = spawn(helper, [what, String(max), ...(hold ? ['hold'] : [])], { stdio: ['pipe', 'pipe', 'pipe'] });
  const errors = [];
  child.stderr.on('data', (d) => errors.push(d));
  const closed = new Promise((resolve) => child.once('close', resolve));
  if (!hold) child.stdin.end();
  const line = await firstLine(child.stdout);
  const taken = parse(line, () => Buffer.concat(errors).toString(), `host ${what}`);
  if (!hold) {
    await closed;
    return taken;
  }
  return { ...taken, release: async () => { child.stdin.end(); await closed; } };
}

/**
 * Box one takes all it may and holds it; box two then takes all it may;
 * then the supervisor takes `hostWants`. Checks each against `expect`.
 */
async function twoBoxesAndTheSupervisor(t, what, { max, options = {}, perBox, errno, hostWants = 1 }) {
  const first = await inBox(what, max, options);
  try {
    const second = await inBox(what, max, options);
    try {
      const host = await onHost(what, hostWants);
      perBox(first, 'the first box');
      t.equal(first.errno, errno, 'the first box is stopped by its own limit');
      perBox(second, 'the second box, while the first holds all it may');
      t.equal(second.errno, errno, 'so is the second');
      t.same(host, { count: hostWants, errno: 0 }, 'the supervisor still gets its own, while both boxes hold theirs');
    } finally {
      await second.release();
    }
  } finally {
    await first.release();
  }
}

t.test('the helper builds', async (t) => {
  if (!requireOrSkip(t, build.error === undefined, `no C compiler (cc): ${build.error?.message}`)) return;
  t.equal(build.status, 0, `cc: ${build.stderr}`);
});

t.test('inotify instances: one box cannot take the caller\'s', async (t) => {
  if (!requireOrSkip(t, built, 'the helper is not built')) return;
  const limit = Math.min(32, Math.floor(callerSysctl('max_inotify_instances') / 4));
  await twoBoxesAndTheSupervisor(t, 'inotify-instances', {
    max: 1000,
    errno: EMFILE,
    perBox: (taken, who) => t.equal(taken.count, limit, `${who} gets the default share, ${limit}`),
  });
});

t.test('inotify watches: the per-box limit holds', async (t) => {
  if (!requireOrSkip(t, built, 'the helper is not built')) return;
  await twoBoxesAndTheSupervisor(t, 'inotify-watches', {
    max: 1000,
    options: { kernelCounters: { inotifyWatches: 64 } },
    errno: ENOSPC,
    perBox: (taken, who) => t.equal(taken.count, 64, `${who} gets 64 watches`),
  });
});

t.test('fanotify groups: refused by the default filter; allowed, one box cannot take the caller\'s', async (t) => {
  if (!requireOrSkip(t, built, 'the helper is not built')) return;
  const refused = await inBox('fanotify-groups', 1, {}, false);
  await refused.release();
  t.same({ count: refused.count, errno: refused.errno }, { count: 0, errno: EPERM }, 'a default box gets EPERM from fanotify_init');
  const limit = Math.min(32, Math.floor(callerSysctl('max_fanotify_groups') / 4));
  await twoBoxesAndTheSupervisor(t, 'fanotify-groups', {
    max: 1000,
    options: { seccomp: { allow: ['fanotify_init'] } },
    errno: EMFILE,
    perBox: (taken, who) => t.equal(taken.count, limit, `${who} gets the default share, ${limit}`),
  });
});

t.test('user namespaces: the per-box limit holds (seccomp off, as nested sandboxes need)', async (t) => {
  if (!requireOrSkip(t, built, 'the helper is not built')) return;
  await twoBoxesAndTheSupervisor(t, 'user-namespaces', {
    max: 100,
    options: { seccomp: false, kernelCounters: { userNamespaces: 3 } },
    errno: ENOSPC,
    perBox: (taken, who) => t.equal(taken.count, 3, `${who} makes 3`),
  });
});

t.test('mqueue bytes: one box cannot take the caller\'s RLIMIT_MSGQUEUE', async (t) => {
  if (!requireOrSkip(t, built, 'the helper is not built')) return;
  const callerBytes = callerRlimit('Max msgqueue size');
  if (!requireOrSkip(t, callerBytes !== undefined, 'the caller\'s RLIMIT_MSGQUEUE is unlimited: nothing to share out')) return;
  const limit = Math.floor(callerBytes / 4);
  await twoBoxesAndTheSupervisor(t, 'mqueue-bytes', {
    max: 1000,
    errno: EMFILE,
    // A queue of ten 8 KiB messages is charged 80 KiB and a little.
    perBox: (taken, who) => {
      t.ok(taken.count >= 1, `${who} makes a queue`);
      t.ok(taken.count * 81920 <= limit, `${who} stays within ${limit} bytes (${taken.count} queues)`);
    },
  });
});

t.test('pending signals: one box cannot take the caller\'s RLIMIT_SIGPENDING', async (t) => {
  if (!requireOrSkip(t, built, 'the helper is not built')) return;
  const callerSignals = callerRlimit('Max pending signals');
  if (!requireOrSkip(t, callerSignals !== undefined, 'the caller\'s RLIMIT_SIGPENDING is unlimited')) return;
  const limit = Math.floor(callerSignals / 4);
  await twoBoxesAndTheSupervisor(t, 'pending-signals', {
    max: callerSignals + 1,
    errno: EAGAIN,
    perBox: (taken, who) => t.equal(taken.count, limit, `${who} queues ${limit}`),
  });
});

t.test('processes: RLIMIT_NPROC counts each box\'s uid apart', async (t) => {
  if (!requireOrSkip(t, built, 'the helper is not built')) return;
  // The box's init and the helper count too: uid 0 of each box has 8.
  await twoBoxesAndTheSupervisor(t, 'processes', {
    max: 100,
    options: { rlimits: { nproc: 8 } },
    errno: EAGAIN,
    perBox: (taken, who) => t.equal(taken.count, 6, `${who} forks 6 beside its init and the helper`),
  });
});

const SHOW_USER_SYSCTLS = 'cd /proc/sys/user && for f in *; do echo "$f $(cat $f)"; done';
const share = (file) => Math.min({ max_inotify_instances: 32, max_fanotify_groups: 32, max_inotify_watches: 8192, max_fanotify_marks: 8192 }[file] ?? 64, Math.floor(callerSysctl(file) / 4));

t.test('the defaults are in the box: a share of the caller\'s limits', async (t) => {
  const result = await runSh(`${SHOW_USER_SYSCTLS}; grep -E "^Max (processes|msgqueue|pending|locked)" /proc/self/limits`);
  t.equal(result.code, 0, result.stderr);
  for (const file of fs.readdirSync('/proc/sys/user')) {
    // The default filter refuses every call that makes a namespace (the next
    // test) and fanotify_init: their counters are left at the namespace's own INT_MAX.
    const expected = /_namespaces$|_fanotify_/.test(file) ? 2147483647 : share(file);
    t.match(result.stdout, new RegExp(`^${file} ${expected}$`, 'm'), `${file} is ${expected}`);
  }
  for (const row of ['Max processes', 'Max msgqueue size', 'Max pending signals', 'Max locked memory']) {
    const caller = callerRlimit(row);
    if (caller === undefined) continue;
    const share = Math.floor(caller / 4);
    t.match(result.stdout, new RegExp(`^${row}\\s+${share}\\s+${share}\\s`, 'm'), `${row}: a quarter of the caller's, soft and hard`);
  }
});

t.test('a default box makes no namespace of any kind, so their counters need no limit', async (t) => {
  // Each through the call the default filter must refuse: unshare and clone
  // (with one flag each), clone3 (ENOSYS, any flags), and open_tree's
  // anonymous mount namespace. perl's syscall() reaches them without helpers.
  const flags = { user: 0x10000000, mnt: 0x00020000, pid: 0x20000000, net: 0x40000000, ipc: 0x08000000, uts: 0x04000000, cgroup: 0x02000000, time: 0x80 };
  const nr = process.arch === 'arm64' ? { unshare: 97, clone: 220, clone3: 435, open_tree: 428 } : { unshare: 272, clone: 56, clone3: 435, open_tree: 428 };
  const calls = [
    ...Object.entries(flags).map(([kind, flag]) => [`unshare ${kind}`, `syscall(${nr.unshare}, ${flag})`]),
    ...Object.entries(flags).filter(([kind]) => kind !== 'time').map(([kind, flag]) => [`clone ${kind}`, `syscall(${nr.clone}, ${flag} | 17, 0, 0, 0, 0)`]),
    ['clone3', `syscall(${nr.clone3}, pack("Q11", ${flags.user}, (0) x 10), 88)`],
    ['open_tree clone', `syscall(${nr.open_tree}, -100, $root, 1 | 0x80000)`],
  ];
  const script = '$root = "/"; ' + calls.map(([name, call]) => `$r = ${call}; print "${name} ", ($r < 0 ? "refused $!" : "made"), "\\n"; exit 0 if $r == 0;`).join(' ');
  const perl = ['/usr/bin/perl', '/bin/perl'].find((file) => fs.existsSync(file));
  if (!requireOrSkip(t, perl !== undefined, 'needs perl in the box to make raw system calls')) return;
  const result = await runSh(`perl -e '${script}'; ${SHOW_USER_SYSCTLS}`);
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stderr, '', 'perl ran every call');
  for (const [name] of calls) t.match(result.stdout, new RegExp(`^${name} refused (Operation not permitted|Function not implemented)$`, 'm'), `${name} is refused`);
  t.notMatch(result.stdout, /made/, 'no call made a namespace');

  // A filter that lets the box make them gets their counters' defaults
  // (no filter: every counter's; fanotify_init is refused by the default profile).
  for (const seccomp of [false, { allow: ['unshare'] }]) {
    const loose = await runSh(SHOW_USER_SYSCTLS, { seccomp });
    t.equal(loose.code, 0, loose.stderr);
    for (const file of fs.readdirSync('/proc/sys/user')) {
      const expected = seccomp !== false && /_fanotify_/.test(file) ? 2147483647 : share(file);
      t.match(loose.stdout, new RegExp(`^${file} ${expected}$`, 'm'), `seccomp ${JSON.stringify(seccomp)}: ${file} is ${expected}`);
    }
  }
});

t.test('given limits and \'unlimited\' replace the defaults; given rlimits too', async (t) => {
  const result = await runSh('cat /proc/sys/user/max_inotify_instances /proc/sys/user/max_user_namespaces; grep "^Max msgqueue" /proc/self/limits', {
    kernelCounters: { inotifyInstances: 5, userNamespaces: 'unlimited' },
    rlimits: { msgqueue: 4096 },
  });
  t.equal(result.code, 0, result.stderr);
  const [instances, namespaces, msgqueue] = result.stdout.trim().split('\n');
  t.equal(instances, '5');
  t.equal(namespaces, '2147483647', 'unlimited leaves the namespace\'s own INT_MAX');
  t.match(msgqueue, /\s4096\s+4096\s/);
});

t.test('the box cannot raise its limits again', async (t) => {
  const result = await runSh('echo 1000 > /proc/sys/user/max_inotify_instances; cat /proc/sys/user/max_inotify_instances');
  t.match(result.stderr, /Permission denied|Read-only|Operation not permitted/, 'the write is refused');
  t.equal(result.stdout.trim(), String(Math.min(32, Math.floor(callerSysctl('max_inotify_instances') / 4))));
});

t.test('a pooled user namespace is the box\'s own: it gets the defaults', async (t) => {
  const pool = createNamespacePool({ size: 1 });
  t.teardown(() => pool.close());
  await pool.ready();
  const result = await runSh('cat /proc/sys/user/max_inotify_instances', { netnsPool: pool });
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stdout.trim(), String(Math.min(32, Math.floor(callerSysctl('max_inotify_instances') / 4))));
});

t.test('a joined user namespace gets only what is given', async (t) => {
  const holder = spawnIsolated('/bin/sh', ['-c', 'read line'], {});
  t.teardown(async () => {
    holder.stdin.end();
    await holder.exited;
  });
  await new Promise((resolve) => holder.once('spawn', resolve));
  const joined = { namespaces: { user: { path: `/proc/${holder.pid}/ns/user` } } };
  const untouched = await runSh('cat /proc/sys/user/max_inotify_instances', joined);
  t.equal(untouched.code, 0, untouched.stderr);
  t.equal(untouched.stdout.trim(), String(Math.min(32, Math.floor(callerSysctl('max_inotify_instances') / 4))), 'the holder\'s own defaults, not rewritten');
  const given = await runSh('cat /proc/sys/user/max_inotify_instances', { ...joined, kernelCounters: { inotifyInstances: 7 } });
  t.equal(given.code, 0, given.stderr);
  t.equal(given.stdout.trim(), '7', 'written into the joined namespace');
});

t.test('a root caller\'s box without a user namespace: the host\'s limits stay', async (t) => {
  if (!skipExpected(t, isRoot, "unprivileged pass (root only: namespaces.user 'host' with a host uid)")) return;
  const before = fs.readFileSync('/proc/sys/user/max_inotify_instances', 'utf8').trim();
  const result = await runSh('cat /proc/sys/user/max_inotify_instances; grep "^Max pending" /proc/self/limits', { namespaces: { user: 'host' }, uid: 65534, gid: 65534 });
  t.equal(result.code, 0, result.stderr);
  const [instances, pending] = result.stdout.trim().split('\n');
  t.equal(instances, before, 'the host\'s limit, shown and not written');
  t.match(pending, new RegExp(`\\s${callerRlimit('Max pending signals') ?? 'unlimited'}\\s`), 'the caller\'s rlimit, not a share');
  t.equal(fs.readFileSync('/proc/sys/user/max_inotify_instances', 'utf8').trim(), before);
});

t.test('bad kernelCounters are refused before anything runs', async (t) => {
  const { CordonOptionError } = require('../..');
  const cases = [
    [{ kernelCounters: 32 }, 'ERR_INVALID_ARG_TYPE', 'kernelCounters'],
    [{ kernelCounters: { inotifyInstance: 3 } }, 'ERR_CORDON_UNKNOWN_OPTION', 'kernelCounters.inotifyInstance'],
    [{ kernelCounters: { inotifyInstances: -1 } }, 'ERR_INVALID_ARG_VALUE', 'kernelCounters.inotifyInstances'],
    [{ kernelCounters: { inotifyWatches: 2 ** 31 } }, 'ERR_INVALID_ARG_VALUE', 'kernelCounters.inotifyWatches'],
    [{ kernelCounters: { userNamespaces: 'none' } }, 'ERR_INVALID_ARG_TYPE', 'kernelCounters.userNamespaces'],
    [{ kernelCounters: {}, namespaces: { user: 'host' }, ...(isRoot ? { uid: 65534, gid: 65534 } : {}) }, 'ERR_CORDON_CONFLICTING_OPTIONS', 'kernelCounters'],
  ];
  for (const [options, code, option] of cases) {
    let thrown;
    try {
      spawnIsolated('/bin/true', [], options);
    } catch (error) {
      thrown = error;
    }
    t.type(thrown, CordonOptionError, `${JSON.stringify(options)} throws a CordonOptionError`);
    t.match(thrown, { code, option }, `${JSON.stringify(options)}: ${code} ${option}`);
  }
});

t.test('each limit is a named step with its file, so a refusal names it', async (t) => {
  const { validateOptions } = require('../../dist/validate');
  const { buildPlan } = require('../../dist/plan');
  const { hintFor } = require('../../dist/errors');
  const counterLimits = { sysctl: { inotifyInstances: 128, fanotifyGroups: 128, timeNamespaces: 1000 }, rlimits: { msgqueue: 819200 } };
  const caller = { euid: 1000, egid: 1000, counterLimits };
  const plan = (options) => buildPlan(validateOptions('/bin/true', [], { init: false, ...options }), { stdio: [], namespaces: {} }, caller).steps;
  const limits = plan({}).filter((step) => step.kind === 'ucount' || step.op === 'setRlimit');
  const { fieldOf } = require('../../dist/internal/steps');
  const value = (step) => step.op === 'setRlimit'
    ? ['resource', 'soft', 'hard'].map((name) => fieldOf(step, 'setRlimit', name))
    : fieldOf(step, 'writeExisting', 'text');
  t.same(limits.map((step) => [step.name, step.path, value(step)]), [
    ['limit user.max_inotify_instances', '/proc/sys/user/max_inotify_instances', '32'],
    ['set rlimit core', undefined, [4, 0, 0]],
    ['set rlimit msgqueue', undefined, [12, 204800, 204800]],
  ], 'only the counters this kernel has get a default; the namespace and fanotify ones only where the filter lets the box make them');
  const counters = (options) => plan(options).filter((step) => step.kind === 'ucount').map((step) => [step.name, step.path, value(step)]);
  const [inotify, fanotify, time] = [
    ['limit user.max_inotify_instances', '/proc/sys/user/max_inotify_instances', '32'],
    ['limit user.max_fanotify_groups', '/proc/sys/user/max_fanotify_groups', '32'],
    ['limit user.max_time_namespaces', '/proc/sys/user/max_time_namespaces', '64'],
  ];
  const all = [inotify, fanotify, time];
  t.same(counters({ seccomp: false }), all, 'no filter: the namespace and fanotify counters get their defaults');
  t.same(counters({ allowNewPrivileges: true }), all, 'no filter (new privileges allowed): the same');
  t.same(counters({ seccomp: { profile: 'none' } }), all, "profile 'none': the same");
  for (const maker of ['unshare', 'clone', 'clone3', 'open_tree', 'fsmount']) {
    t.same(counters({ seccomp: { allow: [maker] } }), [inotify, time], `allow ${maker}: the namespace counters`);
  }
  t.same(counters({ seccomp: { allow: ['fanotify_init'] } }), [inotify, fanotify], 'allow fanotify_init: the fanotify counters');
  t.same(counters({ seccomp: { mode: 'allowlist', allow: ['execve', 'fanotify_init', 'exit_group'] } }), [inotify, fanotify], 'allowlist naming fanotify_init: the same');
  t.same(counters({ seccomp: { mode: 'allowlist', allow: ['execve', 'exit_group'] } }), [inotify], 'allowlist without it: refused, none');
  t.same(counters({ seccomp: { allow: ['ptrace'], deny: ['setns'] } }), [inotify], 'a filter that still refuses them: none');
  t.same(counters({ kernelCounters: { timeNamespaces: 3 } }), [inotify, [...time.slice(0, 2), '3']], 'a given namespace limit is written all the same');
  const given = plan({ kernelCounters: { fanotifyGroups: 2 } }).filter((step) => step.kind === 'ucount').map((step) => step.name);
  t.ok(given.includes('limit user.max_fanotify_groups'), 'a given limit is written even where the caller has none: its failure then names it');
  const becomeRoot = plan({}).findIndex((step) => step.name === 'become box root');
  const drop = plan({}).findIndex((step) => step.op === 'dropCapabilities');
  const first = plan({}).findIndex((step) => step.kind === 'ucount');
  t.ok(becomeRoot < first && first < drop, 'written by the box\'s root, before it drops its capabilities');
  t.match(hintFor('ucount', 'ENOENT', { privileged: false }), /probe\(\)\.kernelCounters/);
});

// A root supervisor's boxes are charged to the host's root unless their user
// namespace is owned by the tenant's host uid: then each tenant has the
// host's whole per-user limit, and the supervisor (root) keeps its own.
t.test('userNamespaceOwner \'box\': a root supervisor\'s tenant is charged to its own host uid', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass (root only: the namespace owner is a host uid)')) return;
  if (!requireOrSkip(t, built, 'the helper is not built')) return;
  const { spawnIsolatedAsync } = require('../..');
  const tenant = (outside) => ({
    uidMap: [{ inside: 0, outside, count: 65536 }],
    gidMap: [{ inside: 0, outside, count: 65536 }],
    userNamespaceOwner: 'box',
    kernelCounters: { inotifyInstances: 'unlimited' },
  });
  const all = callerSysctl('max_inotify_instances');
  // The supervisor holds one of its own throughout: a box charged to root would get one fewer.
  const held = await onHost('inotify-instances', 1, true);
  t.teardown(() => held.release());
  const first = await inBox('inotify-instances', all + 10, tenant(3100000));
  try {
    t.same({ count: first.count, errno: first.errno }, { count: all, errno: EMFILE }, 'the tenant takes its uid\'s whole limit, none of root\'s');
    t.same(await onHost('inotify-instances', 1), { count: 1, errno: 0 }, 'root still gets its own');
    // Spawned from a libuv worker thread: the owner switch is that thread's alone.
    const box = await spawnIsolatedAsync(helper, ['inotify-instances', '5'], { ...seeHelper, ...tenant(3200000) });
    const line = await firstLine(box.stdout);
    await box.exited;
    t.equal(line, '5 0', 'another tenant has its own uid\'s instances');
    const uids = fs.readdirSync('/proc/self/task').map((task) => {
      try {
        return fs.readFileSync(`/proc/self/task/${task}/status`, 'utf8').match(/^Uid:\s+(.*)$/m)[1].split(/\s+/).join(' ');
      } catch {
        return '0 0 0 0'; // a thread that ended meanwhile
      }
    });
    t.same([...new Set(uids)], ['0 0 0 0'], 'every thread of the supervisor is root again');
  } finally {
    await first.release();
  }
});

t.test('userNamespaceOwner is refused where it cannot hold', async (t) => {
  const { CordonOptionError } = require('../..');
  const range = { uidMap: [{ inside: 0, outside: 3100000, count: 1 }], gidMap: [{ inside: 0, outside: 3100000, count: 1 }] };
  const cases = isRoot
    ? [
      [{ userNamespaceOwner: 'tenant' }, 'ERR_INVALID_ARG_VALUE'],
      [{ userNamespaceOwner: 'box' }, 'ERR_CORDON_CONFLICTING_OPTIONS', 'the default map: nobody'],
      [{ userNamespaceOwner: 'box', uidMap: [{ inside: 1, outside: 3100000, count: 1 }], gidMap: range.gidMap, uid: 1, gid: 0 }, 'ERR_CORDON_CONFLICTING_OPTIONS', 'the box\'s uid 0 unmapped'],
      [{ userNamespaceOwner: 'box', namespaces: { user: 'host' }, uid: 3100000, gid: 3100000 }, 'ERR_CORDON_CONFLICTING_OPTIONS', 'no user namespace'],
    ]
    : [[{ userNamespaceOwner: 'box', ...range }, 'ERR_CORDON_CONFLICTING_OPTIONS', 'an unprivileged caller']];
  for (const [options, code, why = ''] of cases) {
    let thrown;
    try {
      spawnIsolated('/bin/true', [], options);
    } catch (error) {
      thrown = error;
    }
    t.type(thrown, CordonOptionError, `${why} throws a CordonOptionError`);
    t.match(thrown, { code, option: 'userNamespaceOwner' }, `${why}: ${thrown?.message}`);
  }
});
