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
constexpr uint32_t kPlanAbiVersion = 3;
constexpr uint32_t kMaxSteps = 4096;
constexpr uint32_t kMaxFdSlots = 1024;
constexpr uint32_t kMaxInstalledFds = 256;
constexpr uint32_t kNoString = 0xffffffffu;

// Who runs a step: the parent, in the window between clone and "go", or the
// child, walking the plan in order.
enum class Side : uint32_t { kParent = 1, kChild = 2 };

// Opcodes. Numbers are part of the ABI: append, never renumber.
enum class Op : uint32_t {
  // num[0] = CLONE_NEW* flags; num[1] = 1 to ask for CLONE_INTO_CGROUP with
  // fd slot `fd`; num[2] = a host uid to own the new user namespace instead
  // of the caller (0: the caller; only a root caller can give another: the
  // cloning thread takes it as its euid for the clone alone). Run by the
  // parent; its failure is the clone's. A plan that puts the child in a
  // cgroup (this, or a kWriteCgroupProcs step) gets a child with its own
  // memory (no CLONE_VM): the decoder decides it.
  kClone = 1,
  // Parent: write str[0] ("deny"/"allow") to /proc/PID/setgroups.
  kWriteSetgroups = 2,
  // Parent: write str[0] (map lines) to /proc/PID/uid_map.
  kWriteUidMap = 3,
  // Parent: write str[0] to /proc/PID/gid_map.
  kWriteGidMap = 4,
  // Child: block until the parent has finished its steps.
  kWaitForParent = 5,
  // Child: prctl(PR_SET_PDEATHSIG, num[0]).
  kSetParentDeathSignal = 6,
  // Child: setns(fd slot `fd`, num[0]); str[0] names the source for errors.
  kJoinNamespace = 7,
  // Child: mount(NULL, "/", NULL, MS_REC|num[0]) to stop mount propagation.
  kSetMountPropagation = 8,
  // Retired (proc is a kMountFs step now); the decoder refuses it. The
  // number stays taken.
  kMountProcRetired = 9,
  // Child: bring the loopback interface up.
  kLoopbackUp = 10,
  // Child: sethostname(str[0]).
  kSetHostname = 11,
  // Child: prctl(PR_SET_NO_NEW_PRIVS, 1).
  kSetNoNewPrivs = 12,
  // Child: setsid().
  kSetSid = 13,
  // Child: chdir(str[0]).
  kChdir = 14,
  // Child: make fd num[0] refer to fd slot `fd` (all kInstallFd steps are
  // applied together so a source may be any number, even a target's);
  // num[1] == 1 also clears O_NONBLOCK on it.
  kInstallFd = 15,
  // Child: mark every fd above the control fds close-on-exec. After the
  // kInstallFd group the status pipe is at (highest target + 1) and the init's
  // exit pipe at (highest target + 2).
  kCloseOtherFds = 16,
  // Child: execve the first of str[2] (num[2] candidates) that exists, with
  // argv str[0] (num[0] strings) and envp str[1] (num[1] strings).
  kExec = 17,
  // Child: exec the init binary (fd slot `fd`) as PID 1 of the box; it execs
  // the payload given by str[0..2]/num[0..2] exactly as kExec would, and
  // reports the payload's exit on the exit pipe; it seals itself after the
  // clone (InitPart below). The decoder builds the init's argv: see
  // native/init/cordon_init.cc for its shape.
  kExecInit = 18,
  // Child: empty the bounding, ambient and inheritable sets; exec then leaves
  // the payload no effective or permitted capability.
  kDropCapabilities = 19,
  // Child: become uid num[0] / gid num[1] of the box's user namespace
  // (setresgid, then setresuid); num[2] = 1 also clears supplementary groups.
  kSetIds = 20,
  // Child: unshare(num[0]). Used when the box joins a user namespace: the
  // new namespaces must be made after the join so that it owns them.
  kUnshare = 21,

  // Filesystem steps. A target "in root" (num[2] != 0) is resolved beneath
  // the root opened by kOpenRoot with openat2(RESOLVE_IN_ROOT), so a symlink
  // planted in a writable layer can never point a mount outside the box;
  // num[2] == 1 creates a missing target (directory, or an empty file when the
  // source is a file), num[2] == 2 requires it to exist. num[2] == 0 means a
  // plain path of cordon's own staging area.
  //
  // Child: fsopen(str[0]); fsconfig each key/value pair of the list at str[1]
  // (num[1] strings; an empty value sets a flag); fsmount with MOUNT_ATTR_*
  // num[0]; attach at str[2]. num[3] == 1 (an overlay with a persistent
  // upper): the values of upperdir and workdir are plain paths opened with
  // RESOLVE_NO_SYMLINKS, refused unless the child's own uid/gid owns them,
  // and given by fd (FSCONFIG_SET_FD, or the string str[3] + fd number on
  // kernels whose overlayfs takes strings only).
  kMountFs = 22,
  // Child: open_tree(str[0], OPEN_TREE_CLONE, recursive if num[1] == 1), set
  // MOUNT_ATTR_* num[0] on the whole copy, attach at str[2]. num[3] says how
  // str[0] is resolved first, the tree then cloned from that fd: 0 a plain
  // path (cordon's own), 1 a host path with openat2(RESOLVE_NO_SYMLINKS)
  // (ELOOP for any link), 2 a host path beneath the plain directory str[1]
  // (the host's root) with RESOLVE_IN_ROOT, following its links as the host
  // would. With fd slot `fd`, attach that tree instead (made by the parent:
  // an idmapped mount).
  kBindMount = 23,
  // Child: mkdir(str[0], num[0]); an existing directory is fine.
  kMakeDir = 24,
  // Child: pivot_root(str[0], str[1]), then chdir("/").
  kPivotRoot = 25,
  // Child: chdir(str[0]), pivot_root(".", "."), detach the old root, chdir("/").
  kEnterRoot = 26,
  // Child: symlink with content str[0] at str[2].
  kSymlink = 27,
  // Child: create the plain path str[2] with mode num[0] and content str[0].
  kWriteFile = 28,
  // Child: bind str[2] onto itself and mount_setattr the copy (set num[0],
  // clear num[1], recursive if num[3] == 1): only that subtree changes.
  // num[3] == 2: mount_setattr the mount at str[2] itself, in place (one
  // cordon made there), leaving the mounts on top of it unchanged.
  kSetMountAttr = 29,
  // Child: open the plain path str[0] as the root that later targets resolve in.
  kOpenRoot = 30,
  // Child: hide str[2] (in root, must exist): a directory under an empty
  // read-only tmpfs, anything else under a bind of the plain path str[0]
  // (an empty file or a null device). num[1] == 1: skip a target the box
  // cannot reach (ENOENT, EACCES, ENOTDIR, ELOOP) instead of failing.
  kMask = 31,
  // Parent: write the child's pid to the cgroup.procs file open as fd slot
  // `fd`. num[0] == 1: skip it when the clone placed the child already
  // (CLONE_INTO_CGROUP): the v2 fallback for older kernels.
  kWriteCgroupProcs = 32,
  // Child: prlimit(resource num[0], soft num[1], hard num[2]); -1 is unlimited.
  // Right before the exec; with an init, the init sets it in the payload's
  // process instead (the child skips it), so only the payload runs under it.
  // num[3] == 1: only raise the hard limit to num[2] if it is below, keeping
  // the soft one (clamped), even with an init: placed before the capabilities
  // drop, since a raise needs CAP_SYS_RESOURCE.
  kSetRlimit = 33,
  // Child: umask(num[0]).
  kUmask = 34,
  // Child: setpriority(PRIO_PROCESS, 0, num[0]).
  kSetPriority = 35,
  // Child: write str[0] into the existing file at plain path str[2]
  // (e.g. /proc/self/oom_score_adj).
  kWriteExisting = 36,
  // Child: setgroups() with the gids of the list at str[0] (num[0] decimal strings).
  kSetGroups = 37,
  // Child: make the capabilities of mask num[0] effective, permitted,
  // inheritable and ambient, so they survive exec as any uid.
  kRaiseAmbient = 38,
  // Child: build a Landlock ruleset handling fs num[0], net num[1], scopes
  // num[2], with the rules of the list at str[0] (num[3] strings, in triples:
  // "path" ACCESS PATH | "port" ACCESS PORT), plus execute and read of fd
  // slot `fd` when given (the init binary), and restrict itself with it.
  kLandlock = 39,
  // Child: install the classic-BPF program at str[0] (hex, num[0]
  // instructions) with seccomp(SECCOMP_SET_MODE_FILTER). The last step.
  kSeccomp = 40,
  // Parent: run the setuid helper str[0] (newuidmap or newgidmap) with the
  // child's pid and the map of the list at str[1] (num[1] strings, triples
  // "inside outside count"), and wait for it. Exit status != 0 fails the
  // step with EPERM, its status in the detail.
  kRunIdMapHelper = 41,
  // Child: after an unshare with CLONE_NEWPID (a joined user namespace),
  // clone (CLONE_VM | CLONE_PARENT) the process that walks the rest of the
  // plan as PID 1 of the new pid namespace: the parent's own child, so it is
  // the box's process (pidfd, exit, parent-death signal) as if cloned
  // directly. This process tells the parent its pid and exits.
  kEnterPidNamespace = 42,
  // Parent: a veth pair, its host end str[1] on bridge str[0] (with the
  // gateway-only ingress filter when num[3] is 1), its other end str[2] in
  // the child's network namespace with IPv4 num[0]/num[1] and a default
  // route via num[2] (addresses in host byte order). Fails with the part
  // (host::VethPart) in the detail.
  kAttachVeth = 43,
  // Child: make the terminal at box fd num[0] (a pty slave installed by
  // kInstallFd) the controlling terminal of the session a kSetSid step made
  // (ioctl TIOCSCTTY). With an init, the init does it instead in the
  // payload's process after a setsid of its own, so the payload (not the
  // init) leads the terminal's session and gets its job control signals.
  kSetControllingTerminal = 44,
  // Init: the start gate (OCI create/start). Once the init is sealed, the
  // payload's process closes the status pipe, so the parent learns the box
  // is set up and waiting, then reads one byte from box fd num[0] (an
  // installed fd, e.g. a FIFO that `start` writes to), closes it and goes
  // on to its exec. EOF without a byte: exit 127, nothing runs. A failure
  // after the gate (exec, seccomp) is no status record any more: the
  // payload's status is 127. Needs an init (the child shares the parent's
  // memory until its exec and cannot wait).
  kAwaitStart = 45,
};

// StatusRecord::detail of a failed filesystem step: which part failed.
enum class MountPart : int32_t {
  kNone = 0,
  kResolveTarget = 1,
  kCreateTarget = 2,
  kOpenSource = 3,
  kFsOpen = 4,
  kFsConfig = 5,
  kFsCreate = 6,
  kFsMount = 7,
  kAttach = 8,
  kSetAttr = 9,
  kMakeDir = 10,
  kPivotRoot = 11,
  kDetachOldRoot = 12,
  kWrite = 13,
  kSymlink = 14,
  kOpenRoot = 15,
  kChdir = 16,
  kResolveSource = 17,
  kCheckOwner = 18,
};

// StatusRecord::detail of a failed kExecInit step when the init itself
// failed, not the payload's exec (which reports the candidate, >= 0): which
// part. The init seals itself after it cloned the payload, before the status
// pipe closes, so a box whose init could not be sealed never starts.
enum class InitPart : int32_t {
  kExec = -1,          // the child's execveat of the init binary
  kClone = -2,         // the init's clone of the payload's process
  kDumpable = -3,      // prctl(PR_SET_DUMPABLE, 0): untraceable, /proc/1 closed
  kNoNewPrivs = -4,    // prctl(PR_SET_NO_NEW_PRIVS, 1) on itself
  kCapabilities = -5,  // capset: the init drops every capability it had
  kSeccomp = -6,       // seccomp: the init's own strict filter
  kGate = -7,          // pipe2: the gate the payload waits at until the init is sealed
};

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
