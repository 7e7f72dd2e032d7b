// A case that cannot run here says why; the suite prints the reason and goes on.
'use strict';

class Skip extends Error {
  constructor(reason) {
    super(reason);
    this.name = 'Skip';
    this.skip = true;
  }
}

module.exports = { Skip };
