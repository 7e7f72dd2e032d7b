// Rule 1 as a test: the code between clone and execve (the cordon_child
// target) may call nothing outside an allowlist of async-signal-safe
// functions. Everything else it needs, it does with raw syscalls.
'use strict';
const { removeTree } = require('../helpers/remove-tree');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const t = require('tap');

const archive = path.join(__dirname, '..', '..', 'build', 'Release', 'cordon_child.a');

// signal-safety(7), plus what compilers emit on their own.
const ALLOWED = new Set([
  '_exit', 'execve', 'execveat', '__errno_location', '__stack_chk_fail',
  'memcpy', 'memmove', 'memset', 'memcmp', 'memchr', 'strlen', 'strcmp', 'strncmp', 'strchr',
]);

function symbols(args) {
  const text = execFileSync('nm', [...args, archive], { encoding: 'utf8' });
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
  const defined = symbols(['--defined-only']);
  const undefinedSymbols = [...symbols(['-u'])].filter((name) => !defined.has(name));
  const forbidden = undefinedSymbols.filter((name) => !ALLOWED.has(name));
  t.same(forbidden, [], `undefined symbols outside the allowlist: ${forbidden.join(', ') || 'none'}`);
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

t.test('child sources never include napi.h or use the heap', async (t) => {
  const dir = path.join(__dirname, '..', '..', 'native', 'child');
  for (const file of fs.readdirSync(dir)) {
    const text = fs.readFileSync(path.join(dir, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
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
