// Preloaded (node -r) into examples/tenant-frontend.js by
// test/unit/examples.test.js: kills the box of the spawn numbered
// CORDON_KILL_SPAWN (from 1) the moment it has started, as if that tenant's
// backend had crashed. Only the public API: the spawn tracing channel.
'use strict';
const diagnosticsChannel = require('node:diagnostics_channel');

let spawns = 0;
diagnosticsChannel.subscribe('tracing:cordon:spawn:end', (context) => {
  spawns++;
  if (spawns === Number(process.env.CORDON_KILL_SPAWN) && context.result?.pid !== undefined) context.result.kill('SIGKILL');
});
