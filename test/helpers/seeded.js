// A small seeded random generator (mulberry32) with the draws the
// generated-option tests use: the same seed gives the same cases, so a
// failing one can be replayed by its seed.
'use strict';

/** The draws from a 32-bit seed: next() in [0, 1), int(n), chance(p), pick(list), some(list, most). */
function generator(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    chance: (p) => next() < p,
    pick: (list) => list[Math.floor(next() * list.length)],
    some: (list, most = list.length) => list.filter(() => next() < most / list.length / 2),
  };
}

module.exports = { generator };
