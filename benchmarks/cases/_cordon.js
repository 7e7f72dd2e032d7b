// Shared by the cordon cases: namespace settings for "only this one new".
'use strict';

const ALL_HOST = Object.freeze({
  user: 'host', pid: 'host', mount: 'host', net: 'host', ipc: 'host', uts: 'host', cgroup: 'host', time: 'host',
});

/** A case with only namespace `ns` new (and, for pid, cordon's default init). */
function alone(ns, order) {
  return {
    id: `cordon-${ns}`,
    title: ns === 'pid' ? 'cordon: pid ns alone (+init)' : `cordon: ${ns} ns alone`,
    group: 'cordon',
    driver: 'cordon',
    order,
    // As root a box without a new user namespace keeps real credentials,
    // which cordon refuses unless told; rootless it would need a user ns.
    options: ns === 'user' ? { namespaces: { ...ALL_HOST, user: 'new' } } : { namespaces: { ...ALL_HOST, [ns]: 'new' }, allowHostCredentials: true },
    requires: (ctx) =>
      ns === 'user' || ctx.isRoot
        ? null
        : `rootless, a new ${ns} namespace without a new user namespace needs root; run the suite as root`,
  };
}

module.exports = { ALL_HOST, alone };
