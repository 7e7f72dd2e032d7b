// Cgroup limits: their types, their validation (before anything is created)
// and how each maps to a v2 file and to its v1 equivalent.
import { CordonOptionError } from '../errors';
import { invalidType, isPlainObject, ownSnapshot, rejectUnknownKeys, typeName } from '../internal/checks';
import { isValidated, markValidated, type Validated } from '../internal/validated';

/** A byte count, or `'max'` for no limit. */
export type Bytes = number | 'max';

export interface MemoryLimits {
  /** Hard limit: above it the box is reclaimed, then OOM-killed. v2 memory.max; v1 memory.limit_in_bytes. */
  max?: Bytes;
  /** Throttle limit: above it the box is reclaimed hard and slowed. v2 memory.high; no v1 equivalent (an error on v1). */
  high?: Bytes;
  /** Swap the box may use. v2 memory.swap.max; v1 memory.memsw.limit_in_bytes = max + swapMax (needs max). */
  swapMax?: Bytes;
}

export interface CpuLimits {
  /**
   * Share of CPU time under contention, 1..10000 (default 100). v2 cpu.weight;
   * v1 cpu.shares = max(2, round(weight * 1024 / 100)), so the defaults match
   * (100 ↔ 1024) and ratios are kept: weights 10 and 100 give shares 102 and 1024.
   */
  weight?: number;
  /** At most `quota` µs of CPU time per `period` µs (default 100000). v2 cpu.max; v1 cpu.cfs_quota_us / cpu.cfs_period_us. */
  max?: { quota: number | 'max'; period?: number };
}

export interface PidsLimits {
  /** Most tasks (processes and threads) at once. pids.max on both. */
  max?: number | 'max';
}

export interface IoDeviceLimit {
  /** The whole disk's device numbers (see /proc/partitions or `lsblk`): partitions cannot be throttled. */
  major: number;
  minor: number;
  /** Bytes per second. v2 io.max rbps/wbps; v1 blkio.throttle.read_bps_device / write_bps_device. */
  readBps?: number | 'max';
  writeBps?: number | 'max';
  /** I/O operations per second. v2 io.max riops/wiops; v1 blkio.throttle.read_iops_device / write_iops_device. */
  readIops?: number | 'max';
  writeIops?: number | 'max';
}

export interface IoLimits {
  /**
   * Proportional share of disk time, 1..10000 (default 100). v2 io.weight (or
   * io.bfq.weight with the BFQ scheduler); v1 blkio.weight (CFQ, 10..1000) or
   * blkio.bfq.weight (1..1000). Only schedulers that implement weights honour it.
   */
  weight?: number;
  devices?: IoDeviceLimit[];
}

export interface CpusetLimits {
  /** CPUs the box may run on, a list like `'0-1,3'`. */
  cpus?: string;
  /** Memory nodes, like `'0'`. */
  mems?: string;
}

export interface CgroupLimits {
  memory?: MemoryLimits;
  cpu?: CpuLimits;
  pids?: PidsLimits;
  io?: IoLimits;
  cpuset?: CpusetLimits;
}

/** The controllers cordon speaks of; `io` is `blkio` on v1, `cpu` weight/max is v1 `cpu`. */
export type LogicalController = 'memory' | 'cpu' | 'pids' | 'io' | 'cpuset';

/** The v1 controller that carries each logical one. */
export const V1_NAME: Readonly<Record<LogicalController, string>> = {
  memory: 'memory',
  cpu: 'cpu',
  pids: 'pids',
  io: 'blkio',
  cpuset: 'cpuset',
};

/** Controllers a set of limits needs, in a stable order. */
export function controllersFor(limits: CgroupLimits): LogicalController[] {
  const order: LogicalController[] = ['cpuset', 'cpu', 'io', 'memory', 'pids'];
  return order.filter((name) => {
    const section = limits[name] as Record<string, unknown> | undefined;
    return section !== undefined && Object.values(section).some((value) => value !== undefined);
  });
}

/** v1 cpu.shares for a v2-style weight (1..10000): linear, 100 ↔ 1024, at least 2 (the kernel's minimum). */
export function sharesFromWeight(weight: number): number {
  return Math.max(2, Math.round((weight * 1024) / 100));
}

// ---------------------------------------------------------------------------
// Validation

const SCHEMA: Readonly<Record<string, readonly string[]>> = {
  '': ['memory', 'cpu', 'pids', 'io', 'cpuset'],
  memory: ['max', 'high', 'swapMax'],
  cpu: ['weight', 'max'],
  'cpu.max': ['quota', 'period'],
  pids: ['max'],
  io: ['weight', 'devices'],
  device: ['major', 'minor', 'readBps', 'writeBps', 'readIops', 'writeIops'],
  cpuset: ['cpus', 'mems'],
};

function plainObject(value: unknown, option: string): Record<string, unknown> {
  if (!isPlainObject(value)) throw invalidType(option, 'an object', value);
  return value;
}

function integer(value: unknown, option: string, min: number, max: number, allowMax: boolean, unit = ''): number | 'max' {
  if (allowMax && value === 'max') return 'max';
  if (typeof value !== 'number') {
    const expected = allowMax ? `a number${unit} or 'max'` : `a number${unit}`;
    throw new CordonOptionError('ERR_INVALID_ARG_TYPE', option, `The "${option}" option must be ${expected}. Received ${typeName(value)}`);
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new CordonOptionError(
      'ERR_INVALID_ARG_VALUE',
      option,
      `The "${option}" option must be an integer from ${min} to ${max}${unit}. Received ${String(value)}`,
    );
  }
  return value;
}

const CPU_LIST = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;

function cpuList(value: unknown, option: string): string {
  if (typeof value !== 'string') {
    throw new CordonOptionError('ERR_INVALID_ARG_TYPE', option, `The "${option}" option must be a string like '0-1,3'. Received ${typeName(value)}`);
  }
  const text = value.trim();
  if (!CPU_LIST.test(text)) {
    throw new CordonOptionError('ERR_INVALID_ARG_VALUE', option, `The "${option}" option must be a list like '0-1,3' (numbers and ascending ranges). Received ${JSON.stringify(value)}`);
  }
  for (const part of text.split(',')) {
    const [low, high] = part.split('-').map(Number);
    if (high !== undefined && low !== undefined && high < low) {
      throw new CordonOptionError('ERR_INVALID_ARG_VALUE', option, `The "${option}" option has a descending range "${part}"`);
    }
  }
  return text;
}

const MAX_BYTES = Number.MAX_SAFE_INTEGER;
/** An absent section: no prototype, so a polluted Object.prototype reads as no limit. */
const NO_LIMITS = Object.freeze(Object.create(null) as Record<string, never>);

/**
 * Checks cgroup limits and returns a normalized copy holding only the keys
 * given. Throws a CordonOptionError (code ERR_INVALID_ARG_TYPE,
 * ERR_INVALID_ARG_VALUE or ERR_CORDON_UNKNOWN_OPTION, `option` the dotted
 * name such as `cgroup.memory.max`) before anything is created. Host
 * questions (is the controller there, does the device exist) are answered
 * later, by createBoxCgroup. `undefined` means no limits.
 */
export function validateLimits(limits: unknown, option = 'cgroup'): Validated<CgroupLimits> {
  if (typeof limits === 'object' && limits !== null && isValidated(limits)) return limits as Validated<CgroupLimits>;
  // Read own keys once in; hand out null-prototype objects: no reader of the
  // limits (controllersFor, the cgroup files) can pick up a polluted key.
  return markValidated(ownSnapshot(checkLimits(ownSnapshot(limits, option), option), option) as CgroupLimits);
}

function checkLimits(limits: unknown, option: string): CgroupLimits {
  if (limits === undefined) return {};
  const root = plainObject(limits, option);
  rejectUnknownKeys(root, SCHEMA['']!, option);
  const out: CgroupLimits = {};

  if (root.memory !== undefined) {
    const name = `${option}.memory`;
    const memory = plainObject(root.memory, name);
    rejectUnknownKeys(memory, SCHEMA.memory!, name);
    const section: MemoryLimits = {};
    for (const key of ['max', 'high', 'swapMax'] as const) {
      if (memory[key] !== undefined) section[key] = integer(memory[key], `${name}.${key}`, 0, MAX_BYTES, true, ' of bytes');
    }
    out.memory = section;
  }

  if (root.cpu !== undefined) {
    const name = `${option}.cpu`;
    const cpu = plainObject(root.cpu, name);
    rejectUnknownKeys(cpu, SCHEMA.cpu!, name);
    const section: CpuLimits = {};
    if (cpu.weight !== undefined) section.weight = integer(cpu.weight, `${name}.weight`, 1, 10000, false) as number;
    if (cpu.max !== undefined) {
      const maxName = `${name}.max`;
      const max = plainObject(cpu.max, maxName);
      rejectUnknownKeys(max, SCHEMA['cpu.max']!, maxName);
      if (max.quota === undefined) {
        throw new CordonOptionError('ERR_INVALID_ARG_TYPE', `${maxName}.quota`, `The "${maxName}.quota" option is required: µs of CPU time per period, or 'max'`);
      }
      const quota = integer(max.quota, `${maxName}.quota`, 1000, MAX_BYTES, true, ' µs');
      section.max = { quota };
      if (max.period !== undefined) section.max.period = integer(max.period, `${maxName}.period`, 1000, 1_000_000, false, ' µs') as number;
    }
    out.cpu = section;
  }

  if (root.pids !== undefined) {
    const name = `${option}.pids`;
    const pids = plainObject(root.pids, name);
    rejectUnknownKeys(pids, SCHEMA.pids!, name);
    out.pids = pids.max === undefined ? {} : { max: integer(pids.max, `${name}.max`, 0, 4_194_304, true) };
  }

  if (root.io !== undefined) {
    const name = `${option}.io`;
    const io = plainObject(root.io, name);
    rejectUnknownKeys(io, SCHEMA.io!, name);
    const section: IoLimits = {};
    if (io.weight !== undefined) section.weight = integer(io.weight, `${name}.weight`, 1, 10000, false) as number;
    if (io.devices !== undefined) {
      if (!Array.isArray(io.devices)) {
        throw new CordonOptionError('ERR_INVALID_ARG_TYPE', `${name}.devices`, `The "${name}.devices" option must be an array. Received ${typeName(io.devices)}`);
      }
      const seen = new Set<string>();
      section.devices = io.devices.map((entry: unknown, index: number) => {
        const deviceName = `${name}.devices[${index}]`;
        const device = plainObject(entry, deviceName);
        rejectUnknownKeys(device, SCHEMA.device!, deviceName);
        for (const key of ['major', 'minor'] as const) {
          if (device[key] === undefined) {
            throw new CordonOptionError('ERR_INVALID_ARG_TYPE', `${deviceName}.${key}`, `The "${deviceName}.${key}" option is required`);
          }
        }
        const limit: IoDeviceLimit = {
          major: integer(device.major, `${deviceName}.major`, 0, 4095, false) as number,
          minor: integer(device.minor, `${deviceName}.minor`, 0, 1_048_575, false) as number,
        };
        let any = false;
        for (const key of ['readBps', 'writeBps', 'readIops', 'writeIops'] as const) {
          if (device[key] === undefined) continue;
          limit[key] = integer(device[key], `${deviceName}.${key}`, 1, MAX_BYTES, true);
          any = true;
        }
        if (!any) {
          throw new CordonOptionError('ERR_INVALID_ARG_VALUE', deviceName, `The "${deviceName}" option sets no limit: give readBps, writeBps, readIops or writeIops`);
        }
        const key = `${limit.major}:${limit.minor}`;
        if (seen.has(key)) {
          throw new CordonOptionError('ERR_INVALID_ARG_VALUE', deviceName, `The "${deviceName}" option repeats device ${key}`);
        }
        seen.add(key);
        return limit;
      });
    }
    out.io = section;
  }

  if (root.cpuset !== undefined) {
    const name = `${option}.cpuset`;
    const cpuset = plainObject(root.cpuset, name);
    rejectUnknownKeys(cpuset, SCHEMA.cpuset!, name);
    const section: CpusetLimits = {};
    if (cpuset.cpus !== undefined) section.cpus = cpuList(cpuset.cpus, `${name}.cpus`);
    if (cpuset.mems !== undefined) section.mems = cpuList(cpuset.mems, `${name}.mems`);
    out.cpuset = section;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Files

/** One write a limit turns into. */
export interface LimitWrite {
  /** The controller that owns the file (v1 name on v1: `blkio`, v2 name on v2: `io`). */
  controller: string;
  file: string;
  value: string;
  /** The option it comes from, for errors. */
  option: string;
}

function bytesV2(value: Bytes): string {
  return value === 'max' ? 'max' : String(value);
}

/** The v2 writes for one controller's limits. `files` tells which optional files exist in the box cgroup. */
export function v2Writes(controller: LogicalController, limits: CgroupLimits, has: (file: string) => boolean): LimitWrite[] | string {
  const writes: LimitWrite[] = [];
  const add = (file: string, value: string, option: string): void => {
    writes.push({ controller, file, value, option });
  };
  switch (controller) {
    case 'memory': {
      const memory = limits.memory ?? NO_LIMITS;
      if (memory.max !== undefined) add('memory.max', bytesV2(memory.max), 'memory.max');
      if (memory.high !== undefined) add('memory.high', bytesV2(memory.high), 'memory.high');
      if (memory.swapMax !== undefined) {
        if (!has('memory.swap.max')) return 'memory.swapMax: the kernel has no swap accounting (no memory.swap.max; CONFIG_MEMCG_SWAP or swapaccount=1)';
        add('memory.swap.max', bytesV2(memory.swapMax), 'memory.swapMax');
      }
      break;
    }
    case 'cpu': {
      const cpu = limits.cpu ?? NO_LIMITS;
      if (cpu.weight !== undefined) add('cpu.weight', String(cpu.weight), 'cpu.weight');
      if (cpu.max !== undefined) add('cpu.max', `${cpu.max.quota} ${cpu.max.period ?? 100000}`, 'cpu.max');
      break;
    }
    case 'pids':
      if (limits.pids?.max !== undefined) add('pids.max', String(limits.pids.max), 'pids.max');
      break;
    case 'io': {
      const io = limits.io ?? NO_LIMITS;
      if (io.weight !== undefined) {
        if (has('io.weight')) add('io.weight', `default ${io.weight}`, 'io.weight');
        else if (has('io.bfq.weight')) {
          if (io.weight > 1000) return `io.weight: with the BFQ scheduler (io.bfq.weight) the weight is 1..1000, got ${io.weight}`;
          add('io.bfq.weight', `default ${io.weight}`, 'io.weight');
        } else return 'io.weight: no io.weight or io.bfq.weight file (the kernel has neither blk-iocost nor BFQ)';
      }
      for (const device of io.devices ?? []) {
        const parts = [`${device.major}:${device.minor}`];
        if (device.readBps !== undefined) parts.push(`rbps=${device.readBps}`);
        if (device.writeBps !== undefined) parts.push(`wbps=${device.writeBps}`);
        if (device.readIops !== undefined) parts.push(`riops=${device.readIops}`);
        if (device.writeIops !== undefined) parts.push(`wiops=${device.writeIops}`);
        add('io.max', parts.join(' '), `io.devices ${device.major}:${device.minor}`);
      }
      break;
    }
    case 'cpuset':
      if (limits.cpuset?.cpus !== undefined) add('cpuset.cpus', limits.cpuset.cpus, 'cpuset.cpus');
      if (limits.cpuset?.mems !== undefined) add('cpuset.mems', limits.cpuset.mems, 'cpuset.mems');
      break;
  }
  return writes;
}

/**
 * The v1 writes for one controller's limits, in the order they must be made
 * (limit_in_bytes before memsw, period before quota). A string is why a limit
 * has no v1 equivalent here.
 */
export function v1Writes(controller: LogicalController, limits: CgroupLimits, has: (file: string) => boolean): LimitWrite[] | string {
  const v1 = V1_NAME[controller];
  const writes: LimitWrite[] = [];
  const add = (file: string, value: string, option: string): void => {
    writes.push({ controller: v1, file, value, option });
  };
  switch (controller) {
    case 'memory': {
      const memory = limits.memory ?? NO_LIMITS;
      if (memory.high !== undefined && memory.high !== 'max') {
        return 'memory.high has no cgroup v1 equivalent (v1 memory.soft_limit_in_bytes is a reservation under global pressure, like v2 memory.low, not a throttle)';
      }
      if (memory.max !== undefined) add('memory.limit_in_bytes', memory.max === 'max' ? '-1' : String(memory.max), 'memory.max');
      if (memory.swapMax !== undefined && memory.swapMax !== 'max') {
        if (memory.max === undefined || memory.max === 'max') {
          return 'memory.swapMax needs memory.max on cgroup v1: v1 limits memory+swap together (memory.memsw.limit_in_bytes = max + swapMax)';
        }
        if (!has('memory.memsw.limit_in_bytes')) return 'memory.swapMax: the kernel has no swap accounting (no memory.memsw.limit_in_bytes; boot with swapaccount=1)';
        add('memory.memsw.limit_in_bytes', String(memory.max + memory.swapMax), 'memory.swapMax');
      }
      break;
    }
    case 'cpu': {
      const cpu = limits.cpu ?? NO_LIMITS;
      if (cpu.weight !== undefined) add('cpu.shares', String(sharesFromWeight(cpu.weight)), 'cpu.weight');
      if (cpu.max !== undefined) {
        if (!has('cpu.cfs_quota_us')) return 'cpu.max: the kernel has no CFS bandwidth control (no cpu.cfs_quota_us; CONFIG_CFS_BANDWIDTH)';
        add('cpu.cfs_period_us', String(cpu.max.period ?? 100000), 'cpu.max.period');
        add('cpu.cfs_quota_us', cpu.max.quota === 'max' ? '-1' : String(cpu.max.quota), 'cpu.max.quota');
      }
      break;
    }
    case 'pids':
      if (limits.pids?.max !== undefined) add('pids.max', String(limits.pids.max), 'pids.max');
      break;
    case 'io': {
      const io = limits.io ?? NO_LIMITS;
      if (io.weight !== undefined) {
        if (has('blkio.weight')) {
          if (io.weight < 10 || io.weight > 1000) return `io.weight: v1 blkio.weight takes 10..1000, got ${io.weight}`;
          add('blkio.weight', String(io.weight), 'io.weight');
        } else if (has('blkio.bfq.weight')) {
          if (io.weight > 1000) return `io.weight: v1 blkio.bfq.weight takes 1..1000, got ${io.weight}`;
          add('blkio.bfq.weight', String(io.weight), 'io.weight');
        } else return 'io.weight: no blkio.weight or blkio.bfq.weight file (neither CFQ nor BFQ in this kernel)';
      }
      const files = [
        ['readBps', 'blkio.throttle.read_bps_device'],
        ['writeBps', 'blkio.throttle.write_bps_device'],
        ['readIops', 'blkio.throttle.read_iops_device'],
        ['writeIops', 'blkio.throttle.write_iops_device'],
      ] as const;
      for (const device of io.devices ?? []) {
        for (const [key, file] of files) {
          const value = device[key];
          if (value === undefined) continue;
          if (!has(file)) return `io.devices: no ${file} (CONFIG_BLK_DEV_THROTTLING)`;
          // In v1 a 0 removes the device's limit.
          add(file, `${device.major}:${device.minor} ${value === 'max' ? 0 : value}`, `io.devices ${device.major}:${device.minor} ${key}`);
        }
      }
      break;
    }
    case 'cpuset':
      if (limits.cpuset?.cpus !== undefined) add('cpuset.cpus', limits.cpuset.cpus, 'cpuset.cpus');
      if (limits.cpuset?.mems !== undefined) add('cpuset.mems', limits.cpuset.mems, 'cpuset.mems');
      break;
  }
  return writes;
}
