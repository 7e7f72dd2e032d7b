// What the numbers were measured on.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const { spawnSync } = require('node:child_process');

function readFirst(file, pattern) {
  try {
    const match = fs.readFileSync(file, 'utf8').match(pattern);
    return match ? match[1].trim() : undefined;
  } catch {
    return undefined;
  }
}

function cgroupMode() {
  try {
    const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
    const v1 = mounts.some((line) => / - cgroup /.test(line));
    const v2 = mounts.some((line) => / - cgroup2 /.test(line));
    if (v1 && v2) return 'hybrid (v1 controllers + v2)';
    if (v2) return 'unified (v2)';
    if (v1) return 'legacy (v1)';
  } catch {
    // not Linux
  }
  return 'none';
}

function toolVersion(file, args) {
  if (!file) return undefined;
  const result = spawnSync(file, args, { encoding: 'utf8', timeout: 5000 });
  const text = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n')[0];
  return text || undefined;
}

function describeMachine(ctx) {
  const cpus = os.cpus();
  return {
    cpu: readFirst('/proc/cpuinfo', /^model name\s*:\s*(.*)$/m) ?? cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    hypervisor: fs.readFileSync('/proc/cpuinfo', 'utf8').includes(' hypervisor') ? 'yes' : 'no',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: os.release(),
    os: readFirst('/etc/os-release', /^PRETTY_NAME="?([^"\n]*)"?$/m) ?? os.type(),
    node: process.version,
    cgroups: cgroupMode(),
    euid: process.geteuid?.(),
    tools: {
      cc: toolVersion(ctx.tools.cc, ['--version']),
      bwrap: toolVersion(ctx.tools.bwrap, ['--version']),
      unshare: toolVersion(ctx.tools.unshare, ['--version']),
      crun: toolVersion(ctx.tools.crun, ['--version']),
      firejail: toolVersion(ctx.tools.firejail, ['--version']),
    },
  };
}

module.exports = { describeMachine };
