// Public API of cordon.
export { spawnIsolated } from './spawn';
export { probe } from './probe';
export type { ProbeReport, Capability, CgroupReport, CloneRung } from './probe';
export { Box } from './box';
export type { ExitResult, BoxEvents } from './box';
export { CordonError, CordonOptionError } from './errors';
export { IdRangeAllocator } from './identity';
export type { IdRange } from './identity';
export type { CordonErrorCode, CordonErrorDetails } from './errors';
export type {
  SpawnIsolatedOptions,
  NamespaceName,
  NamespaceSetting,
  NamespaceOptions,
  IdMapEntry,
  StdioEntry,
  StdioOptions,
} from './options';
