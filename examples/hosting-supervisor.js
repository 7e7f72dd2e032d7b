#!/usr/bin/env node
// A small hosting supervisor built from cordon's hosting parts, the
// template a platform copies:
// - at start it adopts the boxes a previous supervisor left running
//   (adoptAll(): this example stops them, a platform would hand each to its
//   tenant's service) and sweeps what dead supervisors left (cleanup());
// - each tenant has a tenant cgroup (createTenantCgroup) with memory, pids
//   and cpu limits that every box of the tenant shares; they can change
//   while it runs (tenant.update());
// - each tenant's root is a template layer (read-only, shared) under a
//   persistent upper layer of its own with a disk quota (an ext4 image
//   the kernel fills up to `bytes`);
// - each tenant has a lasting Unix listener (createListener) that outlives
//   its boxes, so a restart or a crash refuses no connection;
// - each tenant's server runs as a service (createService): restarted with
//   backoff when it crashes, health-checked over its listener, stopped
//   gracefully; its output appended to a log file of its own (stdio file);
// - a Node HTTP frontend on the host routes by Host header
//   (<tenant>.localhost) to the tenant's socket.
// Tenant cgroups and quotas need root (or, for cgroups, a delegated
// cgroup): unprivileged, the example says so and runs without them, on the
// host's read-only root.
//
//   node examples/hosting-supervisor.js [PORT]    serve until Ctrl-C
//   node examples/hosting-supervisor.js --check   ask each tenant, change a
//                                                 limit, restart one under a
//                                                 looping client, crash another,
//                                                 then stop; exit status 1 if a
//                                                 tenant or a request failed
//   node examples/hosting-supervisor.js --check --break alice
//                                                 the same with alice's server
//                                                 exiting at once: checks that
//                                                 the check fails (exit 1)
// Give each platform its own CORDON_STATE_DIR so that adoptAll() adopts
// only its own boxes.
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
// In your project: require('cordon').
const { adoptAll, cleanup, createListener, createService, createTenantCgroup, probe } = require('..');

const MiB = 2 ** 20;

const TENANTS = ['alice', 'bob', 'carol'];

// The server each tenant runs: Node from the host's read-only root, taking
// its socket from LISTEN_FDS; on SIGTERM it finishes what it accepted and
// exits (the service's graceful stop).
const BACKEND = `
  if (process.env.BROKEN === '1') process.exit(3);
  const http = require('node:http');
  const server = http.createServer((req, res) => {
    res.setHeader('connection', 'close');
    res.end(JSON.stringify({ tenant: process.env.TENANT, generation: Number(process.env.GENERATION), url: req.url }) + '\\n');
  }).listen({ fd: 3 });
  console.log('tenant ' + process.env.TENANT + ' generation ' + process.env.GENERATION + ' up');
  // Stop accepting, and answer what was accepted: the net server's close,
  // since http's (Node 19+) also drops accepted connections whose request
  // has not arrived yet, which the frontend would see as ECONNRESET.
  process.once('SIGTERM', () => require('node:net').Server.prototype.close.call(server, () => process.exit(0)));
`;

// A Node installed outside the system directories is bound in, read-only.
const nodePrefix = path.dirname(path.dirname(fs.realpathSync(process.execPath)));
const nodeMounts = ['/usr', '/usr/local'].includes(nodePrefix) ? [] : [{ type: 'bind', source: nodePrefix, target: nodePrefix }];

// What this host offers the tenants: a tenant cgroup and a disk quota
// each, or (unprivileged, usually) neither: then say why and go on.
function hostParts() {
  const report = probe();
  const root = process.getuid?.() === 0;
  const parts = { cgroups: true, quota: root && report.diskQuota.available };
  if (!parts.quota) console.error(`hosting: no disk quota here (${root ? report.diskQuota.reason : 'quotas need root'}): tenants run on the host's read-only root`);
  return parts;
}

// A template layer, shared read-only by every tenant: the host's /usr is
// bound in over its empty usr/ (in a real platform, a debootstrapped tree).
function makeTemplate(dir) {
  const template = path.join(dir, 'template');
  for (const sub of ['usr', 'etc', 'tmp', 'srv']) fs.mkdirSync(path.join(template, sub), { recursive: true });
  fs.chmodSync(path.join(template, 'tmp'), 0o1777);
  for (const link of ['bin', 'lib', 'lib64', 'sbin']) if (fs.existsSync(`/usr/${link}`)) fs.symlinkSync(`usr/${link}`, path.join(template, link));
  return template;
}

function tenantService(tenant, dir, parts, template, broken) {
  // Every box of the tenant (the site, a cron job, a deploy shell) joins
  // this cgroup, in a leaf of its own; its limits bound them together.
  let cgroup;
  if (parts.cgroups) {
    try {
      cgroup = createTenantCgroup(`example-${tenant}`, { memory: { max: 256 * MiB }, pids: { max: 64 }, cpu: { weight: 100 } });
    } catch (error) {
      if (error.code !== 'ERR_CORDON_HOST_UNSUPPORTED') throw error;
      // Unprivileged without a delegated cgroup: say why, once, and go on.
      console.error(`hosting: no tenant cgroups here (${error.message}): tenants run without limits`);
      parts.cgroups = false;
    }
  }
  // The tenant's persistent layer: what it writes outlives its boxes, up to 64 MiB.
  let rootfs;
  if (parts.quota) {
    const layer = path.join(dir, 'tenants', tenant);
    fs.mkdirSync(layer, { recursive: true, mode: 0o700 });
    rootfs = { layers: [template], upper: { dir: layer, quota: { bytes: 64 * MiB } }, idmapLayers: true };
  }

  const listener = createListener({ path: path.join(dir, 'sockets', tenant, 'http.sock'), mode: 0o600 });
  const log = path.join(dir, 'logs', `${tenant}.log`);
  let generation = 0;
  const service = createService({
    file: process.execPath,
    args: ['-e', BACKEND],
    options: () => ({
      env: { TENANT: tenant, GENERATION: String(++generation), PATH: '/usr/bin:/bin', BROKEN: broken === tenant ? '1' : '0' },
      listen: [listener],
      ...(cgroup === undefined ? {} : { cgroup }),
      ...(rootfs === undefined ? { mounts: nodeMounts } : { rootfs, mounts: [{ type: 'bind', source: '/usr', target: '/usr' }, ...nodeMounts] }),
      stdio: ['ignore', { file: log }, { file: log }],
    }),
    restart: { initialMs: 50, maxRestarts: 5, windowMs: 60000 },
    stop: { signal: 'SIGTERM', timeoutMs: 5000 },
    health: { check: { http: { target: listener, path: '/health' } }, intervalMs: 5000, timeoutMs: 2000, failures: 3 },
  });
  // A tenant whose server keeps crashing is given up on: a failure to report.
  const failures = [];
  service.on('crash-loop', ({ restarts, windowMs }) => failures.push(`${tenant}: crash loop (${restarts} restarts in ${windowMs} ms)`));
  service.on('state', (to, from, reason) => {
    if (!process.argv.includes('--check')) console.log(`${tenant}: ${from} -> ${to} (${reason})`);
  });
  return { tenant, listener, service, log, cgroup, quota: rootfs !== undefined, failures };
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
    // A request a tenant never answers (its connection waits in a backlog nobody accepts) fails after 5 s.
    const request = http.get({ host: '127.0.0.1', port, path: url, headers: { host }, agent: false, timeout: 5000 }, (res) => {
      let data = '';
      res.on('data', (chunk) => (data += chunk));
      res.on('end', () => resolve({ status: res.statusCode, body: data }));
    });
    request.on('timeout', () => request.destroy(new Error('no answer within 5 s')));
    request.on('error', (error) => resolve({ status: 0, body: error.message }));
  });
}

async function check(port, tenants) {
  const summary = { answered: {}, failed: [] };
  for (const { tenant } of tenants) {
    const { status, body } = await get(port, `${tenant}.localhost`, '/hello');
    if (status === 200) summary.answered[tenant] = JSON.parse(body);
    else summary.failed.push(`${tenant}: HTTP ${status}: ${body.trim()}`);
  }
  // A live limit change: alice gets a tenth of the CPU weight while her
  // boxes run; the kernel file shows it at once.
  const [alice] = tenants;
  if (alice.cgroup !== undefined) {
    // cpu is on v2 (cpu.weight) or, on a hybrid or v1 host, v1 (cpu.shares).
    const { v1, v2 } = alice.cgroup.path;
    const file = v1.cpu !== undefined ? path.join(v1.cpu, 'cpu.shares') : path.join(v2, 'cpu.weight');
    const before = fs.readFileSync(file, 'utf8').trim();
    alice.cgroup.update({ cpu: { weight: 10 } });
    const after = fs.readFileSync(file, 'utf8').trim();
    summary.limit = { file, before, after, procs: alice.cgroup.procs().length, memoryBytes: alice.cgroup.stats().memory?.current };
  }
  // The quota'd layer's use, as the kernel counts it in the tenant's image.
  if (alice.quota && alice.service.box !== undefined) summary.disk = alice.service.box.diskUsage();
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
  dead?.kill('SIGKILL');
  await dead?.exited;
  const { status, body } = await get(port, 'carol.localhost', '/after-crash');
  if (status !== 200) summary.failed.push(`carol after her crash: HTTP ${status}: ${body.trim()}`);
  summary.requests = requests;
  for (const { tenant } of tenants) {
    const { status, body } = await get(port, `${tenant}.localhost`, '/after');
    summary[tenant] = status === 200 ? JSON.parse(body).generation : null;
  }
  summary.logged = fs.readFileSync(tenants[1].log, 'utf8').trim().split('\n');
  for (const { failures } of tenants) summary.failed.push(...failures);
  return summary;
}

async function main() {
  const checking = process.argv.includes('--check');
  // First take over from a previous supervisor: adopt the boxes it left
  // running (here they are stopped, the services start fresh ones), then
  // remove what dead supervisors left behind (box cgroups, socket files,
  // records, empty tenant cgroups).
  for (const box of await adoptAll()) {
    console.error(`hosting: stopping box ${box.pid} left by a previous supervisor`);
    box.kill('SIGTERM');
    await box.exited;
  }
  const swept = await cleanup();
  if (swept.errors.length > 0) console.error(`hosting: clean-up: ${swept.errors.map((e) => e.message ?? String(e)).join('; ')}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-hosting-'));
  const tenants = [];
  let frontend;
  // Every path ends here: boxes stopped, listeners closed, tenant cgroups
  // removed, the tenants' files gone.
  const stop = async () => {
    frontend?.close();
    await Promise.allSettled(tenants.map(({ service }) => service.stop()));
    for (const { listener } of tenants) listener.close();
    for (const { cgroup } of tenants) await cgroup?.close({ wait: true, timeoutMs: 10000 });
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    fs.mkdirSync(path.join(dir, 'logs'));
    const parts = hostParts();
    const template = parts.quota ? makeTemplate(dir) : undefined;
    const broken = process.argv.includes('--break') ? process.argv[process.argv.indexOf('--break') + 1] : undefined;
    for (const tenant of TENANTS) tenants.push(tenantService(tenant, dir, parts, template, broken));
    const byHost = new Map(tenants.map((tenant) => [`${tenant.tenant}.localhost`, tenant]));
    frontend = http.createServer((req, res) => {
      const tenant = byHost.get((req.headers.host ?? '').replace(/:\d+$/, ''));
      if (tenant === undefined) {
        res.writeHead(404);
        res.end('no such tenant\n');
        return;
      }
      // A tenant given up on answers at once instead of queueing the request.
      if (tenant.service.state === 'crash-loop') {
        res.writeHead(503);
        res.end(`${tenant.tenant} is down (crash loop)\n`);
        return;
      }
      forward(tenant, req, res);
    });
    await Promise.all(tenants.map(({ service }) => service.start()));
    await new Promise((resolve) => frontend.listen(checking ? 0 : Number(process.argv[2] ?? 8080), '127.0.0.1', resolve));
    if (!checking) {
      console.log(`frontend on http://127.0.0.1:${frontend.address().port}/ (Host: <tenant>.localhost) for ${TENANTS.join(', ')}`);
      process.once('SIGINT', () => void stop());
      return;
    }
    const summary = await check(frontend.address().port, tenants);
    summary.cgroups = tenants.filter(({ cgroup }) => cgroup !== undefined).map(({ cgroup }) => cgroup.path);
    summary.quota = tenants.filter(({ quota }) => quota).map(({ tenant }) => tenant);
    await stop();
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    if (summary.failed.length > 0) process.exitCode = 1;
  } catch (error) {
    // A tenant that cannot start fails the run, and still leaves nothing.
    await stop().catch((stopError) => console.error(stopError));
    throw error;
  }
}

// The backend's source is exported for test/spawn/hosting-example.test.js.
if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}

module.exports = { BACKEND };
