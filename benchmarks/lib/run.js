// The orchestrator: sets up payloads, helpers and worker processes, opens
// every (case, payload) pair, then measures them round-robin so that slow
// drifts of this noisy machine hit every case alike.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { buildNative, which } = require('./build');
const { loadCases, loadDriver } = require('./registry');
const { WorkerClient } = require('./worker-client');
const { summarize, median } = require('./stats');

const HEAP_BALLAST_MB = 150;
/** Kept even when --cases filters them out: the ratios and targets need them. */
const ALWAYS = new Set(['c-fork-exec', 'node-child-process']);

const now = process.hrtime.bigint;

function log(message) {
  process.stderr.write(`${message}\n`);
}

function makeContext() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-bench-'));
  // Boxes of a root caller run as uid 65534 on the host: they must be able
  // to reach and execute the payload built here.
  fs.chmodSync(tmp, 0o755);
  const tools = {};
  for (const tool of ['cc', 'bwrap', 'unshare', 'crun', 'firejail']) tools[tool] = which(tool);
  const native = buildNative(tmp, tools.cc);
  const payloads = [{ id: 'true', path: '/bin/true', label: '/bin/true' }];
  payloads.push(
    native.tiny
      ? { id: 'static', path: native.tiny, label: 'tiny static (_start: exit)' }
      : { id: 'static', path: null, label: 'tiny static (_start: exit)', missing: native.tinyError },
  );
  return {
    tmp,
    tools,
    native,
    payloads,
    isRoot: process.geteuid?.() === 0,
    cordonRoot: path.resolve(__dirname, '..', '..'),
  };
}

/** What a worker process needs of the context (it must survive JSON). */
function workerContext(ctx) {
  return { tmp: ctx.tmp, tools: ctx.tools, isRoot: ctx.isRoot, cordonRoot: ctx.cordonRoot, native: { helper: null } };
}

function cleanup(ctx) {
  // crun's rootfs is a bind of / only inside the helper's own mount
  // namespace; here it must be an empty directory. Never recurse into it
  // if it is not.
  const rootfs = path.join(ctx.tmp, 'crun-rootfs');
  try {
    if (fs.existsSync(rootfs)) fs.rmdirSync(rootfs);
    fs.rmSync(ctx.tmp, { recursive: true, force: true });
  } catch (error) {
    log(`note: left ${ctx.tmp} in place (${error.message})`);
  }
}

function rotate(list, by) {
  if (list.length === 0) return list;
  const k = by % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

async function runSuite(opts, budget) {
  const started = now();
  const elapsed = () => `${(Number(now() - started) / 1e9).toFixed(0)}s`;
  const ctx = makeContext();
  const cases = loadCases();
  const payloads = ctx.payloads.filter((p) => !opts.payloads || opts.payloads.includes(p.id));
  const selected = cases.filter((c) => !opts.cases || opts.cases.test(c.id) || ALWAYS.has(c.id));
  const workers = {};
  const workerFor = (heap) => {
    if (!workers[heap]) {
      workers[heap] = new WorkerClient(heap, heap === 'large' ? HEAP_BALLAST_MB : 0, workerContext(ctx));
    }
    return workers[heap];
  };

  const combos = [];
  try {
    log(`bench: ${selected.length} cases x ${payloads.length} payloads, ${opts.quick ? 'quick' : 'full'} run; tmp ${ctx.tmp}`);
    // Open every pair: a probe spawn, which may skip it with a reason, then warm-up.
    for (const caseDef of selected) {
      for (const payload of payloads) {
        const combo = { caseDef, payload, key: `${caseDef.id}@${payload.id}`, status: 'ok', samples: [], spawnMs: [], runMs: [], tput: {} };
        combos.push(combo);
        if (caseDef.notImplemented) {
          combo.status = 'not-implemented';
          combo.reason = `${caseDef.notImplemented} not implemented`;
          continue;
        }
        const reason = payload.missing ?? (caseDef.payloads && !caseDef.payloads.includes(payload.id) ? 'not run with this payload' : caseDef.requires?.(ctx));
        if (reason) {
          combo.status = 'skipped';
          combo.reason = reason;
          continue;
        }
        const driver = loadDriver(caseDef.driver);
        try {
          combo.runner = driver.where === 'worker'
            ? await workerFor(caseDef.heap).open(combo.key, caseDef.id, payload)
            : await driver.open(caseDef, payload, ctx);
          await combo.runner.trial(budget.warmup);
          const calibration = await combo.runner.trial(3);
          combo.estimateMs = median(calibration.ns) / 1e6;
        } catch (error) {
          combo.status = error.skip ? 'skipped' : 'failed';
          combo.reason = error.message;
          combo.runner = undefined;
          continue;
        }
        const target = Math.round(budget.latencyBudgetMs / Math.max(combo.estimateMs, 0.01));
        combo.perRound = Math.ceil(Math.min(budget.maxSamples, Math.max(budget.minSamples, target)) / budget.rounds);
      }
    }
    for (const combo of combos) {
      if (combo.status !== 'ok') log(`  ${combo.status === 'not-implemented' ? 'not yet measurable' : combo.status}: ${combo.key}: ${combo.reason}`);
    }
    const active = () => combos.filter((c) => c.status === 'ok');
    const fail = (combo, error) => {
      combo.status = 'failed';
      combo.reason = error.message;
      log(`  failed: ${combo.key}: ${error.message}`);
    };

    // Latency: every round runs a few samples of each pair, in a rotating order.
    for (let round = 0; round < budget.rounds; round++) {
      log(`[${elapsed()}] latency round ${round + 1}/${budget.rounds}`);
      for (const combo of rotate(active(), round * 7)) {
        try {
          const result = await combo.runner.trial(combo.perRound);
          combo.samples.push(...result.ns.map((ns) => ns / 1e6));
          if (result.spawnMs) combo.spawnMs.push(...result.spawnMs);
          if (result.runMs) combo.runMs.push(...result.runMs);
        } catch (error) {
          fail(combo, error);
        }
      }
    }

    // Throughput at each concurrency, also round-robin.
    if (opts.tput) {
      for (const concurrency of budget.concurrency) {
        const minCount = Math.max(4, opts.quick ? concurrency : 2 * concurrency);
        for (let round = 0; round < budget.tputRounds; round++) {
          log(`[${elapsed()}] throughput, concurrency ${concurrency}, round ${round + 1}/${budget.tputRounds}`);
          for (const combo of rotate(active(), round * 5 + concurrency)) {
            const slot = (combo.tput[concurrency] ??= { count: 0, ns: 0, failures: 0 });
            if (slot.failures > 0) continue;
            try {
              const result = await combo.runner.throughput(concurrency, minCount, budget.tputMs);
              slot.count += result.count;
              slot.ns += result.ns;
              slot.failures += result.failures;
              if (result.failures > 0) slot.error = result.error ?? `${result.failures} spawns failed`;
            } catch (error) {
              slot.failures++;
              slot.error = error.message;
            }
          }
        }
      }
    }
  } finally {
    for (const combo of combos) await combo.runner?.close?.();
    loadDriver('helper').closeAll(ctx);
    for (const worker of Object.values(workers)) worker.memory = await worker.request('memory').catch(() => undefined);
    for (const worker of Object.values(workers)) worker.close();
    cleanup(ctx);
  }

  const results = combos.map((combo) => {
    const out = {
      id: combo.caseDef.id,
      title: combo.caseDef.title,
      group: combo.caseDef.group,
      heap: combo.caseDef.heap,
      payload: combo.payload.id,
      status: combo.status,
    };
    if (combo.reason) out.reason = combo.reason;
    if (combo.samples.length > 0) {
      out.stats = summarize(combo.samples);
      out.samplesMs = combo.samples.map((v) => Math.round(v * 1e4) / 1e4);
    }
    if (combo.spawnMs.length > 0) {
      out.cordonSplit = { spawnMsMedian: median(combo.spawnMs), runMsMedian: median(combo.runMs) };
    }
    if (Object.keys(combo.tput).length > 0) {
      out.throughput = {};
      for (const [concurrency, slot] of Object.entries(combo.tput)) {
        out.throughput[concurrency] = slot.failures > 0
          ? { error: slot.error }
          : { perSecond: slot.ns > 0 ? (slot.count / slot.ns) * 1e9 : null, spawns: slot.count, seconds: slot.ns / 1e9 };
      }
    }
    return out;
  });
  addRatios(results);
  const memory = {};
  for (const [heap, worker] of Object.entries(workers)) memory[heap] = worker.memory;
  return {
    ctx,
    payloads,
    results,
    memory,
    durationS: Number(now() - started) / 1e9,
  };
}

/** Each median as a multiple of C fork+exec's and child_process.spawn's, same payload. */
function addRatios(results) {
  const medianOf = (id, payload) => results.find((r) => r.id === id && r.payload === payload)?.stats?.median;
  for (const result of results) {
    if (!result.stats) continue;
    const forkExec = medianOf('c-fork-exec', result.payload);
    const childProcess = medianOf('node-child-process', result.payload);
    result.ratios = {
      forkExec: forkExec ? result.stats.median / forkExec : null,
      childProcess: childProcess ? result.stats.median / childProcess : null,
    };
  }
}

module.exports = { runSuite, HEAP_BALLAST_MB };
