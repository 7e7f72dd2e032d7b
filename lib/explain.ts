// Why a box's setup failed, in words: the status record (step, errno,
// detail) a native spawn reported, turned into a CordonError with the step's
// name, system call, path and a hint. Each mechanism explains its own steps
// (explainFilesystem, explainLandlock, explainVeth); the hints themselves
// live in errors.ts, which every module imports, so the explanations that
// need the mechanisms are gathered here, above them, rather than there.
import * as os from 'node:os';
import * as path from 'node:path';

import type { NativeSpawnFailure } from '../types/native';
import { explainVeth } from './bridge';
import type { BoxCgroup } from './cgroups/box';
import { badLayer, existsOnHost, hostPathOf, untraversableDir } from './diagnose';
import { CordonError, errnoName, isMountKind, stepError, type FailedStep, type HintContext } from './errors';
import { explainFilesystem } from './filesystem';
import { hiddenInBox } from './host-view';
import { userNamespaceRefusal } from './identity';
import { InitPart } from './internal/plan-abi';
import { initSource } from './internal/sealed-init';
import { fieldOf, type PlanStep } from './internal/steps';
import { explainLandlock } from './landlock';
import { boxUserOnHost, type Plan } from './plan';
import type { ValidatedOptions } from './validate';

const MECHANISM_EXPLAINS: readonly ((step: PlanStep, detail: number, failed: FailedStep) => FailedStep)[] = [
  explainFilesystem, explainLandlock, explainVeth,
];

const SIGKILL = 9;
const ENOMEM = 12;

/**
 * The error of a native spawn that failed. A child that died before its
 * exec without a record (killedSignal) was killed on the way: with SIGKILL
 * in a box with a memory controller whose OOM killer has killed (or whose
 * counter cannot be read), the box's memory limit is too small for its
 * setup, and the error says so as ENOMEM. So does any failure in a box
 * whose fresh memory cgroup counted an OOM kill: the box's process was
 * killed while the parent worked for it (a parent step then fails on a
 * dead process, e.g. EACCES writing its setgroups).
 */
export function failure(plan: Plan, result: NativeSpawnFailure, cgroup?: BoxCgroup, options?: ValidatedOptions): CordonError {
  // Native exports give -errno; the explanation works with the positive number.
  let errno = -result.errno;
  const { failedStep: stepIndex, detail, killedSignal } = result;
  const memoryLimited = cgroup?.placement.memory !== undefined;
  const oomKills = memoryLimited ? cgroup?.oomEvents()?.oomKill : 0;
  let killedInSetup: string | undefined;
  if (killedSignal !== undefined) {
    const oom = killedSignal === SIGKILL && memoryLimited && (oomKills ?? 1) > 0;
    if (oom) errno = ENOMEM;
    killedInSetup = oom ? 'oom' : killedSignal > 0 ? signalName(killedSignal) : 'exit';
  } else if ((oomKills ?? 0) > 0) {
    errno = ENOMEM;
    killedInSetup = 'oom';
  }
  return stepFailure(plan, stepIndex, errno, detail, { memoryLimited, ...(killedInSetup === undefined ? {} : { killedInSetup }) }, options);
}

function signalName(signal: number): string {
  return Object.entries(os.constants.signals).find(([, number]) => number === signal)?.[0] ?? `signal ${signal}`;
}

export function stepFailure(
  plan: Plan, stepIndex: number, errno: number, detail: number, extra: { memoryLimited?: boolean; killedInSetup?: string } = {},
  options?: ValidatedOptions,
): CordonError {
  const step = plan.steps[stepIndex];
  if (step === undefined) {
    return new CordonError('ERR_CORDON_INTERNAL', `cordon: the child reported step ${stepIndex}, which the plan lacks`);
  }
  let failed: FailedStep = { name: step.name, syscall: step.syscall, kind: step.kind, ...(step.path === undefined ? {} : { path: step.path }) };
  // Each mechanism tells its own steps' failures from the status detail.
  for (const explain of MECHANISM_EXPLAINS) failed = explain(step, detail, failed);
  const initPart = step.op === 'execInit' ? InitPart[detail as keyof typeof InitPart] : undefined;
  if (initPart !== undefined) {
    // The init itself failed (not the payload's exec): to start, or to seal itself.
    failed = { name: initPart.name, syscall: initPart.syscall, kind: 'init', ...(detail === -1 ? { path: initSource().path } : {}) };
  } else if (step.op === 'exec' || step.op === 'execInit') {
    // For a PATH search, name the candidate that decided the error, as execvp would.
    const candidates = fieldOf(step, step.op, 'candidates') ?? [];
    const decided = candidates[detail];
    if (decided !== undefined && candidates.length > 1 && errno !== 2) failed.path = decided;
  }
  const hiddenDir = errno === 2 && failed.path?.startsWith('/') && plan.hiddenView !== undefined
    ? hiddenInBox(failed.path, plan.hiddenView.homes, plan.hiddenView.mountTargets)
    : undefined;
  // (/proc, /dev and /sys are the box's own: a missing file there is no view's doing)
  const hiddenBy = hiddenDir === '/proc' || hiddenDir === '/dev' || hiddenDir === '/sys' ? undefined : hiddenDir;
  const context: HintContext = {
    privileged: process.geteuid?.() === 0,
    ...(hiddenBy !== undefined && (step.kind === 'exec' || step.kind === 'chdir')
      ? { hiddenBy: { dir: hiddenBy, path: failed.path!, bind: step.kind === 'exec' ? path.dirname(failed.path!) : failed.path! } }
      : {}),
    ...extra,
    ...(step.kind === 'clone' ? optionalReason(userNamespaceRefusal()) : {}),
  };
  if (options !== undefined) failed = hostFacts(options, step, failed, errno, context);
  return stepError(failed, stepIndex, plan.steps.length, errno, plan.spawnargs.slice(1), context);
}

/**
 * Looks at the host after a failed step for what newcomers hit: a directory
 * the box user cannot enter on the way to the program, a mount point a
 * read-only image lacks, an overlay layer that is not there. Fills the hint
 * context, and names the layer at fault rather than the joined lowerdir.
 */
function hostFacts(options: ValidatedOptions, step: PlanStep, failed: FailedStep, errno: number, context: HintContext): FailedStep {
  const code = errnoName(errno);
  // The mounts that put something else than the root's own files at their target.
  const covering = options.mounts.filter((entry) => entry.type !== 'remount-ro');
  if (failed.kind === 'exec' && code === 'EACCES' && failed.path?.startsWith('/')) {
    const ids = boxUserOnHost(options);
    const onHost = hostPathOf(failed.path, options.rootfs, covering);
    const blocked = onHost === undefined ? undefined : untraversableDir(onHost, ids.uid, ids.gids);
    if (blocked !== undefined) context.untraversable = { dir: blocked.dir, mode: blocked.mode, owner: blocked.owner, uid: ids.uid };
  }
  if (failed.kind === 'exec' && code === 'ENOENT' && options.rootfs.kind !== 'host' && failed.path?.startsWith('/') &&
    hostPathOf(failed.path, { kind: 'layers' }, covering) === undefined && existsOnHost(failed.path)) {
    context.onHostOnly = { path: failed.path, rootfs: options.rootfs.kind };
  }
  if (isMountKind(failed.kind) && code === 'EROFS' && failed.syscall === 'mkdirat' && options.rootfs.kind === 'dir' && step.path !== undefined) {
    context.missingMountPoint = { image: options.rootfs.dir, target: step.path };
  }
  if (isMountKind(failed.kind) && code === 'EACCES' && failed.syscall === 'mkdirat' && options.rootfs.kind === 'layers' && step.path !== undefined) {
    context.templateMountPoint = { target: step.path, idmapped: options.rootfs.idmapLayers === true };
  }
  if (code === 'EINVAL' && failed.kind === 'mount' && options.rootfs.kind === 'layers' && options.rootfs.idmapLayers === true &&
    step.op === 'mountFs' && step.path === options.rootfs.layers.join(':')) {
    context.idmappedLayersRefused = true;
  }
  if (options.rootfs.kind === 'layers') {
    const layers = options.rootfs.layers;
    const overlay = step.op === 'mountFs' && step.path === layers.join(':');
    const bound = step.source === undefined ? -1 : layers.indexOf(step.source);
    const bad = overlay ? badLayer(layers) : bound >= 0 ? badLayer([layers[bound]!]) : undefined;
    if (bad !== undefined) {
      context.badLayer = { index: overlay ? bad.index : bound, layer: bad.layer, problem: bad.problem };
      return { ...failed, kind: 'layer', path: bad.layer };
    }
  }
  return failed;
}


function optionalReason(reason: string | undefined): { userNamespaceReason?: string } {
  return reason === undefined ? {} : { userNamespaceReason: reason };
}

