#!/usr/bin/env node
// Builds the prebuilt addons and the static init into prebuilds/, for the
// package tarball (npm pack runs this through prepack):
//
//   prebuilds/linux-x64/node.napi.glibc.node   prebuilds/linux-arm64/node.napi.glibc.node
//   prebuilds/linux-x64/node.napi.musl.node    prebuilds/linux-arm64/node.napi.musl.node
//   prebuilds/linux-x64/cordon_init            prebuilds/linux-arm64/cordon_init
//
// Usage: node scripts/prebuild.js [--target linux-<arch>-<libc>]... [--arch x64|arm64]...
//   (no target: those in CORDON_PREBUILD_TARGETS, else all four). Each target is built with its own compiler in a
//   scratch copy of binding.gyp and native/, so the working tree's build/
//   (which the tests load) is left alone. Needs Node's headers: the Node
//   running this when it has include/node, else npm_config_nodedir.
// The toolchains are Debian's (see scripts/prebuild-targets.js); a target
// whose toolchain is missing fails and names the packages to install.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { TARGETS, addonFileName, targetDir } = require('./prebuild-targets');

const root = path.join(__dirname, '..');

function parseArgs(argv) {
  const targets = new Set();
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = inline ?? argv[++i];
    if (flag === '--target' && TARGETS[value]) targets.add(value);
    else if (flag === '--arch' && ['x64', 'arm64'].includes(value)) {
      for (const [name, target] of Object.entries(TARGETS)) if (target.arch === value) targets.add(name);
    } else {
      throw new Error(
        `prebuild: unknown argument ${argv[i]} ${value ?? ''}; use --target ${Object.keys(TARGETS).join('|')} or --arch x64|arm64`,
      );
    }
  }
  if (targets.size > 0) return [...targets];
  // npm pack runs this with no arguments (prepack); CORDON_PREBUILD_TARGETS
  // (names separated by spaces or commas) narrows it, e.g. to the one target
  // a machine without cross compilers can build.
  const fromEnv = (process.env.CORDON_PREBUILD_TARGETS ?? '').split(/[\s,]+/).filter(Boolean);
  for (const name of fromEnv) {
    if (!TARGETS[name]) throw new Error(`prebuild: CORDON_PREBUILD_TARGETS names ${name}; use ${Object.keys(TARGETS).join(', ')}`);
  }
  return fromEnv.length > 0 ? fromEnv : Object.keys(TARGETS);
}

function commandExists(command) {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', command], { stdio: 'ignore' }).status === 0;
}

/** Why `name` cannot be built on this machine, or undefined when it can. */
function missingToolchain(name) {
  const target = TARGETS[name];
  const missing = [target.cxx, target.cc, target.strip].filter((command) => !commandExists(command));
  if (target.libc === 'musl') {
    for (const file of [`/usr/include/${target.muslTriplet}/stdlib.h`, `/usr/lib/${target.muslTriplet}/libc.so`]) {
      if (!fs.existsSync(file)) missing.push(file);
    }
    for (const dir of Object.values(target.kernelHeaders)) if (!fs.existsSync(dir)) missing.push(dir);
  }
  if (missing.length === 0) return undefined;
  return `${name}: missing ${missing.join(', ')}; on Debian install ${target.packages.join(' ')}`;
}

function nodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = path.dirname(path.dirname(process.execPath));
  if (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) return prefix;
  return undefined; // node-gyp downloads the headers
}

function run(command, args, options) {
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  if (result.status !== 0) {
    throw new Error(`prebuild: ${command} ${args.join(' ')} failed (${result.error?.message ?? `exit ${result.status}`})`);
  }
}

function capture(command, args) {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`prebuild: ${command} ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout + result.stderr;
}

/**
 * Compiler and linker flags that put musl where glibc was: the compiler's
 * own C++ and builtin headers, then musl's, then the kernel's uapi headers
 * (linux/, asm/) without the rest of glibc's /usr/include; musl's startup
 * files, loader and libc at link time, with libstdc++ and libgcc linked in
 * statically and kept private (--exclude-libs) so they cannot interpose on
 * the host process's own.
 */
function muslFlags(target, scratch) {
  const verbose = capture(target.cxx, ['-xc++', '-E', '-v', '/dev/null']);
  const searched = verbose.split('#include <...> search starts here:')[1].split('End of search list.')[0];
  const compilerDirs = searched
    .split('\n')
    .map((line) => line.trim())
    .filter((dir) => dir && (/\/c\+\+\//.test(dir) || /\/gcc(-cross)?\/[^/]+\/[^/]+\/include$/.test(dir)))
    .map((dir) => path.normalize(dir));
  const kernel = path.join(scratch, 'kernel-headers');
  fs.mkdirSync(kernel);
  for (const [name, dir] of Object.entries(target.kernelHeaders)) fs.symlinkSync(dir, path.join(kernel, name));
  // libstdc++'s headers were configured for glibc: this bits/c++config.h,
  // found first, answers their glibc version checks as glibc 2.34 would
  // (threads without weak symbols) and turns off the glibc-only calls and
  // types they would otherwise use (pthread_*_clock*, __locale_t).
  const shim = path.join(scratch, 'musl-shim');
  fs.mkdirSync(path.join(shim, 'bits'), { recursive: true });
  fs.writeFileSync(
    path.join(shim, 'bits', 'c++config.h'),
    [
      '#ifndef __GLIBC_PREREQ',
      '#define __GLIBC_PREREQ(major, minor) ((major) < 2 || ((major) == 2 && (minor) <= 34))',
      '#endif',
      '#include_next <bits/c++config.h>',
      '#undef _GLIBCXX_USE_PTHREAD_COND_CLOCKWAIT',
      '#undef _GLIBCXX_USE_PTHREAD_MUTEX_CLOCKLOCK',
      '#undef _GLIBCXX_USE_PTHREAD_RWLOCK_CLOCKLOCK',
      'typedef struct __locale_struct *__locale_t;',
      '',
    ].join('\n'),
  );
  const includes = [
    '-nostdinc',
    ...[shim, ...compilerDirs, `/usr/include/${target.muslTriplet}`, kernel].flatMap((dir) => ['-isystem', dir]),
  ];

  const lib = `/usr/lib/${target.muslTriplet}`;
  // libstdc++ and libgcc_s are linked dynamically, as on Alpine, whose Node
  // needs both (its packages libstdc++ and libgcc): the names are taken from
  // Debian's copies, the code is the host's at run time. The linker script
  // libgcc_s.so names libgcc_s.so.1, which lives outside the musl search path.
  const linkDir = path.join(scratch, 'musl-link');
  fs.mkdirSync(linkDir);
  const libgccS = capture(target.cxx, ['-print-file-name=libgcc_s.so.1']).trim();
  fs.symlinkSync(libgccS, path.join(linkDir, 'libgcc_s.so.1'));
  const specs = path.join(scratch, 'musl-link.specs');
  fs.writeFileSync(
    specs,
    [
      '*link_libgcc:',
      `-L${lib} -L${linkDir} -L .%s`,
      '',
      '*libgcc:',
      '-lgcc_s libgcc.a%s',
      '',
      '*startfile:',
      `%{!shared: ${lib}/Scrt1.o} ${lib}/crti.o crtbeginS.o%s`,
      '',
      '*endfile:',
      `crtendS.o%s ${lib}/crtn.o`,
      '',
      '*link:',
      `-dynamic-linker ${target.muslLoader} -nostdlib %{shared:-shared} %{static:-static} %{rdynamic:-export-dynamic}`,
      '',
    ].join('\n'),
  );
  // arm64: GCC's outline atomics call libgcc's helpers, whose start-up probe
  // (lse-init) asks glibc's __getauxval, which musl lacks; inline atomics
  // need nothing at run time (the native log pump's std::atomic and
  // std::thread brought them in).
  const compile = [...includes, ...(target.arch === 'arm64' ? ['-mno-outline-atomics'] : [])].join(' ');
  return {
    CFLAGS: compile,
    CXXFLAGS: compile,
    LDFLAGS: `-specs=${specs}`,
  };
}

function build(name, scratchRoot) {
  const target = TARGETS[name];
  const scratch = fs.mkdtempSync(path.join(scratchRoot, `${name}-`));
  fs.copyFileSync(path.join(root, 'binding.gyp'), path.join(scratch, 'binding.gyp'));
  fs.cpSync(path.join(root, 'native'), path.join(scratch, 'native'), { recursive: true });
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(scratch, 'node_modules'));

  const ar = target.cxx.endsWith('-g++') ? target.cxx.replace(/g\+\+$/, 'ar') : 'ar';
  const env = { ...process.env, CC: target.cc, CXX: target.cxx, LINK: target.cxx, AR: ar };
  for (const key of ['CFLAGS', 'CXXFLAGS', 'LDFLAGS', 'CPPFLAGS']) delete env[key];
  if (target.libc === 'musl') Object.assign(env, muslFlags(target, scratch));
  const dir = nodeDir();
  if (dir) env.npm_config_nodedir = dir;

  console.log(`prebuild: building ${name} with ${target.cxx}`);
  const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] });
  run(process.execPath, [nodeGyp, 'rebuild', '--release', `--arch=${target.arch}`, '--jobs=max'], { cwd: scratch, env });
  return path.join(scratch, 'build', 'Release');
}

function main() {
  const names = parseArgs(process.argv.slice(2));
  const missing = names.map(missingToolchain).filter(Boolean);
  if (missing.length > 0) {
    console.error(`prebuild: cannot build every requested target on this machine:\n  ${missing.join('\n  ')}`);
    process.exit(1);
  }
  const scratchRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-prebuild-'));
  const initFrom = new Map(); // arch -> the target its init came from in this run
  try {
    for (const name of names) {
      const target = TARGETS[name];
      const release = build(name, scratchRoot);
      const out = path.join(root, 'prebuilds', targetDir(name));
      fs.mkdirSync(out, { recursive: true });
      const addon = path.join(out, addonFileName(name));
      fs.copyFileSync(path.join(release, 'cordon.node'), addon);
      run(target.strip, ['--strip-debug', addon]);
      // One init per architecture: it links against no libc, so either
      // build's serves both; the glibc build's is kept when there is one.
      const init = path.join(out, 'cordon_init');
      const previous = initFrom.get(target.arch);
      const replace =
        target.libc === 'glibc' ? previous === undefined || TARGETS[previous].libc !== 'glibc' : !fs.existsSync(init);
      if (replace) {
        fs.copyFileSync(path.join(release, 'cordon_init'), init);
        run(target.strip, ['--strip-all', init]);
        fs.chmodSync(init, 0o755);
        initFrom.set(target.arch, name);
      }
      console.log(`prebuild: ${path.relative(root, addon)}${replace ? ` and ${path.relative(root, init)}` : ''}`);
    }
  } finally {
    fs.rmSync(scratchRoot, { recursive: true, force: true });
  }
}

try {
  main();
} catch (error) {
  console.error(error.message);
  process.exit(1);
}
