// An OCI config's linux.resources → cordon's `cgroup` limits (cgroup v2
// names; the v1 numbers of the spec converted as runc converts them).
import type { CgroupLimits, IoDeviceLimit } from '../cgroups/limits';
import { badType, badValue, unsupported } from './errors';
import { Fields, integer } from './fields';
import type { OciIgnoredField } from './fields';

export function mapResources(resources: Fields, ignored: OciIgnoredField[]): CgroupLimits {
  const limits: CgroupLimits = {};
  const bytes = (at: string, value: unknown): number | 'max' => {
    if (value === -1) return 'max';
    return integer(at, value, 0, Number.MAX_SAFE_INTEGER);
  };
  // 0 means "not set" for these numbers, as runc reads them (podman writes them so).
  const given = (value: unknown): boolean => value !== undefined && value !== null && value !== 0;
  const memory = resources.object('memory');
  if (memory !== undefined) {
    limits.memory = {};
    const limit = memory.get('limit');
    if (given(limit)) limits.memory.max = bytes(memory.path('limit'), limit);
    const swap = memory.get('swap');
    if (given(swap)) {
      // OCI swap is memory + swap; v2's memory.swap.max is the swap alone.
      const total = bytes(memory.path('swap'), swap);
      if (total === 'max') limits.memory.swapMax = 'max';
      else if (typeof limits.memory.max !== 'number') throw badValue(memory.path('swap'), swap, 'needs linux.resources.memory.limit (swap is memory + swap)');
      else if (total < limits.memory.max) throw badValue(memory.path('swap'), swap, 'must be at least linux.resources.memory.limit (swap is memory + swap)');
      else limits.memory.swapMax = total - limits.memory.max;
    }
    memory.refuse('reservation', 'cordon sets no memory.low (use unified "memory.high" for a throttle)');
    memory.ignore('kernel', 'deprecated by the spec: no cgroup v2 equivalent', ignored);
    memory.refuse('kernelTCP', 'no cgroup v2 equivalent');
    memory.refuse('swappiness', 'no cgroup v2 equivalent');
    memory.refuse('disableOOMKiller', 'cordon keeps the OOM killer on (no cgroup v2 equivalent)');
    memory.ignore('useHierarchy', 'cgroup v2 is always hierarchical', ignored);
    memory.ignore('checkBeforeUpdate', 'about updates; cordon sets limits once, at the spawn', ignored);
    memory.done();
    if (Object.keys(limits.memory).length === 0) delete limits.memory;
  }
  const cpu = resources.object('cpu');
  if (cpu !== undefined) {
    const shares = given(cpu.get('shares')) ? cpu.integer('shares', 2, 262144) : undefined;
    const rawQuota = cpu.get('quota');
    const quota = given(rawQuota) ? rawQuota : undefined;
    const period = given(cpu.get('period')) ? cpu.integer('period', 1000, 1000000) : undefined;
    if (shares !== undefined || quota !== undefined || period !== undefined) limits.cpu = {};
    // runc's conversion of cgroup v1 shares (2..262144) to v2 weight (1..10000).
    if (shares !== undefined) limits.cpu!.weight = 1 + Math.floor(((shares - 2) * 9999) / 262142);
    if (quota !== undefined) {
      const max = quota === -1 ? 'max' : integer(cpu.path('quota'), quota, 1000, Number.MAX_SAFE_INTEGER);
      limits.cpu!.max = period === undefined ? { quota: max } : { quota: max, period };
    } else if (period !== undefined) {
      limits.cpu!.max = { quota: 'max', period };
    }
    const cpus = cpu.string('cpus');
    const mems = cpu.string('mems');
    if ((cpus ?? '') !== '' || (mems ?? '') !== '') {
      limits.cpuset = {};
      if (cpus !== undefined && cpus !== '') limits.cpuset.cpus = cpus;
      if (mems !== undefined && mems !== '') limits.cpuset.mems = mems;
    }
    for (const key of ['burst', 'realtimeRuntime', 'realtimePeriod']) cpu.refuse(key, 'cordon sets cpu.weight, cpu.max and the cpuset only');
    const idle = cpu.get('idle');
    if (idle !== undefined && idle !== null && idle !== 0) throw unsupported(cpu.path('idle'), 'cordon sets no cpu.idle');
    cpu.done();
  }
  const pids = resources.object('pids');
  if (pids !== undefined) {
    const limit = pids.get('limit');
    const value = limit === -1 || limit === 0 ? 'max' : integer(pids.path('limit'), limit, 1, 0x7fffffff);
    limits.pids = { max: value };
    pids.done();
  }
  const blockIO = resources.object('blockIO');
  if (blockIO !== undefined) {
    const weight = given(blockIO.get('weight')) ? blockIO.integer('weight', 10, 1000) : undefined;
    // runc's conversion of v1 blkio.weight (10..1000) to v2 io.weight (1..10000).
    if (weight !== undefined) limits.io = { weight: 1 + Math.floor(((weight - 10) * 9999) / 990) };
    blockIO.refuse('leafWeight', 'no cgroup v2 equivalent');
    blockIO.refuse('weightDevice', 'cordon sets no per-device weight');
    const devices = new Map<string, { -readonly [K in keyof IoDeviceLimit]: IoDeviceLimit[K] }>();
    const throttles = { throttleReadBpsDevice: 'readBps', throttleWriteBpsDevice: 'writeBps', throttleReadIOPSDevice: 'readIops', throttleWriteIOPSDevice: 'writeIops' } as const;
    for (const [key, field] of Object.entries(throttles)) {
      blockIO.array(key).forEach((entry, i) => {
        const fields = Fields.of(entry, `${blockIO.path(key)}[${i}]`);
        const major = fields.integer('major', 0, 0xfff)!;
        const minor = fields.integer('minor', 0, 0xfffff)!;
        const rate = fields.integer('rate', 0, Number.MAX_SAFE_INTEGER)!;
        fields.done();
        if (major === undefined || minor === undefined || rate === undefined) throw badType(fields.at, 'an object { major, minor, rate }', entry);
        const id = `${major}:${minor}`;
        const device = devices.get(id) ?? { major, minor };
        device[field] = rate === 0 ? 'max' : rate;
        devices.set(id, device);
      });
    }
    if (devices.size > 0) limits.io = { ...limits.io, devices: [...devices.values()] };
    blockIO.done();
  }
  resources.ignore('devices', 'cordon\'s box reaches only the device nodes it binds (its /dev, linux.devices), nodev elsewhere; a device allowlist neither narrows nor widens that', ignored);
  resources.refuse('hugepageLimits', 'cordon sets no hugetlb limits');
  resources.refuse('network', 'cgroup v2 has no net_cls/net_prio');
  resources.refuse('rdma', 'cordon sets no rdma limits');
  const unified = resources.object('unified');
  if (unified !== undefined) {
    for (const key of Object.keys(unified.value)) mapUnified(unified.path(key), key, unified.string(key) ?? '', limits);
    unified.done();
  }
  resources.done();
  return limits;
}

/** One cgroup v2 file of linux.resources.unified, onto the limit that writes it. */
function mapUnified(at: string, key: string, text: string, limits: CgroupLimits): void {
  const value = text.trim();
  const number = (min: number, max: number): number => {
    if (!/^\d+$/.test(value)) throw badValue(at, text, 'must be a number');
    return integer(at, Number(value), min, max);
  };
  const bytesOrMax = (): number | 'max' => (value === 'max' ? 'max' : number(0, Number.MAX_SAFE_INTEGER));
  switch (key) {
    case 'memory.max':
      limits.memory = { ...limits.memory, max: bytesOrMax() };
      return;
    case 'memory.high':
      limits.memory = { ...limits.memory, high: bytesOrMax() };
      return;
    case 'memory.swap.max':
      limits.memory = { ...limits.memory, swapMax: bytesOrMax() };
      return;
    case 'pids.max':
      limits.pids = { max: value === 'max' ? 'max' : number(1, 0x7fffffff) };
      return;
    case 'cpu.weight':
      limits.cpu = { ...limits.cpu, weight: number(1, 10000) };
      return;
    case 'cpu.max': {
      const match = /^(max|\d+)(?:\s+(\d+))?$/.exec(value);
      if (match === null) throw badValue(at, text, 'must be "QUOTA [PERIOD]" or "max [PERIOD]"');
      const quota = match[1] === 'max' ? 'max' : Number(match[1]);
      limits.cpu = { ...limits.cpu, max: match[2] === undefined ? { quota } : { quota, period: Number(match[2]) } };
      return;
    }
    case 'io.weight': {
      const match = /^(?:default\s+)?(\d+)$/.exec(value);
      if (match === null) throw unsupported(at, 'cordon sets the default io.weight only ("N" or "default N")');
      limits.io = { ...limits.io, weight: integer(at, Number(match[1]), 1, 10000) };
      return;
    }
    case 'cpuset.cpus':
      limits.cpuset = { ...limits.cpuset, cpus: value };
      return;
    case 'cpuset.mems':
      limits.cpuset = { ...limits.cpuset, mems: value };
      return;
    default:
      throw unsupported(at, 'cordon writes memory.max, memory.high, memory.swap.max, pids.max, cpu.weight, cpu.max, io.weight, cpuset.cpus and cpuset.mems only');
  }
}
