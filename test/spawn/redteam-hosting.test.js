// Red team: the hosting surface and the CLI from outside. Each test is an
// attack; what must hold is said in its name.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const t = require('tap');

const cli = path.join(__dirname, '..', '..', 'dist', 'cli.js');

t.test('fd-taking CLI flags never name one of Node\'s own fds (its libuv pipes): refused, never a crash or a hang', async (t) => {
  // No fd is passed to the CLI beyond 0-2: every fd from 3 up that is
  // open in it is Node's own (epoll, eventfd, and libuv's signal and async
  // pipes, both ends of each). Writing JSON into one made libuv read it as
  // pointers (SIGSEGV, SIGABRT); reading one hung.
  for (let fd = 3; fd <= 16; fd++) {
    for (const flag of [['--info-fd', String(fd)], ['--json-status-fd', String(fd)], ['--args', String(fd)], ['--file', String(fd), '/x']]) {
      const result = spawnSync(process.execPath, [cli, 'run', ...flag, '/bin/true'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000, killSignal: 'SIGKILL' });
      const what = `${flag.join(' ')}`;
      if (result.status === 125 && result.signal === null) continue; // refused as a usage error
      t.fail(`${what}: refused with 125`, { status: result.status, signal: result.signal, stderr: result.stderr.slice(0, 300) });
    }
  }
  t.pass('every fd from 3 to 16 refused for every fd flag');
});

t.test('an fd the caller did pass is still taken', async (t) => {
  const dir = fs.mkdtempSync('/tmp/cordon-redteam-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const args = path.join(dir, 'args');
  fs.writeFileSync(args, '/bin/echo\0passed\0');
  const fd = fs.openSync(args, 'r');
  t.teardown(() => fs.closeSync(fd));
  const result = spawnSync(process.execPath, [cli, 'run', '--args', '3'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe', fd], timeout: 30_000, killSignal: 'SIGKILL' });
  t.equal(result.status, 0, result.stderr);
  t.equal(result.stdout, 'passed\n');
});

t.test('a tenant\'s server that answers a health check with an endless body does not keep the supervisor\'s connections', async (t) => {
  const http = require('node:http');
  const { createService } = require('../..');
  // The tenant's answer: 200 at once, then a body that never ends.
  const closed = [];
  const server = http.createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain' });
    const timer = setInterval(() => response.write('x'.repeat(65536)), 1);
    const done = new Promise((resolve) => request.socket.once('close', resolve));
    closed.push(done);
    done.then(() => clearInterval(timer));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const service = createService({
    file: '/bin/sleep', args: ['1000'], options: { stdio: 'ignore' },
    health: { check: { http: { target: { host: '127.0.0.1', port: server.address().port } } }, intervalMs: 10, startPeriodMs: 0, timeoutMs: 60_000, failures: 3 },
    stop: { signal: 'SIGKILL' },
  });
  await service.start();
  t.teardown(() => service.stop());
  for (let i = 0; i < 3; i++) {
    const [result] = await new Promise((resolve) => service.once('health', (...args) => resolve(args)));
    t.equal(result.ok, true, `check ${i + 1} passes on the status`);
  }
  // Each check's connection is closed by the supervisor once it has the
  // status (a guard timer only turns a hang into a failure).
  const guard = new Promise((resolve) => {
    const timer = setTimeout(() => resolve('still open'), 60_000);
    timer.unref();
  });
  for (const [i, done] of closed.slice(0, 3).entries()) {
    t.equal(await Promise.race([done.then(() => 'closed'), guard]), 'closed', `check ${i + 1}'s connection was closed by the supervisor`);
  }
});
