// Bench-time builds: the C spawn helper and the tiny static payload,
// compiled with the system cc into a temporary directory (never part of the
// addon or binding.gyp).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const SOURCES = path.join(__dirname, '..', 'c');

/** The first executable called `name` on PATH (or the standard dirs), or null. */
function which(name) {
  const dirs = `${process.env.PATH ?? ''}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`.split(':');
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // keep looking
    }
  }
  return null;
}

function compile(cc, args) {
  const result = spawnSync(cc, args, { encoding: 'utf8' });
  if (result.error) return `${cc}: ${result.error.message}`;
  if (result.status !== 0) return `${cc} ${args.join(' ')} failed:\n${result.stderr}`;
  return null;
}

/**
 * Compiles what the bench needs into `dir`. Returns paths, or null paths with
 * a reason when there is no C compiler (the cases that need them are skipped).
 */
function buildNative(dir, cc) {
  const out = { helper: null, tiny: null, helperError: null, tinyError: null };
  if (!cc) {
    out.helperError = out.tinyError = 'no C compiler (cc) on PATH; install gcc or build-essential';
    return out;
  }
  const helper = path.join(dir, 'spawn-helper');
  out.helperError = compile(cc, ['-O2', '-Wall', '-o', helper, path.join(SOURCES, 'spawn-helper.c')]);
  if (!out.helperError) out.helper = helper;
  // The C isolation floor's stage program, next to the helper (which finds
  // it there); without it only the stage mode fails its probe.
  compile(cc, ['-static', '-O2', '-Wall', '-DFLOOR_MAIN', '-o', path.join(dir, 'isolation-stage'), path.join(SOURCES, 'isolation-floor.c')]);
  // The floor's exec'd init (mode floor-init), next to the helper too.
  compile(cc, ['-static', '-nostdlib', '-fno-stack-protector', '-O2', '-o', path.join(dir, 'tiny-init'), path.join(SOURCES, 'tiny-init.c')]);
  const tiny = path.join(dir, 'tiny-static');
  out.tinyError = compile(cc, ['-static', '-nostdlib', '-O2', '-o', tiny, path.join(SOURCES, 'tiny.c')]);
  if (!out.tinyError) {
    fs.chmodSync(tiny, 0o755);
    out.tiny = tiny;
  }
  return out;
}

module.exports = { which, buildNative };
