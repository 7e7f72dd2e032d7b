// The examples run as documented (as root and unprivileged).
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const t = require('tap');

t.test('examples/tenant-frontend.js --check: each tenant answers through its own box', async (t) => {
  const example = path.join(__dirname, '..', '..', 'examples', 'tenant-frontend.js');
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
