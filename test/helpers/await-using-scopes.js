// `await using` scopes for test/spawn/dispose.test.js. A module of its own:
// on a Node without the syntax, loading it would be a SyntaxError, so the test
// requires it only where the syntax parses.
'use strict';
const { spawnIsolated, createNamespacePool } = require('../..');

/**
 * Spawns a long-running box in an `await using` scope, hands it to
 * `inScope` (which may throw), and returns the box once the scope is left.
 */
async function boxScope(inScope) {
  let escaped;
  try {
    await using box = spawnIsolated('sleep', ['30'], { stdio: 'pipe' });
    escaped = box;
    await inScope(box);
  } catch (error) {
    return { box: escaped, error };
  }
  return { box: escaped, error: undefined };
}

/** Makes a namespace pool in an `await using` scope and returns it once the scope is left. */
async function poolScope(options) {
  let escaped;
  {
    await using pool = createNamespacePool(options);
    escaped = pool;
    await pool.ready();
  }
  return escaped;
}

module.exports = { boxScope, poolScope };
