#!/usr/bin/env node
// A frontend on the host in front of per-tenant backends, each in its own
// box with no network of its own: every backend gets a Unix socket made for
// it (owned by the box's root, removed with the box) through `listen`, and
// serves on fd 3 (systemd socket activation). The frontend routes
// /<tenant>/... to that tenant's socket. Runs rootless or as root.
//
//   node examples/tenant-frontend.js [PORT]     serve until Ctrl-C
//   node examples/tenant-frontend.js --check    ask each tenant once, then stop;
//                                               exit status 1 if any did not answer
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
// In your project: require('cordon').
const { spawnIsolated } = require('..');

const TENANTS = ['alice', 'bob', 'carol'];

// The backend each tenant runs: any server that takes its listening socket
// from LISTEN_FDS would do. This one is Node itself, from the host's
// read-only root.
const BACKEND = `
  const http = require('node:http');
  if (process.env.LISTEN_FDS !== '1') throw new Error('no socket handed over');
  http.createServer((req, res) => {
    res.end(JSON.stringify({ tenant: process.env.TENANT, pid: process.pid, uid: process.getuid(), url: req.url }) + '\\n');
  }).listen({ fd: 3 });
`;

// A default box shows only the host's system directories (/usr, /opt, ...),
// not its homes, /var, /run or a platform's own: a Node installed elsewhere
// (nvm under ~/.nvm, ...) is bound in, read-only.
const nodePrefix = path.dirname(path.dirname(fs.realpathSync(process.execPath)));
const nodeMounts = ['/usr', '/usr/local'].includes(nodePrefix) ? [] : [{ type: 'bind', source: nodePrefix, target: nodePrefix }];

function startBackend(tenant, socketDir, onError) {
  const socketPath = path.join(socketDir, tenant, 'http.sock');
  const box = spawnIsolated(process.execPath, ['-e', BACKEND], {
    env: { TENANT: tenant, PATH: '/usr/bin:/bin' },
    listen: [{ path: socketPath, name: 'http' }],
    mounts: nodeMounts,
    cgroup: process.geteuid() === 0 ? { memory: { max: 256 * 1024 * 1024 }, pids: { max: 64 } } : undefined,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  box.on('error', (error) => {
    console.error(`${tenant}: ${error.message}`);
    onError(tenant);
  });
  return { tenant, box, socketPath };
}

function forward(backend, req, res) {
  const upstream = http.request({ socketPath: backend.socketPath, path: req.url.slice(backend.tenant.length + 1) || '/', method: req.method, headers: req.headers }, (reply) => {
    res.writeHead(reply.statusCode ?? 502, reply.headers);
    reply.pipe(res);
  });
  upstream.on('error', (error) => {
    res.writeHead(502);
    res.end(`${backend.tenant}: ${error.message}\n`);
  });
  req.pipe(upstream);
}

async function main() {
  const check = process.argv.includes('--check');
  const socketDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-tenants-'));
  // In --check, a tenant fails if its box fails or it does not answer 200.
  const failed = new Set();
  const backends = new Map(TENANTS.map((tenant) => [tenant, startBackend(tenant, socketDir, (name) => failed.add(name))]));
  const frontend = http.createServer((req, res) => {
    const backend = backends.get(req.url.split('/')[1] ?? '');
    if (backend === undefined) {
      res.writeHead(404);
      res.end('no such tenant\n');
      return;
    }
    forward(backend, req, res);
  });
  const port = check ? 0 : Number(process.argv[2] ?? 8080);
  await new Promise((resolve) => frontend.listen(port, '127.0.0.1', resolve));
  const stop = async () => {
    frontend.close();
    for (const { box } of backends.values()) box.kill('SIGTERM');
    await Promise.allSettled([...backends.values()].map(({ box }) => box.exited));
    fs.rmSync(socketDir, { recursive: true, force: true });
  };
  if (!check) {
    console.log(`frontend on http://127.0.0.1:${frontend.address().port}/<tenant>/ for ${TENANTS.join(', ')}`);
    process.once('SIGINT', () => void stop());
    return;
  }
  // The backends may still be starting: a socket accepts as soon as it
  // exists (the kernel queues connections), so ask right away.
  for (const tenant of TENANTS) {
    const { status, body } = await new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: frontend.address().port, path: `/${tenant}/hello` }, (res) => {
        let data = '';
        res.on('data', (chunk) => (data += chunk));
        res.on('end', () => resolve({ status: res.statusCode, body: data }));
      }).on('error', reject);
    });
    if (status === 200) {
      process.stdout.write(body);
    } else {
      console.error(`${tenant}: HTTP ${status}: ${body.trim()}`);
      failed.add(tenant);
    }
  }
  await stop();
  if (failed.size > 0) {
    console.error(`failed: ${[...failed].join(', ')}`);
    process.exitCode = 1;
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
