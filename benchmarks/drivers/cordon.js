// cordon's spawnIsolated(), from inside Node, stdio 'ignore'. Latency is
// from the spawnIsolated() call to `box.exited` resolving; cordon's own
// split of it (spawnMs: until the payload exec'd, runMs: exec to exit seen)
// is kept as well.
'use strict';
const { Skip } = require('../lib/skip');
const loop = require('../lib/node-loop');

module.exports = {
  where: 'worker',
  async open(caseDef, payload, ctx) {
    const { spawnIsolated } = require(ctx.cordonRoot);
    const extra = typeof caseDef.options === 'function' ? caseDef.options(ctx, payload) : caseDef.options ?? {};
    const options = { stdio: 'ignore', ...extra };
    const startOne = async () => {
      const result = await spawnIsolated(payload.path, [], options).exited;
      if (result.code !== 0) throw new Error(`${payload.path} exited with ${result.signal ?? result.code}`);
      return result;
    };
    try {
      await startOne();
    } catch (error) {
      throw new Skip(`cordon cannot run it here: ${error.message}`);
    }
    return {
      async trial(n) {
        const { ns, results } = await loop.sequential(startOne, n);
        return { ns, spawnMs: results.map((r) => r.spawnMs), runMs: results.map((r) => r.runMs) };
      },
      throughput: (concurrency, minCount, minMs) => loop.throughput(startOne, concurrency, minCount, minMs),
      close() {},
    };
  },
};
