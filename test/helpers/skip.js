// Skips that say why, and that fail instead under CORDON_MUST_RUN=1 (CI), so
// a core test can never quietly stop running.
'use strict';

function requireOrSkip(t, condition, reason) {
  if (condition) return true;
  if (process.env.CORDON_MUST_RUN === '1') {
    t.fail(`must run (CORDON_MUST_RUN=1) but cannot: ${reason}`);
  } else {
    t.skip(reason);
  }
  return false;
}

module.exports = { requireOrSkip };
