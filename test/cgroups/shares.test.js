// Proportional limits, measured as ratios with generous tolerance: two
// CPU-bound boxes pinned to one CPU with weights 10 and 100 (v1 shares 102
// and 1024), and a 1 MiB/s block-I/O throttle where the device allows it.
'use strict';
const { removeTree } = require('../helpers/remove-tree');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');
const { skipExpected } = require('../helpers/skip');
const { makeParent, startWaiting, go, isRoot } = require('../helpers/cgroup-fixture');

const cg = require('../../dist/cgroups');

function needRoot(t) {
  return skipExpected(t, isRoot(), 'unprivileged pass: needs root, this user has no delegated cgroup (detect.test.js checks the refusal and its reason)');
}

function cpuUsec(box) {
  const cpu = box.stats().cpu;
  return cpu.userUsec + cpu.systemUsec;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `boxes` have used `usec` of CPU between them since `start` (at most 5 minutes). */
async function cpuTogether(boxes, usec, start = boxes.map(() => 0)) {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const used = boxes.reduce((sum, box, index) => sum + cpuUsec(box) - start[index], 0);
    if (used >= usec) return { reached: true };
    if (Date.now() > deadline) return { reached: false };
    await sleep(100);
  }
}

t.test('cpu weights 10 and 100 on one CPU share it about 1:10', async (t) => {
  if (!needRoot(t)) return;
  const cpu = String(os.cpus().length - 1);
  const { parent, track } = makeParent(t, 'weights');
  const boxes = [];
  for (const weight of [10, 100]) {
    boxes.push(cg.createBoxCgroup(parent, `w${weight}`, { cpu: { weight }, cpuset: { cpus: cpu } }, undefined, { openDirFd: false }));
  }
  t.comment(`placement ${JSON.stringify(boxes[0].placement)}; both on CPU ${cpu}`);
  const burners = boxes.map((box) => {
    const burner = track(startWaiting('while :; do :; done'));
    box.attach(burner.pid);
    return burner;
  });
  for (const burner of burners) {
    t.match(fs.readFileSync(`/proc/${burner.pid}/status`, 'utf8'), new RegExp(`Cpus_allowed_list:\\s+${cpu}\\n`), `pid ${burner.pid} may run on CPU ${cpu} only`);
  }
  burners.forEach(go);
  // Measured by the CPU time the two got, not by wall time: on a loaded
  // machine they get less of the CPU, but they share what they get by weight.
  const warm = await cpuTogether(boxes, 300_000);
  t.ok(warm.reached, 'the burners ran (0.3 s of CPU between them)');
  const start = boxes.map(cpuUsec);
  const measured = await cpuTogether(boxes, 2_500_000, start);
  const used = boxes.map((box, index) => cpuUsec(box) - start[index]);
  for (const box of boxes) box.kill();
  await Promise.all(burners.map((burner) => burner.done));
  const ratio = used[1] / Math.max(used[0], 1);
  t.comment(`CPU µs: weight 10 → ${used[0]}, weight 100 → ${used[1]}; ratio ${ratio.toFixed(2)} (ideal 10)`);
  t.ok(measured.reached, 'together they got 2.5 s of CPU before the deadline');
  t.ok(used[0] > 0, 'the light box was not starved outright');
  t.ok(ratio > 4 && ratio < 25, `ratio ${ratio.toFixed(2)} is within 4..25`);
  for (const box of boxes) t.ok((await box.remove()).removed, `${box.name} removed`);
});

/** The whole disk (major:minor) holding `file`, or a reason it has none. */
function diskOf(file) {
  const dev = fs.statSync(file).dev;
  const major = Math.floor(dev / 256) & 0xfff;
  const minor = (dev & 0xff) | (Math.floor(dev / 4096) & 0xfff00);
  const sys = `/sys/dev/block/${major}:${minor}`;
  if (!fs.existsSync(sys)) return { reason: `${file} is not on a block device (device ${major}:${minor}, e.g. tmpfs or overlay)` };
  if (fs.existsSync(`${sys}/partition`)) {
    const [wholeMajor, wholeMinor] = fs.readFileSync(path.join(fs.realpathSync(sys), '..', 'dev'), 'utf8').trim().split(':').map(Number);
    return { major: wholeMajor, minor: wholeMinor };
  }
  return { major, minor };
}

async function timedRun(box, script) {
  const child = startWaiting(script);
  if (box !== undefined) box.attach(child.pid);
  const started = process.hrtime.bigint();
  go(child);
  const result = await child.done;
  return { ...result, seconds: Number(process.hrtime.bigint() - started) / 1e9, err: child.err, child };
}

t.test('a 1 MiB/s io throttle holds within tolerance (O_DIRECT reads and writes)', async (t) => {
  if (!needRoot(t)) return;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-io-'));
  t.teardown(() => removeTree(scratch));
  const disk = diskOf(scratch);
  if (disk.reason !== undefined) {
    skipExpected(t, false, `host variant: cannot throttle: ${disk.reason}`);
    return;
  }
  const data = path.join(scratch, 'data');
  fs.writeFileSync(data, Buffer.alloc(4 << 20, 1));
  const probe = await timedRun(undefined, `dd if=${data} of=/dev/null bs=64k iflag=direct 2>&1`);
  if (probe.code !== 0) {
    skipExpected(t, false, `host variant: O_DIRECT reads do not work on ${scratch}: ${probe.err || probe.child.out}`);
    return;
  }
  const rate = (4 << 20) / probe.seconds;
  t.comment(`unthrottled O_DIRECT read: ${(rate / 1048576).toFixed(1)} MiB/s on ${disk.major}:${disk.minor}`);
  if (rate < 4 * 1048576) {
    skipExpected(t, false, `host variant: the device reads only ${(rate / 1048576).toFixed(1)} MiB/s: too slow to show a 1 MiB/s throttle`);
    return;
  }
  const { parent, track } = makeParent(t, 'io');
  let box;
  try {
    box = cg.createBoxCgroup(parent, 'io', {
      io: { devices: [{ major: disk.major, minor: disk.minor, readBps: 1048576, writeBps: 1048576 }] },
    }, undefined, { openDirFd: false });
  } catch (error) {
    if (['EINVAL', 'ENODEV', 'EOPNOTSUPP', 'ERR_CORDON_HOST_UNSUPPORTED'].includes(error.code)) {
      skipExpected(t, false, `host variant: device ${disk.major}:${disk.minor} does not allow throttling here: ${error.message}`);
      return;
    }
    throw error;
  }
  t.comment(`io is ${box.placement.io ?? box.placement.blkio}`);
  const read = await timedRun(box, `dd if=${data} of=/dev/null bs=64k count=48 iflag=direct 2>&1`);
  track(read.child);
  t.equal(read.code, 0, 'the throttled read finished');
  const readRate = (3 << 20) / read.seconds;
  t.comment(`3 MiB read in ${read.seconds.toFixed(2)} s: ${(readRate / 1048576).toFixed(2)} MiB/s`);
  t.ok(readRate > 0.5 * 1048576 && readRate < 1.6 * 1048576, `read rate within 0.5..1.6 MiB/s (${(readRate / 1048576).toFixed(2)})`);

  const write = await timedRun(box, `dd if=/dev/zero of=${scratch}/out bs=64k count=32 oflag=direct 2>&1`);
  track(write.child);
  t.equal(write.code, 0, 'the throttled write finished');
  const writeRate = (2 << 20) / write.seconds;
  t.comment(`2 MiB written in ${write.seconds.toFixed(2)} s: ${(writeRate / 1048576).toFixed(2)} MiB/s`);
  t.ok(writeRate > 0.5 * 1048576 && writeRate < 1.6 * 1048576, `write rate within 0.5..1.6 MiB/s (${(writeRate / 1048576).toFixed(2)})`);
  const stats = box.stats();
  if (stats.io !== null) t.ok(stats.io.readBytes >= 3 << 20 && stats.io.writeBytes >= 2 << 20, `accounted: ${JSON.stringify(stats.io)}`);
  t.ok((await box.remove()).removed, 'removed');
});
