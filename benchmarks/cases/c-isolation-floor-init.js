// The C isolation floor whose pid 1 execs a small static init
// (c/tiny-init.c: fork, exec the payload, wait) instead of forking the
// payload itself. A box set up in a process that shares Node's memory must
// make that one exec before its payload can start (cordon may not fork
// Node's address space, issue 15), so this is the floor under cordon's own
// constraints: the kernel work plus the one exec no design in cordon can
// leave out. It carries none of cordon's other work (the init's seal, the
// seccomp filter, the step reports).
'use strict';
module.exports = {
  id: 'c-isolation-floor-init',
  title: "C isolation floor, exec'd init",
  group: 'baseline',
  order: 25.5,
  driver: 'helper',
  mode: 'floor-init',
  argv: (payload) => [payload.path],
};
