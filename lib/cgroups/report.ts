// probeCgroups(): the cgroup part of probe(), from the same detection the
// manager uses, in lib/probe.ts's CgroupReport shape.
import type { CgroupReport } from '../probe';
import { canWrite } from './fsio';
import { type CgroupHost, detectCgroups } from './host';

/**
 * The cgroup mode, mounts and the controllers this process could use for
 * boxes, shaped like probe().cgroup. `writableControllers` lists, v2 first,
 * the controllers offered where cordon would create box cgroups: for root the
 * v2 root's cgroup.controllers and every v1 hierarchy whose root is writable;
 * otherwise those of the own cgroups that are delegated (owned by this uid).
 */
export function probeCgroups(host: CgroupHost = detectCgroups()): CgroupReport {
  const report: CgroupReport = { mode: host.mode, v2Controllers: [], v1Controllers: {}, writableControllers: [] };
  const root = host.euid === 0;
  if (host.v2 !== undefined) {
    const v2 = host.v2;
    report.v2Mount = v2.mount;
    report.v2Path = v2.ownPath;
    report.v2Controllers = v2.ownDir === undefined ? v2.rootControllers : v2.ownControllers;
    if (root && canWrite(v2.mount)) report.writableControllers.push(...v2.rootControllers);
    else if (v2.ownDir !== undefined && v2.ownPath !== '/' && v2.ownUid === host.euid && v2.ownWritable) {
      report.writableControllers.push(...v2.ownControllers);
    }
  }
  for (const [controller, hierarchy] of Object.entries(host.v1)) {
    report.v1Controllers[controller] = hierarchy.mount;
    if (report.writableControllers.includes(controller)) continue;
    const delegated = hierarchy.ownDir !== undefined && hierarchy.ownPath !== '/' && hierarchy.ownUid === host.euid && hierarchy.ownWritable;
    if ((root && hierarchy.rootWritable) || delegated) report.writableControllers.push(controller);
  }
  return report;
}
