// The five capability sets inside boxes with each capability option, read
// from /proc/self/status. drop_capabilities (native/child/credentials.cc)
// skips the calls that would change nothing (it reads the sets with one
// capget first); these cases prove the result is what dropping everything
// one call at a time gave: nothing left but what was asked for, also when
// the caller itself holds inheritable and ambient capabilities.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const t = require('tap');
const { skipExpected } = require('../helpers/skip');
const { runSh, isRoot } = require('../helpers/payload');

const READ = 'grep -E "^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs)" /proc/self/status';
const NONE = '0000000000000000';
// CAP_KILL (5) and CAP_NET_BIND_SERVICE (10).
const KILL_BIND = '0000000000000420';

function fieldsOf(stdout) {
  return Object.fromEntries(stdout.trim().split('\n').map((l) => l.split(/:\s+/)));
}

const tenantMaps = {
  uidMap: [{ inside: 0, outside: isRoot ? 65534 : process.geteuid(), count: 1 }, ...(isRoot ? [{ inside: 1000, outside: 101000, count: 1 }] : [])],
  gidMap: [{ inside: 0, outside: isRoot ? 65534 : process.getegid(), count: 1 }, ...(isRoot ? [{ inside: 1000, outside: 101000, count: 1 }] : [])],
};

const cases = [
  { name: 'defaults', options: {}, want: { CapInh: NONE, CapPrm: NONE, CapEff: NONE, CapBnd: NONE, CapAmb: NONE, NoNewPrivs: '1' } },
  { name: 'allowNewPrivileges', options: { allowNewPrivileges: true }, want: { CapInh: NONE, CapPrm: NONE, CapEff: NONE, CapBnd: NONE, CapAmb: NONE, NoNewPrivs: '0' } },
  {
    name: 'two kept capabilities, box root',
    options: { capabilities: ['CAP_NET_BIND_SERVICE', 'kill'] },
    want: { CapInh: KILL_BIND, CapPrm: KILL_BIND, CapEff: KILL_BIND, CapBnd: KILL_BIND, CapAmb: KILL_BIND, NoNewPrivs: '1' },
  },
  {
    name: 'two kept capabilities, non-root uid',
    rootOnly: true,
    options: { ...tenantMaps, uid: 1000, gid: 1000, capabilities: ['CAP_NET_BIND_SERVICE', 'kill'] },
    want: { CapInh: KILL_BIND, CapPrm: KILL_BIND, CapEff: KILL_BIND, CapBnd: KILL_BIND, CapAmb: KILL_BIND, NoNewPrivs: '1' },
  },
  {
    name: 'no user namespace, host uid',
    rootOnly: true,
    options: { namespaces: { user: 'host' }, uid: 4242, gid: 4242 },
    want: { CapInh: NONE, CapPrm: NONE, CapEff: NONE, CapBnd: NONE, CapAmb: NONE, NoNewPrivs: '1' },
  },
  {
    name: 'no user namespace, host uid, kept capability',
    rootOnly: true,
    options: { namespaces: { user: 'host' }, uid: 4242, gid: 4242, capabilities: ['CAP_NET_BIND_SERVICE', 'kill'] },
    want: { CapInh: KILL_BIND, CapPrm: KILL_BIND, CapEff: KILL_BIND, CapBnd: KILL_BIND, CapAmb: KILL_BIND, NoNewPrivs: '1' },
  },
];

for (const c of cases) {
  t.test(`capability sets: ${c.name}`, async (t) => {
    if (c.rootOnly && !skipExpected(t, isRoot, 'unprivileged pass (root only: no user namespace, or a second uid mapped)')) return;
    const result = await runSh(READ, c.options);
    t.equal(result.code, 0, result.stderr);
    t.same(fieldsOf(result.stdout), c.want);
  });
}

// A supervisor that itself holds inheritable and ambient capabilities (a
// systemd unit with AmbientCapabilities=, say): the box must not inherit them.
t.test('a caller\'s inheritable and ambient capabilities stay out of the box', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass (root only: raising ambient capabilities needs them)')) return;
  const script = `
    const { runSh } = require(${JSON.stringify(path.join(__dirname, '../helpers/payload'))});
    (async () => {
      const own = require('node:fs').readFileSync('/proc/self/status', 'utf8').match(/^Cap(Inh|Amb):.*$/gm).join('\\n');
      const results = {};
      for (const [name, options] of Object.entries({ fresh: {}, host: { namespaces: { user: 'host' }, uid: 4242, gid: 4242 } })) {
        const r = await runSh(${JSON.stringify(READ)}, options);
        results[name] = { code: r.code, stdout: r.stdout, stderr: r.stderr };
      }
      process.stdout.write(JSON.stringify({ own, results }));
    })().catch((e) => { console.error(e); process.exit(1); });`;
  const child = spawnSync('setpriv', ['--inh-caps=+net_bind_service,+kill', '--ambient-caps=+net_bind_service,+kill', process.execPath, '-e', script], { encoding: 'utf8' });
  t.equal(child.status, 0, child.stderr);
  const { own, results } = JSON.parse(child.stdout);
  t.match(own, /CapInh:\t0000000000000420/, 'the caller holds inheritable capabilities');
  t.match(own, /CapAmb:\t0000000000000420/, 'and ambient ones');
  for (const [name, r] of Object.entries(results)) {
    t.equal(r.code, 0, `${name}: ${r.stderr}`);
    t.same(fieldsOf(r.stdout), { CapInh: NONE, CapPrm: NONE, CapEff: NONE, CapBnd: NONE, CapAmb: NONE, NoNewPrivs: '1' }, name);
  }
});
