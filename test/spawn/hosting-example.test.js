// examples/hosting-supervisor.js runs as documented: lasting listeners,
// services, log files and a Host-routing frontend, through a restart and a
// crash with no request lost.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const t = require('tap');

const example = path.join(__dirname, '..', '..', 'examples', 'hosting-supervisor.js');

t.test('examples/hosting-supervisor.js --check', async (t) => {
  const result = spawnSync(process.execPath, [example, '--check'], { encoding: 'utf8', timeout: 120000 });
  t.equal(result.status, 0, result.stderr);
  const summary = JSON.parse(result.stdout.trim().split('\n').pop());
  t.same(summary.failed, [], 'no request failed, through the restart and the crash');
  t.same(Object.keys(summary.answered), ['alice', 'bob', 'carol'], 'each tenant answers through the frontend, by Host');
  t.ok(summary.requests >= 6, 'the client looped during the restart');
  t.equal(summary.alice, 1, 'alice was left alone');
  t.equal(summary.bob, 2, 'bob was restarted');
  t.equal(summary.carol, 2, 'carol was restarted by her service after the crash');
  t.same(summary.logged, ['tenant bob generation 1 up', 'tenant bob generation 2 up'], "both of bob's boxes appended to his log file");
});
