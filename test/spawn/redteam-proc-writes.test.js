// Red team: the child's writes of existing /proc files (native/child/
// limits.cc: oom_score_adj, the per-user counters in /proc/sys/user,
// sysctls) happen after it has joined the namespaces it joins. box.exec()
// joins the box's mount namespace, so a payload that may mount (the
// supervisor gave it CAP_SYS_ADMIN and let seccomp allow mount) decides
// what /proc is there. It makes /proc/self/oom_score_adj a FIFO: the
// exec's open for writing blocked forever, and box.exec() (a synchronous
// spawn) with it the supervisor's JS thread. A regular file on its tmpfs
// took the write silently: the exec'd process ran without its limit.
// Every such write must reach procfs or fail the spawn, never block.
// The attack runs in a child process, so a hang fails the test instead
// of hanging it (the one bound on time here: a hang has no event).
'use strict';
const { spawnSync } = require('node:child_process');
const t = require('tap');

const script = (shape) => `
  const { spawnIsolated } = require(${JSON.stringify(require.resolve('../..'))});
  const prepare = ${JSON.stringify({
    fifo: 'mkfifo /proc/self/oom_score_adj',
    'fifo with a reader': 'mkfifo /proc/self/oom_score_adj && exec 3<>/proc/self/oom_score_adj',
    file: 'echo 0 > /proc/self/oom_score_adj',
  }[shape])};
  const box = spawnIsolated('/bin/sh', ['-c', 'mount -t tmpfs none /proc && mkdir -p /proc/self && ' + prepare + ' && echo ready && exec sleep 1000'],
    { capabilities: ['CAP_SYS_ADMIN'], seccomp: { allow: ['mount'] }, oomScoreAdj: 500, stdio: ['ignore', 'pipe', 'inherit'] });
  let said = '';
  box.stdout.on('data', async (chunk) => {
    said += chunk;
    if (!said.includes('ready')) return;
    box.stdout.removeAllListeners('data');
    let outcome;
    try {
      // The exec'd process's own oom_score_adj, read on the host (in the box, /proc is the payload's).
      const exec = box.exec('/bin/sh', ['-c', 'echo up; exec sleep 1000'], { stdio: ['ignore', 'pipe', 'ignore'] });
      const up = new Promise((resolve) => exec.stdout?.once('data', resolve));
      const first = await Promise.race([
        up.then(() => 'up'),
        exec.exited.then((r) => ({ ended: r.code }), (e) => ({ failed: e.code, step: e.step, hinted: /not procfs's/.test(e.hint ?? '') })),
      ]);
      if (first === 'up') {
        const real = require('node:fs').readFileSync('/proc/' + exec.pid + '/oom_score_adj', 'utf8').trim();
        exec.kill('SIGKILL');
        await exec.exited.catch(() => {});
        outcome = { ran: true, out: real };
      } else {
        outcome = first;
      }
    } catch (error) {
      outcome = { threw: error.message };
    }
    box.kill('SIGKILL');
    await box.exited;
    console.log(JSON.stringify(outcome));
  });
  box.exited.then((r) => { if (!said.includes('ready')) console.log(JSON.stringify({ boxEnded: r.code })); });`;

for (const shape of ['fifo', 'fifo with a reader', 'file']) {
  t.test(`box.exec() into a box whose /proc/self/oom_score_adj is a ${shape}: it does not block, and no limit goes astray`, async (t) => {
    const result = spawnSync(process.execPath, ['-e', script(shape)], { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' });
    t.notOk(result.error?.code === 'ETIMEDOUT' || result.signal === 'SIGKILL', `box.exec() returned (${result.signal ?? 'no signal'}; it blocked the supervisor before)`);
    const last = result.stdout.trim().split('\n').pop() ?? '';
    let outcome;
    try {
      outcome = JSON.parse(last);
    } catch {
      outcome = { unparsed: result.stdout, stderr: result.stderr };
    }
    t.equal(outcome.boxEnded, undefined, `the payload prepared its /proc (${JSON.stringify(outcome)})`);
    // Either the exec failed at its oom_score_adj step, or it ran with the limit it was given.
    const honest = (outcome.failed !== undefined && /oom_score_adj/.test(outcome.step ?? '')) || (outcome.ran === true && outcome.out === '500');
    t.ok(honest, `the exec failed naming its oom_score_adj step, or ran with it: ${JSON.stringify(outcome)}`);
    if (outcome.failed !== undefined) t.ok(outcome.hinted, 'the failure says why (something is mounted over /proc)');
  });
}
