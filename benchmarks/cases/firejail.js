// firejail without a profile.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { needTool } = require('./_helper');

module.exports = {
  id: 'firejail',
  title: 'firejail --noprofile',
  group: 'peer',
  order: 40,
  driver: 'helper',
  mode: 'vfork',
  requires: (ctx) => needTool(ctx, 'firejail', 'firejail'),
  argv(payload, ctx) {
    let file = payload.path;
    // firejail refuses programs under /var/tmp, where the bench keeps the
    // tiny payload ("no suitable ... executable found"); run a copy in /tmp.
    if (file.startsWith('/var/tmp/')) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-bench-firejail-'));
      fs.chmodSync(dir, 0o755);
      ctx.scratch.push(dir);
      file = path.join(dir, path.basename(payload.path));
      fs.copyFileSync(payload.path, file);
      fs.chmodSync(file, 0o755);
    }
    return [ctx.tools.firejail, '--quiet', '--noprofile', file];
  },
};
