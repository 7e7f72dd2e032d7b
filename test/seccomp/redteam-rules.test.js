// Red team: random policies with argument conditions, many rules per call and
// many calls (programs of ~1,500 instructions, so the dispatch tree takes its
// long `ja` jumps with argument leaves under them), compiled and run through
// the independent interpreter against the documented rule order, computed
// here in BigInt: a call's deny entries in list order, then its allow
// entries, then what it gets unlisted (profile 'none'). Seeded: reproducible.
'use strict';
const t = require('tap');
const seccomp = require('../../dist/seccomp');
const bpf = require('./bpf-interpreter');

const AUDIT = { x64: 0xc000003e, arm64: 0xc00000b7 };
const TABLE = { x64: seccomp.SYSCALLS_X86_64, arm64: seccomp.SYSCALLS_AARCH64 };
const U64 = (1n << 64n) - 1n;
const VALUES = [0n, 1n, 2n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 0x100000001n, 0x7fffffffffffffffn,
  0x8000000000000000n, U64, U64 - 1n, 0xffffffff00000000n, 0x1234n, 0x1234n << 32n];
const OPS = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'maskedEq'];
const HOLDS = { eq: (x, v) => x === v, ne: (x, v) => x !== v, lt: (x, v) => x < v, le: (x, v) => x <= v, gt: (x, v) => x > v, ge: (x, v) => x >= v };
const ACTIONS = ['kill', 'kill-process', 'trap', 'log', { errno: 13 }, { errno: 22 }];
const RET = { allow: 0x7fff0000, kill: 0, 'kill-process': 0x80000000, trap: 0x30000, log: 0x7ffc0000 };
const retOf = (action) => (typeof action === 'string' ? RET[action] : (0x50000 | action.errno) >>> 0);

function generator(seed) {
  let state = seed;
  const random = () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x80000000;
  };
  const pick = (list) => list[Math.floor(random() * list.length)];
  const condition = () => {
    for (;;) {
      const op = pick(OPS);
      const index = Math.floor(random() * 3);
      const value = pick(VALUES);
      if (op === 'maskedEq') return { index, op, value, valueTwo: value & pick(VALUES) };
      if ((op === 'lt' && value === 0n) || (op === 'gt' && value === U64)) continue; // refused: never holds
      return { index, op, value };
    }
  };
  const conditions = () => Array.from({ length: 1 + Math.floor(random() * 3) }, condition);
  return { random, pick, conditions };
}

const holds = (c, args) => (c.op === 'maskedEq' ? (args[c.index] & c.value) === c.valueTwo : HOLDS[c.op](args[c.index], c.value));

// The documented decision for one call (profile 'none').
function expected(policy, name, args) {
  for (const rule of policy.deny.filter((d) => d.syscall === name)) {
    if (rule.args === undefined || rule.args.every((c) => holds(c, args))) return retOf(rule.action);
  }
  const allows = policy.allow.filter((a) => (typeof a === 'string' ? a : a.syscall) === name);
  if (allows.some((a) => typeof a === 'string' || a.args.every((c) => holds(c, args)))) return RET.allow;
  return policy.mode === 'allowlist' ? retOf(policy.defaultAction) : RET.allow;
}

function randomPolicy(g, calls) {
  const mode = g.pick(['denylist', 'allowlist']);
  const deny = [];
  const allow = mode === 'allowlist' ? ['execve'] : [];
  for (const name of calls) {
    for (let i = Math.floor(g.random() * 3); i > 0; i--) deny.push({ syscall: name, action: g.pick(ACTIONS), args: g.conditions() });
    if (g.random() < 0.3) {
      deny.push({ syscall: name, action: g.pick(ACTIONS) });
      continue;
    }
    const conditional = Math.floor(g.random() * 3);
    for (let i = 0; i < conditional; i++) allow.push({ syscall: name, args: g.conditions() });
    if (conditional === 0 && g.random() < 0.5) allow.push(name);
  }
  return mode === 'allowlist' ? { mode, profile: 'none', deny, allow, defaultAction: g.pick(ACTIONS) } : { mode, profile: 'none', deny, allow };
}

function check(t, seed, policies, callsFor, probes) {
  const g = generator(seed);
  let compared = 0;
  let longest = 0;
  for (let p = 0; p < policies; p++) {
    const arch = g.pick(['x64', 'arm64']);
    const calls = callsFor(arch);
    const policy = randomPolicy(g, calls);
    const bytes = seccomp.compileSeccomp(policy, arch);
    longest = Math.max(longest, bytes.length / 8);
    const evaluate = bpf.load(bytes);
    for (const name of calls) {
      for (let k = 0; k < probes; k++) {
        const args = [g.pick(VALUES), g.pick(VALUES), g.pick(VALUES), 0n, 0n, 0n];
        const got = evaluate({ nr: TABLE[arch].get(name), arch: AUDIT[arch], args }).ret >>> 0;
        const want = expected(policy, name, args);
        if (got !== want) {
          t.fail(`${arch} ${policy.mode} ${name}(${args.slice(0, 3).map((a) => `0x${a.toString(16)}`).join(', ')}): 0x${got.toString(16)}, documented 0x${want.toString(16)}`);
          return;
        }
        compared++;
      }
    }
  }
  t.pass(`${compared} calls of ${policies} random policies decided as documented (longest program ${longest} instructions)`);
  return longest;
}

t.test('a few calls, many rules each: the documented order decides', async (t) => {
  check(t, 1, 300, () => ['read', 'write', 'openat', 'close', 'socket', 'ioctl', 'personality', 'getpid'], 30);
});

t.test('a hundred calls with rules: long jumps over argument leaves', async (t) => {
  const longest = check(t, 3, 20, (arch) => [...TABLE[arch].keys()].filter((_, i) => i % 3 === 0).slice(0, 110), 4);
  t.ok(longest > 1000, `programs long enough that subtrees exceed a conditional jump's reach (${longest})`);
});
