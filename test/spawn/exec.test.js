// box.exec(): a process started inside a running box is the box's in every
// way that confines it (namespaces, root, cgroup, ids, capabilities,
// no_new_privs, seccomp, Landlock) and can do no more than its payload.
'use strict';
const t = require('tap');
const fs = require('node:fs');

const { spawnIsolated } = require('../..');
const { TerminalReader } = require('../helpers/terminal');
const { isRoot } = require('../helpers/payload');
const { skipExpected } = require('../helpers/skip');

const NS = ['user', 'mnt', 'pid', 'net', 'ipc', 'uts', 'cgroup'];
const PTRACE = process.arch === 'arm64' ? 117 : 101;
const PROBE = [
  `for ns in ${NS.join(' ')}; do echo "NS $ns $(readlink /proc/self/ns/$ns)"; done`,
  'echo "ID $(id -u):$(id -g)"',
  'grep -E "^(CapEff|CapPrm|CapBnd|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status | tr -d "\\t" | sed "s/^/ST /"',
  'echo "HOST $(hostname)"',
  'echo "CWD $(pwd)"',
  `echo "ROOT $(test -e ${JSON.stringify(__dirname)} && echo visible || echo hidden)"`,
  'echo "NPROC $(grep "Max processes" /proc/self/limits | tr -s " " | cut -d" " -f3)"',
].join('; ');

/** Runs `script` as a box's payload (ready once it printed) and keeps the box running. */
async function startBox(options = {}) {
  const box = spawnIsolated('/bin/sh', ['-c', `${PROBE}; echo READY; exec sleep 1000`], options);
  const term = new TerminalReader(box.stdout);
  const [probe] = await term.waitFor(/[\s\S]*READY\n/);
  return { box, probe };
}

async function output(box) {
  const out = [];
  const err = [];
  box.stdout?.on('data', (d) => out.push(d));
  box.stderr?.on('data', (d) => err.push(d));
  const result = await box.exited;
  return { ...result, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

const lines = (text, tag) => text.split('\n').filter((line) => line.startsWith(`${tag} `)).sort();

t.test('an exec\'d process is in the box\'s namespaces, root and cwd, as its user, as confined', async (t) => {
  const { box, probe } = await startBox({ hostname: 'tenant', cwd: '/tmp', rlimits: { nproc: 77 } });
  t.teardown(() => box.kill('SIGKILL'));
  const ex = await output(box.exec('/bin/sh', ['-c', PROBE]));
  t.equal(ex.code, 0, ex.stderr);
  t.same(lines(ex.stdout, 'NS'), lines(probe, 'NS'), 'every namespace is the box\'s (user, mount, pid, net, ipc, uts, cgroup)');
  const host = NS.map((ns) => `NS ${ns} ${fs.readlinkSync(`/proc/self/ns/${ns}`)}`).sort();
  t.notSame(lines(ex.stdout, 'NS'), host, 'and not the host\'s');
  t.same(lines(ex.stdout, 'ID'), lines(probe, 'ID'), 'the box\'s uid and gid');
  t.same(lines(ex.stdout, 'ST'), lines(probe, 'ST'), 'the same capabilities, no_new_privs and seccomp mode');
  t.match(ex.stdout, /ST CapEff:0000000000000000/);
  t.match(ex.stdout, /ST NoNewPrivs:1/);
  t.match(ex.stdout, /ST Seccomp:2/, 'under a seccomp filter');
  t.match(ex.stdout, /HOST tenant/);
  t.match(ex.stdout, /CWD \/tmp/, 'the box\'s cwd by default');
  t.match(ex.stdout, /ROOT hidden/, 'the host\'s directories are not in its root');
  t.match(ex.stdout, /NPROC 77/, 'the box\'s rlimits');
  const own = await output(box.exec('/bin/pwd', [], { cwd: '/proc' }));
  t.equal(own.stdout.trim(), '/proc', 'cwd may be given');
});

t.test('an exec\'d process cannot reach the box\'s init, and dies with the box', async (t) => {
  const { box } = await startBox();
  const ex = await output(box.exec('/bin/sh', ['-c', [
    'for f in /proc/1/fd/*; do readlink $f; done >/dev/null 2>&1 && echo FD-OPEN || echo FD-DENIED',
    'cat /proc/1/environ >/dev/null 2>&1 && echo ENV-OPEN || echo ENV-DENIED',
    `perl -e 'syscall(${PTRACE}, 16, 1, 0, 0) == -1 and print "PTRACE-ERR:", $!+0, "\\n" or print "PTRACE-OK\\n"'`,
    'kill -9 1 2>/dev/null; kill -0 1 && echo INIT-ALIVE',
  ].join('; ')]));
  t.match(ex.stdout, /FD-DENIED/, 'the init\'s fds are closed to it');
  t.match(ex.stdout, /ENV-DENIED/, 'and its environment');
  t.match(ex.stdout, /PTRACE-ERR:1\b/, 'ptrace of the init: EPERM');
  t.match(ex.stdout, /INIT-ALIVE/, 'SIGKILL from inside the box does not reach PID 1');
  const long = box.exec('/bin/sh', ['-c', 'echo UP-$((1+1)); exec sleep 1000']);
  await new TerminalReader(long.stdout).waitFor(/UP-2/);
  box.kill('SIGKILL');
  const result = await long.exited;
  t.equal(result.signal, 'SIGKILL', 'the exec\'d process ends with the box (its pid namespace\'s init)');
  await box.exited;
});

t.test('an exec\'d process is in the box\'s cgroup and under its limits', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass: this host delegates no cgroup to an unprivileged user')) return;
  const { box } = await startBox({ cgroup: { pids: { max: 12 }, memory: { max: 64 * 1024 * 1024 } } });
  t.teardown(() => box.kill('SIGKILL'));
  const ex = box.exec('/bin/sh', ['-c', 'echo UP-$((2+2)); exec sleep 1000']);
  await new TerminalReader(ex.stdout).waitFor(/UP-4/);
  const cgroupOf = (pid) => fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  t.equal(cgroupOf(ex.pid), cgroupOf(box.pid), 'the same cgroups as the box (not the supervisor\'s)');
  t.not(cgroupOf(ex.pid), cgroupOf(process.pid));
  t.ok(box.stats().pids.current >= 4, 'the box\'s pids count includes the exec\'d process and its init');
  ex.kill('SIGKILL');
  await ex.exited;
  // A fork bomb through exec stops at the box's pids.max: dash exits (2)
  // at the first fork that fails; STARTED-N counts the ones that worked.
  const bomb = await output(box.exec('/bin/sh', ['-c', 'n=0; while [ $n -lt 40 ]; do sleep 100 >/dev/null 2>&1 & n=$((n+1)); echo STARTED-$n; done']));
  const started = Math.max(0, ...[...bomb.stdout.matchAll(/STARTED-(\d+)/g)].map((m) => Number(m[1])));
  t.equal(bomb.code, 2, `a fork failed: ${bomb.stderr.trim()}`);
  t.ok(started >= 1 && started < 12, `the box's processes stop at pids.max (12) of 40 asked for (started ${started})`);
});

t.test('exec with a terminal of its own', async (t) => {
  const { box } = await startBox();
  t.teardown(() => box.kill('SIGKILL'));
  const ex = box.exec('/bin/sh', ['-c', 'test -t 0 && echo TTY-$((3+4)); stty size'], { tty: { cols: 77, rows: 11 } });
  const term = new TerminalReader(ex.stdout);
  await term.waitFor(/TTY-7/);
  t.equal((await term.waitFor(/(\d+ \d+)/))[1], '11 77');
  t.equal((await ex.exited).code, 0);
});

t.test('exec: options the box owns are refused, and an ended box takes no exec', async (t) => {
  const { box } = await startBox();
  t.throws(() => box.exec('/bin/true', [], { seccomp: false }), { code: 'ERR_CORDON_UNKNOWN_OPTION', option: 'seccomp' });
  t.throws(() => box.exec('/bin/true', [], { capabilities: ['CAP_SYS_ADMIN'] }), { code: 'ERR_CORDON_UNKNOWN_OPTION' });
  t.throws(() => box.exec('/bin/true', [], { namespaces: { net: 'host' } }), { code: 'ERR_CORDON_UNKNOWN_OPTION' });
  // The error each bad input of box.exec() gets (the README's table).
  t.throws(() => box.exec(5, []), { name: 'CordonOptionError', code: 'ERR_INVALID_ARG_TYPE' }, 'file not a string');
  t.throws(() => box.exec('/bin/true', 'x'), { name: 'CordonOptionError', code: 'ERR_INVALID_ARG_TYPE' }, 'args not an array');
  t.throws(() => box.exec('/bin/true', [], 'x'), { name: 'CordonOptionError', code: 'ERR_INVALID_ARG_TYPE' }, 'options not an object');
  t.throws(() => box.exec('/bin/true', [], { env: 5 }), { name: 'CordonOptionError', code: 'ERR_INVALID_ARG_TYPE' }, 'env of the wrong type');
  t.throws(() => box.exec('/bin/true', [], { timeout: -1 }), { name: 'CordonOptionError', code: 'ERR_INVALID_ARG_VALUE' }, 'timeout out of range');
  const missing = box.exec('/nonexistent', []);
  const error = await missing.exited.catch((e) => e);
  t.equal(error.code, 'ENOENT', 'a missing program is the exec\'d box\'s error');
  box.kill('SIGKILL');
  await box.exited;
  t.throws(() => box.exec('/bin/true'), { code: 'ERR_CORDON_NOT_RUNNING' });
});
