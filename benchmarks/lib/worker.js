// A Node process that runs the Node-side cases (cordon, child_process) for
// the orchestrator, so that a case with a large heap never shares a process
// with the others. Started by worker-client.js with --ballast-mb N.
'use strict';
const { loadCases, loadDriver } = require('./registry');

const ballastMb = Number(process.argv[process.argv.indexOf('--ballast-mb') + 1] || 0);
const ctx = JSON.parse(process.argv[process.argv.indexOf('--ctx') + 1]);
const cases = new Map(loadCases().map((c) => [c.id, c]));
const runners = new Map();

// Retained JS objects and strings on the V8 heap (not Buffers, which live
// outside it): what a busy server's heap looks like to fork().
const ballast = [];
function growHeap(mb) {
  if (mb <= 0) return;
  const target = mb * 2 ** 20;
  const base = process.memoryUsage().heapUsed;
  while (process.memoryUsage().heapUsed - base < target) {
    const chunk = new Array(10000);
    for (let i = 0; i < chunk.length; i++) {
      chunk[i] = { id: i, name: `ballast-${ballast.length}-${i}`, tags: [i, i * 2, i * 3] };
    }
    ballast.push(chunk);
  }
}

const beforeBallast = process.memoryUsage();
growHeap(ballastMb);
globalThis.gc?.();
const atStart = process.memoryUsage();

async function handle(message) {
  switch (message.op) {
    case 'memory':
      return { ballastMb, beforeBallast, atStart, atEnd: process.memoryUsage() };
    case 'open': {
      const caseDef = cases.get(message.caseId);
      if (!caseDef) throw new Error(`no case ${message.caseId}`);
      const runner = await loadDriver(caseDef.driver).open(caseDef, message.payload, ctx);
      runners.set(message.key, runner);
      return {};
    }
    case 'trial':
      return runners.get(message.key).trial(message.n);
    case 'tput':
      return runners.get(message.key).throughput(message.concurrency, message.minCount, message.minMs);
    case 'close':
      await runners.get(message.key)?.close();
      runners.delete(message.key);
      return {};
    default:
      throw new Error(`unknown op ${message.op}`);
  }
}

process.on('message', (message) => {
  handle(message).then(
    (result) => process.send({ id: message.id, result }),
    (error) => process.send({ id: message.id, error: error.message, skip: error.skip ? error.kind : undefined }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
