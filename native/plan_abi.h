// The wire format of a spawn plan: the one contract between lib/ and native/.
// lib/internal/plan-abi.ts mirrors every number here; test/unit/plan-abi.test.ts
// compares that copy with what the compiled addon exports, so a stale build
// fails loudly instead of misreading a plan.
//
// A plan is: PlanHeader, then step_count StepRecords, then a string area of
// NUL-terminated strings addressed by byte offsets. Lists of strings (argv,
// envp, exec candidates) are `count` consecutive strings from one offset.
// All integers are little-endian, as on every host cordon supports.
#pragma once

#include <stdint.h>

namespace cordon::abi {

constexpr uint32_t kPlanMagic = 0x4e445243;  // "CRDN"
constexpr uint32_t kPlanAbiVersion = 4;
constexpr uint32_t kMaxSteps = 4096;
constexpr uint32_t kMaxFdSlots = 1024;
constexpr uint32_t kMaxInstalledFds = 256;
// JoinCgroupLate steps in one plan: one per hierarchy (v2 and each v1 controller).
constexpr uint32_t kMaxLateJoins = 16;
constexpr uint32_t kNoString = 0xffffffffu;

// Who runs a step: the parent, in the window between clone and "go", or the
// child, walking the plan in order.
enum class Side : uint32_t { kParent = 1, kChild = 2 };

// The op table: the one home of every op. Each row gives the op's number
// (part of the ABI: append, never renumber), its name (the C++ enumerator is
// k<Name>, the TypeScript name <jsName>), the side that runs it, whether it
// takes an fd slot, and what each of the record's num[0..3] and str[0..3]
// means. Everything else is generated from it: the Op enum below, the
// decoder's per-field checks (plan_decode.cc), the named per-op views the
// executor and spawn_box read (plan_args.h), the child's dispatch (a kChild
// row is run by its handler child::run_<Name>, which the row declares in
// child/ops.h and the op's mechanism file defines), and the layout the addon
// exports for lib/internal/plan-ops.ts (test/unit/plan-abi.test.js checks
// that file is current, so no position is written by hand in TypeScript).
//
// Field kinds:
//   CORDON_NUM(name, min, max, what)  a number, refused ("bad <what>") outside [min, max]
//   CORDON_ANY(name)                  a number, any value (flags, masks, limits)
//   CORDON_COUNT(name)                the length of a list in a str slot (the list's decode checks it)
//   CORDON_NO_NUM                     unused: must be 0
//   CORDON_STR(name)                  a string, required
//   CORDON_STR_OPT(name)              a string, may be absent (kNoString)
//   CORDON_LIST(name, count, what)    `count` strings (count: the num slot holding the length), required
//   CORDON_LIST_OPT(name, count, what)  the same, absent when the count is 0
//   CORDON_NO_STR                     unused: must be kNoString
// Checks that tie fields or steps together (order, "str[3] when num[3] is
// 1") stay in plan_decode.cc's switch; the prose beside each row says what
// the op does.
//
// X(number, Name, jsName, side, fd, num0, num1, num2, num3, str0, str1, str2, str3)
#define CORDON_OP_TABLE(X)                                                                                          \
  /* clone3 with cloneFlags; intoCgroup: CLONE_INTO_CGROUP with the fd; namespaceOwner: a host uid to own the new   \
     user namespace (0: the caller; a root caller only). A plan that puts the child in a cgroup gets a child with   \
     its own memory (no CLONE_VM): the decoder decides it. */                                                       \
  X(1, Clone, clone, kParent, kOptional, CORDON_ANY(cloneFlags),                                                    \
    CORDON_NUM(intoCgroup, 0, 1, "CLONE_INTO_CGROUP flag"), CORDON_NUM(namespaceOwner, 0, 0xfffffffe, "namespace owner"), \
    CORDON_NO_NUM, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)                                        \
  /* write text ("deny"/"allow") to /proc/PID/setgroups */                                                         \
  X(2, WriteSetgroups, writeSetgroups, kParent, kNone, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM, \
    CORDON_STR(text), CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)                                                  \
  /* write map lines to /proc/PID/uid_map */                                                                        \
  X(3, WriteUidMap, writeUidMap, kParent, kNone, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM,       \
    CORDON_STR(map), CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)                                                   \
  X(4, WriteGidMap, writeGidMap, kParent, kNone, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM,       \
    CORDON_STR(map), CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)                                                   \
  /* block until the parent has finished its steps */                                                               \
  X(5, WaitForParent, waitForParent, kChild, kNone, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM,    \
    CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)                                                     \
  /* prctl(PR_SET_PDEATHSIG, signal). untilRecorded: the box outlives its supervisor, but only once the supervisor \
     has recorded it: the init keeps the signal until the parent's release byte arrives on the exit channel (a      \
     socket then), so a supervisor killed before its record takes the box along (needs an ExecInit step) */         \
  X(6, SetParentDeathSignal, setParentDeathSignal, kChild, kNone, CORDON_NUM(signal, 1, 64, "signal"),              \
    CORDON_NUM(untilRecorded, 0, 1, "release flag"), CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_STR, CORDON_NO_STR,   \
    CORDON_NO_STR, CORDON_NO_STR)                                                                                   \
  /* setns(fd, namespaceType) */                                                                                    \
  X(7, JoinNamespace, joinNamespace, kChild, kRequired, CORDON_ANY(namespaceType), CORDON_NO_NUM, CORDON_NO_NUM,   \
    CORDON_NO_NUM, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)                                      \
  /* mount(NULL, "/", NULL, MS_REC|propagation) to stop mount propagation */                                       \
  X(8, SetMountPropagation, setMountPropagation, kChild, kNone, CORDON_ANY(propagation), CORDON_NO_NUM,            \
    CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)                       \
  /* retired (proc is a MountFs step now): the decoder refuses it; the number stays taken */                        \
  X(9, MountProcRetired, mountProcRetired, kChild, kNone, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM,             \
    CORDON_NO_NUM, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)                                      \
  /* bring the loopback interface up */                                                                             \
  X(10, LoopbackUp, loopbackUp, kChild, kNone, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM,         \
    CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)                                                     \
  /* sethostname(hostname) */                                                                                       \
  X(11, SetHostname, setHostname, kChild, kNone, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM,       \
    CORDON_STR(hostname), CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)                                              \
  /* prctl(PR_SET_NO_NEW_PRIVS, 1) */                                                                               \
  X(12, SetNoNewPrivs, setNoNewPrivs, kChild, kNone, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM,   \
    CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)                                                     \
  /* setsid() */                                                                                                    \
  X(13, SetSid, setSid, kChild, kNone, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_STR,  \
    CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)                                                                    \
  /* chdir(path) */                                                                                                 \
  X(14, Chdir, chdir, kChild, kNone, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_STR(path),  \
    CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)                                                                    \
  /* make fd `target` refer to the fd slot (all InstallFd steps are adjacent and applied together, so a source may \
     be any number, even a target's); clearNonblock: also clear O_NONBLOCK on it */                                 \
  X(15, InstallFd, installFd, kChild, kRequired, CORDON_NUM(target, 0, kMaxInstalledFds - 1, "target fd"), CORDON_NUM(clearNonblock, 0, 1, "blocking flag"), \
    CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)                       \
  /* mark every fd above the control fds close-on-exec. After the InstallFd group the status pipe is at (highest  \
     target + 1) and the init's exit pipe at (highest target + 2). */                                              \
  X(16, CloseOtherFds, closeOtherFds, kChild, kNone, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM,   \
    CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)                                                     \
  /* execve the first of the candidates that exists, with argv and envp. The last step. */                         \
  X(17, Exec, exec, kChild, kNone, CORDON_COUNT(argc), CORDON_COUNT(envc), CORDON_COUNT(candidateCount),           \
    CORDON_NO_NUM, CORDON_LIST(argv, 0, "exec list"), CORDON_LIST(envp, 1, "exec list"),                           \
    CORDON_LIST(candidates, 2, "exec list"), CORDON_NO_STR)                                                         \
  /* exec the init binary (the fd) as PID 1 of the box; it execs the payload exactly as Exec would, reports the    \
     payload's exit on the exit pipe, and seals itself after the clone (InitPart below). The decoder builds the     \
     init's argv: see native/init/cordon_init.cc for its shape. */                                                  \
  X(18, ExecInit, execInit, kChild, kRequired, CORDON_COUNT(argc), CORDON_COUNT(envc), CORDON_COUNT(candidateCount), \
    CORDON_NO_NUM, CORDON_LIST(argv, 0, "exec list"), CORDON_LIST(envp, 1, "exec list"),                           \
    CORDON_LIST(candidates, 2, "exec list"), CORDON_NO_STR)                                                         \
  /* empty the bounding (but for the `keep` mask), ambient and inheritable sets; exec then leaves the payload no   \
     effective or permitted capability it was not given */                                                         \
  X(19, DropCapabilities, dropCapabilities, kChild, kNone, CORDON_ANY(keep), CORDON_NO_NUM, CORDON_NO_NUM,         \
    CORDON_NO_NUM, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)                                      \
  /* become uid/gid of the box's user namespace (setresgid, then setresuid); clearGroups: also setgroups(0) */      \
  X(20, SetIds, setIds, kChild, kNone, CORDON_NUM(uid, 0, 0xfffffffe, "uid"), CORDON_NUM(gid, 0, 0xfffffffe, "gid"), \
    CORDON_NUM(clearGroups, 0, 1, "clear groups flag"), CORDON_NO_NUM, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR, \
    CORDON_NO_STR)                                                                                                  \
  /* unshare(cloneFlags): when the box joins a user namespace, its new namespaces are made after the join so that  \
     it owns them */                                                                                                \
  X(21, Unshare, unshare, kChild, kNone, CORDON_ANY(cloneFlags), CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM,      \
    CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)                                                     \
  /* Filesystem steps. A target "in root" (targetMode != plain) is resolved beneath the root opened by OpenRoot    \
     with openat2(RESOLVE_IN_ROOT), so a symlink planted in a writable layer can never point a mount outside the    \
     box; TargetMode::kCreate creates a missing target (directory, or an empty file when the source is a file),     \
     kMustExist requires it to exist, kPlain is a plain path of cordon's own staging area. */                      \
  /* fsopen(fstype); fsconfig each key/value pair of config (an empty value sets a flag); fsmount with             \
     MOUNT_ATTR_* attrs; attach at target. upperByFd (an overlay with a persistent upper): the values of upperdir   \
     and workdir are plain paths opened with RESOLVE_NO_SYMLINKS, refused unless the child's own uid/gid owns them, \
     and given by fd (FSCONFIG_SET_FD, or the string fdPrefix + fd number on kernels whose overlayfs takes strings  \
     only). */                                                                                                      \
  X(22, MountFs, mountFs, kChild, kNone, CORDON_ANY(attrs), CORDON_COUNT(configCount),                             \
    CORDON_NUM(targetMode, 0, 2, "target mode"), CORDON_NUM(upperByFd, 0, 1, "symlink mode"), CORDON_STR(fstype),  \
    CORDON_LIST_OPT(config, 1, "fs config list"), CORDON_STR(target), CORDON_STR_OPT(fdPrefix))                     \
  /* open_tree(source, OPEN_TREE_CLONE, recursive?), set MOUNT_ATTR_* attrs on the whole copy, attach at target.    \
     sourceLinks (SourceLinks) says how source is resolved first: a plain path (cordon's own), a host path with     \
     RESOLVE_NO_SYMLINKS (ELOOP for any link), or a host path beneath the plain directory hostRoot with             \
     RESOLVE_IN_ROOT, following its links as the host would. With the fd, attach that tree instead (made by the     \
     parent: an idmapped mount). */                                                                                 \
  X(23, BindMount, bindMount, kChild, kOptional, CORDON_ANY(attrs), CORDON_NUM(recursive, 0, 1, "recursive flag"),  \
    CORDON_NUM(targetMode, 0, 2, "target mode"), CORDON_NUM(sourceLinks, 0, 2, "symlink mode"), CORDON_STR(source), \
    CORDON_STR_OPT(hostRoot), CORDON_STR(target), CORDON_NO_STR)                                                    \
  /* mkdir(path, mode); an existing directory is fine */                                                            \
  X(24, MakeDir, makeDir, kChild, kNone, CORDON_NUM(mode, 0, 07777, "mode"), CORDON_NO_NUM, CORDON_NO_NUM,         \
    CORDON_NO_NUM, CORDON_STR(path), CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)                                   \
  /* pivot_root(newRoot, putOld), then chdir("/") */                                                                \
  X(25, PivotRoot, pivotRoot, kChild, kNone, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM,           \
    CORDON_STR(newRoot), CORDON_STR(putOld), CORDON_NO_STR, CORDON_NO_STR)                                          \
  /* chdir(root), pivot_root(".", "."), detach the old root, chdir("/") */                                          \
  X(26, EnterRoot, enterRoot, kChild, kNone, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM,           \
    CORDON_STR(root), CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)                                                  \
  /* a symlink with content linkTo at target (in root) */                                                           \
  X(27, Symlink, symlink, kChild, kNone, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM,               \
    CORDON_STR(linkTo), CORDON_NO_STR, CORDON_STR(target), CORDON_NO_STR)                                           \
  /* create the plain path `path` with mode and content */                                                          \
  X(28, WriteFile, writeFile, kChild, kNone, CORDON_NUM(mode, 0, 07777, "mode"), CORDON_NO_NUM, CORDON_NO_NUM,     \
    CORDON_NO_NUM, CORDON_STR(content), CORDON_NO_STR, CORDON_STR(path), CORDON_NO_STR)                             \
  /* bind target onto itself and mount_setattr the copy (set, clear; AttrScope: recursive or not), so only that     \
     subtree changes; or, AttrScope::kTopMount, mount_setattr the mount at target itself, in place (one cordon made \
     there), leaving the mounts on top of it unchanged */                                                           \
  X(29, SetMountAttr, setMountAttr, kChild, kNone, CORDON_ANY(set), CORDON_ANY(clear),                             \
    CORDON_NUM(targetMode, 0, 2, "target mode"), CORDON_NUM(scope, 0, 2, "attribute scope"), CORDON_NO_STR,        \
    CORDON_NO_STR, CORDON_STR(target), CORDON_NO_STR)                                                               \
  /* open the plain path `path` as the root that later targets resolve in */                                        \
  X(30, OpenRoot, openRoot, kChild, kNone, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM,             \
    CORDON_STR(path), CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)                                                  \
  /* hide target (in root, must exist): a directory under an empty read-only tmpfs, anything else under a bind of  \
     the plain path `cover` (an empty file or a null device). optional: skip a target the box cannot reach         \
     (ENOENT, EACCES, ENOTDIR, ELOOP) instead of failing. */                                                        \
  X(31, Mask, mask, kChild, kNone, CORDON_NO_NUM, CORDON_NUM(optional, 0, 1, "optional flag"),                     \
    CORDON_NUM(targetMode, 0, 2, "target mode"), CORDON_NO_NUM, CORDON_STR(cover), CORDON_NO_STR, CORDON_STR(target), \
    CORDON_NO_STR)                                                                                                  \
  /* write the child's pid to the cgroup.procs file open as the fd. unlessPlaced: skip it when the clone placed the \
     child already (CLONE_INTO_CGROUP): the v2 fallback for older kernels. */                                       \
  X(32, WriteCgroupProcs, writeCgroupProcs, kParent, kRequired, CORDON_NUM(unlessPlaced, 0, 1, "skip flag"),       \
    CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)        \
  /* prlimit(resource, soft, hard); -1 is unlimited. Right before the exec; with an init, the init sets it in the  \
     payload's process instead (the child skips it), so only the payload runs under it. One per resource. */       \
  X(33, SetRlimit, setRlimit, kChild, kNone, CORDON_NUM(resource, 0, 15, "rlimit resource"), CORDON_ANY(soft),     \
    CORDON_ANY(hard), CORDON_NO_NUM, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)                    \
  /* umask(mask) */                                                                                                 \
  X(34, Umask, umask, kChild, kNone, CORDON_NUM(mask, 0, 0777, "umask"), CORDON_NO_NUM, CORDON_NO_NUM,             \
    CORDON_NO_NUM, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)                                      \
  /* setpriority(PRIO_PROCESS, 0, nice) */                                                                          \
  X(35, SetPriority, setPriority, kChild, kNone, CORDON_NUM(nice, -20, 19, "nice value"), CORDON_NO_NUM,           \
    CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)                       \
  /* write text into the existing file at the plain path `path` (e.g. /proc/self/oom_score_adj) */                 \
  X(36, WriteExisting, writeExisting, kChild, kNone, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM,   \
    CORDON_STR(text), CORDON_NO_STR, CORDON_STR(path), CORDON_NO_STR)                                               \
  /* setgroups() with the gids (decimal strings) */                                                                 \
  X(37, SetGroups, setGroups, kChild, kNone, CORDON_COUNT(groupCount), CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM, \
    CORDON_LIST(gids, 0, "list"), CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)                                      \
  /* make the capabilities of `mask` effective, permitted, inheritable and ambient, so they survive exec as any uid */ \
  X(38, RaiseAmbient, raiseAmbient, kChild, kNone, CORDON_ANY(mask), CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM,  \
    CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)                                                     \
  /* build a Landlock ruleset handling fs, net and scoped accesses with the rules (in triples: "path" ACCESS PATH | \
     "port" ACCESS PORT), plus execute and read of the fd when given (the init binary), and restrict itself */      \
  X(39, Landlock, landlock, kChild, kOptional, CORDON_ANY(fs), CORDON_ANY(net), CORDON_ANY(scoped),                \
    CORDON_COUNT(ruleCount), CORDON_LIST(rules, 3, "list"), CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)            \
  /* install the classic-BPF program (hex, `instructions` of them) with seccomp(SECCOMP_SET_MODE_FILTER). Right    \
     before the exec. */                                                                                            \
  X(40, Seccomp, seccomp, kChild, kNone, CORDON_ANY(instructions), CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM,    \
    CORDON_STR(program), CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)                                               \
  /* run the setuid helper (newuidmap or newgidmap; `which`: 0 uid, 1 gid) with the child's pid and the map         \
     (triples "inside outside count"), and wait for it. Exit status != 0 fails the step with EPERM, its status in   \
     the detail. */                                                                                                 \
  X(41, RunIdMapHelper, runIdMapHelper, kParent, kNone, CORDON_NUM(which, 0, 1, "id map kind"),                    \
    CORDON_COUNT(mapCount), CORDON_NO_NUM, CORDON_NO_NUM, CORDON_STR(helper), CORDON_LIST(map, 1, "id map list"),  \
    CORDON_NO_STR, CORDON_NO_STR)                                                                                   \
  /* after an unshare with CLONE_NEWPID (a joined user namespace), clone (CLONE_VM | CLONE_PARENT) the process that \
     walks the rest of the plan as PID 1 of the new pid namespace: the parent's own child, so it is the box's       \
     process (pidfd, exit, parent-death signal) as if cloned directly. This process tells the parent its pid and    \
     exits. */                                                                                                      \
  X(42, EnterPidNamespace, enterPidNamespace, kChild, kNone, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM,          \
    CORDON_NO_NUM, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)                                      \
  /* a veth pair, its host end hostName on `bridge` (with the gateway-only ingress filter when gatewayOnly), its    \
     other end boxName in the child's network namespace with IPv4 address/prefix and a default route via gateway   \
     (addresses in host byte order). Fails with the part (host::VethPart) in the detail. */                        \
  X(43, AttachVeth, attachVeth, kParent, kNone, CORDON_NUM(address, 0, 0xffffffffLL, "IPv4 address"),              \
    CORDON_NUM(prefix, 1, 30, "prefix length"), CORDON_NUM(gateway, 0, 0xffffffffLL, "IPv4 address"),              \
    CORDON_NUM(gatewayOnly, 0, 1, "filter flag"), CORDON_STR(bridge), CORDON_STR(hostName), CORDON_STR(boxName),   \
    CORDON_NO_STR)                                                                                                  \
  /* make the terminal at box fd `terminal` (a pty slave installed by InstallFd) the controlling terminal of the    \
     session a SetSid step made (ioctl TIOCSCTTY). With an init, the init does it instead in the payload's process  \
     after a setsid of its own, so the payload (not the init) leads the terminal's session and gets its job         \
     control signals. */                                                                                            \
  X(44, SetControllingTerminal, setControllingTerminal, kChild, kNone,                                             \
    CORDON_NUM(terminal, 0, kMaxInstalledFds - 1, "controlling terminal: must be an installed fd"), CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM,     \
    CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)                                                     \
  /* Init: the start gate (OCI create/start). Once the init is sealed, the payload's process closes the status      \
     pipe, so the parent learns the box is set up and waiting, then reads one byte from box fd `gate` (an installed  \
     fd, e.g. a FIFO that `start` writes to), closes it and goes on to its exec. EOF without a byte: exit 127,       \
     nothing runs. A failure after the gate (exec, seccomp) is no status record any more: the payload's status is   \
     127. Needs an init (the child shares the parent's memory until its exec and cannot wait). */                   \
  X(45, AwaitStart, awaitStart, kChild, kNone, CORDON_NUM(gate, 0, kMaxInstalledFds - 1, "start gate: must be an installed fd"), \
    CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)        \
  /* raise the hard limit of resource to hard (-1: unlimited) if it is lower, keeping the soft one: before the      \
     capabilities drop (a raise needs CAP_SYS_RESOURCE); the SetRlimit steps set the payload's values later. */     \
  X(46, RaiseRlimit, raiseRlimit, kChild, kNone, CORDON_NUM(resource, 0, 15, "rlimit resource"), CORDON_ANY(hard), \
    CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)                        \
  /* bind each of the device nodes `devices` (names) of the plain directory `source` (open_tree, following links as \
     a plain path does) with MOUNT_ATTR_* attrs onto a new empty file of that name in the directory `target` (in   \
     root, must exist: a fresh tmpfs). Both directories are opened once. Fails with the MountPart plus 256 times    \
     (device index + 1) in the detail. */                                                                           \
  X(47, BindDevices, bindDevices, kChild, kNone, CORDON_ANY(attrs), CORDON_COUNT(deviceCount), CORDON_NO_NUM,      \
    CORDON_NO_NUM, CORDON_STR(source), CORDON_LIST(devices, 1, "device list"), CORDON_STR(target), CORDON_NO_STR) \
  /* write "0" to the v1 `tasks` file open as the fd: the child moves itself into that cgroup. Only a child with  \
     its own memory has the op (the decoder makes it so). A thread that moves itself skips the global threadgroup \
     lock, whose RCU grace period a parent's write of a pid waits for (1-11 ms on v1, growing with Node's memory). */ \
  X(48, JoinCgroup, joinCgroup, kChild, kRequired, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM,     \
    CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)                                                     \
  /* the cgroup.procs (v2) or tasks (v1) file open as the fd, which the box joins only once none of its processes \
     shares Node's memory: the init writes "0" to it before it clones the payload (the decoder passes it on as    \
     `--join`), and MakeCgroupNamespace's helper before it makes the box's cgroup namespace. The child itself      \
     does nothing at this step: it shares Node's memory (CLONE_VM) and stays in Node's cgroup. The kernel checks   \
     the credentials and cgroup namespace the parent opened the file with (Linux >= 5.16). */                     \
  X(49, JoinCgroupLate, joinCgroupLate, kChild, kRequired, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM,            \
    CORDON_NO_NUM, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)                                      \
  /* the box's cgroup namespace, rooted at the cgroup it joins late (JoinCgroupLate, the steps before): a helper  \
     cloned with CLONE_VM|CLONE_VFORK execs the init binary open as the fd (its own memory from then on), joins   \
     each of those cgroups, unshares CLONE_NEWCGROUP and sends the namespace back as an fd (SCM_RIGHTS); the      \
     child enters it, lets the helper go and reaps it. Comes after the box's root ids: the helper needs           \
     CAP_SYS_ADMIN in the box's user namespace across its exec. */                                                 \
  X(50, MakeCgroupNamespace, makeCgroupNamespace, kChild, kRequired, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM,  \
    CORDON_NO_NUM, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)                                      \
  /* the same namespace from a helper the parent started ahead of the spawn (`cordon-init --cgroupns-wait`, lib/   \
     cgroups/namespace-helpers.ts), waiting on the socket open as the fd: the child sends it the join files and,   \
     with `user`, its own user namespace (CgroupNamespaceRequest); the helper joins, enters that user namespace,   \
     unshares CLONE_NEWCGROUP, answers as MakeCgroupNamespace's does and exits. No clone or exec in the spawn. */  \
  X(51, TakeCgroupNamespace, takeCgroupNamespace, kChild, kRequired, CORDON_NUM(user, 0, 1, "user namespace flag"), \
    CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_NUM, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR, CORDON_NO_STR)


// What an op does with its fd slot.
enum class FdUse : uint8_t { kNone = 0, kRequired = 1, kOptional = 2 };
// What a str slot holds.
enum class StrUse : uint8_t { kNone = 0, kRequired = 1, kOptional = 2, kList = 3, kOptionalList = 4 };

struct NumField {
  const char* name;  // nullptr: unused, must be 0
  bool checked;      // refused outside [min, max]
  bool count;        // the length of a list (set from the list by lib/internal/steps.ts)
  int64_t min;
  int64_t max;
  const char* what;  // the error says "bad <what>"
};

struct StrField {
  const char* name;  // nullptr: unused, must be kNoString
  StrUse use;
  int8_t count_slot;  // a list: the num slot that holds its length
  const char* what;   // a list: "bad <what>", "<what> missing"
};

struct OpLayout {
  uint32_t number;
  const char* name;  // the TypeScript name
  Side side;
  FdUse fd;
  NumField num[4];
  StrField str[4];
};

#define CORDON_NUM(name, lo, hi, what) NumField{#name, true, false, lo, hi, what}
#define CORDON_ANY(name) NumField{#name, false, false, 0, 0, nullptr}
#define CORDON_COUNT(name) NumField{#name, false, true, 0, 0, nullptr}
#define CORDON_NO_NUM NumField{nullptr, false, false, 0, 0, nullptr}
#define CORDON_STR(name) StrField{#name, StrUse::kRequired, -1, nullptr}
#define CORDON_STR_OPT(name) StrField{#name, StrUse::kOptional, -1, nullptr}
#define CORDON_LIST(name, count, what) StrField{#name, StrUse::kList, count, what}
#define CORDON_LIST_OPT(name, count, what) StrField{#name, StrUse::kOptionalList, count, what}
#define CORDON_NO_STR StrField{nullptr, StrUse::kNone, -1, nullptr}

enum class Op : uint32_t {
#define CORDON_OP_ENUMERATOR(number, Name, ...) k##Name = number,
  CORDON_OP_TABLE(CORDON_OP_ENUMERATOR)
#undef CORDON_OP_ENUMERATOR
};

inline constexpr OpLayout kOpLayouts[] = {
#define CORDON_OP_LAYOUT(number, Name, js, side, fd, n0, n1, n2, n3, s0, s1, s2, s3) \
  OpLayout{number, #js, Side::side, FdUse::fd, {n0, n1, n2, n3}, {s0, s1, s2, s3}},
    CORDON_OP_TABLE(CORDON_OP_LAYOUT)
#undef CORDON_OP_LAYOUT
};
inline constexpr uint32_t kOpCount = sizeof kOpLayouts / sizeof kOpLayouts[0];

// Ops are numbered 1..kOpCount in table order (checked below), so a number
// indexes the table.
constexpr const OpLayout* layout_of(uint32_t op) { return op >= 1 && op <= kOpCount ? &kOpLayouts[op - 1] : nullptr; }
constexpr const OpLayout& layout_of(Op op) { return kOpLayouts[uint32_t(op) - 1]; }

constexpr bool numbered_in_order() {
  for (uint32_t i = 0; i < kOpCount; i++) {
    if (kOpLayouts[i].number != i + 1) return false;
  }
  return true;
}
static_assert(numbered_in_order(), "the op table lists ops 1, 2, 3, ... in order");

constexpr bool same_name(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) a++, b++;
  return *a == *b;
}
// Never defined: a view naming a field its op lacks calls it at compile
// time, which is not a constant expression, so the build fails there.
int no_such_field();
constexpr int num_slot(Op op, const char* name) {
  for (int k = 0; k < 4; k++) {
    const char* field = layout_of(op).num[k].name;
    if (field != nullptr && same_name(field, name)) return k;
  }
  return no_such_field();
}
constexpr int str_slot(Op op, const char* name) {
  for (int k = 0; k < 4; k++) {
    const char* field = layout_of(op).str[k].name;
    if (field != nullptr && same_name(field, name)) return k;
  }
  return no_such_field();
}
constexpr bool same_layout(Op a, Op b) {
  for (int k = 0; k < 4; k++) {
    const NumField &x = layout_of(a).num[k], &y = layout_of(b).num[k];
    const StrField &s = layout_of(a).str[k], &t = layout_of(b).str[k];
    if ((x.name == nullptr) != (y.name == nullptr) || (x.name != nullptr && !same_name(x.name, y.name))) return false;
    if ((s.name == nullptr) != (t.name == nullptr) || (s.name != nullptr && !same_name(s.name, t.name))) return false;
    if (s.use != t.use || s.count_slot != t.count_slot) return false;
  }
  return true;
}
// The executor reads both through one view (child::ExecArgs).
static_assert(same_layout(Op::kExec, Op::kExecInit), "Exec and ExecInit share a layout");

template <int kSlot>
struct FieldSlot {
  static constexpr int value = kSlot;
};

// A step's field by name: CORDON_ARG_NUM(step, BindMount, attrs) is
// step.num[k] for the k the table gives BindMount's `attrs`, found at
// compile time. A list field is read with CORDON_ARG_LIST.
#define CORDON_ARG_NUM(step, Name, field) \
  ((step).num[::cordon::abi::FieldSlot<::cordon::abi::num_slot(::cordon::abi::Op::k##Name, #field)>::value])
#define CORDON_ARG_STR(step, Name, field) \
  ((step).str[::cordon::abi::FieldSlot<::cordon::abi::str_slot(::cordon::abi::Op::k##Name, #field)>::value])
#define CORDON_ARG_LIST(step, Name, field) \
  ((step).list[::cordon::abi::FieldSlot<::cordon::abi::str_slot(::cordon::abi::Op::k##Name, #field)>::value])

// The value enums of op fields and status details, as X-macros so the addon
// exports them and test/unit/plan-abi.test.js compares every value with
// lib/internal/plan-ops.ts. X(Name, jsName, value) unless said otherwise.

// targetMode of filesystem steps: a plain path of cordon's own staging area;
// a target in the root, created when missing (a directory, or an empty file
// when the source is a file); a target in the root that must exist.
#define CORDON_TARGET_MODE(X) X(Plain, plain, 0) X(Create, create, 1) X(MustExist, mustExist, 2)
// sourceLinks of BindMount: how its source is resolved. A plain path of
// cordon's own; a host path refusing any symlink (ELOOP); a host path
// following its symlinks beneath hostRoot, as the host would.
#define CORDON_SOURCE_LINKS(X) X(Plain, plain, 0) X(Refuse, refuse, 1) X(FollowInHostRoot, followInHostRoot, 2)
// scope of SetMountAttr: a copy of the mount at the target, of it and every
// mount beneath, or the mount at the target in place (one cordon made there).
#define CORDON_ATTR_SCOPE(X) X(Mount, mount, 0) X(Subtree, subtree, 1) X(TopMount, topMount, 2)

// StatusRecord::detail of a failed filesystem step: which part failed.
// X(Name, value, what the error says)
#define CORDON_MOUNT_PART(X)                                                                                   \
  X(None, 0, "none") X(ResolveTarget, 1, "resolve target") X(CreateTarget, 2, "create target")                 \
  X(OpenSource, 3, "open source") X(FsOpen, 4, "fsopen") X(FsConfig, 5, "fsconfig")                            \
  X(FsCreate, 6, "create filesystem") X(FsMount, 7, "fsmount") X(Attach, 8, "attach")                          \
  X(SetAttr, 9, "set attributes") X(MakeDir, 10, "mkdir") X(PivotRoot, 11, "pivot_root")                       \
  X(DetachOldRoot, 12, "detach old root") X(Write, 13, "write") X(Symlink, 14, "symlink")                      \
  X(OpenRoot, 15, "open root") X(Chdir, 16, "chdir") X(ResolveSource, 17, "resolve source")                    \
  X(CheckOwner, 18, "check owner")

// StatusRecord::detail of a failed ExecInit step when the init itself
// failed, not the payload's exec (which reports the candidate, >= 0): which
// part. The init seals itself after it cloned the payload, before the status
// pipe closes, so a box whose init could not be sealed never starts.
// X(Name, value, step name, system call)
#define CORDON_INIT_PART(X)                                                                                    \
  /* the child's execveat of the init binary */                                                               \
  X(Exec, -1, "exec init", "execveat")                                                                         \
  /* the init's clone of the payload's process */                                                             \
  X(Clone, -2, "init: clone the payload", "clone")                                                             \
  /* prctl(PR_SET_DUMPABLE, 0): untraceable, /proc/1 closed */                                                \
  X(Dumpable, -3, "seal init: non-dumpable", "prctl")                                                          \
  /* prctl(PR_SET_NO_NEW_PRIVS, 1) on itself */                                                               \
  X(NoNewPrivs, -4, "seal init: no_new_privs", "prctl")                                                        \
  /* capset: the init drops every capability it had */                                                       \
  X(Capabilities, -5, "seal init: drop capabilities", "capset")                                                \
  /* seccomp: the init's own strict filter */                                                                 \
  X(Seccomp, -6, "seal init: seccomp", "seccomp")                                                              \
  /* pipe2: the gate the payload waits at until the init is sealed */                                         \
  X(Gate, -7, "init: clone the payload", "pipe2")                                                              \
  /* fcntl: O_ASYNC on the exit channel, where the parent's release byte arrives (untilRecorded) */            \
  X(Release, -8, "init: watch for the supervisor's record", "fcntl")

#define CORDON_VALUE_ENUMERATOR(Name, js, value) k##Name = value,
#define CORDON_PART_ENUMERATOR(Name, value, ...) k##Name = value,
enum class TargetMode : int { CORDON_TARGET_MODE(CORDON_VALUE_ENUMERATOR) };
enum class SourceLinks : int { CORDON_SOURCE_LINKS(CORDON_VALUE_ENUMERATOR) };
enum class AttrScope : int { CORDON_ATTR_SCOPE(CORDON_VALUE_ENUMERATOR) };
enum class MountPart : int32_t { CORDON_MOUNT_PART(CORDON_PART_ENUMERATOR) };
enum class InitPart : int32_t { CORDON_INIT_PART(CORDON_PART_ENUMERATOR) };
#undef CORDON_VALUE_ENUMERATOR
#undef CORDON_PART_ENUMERATOR

// Flags in StepRecord::flags.
constexpr uint32_t kStepFlagNone = 0;

struct PlanHeader {
  uint32_t magic;
  uint32_t abi_version;
  uint32_t step_count;
  uint32_t fd_slot_count;    // fds the spawn call must supply
  uint32_t strings_offset;   // from the start of the plan
  uint32_t strings_size;
  uint32_t reserved[2];
};

struct StepRecord {
  uint32_t op;
  uint32_t side;
  int32_t fd;        // fd slot index, or -1
  uint32_t flags;
  int64_t num[4];
  uint32_t str[4];   // offsets into the string area, or kNoString
};

// One failure, written by the child (or its init) to the status pipe. Its size
// is under PIPE_BUF so the write is atomic.
struct StatusRecord {
  int32_t step_index;
  uint32_t op;
  int32_t error;     // positive errno
  int32_t detail;    // op-specific (e.g. which exec candidate)
};

// A StatusRecord's step_index when it reports no failure: the init's
// payload process reached its exec (written before its filter and execve;
// a failure of either follows as a record). EOF without it means the init
// or the payload's process died before, e.g. killed by the OOM killer of
// the box's memory cgroup, which the init joins late: a spawn failure, not
// a box that started.
constexpr int32_t kReachedExec = -2;

// The cgroup-namespace helper's answer (`cordon-init --cgroupns` and
// `--cgroupns-wait`, read by the child's MakeCgroupNamespace and
// TakeCgroupNamespace): error 0 with the namespace's fd (SCM_RIGHTS),
// or an errno and where it failed: a join's index (>= 0) or one of below.
struct CgroupNamespaceAnswer {
  int32_t error;
  int32_t where;
};
constexpr int32_t kCgroupNamespaceAtUnshare = -1;
constexpr int32_t kCgroupNamespaceAtExec = -2;  // the helper's exec, sent by the child's side of it
constexpr int32_t kCgroupNamespaceAtOpen = -3;  // the open of /proc/self/ns/cgroup
constexpr int32_t kCgroupNamespaceAtUser = -4;  // a waiting helper's setns into the box's user namespace

// What the child sends a waiting helper (TakeCgroupNamespace), with the fds
// (SCM_RIGHTS): the box's user namespace first when `user` is 1, then the
// join files in plan order.
struct CgroupNamespaceRequest {
  int32_t user;
};

// Written once by the init on the exit pipe when the payload ends.
struct ExitRecord {
  int32_t code;      // exit status, or -1
  int32_t signal;    // terminating signal, or 0
};

static_assert(sizeof(PlanHeader) == 32, "PlanHeader layout");
static_assert(sizeof(StepRecord) == 64, "StepRecord layout");
static_assert(sizeof(StatusRecord) == 16, "StatusRecord layout");
static_assert(sizeof(ExitRecord) == 8, "ExitRecord layout");

}  // namespace cordon::abi
