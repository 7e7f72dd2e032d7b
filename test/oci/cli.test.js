// cordon run --bundle DIR, and --config with an OCI config.json (which used
// to fail with `Unknown option "ociVersion"`).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const t = require('tap');

const { scriptBundle } = require('../helpers/oci');

const cli = path.join(__dirname, '..', '..', 'dist', 'cli.js');

function cordon(args, options = {}) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', ...options });
}

function bundle(t, script) {
  return scriptBundle(t, script, (c) => {
    c.hostname = 'from-bundle';
  });
}

t.test('run --bundle runs the config\'s process, exit status and all', async (t) => {
  const dir = bundle(t, 'hostname; echo pid $$; exit 3');
  if (dir === undefined) return;
  const result = cordon(['run', '--bundle', dir]);
  t.equal(result.status, 3, result.stderr);
  t.equal(result.stdout, 'from-bundle\npid 1\n');
  const replaced = cordon(['run', '--bundle', dir, '--', '/bin/sh', '-c', 'echo replaced; hostname']);
  t.equal(replaced.status, 0, replaced.stderr);
  t.equal(replaced.stdout, 'replaced\nfrom-bundle\n', 'a CMD replaces process.args, the rest of the config stays');
});

t.test('--config takes an OCI config.json, relative paths in its directory', async (t) => {
  const dir = bundle(t, 'echo from-config');
  if (dir === undefined) return;
  const result = cordon(['run', '--config', path.join(dir, 'config.json')]);
  t.equal(result.status, 0, result.stderr);
  t.equal(result.stdout, 'from-config\n');
  t.notMatch(result.stderr, /Unknown option "ociVersion"/);
});

t.test('a config cordon cannot honour: 125 and the field\'s JSON path', async (t) => {
  const dir = bundle(t, 'true');
  if (dir === undefined) return;
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  config.process.apparmorProfile = 'docker-default';
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  const result = cordon(['run', '--bundle', dir]);
  t.equal(result.status, 125);
  t.match(result.stderr, /"process\.apparmorProfile" is not supported by cordon/);
  const both = cordon(['run', '--bundle', dir, '--config', path.join(dir, 'config.json')]);
  t.equal(both.status, 125);
  t.match(both.stderr, /--bundle and --config exclude each other/);
  const missing = cordon(['run', '--bundle', path.join(dir, 'nothing-here')]);
  t.equal(missing.status, 125);
  t.match(missing.stderr, /config cannot be read: ENOENT/);
});
