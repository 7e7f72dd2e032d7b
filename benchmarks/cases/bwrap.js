// bubblewrap with every namespace it can make, a read-only /, /proc and /dev.
'use strict';
const { needTool } = require('./_helper');
module.exports = {
  id: 'bwrap',
  title: 'bwrap --unshare-all',
  group: 'peer',
  order: 10,
  driver: 'helper',
  mode: 'vfork',
  requires: (ctx) => needTool(ctx, 'bwrap', 'bubblewrap'),
  argv: (payload, ctx) => [ctx.tools.bwrap, '--unshare-all', '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', payload.path],
};
