// Red team: a default box's user namespace gets no namespace-count limits
// (user.max_*_namespaces), because its seccomp filter refuses every call
// that makes a namespace (lib/seccomp/namespaces.ts). So nothing in such a
// box may make one, by any road: unshare and clone with each flag (and
// with high bits the kernel ignores), x32 and i386 (int 0x80) entries,
// clone3, open_tree's and fsopen's mount namespaces, io_uring, a tracer
// rewriting a child's call at its syscall-entry stop; from the payload of a
// default box, of options compiled (seen again) and of a template, of a tty
// box, under an init, with CAP_SYS_ADMIN in the box, and from box.exec().
// The helper is redteam-ns-makers.c; a box without a filter shows it can
// tell a namespace made.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');

const { spawnIsolated, spawnIsolatedAsync, compileBox } = require('../..');
const { clearOptionsCache, optionsCacheSize } = require('../../dist/options-cache.js');
const { requireOrSkip } = require('../helpers/skip');
const { removeTree } = require('../helpers/remove-tree');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-rt-nsmakers-'));
fs.chmodSync(dir, 0o755);
t.teardown(() => removeTree(dir));
const helper = path.join(dir, 'ns-makers');
const build = process.arch === 'x64'
  ? spawnSync('cc', ['-static', '-O1', '-Wall', '-o', helper, path.join(__dirname, 'redteam-ns-makers.c')], { encoding: 'utf8' })
  : { status: 1, stderr: 'not x86_64' };
const seeHelper = { mounts: [{ type: 'bind', source: dir, target: dir }] };

/** What a box's output says: each attempt and whether it made a namespace. */
function attempts(output) {
  const lines = output.split(/\r?\n/).filter((line) => line !== '');
  return { done: lines.includes('done'), made: lines.filter((line) => / made$/.test(line)), count: lines.filter((line) => / (made|refused\b.*)$/.test(line)).length };
}

/** Collects a started box's stdout until it closes, and its exit. */
async function collect(box) {
  const out = [];
  box.stdout.on('data', (chunk) => out.push(chunk));
  const closed = new Promise((resolve) => box.stdout.once('close', resolve));
  const result = await box.exited;
  await closed;
  return { code: result.code, output: Buffer.concat(out).toString() };
}

function check(t, what, { code, output }) {
  const seen = attempts(output);
  t.ok(seen.done, `${what}: the helper ran every attempt (exit ${code}): ${output.slice(-200)}`);
  t.ok(seen.count >= 40, `${what}: ${seen.count} attempts reported`);
  t.same(seen.made, [], `${what}: no attempt made a namespace`);
}

t.test('nothing in a default box makes a namespace', async (t) => {
  if (!requireOrSkip(t, build.status === 0, `the helper (x86_64, cc -static) did not build: ${build.error?.message ?? build.stderr}`)) return;

  // The control: without a filter the same helper makes them.
  const loose = await collect(spawnIsolated(helper, [], { ...seeHelper, seccomp: false }));
  const control = attempts(loose.output);
  t.ok(control.done, 'control: the helper ran');
  t.ok(control.made.includes('unshare-user made'), `control: without a filter unshare(CLONE_NEWUSER) makes one (${control.made.length} made)`);

  check(t, 'a default box', await collect(spawnIsolated(helper, [], seeHelper)));
  check(t, 'spawnIsolatedAsync', await collect(await spawnIsolatedAsync(helper, [], seeHelper)));

  clearOptionsCache();
  const options = { ...seeHelper, env: { CACHE: 'yes' } };
  for (let i = 0; i < 3; i++) check(t, `options seen ${i + 1} times`, await collect(spawnIsolated(helper, [], options)));
  t.equal(optionsCacheSize().compiled, 1, 'the options were compiled');

  const template = compileBox(seeHelper);
  for (let i = 0; i < 2; i++) check(t, `template box ${i}`, await collect(template.spawn(helper, [])));

  check(t, 'a tty box', await collect(spawnIsolated(helper, [], { ...seeHelper, tty: true })));
  check(t, 'under an init', await collect(spawnIsolated(helper, [], { ...seeHelper, init: true })));
  check(t, 'with CAP_SYS_ADMIN in the box', await collect(spawnIsolated(helper, [], { ...seeHelper, capabilities: ['CAP_SYS_ADMIN', 'CAP_SYS_PTRACE'] })));

  const holder = spawnIsolated('/bin/sh', ['-c', 'read line'], { ...seeHelper, stdio: ['pipe', 'ignore', 'ignore'] });
  await new Promise((resolve, reject) => {
    holder.once('spawn', resolve);
    holder.once('error', reject);
  });
  try {
    check(t, 'box.exec()', await collect(holder.exec(helper, [])));
  } finally {
    holder.stdin.end();
    await holder.exited;
  }
});
