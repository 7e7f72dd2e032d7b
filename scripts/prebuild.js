// Builds prebuilt binaries with prebuildify and puts the static init beside
// the addon, where lib/internal/native.ts looks for it.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const prebuildify = path.join(root, 'node_modules', 'prebuildify', 'bin.js');
execFileSync(process.execPath, [prebuildify, '--napi', '--strip', '--tag-libc', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});
const target = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
fs.copyFileSync(path.join(root, 'build', 'Release', 'cordon_init'), path.join(target, 'cordon_init'));
fs.chmodSync(path.join(target, 'cordon_init'), 0o755);
console.log(`prebuild: ${fs.readdirSync(target).join(', ')} in ${path.relative(root, target)}`);
// prebuildify builds in build/ and moves the results out; build the local
// copy again so the working tree keeps loading build/Release.
execFileSync(process.execPath, [require.resolve('node-gyp/bin/node-gyp.js'), 'build'], { cwd: root, stdio: 'inherit' });
