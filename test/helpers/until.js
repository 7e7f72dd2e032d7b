'use strict';
// A bounded wait for state another process changes (a container's status,
// a daemon's progress): check() is polled every 10 ms, up to 30 s, and its
// first truthy value is returned. It waits for the state itself, not for a
// guessed delay; the bound only turns a hang into a failure that says what.
const sleeper = new Int32Array(new SharedArrayBuffer(4));

function until(check, what) {
  for (let i = 0; i < 3000; i++) {
    const value = check();
    if (value) return value;
    Atomics.wait(sleeper, 0, 0, 10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

module.exports = { until };
