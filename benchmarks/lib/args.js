// Command-line flags of `node benchmarks/index.js`.
'use strict';

const USAGE = `usage: node benchmarks/index.js [flags]

  --quick            a ~20-second smoke run (also BENCH_QUICK=1)
  --no-write         print only: no results/latest.json, latency.svg or RESULTS.md
  --no-tput          skip the throughput phase
  --cases REGEX      only cases whose id matches (baselines needed for ratios are kept)
  --payloads LIST    comma-separated payload ids (true,static)
  --samples N        latency samples per case and payload (overrides the time budget)
  --rounds N         round-robin rounds for latency
  --tput-ms MS       minimum duration of one throughput measurement
  --out DIR          where results go (default benchmarks/results)
  --cordon DIR       measure the cordon package in DIR (built) instead of this checkout
  --help`;

function parseArgs(argv, env = process.env) {
  const opts = {
    quick: env.BENCH_QUICK === '1',
    write: true,
    tput: true,
    cases: null,
    payloads: null,
    samples: null,
    rounds: null,
    tputMs: null,
    out: null,
    cordon: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value\n${USAGE}`);
      return next;
    };
    const int = () => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 1) throw new Error(`${arg} needs a positive integer`);
      return n;
    };
    switch (arg) {
      case '--quick': opts.quick = true; break;
      case '--no-write': opts.write = false; break;
      case '--no-tput': opts.tput = false; break;
      case '--cases': opts.cases = new RegExp(value()); break;
      case '--payloads': opts.payloads = value().split(',').filter(Boolean); break;
      case '--samples': opts.samples = int(); break;
      case '--rounds': opts.rounds = int(); break;
      case '--tput-ms': opts.tputMs = int(); break;
      case '--out': opts.out = value(); break;
      case '--cordon': opts.cordon = value(); break;
      case '--help': case '-h': opts.help = true; break;
      default: throw new Error(`unknown flag ${arg}\n${USAGE}`);
    }
  }
  return opts;
}

/** Sample counts and durations for a full run and for --quick. */
function budget(opts) {
  const base = opts.quick
    ? { rounds: 4, minSamples: 8, maxSamples: 40, latencyBudgetMs: 120, warmup: 2, tputMs: 20, tputRounds: 1, concurrency: [1, 2, 8, 64] }
    : { rounds: 20, minSamples: 60, maxSamples: 400, latencyBudgetMs: 1100, warmup: 5, tputMs: 220, tputRounds: 2, concurrency: [1, 2, 8, 64] };
  if (opts.rounds) base.rounds = opts.rounds;
  if (opts.samples) {
    base.minSamples = opts.samples;
    base.maxSamples = opts.samples;
  }
  if (opts.tputMs) base.tputMs = opts.tputMs;
  return base;
}

module.exports = { parseArgs, budget, USAGE };
