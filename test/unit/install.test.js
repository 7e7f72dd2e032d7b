// The install step (scripts/install.js): a prebuild that loads is used and
// nothing is compiled; without one, a failed build from source is reported
// in one message that names the target, what is missing and the packages to
// install. The compiler is made missing by pointing CXX and CC (which
// node-gyp's makefiles run) at a name no machine has.
'use strict';
const { removeTree } = require('../helpers/remove-tree');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');

const { requireOrSkip } = require('../helpers/skip');

const root = path.join(__dirname, '..', '..');
const libc = fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc';
const target = `linux-${process.arch}-${libc}`;
const prebuiltDir = path.join(root, 'prebuilds', `linux-${process.arch}`);
const prebuiltAddon = path.join(prebuiltDir, `node.napi.${libc}.node`);
const NO_CXX = 'cordon-test-no-such-g++';

function nodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = path.dirname(path.dirname(process.execPath));
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

/** A package laid out as npm unpacks the tarball, with `prebuilds` (name -> source file) and no build/. */
function stagePackage(t, prebuilds) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-install-'));
  t.teardown(() => removeTree(dir));
  for (const entry of ['package.json', 'binding.gyp']) fs.copyFileSync(path.join(root, entry), path.join(dir, entry));
  fs.cpSync(path.join(root, 'native'), path.join(dir, 'native'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'scripts'));
  fs.copyFileSync(path.join(root, 'scripts', 'install.js'), path.join(dir, 'scripts', 'install.js'));
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  for (const [name, source] of Object.entries(prebuilds)) {
    const file = path.join(dir, 'prebuilds', `linux-${process.arch}`, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    if (Buffer.isBuffer(source)) fs.writeFileSync(file, source);
    else fs.copyFileSync(source, file);
  }
  return dir;
}

function install(dir, extraEnv = {}) {
  const env = { ...process.env, INIT_CWD: os.tmpdir(), CXX: NO_CXX, CC: 'cordon-test-no-such-gcc', LINK: NO_CXX, ...extraEnv };
  delete env.npm_config_build_from_source;
  const nodedir = nodeDir();
  if (nodedir) env.npm_config_nodedir = nodedir;
  return spawnSync(process.execPath, ['scripts/install.js'], { cwd: dir, env, encoding: 'utf8', timeout: 300_000 });
}

function assertOneMessage(t, result, reason) {
  t.not(result.status, 0, 'the install fails');
  t.equal(result.stdout, '', 'nothing on stdout');
  const message = result.stderr;
  t.equal(message.match(/^cordon: /gm)?.length, 1, 'one message');
  t.match(
    message.split('\n')[0],
    `cordon: no prebuilt addon for ${target} can be used (${reason}`,
    'its first line names the target and why its prebuild was not used',
  );
  t.match(message.split('\n')[0], `this machine lacks a C++ compiler (${NO_CXX})`, 'and what is missing');
  t.match(message, 'apt-get install python3 make g++ libc6-dev', 'the Debian packages');
  t.match(message, 'apk add python3 make g++ linux-headers', 'the Alpine packages');
  t.match(message, NO_CXX, "node-gyp's own last words are in it");
}

t.test('no prebuild and no compiler: one message with the target and the packages', async (t) => {
  const dir = stagePackage(t, {});
  const result = install(dir);
  assertOneMessage(t, result, `none is shipped for ${target}`);
  t.notOk(fs.existsSync(path.join(dir, 'build', 'Release', 'cordon.node')), 'nothing was built');
});

t.test('a prebuild for the other libc only counts as none', async (t) => {
  const other = libc === 'glibc' ? 'musl' : 'glibc';
  const dir = stagePackage(t, { [`node.napi.${other}.node`]: Buffer.from('not this libc') });
  assertOneMessage(t, install(dir), `none is shipped for ${target}`);
});

t.test('a prebuild that does not load: the message says why', async (t) => {
  const dir = stagePackage(t, { [`node.napi.${libc}.node`]: Buffer.from('not an ELF file'), cordon_init: Buffer.from('') });
  assertOneMessage(t, install(dir), 'the one shipped does not load here: ');
  t.match(install(dir).stderr, /invalid ELF header|file too short/, "the loader's reason");
});

t.test('a prebuild that loads is used, with no compiler', async (t) => {
  const present = fs.existsSync(prebuiltAddon) && fs.existsSync(path.join(prebuiltDir, 'cordon_init'));
  if (!requireOrSkip(t, present, `no ${target} prebuild: build it with \`npm run prebuilds -- --target ${target}\``)) return;
  const dir = stagePackage(t, {
    [`node.napi.${libc}.node`]: prebuiltAddon,
    cordon_init: path.join(prebuiltDir, 'cordon_init'),
  });
  const result = install(dir);
  t.equal(result.status, 0, result.stderr);
  t.equal(result.stderr, '', 'silent');
  t.notOk(fs.existsSync(path.join(dir, 'build')), 'node-gyp did not run');
});

t.test("cordon's own checkout (npm ci there) builds from source even with a prebuild", async (t) => {
  const dir = stagePackage(t, { [`node.napi.${libc}.node`]: Buffer.from('never loaded'), cordon_init: Buffer.from('') });
  assertOneMessage(t, install(dir, { INIT_CWD: dir }), "this is cordon's own checkout, which always builds from source");
});

// Building from source uses this Node's own headers when its install has
// them, instead of node-gyp's download (which fails offline): a newcomer's
// `npm ci` on a machine without internet, with a distribution's nodejs.
t.test('a build from source uses the headers of this Node, and only of this version', async (t) => {
  const { localNodeDir } = require(path.join(root, 'scripts', 'install.js'));
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-nodedir-'));
  t.teardown(() => removeTree(prefix));
  const execPath = path.join(prefix, 'bin', 'node');
  t.equal(localNodeDir(execPath, {}, '22.3.1'), undefined, 'no headers: none');
  fs.mkdirSync(path.join(prefix, 'include', 'node'), { recursive: true });
  fs.writeFileSync(path.join(prefix, 'include', 'node', 'node_version.h'),
    '#define NODE_MAJOR_VERSION 22\n#define NODE_MINOR_VERSION 3\n#define NODE_PATCH_VERSION 1\n');
  fs.writeFileSync(path.join(prefix, 'include', 'node', 'node_api.h'), '');
  t.equal(localNodeDir(execPath, {}, '22.3.1'), prefix, 'headers of this version: their install');
  t.equal(localNodeDir(execPath, {}, '22.3.10'), undefined, 'of another version: none');
  t.equal(localNodeDir(execPath, { npm_config_nodedir: '/elsewhere' }, '22.3.1'), undefined, 'a configured nodedir wins');
});
