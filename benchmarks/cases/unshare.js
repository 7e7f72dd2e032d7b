// util-linux unshare: user (root mapped), pid (with a fork) namespaces.
'use strict';
const { needTool } = require('./_helper');
module.exports = {
  id: 'unshare',
  title: 'unshare -Urpf',
  group: 'peer',
  order: 20,
  driver: 'helper',
  mode: 'vfork',
  requires: (ctx) => needTool(ctx, 'unshare', 'util-linux'),
  argv: (payload, ctx) => [ctx.tools.unshare, '-Urpf', payload.path],
};
