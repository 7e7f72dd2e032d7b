#!/usr/bin/env node
// `npm run bench`: spawn latency and throughput of cordon against C
// fork+exec, child_process.spawn and peer tools. See benchmarks/README.md.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const { parseArgs, budget, USAGE } = require('./lib/args');
const { runSuite } = require('./lib/run');
const { describeMachine } = require('./lib/machine');
const { evaluateTargets } = require('./lib/targets');
const { terminalReport } = require('./lib/report');
const { latencySvg } = require('./lib/svg');
const { resultsMarkdown } = require('./lib/markdown');

/**
 * The JS-thread target (issue 15) in the same run: spawnIsolatedAsync()
 * against a compileBox() template, interleaved (benchmarks/js-thread.js),
 * in this process fresh and after a warm-up of 4,000 boxes. About fifteen
 * seconds; skipped by a quick run.
 */
async function measureJsThreadTarget(opts) {
  if (opts.quick) return undefined;
  if (opts.cordon) return { error: 'js-thread.js measures this checkout, and --cordon names another' };
  try {
    return { result: await require('./js-thread').measureJsThread({ rounds: 100, warmup: 20 }) };
  } catch (error) {
    return { error: error.message };
  }
}

async function main() {
  // `--js-thread`: only the JS-thread time per spawnIsolatedAsync call (benchmarks/js-thread.js).
  if (process.argv.includes('--js-thread')) return require('./js-thread').main(process.argv.slice(2));
  const opts = parseArgs(process.argv.slice(2));
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  if (process.platform !== 'linux') {
    console.log('bench: cordon runs on Linux only; nothing to measure here');
    return 0;
  }
  const plan = budget(opts);
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const run = await runSuite(opts, plan);
  const machine = describeMachine(run.ctx);
  const targets = evaluateTargets(run.results, run.payloads, { jsThread: await measureJsThreadTarget(opts) });
  const command = `node benchmarks/index.js${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''}`;

  console.log(`cordon spawn benchmark — ${date}`);
  console.log(`${machine.cpu}, ${machine.cores} cores, Linux ${machine.kernel}, Node ${machine.node}, ${machine.euid === 0 ? 'root' : `uid ${machine.euid}`}`);
  const c = run.ctx.cordon;
  console.log(`cordon ${c.version ?? ''} at ${c.root}${c.commit ? `, commit ${c.commit}${c.uncommitted ? ' + uncommitted changes' : ''}` : ''}`);
  console.log(terminalReport(run, targets));
  console.log(`\n(${run.durationS.toFixed(0)} s; 1-minute load average ${run.load.before.toFixed(2)} before, ${run.load.after.toFixed(2)} after)`);

  if (opts.write) {
    const outDir = path.resolve(opts.out ?? path.join(__dirname, 'results'));
    fs.mkdirSync(outDir, { recursive: true });
    const json = {
      date,
      command,
      quick: opts.quick,
      durationS: run.durationS,
      machine,
      cordon: run.ctx.cordon,
      budget: plan,
      payloads: run.payloads.map(({ id, label, path: file }) => ({ id, label, path: file })),
      memory: run.memory,
      load: run.load,
      targets,
      results: run.results,
    };
    fs.writeFileSync(path.join(outDir, 'latest.json'), `${JSON.stringify(json, null, 1)}\n`);
    fs.writeFileSync(path.join(outDir, 'latency.svg'), latencySvg(run, 'cordon spawn latency', `${machine.cpu}, ${machine.cores} cores, Linux ${machine.kernel}, Node ${machine.node}, ${date}${opts.quick ? ' (quick run)' : ''}`));
    const written = [path.join(outDir, 'latest.json'), path.join(outDir, 'latency.svg')];
    // A quick or filtered run is a smoke test, not a result worth committing.
    if (!opts.quick && !opts.cases && !opts.payloads && !opts.samples) {
      const md = path.join(__dirname, 'RESULTS.md');
      fs.writeFileSync(md, resultsMarkdown(run, targets, machine, { date, command: 'npm run bench', quick: opts.quick }, md));
      written.push(md);
    }
    console.log(`wrote ${written.map((f) => path.relative(process.cwd(), f) || f).join(', ')}`);
  }
  const failed = run.results.filter((r) => r.status === 'failed');
  if (failed.length > 0) {
    console.log(`\n${failed.length} case(s) failed while measuring:`);
    for (const r of failed) console.log(`  ${r.id}@${r.payload}: ${r.reason}`);
  }
  // A peer tool misbehaving is its business; cordon or a baseline failing midway is a bug.
  return failed.some((r) => r.group !== 'peer') ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(error?.stack ?? error);
    process.exitCode = 1;
  },
);
