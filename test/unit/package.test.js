// The package loads the same way from ESM and CommonJS, and off Linux it
// imports fine and refuses to spawn with a clear code.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const t = require('tap');

const root = path.join(__dirname, '..', '..');

function node(args, input) {
  return spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', input });
}

t.test('import { spawnIsolated, probe } from "cordon"', async (t) => {
  const result = node(['--input-type=module', '-e', `
    import { spawnIsolated, probe, CordonError } from 'cordon';
    import cordon from 'cordon';
    const box = spawnIsolated('/bin/true', [], { stdio: 'ignore' });
    const { code } = await box.exited;
    console.log(typeof probe, typeof CordonError, code, cordon.spawnIsolated === spawnIsolated);
  `]);
  t.equal(result.status, 0, result.stderr);
  t.equal(result.stdout.trim(), 'function function 0 true');
});

t.test('require("cordon")', async (t) => {
  const result = node(['-e', `
    const cordon = require('cordon');
    console.log(Object.keys(cordon).sort().join(','));
  `]);
  t.equal(result.status, 0, result.stderr);
  t.equal(result.stdout.trim(), 'Box,CordonError,CordonOptionError,DEFAULT_MAX_LAYER_BYTES,DIAGNOSTICS_CHANNELS,IdRangeAllocator,Listener,NamespacePool,OciConfigError,OciImageError,Service,TenantCgroup,adopt,adoptAll,cleanup,compileBox,createListener,createNamespacePool,createService,createTenantCgroup,execFileIsolated,fromOciConfig,importOciImage,loadOciBundle,probe,spawnIsolated,spawnIsolatedAsync');
});

for (const platform of ['darwin', 'win32']) {
  t.test(`on ${platform}: importing works, spawning throws ERR_CORDON_UNSUPPORTED_PLATFORM`, async (t) => {
    const result = node(['-e', `
      Object.defineProperty(process, 'platform', { value: ${JSON.stringify(platform)} });
      const cordon = require('cordon');
      for (const call of [() => cordon.spawnIsolated('/bin/true', []), () => cordon.probe()]) {
        try { call(); console.log('no error'); } catch (e) { console.log(e.code + ': ' + e.message); }
      }
    `]);
    t.equal(result.status, 0, result.stderr);
    const lines = result.stdout.trim().split('\n');
    t.equal(lines.length, 2);
    for (const line of lines) t.match(line, new RegExp(`^ERR_CORDON_UNSUPPORTED_PLATFORM: .*${platform}`));
  });
}

t.test('bad options are reported before the platform check', async (t) => {
  const result = node(['-e', `
    Object.defineProperty(process, 'platform', { value: 'darwin' });
    try { require('cordon').spawnIsolated('/bin/true', [], { bogus: 1 }); } catch (e) { console.log(e.code); }
  `]);
  t.equal(result.stdout.trim(), 'ERR_CORDON_UNKNOWN_OPTION');
});
