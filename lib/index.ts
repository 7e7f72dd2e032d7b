// Public API of cordon.
export { spawnIsolated, spawnIsolatedAsync } from './spawn';
export { compileBox } from './template';
export type { BoxTemplate } from './template';
export { execFileIsolated } from './exec-file';
export type { ExecFileIsolatedOptions, ExecFileIsolatedResult, ExecFileIsolatedError } from './exec-file';
export { probe } from './probe';
export { createNamespacePool, NamespacePool } from './pool';
export type { NamespacePoolKind, NamespacePoolOptions, NamespacePoolStats } from './pool';
export type { ProbeReport, Capability, CgroupReport, CloneRung } from './probe';
export { Box } from './box';
export { adopt, adoptAll, cleanup } from './adopt';
export type { CleanupOptions } from './adopt';
export type { CleanupReport } from './cleanup';
export { createTenantCgroup, TenantCgroup } from './cgroups/tenant';
export type { TenantCgroupOptions, TenantCgroupPath } from './cgroups/tenant';
export type { ExitResult, BoxEvents } from './box';
export type { BoxExecOptions } from './exec';
export type { TtySize } from './pty';
export { CordonError, CordonOptionError } from './errors';
export { DIAGNOSTICS_CHANNELS } from './diagnostics';
export type { SpawnTraceContext, SpawnPhaseMessage, SpawnPhaseName, SpawnStepMessage, BoxExitMessage } from './diagnostics';
export { IdRangeAllocator } from './identity';
export type { IdRange } from './identity';
export type { CordonErrorCode, CordonErrorDetails } from './errors';
export type {
  SpawnIsolatedOptions,
  BoxOverrides,
  NamespaceName,
  NamespaceSetting,
  NamespaceOptions,
  IdMapEntry,
  StdioEntry,
  StdioOptions,
  NetworkOption,
} from './options';
export type { ListenEntry, ListenSocket, ListenVariables } from './sockets';
export { createListener, Listener } from './listener';
export type { UpperQuota, DiskUsage } from './quota';
export { createService, Service } from './service';
export type { ServiceOptions, ServiceState, ServiceReason, ServiceEvents, HealthCheck, HealthTarget } from './service';
export type { ListenerOptions, UnixListenerOptions, TcpListenerOptions } from './listener';
export type { BridgeNetworkOptions, BridgeNetworkInfo } from './bridge';
export type { LandlockOptions, LandlockReport, LandlockAccess, LandlockScope } from './landlock';
export type { CapabilityName } from './credentials';
export type { RlimitName, RlimitValue } from './limits';
export type { KernelCounterName, KernelCounterLimit, KernelCounterLimits } from './kernel-counters';
export type { CgroupLimits, MemoryLimits, CpuLimits, PidsLimits, IoLimits, IoDeviceLimit, CpusetLimits } from './cgroups/limits';
export type { CgroupStats, OomEvent } from './cgroups/box';
export type { MountEntry, RootfsOption } from './options';
export type { SeccompPolicy, SeccompAction, SeccompRule, SeccompAllowRule, SeccompArgCondition, SeccompArgOp } from './seccomp';
export { fromOciConfig, loadOciBundle } from './oci/config';
export type { FromOciConfigOptions, OciRunSpec, OciIgnoredField } from './oci/config';
export { OciConfigError } from './oci/errors';
export { DEFAULT_MAX_LAYER_BYTES, importOciImage } from './oci/image';
export type { ImportOciImageOptions, OciImage } from './oci/image';
export { OciImageError } from './oci/errors';
