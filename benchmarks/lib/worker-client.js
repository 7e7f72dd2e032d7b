// The orchestrator's side of a worker process (worker.js).
'use strict';
const { fork } = require('node:child_process');
const path = require('node:path');
const { Skip } = require('./skip');

class WorkerClient {
  constructor(name, ballastMb, ctx) {
    this.name = name;
    this.nextId = 0;
    this.pending = new Map();
    this.proc = fork(path.join(__dirname, 'worker.js'), ['--ballast-mb', String(ballastMb), '--ctx', JSON.stringify(ctx)], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.ready = new Promise((resolve, reject) => {
      this.proc.once('message', (message) => (message.ready ? resolve() : reject(new Error('bad hello'))));
      this.proc.once('exit', (code, signal) => reject(new Error(`worker ${name} exited (${signal ?? code})`)));
    });
    this.proc.on('message', (message) => {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.error === undefined) waiter.resolve(message.result);
      else waiter.reject(message.skip ? new Skip(message.error, message.skip) : new Error(message.error));
    });
    this.proc.on('exit', (code, signal) => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`worker ${name} exited (${signal ?? code})`));
      this.pending.clear();
    });
  }

  async request(op, fields = {}) {
    await this.ready;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.proc.send({ id, op, ...fields });
    });
  }

  /** A runner whose work happens in the worker. */
  async open(key, caseId, payload) {
    await this.request('open', { key, caseId, payload });
    return {
      // The process that spawns (and reaps) this case's boxes: its CPU is read per throughput slot.
      pid: this.proc.pid,
      trial: (n) => this.request('trial', { key, n }),
      throughput: (concurrency, minCount, minMs) => this.request('tput', { key, concurrency, minCount, minMs }),
      close: () => this.request('close', { key }),
    };
  }

  close() {
    if (this.proc.connected) this.proc.disconnect();
  }
}

module.exports = { WorkerClient };
