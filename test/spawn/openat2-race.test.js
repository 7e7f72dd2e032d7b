// openat2 with RESOLVE_IN_ROOT fails with EAGAIN when a mount anywhere on the
// system, or a rename, races its walk through "..", and openat2(2) says to
// retry. A busy host (other boxes starting, files renamed) does that all the
// time: a bind source that follows a relative symlink through ".." must
// still resolve while another process renames in a loop.
'use strict';
const { removeTree } = require('../helpers/remove-tree');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');
const { run } = require('../helpers/payload');

t.test('bind sources resolve through ".." while renames churn elsewhere', async (t) => {
  // A mount namespace of its own (and a user namespace when not root), so
  // the churn touches nothing of the host's; the kernel's mount sequence
  // counter is global, so it still races every other openat2.
  // Renames bump the kernel's global rename sequence as mounts bump its
  // mount sequence; a tight loop of them (in a scratch dir of the test's
  // own) races nearly every such walk.
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-churn-'));
  t.teardown(() => removeTree(scratch));
  const churn = spawn('perl', ['-e', 'my ($a, $b) = @ARGV; open(my $f, ">", $a) or die; close $f; while (1) { rename($a, $b); rename($b, $a); }',
    path.join(scratch, 'a'), path.join(scratch, 'b')], { stdio: 'ignore' });
  t.teardown(() => churn.kill('SIGKILL'));
  await new Promise((resolve, reject) => { churn.once('spawn', resolve); churn.once('error', reject); });

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-openat2-'));
  t.teardown(() => removeTree(dir));
  fs.chmodSync(dir, 0o755);
  fs.mkdirSync(path.join(dir, 'real'));
  fs.mkdirSync(path.join(dir, 'links'));
  fs.writeFileSync(path.join(dir, 'real', 'marker'), 'found\n');
  fs.chmodSync(path.join(dir, 'real'), 0o755);
  fs.symlinkSync('../real', path.join(dir, 'links', 'up'));

  const failures = [];
  for (let i = 0; i < 150; i++) {
    const result = await run('/bin/cat', ['/data/marker'], {
      mounts: [{ type: 'bind', source: path.join(dir, 'links', 'up'), target: '/data', followSymlinks: true }],
    }).catch((error) => ({ error }));
    if (result.error !== undefined || result.stdout !== 'found\n') failures.push(result.error?.message ?? result.stdout);
  }
  t.same(failures.slice(0, 3), [], `every one of 150 spawns resolved its bind source (${failures.length} failed)`);
});
