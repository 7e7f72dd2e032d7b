// The C isolation floor in the host's network namespace: the reference for
// cordon-full-async-net-host (`namespaces: { net: 'host' }`), whose
// throughput target asks for 2,000 boxes/s. What the kernel allows for the
// rest of a default box (user, pid, mount, ipc, uts and cgroup namespaces,
// the root, /proc, /dev, pid 1) without the netns and its rtnl lock.
'use strict';
module.exports = {
  id: 'c-isolation-floor-net-host',
  title: "C isolation floor, net 'host'",
  group: 'baseline',
  order: 25.7,
  driver: 'helper',
  mode: 'floor-net-host',
  argv: (payload) => [payload.path],
};
