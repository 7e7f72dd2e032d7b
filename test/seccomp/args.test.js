// Argument conditions compiled to BPF, run through the independent interpreter
// (bpf-interpreter.js) on both architectures: every op on both sides of its
// value, with the 64-bit edge values (high word set, low word matching alone,
// the sign bit, all ones), against the comparison done here in BigInt. And the
// red-team angle: a rule with args never lets through more than it says.
'use strict';
const t = require('tap');
const seccomp = require('../../dist/seccomp');
const bpf = require('./bpf-interpreter');

const AUDIT = { x64: 0xc000003e, arm64: 0xc00000b7 };
const TABLE = { x64: seccomp.SYSCALLS_X86_64, arm64: seccomp.SYSCALLS_AARCH64 };
const U64 = (1n << 64n) - 1n;
const ALLOW = 'allow';

// Values around the word boundaries, and some with both words busy.
const EDGES = [
  0n, 1n, 2n, 9n, 16n, 0x7fffffffn, 0x80000000n, 0xfffffffen, 0xffffffffn,
  0x100000000n, 0x100000001n, 0x1ffffffffn, 0x123456789abcdefn, 0x7fffffffffffffffn,
  0x8000000000000000n, 0x80000000ffffffffn, 0xffffffff00000000n, 0xffffffff00000010n, 0xfffffffffffffffen, U64,
];
const u64 = (v) => BigInt.asUintN(64, v);
// What an argument is tested with for a condition value: the value, its
// neighbours, and the value with only one of its words changed.
function probesFor(value) {
  const out = new Set(EDGES);
  for (const delta of [-1n, 0n, 1n]) out.add(u64(value + delta));
  out.add(u64(value ^ (1n << 32n))); // the same low word, another high word
  out.add(u64(value ^ (0xdeadn << 40n)));
  out.add(u64(value ^ 1n)); // the same high word, another low word
  out.add(u64(value ^ 0x80000000n));
  return [...out];
}

const REFERENCE = {
  eq: (x, v) => x === v,
  ne: (x, v) => x !== v,
  lt: (x, v) => x < v,
  le: (x, v) => x <= v,
  gt: (x, v) => x > v,
  ge: (x, v) => x >= v,
  maskedEq: (x, mask, want) => (x & mask) === want,
};

function evaluator(policy, arch) {
  const evaluate = bpf.load(seccomp.compileSeccomp(policy, arch));
  return (name, args) => {
    const described = bpf.describe(evaluate({ nr: TABLE[arch].get(name), arch: AUDIT[arch], args }).ret);
    return described.action === 'errno' ? `errno ${described.errno}` : described.action;
  };
}

for (const arch of ['x64', 'arm64']) {
  t.test(`${arch}: every op on both sides of 64-bit edge values, on each argument`, async (t) => {
    let checked = 0;
    let held = 0;
    for (const [op, holds] of Object.entries(REFERENCE)) {
      if (op === 'maskedEq') continue;
      for (const value of EDGES) {
        if ((op === 'lt' && value === 0n) || (op === 'gt' && value === U64)) continue; // refused: can never hold
        for (const index of [0, 3, 5]) {
          const check = evaluator({ profile: 'none', deny: [{ syscall: 'getppid', action: { errno: 77 }, args: [{ index, op, value }] }] }, arch);
          for (const x of probesFor(value)) {
            const args = [0n, 0n, 0n, 0n, 0n, 0n];
            args[index] = x;
            const want = holds(x, value) ? 'errno 77' : ALLOW;
            const got = check('getppid', args);
            if (got !== want) t.equal(got, want, `${op} 0x${value.toString(16)} on arg ${index}, argument 0x${x.toString(16)}`);
            checked++;
            if (want !== ALLOW) held++;
          }
        }
      }
    }
    t.ok(held > 1000 && checked - held > 1000, `${checked} comparisons agree with BigInt (${held} held, ${checked - held} did not)`);
  });

  t.test(`${arch}: maskedEq over masks in each word and across both`, async (t) => {
    const cases = [
      [0xffffffffn, 0x5412n], // the low word alone (what a 32-bit parameter needs)
      [0xffffffff00000000n, 0x100000000n], // the high word alone
      [0x7e020000n, 0n], // clone's namespace flags all clear
      [0x10000000n, 0x10000000n], // CLONE_NEWUSER set
      [U64, 0x123456789abcdefn], // every bit: eq
      [0x8000000000000001n, 0x8000000000000000n], // one bit in each word
      [0x0000ffff0000ff00n, 0x000012340000ab00n],
    ];
    let checked = 0;
    for (const [mask, want] of cases) {
      const check = evaluator({ profile: 'none', deny: [{ syscall: 'getppid', action: { errno: 5 }, args: [{ index: 2, op: 'maskedEq', value: mask, valueTwo: want }] }] }, arch);
      const probes = new Set([...probesFor(want), ...probesFor(mask), want | ~mask & U64, want | (~mask & 0xf0f0f0f0f0f0f0f0n)]);
      for (const x of probes) {
        const expected = REFERENCE.maskedEq(x, mask, want) ? 'errno 5' : ALLOW;
        const got = check('getppid', [0n, 0n, x]);
        if (got !== expected) t.equal(got, expected, `mask 0x${mask.toString(16)} want 0x${want.toString(16)}, argument 0x${x.toString(16)}`);
        checked++;
      }
      t.equal(check('getppid', [0n, 0n, want]), 'errno 5', `0x${want.toString(16)} itself matches`);
      t.equal(check('getppid', [0n, 0n, u64(want | ~mask)]), 'errno 5', 'bits outside the mask do not matter');
    }
    t.ok(checked > 100, `${checked} masked comparisons agree with BigInt`);
  });

  t.test(`${arch}: conditions in one rule AND, rules of one call OR, first match decides`, async (t) => {
    const policy = {
      profile: 'none',
      deny: [
        // socket(AF_NETLINK, *, NETLINK_AUDIT) → EINVAL, as podman's profile
        { syscall: 'socket', action: { errno: 'EINVAL' }, args: [{ index: 0, op: 'eq', value: 16 }, { index: 2, op: 'eq', value: 9 }] },
        { syscall: 'socket', action: { errno: 'EAFNOSUPPORT' }, args: [{ index: 0, op: 'eq', value: 40 }] }, // AF_VSOCK
        { syscall: 'socket', action: 'kill-process', args: [{ index: 0, op: 'eq', value: 16 }] }, // other netlink
        // a range: two conditions on one argument
        { syscall: 'getppid', action: { errno: 9 }, args: [{ index: 0, op: 'ge', value: 10 }, { index: 0, op: 'lt', value: 20 }] },
      ],
    };
    const check = evaluator(policy, arch);
    t.equal(check('socket', [16, 3, 9]), 'errno 22', 'netlink audit: the first rule');
    t.equal(check('socket', [16, 3, 0]), 'kill-process', 'netlink, another protocol: the third');
    t.equal(check('socket', [16, 3, 9n | (1n << 32n)]), 'kill-process', 'protocol 9 in the low word only: not the first rule');
    t.equal(check('socket', [40, 1, 0]), 'errno 97', 'AF_VSOCK: the second');
    t.equal(check('socket', [2, 1, 9]), ALLOW, 'AF_INET with protocol 9: no rule holds');
    t.equal(check('socket', [40n | (1n << 32n), 1, 0]), ALLOW, 'the high word decides: 0x1_00000028 is not 40');
    for (let x = 0; x < 40; x++) t.equal(check('getppid', [x]), x >= 10 && x < 20 ? 'errno 9' : ALLOW, `range [10, 20) at ${x}`);
    t.equal(check('getppid', [15n | (1n << 32n)]), ALLOW, '15 plus a high bit is above the range');
  });

  t.test(`${arch}: red team, allowlist: a rule with args allows exactly its values`, async (t) => {
    // podman's personality rules: an allowlist that permits five personas.
    const personas = [0n, 8n, 0x20000n, 0x20008n, 0xffffffffn];
    const check = evaluator({
      mode: 'allowlist',
      profile: 'none',
      defaultAction: { errno: 'ENOSYS' },
      allow: ['execve', ...personas.map((value) => ({ syscall: 'personality', args: [{ index: 0, op: 'eq', value }] }))],
    }, arch);
    for (const persona of personas) {
      t.equal(check('personality', [persona]), ALLOW, `personality(0x${persona.toString(16)})`);
      for (const evil of [persona | (1n << 32n), persona | (1n << 63n), persona | 0xffffffff00000000n, persona ^ 1n]) {
        if (personas.includes(evil)) continue;
        t.equal(check('personality', [evil]), 'errno 38', `personality(0x${evil.toString(16)}): a matching low word is not enough`);
      }
    }
    t.equal(check('personality', [0x10000n]), 'errno 38', 'another persona');
    t.equal(check('personality', [0n, 1n]), ALLOW, 'arguments the rule does not test do not matter');
    t.equal(check('getpid', []), 'errno 38', 'an unlisted call: the default');
    // The same with the other argument values taken by ne: ne must not admit the value itself.
    const ne = evaluator({ mode: 'allowlist', profile: 'none', allow: ['execve', { syscall: 'socket', args: [{ index: 0, op: 'ne', value: 40 }] }] }, arch);
    t.equal(ne('socket', [40]), 'errno 1', 'socket(AF_VSOCK) is not allowed by ne 40');
    t.equal(ne('socket', [40n | (1n << 32n)]), ALLOW, 'a high bit makes it another value (the kernel would then see AF_VSOCK: compare the low word alone with maskedEq)');
    const low = evaluator({ profile: 'none', deny: [{ syscall: 'socket', args: [{ index: 0, op: 'maskedEq', value: 0xffffffff, valueTwo: 40 }] }] }, arch);
    t.equal(low('socket', [40n | (1n << 32n)]), 'errno 1', 'maskedEq 0xffffffff: a deny no high bit dodges');
    t.equal(low('socket', [41n]), ALLOW);
  });

  t.test(`${arch}: args with the default profile, in both modes`, async (t) => {
    // denylist: an allow rule with args lifts the profile's refusal for its values alone.
    const deny = evaluator({ allow: [{ syscall: 'bpf', args: [{ index: 0, op: 'eq', value: 0 }] }], deny: [{ syscall: 'ioctl', action: { errno: 'ENOTTY' }, args: [{ index: 1, op: 'eq', value: 0x5401 }] }] }, arch);
    t.equal(deny('bpf', [0]), ALLOW, 'bpf(BPF_MAP_CREATE) allowed');
    t.equal(deny('bpf', [5]), 'errno 1', 'bpf(BPF_PROG_LOAD) still refused by the profile');
    t.equal(deny('bpf', [1n << 32n]), 'errno 1', 'and a low word of 0 is not enough');
    t.equal(deny('ioctl', [0, 0x5401]), 'errno 25', 'TCGETS refused by the deny rule');
    t.equal(deny('ioctl', [0, 0x5412]), 'errno 1', 'TIOCSTI still refused by the profile');
    t.equal(deny('ioctl', [0, 0x5413]), ALLOW, 'TIOCGWINSZ allowed');
    // allowlist: the profile's tests bind an ioctl permitted with args too.
    const allow = evaluator({ mode: 'allowlist', allow: ['execve', { syscall: 'ioctl', args: [{ index: 1, op: 'le', value: 0x5500 }] }] }, arch);
    t.equal(allow('ioctl', [0, 0x5401]), ALLOW);
    t.equal(allow('ioctl', [0, 0x5412]), 'errno 1', 'TIOCSTI: the profile first');
    t.equal(allow('ioctl', [0, 0x5501]), 'errno 1', 'above the rule: the default');
  });

  t.test(`${arch}: size stays bounded and the cache tells policies apart`, async (t) => {
    // Many rules: within BPF_MAXINSNS, or refused before anything runs.
    const many = Array.from({ length: 120 }, (_, i) => ({ syscall: 'getppid', action: { errno: 1 + (i % 100) }, args: [{ index: i % 6, op: 'ge', value: BigInt(i) << 33n }, { index: (i + 1) % 6, op: 'ne', value: i }] }));
    const program = seccomp.compileSeccomp({ profile: 'none', deny: many }, arch);
    t.ok(program.length / 8 < seccomp.BPF_MAXINSNS, `${program.length / 8} instructions for 120 rules`);
    const check = evaluator({ profile: 'none', deny: many }, arch);
    t.equal(check('getppid', [0, 1]), 'errno 1', 'the first rule (arg 0 >= 0, arg 1 != 0)');
    t.equal(check('getpid', []), ALLOW);
    const tooMany = Array.from({ length: 400 }, (_, i) => ({ syscall: 'getppid', args: [{ index: 0, op: 'le', value: i + 1 }, { index: 1, op: 'gt', value: i }] }));
    t.throws(() => seccomp.compileSeccomp({ profile: 'none', deny: tooMany }, arch), { code: 'ERR_INVALID_ARG_VALUE', option: 'seccomp', message: /more than the kernel's limit of 4096/ });
    // Calls with long rule lists on both sides of a tree node: long jumps stay right.
    const wide = ['read', 'write', 'openat', 'close', 'mmap', 'getppid', 'socket', 'connect', 'kill', 'futex'].flatMap((syscall) =>
      Array.from({ length: 12 }, (_, i) => ({ syscall, action: { errno: 1 + i }, args: [{ index: 1, op: 'eq', value: (BigInt(i) << 32n) | 7n }] })));
    const wideCheck = evaluator({ profile: 'none', deny: wide }, arch);
    for (const syscall of ['read', 'getppid', 'futex']) {
      for (let i = 0; i < 12; i++) t.equal(wideCheck(syscall, [0, (BigInt(i) << 32n) | 7n]), `errno ${1 + i}`, `${syscall} rule ${i}`);
      t.equal(wideCheck(syscall, [0, 7n | (12n << 32n)]), ALLOW, `${syscall}: no rule`);
    }
    // filterFor: equal policies share one entry, a different value another.
    const a = seccomp.validateSeccomp({ deny: [{ syscall: 'socket', args: [{ index: 0, op: 'eq', value: 40 }] }] });
    const b = seccomp.validateSeccomp({ deny: [{ syscall: 'socket', args: [{ index: 0, op: 'eq', value: 40n }] }] });
    const c = seccomp.validateSeccomp({ deny: [{ syscall: 'socket', args: [{ index: 0, op: 'eq', value: 40n | (1n << 32n) }] }] });
    t.equal(seccomp.filterFor(a, arch), seccomp.filterFor(b, arch), '40 and 40n: one cached filter');
    t.not(seccomp.filterFor(a, arch).hex, seccomp.filterFor(c, arch).hex, 'another high word: another filter');
    const order1 = seccomp.validateSeccomp({ deny: [{ syscall: 'socket', action: 'kill', args: [{ index: 0, op: 'eq', value: 1 }] }, { syscall: 'socket', action: 'trap', args: [{ index: 0, op: 'ge', value: 0 }] }] });
    const order2 = seccomp.validateSeccomp({ deny: [{ syscall: 'socket', action: 'trap', args: [{ index: 0, op: 'ge', value: 0 }] }, { syscall: 'socket', action: 'kill', args: [{ index: 0, op: 'eq', value: 1 }] }] });
    t.not(seccomp.filterFor(order1, arch).hex, seccomp.filterFor(order2, arch).hex, 'the order of one call\'s rules is part of the key');
  });
}

t.test('provablyDisjoint (the OCI mapping\'s overlap proof) is sound: never "apart" when one value satisfies both', async (t) => {
  const { provablyDisjoint } = require('../../dist/seccomp/args');
  // A tiny deterministic generator: the same cases on every run.
  let seed = 0x2545f491;
  const next = (n) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const ops = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'maskedEq'];
  const condition = () => {
    const op = ops[next(ops.length)];
    const index = next(2);
    if (op === 'maskedEq') {
      const mask = BigInt(next(64)) | (next(4) === 0 ? 1n << 40n : 0n);
      return { index, op, value: mask, valueTwo: mask & BigInt(next(64)) };
    }
    const value = BigInt(op === 'lt' ? 1 + next(6) : next(6));
    return { index, op, value };
  };
  const holds = (c, x) => (c.op === 'maskedEq' ? (x & c.value) === c.valueTwo : REFERENCE[c.op](x, c.value));
  const values = [...Array.from({ length: 80 }, (_, i) => BigInt(i)), 1n << 40n, (1n << 40n) | 5n, 1n << 63n, U64];
  let apart = 0;
  for (let round = 0; round < 3000; round++) {
    const a = Array.from({ length: 1 + next(4) }, condition);
    const b = Array.from({ length: 1 + next(4) }, condition);
    if (!provablyDisjoint(a, b)) continue;
    apart++;
    // Both rules hold for some call: an argument vector satisfying all of a and b.
    const both = [...a, ...b];
    const per = [0, 1].map((index) => values.find((x) => both.filter((c) => c.index === index).every((c) => holds(c, x))));
    if (per.every((x) => x !== undefined)) t.fail(`said apart, but args ${per} satisfy ${JSON.stringify(both, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
  }
  t.ok(apart > 300, `${apart} of 3000 random pairs proved apart, none wrongly`);
  t.notOk(provablyDisjoint(undefined, [{ index: 0, op: 'eq', value: 1n }]), 'a rule without conditions overlaps everything');
  t.ok(provablyDisjoint([{ index: 2, op: 'eq', value: 9n }], [{ index: 2, op: 'ne', value: 9n }]), 'podman\'s socket rules: eq 9 and ne 9');
  // Edges, each one value away from the other answer.
  const c = (op, value, valueTwo) => ({ index: 0, op, value, ...(valueTwo === undefined ? {} : { valueTwo }) });
  t.notOk(provablyDisjoint([c('maskedEq', 0x3fn, 5n)], [c('le', 5n)]), 'x = 5 has the masked bits and is at most 5');
  t.ok(provablyDisjoint([c('maskedEq', 0x3fn, 5n)], [c('lt', 5n)]), 'x & 0x3f = 5 needs x >= 5');
  t.notOk(provablyDisjoint([c('maskedEq', 0xf0n, 0x10n)], [c('ge', 0x1fn)]), 'x = 0x1f: the mask allows the low bits');
  t.notOk(provablyDisjoint([c('maskedEq', 0xf0n, 0x10n)], [c('ge', 0x20n), c('le', 0x2fn)]), 'apart in truth (0x20..0x2f have 0x20 under the mask), but past the proof: it answers "may overlap", the safe side');
  t.notOk(provablyDisjoint([c('ge', 3n), c('le', 5n)], [c('ne', 3n), c('ne', 4n)]), '5 is left');
  t.ok(provablyDisjoint([c('ge', 3n), c('le', 5n)], [c('ne', 3n), c('ne', 4n), c('ne', 5n)]), 'nothing left');
  t.notOk(provablyDisjoint([c('gt', U64 - 1n)], [c('ne', 0n)]), 'the largest value');
});
