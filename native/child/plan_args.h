// Named views of a step's fields, one per op that has more than one: what
// the executor (child/) and spawn_box (the parent's steps) read instead of
// num[k] and str[k]. Each field is found by name in the op table
// (plan_abi.h) at compile time, so the table is the only place that knows a
// position, and naming a field the op does not have fails the build.
// Freestanding: no heap, nothing but loads from the step.
#pragma once

#include "child/plan_view.h"

namespace cordon::child {

#define CORDON_NUM_OF(Name, field) CORDON_ARG_NUM(step, Name, field)
#define CORDON_STR_OF(Name, field) CORDON_ARG_STR(step, Name, field)
#define CORDON_LIST_OF(Name, field) CORDON_ARG_LIST(step, Name, field)

struct CloneArgs {
  uint64_t clone_flags;
  bool into_cgroup;
  uint32_t namespace_owner;
  static CloneArgs of(const Step& step) {
    return {uint64_t(CORDON_NUM_OF(Clone, cloneFlags)), CORDON_NUM_OF(Clone, intoCgroup) == 1,
            uint32_t(CORDON_NUM_OF(Clone, namespaceOwner))};
  }
};

struct MountFsArgs {
  const char* fstype;
  const char* const* config;  // key/value pairs, or nullptr
  uint64_t attrs;
  const char* target;
  abi::TargetMode target_mode;
  const char* fd_prefix;  // the upper layer's dirs go by fd (an overlay with a persistent upper), or nullptr
  static MountFsArgs of(const Step& step) {
    return {CORDON_STR_OF(MountFs, fstype),
            CORDON_LIST_OF(MountFs, config),
            uint64_t(CORDON_NUM_OF(MountFs, attrs)),
            CORDON_STR_OF(MountFs, target),
            abi::TargetMode(CORDON_NUM_OF(MountFs, targetMode)),
            CORDON_NUM_OF(MountFs, upperByFd) == 1 ? CORDON_STR_OF(MountFs, fdPrefix) : nullptr};
  }
};

struct BindMountArgs {
  const char* source;
  const char* host_root;
  const char* target;
  uint64_t attrs;
  bool recursive;
  abi::TargetMode target_mode;
  abi::SourceLinks source_links;
  int prepared_tree;  // a tree the parent made (an idmapped mount), or -1
  static BindMountArgs of(const Step& step) {
    return {CORDON_STR_OF(BindMount, source),
            CORDON_STR_OF(BindMount, hostRoot),
            CORDON_STR_OF(BindMount, target),
            uint64_t(CORDON_NUM_OF(BindMount, attrs)),
            CORDON_NUM_OF(BindMount, recursive) == 1,
            abi::TargetMode(CORDON_NUM_OF(BindMount, targetMode)),
            abi::SourceLinks(CORDON_NUM_OF(BindMount, sourceLinks)),
            step.fd};
  }
};

struct SetMountAttrArgs {
  const char* target;
  uint64_t set;
  uint64_t clear;
  abi::AttrScope scope;
  static SetMountAttrArgs of(const Step& step) {
    return {CORDON_STR_OF(SetMountAttr, target), uint64_t(CORDON_NUM_OF(SetMountAttr, set)),
            uint64_t(CORDON_NUM_OF(SetMountAttr, clear)), abi::AttrScope(CORDON_NUM_OF(SetMountAttr, scope))};
  }
};

struct MaskArgs {
  const char* cover;
  const char* target;
  bool optional;
  static MaskArgs of(const Step& step) {
    return {CORDON_STR_OF(Mask, cover), CORDON_STR_OF(Mask, target), CORDON_NUM_OF(Mask, optional) == 1};
  }
};

struct WriteFileArgs {
  const char* path;
  const char* content;
  long mode;
  static WriteFileArgs of(const Step& step) {
    return {CORDON_STR_OF(WriteFile, path), CORDON_STR_OF(WriteFile, content), long(CORDON_NUM_OF(WriteFile, mode))};
  }
};

struct SymlinkArgs {
  const char* link_to;
  const char* target;
  static SymlinkArgs of(const Step& step) { return {CORDON_STR_OF(Symlink, linkTo), CORDON_STR_OF(Symlink, target)}; }
};

struct MakeDirArgs {
  const char* path;
  long mode;
  static MakeDirArgs of(const Step& step) { return {CORDON_STR_OF(MakeDir, path), long(CORDON_NUM_OF(MakeDir, mode))}; }
};

struct PivotRootArgs {
  const char* new_root;
  const char* put_old;
  static PivotRootArgs of(const Step& step) { return {CORDON_STR_OF(PivotRoot, newRoot), CORDON_STR_OF(PivotRoot, putOld)}; }
};

struct WriteExistingArgs {
  const char* path;
  const char* text;
  static WriteExistingArgs of(const Step& step) {
    return {CORDON_STR_OF(WriteExisting, path), CORDON_STR_OF(WriteExisting, text)};
  }
};

struct SetIdsArgs {
  long uid;
  long gid;
  bool clear_groups;
  static SetIdsArgs of(const Step& step) {
    return {long(CORDON_NUM_OF(SetIds, uid)), long(CORDON_NUM_OF(SetIds, gid)), CORDON_NUM_OF(SetIds, clearGroups) == 1};
  }
};

struct SetRlimitArgs {
  int resource;
  int64_t soft;  // -1: unlimited
  int64_t hard;
  static SetRlimitArgs of(const Step& step) {
    return {int(CORDON_NUM_OF(SetRlimit, resource)), CORDON_NUM_OF(SetRlimit, soft), CORDON_NUM_OF(SetRlimit, hard)};
  }
};

struct LandlockArgs {
  uint64_t fs;
  uint64_t net;
  uint64_t scoped;
  const char* const* rules;
  int init_fd;  // the init binary, which the ruleset lets run, or -1
  static LandlockArgs of(const Step& step) {
    return {uint64_t(CORDON_NUM_OF(Landlock, fs)), uint64_t(CORDON_NUM_OF(Landlock, net)),
            uint64_t(CORDON_NUM_OF(Landlock, scoped)), CORDON_LIST_OF(Landlock, rules), step.fd};
  }
};

struct InstallFdArgs {
  int target;
  bool clear_nonblock;
  static InstallFdArgs of(const Step& step) {
    return {int(CORDON_NUM_OF(InstallFd, target)), CORDON_NUM_OF(InstallFd, clearNonblock) == 1};
  }
};

// Exec and ExecInit share a layout (the decoder checks they agree).
struct ExecArgs {
  const char* const* argv;
  const char* const* envp;
  const char* const* candidates;
  static ExecArgs of(const Step& step) {
    return {CORDON_LIST_OF(Exec, argv), CORDON_LIST_OF(Exec, envp), CORDON_LIST_OF(Exec, candidates)};
  }
};

struct SeccompArgs {
  const void* program;  // decoded by the parent
  uint64_t instructions;
  static SeccompArgs of(const Step& step) { return {step.blob, uint64_t(CORDON_NUM_OF(Seccomp, instructions))}; }
};

struct WriteCgroupProcsArgs {
  bool unless_placed;
  static WriteCgroupProcsArgs of(const Step& step) { return {CORDON_NUM_OF(WriteCgroupProcs, unlessPlaced) == 1}; }
};

struct RunIdMapHelperArgs {
  const char* helper;
  const char* const* map;
  static RunIdMapHelperArgs of(const Step& step) {
    return {CORDON_STR_OF(RunIdMapHelper, helper), CORDON_LIST_OF(RunIdMapHelper, map)};
  }
};

struct AttachVethArgs {
  const char* bridge;
  const char* host_name;
  const char* box_name;
  uint32_t address;  // host byte order
  int prefix;
  uint32_t gateway;
  bool gateway_only;
  static AttachVethArgs of(const Step& step) {
    return {CORDON_STR_OF(AttachVeth, bridge),
            CORDON_STR_OF(AttachVeth, hostName),
            CORDON_STR_OF(AttachVeth, boxName),
            uint32_t(CORDON_NUM_OF(AttachVeth, address)),
            int(CORDON_NUM_OF(AttachVeth, prefix)),
            uint32_t(CORDON_NUM_OF(AttachVeth, gateway)),
            CORDON_NUM_OF(AttachVeth, gatewayOnly) == 1};
  }
};

#undef CORDON_NUM_OF
#undef CORDON_STR_OF
#undef CORDON_LIST_OF

}  // namespace cordon::child
