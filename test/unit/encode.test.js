// encodePlan() writes an ASCII plan through a typed array (encodeAscii) and
// any other through Buffer's writers (encodeExact): the bytes must be the
// same, for every number a field can hold (negative, past 32 bits, at
// ±2^53) and every string (ASCII, non-ASCII, lone surrogates, NULs); what
// the fast path cannot write exactly it leaves to the exact one, errors
// included.
'use strict';
const t = require('tap');

const { encodePlan, encodeExact } = require('../../dist/internal/encode.js');
const { step } = require('../../dist/internal/steps.js');

const plan = (steps, fds = []) => ({ steps, fds, spawnargs: ['/bin/true'], usesInit: false });
const rlimit = (soft, hard, resource = 7) => step('setRlimit', { name: 'set rlimit x', syscall: 'prlimit64', kind: 'rlimit' }, { resource, soft, hard });
const exec = (argv, envp) => step('exec', { name: 'exec', syscall: 'execve', kind: 'exec' }, { argv, envp, candidates: [argv[0]] });

const sameBytes = (t, built, what) => {
  const fast = (() => {
    try {
      return encodePlan(built).buffer;
    } catch (error) {
      return error;
    }
  })();
  const exact = (() => {
    try {
      return encodeExact(built).buffer;
    } catch (error) {
      return error;
    }
  })();
  if (exact instanceof Error) {
    t.ok(fast instanceof Error, `${what}: both throw`);
    t.equal(fast.message, exact.message, `${what}: the same error`);
    return;
  }
  t.ok(Buffer.isBuffer(fast) && fast.equals(exact), `${what}: the same ${exact.length} bytes`);
};

t.test('numbers: the same bytes as Buffer writes them', async (t) => {
  const values = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 32 - 1, 2 ** 32, -(2 ** 32), -(2 ** 32) - 1, 2 ** 40 + 5, -(2 ** 40) - 5, 2 ** 53 - 1, -(2 ** 53 - 1)];
  for (const soft of values) sameBytes(t, plan([rlimit(soft, 0), exec(['/bin/true'], [])]), `soft ${soft}`);
  for (const odd of [0.5, -1.5, NaN, Infinity, -Infinity, 2 ** 60]) sameBytes(t, plan([rlimit(odd, 1), exec(['/bin/true'], [])]), `soft ${odd} (left to Buffer)`);
});

t.test('strings: ASCII through the fast path, anything else through Buffer, the same bytes', async (t) => {
  for (const [what, text] of [['ascii', 'A=1'], ['latin1', 'É=ü'], ['emoji', 'X=\u{1F600}'], ['lone surrogate', 'X=\ud800'], ['empty', ''], ['control bytes', 'X=\u0001\u007f']]) {
    sameBytes(t, plan([exec(['/bin/true', text], [text, 'PATH=/bin'])]), what);
  }
  const many = Array.from({ length: 2000 }, (_, i) => `V${i}=${'x'.repeat(i % 50)}`);
  sameBytes(t, plan([rlimit(5, 6), exec(['/bin/true'], many)], [3, 4, 5]), '2000 env strings, fds');
});

t.test('a plan of a default box, and one with non-ASCII in it', async (t) => {
  const { validateOptions } = require('../../dist/validate.js');
  const { buildPlan } = require('../../dist/plan.js');
  const { runtimeFor, callerFor } = require('../../scripts/plan-equivalence.js');
  for (const options of [{}, { env: { 'É': 'ü' }, hostname: 'box' }, { mounts: [{ type: 'file', target: '/f', content: 'ünïcode' }] }]) {
    const validated = validateOptions('/bin/true', ['a'], options);
    sameBytes(t, buildPlan(validated, runtimeFor(validated), callerFor(validated)), JSON.stringify(options));
  }
});
