// Credentials and limits, proven from inside the box.
'use strict';
const { removeTree } = require('../helpers/remove-tree');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');
const { skipExpected } = require('../helpers/skip');
const { runSh, run, spawnError, isRoot } = require('../helpers/payload');
const { spawnIsolated } = require('../..');

const BIND_80 = 'use IO::Socket::INET; my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 80, Listen => 1) or die "bind: $!\\n"; print "bound\\n"';
const tenantMaps = {
  uidMap: [{ inside: 0, outside: isRoot ? 65534 : process.geteuid(), count: 1 }, ...(isRoot ? [{ inside: 1000, outside: 101000, count: 1 }] : [])],
  gidMap: [{ inside: 0, outside: isRoot ? 65534 : process.getegid(), count: 1 }, ...(isRoot ? [{ inside: 1000, outside: 101000, count: 1 }] : [])],
};

t.test('no capabilities by default, and no_new_privs', async (t) => {
  const result = await runSh('grep -E "^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs)" /proc/self/status');
  const fields = Object.fromEntries(result.stdout.trim().split('\n').map((l) => l.split(/:\s+/)));
  t.same(fields, { CapInh: '0000000000000000', CapPrm: '0000000000000000', CapEff: '0000000000000000', CapBnd: '0000000000000000', CapAmb: '0000000000000000', NoNewPrivs: '1' });
});

t.test('a kept capability is ambient and works for a non-root uid', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass (root only: an unprivileged caller maps one uid only)')) return;
  const result = await run('/usr/bin/perl', ['-e', `print "uid $<\\n"; ${BIND_80}`], { ...tenantMaps, uid: 1000, gid: 1000, capabilities: ['CAP_NET_BIND_SERVICE'] });
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stdout, 'uid 1000\nbound\n');
  const without = await run('/usr/bin/perl', ['-e', BIND_80], { ...tenantMaps, uid: 1000, gid: 1000 });
  t.not(without.code, 0, 'without it, port 80 is refused');
  t.match(without.stderr, /Permission denied/);
});

t.test('kept capability sets as configured', async (t) => {
  const result = await runSh('grep -E "^Cap(Prm|Eff|Bnd|Amb)" /proc/self/status', { capabilities: ['CAP_NET_BIND_SERVICE', 'kill'] });
  for (const line of result.stdout.trim().split('\n')) t.match(line, /\t0000000000000420$/, line);
});

t.test('a setuid-root binary does not escalate', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-suid-'));
  t.teardown(() => removeTree(dir));
  fs.chmodSync(dir, 0o755);
  const suid = path.join(dir, 'id');
  fs.copyFileSync('/usr/bin/id', suid);
  fs.chmodSync(suid, 0o4755);
  const result = await run(suid, ['-u'], { ...tenantMaps, uid: isRoot ? 1000 : 0, gid: isRoot ? 1000 : 0, mounts: [{ type: 'bind', source: dir, target: dir }] });
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stdout.trim(), isRoot ? '1000' : '0', 'euid unchanged');
});

t.test('rlimits appear in /proc/self/limits and hold', async (t) => {
  const limits = await runSh('cat /proc/self/limits', { rlimits: { nofile: { soft: 100, hard: 200 }, fsize: 1 << 20, stack: 'unlimited', msgqueue: 4096 } });
  t.match(limits.stdout, /Max open files\s+100\s+200\s/);
  t.match(limits.stdout, /Max file size\s+1048576\s+1048576\s/);
  t.match(limits.stdout, /Max stack size\s+unlimited\s+unlimited/);
  t.match(limits.stdout, /Max msgqueue size\s+4096\s+4096/);
  t.match(limits.stdout, /Max core file size\s+0\s+0\s/, 'core dumps off by default');

  const fsize = await run('/bin/dd', ['if=/dev/zero', 'of=/tmp/big', 'bs=4096', 'count=1024'], { rlimits: { fsize: 65536 } });
  t.equal(fsize.signal, 'SIGXFSZ', 'writing past fsize gets SIGXFSZ');

  // nproc counts the processes of the uid on the host; a fresh tenant uid has none.
  const uid = isRoot ? { ...tenantMaps, uid: 1000, gid: 1000 } : {};
  const nproc = await runSh('for i in 1 2 3 4 5 6; do sleep 1 & done; wait; echo done', { ...uid, rlimits: { nproc: 3 } });
  t.match(nproc.stderr, /fork|Resource temporarily unavailable/i, 'forks beyond nproc fail');
});

t.test("rlimits are the payload's alone: cordon's init and child never run under them", async (t) => {
  // Limits neither cordon's init nor its child could start under: each box
  // must fare exactly as the payload would, with or without the init.
  async function outcome(file, args, options) {
    const box = spawnIsolated(file, args, { ...options, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    box.stdout?.on('data', (d) => (out += d));
    try {
      const result = await box.exited;
      return `exit ${result.code} signal ${result.signal} ${out.trim()}`;
    } catch (error) {
      return `${error.code} at '${error.step}'`;
    }
  }
  const cases = [
    ['/nonexistent', [], { as: 1024 }, "ENOENT at 'execve'"],
    ['/bin/sh', ['-c', 'echo ok'], { nproc: 1 }, 'exit 0 signal null ok'],
    ['/bin/sh', ['-c', 'echo ok'], { nofile: 4 }, 'exit 0 signal null ok'], // 0-2, and one for the loader
    // A limit that cannot be set is the same step failure, whoever sets it.
    // (A raise above the hard limit is tried first, while the child still
    // has its capabilities: that is where it fails.)
    ['/bin/true', [], { nofile: { soft: 1024, hard: 2 ** 30 } }, "EPERM at 'raise rlimit nofile'"],
  ];
  for (const [file, args, rlimits, expected] of cases) {
    for (const init of [true, false]) {
      t.equal(await outcome(file, args, { rlimits, init, killSignal: 'SIGKILL' }), expected, `${file} with ${JSON.stringify(rlimits)}, init: ${init}`);
    }
  }
});

t.test('a hard limit is raised before the capabilities drop, and only raised', async (t) => {
  // What `podman run --ulimit nofile=1048576` asks of a root runtime: the
  // payload keeps no capability, yet its hard limit may be above this
  // process's; a raise needs CAP_SYS_RESOURCE, which the child has only
  // before it drops its capabilities. (This host's root may lack it: then
  // the raise fails there, as the cases above show.)
  const { validateOptions } = require('../../dist/validate');
  const { buildPlan } = require('../../dist/plan');
  for (const init of [true, false]) {
    const options = validateOptions('/bin/true', [], { init, rlimits: { nofile: { soft: 4096, hard: 1048576 } } });
    const steps = buildPlan(options, { stdio: [], namespaces: {}, init: init ? 3 : undefined }, { euid: 0, egid: 0 }).steps;
    t.equal(steps.filter((step) => step.op === 'setRlimit' && step.name === 'set rlimit nofile').length, 1, 'one payload value per resource, for the init to set');
    const at = (name) => steps.findIndex((step) => step.name === name);
    t.ok(at('raise rlimit nofile') >= 0 && at('raise rlimit nofile') < at('drop capabilities'), `init: ${init}: the raise comes before the drop`);
    t.match(steps[at('raise rlimit nofile')], { op: 'raiseRlimit', num: [7, 1048576] }, 'the hard limit only');
    t.ok(at('set rlimit nofile') > at('drop capabilities'), 'the payload\'s values are set last, as before');
  }
  // Lowering stays the payload's alone: a raise step to a lower hard limit
  // changes nothing in the child (the box runs, under the lower limit).
  const result = await runSh('ulimit -Hn', { rlimits: { nofile: { soft: 64, hard: 128 } } });
  t.equal(result.stdout.trim(), '128', result.stderr);
});

t.test('umask, nice and oom_score_adj', async (t) => {
  const result = await runSh('umask; nice; cat /proc/self/oom_score_adj', { umask: 0o077, nice: 7, oomScoreAdj: 600 });
  t.equal(result.code, 0, result.stderr);
  t.same(result.stdout.trim().split('\n'), ['0077', '7', '600']);
  const lower = await spawnError('/bin/true', [], { oomScoreAdj: -500 });
  t.equal(lower.error.step, 'set oom_score_adj', 'lowering the OOM score needs privilege on the host');
  t.equal(lower.error.path, '/proc/self/oom_score_adj');
});

t.test('supplementary groups as configured', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass (root only: a rootless box cannot setgroups)')) return;
  const result = await runSh('grep ^Groups /proc/self/status', {
    gidMap: [{ inside: 0, outside: 65534, count: 1 }, { inside: 100, outside: 200100, count: 10 }],
    groups: [100, 105],
  });
  t.equal(result.stdout.trim().replace(/\s+/g, ' '), 'Groups: 100 105');
});

t.test('a root supervisor runs a box under a host uid without a user namespace', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass (root only)')) return;
  const result = await runSh('id -u; id -g; grep ^Groups /proc/self/status; grep ^CapEff /proc/self/status', {
    namespaces: { user: 'host' },
    uid: 4242,
    gid: 4343,
  });
  t.equal(result.code, 0, result.stderr);
  t.same(result.stdout.trim().split('\n').map((l) => l.replace(/\s+/g, ' ')), ['4242', '4343', 'Groups: ', 'CapEff: 0000000000000000']);
});

t.test('allowNewPrivileges turns no_new_privs off', async (t) => {
  const result = await runSh('grep NoNewPrivs /proc/self/status', { allowNewPrivileges: true });
  t.match(result.stdout, /NoNewPrivs:\s+0/);
});
