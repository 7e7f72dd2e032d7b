// A second (third, ...) supervisor for tests: a fresh node process with its
// own cordon, driven over stdin/stdout with JSON lines. Lets a test run two
// supervisors side by side and SIGKILL one of them (by its pid).
'use strict';
const path = require('node:path');
const readline = require('node:readline');
const { spawn } = require('node:child_process');

const ROOT = path.resolve(__dirname, '../..');

// The supervisor's side: requests { id, op, ... }, replies { id, ... }.
// Boxes are kept by the request id that spawned them; { event: 'exit' } and
// { event: 'error' } lines report them later.
const SCRIPT = `
const fs = require('node:fs');
const readline = require('node:readline');
const { spawnIsolated, createNamespacePool, adopt, adoptAll, cleanup } = require(process.env.CORDON_ROOT);
const boxes = new Map();
const firstLines = new Map();
let pool;
const say = (message) => process.stdout.write(JSON.stringify(message) + '\\n');
const describeError = (error) => ({ name: error?.name, code: error?.code, step: error?.step, message: error?.message });
const handlers = {
  async spawn({ id, file, args, options }) {
    const { usePool, ...rest } = options;
    const box = spawnIsolated(file, args, usePool ? { ...rest, netnsPool: pool } : rest);
    boxes.set(id, box);
    let out = '';
    let gotLine;
    firstLines.set(id, new Promise((resolve) => { gotLine = resolve; }));
    box.stdout?.setEncoding('utf8').on('data', (d) => { out += d; if (out.includes('\\n')) gotLine(out.slice(0, out.indexOf('\\n'))); });
    box.stderr?.resume();
    box.on('error', (error) => say({ id, event: 'error', error: describeError(error) }));
    box.exited.then((result) => say({ id, event: 'exit', code: result.code, signal: result.signal, stdout: out }), () => {});
    await new Promise((resolve) => { box.once('spawn', resolve); box.once('error', resolve); });
    if (box.pid === undefined) return { failed: true };
    let cgroups = [];
    try { cgroups = fs.readFileSync('/proc/' + box.pid + '/cgroup', 'utf8').split('\\n').filter(Boolean); } catch {}
    return { pid: box.pid, cgroups, sockets: box.sockets, adoptionId: box.adoptionId };
  },
  async firstLine({ box }) { return { line: await firstLines.get(box) }; },
  async kill({ box }) { boxes.get(box).kill('SIGKILL'); await boxes.get(box).exited.catch(() => {}); return {}; },
  async pool({ kind, size }) { pool = createNamespacePool({ kind, size }); await pool.ready(); return { stats: pool.stats(), available: pool.available }; },
  async poolStats() { return { stats: pool.stats(), available: pool.available, closed: pool.closed }; },
  async closePool() { await pool.close(); return {}; },
  // Adoption (lib/adopt.ts): adopted boxes are kept by the request id too.
  async adopt({ id, adoptionId }) {
    const box = await adopt(adoptionId);
    boxes.set(id, box);
    box.exited.then((result) => say({ id, event: 'exit', code: result.code, signal: result.signal }), () => {});
    return { pid: box.pid };
  },
  async adoptAll({ id }) {
    const adopted = await adoptAll();
    adopted.forEach((box, i) => {
      boxes.set(id + ':' + i, box);
      box.exited.then((result) => say({ id: id + ':' + i, event: 'exit', code: result.code, signal: result.signal }), () => {});
    });
    return { boxes: adopted.map((box, i) => ({ key: id + ':' + i, pid: box.pid, adoptionId: box.adoptionId })) };
  },
  async execKey({ key }) { boxes.get(key).exec('/bin/true'); return {}; },
  async killKey({ key }) { const box = boxes.get(key); box.kill('SIGKILL'); await box.exited.catch(() => {}); return {}; },
  async cleanup({ options }) { const report = await cleanup(options); return { report: { ...report, errors: report.errors.map(describeError) } }; },
  // process.exit() with boxes running: what cordon releases on that path.
  async exit() { process.exit(0); },
  // A supervisor paused between making a bridge and attaching its first
  // veth: the first half of a bridge box's spawn (lib/bridge.ts leaseBridge),
  // and nothing after it.
  async leaseBridgeOnly({ network }) {
    const { leaseBridge, validateBridge } = require(process.env.CORDON_ROOT + '/dist/bridge');
    const { Ledger } = require(process.env.CORDON_ROOT + '/dist/internal/resources');
    const lease = leaseBridge(validateBridge('network', network), new Ledger(), true);
    return { bridge: lease.bridge, hostName: lease.hostName };
  },
};
readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  const request = JSON.parse(line);
  try {
    say({ id: request.id, ...(await handlers[request.op](request)) });
  } catch (error) {
    say({ id: request.id, thrown: describeError(error) });
  }
});
say({ id: 0, ready: process.pid });
`;

/**
 * Starts a supervisor; `t` gets a teardown that SIGKILLs it if it still runs.
 * Returns { pid, request(op, fields), events(id), kill(), exited }.
 */
async function startSupervisor(t, { uid, gid, env = {} } = {}) {
  const argv = ['-e', SCRIPT];
  // Without tap's loaders (NODE_OPTIONS), which tap re-adds to a child's env.
  const command = uid === undefined ? '/bin/sh' : 'setpriv';
  const shell = ['-c', 'unset NODE_OPTIONS && exec "$0" "$@"', process.execPath, ...argv];
  const args = uid === undefined ? shell : [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '/bin/sh', ...shell];
  const child = spawn(command, args, { env: { ...process.env, ...env, CORDON_ROOT: ROOT }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })));
  const waiting = new Map();
  const lines = [];
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    const message = JSON.parse(line);
    lines.push(message);
    for (const [match, resolve] of waiting) {
      if (match(message)) {
        waiting.delete(match);
        resolve(message);
      }
    }
  });
  const next = (match) => {
    const seen = lines.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      waiting.set(match, resolve);
      exited.then((result) => reject(new Error(`supervisor ${child.pid} ended (${result.code ?? result.signal}) before answering: ${result.stderr}`)));
    });
  };
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    return exited;
  });
  await next((message) => message.id === 0);
  let counter = 0;
  return {
    pid: child.pid,
    exited,
    async request(op, fields = {}) {
      counter += 1;
      const id = counter;
      child.stdin.write(JSON.stringify({ id, op, ...fields }) + '\n');
      const reply = await next((message) => message.id === id && message.event === undefined);
      return { id, ...reply };
    },
    /** The exit (or error) event of the box spawned by request `id`. */
    ended(id) {
      return next((message) => message.id === id && message.event !== undefined);
    },
    kill() {
      child.kill('SIGKILL');
      return exited;
    },
    /** Ends it the ordinary way: stdin closed, boxes left to finish. */
    end() {
      child.stdin.end();
      return exited;
    },
  };
}

module.exports = { startSupervisor };
