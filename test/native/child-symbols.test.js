// Rule 1 as a test: the code between clone and execve (the cordon_child
// target, and the cordon_runtime library it shares with the init) may call
// nothing outside an allowlist of async-signal-safe functions. Everything
// else it needs, it does with raw syscalls.
'use strict';
const { removeTree } = require('../helpers/remove-tree');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const t = require('tap');

const release = path.join(__dirname, '..', '..', 'build', 'Release');
const archive = path.join(release, 'cordon_child.a');
// The freestanding runtime the child and the init both link (native/runtime/).
const runtimeArchive = path.join(release, 'cordon_runtime.a');

// signal-safety(7), plus what compilers emit on their own.
const ALLOWED = new Set([
  '_exit', 'execve', 'execveat', '__errno_location', '__stack_chk_fail',
  'memcpy', 'memmove', 'memset', 'memcmp', 'memchr', 'strlen', 'strcmp', 'strncmp', 'strchr',
]);

function symbols(args, file = archive) {
  const text = execFileSync('nm', [...args, file], { encoding: 'utf8' });
  return new Set(
    text
      .split('\n')
      .map((line) => line.trim().split(/\s+/).at(-1))
      .filter((name) => name && !name.endsWith(':') && !name.endsWith('.o')),
  );
}

t.test('the child library exists and has code', async (t) => {
  t.ok(fs.existsSync(archive), `${archive} is built`);
  const defined = symbols(['--defined-only']);
  t.ok([...defined].some((name) => name.includes('executor') || name.includes('child3run')), 'defines the executor');
});

t.test('child code calls only async-signal-safe functions', async (t) => {
  // What the runtime defines, the child may call: it is checked below.
  const defined = new Set([...symbols(['--defined-only']), ...symbols(['--defined-only'], runtimeArchive)]);
  const undefinedSymbols = [...symbols(['-u'])].filter((name) => !defined.has(name));
  const forbidden = undefinedSymbols.filter((name) => !ALLOWED.has(name));
  t.same(forbidden, [], `undefined symbols outside the allowlist: ${forbidden.join(', ') || 'none'}`);
});

t.test('the runtime calls nothing but what the init itself defines', async (t) => {
  // It links into the init too, which has no libc: only the compiler's own
  // struct copies and zeroing (memset/memcpy, cordon_init.cc defines them)
  // may stay undefined, and no stack protector (the init has no TLS canary).
  t.ok(fs.existsSync(runtimeArchive), `${runtimeArchive} is built`);
  const defined = symbols(['--defined-only'], runtimeArchive);
  t.ok([...defined].some((name) => name.includes('exec_candidates')), 'defines the exec candidates');
  t.ok([...defined].some((name) => name.includes('patch_listen_pid')), 'defines the LISTEN_PID patch');
  const undefinedSymbols = [...symbols(['-u'], runtimeArchive)].filter((name) => !defined.has(name));
  const forbidden = undefinedSymbols.filter((name) => !['memset', 'memcpy'].includes(name));
  t.same(forbidden, [], `undefined symbols: ${forbidden.join(', ') || 'none'}`);
});

t.test('the child and the init share the runtime instead of copies of it', async (t) => {
  const init = path.join(release, 'cordon_init');
  const initSymbols = execFileSync('nm', [init], { encoding: 'utf8' });
  for (const name of ['exec_candidates', 'patch_listen_pid', 'install_seccomp', 'report']) {
    t.match(initSymbols, new RegExp(`cordon7runtime\\d+${name}`), `the init links runtime::${name}`);
  }
  const childUndefined = [...symbols(['-u'])];
  for (const name of ['exec_candidates', 'patch_listen_pid', 'install_seccomp', 'reset_signal_dispositions']) {
    t.ok(childUndefined.some((symbol) => symbol.includes(`runtime`) && symbol.includes(name)), `the child calls runtime::${name}`);
  }
});

t.test('every child op has its handler, and the executor names no op', async (t) => {
  // The op table declares child::run_<Name> for each child row (child/ops.h);
  // the op's mechanism file defines it.
  const { OP_TABLE } = require('../../dist/internal/plan-ops.js');
  const defined = [...symbols(['--defined-only'])];
  const childOps = Object.entries(OP_TABLE).filter(([, row]) => row.side === 'child');
  t.ok(childOps.length > 20, `${childOps.length} child ops`);
  for (const [js] of childOps) {
    const name = js[0].toUpperCase() + js.slice(1);
    const mangled = `run_${name}ERKNS0_4StepERNS0_7StepRunE`;
    t.ok(defined.some((symbol) => symbol.includes(`${name.length + 4}${mangled}`)), `child::run_${name} is defined`);
  }
  const executor = fs.readFileSync(path.join(__dirname, '..', '..', 'native', 'child', 'executor.cc'), 'utf8');
  t.notMatch(executor, /\bcase\s+abi::Op::/, 'executor.cc has no case per op');
  t.notMatch(executor, /\brun_[A-Z]\w*\(step/, 'nor calls a handler by name');
});

t.test('every parent op has its handler in a host file, and spawn_box.cc names no op', async (t) => {
  // The op table declares host::run_<Name> for each parent row (host/ops.h);
  // the op's mechanism file on the host side defines it, never spawn_box.cc.
  const { OP_TABLE } = require('../../dist/internal/plan-ops.js');
  const addon = path.join(release, 'cordon.node');
  const defined = [...symbols(['--defined-only'], addon)];
  const objects = path.join(release, 'obj.target', 'cordon', 'native');
  const spawnBoxDefines = [...symbols(['--defined-only'], path.join(objects, 'spawn_box.o'))];
  const parentOps = Object.entries(OP_TABLE).filter(([, row]) => row.side === 'parent');
  t.ok(parentOps.length >= 7, `${parentOps.length} parent ops`);
  for (const [js] of parentOps) {
    const name = js[0].toUpperCase() + js.slice(1);
    const handler = `4host${name.length + 4}run_${name}ERKNS_5child4StepERNS0_13ParentStepRunE`;
    t.ok(defined.some((symbol) => symbol.endsWith(handler)), `host::run_${name} is defined`);
    t.notOk(spawnBoxDefines.some((symbol) => symbol.endsWith(handler)), `host::run_${name} is not in spawn_box.cc`);
  }
  const spawnBox = fs.readFileSync(path.join(__dirname, '..', '..', 'native', 'spawn_box.cc'), 'utf8');
  t.notMatch(spawnBox, /\bcase\s+(abi::)?Op::/, 'spawn_box.cc has no case per op');
  t.notMatch(spawnBox, /\bOp::k[A-Z]/, 'nor names an op at all');
  t.notMatch(spawnBox, /\brun_[A-Z]\w*\(/, 'nor calls a handler by name');
});

t.test('the allowlist check itself catches a forbidden call', async (t) => {
  // Build a tiny object that calls malloc and run the same check on it.
  const os = require('node:os');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-nm-'));
  t.teardown(() => removeTree(dir));
  fs.writeFileSync(path.join(dir, 'bad.cc'), '#include <stdlib.h>\nvoid* f() { return malloc(3); }\n');
  execFileSync('g++', ['-c', '-o', path.join(dir, 'bad.o'), path.join(dir, 'bad.cc')]);
  const text = execFileSync('nm', ['-u', path.join(dir, 'bad.o')], { encoding: 'utf8' });
  const names = text.split('\n').map((l) => l.trim().split(/\s+/).at(-1)).filter(Boolean);
  t.ok(names.includes('malloc'), 'nm -u shows malloc');
  t.notOk(ALLOWED.has('malloc'), 'and malloc is not allowed');
});

t.test('child and runtime sources never include napi.h or use the heap', async (t) => {
  const native = path.join(__dirname, '..', '..', 'native');
  const files = ['child', 'runtime'].flatMap((dir) => fs.readdirSync(path.join(native, dir)).map((file) => path.join(dir, file)));
  t.ok(files.some((file) => file.startsWith('runtime')), 'reads the runtime sources too');
  for (const file of files) {
    const text = fs.readFileSync(path.join(native, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    t.notMatch(text, /#include\s+[<"]napi\.h[>"]/, `${file} does not include napi.h`);
    t.notMatch(text, /\bnew\s+\w|\bmalloc\(|std::(string|vector|function)/, `${file} does not allocate`);
  }
});

t.test('the init is freestanding: static, no libc, nothing undefined', async (t) => {
  const init = path.join(__dirname, '..', '..', 'build', 'Release', 'cordon_init');
  const undefinedSymbols = execFileSync('nm', ['-u', init], { encoding: 'utf8' }).trim();
  t.equal(undefinedSymbols, '', 'no undefined symbols');
  const dynamic = execFileSync('readelf', ['-l', init], { encoding: 'utf8' });
  t.notMatch(dynamic, /INTERP/, 'no program interpreter: it runs in any root');
  t.ok(fs.statSync(init).size < 64 * 1024, `small (${fs.statSync(init).size} bytes)`);
});
