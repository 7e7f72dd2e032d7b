// execFileIsolated() against util.promisify(child_process.execFile): the same
// results and the same error fields for each case.
'use strict';
const cp = require('node:child_process');
const util = require('node:util');
const t = require('tap');
const { execFileIsolated, CordonError } = require('../..');

const execFile = util.promisify(cp.execFile);

async function both(file, args, options = {}) {
  const settle = (promise) => promise.then((value) => ({ value }), (error) => ({ error }));
  return { node: await settle(execFile(file, args, options)), box: await settle(execFileIsolated(file, args, options)) };
}

const pick = (error) => ({
  code: error.code, signal: error.signal, killed: error.killed, cmd: error.cmd, stdout: error.stdout, stderr: error.stderr,
  message: error.message,
});

t.test('success: stdout and stderr as strings', async (t) => {
  const { node, box } = await both('/bin/sh', ['-c', 'echo out; echo err >&2']);
  t.same(node.value, { stdout: 'out\n', stderr: 'err\n' });
  t.same(box.value, { stdout: 'out\n', stderr: 'err\n', code: 0, signal: null });
});

t.test('a non-zero exit rejects like execFile', async (t) => {
  const { node, box } = await both('/bin/sh', ['-c', 'echo partial; echo why >&2; exit 3']);
  t.same(pick(box.error), pick(node.error));
  t.equal(box.error.code, 3);
});

t.test('a signal rejects with signal set and code null', async (t) => {
  const { node, box } = await both('/bin/sh', ['-c', 'kill -TERM $$']);
  t.same(pick(box.error), pick(node.error));
  t.equal(box.error.signal, 'SIGTERM');
});

t.test('timeout kills and reports killed', async (t) => {
  const { node, box } = await both('/bin/sleep', ['30'], { timeout: 200 });
  t.same(pick(box.error), pick(node.error));
  t.equal(box.error.killed, true);
  t.equal(box.error.signal, 'SIGTERM');
});

t.test('maxBuffer: truncated output, ERR_CHILD_PROCESS_STDIO_MAXBUFFER', async (t) => {
  const { node, box } = await both('/bin/sh', ['-c', 'head -c 100000 /dev/zero | tr "\\0" x; sleep 30'], { maxBuffer: 1000 });
  t.equal(box.error.code, 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER');
  t.equal(box.error.code, node.error.code);
  t.equal(box.error.message, node.error.message);
  t.equal(box.error.stdout, node.error.stdout, 'the first maxBuffer bytes');
  t.equal(box.error.stdout.length, 1000);
  t.equal(box.error.killed, node.error.killed, 'killed: as execFile (unset)');
  t.equal(box.error.signal, node.error.signal, 'signal: as execFile (unset)');
});

t.test("encoding 'buffer' gives Buffers", async (t) => {
  const { node, box } = await both('/bin/echo', ['hi'], { encoding: 'buffer' });
  t.ok(Buffer.isBuffer(box.value.stdout) && Buffer.isBuffer(box.value.stderr));
  t.same(box.value.stdout, node.value.stdout);
});

t.test('a command that is not there: the spawn error, with empty output', async (t) => {
  const { node, box } = await both('/nonexistent', []);
  t.equal(node.error.code, 'ENOENT');
  t.ok(box.error instanceof CordonError, 'a CordonError naming the step');
  t.equal(box.error.code, 'ENOENT');
  t.equal(box.error.stdout, '');
  t.equal(box.error.stderr, '');
});

t.test('bad encoding and maxBuffer throw a documented option error', async (t) => {
  t.throws(() => execFileIsolated('/bin/true', [], { encoding: 'nope' }), { code: 'ERR_INVALID_ARG_VALUE', option: 'encoding' });
  t.throws(() => execFileIsolated('/bin/true', [], { maxBuffer: -1 }), { code: 'ERR_INVALID_ARG_VALUE', option: 'maxBuffer' });
});

t.test('child_process options: shell, windowsHide, URL cwd and file, args as a string', async (t) => {
  const { spawnIsolated, CordonOptionError } = require('../..');
  const { pathToFileURL } = require('node:url');
  t.throws(() => spawnIsolated('/bin/echo', ['x'], { shell: true }), { code: 'ERR_INVALID_ARG_VALUE', option: 'shell', message: /\/bin\/sh', \['-c', command\]/ }, 'shell: true says how to run a command line');
  t.throws(() => spawnIsolated('/bin/echo', 'hello'), { code: 'ERR_INVALID_ARG_TYPE', option: 'args', message: /"args" argument must be an array/ }, 'a string where args go is about args');
  const box = spawnIsolated(pathToFileURL('/bin/pwd'), [], { cwd: pathToFileURL('/usr'), windowsHide: true, shell: false, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  box.stdout.on('data', (d) => { out += d; });
  t.equal((await box.exited).code, 0);
  t.equal(out, '/usr\n', 'a file: URL works as file and as cwd');
  t.equal(box.spawnfile, '/bin/pwd', 'spawnfile is the path');
  t.throws(() => spawnIsolated('/bin/true', [], { cwd: new URL('https://example.com/') }), CordonOptionError, 'a non-file URL is refused');
  t.throws(() => spawnIsolated('/bin/true', [], { windowsHide: 'yes' }), { code: 'ERR_INVALID_ARG_TYPE', option: 'windowsHide' });
});
