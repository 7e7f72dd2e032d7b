// The orchestrator: sets up payloads, helpers and worker processes, opens
// every (case, payload) pair, then measures them round-robin so that slow
// drifts of this noisy machine hit every case alike.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const { buildNative, which } = require('./build');
const { loadCases, loadDriver } = require('./registry');
const { WorkerClient } = require('./worker-client');
const { summarize, median, pairedRatio } = require('./stats');
const { readCpuTicks, addCpuDelta, cpuPerBox } = require('./cpu');

const HEAP_BALLAST_MB = 150;
/** Kept even when --cases filters them out: the ratios and targets need them. */
const ALWAYS = new Set(['c-fork-exec', 'node-child-process']);

const now = process.hrtime.bigint;

function log(message) {
  process.stderr.write(`${message}\n`);
}

/**
 * A scratch directory for the helper, the tiny payload and crun's bundles.
 * Not under /tmp when avoidable: a box with a root filesystem gets a
 * private tmpfs at /tmp and would not see a payload there.
 */
function scratchDir() {
  for (const base of ['/var/tmp', os.tmpdir()]) {
    try {
      return fs.mkdtempSync(path.join(base, 'cordon-bench-'));
    } catch {
      // try the next
    }
  }
  throw new Error('bench: cannot create a scratch directory in /var/tmp or the tmpdir');
}

/** Which cordon is measured: version, commit, and whether its sources differ from the commit. */
function describeCordon(root) {
  const info = { root };
  try {
    info.version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version;
  } catch {
    // not a package
  }
  const git = (...args) => spawnSync('git', ['-C', root, ...args], { encoding: 'utf8' });
  const head = git('rev-parse', '--short=12', 'HEAD');
  if (head.status === 0) {
    info.commit = head.stdout.trim();
    const dirty = git('status', '--porcelain', '--', 'lib', 'native', 'binding.gyp');
    info.uncommitted = dirty.status === 0 && dirty.stdout.trim() !== '';
  }
  return info;
}

/**
 * cordon's default payload filter as the box installs it, next to the C
 * helper for the floor's guarded mode (c/isolation-floor.c). Returns why it
 * could not be written, or null.
 */
function writePayloadFilter(dir, cordonRoot) {
  try {
    const { compileCached } = require(path.join(cordonRoot, 'dist', 'seccomp'));
    fs.writeFileSync(path.join(dir, 'payload-filter.bpf'), compileCached(undefined), { mode: 0o644 });
    return null;
  } catch (error) {
    return `cordon's default seccomp filter could not be compiled from ${cordonRoot} (npm run build): ${error.message}`;
  }
}

function makeContext(opts) {
  const tmp = scratchDir();
  // Boxes of a root caller run as uid 65534 on the host: they must be able
  // to reach and execute the payload built here.
  fs.chmodSync(tmp, 0o755);
  const tools = {};
  for (const tool of ['cc', 'bwrap', 'unshare', 'crun', 'firejail', 'podman']) tools[tool] = which(tool);
  const cordonRoot = path.resolve(opts.cordon ?? path.join(__dirname, '..', '..'));
  const native = buildNative(tmp, tools.cc);
  native.filterError = writePayloadFilter(tmp, cordonRoot);
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
    /** More directories to remove at the end. */
    scratch: [],
    /** What cases set up outside the scratch directory (podman's images), undone at the end. */
    atExit: [],
    cordonRoot,
  };
}

/** What a worker process needs of the context (it must survive JSON). */
function workerContext(ctx) {
  return { tmp: ctx.tmp, tools: ctx.tools, isRoot: ctx.isRoot, cordonRoot: ctx.cordonRoot };
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
  for (const dir of ctx.scratch) fs.rmSync(dir, { recursive: true, force: true });
  for (const undo of ctx.atExit.splice(0)) {
    try {
      undo();
    } catch (error) {
      log(`note: ${error.message}`);
    }
  }
}

/** The spawning process's CPU ticks so far, or undefined when it cannot be read (no pid, gone). */
function cpuTicksOf(runner) {
  if (runner.pid === undefined) return undefined;
  try {
    return readCpuTicks(runner.pid);
  } catch {
    return undefined;
  }
}

function rotate(list, by) {
  if (list.length === 0) return list;
  const k = by % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

async function runSuite(opts, budget) {
  const started = now();
  const loadBefore = os.loadavg();
  const elapsed = () => `${(Number(now() - started) / 1e9).toFixed(0)}s`;
  const ctx = makeContext(opts);
  ctx.cordon = describeCordon(ctx.cordonRoot);
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
  // Ctrl-C: the helpers and workers get it too; leave no scratch behind.
  const onInterrupt = () => {
    cleanup(ctx);
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  try {
    log(`bench: ${selected.length} cases x ${payloads.length} payloads, ${opts.quick ? 'quick' : 'full'} run; tmp ${ctx.tmp}`);
    // Open every pair: a probe spawn, which may skip it with a reason, then warm-up.
    for (const caseDef of selected) {
      for (const payload of payloads) {
        const combo = { caseDef, payload, key: `${caseDef.id}@${payload.id}`, status: 'ok', samples: [], roundMedians: [], spawnMs: [], runMs: [], tput: {} };
        combos.push(combo);
        if (caseDef.notImplemented) {
          combo.status = 'not-implemented';
          combo.reason = `${caseDef.notImplemented} not implemented`;
          continue;
        }
        const reason = payload.missing ?? (caseDef.payloads && !caseDef.payloads.includes(payload.id) ? `runs only with the ${caseDef.payloads.join(', ')} payload` : caseDef.requires?.(ctx));
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
          await combo.runner.trial(caseDef.slow?.warmup ?? budget.warmup);
          const calibration = await combo.runner.trial(3);
          combo.estimateMs = median(calibration.ns) / 1e6;
        } catch (error) {
          combo.status = error.skip ? error.kind : 'failed';
          combo.reason = error.message;
          combo.runner = undefined;
          continue;
        }
        const target = Math.round(budget.latencyBudgetMs / Math.max(combo.estimateMs, 0.01));
        // A slow case (a whole engine per spawn) takes its own few samples
        // (one a round in a quick run), still interleaved with the others.
        const wanted = caseDef.slow ? Math.min(opts.quick ? budget.rounds : caseDef.slow.samples, opts.samples ?? Infinity) : Math.min(budget.maxSamples, Math.max(budget.minSamples, target));
        combo.perRound = Math.ceil(wanted / budget.rounds);
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
          combo.roundMedians[round] = median(result.ns) / 1e6;
          if (result.spawnMs) combo.spawnMs.push(...result.spawnMs);
          if (result.runMs) combo.runMs.push(...result.runMs);
        } catch (error) {
          fail(combo, error);
        }
      }
    }

    // Throughput: each round visits every pair and, for it, every
    // concurrency in turn, so that a noisy stretch hits all levels alike.
    if (opts.tput) {
      for (let round = 0; round < budget.tputRounds; round++) {
        log(`[${elapsed()}] throughput round ${round + 1}/${budget.tputRounds} (concurrency ${budget.concurrency.join(', ')})`);
        for (const combo of rotate(active().filter((c) => c.caseDef.slow?.throughput !== false && c.caseDef.throughput !== false), round * 5 + 3)) {
          for (const concurrency of budget.concurrency) {
            // A smoke run has no time for 64 slow spawns in flight.
            if (opts.quick && concurrency > 8 && combo.estimateMs > 5) continue;
            const slot = (combo.tput[concurrency] ??= { count: 0, ns: 0, failures: 0 });
            if (slot.failures > 0) continue;
            const minCount = Math.max(4, opts.quick ? concurrency : 2 * concurrency);
            try {
              // The spawning process's CPU around the measurement (the
              // orchestrator is idle meanwhile): summed over the slot's
              // measurements, divided by its boxes at the end.
              const cpuBefore = cpuTicksOf(combo.runner);
              const result = await combo.runner.throughput(concurrency, minCount, budget.tputMs);
              const cpuAfter = cpuBefore && cpuTicksOf(combo.runner);
              if (cpuAfter) slot.cpu = addCpuDelta(slot.cpu, cpuBefore, cpuAfter, result.count);
              slot.count += result.count;
              slot.ns += result.ns;
              slot.failures += result.failures;
              // Per-spawn latencies under load, where the driver reports them (the Node drivers).
              if (Array.isArray(result.latencies)) (slot.latencies ??= []).push(...result.latencies);
              if (result.failures > 0) slot.error = result.error ?? `${result.failures} spawns failed`;
            } catch (error) {
              slot.failures++;
              slot.error = error.message;
            }
            if (slot.error) log(`  throughput failed: ${combo.key} at concurrency ${concurrency}: ${slot.error}`);
          }
        }
      }
    }
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    for (const combo of combos) {
      try {
        await combo.runner?.close();
      } catch {
        // a worker that died has nothing left to close
      }
    }
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
    if (combo.caseDef.note) out.note = combo.caseDef.note;
    if (combo.samples.length > 0) {
      out.stats = summarize(combo.samples);
      out.samplesMs = combo.samples.map((v) => Math.round(v * 1e4) / 1e4);
      out.roundMediansMs = combo.roundMedians;
    }
    if (combo.spawnMs.length > 0) {
      out.cordonSplit = { spawnMsMedian: median(combo.spawnMs), runMsMedian: median(combo.runMs) };
    }
    if (Object.keys(combo.tput).length > 0) {
      out.throughput = {};
      for (const [concurrency, slot] of Object.entries(combo.tput)) {
        out.throughput[concurrency] = slot.failures > 0
          ? { error: slot.error }
          : {
            perSecond: slot.ns > 0 ? (slot.count / slot.ns) * 1e9 : null,
            spawns: slot.count,
            seconds: slot.ns / 1e9,
            ...(slot.latencies?.length > 0 ? latencyTail(slot.latencies) : {}),
            ...(slot.cpu ? { cpu: cpuPerBox(slot.cpu) } : {}),
          };
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
    rounds: budget.rounds,
    // Other work on the machine while the suite ran: 1-minute load averages.
    load: { before: loadBefore[0], after: os.loadavg()[0] },
    results,
    memory,
    durationS: Number(now() - started) / 1e9,
  };
}

/** Median and p99 (ms) of the spawns of one concurrency level. */
function latencyTail(latenciesNs) {
  const sorted = [...latenciesNs].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] / 1e6;
  return { medianMs: at(0.5), p99Ms: at(0.99), latencyN: sorted.length };
}

/** Each case against C fork+exec and child_process.spawn of the same payload. */
function addRatios(results) {
  const find = (id, payload) => results.find((r) => r.id === id && r.payload === payload);
  for (const result of results) {
    if (!result.stats) continue;
    result.ratios = {
      forkExec: pairedRatio(result, find('c-fork-exec', result.payload)),
      childProcess: pairedRatio(result, find('node-child-process', result.payload)),
    };
  }
}

module.exports = { runSuite, HEAP_BALLAST_MB };
