// The C isolation floor cloned straight into a pre-created cgroup v2
// directory (clone3 with CLONE_INTO_CGROUP, the box with its own memory),
// as cordon's clone_into_cgroup() does for a box joining a cgroup made
// before it: against c-isolation-floor it prices joining a pre-created
// cgroup. The helper makes the cgroup under its own v2 cgroup and removes
// it when it quits.
'use strict';
module.exports = {
  id: 'c-isolation-floor-cgroup',
  title: 'C isolation floor, pre-created cgroup',
  group: 'baseline',
  order: 27,
  driver: 'helper',
  mode: 'floor-cgroup',
  helper: {
    key: 'cgroup',
    async setup(client) {
      await client.request('cgroup-make');
    },
  },
  argv: (payload) => [payload.path],
};
