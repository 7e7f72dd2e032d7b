// The packed tarball installs on a machine with no compiler and works: `npm
// pack`, then `npm install cordon-x.y.z.tgz` into a fresh project with every
// compiler taken off PATH (and CC/CXX unset), then require and import it and
// spawn a box, as root and, from the same install, as nobody (rootless), and
// type-check a strict TypeScript project using it (ESM .mts and CJS .cts,
// module nodenext) with tsc and run what tsc made. On every Node line: the
// test runs with the Node that runs it (process.execPath), and
// scripts/test-node-lines.js (.ci/run) runs test/unit on Node 22, 24 and 26.
// Needs this machine's prebuild in prebuilds/ (.ci/run builds it; locally
// `npm run prebuilds -- --target linux-x64-glibc`) and npm's cache with the
// package's dependencies (npm ci filled it): the install prefers it offline.
'use strict';
const { removeTree } = require('../helpers/remove-tree');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');

const { isRoot } = require('../helpers/payload');
const { requireOrSkip, skipExpected } = require('../helpers/skip');

const root = path.join(__dirname, '..', '..');
const pkg = require('../../package.json');
const libc = fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc';
const target = `linux-${process.arch}-${libc}`;
const addonInTarball = `prebuilds/linux-${process.arch}/node.napi.${libc}.node`;
const initInTarball = `prebuilds/linux-${process.arch}/cordon_init`;
const COMPILER = /^(cc|c\+\+|gcc|g\+\+|cpp|clang|clang\+\+|tcc)(-[0-9.]+)?$|-(gcc|g\+\+|cc|c\+\+|cpp)(-[0-9.]+)?$|^clang/;
const NOBODY = 65534;
// The TypeScript and @types/node the project itself uses: npm ci put them in npm's cache.
const TYPESCRIPT = require('typescript/package.json').version;
const TYPES_NODE = require('@types/node/package.json').version;

// Strict TypeScript using the package, both ways Node loads it. The
// @ts-expect-error lines prove the types are real: if 'cordon' resolved to
// an untyped module (any), they would be unused and tsc would fail.
const TS_ESM = `
import { spawnIsolated, type SpawnIsolatedOptions } from 'cordon';
const options: SpawnIsolatedOptions = { stdio: ['ignore', 'pipe', 'inherit'] };
const box = spawnIsolated('/bin/sh', ['-c', 'echo typed'], options);
// @ts-expect-error unknown event names fail to type-check
box.on('exitt', () => undefined);
let out = '';
box.stdout?.on('data', (chunk: Buffer) => { out += chunk.toString(); });
const exit = await box.exited;
console.log(JSON.stringify({ esm: out.trim(), code: exit.code }));
`;
const TS_CJS = `
import cordon = require('cordon');
export function neverCalled(): void {
  // @ts-expect-error an unknown option fails to type-check
  cordon.spawnIsolated('/bin/true', [], { hostName: 'x' });
}
const rung: string = cordon.probe().clone.rung;
console.log(JSON.stringify({ cjs: typeof rung }));
`;

/** A directory of links to every program on PATH except the compilers. */
function pathWithoutCompilers(dir) {
  fs.mkdirSync(dir);
  for (const entry of (process.env.PATH ?? '').split(':')) {
    let names;
    try {
      names = fs.readdirSync(entry);
    } catch {
      continue;
    }
    for (const name of names) {
      const link = path.join(dir, name);
      if (COMPILER.test(name) || fs.existsSync(link)) continue;
      fs.symlinkSync(path.join(entry, name), link);
    }
  }
  return dir;
}

function run(command, args, options) {
  return spawnSync(command, args, { encoding: 'utf8', timeout: 300_000, ...options });
}

const USE = `
const cordon = require('cordon');
const addon = require('node-gyp-build').path(require('path').dirname(require.resolve('cordon/package.json')));
const box = cordon.spawnIsolated('/bin/sh', ['-c', 'echo from the box'], { stdio: ['ignore', 'pipe', 'inherit'] });
let out = '';
box.stdout.on('data', (chunk) => { out += chunk; });
box.exited.then((exit) => console.log(JSON.stringify({ addon, out: out.trim(), code: exit.code })));
`;

t.test(`npm install ${pkg.name}-${pkg.version}.tgz with no compiler (${target})`, async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass: npm install uses the root-owned npm cache; the root pass spawns as nobody too')) return;
  const prebuilt = fs.existsSync(path.join(root, addonInTarball)) && fs.existsSync(path.join(root, initInTarball));
  if (!requireOrSkip(t, prebuilt, `no ${target} prebuild: build it with \`npm run prebuilds -- --target ${target}\``)) return;
  if (!requireOrSkip(t, fs.existsSync(path.join(root, 'dist', 'index.js')), 'dist/ is not built: npm run build')) return;

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-tarball-'));
  t.teardown(() => removeTree(work));
  fs.chmodSync(work, 0o755); // nobody uses the same install below

  const packed = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: root });
  t.equal(packed.status, 0, packed.stderr);
  const [{ filename, files }] = JSON.parse(packed.stdout);
  const inTarball = new Set(files.map((file) => file.path));
  for (const file of [addonInTarball, initInTarball, 'scripts/install.js', 'dist/index.js', 'dist/index.mjs', 'binding.gyp']) {
    t.ok(inTarball.has(file), `the tarball has ${file}`);
  }
  t.notOk([...inTarball].some((file) => file.startsWith('build/')), 'and no build/');
  const tarball = path.join(work, filename);

  const bin = pathWithoutCompilers(path.join(work, 'bin'));
  const env = { ...process.env, PATH: bin, npm_config_build_from_source: 'false' };
  for (const key of ['CC', 'CXX', 'LINK', 'npm_config_nodedir']) delete env[key];
  t.not(run('sh', ['-c', 'command -v g++ || command -v gcc || command -v cc || command -v c++'], { env }).status, 0,
    'no compiler is reachable');

  const project = path.join(work, 'project');
  fs.mkdirSync(project);
  // npm 11 runs a dependency's install script only when allowScripts says so.
  fs.writeFileSync(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'tarball-test', version: '1.0.0', private: true, allowScripts: { [`file:${tarball}`]: true } }),
  );
  const installed = run('npm', ['install', tarball, `typescript@${TYPESCRIPT}`, `@types/node@${TYPES_NODE}`, '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts'], {
    cwd: project,
    env,
  });
  t.equal(installed.status, 0, `npm install: ${installed.stdout}${installed.stderr}`);
  t.notMatch(installed.stdout + installed.stderr, /install-scripts not yet covered|cordon: no prebuilt/, 'its install script ran and used the prebuild');
  const installedDir = path.join(project, 'node_modules', 'cordon');
  t.ok(fs.existsSync(path.join(installedDir, addonInTarball)), 'the prebuild is installed');
  t.notOk(fs.existsSync(path.join(installedDir, 'build')), 'nothing was compiled');

  const used = run(process.execPath, ['-e', USE], { cwd: project, env });
  t.equal(used.status, 0, used.stderr);
  t.same(JSON.parse(used.stdout), { addon: path.join(installedDir, addonInTarball), out: 'from the box', code: 0 },
    'require("cordon") loads the prebuild and a box runs');

  const imported = run(process.execPath, ['--input-type=module', '-e', `
    import { spawnIsolated } from 'cordon';
    const exit = await spawnIsolated('/bin/true', [], { stdio: 'ignore' }).exited;
    console.log(exit.code);
  `], { cwd: project, env });
  t.equal(imported.status, 0, imported.stderr);
  t.equal(imported.stdout.trim(), '0', 'import { spawnIsolated } from "cordon" runs a box');

  // Strict TypeScript, type-checked by tsc (with this line's Node) and run.
  fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, exactOptionalPropertyTypes: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', types: ['node'], outDir: 'out', skipLibCheck: false },
    files: ['use.mts', 'use.cts'],
  }));
  fs.writeFileSync(path.join(project, 'use.mts'), TS_ESM);
  fs.writeFileSync(path.join(project, 'use.cts'), TS_CJS);
  const compiled = run(process.execPath, [path.join(project, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], { cwd: project, env });
  t.equal(compiled.status, 0, `tsc --strict: ${compiled.stdout}${compiled.stderr}`);
  const esm = run(process.execPath, [path.join(project, 'out', 'use.mjs')], { cwd: project, env });
  t.equal(esm.status, 0, esm.stderr);
  t.same(JSON.parse(esm.stdout), { esm: 'typed', code: 0 }, 'strict TS as ESM: type-checks, and a box runs');
  const cjs = run(process.execPath, [path.join(project, 'out', 'use.cjs')], { cwd: project, env });
  t.equal(cjs.status, 0, cjs.stderr);
  t.same(JSON.parse(cjs.stdout), { cjs: 'string' }, 'strict TS as CommonJS: type-checks and runs');

  // Without tap's NODE_OPTIONS hooks (tap adds them to every child it sees
  // spawned, hence env -u): they live in the checkout, which nobody cannot
  // read when it is under /root.
  const asNobody = run('/usr/bin/env', ['-u', 'NODE_OPTIONS', 'setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--', process.execPath, '-e', USE], {
    cwd: project,
    env: { ...env, HOME: work },
  });
  if (!requireOrSkip(t, asNobody.error === undefined, `cannot run setpriv (util-linux): ${asNobody.error?.message}`)) return;
  t.equal(asNobody.status, 0, asNobody.stderr);
  t.match(asNobody.stdout, /"out":"from the box","code":0/, 'as nobody, rootless, from the same install');
});
