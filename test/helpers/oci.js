// OCI bundles for the oci tests: the config of `crun spec` / `runc spec`
// (written by the real tools), a busybox rootfs, and a reference runtime.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const { busyboxImage, scratch } = require('./images');
const { isRoot } = require('./payload');
const { requireOrSkip } = require('./skip');

const cli = path.join(__dirname, '..', '..', 'dist', 'cli.js');

function which(name) {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // next
    }
  }
  return undefined;
}

/** The config `tool spec [--rootless]` writes, parsed (undefined if the tool is missing or fails). */
function toolSpec(t, tool, rootless = false) {
  const binary = which(tool);
  if (binary === undefined) return undefined;
  const dir = scratch(t, `cordon-oci-${tool}-`);
  const result = spawnSync(binary, ['spec', ...(rootless ? ['--rootless'] : [])], { cwd: dir, encoding: 'utf8' });
  if (result.status !== 0) return undefined;
  return JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
}

/**
 * A bundle dir: config.json from `config` (changed by `edit`) and a busybox
 * rootfs at rootfs/ with /sys and /dev/mqueue mount points.
 */
function makeBundle(t, config, edit = () => {}) {
  const dir = scratch(t, 'cordon-oci-bundle-');
  busyboxImage(path.join(dir, 'rootfs'));
  for (const sub of ['sys', 'etc']) fs.mkdirSync(path.join(dir, 'rootfs', sub), { recursive: true });
  const copy = structuredClone(config);
  edit(copy);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(copy, null, 2));
  return dir;
}

/**
 * Runs the bundle under a reference OCI runtime (runc or crun), output
 * captured. Returns undefined when none runs containers on this host (crun
 * refuses hybrid cgroup hierarchies, for one).
 */
function runReference(bundle, id) {
  for (const tool of ['crun', 'runc']) {
    const binary = which(tool);
    if (binary === undefined) continue;
    const state = fs.mkdtempSync(path.join(path.dirname(bundle), `${tool}-state-`));
    try {
      const result = spawnSync(binary, ['--root', state, 'run', '--bundle', bundle, `${id}-${tool}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60000 });
      if (result.status === 0) return { tool, stdout: result.stdout, stderr: result.stderr };
    } finally {
      spawnSync(binary, ['--root', state, 'delete', '--force', `${id}-${tool}`], { stdio: 'ignore' });
      fs.rmSync(state, { recursive: true, force: true });
    }
  }
  return undefined;
}

/**
 * A bundle whose process runs `sh -c script` (no terminal), from the config
 * crun (or runc) writes itself; `edit` changes the config further. Undefined,
 * with the skip said, when neither tool is installed.
 */
function scriptBundle(t, script, edit = () => {}) {
  const config = toolSpec(t, 'crun', !isRoot) ?? toolSpec(t, 'runc', !isRoot);
  if (!requireOrSkip(t, config !== undefined, 'crun or runc (apt-get install crun runc) to write a config')) return undefined;
  return makeBundle(t, config, (c) => {
    c.process.terminal = false;
    c.process.args = ['sh', '-c', script];
    edit(c);
  });
}

/** `cordon oci --root ROOT ARGS...` from the built CLI, its output as text. */
function ociCli(root, args, stdio) {
  return spawnSync(process.execPath, [cli, 'oci', '--root', root, ...args], { encoding: 'utf8', ...(stdio === undefined ? {} : { stdio }) });
}

module.exports = { toolSpec, makeBundle, scriptBundle, ociCli, runReference, which };
