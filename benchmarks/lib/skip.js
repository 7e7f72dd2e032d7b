// A case that cannot run here says why; the suite prints the reason and goes on.
'use strict';

class Skip extends Error {
  constructor(reason, kind = 'skipped') {
    super(reason);
    this.name = 'Skip';
    this.skip = true;
    /** 'skipped', or 'not-implemented' when cordon lacks the feature the case needs. */
    this.kind = kind;
  }
}

/** The case needs a cordon feature that does not exist (yet). */
function notImplemented(feature) {
  return new Skip(`${feature} not implemented`, 'not-implemented');
}

module.exports = { Skip, notImplemented };
