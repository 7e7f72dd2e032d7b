// Runs a command from the long-lived C spawn-helper (fork+execve or
// posix_spawn), which does the timing itself: Node's cost is not in these
// numbers. Used for the C baselines and for the peer tools.
//
// Case fields: mode ('fork' | 'vfork'), argv(payload, ctx) -> string[]
// (may be async; an argument may contain {n}, a per-spawn counter), and
// optionally helper: { key, setup(client, ctx) } for a helper instance of
// its own (e.g. crun's private mount namespace).
'use strict';
const { HelperClient } = require('../lib/helper-client');
const { Skip } = require('../lib/skip');

async function helperFor(caseDef, ctx) {
  if (!ctx.native.helper) throw new Skip(`the C spawn-helper could not be built: ${ctx.native.helperError}`);
  const key = caseDef.helper?.key ?? 'plain';
  ctx.helpers ??= new Map();
  if (!ctx.helpers.has(key)) {
    ctx.helpers.set(key, (async () => {
      const client = new HelperClient(ctx.native.helper);
      try {
        if (caseDef.helper?.setup) await caseDef.helper.setup(client, ctx);
      } catch (error) {
        // A helper whose setup failed is never handed out (closeAll skips
        // it): end it here, or its open stdin keeps the bench alive.
        client.close();
        throw error;
      }
      return client;
    })());
  }
  return ctx.helpers.get(key);
}

module.exports = {
  where: 'main',
  async open(caseDef, payload, ctx) {
    let client;
    try {
      client = await helperFor(caseDef, ctx);
    } catch (error) {
      if (error.skip) throw error;
      throw new Skip(`helper setup failed: ${error.message}`);
    }
    const argv = await caseDef.argv(payload, ctx);
    const id = await client.define(argv);
    const mode = caseDef.mode ?? 'vfork';
    const probe = await client.probe(id, mode);
    if (probe.status !== 0) {
      const output = probe.output.trim().replace(/\s+/g, ' ').slice(0, 300);
      throw new Skip(`\`${argv.join(' ')}\` exits with status ${probe.status} here${output ? `: ${output}` : ''}`);
    }
    return {
      // The helper forks and reaps the boxes itself: its CPU is read per throughput slot.
      pid: client.proc.pid,
      trial: async (n) => ({ ns: await client.run(id, mode, n) }),
      throughput: (concurrency, minCount, minMs) => client.throughput(id, mode, concurrency, minCount, minMs),
      close() {},
    };
  },
  closeAll(ctx) {
    for (const pending of ctx.helpers?.values() ?? []) pending.then((client) => client.close(), () => undefined);
  },
};
