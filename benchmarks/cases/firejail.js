// firejail without a profile.
'use strict';
const { needTool } = require('./_helper');
module.exports = {
  id: 'firejail',
  title: 'firejail --noprofile',
  group: 'peer',
  order: 40,
  driver: 'helper',
  mode: 'vfork',
  requires: (ctx) => needTool(ctx, 'firejail', 'firejail'),
  argv: (payload, ctx) => [ctx.tools.firejail, '--quiet', '--noprofile', payload.path],
};
