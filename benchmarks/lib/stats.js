// Order statistics of latency samples (milliseconds).
'use strict';

/** Quantile q (0..1) of sorted values, interpolating linearly between ranks. */
function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function summarize(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    n: sorted.length,
    min: sorted[0],
    p1: quantile(sorted, 0.01),
    p5: quantile(sorted, 0.05),
    p25: quantile(sorted, 0.25),
    median: quantile(sorted, 0.5),
    p75: quantile(sorted, 0.75),
    p90: quantile(sorted, 0.9),
    p95: quantile(sorted, 0.95),
    p99: quantile(sorted, 0.99),
    max: sorted[sorted.length - 1],
    mean: sum / sorted.length,
  };
}

function median(values) {
  return quantile([...values].sort((a, b) => a - b), 0.5);
}

/**
 * How many times slower `a` is than `b`, paired by round: in each round both
 * ran within seconds of each other, so the ratio of that round's medians cancels
 * the machine's slow drifts; the result is the median of those ratios.
 * (Falls back to the ratio of overall medians without round data.)
 */
function pairedRatio(a, b) {
  if (!a?.stats || !b?.stats) return null;
  const ratios = [];
  const rounds = Math.min(a.roundMediansMs?.length ?? 0, b.roundMediansMs?.length ?? 0);
  for (let r = 0; r < rounds; r++) {
    const x = a.roundMediansMs[r];
    const y = b.roundMediansMs[r];
    if (x > 0 && y > 0) ratios.push(x / y);
  }
  return ratios.length > 0 ? median(ratios) : a.stats.median / b.stats.median;
}

module.exports = { quantile, summarize, median, pairedRatio };
