// A thousand boxes later, this process holds what it held before: no fds,
// no pidfds, no zombie children.
'use strict';
const t = require('tap');
const { spawnIsolated } = require('../..');
const { openFds, fdCount, pidfdCount, zombieChildren } = require('../helpers/procfs');

const SPAWNS = 1000;

/** Lets pending socket closes and other callbacks run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** Fds open now that were not open (to the same thing) in `before`: "fd -> target" strings. */
function newFds(before) {
  const added = [];
  for (const [fd, target] of openFds()) if (before.get(fd) !== target) added.push(`${fd} -> ${target}`);
  return added;
}

/**
 * One spawn of the mix: /bin/true with 'ignore' or 'pipe' stdio, with or
 * without the init; every tenth one fails (a missing binary, a missing
 * cwd, or an aborted signal) instead.
 */
async function oneSpawn(i, { endStdin }) {
  const init = i % 4 < 2;
  if (i % 10 === 9) {
    const kind = (i / 10) % 3 | 0;
    let box;
    if (kind === 0) box = spawnIsolated('/nonexistent/cordon-leak-test', [], { init });
    else if (kind === 1) box = spawnIsolated('/bin/true', [], { init, cwd: '/nonexistent/cordon-leak-test' });
    else {
      const controller = new AbortController();
      controller.abort();
      box = spawnIsolated('/bin/true', [], { init, signal: controller.signal });
    }
    box.on('error', () => {});
    await box.exited.then(
      () => {
        throw new Error(`spawn ${i} was meant to fail`);
      },
      () => undefined,
    );
    return;
  }
  const stdio = i % 2 === 0 ? 'ignore' : 'pipe';
  const box = spawnIsolated('/bin/true', [], { init, stdio });
  if (endStdin) box.stdin?.end();
  box.stdout?.resume();
  box.stderr?.resume();
  const result = await box.exited;
  if (result.code !== 0) throw new Error(`spawn ${i} exited ${result.code} ${result.signal}`);
}

/** Runs the mix `count` times and compares fds, pidfds and zombies with the baseline. */
async function checkNoLeaks(t, { endStdin }) {
  // Warm up: cordon keeps /dev/null and the init binary open once per process.
  for (let i = 0; i < 10; i++) await oneSpawn(i, { endStdin: true });
  await settle();
  const before = openFds();
  const fds = fdCount();
  const pidfds = pidfdCount();
  const zombies = zombieChildren().map((stat) => stat.pid);

  for (let i = 0; i < SPAWNS; i++) await oneSpawn(i, { endStdin });
  await settle();
  await settle();

  const leaked = newFds(before);
  t.equal(fdCount(), fds, `open fds are back to the baseline of ${fds}`, {
    leakedCount: leaked.length,
    leaked: leaked.slice(0, 8),
  });
  t.equal(pidfdCount(), pidfds, 'no pidfd remains');
  t.same(zombieChildren().map((stat) => stat.pid), zombies, 'no zombie child remains');
}

t.test('the measures see what a running box holds', async (t) => {
  // Without this, a broken measure would pass every leak check below.
  await oneSpawn(1, { endStdin: true });
  await settle();
  const fds = fdCount();
  const pidfds = pidfdCount();
  const box = spawnIsolated('sleep', ['30'], { stdio: 'pipe' });
  await new Promise((resolve) => box.once('spawn', resolve));
  t.equal(pidfdCount(), pidfds + 1, 'one more pidfd while the box runs');
  t.ok(fdCount() >= fds + 5, 'its pidfd, exit pipe and three stdio ends are open');
  box.stdin.end();
  box.kill('SIGKILL');
  await box.exited;
  await settle();
  t.equal(pidfdCount(), pidfds, 'and the pidfd is gone after it exits');
  t.equal(fdCount(), fds, 'as are the other fds');
});

t.test(`${SPAWNS} spawns that end stdin themselves leak nothing`, async (t) => {
  await checkNoLeaks(t, { endStdin: true });
});

// child_process destroys a child's stdin when the child exits; a caller that
// never writes to box.stdin must not be left holding its fd either.
t.test(`${SPAWNS} spawns that leave stdin alone leak nothing`, async (t) => {
  await checkNoLeaks(t, { endStdin: false });
});

t.test('stdin of an exited box is destroyed, like child_process', async (t) => {
  const box = spawnIsolated('/bin/true', [], { stdio: 'pipe' });
  await box.exited;
  await settle();
  t.equal(box.stdin.destroyed, true, 'box.stdin is destroyed once the box has exited');
});
