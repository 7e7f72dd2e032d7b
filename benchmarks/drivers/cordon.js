// cordon's spawnIsolated(), from inside Node, stdio 'ignore'. Latency is
// from the spawnIsolated() call to `box.exited` resolving; cordon's own
// split of it (spawnMs: until the payload exec'd, runMs: exec to exit seen)
// is kept as well.
//
// Case fields: options (an object, or (ctx, payload) => object) merged over
// { stdio: 'ignore' }; file (optional, (ctx, payload) => path): the path
// to run inside the box when it differs from the payload's; feature (optional): the cordon feature the options
// need. If cordon rejects them as an unknown option, the case is reported
// as "not yet measurable: <feature> not implemented" instead of failing, so
// it starts measuring by itself once the feature lands. netnsPool
// (optional, (ctx) => createNamespacePool() options): the case's boxes take
// their network namespace from a pool made (and filled) before the first
// spawn and closed with the case; its hits and misses go to stderr. async
// (optional, true): spawn with spawnIsolatedAsync() (set up on a libuv
// worker thread) instead of spawnIsolated(). template (optional, true):
// spawn from one compileBox(options) template made when the case opens.
// tenant (optional, (ctx) =>
// { limits, spareLeaves? }): the case's boxes join a tenant cgroup (createTenantCgroup)
// made when the case opens and closed with it: a pre-created cgroup.
// until (optional, 'exit'): the latency ends at the box's 'exit' event (the
// payload's status known, as child_process is measured) instead of
// `box.exited` (everything of the box released); the next spawn still
// waits for `exited`. baseline (optional,
// true): the case runs the cordon checkout named by BENCH_BASELINE_CORDON
// (built: dist/ and build/Release/) instead of this one, so a change can be
// measured against the code before it in one interleaved run; skipped
// when the variable is unset. replay (optional, true): the box's plan is
// validated, planned and encoded once when the case opens, then each spawn
// hands those bytes straight to the native engine (native().spawn) and
// waits for the pidfd on the event loop (ExitWatch): the native engine
// alone, driven from Node, without the JS layer (no validation, Box,
// ledger, watches' JS or hand-over). Against cordon-full it prices that
// layer; against the C floors, the native engine.
'use strict';
const path = require('node:path');
const { Skip, notImplemented } = require('../lib/skip');
const loop = require('../lib/node-loop');

function hiddenByDefault(cordonRoot, file) {
  try {
    return require(path.join(cordonRoot, 'dist', 'host-view.js')).hiddenByDefault(file) !== undefined;
  } catch {
    return false; // a cordon from before the default view
  }
}

/** The `replay` case's spawn: one encoded plan handed to the native engine each time. */
function planReplay(cordonRoot, file, options) {
  const dist = (name) => require(path.join(cordonRoot, 'dist', name));
  let launch;
  let native;
  try {
    const call = dist('options-cache.js').validateWithCache(file, [], options);
    launch = dist('spawn.js').launchBox(call.validated, process.hrtime.bigint(), undefined, call.planner);
    native = dist('internal/native.js').native();
  } catch (error) {
    throw new Skip(`this cordon has no plan to replay: ${error.message}`);
  }
  if (launch.encoded === undefined) throw new Skip('this cordon has no plan to replay (the launch failed)');
  const spawnOne = async () => {
    const result = native.spawn(launch.encoded.buffer, launch.encoded.fds, false);
    if (!(result.pid > 0)) throw new Error(`the replayed plan failed at step ${result.failedStep} (errno ${result.errno})`);
    const [code, signal] = await new Promise((resolve) => new native.ExitWatch(result.pidfd, (...status) => resolve(status)));
    native.closeFd(result.pidfd);
    if (result.exitFd >= 0) native.closeFd(result.exitFd);
    return { code: signal === null ? code : null, signal, spawnMs: 0, runMs: 0 };
  };
  // The launch holds the box's stdio fds for the case's life.
  return { spawnOne, release: () => launch.ledger.releaseAll() };
}

module.exports = {
  where: 'worker',
  async open(caseDef, payload, ctx) {
    if (caseDef.baseline && !process.env.BENCH_BASELINE_CORDON) {
      throw new Skip('set BENCH_BASELINE_CORDON to a built cordon checkout to compare against');
    }
    const cordonRoot = caseDef.baseline ? path.resolve(process.env.BENCH_BASELINE_CORDON) : ctx.cordonRoot;
    const { spawnIsolated, spawnIsolatedAsync } = require(cordonRoot);
    if (caseDef.async && typeof spawnIsolatedAsync !== 'function') throw notImplemented('spawnIsolatedAsync()');
    const extra = typeof caseDef.options === 'function' ? caseDef.options(ctx, payload) : caseDef.options ?? {};
    const options = { stdio: 'ignore', ...extra };
    // A default box (rootfs 'host') shows only the host's system directories
    // (not /tmp, /var, homes or the checkout, where the bench keeps its
    // payloads): bind the payload's directory in, as a user would (a cordon
    // without the default view needs no bind).
    const file = caseDef.file ? caseDef.file(ctx, payload) : payload.path;
    if (!caseDef.file && options.rootfs === undefined && (options.namespaces?.mount ?? 'new') === 'new' && hiddenByDefault(cordonRoot, file)) {
      const dir = path.dirname(file);
      options.mounts = [...(options.mounts ?? []), { type: 'bind', source: dir, target: dir }];
    }
    let pool;
    const latencyPhase = { taken: 0, misses: 0 };
    if (caseDef.netnsPool) {
      const { createNamespacePool } = require(cordonRoot);
      pool = createNamespacePool(caseDef.netnsPool(ctx));
      await pool.ready();
      options.netnsPool = pool;
    }
    let tenant;
    if (caseDef.tenant) {
      const { createTenantCgroup } = require(cordonRoot);
      if (typeof createTenantCgroup !== 'function') {
        await pool?.close();
        throw notImplemented(caseDef.feature ?? 'tenant cgroups');
      }
      try {
        // One tenant per (worker, payload): names are unique per host.
        const { limits, spareLeaves } = caseDef.tenant(ctx);
        tenant = createTenantCgroup(`bench-${process.pid}-${payload.id}`.replace(/[^A-Za-z0-9_.-]/g, '_'), limits, spareLeaves === undefined ? {} : { spareLeaves });
      } catch (error) {
        await pool?.close();
        throw new Skip(`cordon cannot make a tenant cgroup here: ${error.message}`);
      }
      options.cgroup = tenant;
    }
    const replay = caseDef.replay ? planReplay(cordonRoot, file, options) : undefined;
    const release = async () => {
      replay?.release();
      await pool?.close();
      await tenant?.close({ wait: true, timeoutMs: 10_000 });
    };
    // A compiled template (compileBox) made once when the case opens: its
    // boxes skip validation, planning and encoding.
    const template = caseDef.template ? require(cordonRoot).compileBox(options) : undefined;
    const startOne = async () => {
      if (replay !== undefined) {
        const result = await replay.spawnOne();
        if (result.code !== 0) throw new Error(`${file} exited with ${result.signal ?? result.code}`);
        return result;
      }
      const started = process.hrtime.bigint();
      const box = template !== undefined
        ? (caseDef.async ? await template.spawnAsync(file, []) : template.spawn(file, []))
        : caseDef.async ? await spawnIsolatedAsync(file, [], options) : spawnIsolated(file, [], options);
      let exitNs;
      box.once('exit', () => {
        exitNs = Number(process.hrtime.bigint() - started);
      });
      const result = await box.exited;
      if (caseDef.until === 'exit') result.exitNs = exitNs;
      if (result.code !== 0) throw new Error(`${file} exited with ${result.signal ?? result.code}`);
      return result;
    };
    try {
      await startOne();
    } catch (error) {
      await release();
      if (caseDef.feature && error.code === 'ERR_CORDON_UNKNOWN_OPTION') throw notImplemented(caseDef.feature);
      throw new Skip(`cordon cannot run it here: ${error.message}`);
    }
    // An engine switch (caseDef.concurrentSetup: false measures the old
    // serial window): set only while this case runs, so the other cases in
    // this worker keep the default (concurrent).
    const engine = async (fn) => {
      if (caseDef.concurrentSetup === undefined) return fn();
      const { native } = require(path.join(cordonRoot, 'dist', 'internal', 'native'));
      native().setConcurrentSetup(caseDef.concurrentSetup);
      try {
        return await fn();
      } finally {
        native().setConcurrentSetup(true);
      }
    };
    return {
      trial: (n) => engine(async () => {
        const before = pool?.stats();
        const { ns, results } = await loop.sequential(startOne, n);
        if (pool !== undefined) {
          const after = pool.stats();
          latencyPhase.taken += after.taken - before.taken;
          latencyPhase.misses += after.misses - before.misses;
        }
        return { ns: caseDef.until === 'exit' ? results.map((r) => r.exitNs) : ns, spawnMs: results.map((r) => r.spawnMs), runMs: results.map((r) => r.runMs) };
      }),
      throughput: (concurrency, minCount, minMs) => engine(() => loop.throughput(startOne, concurrency, minCount, minMs)),
      async close() {
        if (pool === undefined) return release();
        const { taken, misses, created, size } = pool.stats();
        process.stderr.write(`${caseDef.id} (${payload.id}): pool of ${size}: latency trials ${latencyPhase.taken} taken, ${latencyPhase.misses} misses; ` +
          `in all (with throughput at concurrency 8 and 64) ${taken} taken, ${misses} misses, ${created} made\n`);
        await release();
      },
    };
  },
};
