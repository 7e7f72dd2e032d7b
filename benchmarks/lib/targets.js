// The targets of issue 7, evaluated against one run's results.
'use strict';

function lookup(results) {
  const find = (id, payload) => results.find((r) => r.id === id && r.payload === payload);
  const med = (id, payload) => find(id, payload)?.stats?.median;
  return { find, med };
}

const fmt = (x, digits = 2) => (x === undefined || x === null || !Number.isFinite(x) ? 'n/a' : x.toFixed(digits));

/**
 * Each target: what it is, its figure, and evaluate(results, payload) ->
 * { value, shown, verdict: 'PASS' | 'MISS' | 'not yet measurable' | 'n/a', note }.
 */
const TARGETS = [
  {
    id: 'pooled-vs-fork',
    target: 'full isolation from Node, pooled netns and cgroup',
    figure: 'median ≤ 1.0× C fork+exec',
    evaluate(results, payload) {
      const { med } = lookup(results);
      const indicative = med('cordon-full-no-net', payload) / med('c-fork-exec', payload);
      return {
        verdict: 'not yet measurable',
        shown: `indicative: full minus netns ${fmt(indicative)}×`,
        note: 'pooled network namespaces and pre-created cgroups not implemented',
        indicative,
      };
    },
  },
  {
    id: 'pooled-vs-child-process',
    target: 'same, against unisolated child_process.spawn',
    figure: '≤ 0.5×',
    evaluate(results, payload) {
      const { med } = lookup(results);
      const indicative = med('cordon-full-no-net', payload) / med('node-child-process', payload);
      return {
        verdict: 'not yet measurable',
        shown: `indicative: full minus netns ${fmt(indicative)}×`,
        note: 'pooled network namespaces and pre-created cgroups not implemented',
        indicative,
      };
    },
  },
  {
    id: 'fresh-vs-fork',
    target: 'full isolation with a fresh netns (and cgroup)',
    figure: '≤ 1.5× C fork+exec',
    evaluate(results, payload) {
      const { med } = lookup(results);
      const value = med('cordon-full', payload) / med('c-fork-exec', payload);
      return {
        value,
        shown: `${fmt(value)}×`,
        verdict: verdict(value, (v) => v <= 1.5),
        note: 'measured without pivot_root/ro root and without a cgroup (not implemented), so it understates the full cost',
      };
    },
  },
  {
    id: 'heap-growth',
    target: 'cost growth with Node heap (+150 MB)',
    figure: '≤ 1.1× (child_process grows about 3.8×)',
    evaluate(results, payload) {
      const { med } = lookup(results);
      const value = med('cordon-full-heap', payload) / med('cordon-full', payload);
      const cp = med('node-child-process-heap', payload) / med('node-child-process', payload);
      return { value, shown: `${fmt(value)}×`, verdict: verdict(value, (v) => v <= 1.1), note: `child_process.spawn grew ${fmt(cp)}×` };
    },
  },
  {
    id: 'vs-bwrap',
    target: 'against bwrap',
    figure: '≥ 4× faster',
    evaluate(results, payload) {
      const { med } = lookup(results);
      const value = med('bwrap', payload) / med('cordon-full', payload);
      return { value, shown: `${fmt(value)}× faster`, verdict: verdict(value, (v) => v >= 4) };
    },
  },
  {
    id: 'vs-crun',
    target: 'against crun',
    figure: '≥ 8× faster',
    evaluate(results, payload) {
      const { med } = lookup(results);
      const value = med('crun', payload) / med('cordon-full', payload);
      const noCgroups = med('crun-no-cgroups', payload) / med('cordon-full', payload);
      return {
        value,
        shown: `${fmt(value)}× faster`,
        verdict: verdict(value, (v) => v >= 8),
        note: `crun with cgroups disabled: ${fmt(noCgroups)}× faster`,
      };
    },
  },
  {
    id: 'throughput',
    target: 'throughput, full isolation, concurrency 8',
    figure: '≥ 2,000 boxes/s on 2 cores',
    evaluate(results, payload) {
      const { find } = lookup(results);
      const value = find('cordon-full', payload)?.throughput?.[8]?.perSecond;
      return { value, shown: value === undefined ? 'n/a' : `${Math.round(value)}/s`, verdict: verdict(value, (v) => v >= 2000) };
    },
  },
  {
    id: 'bind-mounts',
    target: '1,000 bind mounts',
    figure: 'linear cost',
    evaluate() {
      return { verdict: 'not yet measurable', shown: '—', note: 'bind mounts not implemented' };
    },
  },
];

function verdict(value, ok) {
  if (value === undefined || value === null || !Number.isFinite(value)) return 'n/a';
  return ok(value) ? 'PASS' : 'MISS';
}

function evaluateTargets(results, payloads) {
  return TARGETS.map((t) => {
    const byPayload = {};
    for (const payload of payloads) byPayload[payload.id] = t.evaluate(results, payload.id);
    return { id: t.id, target: t.target, figure: t.figure, byPayload };
  });
}

module.exports = { evaluateTargets, TARGETS };
