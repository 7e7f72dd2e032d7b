// Talks to one spawn-helper process (benchmarks/c/spawn-helper.c) over its
// stdin/stdout: one command line out, one reply line back.
'use strict';
const { spawn } = require('node:child_process');
const readline = require('node:readline');

class HelperClient {
  constructor(file) {
    this.proc = spawn(file, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.pending = [];
    this.stderr = '';
    this.nextId = 0;
    this.dead = null;
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (chunk) => {
      this.stderr = (this.stderr + chunk).slice(-4000);
    });
    readline.createInterface({ input: this.proc.stdout }).on('line', (line) => {
      const waiter = this.pending.shift();
      if (waiter) waiter.resolve(line);
    });
    const die = (why) => {
      this.dead = why;
      for (const waiter of this.pending.splice(0)) waiter.reject(new Error(`spawn-helper ${why}${this.stderr ? `: ${this.stderr}` : ''}`));
    };
    this.proc.on('exit', (code, signal) => die(`exited (${signal ?? code})`));
    this.proc.on('error', (error) => die(`failed: ${error.message}`));
  }

  /** Sends lines; resolves with the reply line (rejects on `err ...`). */
  request(...lines) {
    if (this.dead) return Promise.reject(new Error(`spawn-helper ${this.dead}`));
    return new Promise((resolve, reject) => {
      this.pending.push({
        resolve: (line) => (line.startsWith('err ') ? reject(new Error(line.slice(4))) : resolve(line)),
        reject,
      });
      this.proc.stdin.write(`${lines.join('\n')}\n`);
    });
  }

  /** Defines an argv; returns its id. */
  async define(argv) {
    for (const arg of argv) {
      if (arg.includes('\n')) throw new Error('spawn-helper arguments cannot contain newlines');
    }
    const id = this.nextId++;
    await this.request(`def ${id} ${argv.length}`, ...argv);
    return id;
  }

  /** n spawns in sequence; resolves with their latencies in nanoseconds. */
  async run(id, mode, n) {
    const line = await this.request(`run ${id} ${mode} ${n}`);
    return line.split(' ').slice(1).map(Number);
  }

  async throughput(id, mode, concurrency, minCount, minMs) {
    const reply = await this.request(`tput ${id} ${mode} ${concurrency} ${minCount} ${minMs}`);
    const [, count, ns, failures, status] = reply.split(' ').map(Number);
    const result = { count, ns, failures };
    if (failures > 0) result.error = `${failures} of ${count} spawns failed (the first with status ${status})`;
    return result;
  }

  /** One spawn with its output captured: { status, output }. */
  async probe(id, mode) {
    const [, status, hex = ''] = (await this.request(`probe ${id} ${mode}`)).split(' ');
    return { status: Number(status), output: Buffer.from(hex, 'hex').toString('utf8') };
  }

  close() {
    if (!this.dead) this.proc.stdin.end('quit\n');
  }
}

module.exports = { HelperClient };
