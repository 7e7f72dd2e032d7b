// Latency and throughput loops shared by the drivers that run inside Node.
'use strict';

const now = process.hrtime.bigint;

/**
 * Runs `startOne` (which starts one spawn and returns a promise of its
 * completion, rejecting on failure) n times in sequence. Returns the
 * latencies in nanoseconds and whatever `startOne` resolved with.
 */
async function sequential(startOne, n) {
  const ns = [];
  const results = [];
  for (let i = 0; i < n; i++) {
    const t0 = now();
    const result = await startOne();
    ns.push(Number(now() - t0));
    results.push(result);
  }
  return { ns, results };
}

/**
 * Keeps `concurrency` spawns in flight until at least `minCount` have
 * finished and `minMs` have passed, then lets the last ones drain. Also
 * returns each spawn's own latency (its start to its completion, ns), for
 * the tail under load (issue 15: p99 at concurrency 8).
 */
function throughput(startOne, concurrency, minCount, minMs) {
  return new Promise((resolve) => {
    const t0 = now();
    const minNs = BigInt(minMs) * 1_000_000n;
    let inflight = 0;
    let done = 0;
    let failures = 0;
    let firstError;
    let last = t0;
    const latencies = [];
    const launch = () => {
      inflight++;
      const started = now();
      let promise;
      try {
        promise = startOne();
      } catch (error) {
        promise = Promise.reject(error);
      }
      promise.then(() => {
        latencies.push(Number(now() - started));
        finish();
      }, (error) => {
        failures++;
        firstError ??= error;
        finish();
      });
    };
    const finish = () => {
      inflight--;
      done++;
      last = now();
      if (failures === 0 && (last - t0 < minNs || done + inflight < minCount)) {
        launch();
      } else if (inflight === 0) {
        resolve({ count: done, ns: Number(last - t0), failures, error: firstError?.message, latencies });
      }
    };
    for (let i = 0; i < concurrency; i++) launch();
  });
}

module.exports = { sequential, throughput };
