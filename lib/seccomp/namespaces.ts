// Whether a box's seccomp filter lets anything in the box make what a
// kernel counter counts (lib/kernel-counters.ts): a namespace, a fanotify
// group. The counters bound what a box can make, so they matter only where
// the filter lets it make any.
import type { NormalizedSeccompPolicy } from './policy';
import { DEFAULT_PROFILE } from './profile';

/**
 * The calls that make a namespace charged to the caller's user namespace
 * counters: clone and unshare with CLONE_NEW* flags, clone3 (its flags are
 * out of seccomp's sight), and the mount API calls that make an anonymous
 * mount namespace (open_tree with OPEN_TREE_CLONE, fsmount). setns joins,
 * it never makes one.
 */
const NAMESPACE_MAKERS = ['clone', 'clone3', 'unshare', 'open_tree', 'open_tree_attr', 'fsmount'] as const;

/**
 * True when the box's filter refuses every call that makes a namespace, so
 * nothing in the box (the payload, its children, the init, box.exec()'s
 * processes: all run under this filter, which no process can shed) can make
 * one. Conservative: a policy that lifts the profile's refusal of any maker
 * counts as allowing them all.
 * - No filter (`seccomp: false`, allowNewPrivileges) or `profile: 'none'`: false.
 * - Denylist mode: the profile refuses each maker unless `allow` names it
 *   (an allow entry lifts the profile's refusal, argument tests included).
 * - Allowlist mode: a maker the profile refuses by its arguments (clone and
 *   unshare with namespace flags) stays refused when allowed, and gets
 *   defaultAction when not ('log' runs it); one the profile refuses outright
 *   is permitted by an allow entry.
 * `deny` only adds refusals (validateSeccomp refuses a 'log' entry that would
 * lift the profile), so it never makes this false.
 */
export function refusesNewNamespaces(policy: NormalizedSeccompPolicy | undefined): boolean {
  return refusesAll(policy, NAMESPACE_MAKERS);
}

/** True when the box's filter refuses fanotify_init, so nothing in the box makes a fanotify group (or a mark: a mark needs a group). */
export function refusesFanotify(policy: NormalizedSeccompPolicy | undefined): boolean {
  return refusesAll(policy, ['fanotify_init']);
}

function refusesAll(policy: NormalizedSeccompPolicy | undefined, makers: readonly string[]): boolean {
  if (policy === undefined || policy.profile !== 'default') return false;
  // Allowlist mode: a call the profile refuses only by its arguments gets
  // defaultAction when `allow` leaves it out, and 'log' runs it.
  const unlistedRuns = policy.mode === 'allowlist' && policy.defaultAction === 'log';
  for (const syscall of makers) {
    const entry = DEFAULT_PROFILE.find((candidate) => candidate.syscalls.includes(syscall));
    if (entry === undefined) return false;
    if (!policy.allow.some((rule) => rule.syscall === syscall)) {
      if (unlistedRuns && entry.when !== undefined) return false;
      continue;
    }
    if (policy.mode === 'allowlist' && entry.when !== undefined) continue;
    return false;
  }
  return true;
}
