// The prebuilds in prebuilds/ are what they say they are: each addon and
// init for its architecture, the init static, and each loaded by a Node of
// its own kind where this machine has one (scripts/check-prebuilds.js does
// the work; `npm run prebuilds` makes them, .ci/run builds all four).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const t = require('tap');

const { checkTarget, hostLibc } = require('../../scripts/check-prebuilds');
const { TARGETS, addonFileName, targetDir } = require('../../scripts/prebuild-targets');
const { isRoot } = require('../helpers/payload');
const { requireOrSkip, skipExpected } = require('../helpers/skip');

const root = path.join(__dirname, '..', '..');

for (const [name, target] of Object.entries(TARGETS)) {
  t.test(name, async (t) => {
    const addon = path.join(root, 'prebuilds', targetDir(name), addonFileName(name));
    if (!requireOrSkip(t, fs.existsSync(addon), `no ${name} prebuild: build it with \`npm run prebuilds -- --target ${name}\``)) return;

    const foreign = target.arch !== process.arch;
    const load = !foreign || isRoot;
    const result = checkTarget(name, { load });
    t.ok(result.present, 'the addon and its init are there');
    for (const check of result.checks) t.ok(check.ok, check.what);

    if (target.libc !== hostLibc()) {
      t.ok(result.load.skipped, `a ${target.libc} build is not loaded on this ${hostLibc()} machine`);
      skipExpected(t, false, `${hostLibc()} machine: ${result.load.skipped}`);
      return;
    }
    if (!load) {
      skipExpected(t, false, 'unprivileged pass: the arm64 Node is fetched and run under qemu in the root pass');
      return;
    }
    if (!requireOrSkip(t, !result.load.skipped, `cannot load ${name} here: ${result.load.skipped}`)) return;
    t.ok(result.load.ok, result.load.what);
    t.match(result.load.what, new RegExp(`"arch":"${target.arch}"`), 'the Node that loaded it runs as that architecture');
    if (!foreign) t.match(result.load.what, /"boxExit":0/, 'a box spawned from the prebuild exits 0');
  });
}
