// stdio of a box, like child_process: pipes (large and many), 'ignore',
// 'inherit', fds, streams, extra fds, and that nothing else leaks in.
'use strict';
const { removeTree } = require('../helpers/remove-tree');
const t = require('tap');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { spawnIsolated } = require('../..');
const { run, runSh } = require('../helpers/payload');
const { runNode } = require('../helpers/procfs');

const sha256 = (buffer) => crypto.createHash('sha256').update(buffer).digest('hex');

/** Collects everything a readable stream yields until it ends. */
function collect(stream) {
  const chunks = [];
  stream.on('data', (d) => chunks.push(d));
  return new Promise((resolve, reject) => {
    stream.on('error', reject);
    stream.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-stdio-'));
  // The box runs as another uid (nobody when the caller is root): let it write here.
  fs.chmodSync(dir, 0o777);
  t.teardown(() => removeTree(dir));
  return dir;
}

/** Parses `ls -l /proc/self/fd` into { fd: target }, leaving out ls's own directory fd. */
function parseFdListing(text) {
  const fds = {};
  let own = 0;
  for (const line of text.split('\n')) {
    const match = /\s(\d+) -> (.*)$/.exec(line);
    if (!match) continue;
    if (/^\/proc\/\d+\/fd$/.test(match[2])) {
      own++;
      continue;
    }
    fds[match[1]] = match[2];
  }
  return { fds, own };
}

t.test('8 MB through cat: stdin in, stdout out, byte for byte', async (t) => {
  const data = crypto.randomBytes(8 * 1024 * 1024);
  const box = spawnIsolated('cat', []);
  const out = collect(box.stdout);
  const err = collect(box.stderr);
  box.stdin.end(data);
  const [stdout, stderr, result] = await Promise.all([out, err, box.exited]);
  t.equal(result.code, 0);
  t.equal(stdout.length, data.length, 'every byte came back');
  t.equal(sha256(stdout), sha256(data), 'and the same bytes');
  t.equal(stderr.length, 0);
});

t.test('4 MB on stdout and 8 MB on stderr at once, each whole', async (t) => {
  // Both streams fill their pipes at the same time: neither may stall the other.
  const script = 'yes abcdefg | head -c 8388608 >&2 & head -c 4194304 /dev/zero; wait';
  const box = spawnIsolated('/bin/sh', ['-c', script]);
  box.stdin.end();
  const [stdout, stderr, result] = await Promise.all([collect(box.stdout), collect(box.stderr), box.exited]);
  t.equal(result.code, 0);
  t.equal(stdout.length, 4 * 1024 * 1024);
  t.ok(stdout.every((byte) => byte === 0), 'stdout is all zeros');
  t.equal(stderr.length, 8 * 1024 * 1024);
  const expected = Buffer.alloc(8 * 1024 * 1024, 'abcdefg\n');
  t.ok(stderr.equals(expected), 'stderr is the repeated line, in order');
});

t.test('stderr is separate from stdout', async (t) => {
  const result = await runSh('echo o1; echo e1 >&2; echo o2; echo e2 >&2');
  t.equal(result.stdout, 'o1\no2\n');
  t.equal(result.stderr, 'e1\ne2\n');
  t.not(result.box.stdout, result.box.stderr);
  t.equal(result.box.stdio[1], result.box.stdout);
  t.equal(result.box.stdio[2], result.box.stderr);
  t.equal(result.box.stdio[0], result.box.stdin);
});

t.test("stdio 'ignore': /dev/null for 0-2, no pipes", async (t) => {
  const script = [
    'test "$(readlink /proc/$$/fd/0)" = /dev/null || exit 10',
    'test "$(readlink /proc/$$/fd/1)" = /dev/null || exit 11',
    'test "$(readlink /proc/$$/fd/2)" = /dev/null || exit 12',
    'echo discarded; echo discarded >&2',
    'test -z "$(cat)" || exit 13', // stdin is at EOF at once
  ].join('\n');
  const box = spawnIsolated('/bin/sh', ['-c', script], { stdio: 'ignore' });
  t.equal(box.stdin, null);
  t.equal(box.stdout, null);
  t.equal(box.stderr, null);
  t.same(box.stdio, [null, null, null]);
  const result = await box.exited;
  t.equal(result.code, 0, 'fds 0-2 were /dev/null, writes succeeded, stdin read EOF');
});

t.test("stdin 'ignore' reads EOF while stdout is piped", async (t) => {
  const result = await run('cat', [], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.equal(result.code, 0);
  t.equal(result.stdout, '');
  t.equal(result.box.stdin, null);
});

t.test("stdio 'inherit' uses the parent's own fds 0-2", async (t) => {
  const script = `
    const { spawnIsolated } = require(process.env.CORDON);
    const box = spawnIsolated('/bin/sh', ['-c', 'cat; echo out-line; echo err-line >&2; exit 4'], { stdio: 'inherit' });
    if (box.stdin !== null || box.stdout !== null || box.stderr !== null) process.exit(90);
    box.exited.then((result) => { process.exitCode = result.code; });
  `;
  const { child, done } = runNode(script, { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end('from-parent-stdin\n');
  const result = await done;
  t.equal(result.code, 4, `the box's exit code came through (stderr: ${result.stderr})`);
  t.equal(result.stdout, 'from-parent-stdin\nout-line\n', "the box read node's stdin and wrote node's stdout");
  t.equal(result.stderr, 'err-line\n', "and wrote node's stderr");
});

t.test('a number is an fd of the parent: a temp file as stdout', async (t) => {
  const file = path.join(tempDir(t), 'out.txt');
  const fd = fs.openSync(file, 'w');
  t.teardown(() => fs.closeSync(fd));
  const box = spawnIsolated('/bin/sh', ['-c', 'echo into-the-file; echo on-stderr >&2'], { stdio: ['ignore', fd, 'pipe'] });
  t.equal(box.stdout, null, 'no pipe for a passed fd');
  const [stderr, result] = await Promise.all([collect(box.stderr), box.exited]);
  t.equal(result.code, 0);
  t.equal(stderr.toString(), 'on-stderr\n');
  t.equal(fs.readFileSync(file, 'utf8'), 'into-the-file\n');
  // The parent's fd is the caller's: cordon must not have closed it.
  t.doesNotThrow(() => fs.fstatSync(fd), 'the passed fd is still open in the parent');
});

t.test('a file stream, once open, can be stdout', async (t) => {
  const file = path.join(tempDir(t), 'stream.txt');
  const stream = fs.createWriteStream(file);
  await new Promise((resolve) => stream.once('open', resolve));
  const box = spawnIsolated('/bin/sh', ['-c', 'echo via-stream'], { stdio: ['ignore', stream, 'ignore'] });
  const result = await box.exited;
  t.equal(result.code, 0);
  await new Promise((resolve) => stream.end(resolve));
  t.equal(fs.readFileSync(file, 'utf8'), 'via-stream\n');
});

t.test('a connected net socket can be stdout', async (t) => {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const accepted = new Promise((resolve) => server.once('connection', resolve));
  const client = net.connect(server.address().port, '127.0.0.1');
  await new Promise((resolve) => client.once('connect', resolve));
  const received = collect(await accepted);
  const box = spawnIsolated('/bin/sh', ['-c', 'echo over-the-socket'], { stdio: ['ignore', client, 'ignore'] });
  const result = await box.exited;
  t.equal(result.code, 0);
  client.end();
  t.equal((await received).toString(), 'over-the-socket\n');
});

t.test('an extra pipe at fd 3 works both ways', async (t) => {
  const box = spawnIsolated('/bin/sh', ['-c', 'echo hi >&3; read line <&3; echo "got $line" >&3'], {
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
  });
  t.equal(box.stdio.length, 4);
  const fd3 = box.stdio[3];
  t.ok(fd3 instanceof net.Socket, 'box.stdio[3] is a socket');
  const chunks = [];
  let replied = false;
  fd3.on('data', (d) => {
    chunks.push(d);
    if (!replied && Buffer.concat(chunks).toString().includes('hi\n')) {
      replied = true;
      fd3.write('back\n');
    }
  });
  box.stdout.resume();
  box.stderr.resume();
  box.stdin.end();
  const result = await box.exited;
  t.equal(result.code, 0);
  t.equal(Buffer.concat(chunks).toString(), 'hi\ngot back\n');
});

t.test('the box sees only the fds it was given', async (t) => {
  // Files open in the parent, which the box must not get.
  const extra = [];
  for (let i = 0; i < 5; i++) extra.push(fs.openSync(__filename, 'r'));
  t.teardown(() => extra.forEach((fd) => fs.closeSync(fd)));

  for (const stdio of [['pipe', 'pipe', 'pipe'], ['pipe', 'pipe', 'pipe', 'pipe'], ['ignore', 'pipe', 'ignore']]) {
    const result = await run('ls', ['-l', '/proc/self/fd'], { stdio });
    t.equal(result.code, 0, result.stderr);
    const { fds, own } = parseFdListing(result.stdout);
    t.equal(own, 1, "ls's own directory fd was seen once");
    const expected = stdio.map((_, i) => String(i));
    t.same(Object.keys(fds).sort(), expected, `only fds ${expected.join(',')} for stdio ${JSON.stringify(stdio)}`);
    for (const [fd, target] of Object.entries(fds)) {
      const want = stdio[Number(fd)] === 'ignore' ? '/dev/null' : /^socket:\[\d+\]$/;
      t.match(target, want, `fd ${fd} is ${stdio[Number(fd)]}`);
    }
  }
});

t.test('box.stdio has null, not empty slots, where an fd is not a pipe', async (t) => {
  const box = spawnIsolated('/bin/true', [], { stdio: ['ignore', 'pipe', 'ignore', 'ignore', 'pipe'] });
  t.equal(box.stdio.length, 5);
  for (const i of [0, 2, 3]) t.ok(Object.hasOwn(box.stdio, i) && box.stdio[i] === null, `stdio[${i}] is null`);
  t.not(box.stdio[1], null);
  t.not(box.stdio[4], null);
  box.stdio[1].resume();
  box.stdio[4].resume();
  t.equal((await box.exited).code, 0);
});

t.test("'ignore' above fd 2 leaves that fd closed", async (t) => {
  // `test` opens nothing itself, so /proc/self/fd/N is exactly the inherited fd N.
  const stdio = ['ignore', 'ignore', 'ignore', 'pipe', 'ignore', 'pipe'];
  const probe = async (fd) => (await run('test', ['-e', `/proc/self/fd/${fd}`], { stdio })).code;
  t.equal(await probe(3), 0, 'fd 3 (a pipe) is open');
  t.equal(await probe(4), 1, "fd 4 ('ignore') is closed");
  t.equal(await probe(5), 0, 'fd 5 (a pipe) is open');
  t.equal(await probe(6), 1, 'fd 6 (not given) is closed');

  const listing = await run('ls', ['-l', '/proc/self/fd'], { stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'ignore', 'pipe'] });
  const { fds } = parseFdListing(listing.stdout);
  t.same(Object.keys(fds).sort(), ['0', '1', '2', '3', '5'], 'ls sees 0-3 and 5, not 4');
});

t.test('fds the parent holds without close-on-exec do not reach the box', async (t) => {
  // Node opens its own files close-on-exec, and at startup marks inherited
  // fds up to the first gap above 15 so too; fd 40, inherited from
  // child_process stdio, stays open without it in that node. The box must
  // still not get it.
  const HIGH = 40;
  const script = `
    const { spawnSync } = require('node:child_process');
    const { spawnIsolated } = require(process.env.CORDON);
    // A plain exec shows which fds are open without close-on-exec.
    const plain = spawnSync('ls', ['/proc/self/fd'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const inheritable = plain.stdout.toString().split('\\n').includes('${HIGH}');
    const box = spawnIsolated('ls', ['-l', '/proc/self/fd'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    box.stdout.on('data', (d) => out.push(d));
    box.stderr.resume();
    box.exited.then((result) => {
      console.log(JSON.stringify({ inheritable, code: result.code, listing: Buffer.concat(out).toString() }));
    });
  `;
  const stdio = ['ignore', 'pipe', 'pipe'];
  while (stdio.length < HIGH) stdio.push('ignore');
  stdio.push('pipe');
  const result = await runNode(script, { stdio }).done;
  t.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  t.equal(report.inheritable, true, `the premise: a plain child_process child of that node inherits fd ${HIGH}`);
  t.equal(report.code, 0);
  const { fds, own } = parseFdListing(report.listing);
  t.equal(own, 1);
  t.same(Object.keys(fds).sort(), ['0', '1', '2'], 'the box got only 0-2');
});
