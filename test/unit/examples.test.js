// The examples run as documented (as root and unprivileged).
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const t = require('tap');

const example = path.join(__dirname, '..', '..', 'examples', 'tenant-frontend.js');

t.test('examples/tenant-frontend.js --check: each tenant answers through its own box', async (t) => {
  const result = spawnSync(process.execPath, [example, '--check'], { encoding: 'utf8', timeout: 60000 });
  t.equal(result.status, 0, result.stderr);
  const replies = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
  t.same(replies.map((reply) => reply.tenant), ['alice', 'bob', 'carol']);
  for (const reply of replies) {
    t.equal(reply.url, '/hello', 'the frontend strips the tenant prefix');
    t.equal(reply.pid, 2, 'the backend is the payload under cordon\'s init, in a pid namespace of its own');
    t.equal(reply.uid, 0, 'root in its own user namespace');
  }
});

t.test('examples/tenant-frontend.js --check: a tenant that fails makes it exit non-zero', async (t) => {
  // bob's box (the second spawn) is killed as soon as it starts.
  const preload = path.join(__dirname, '..', 'helpers', 'kill-one-tenant.js');
  const result = spawnSync(process.execPath, ['-r', preload, example, '--check'], {
    encoding: 'utf8', timeout: 60000, env: { ...process.env, CORDON_KILL_SPAWN: '2' },
  });
  t.equal(result.status, 1, 'exit status 1');
  t.match(result.stderr, /^bob: HTTP 502: /m, 'says which tenant failed, and how');
  t.match(result.stderr, /^failed: bob$/m);
  const replies = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
  t.same(replies.map((reply) => reply.tenant), ['alice', 'carol'], 'the others still answer');
});

t.test("the README's first example runs as written", async (t) => {
  const fs = require('node:fs');
  const root = path.join(__dirname, '..', '..');
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const first = /^```js\n([\s\S]*?)^```$/m.exec(readme);
  t.ok(first, 'the README has a js code block');
  const code = first[1];
  t.match(code, /^import \{ spawnIsolated \} from 'cordon';$/m, 'it imports cordon by its package name');
  // As the file it says it is (an ES module), resolving 'cordon' from inside the package.
  const result = spawnSync(process.execPath, ['--input-type=module', '--eval', code], { cwd: root, encoding: 'utf8', timeout: 60000 });
  t.equal(result.status, 0, result.stderr);
  t.match(result.stdout, /^uid=0\(root\) gid=0\(root\)/m, 'id ran in the box, as its root');
  t.match(result.stdout, /^cordon$/m, "hostname: the box's own");
  t.match(result.stdout, /^\s*PID\s+TTY/m, 'ps ran');
  t.match(result.stdout, /^the box exited with code 0, signal null$/m);
});
