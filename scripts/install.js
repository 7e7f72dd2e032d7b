#!/usr/bin/env node
// cordon's install step (package.json "install"). Uses the prebuilt addon
// for this machine when one loads (prebuilds/linux-<arch>/, chosen by
// node-gyp-build by architecture and libc, with the init beside it), and
// builds from source with node-gyp otherwise (or when asked:
// --build-from-source / npm_config_build_from_source=true, and always in
// cordon's own checkout). When that build
// fails, it says in one message which target had no prebuild, why the build
// failed, and which packages building needs, instead of node-gyp's log.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const packageRoot = path.join(__dirname, '..');

/** The libc node-gyp-build will pick prebuilds for (it checks the same things). */
function libc() {
  return process.env.LIBC || (fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc');
}

function targetName() {
  return `${process.platform}-${process.arch}-${libc()}`;
}

function buildFromSourceRequested() {
  return process.env.npm_config_build_from_source === 'true' || process.argv.includes('--build-from-source');
}

/** Loads the addon node-gyp-build would pick, in a child; undefined when it loads and its init is there, else why not. */
function prebuildProblem() {
  const script = `
    const path = require('node:path');
    const fs = require('node:fs');
    const dir = process.argv[1];
    const addon = require('node-gyp-build').path(dir);
    require(addon);
    const init = [path.join(path.dirname(addon), 'cordon_init'),
                  path.join(dir, 'prebuilds', process.platform + '-' + process.arch, 'cordon_init')];
    if (!init.some((file) => fs.existsSync(file))) throw new Error('no cordon_init beside ' + addon);
  `;
  const result = spawnSync(process.execPath, ['-e', script, packageRoot], {
    cwd: packageRoot,
    encoding: 'utf8',
    env: { ...process.env, PREBUILDS_ONLY: '' },
  });
  if (result.status === 0) return undefined;
  const message = (result.stderr || '').split('\n').find((line) => /Error/.test(line)) ?? `exit ${result.status}`;
  if (/No native build was found/.test(message)) return `none is shipped for ${targetName()}`;
  return `the one shipped does not load here: ${message.replace(/^\w*Error: /, '').trim()}`;
}

function commandExists(command) {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', command], { stdio: 'ignore' }).status === 0;
}

/** The build tools this machine lacks, by the names a user would look for. */
function missingTools() {
  const missing = [];
  if (!commandExists('python3') && !commandExists('python') && !process.env.npm_config_python) missing.push('python3');
  if (!commandExists('make')) missing.push('make');
  // node-gyp's makefiles run $CXX, else g++.
  const cxx = (process.env.CXX || 'g++').split(/\s+/)[0];
  if (!commandExists(cxx)) missing.push(`a C++ compiler (${cxx})`);
  if (!fs.existsSync('/usr/include/stdio.h')) missing.push('the C library headers (/usr/include/stdio.h)');
  if (!fs.existsSync('/usr/include/linux/seccomp.h')) missing.push('the Linux kernel headers (/usr/include/linux/seccomp.h)');
  return missing;
}

/** node-gyp as npm provides it to install scripts, or this package's, or the one on PATH. */
function nodeGypCommand() {
  if (process.env.npm_config_node_gyp && fs.existsSync(process.env.npm_config_node_gyp)) {
    return [process.execPath, process.env.npm_config_node_gyp];
  }
  try {
    return [process.execPath, require.resolve('node-gyp/bin/node-gyp.js', { paths: [packageRoot] })];
  } catch {
    return commandExists('node-gyp') ? ['node-gyp'] : undefined;
  }
}

/**
 * This Node's own headers, when its install has them (a distribution's
 * nodejs package, an unpacked official tarball) and no nodedir is
 * configured: node-gyp would otherwise download them, which fails on a
 * machine without internet or behind a registry-only proxy. Only headers
 * of exactly this Node's version are used.
 */
function localNodeDir(execPath = process.execPath, env = process.env, version = process.versions.node) {
  if (env.npm_config_nodedir) return undefined;
  const prefix = path.dirname(path.dirname(execPath));
  const include = path.join(prefix, 'include', 'node');
  let header;
  try {
    header = fs.readFileSync(path.join(include, 'node_version.h'), 'utf8');
  } catch {
    return undefined;
  }
  const part = (name) => new RegExp(`#define NODE_${name}_VERSION (\\d+)`).exec(header)?.[1];
  const theirs = `${part('MAJOR')}.${part('MINOR')}.${part('PATCH')}`;
  return theirs === version && fs.existsSync(path.join(include, 'node_api.h')) ? prefix : undefined;
}

function build() {
  const nodeGyp = nodeGypCommand();
  if (!nodeGyp) return { ok: false, output: 'node-gyp was not found (npm normally provides it to install scripts)' };
  const nodeDir = localNodeDir();
  const args = [...nodeGyp.slice(1), 'rebuild', ...(nodeDir === undefined ? [] : [`--nodedir=${nodeDir}`])];
  const result = spawnSync(nodeGyp[0], args, { cwd: packageRoot, encoding: 'utf8' });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  return { ok: result.status === 0, output: result.error ? result.error.message : output };
}

function failureMessage(problem, output) {
  const missing = missingTools();
  const tail = output
    .split('\n')
    .filter((line) => line.trim() && !/^gyp (info|http)/.test(line))
    .slice(-12)
    .map((line) => `    ${line}`)
    .join('\n');
  return [
    `cordon: no prebuilt addon for ${targetName()} can be used (${problem}), and building it from source failed` +
      (missing.length > 0 ? `: this machine lacks ${missing.join(', ')}.` : '.'),
    'Building from source needs python3, make, g++ and the C library and Linux headers:',
    '  Debian/Ubuntu: apt-get install python3 make g++ libc6-dev',
    '  Alpine:        apk add python3 make g++ linux-headers   (or build-base python3 linux-headers)',
    '  Fedora/RHEL:   dnf install python3 make gcc-c++ kernel-headers',
    'then run `npm rebuild cordon`. Prebuilt addons ship for linux-x64 and linux-arm64 with glibc or musl.',
    'The end of node-gyp\'s output:',
    tail,
  ].join('\n');
}

/**
 * Whether npm is installing this package as the project itself (npm ci in a
 * checkout), not as a dependency: then the addon is always built, so that
 * build/Release, which the tests load, matches the source.
 */
function isOwnCheckout() {
  return process.env.INIT_CWD !== undefined && path.resolve(process.env.INIT_CWD) === path.resolve(packageRoot);
}

function main() {
  let problem = 'building from source was requested';
  if (isOwnCheckout()) problem = "this is cordon's own checkout, which always builds from source";
  else if (!buildFromSourceRequested()) {
    problem = prebuildProblem();
    if (problem === undefined) return 0;
  }
  const built = build();
  if (built.ok) return 0;
  console.error(failureMessage(problem, built.output));
  return 1;
}

if (require.main === module) process.exitCode = main();

module.exports = { localNodeDir };
