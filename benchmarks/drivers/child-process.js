// Node's child_process.spawn() with stdio 'ignore' and the same one-variable
// environment a box gets; latency is from the spawn() call to 'exit'.
'use strict';
const childProcess = require('node:child_process');
const loop = require('../lib/node-loop');
const { Skip } = require('../lib/skip');

const ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };

module.exports = {
  where: 'worker',
  async open(caseDef, payload) {
    const startOne = () =>
      new Promise((resolve, reject) => {
        const child = childProcess.spawn(payload.path, [], { stdio: 'ignore', env: ENV });
        child.once('error', reject);
        child.once('exit', (code, signal) => {
          if (code === 0) resolve();
          else reject(new Error(`${payload.path} exited with ${signal ?? code}`));
        });
      });
    try {
      await startOne();
    } catch (error) {
      throw new Skip(`child_process.spawn failed: ${error.message}`);
    }
    return {
      trial: async (n) => ({ ns: (await loop.sequential(startOne, n)).ns }),
      throughput: (concurrency, minCount, minMs) => loop.throughput(startOne, concurrency, minCount, minMs),
      close() {},
    };
  },
};
