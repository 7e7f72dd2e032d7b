#!/usr/bin/env node
// A small hosting supervisor built from cordon's hosting parts:
// - each tenant has a lasting Unix listener (createListener) that outlives
//   its boxes, so a restart or a crash refuses no connection;
// - each tenant's server runs as a service (createService): restarted with
//   backoff when it crashes, health-checked over its listener, stopped
//   gracefully; its output appended to a log file of its own (stdio file);
// - a Node HTTP frontend on the host routes by Host header
//   (<tenant>.localhost) to the tenant's socket.
// As root, give each tenant template layers and a quota'd upper layer too:
//   rootfs: { layers: [template], upper: { dir, quota: { bytes } }, idmapLayers: true }
//
//   node examples/hosting-supervisor.js [PORT]    serve until Ctrl-C
//   node examples/hosting-supervisor.js --check   ask each tenant, restart one
//                                                 under a looping client, crash
//                                                 another, then stop;
//                                                 exit status 1 if a request failed
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
// In your project: require('cordon').
const { createListener, createService } = require('..');

const TENANTS = ['alice', 'bob', 'carol'];

// The server each tenant runs: Node from the host's read-only root, taking
// its socket from LISTEN_FDS; on SIGTERM it finishes what it accepted and
// exits (the service's graceful stop).
const BACKEND = `
  const http = require('node:http');
  const server = http.createServer((req, res) => {
    res.setHeader('connection', 'close');
    res.end(JSON.stringify({ tenant: process.env.TENANT, generation: Number(process.env.GENERATION), url: req.url }) + '\\n');
  }).listen({ fd: 3 });
  console.log('tenant ' + process.env.TENANT + ' generation ' + process.env.GENERATION + ' up');
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
`;

// A Node installed outside the system directories is bound in, read-only.
const nodePrefix = path.dirname(path.dirname(fs.realpathSync(process.execPath)));
const nodeMounts = ['/usr', '/usr/local'].includes(nodePrefix) ? [] : [{ type: 'bind', source: nodePrefix, target: nodePrefix }];

function tenantService(tenant, dir) {
  const listener = createListener({ path: path.join(dir, 'sockets', tenant, 'http.sock'), mode: 0o600 });
  const log = path.join(dir, 'logs', `${tenant}.log`);
  let generation = 0;
  const service = createService({
    file: process.execPath,
    args: ['-e', BACKEND],
    options: () => ({
      env: { TENANT: tenant, GENERATION: String(++generation), PATH: '/usr/bin:/bin' },
      listen: [listener],
      mounts: nodeMounts,
      stdio: ['ignore', { file: log }, { file: log }],
    }),
    restart: { initialMs: 50, maxRestarts: 5, windowMs: 60000 },
    stop: { signal: 'SIGTERM', timeoutMs: 5000 },
    health: { check: { http: { target: listener, path: '/health' } }, intervalMs: 5000, timeoutMs: 2000, failures: 3 },
  });
  service.on('state', (to, from, reason) => {
    if (!process.argv.includes('--check')) console.log(`${tenant}: ${from} -> ${to} (${reason})`);
  });
  return { tenant, listener, service, log };
}

function forward(tenant, req, res) {
  const upstream = http.request({ socketPath: tenant.listener.path, path: req.url, method: req.method, headers: req.headers }, (reply) => {
    res.writeHead(reply.statusCode ?? 502, reply.headers);
    reply.pipe(res);
  });
  upstream.on('error', (error) => {
    res.writeHead(502);
    res.end(`${tenant.tenant}: ${error.message}\n`);
  });
  req.pipe(upstream);
}

function get(port, host, url) {
  return new Promise((resolve) => {
    http.get({ host: '127.0.0.1', port, path: url, headers: { host }, agent: false }, (res) => {
      let data = '';
      res.on('data', (chunk) => (data += chunk));
      res.on('end', () => resolve({ status: res.statusCode, body: data }));
    }).on('error', (error) => resolve({ status: 0, body: error.message }));
  });
}

async function check(port, tenants) {
  const summary = { answered: {}, failed: [] };
  for (const { tenant } of tenants) {
    const { status, body } = await get(port, `${tenant}.localhost`, '/hello');
    if (status === 200) summary.answered[tenant] = JSON.parse(body);
    else summary.failed.push(`${tenant}: HTTP ${status}: ${body.trim()}`);
  }
  // A client loops over every tenant while bob is restarted: the old box
  // finishes what it accepted, the rest waits in the listener's backlog.
  let looping = true;
  let requests = 0;
  const loop = (async () => {
    while (looping) {
      for (const { tenant } of tenants) {
        const { status, body } = await get(port, `${tenant}.localhost`, '/loop');
        requests++;
        if (status !== 200) summary.failed.push(`${tenant} during the restart: HTTP ${status}: ${body.trim()}`);
      }
    }
  })();
  const [, bob, carol] = tenants;
  while (requests < 6) await new Promise((resolve) => setImmediate(resolve));
  await bob.service.restart();
  looping = false;
  await loop;
  // carol crashes: a request made before her service has restarted her
  // waits in the backlog and is answered by the next box.
  const dead = carol.service.box;
  dead.kill('SIGKILL');
  await dead.exited;
  const { status, body } = await get(port, 'carol.localhost', '/after-crash');
  if (status !== 200) summary.failed.push(`carol after her crash: HTTP ${status}: ${body.trim()}`);
  summary.requests = requests;
  for (const { tenant } of tenants) {
    const { body } = await get(port, `${tenant}.localhost`, '/after');
    summary[tenant] = JSON.parse(body).generation;
  }
  summary.logged = fs.readFileSync(tenants[1].log, 'utf8').trim().split('\n');
  return summary;
}

async function main() {
  const checking = process.argv.includes('--check');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-hosting-'));
  fs.mkdirSync(path.join(dir, 'logs'));
  const tenants = TENANTS.map((tenant) => tenantService(tenant, dir));
  const byHost = new Map(tenants.map((tenant) => [`${tenant.tenant}.localhost`, tenant]));
  const frontend = http.createServer((req, res) => {
    const tenant = byHost.get((req.headers.host ?? '').replace(/:\d+$/, ''));
    if (tenant === undefined) {
      res.writeHead(404);
      res.end('no such tenant\n');
      return;
    }
    forward(tenant, req, res);
  });
  await Promise.all(tenants.map(({ service }) => service.start()));
  await new Promise((resolve) => frontend.listen(checking ? 0 : Number(process.argv[2] ?? 8080), '127.0.0.1', resolve));
  const stop = async () => {
    frontend.close();
    await Promise.all(tenants.map(({ service }) => service.stop()));
    for (const { listener } of tenants) listener.close();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  if (!checking) {
    console.log(`frontend on http://127.0.0.1:${frontend.address().port}/ (Host: <tenant>.localhost) for ${TENANTS.join(', ')}`);
    process.once('SIGINT', () => void stop());
    return;
  }
  const summary = await check(frontend.address().port, tenants);
  await stop();
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  if (summary.failed.length > 0) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
