#include "plan_decode.h"

#include "child/plan_args.h"

#include <sched.h>
#include <string.h>

namespace cordon {
namespace {

constexpr uint64_t CLONE_NEWPID_FLAG = 0x20000000;

using abi::Op;

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::string decode_plan(const uint8_t* plan, size_t size, const int32_t* fds, size_t fd_count,
                        DecodedPlan* out) {
  if (size < sizeof(abi::PlanHeader)) return "plan shorter than its header";
  abi::PlanHeader header;
  memcpy(&header, plan, sizeof header);
  if (header.magic != abi::kPlanMagic) return "bad plan magic";
  if (header.abi_version != abi::kPlanAbiVersion) {
    return "plan ABI version " + std::to_string(header.abi_version) + ", addon speaks " +
           std::to_string(abi::kPlanAbiVersion) + " (rebuild cordon)";
  }
  if (header.step_count == 0 || header.step_count > abi::kMaxSteps) return "bad step count";
  if (header.fd_slot_count > abi::kMaxFdSlots) return "plan needs too many fds (over kMaxFdSlots)";
  if (header.reserved[0] != 0 || header.reserved[1] != 0) return "reserved header fields must be 0";
  if (header.fd_slot_count != fd_count) {
    return "plan needs " + std::to_string(header.fd_slot_count) + " fds, got " + std::to_string(fd_count);
  }
  const size_t steps_end = sizeof header + size_t(header.step_count) * sizeof(abi::StepRecord);
  if (header.strings_offset != steps_end || size_t(header.strings_offset) + header.strings_size != size) {
    return "bad string area bounds";
  }
  if (header.strings_size == 0 || plan[size - 1] != '\0') return "string area not NUL-terminated";
  out->strings.assign(reinterpret_cast<const char*>(plan + header.strings_offset), header.strings_size);
  const char* area = out->strings.data();
  const uint32_t area_size = header.strings_size;

  auto string_at = [&](uint32_t offset, const char** result) -> bool {
    if (offset == abi::kNoString) {
      *result = nullptr;
      return true;
    }
    if (offset >= area_size) return false;
    *result = area + offset;
    return true;
  };
  // `count` consecutive strings from `offset`, as a NULL-terminated array.
  auto list_at = [&](uint32_t offset, int64_t count, std::vector<const char*>* list) -> bool {
    if (count < 0 || count > int64_t(area_size)) return false;
    uint32_t at = offset;
    for (int64_t i = 0; i < count; i++) {
      if (at >= area_size) return false;
      list->push_back(area + at);
      at += uint32_t(strlen(area + at)) + 1;
    }
    list->push_back(nullptr);
    return true;
  };

  out->steps.resize(header.step_count);
  out->lists.reserve(header.step_count * 3);
  out->blobs.reserve(header.step_count);
  int install_group_end = -1;
  bool seen_install = false, seen_exec = false, seen_child = false, parent_steps = false, root_open = false;
  bool unshared_pid = false, seen_setsid = false;
  int rlimits = 0, late_joins = 0;
  bool target_taken[abi::kMaxInstalledFds] = {};
  int highest_target = 2;
  for (uint32_t i = 0; i < header.step_count; i++) {
    abi::StepRecord record;
    memcpy(&record, plan + sizeof header + i * sizeof record, sizeof record);
    const std::string where = "step " + std::to_string(i) + ": ";
    const abi::OpLayout* layout = abi::layout_of(record.op);
    if (layout == nullptr) return where + "unknown op " + std::to_string(record.op);
    Op op = Op(record.op);
    if (op == Op::kMountProcRetired) return where + "op 9 (mount proc) is retired";
    const abi::Side want = layout->side;
    if (record.side != uint32_t(want)) return where + "op on the wrong side";
    if (record.flags != abi::kStepFlagNone) return where + "unknown step flags";
    // Parent steps all run before "go", so listing one after a child step
    // would misstate the order.
    if (want == abi::Side::kParent && seen_child) return where + "parent step after a child step";
    // Every parent step but the clone runs with the child's pid, while the
    // child waits for "go" (a kWaitForParent step).
    if (want == abi::Side::kParent && op != Op::kClone) parent_steps = true;
    child::Step& step = out->steps[i];
    step.op = op;
    step.side = want;
    step.fd = -1;
    if (record.fd >= 0) {
      if (size_t(record.fd) >= fd_count) return where + "fd slot out of range";
      step.fd = fds[record.fd];
      if (step.fd < 0) return where + "negative fd";
    } else if (record.fd != -1) {
      return where + "bad fd slot";
    }
    if (layout->fd == abi::FdUse::kNone && step.fd >= 0) return where + "an fd the op does not take";
    for (int k = 0; k < 4; k++) {
      step.num[k] = record.num[k];
      if (!string_at(record.str[k], &step.str[k])) return where + "string offset out of range";
      step.list[k] = nullptr;
    }
    step.blob = nullptr;

    // The fields as the op table declares them: numbers in range, unused
    // ones 0, required strings present, lists decoded.
    for (int k = 0; k < 4; k++) {
      const abi::NumField& field = layout->num[k];
      if (field.name == nullptr && record.num[k] != 0) return where + "num[" + std::to_string(k) + "] is unused and must be 0";
      if (field.checked && (record.num[k] < field.min || record.num[k] > field.max)) return where + "bad " + field.what;
    }
    for (int k = 0; k < 4; k++) {
      const abi::StrField& field = layout->str[k];
      switch (field.use) {
        case abi::StrUse::kNone:
          if (record.str[k] != abi::kNoString) return where + "str[" + std::to_string(k) + "] is unused and must be absent";
          break;
        case abi::StrUse::kRequired:
          if (step.str[k] == nullptr) return where + "missing string";
          break;
        case abi::StrUse::kOptional:
          break;
        case abi::StrUse::kList:
        case abi::StrUse::kOptionalList: {
          const int64_t count = record.num[field.count_slot];
          if (record.str[k] == abi::kNoString) {
            if (field.use == abi::StrUse::kOptionalList && count == 0) break;
            return where + field.what + " missing";
          }
          out->lists.emplace_back();
          if (!list_at(record.str[k], count, &out->lists.back())) return where + "bad " + field.what;
          step.list[k] = out->lists.back().data();
          break;
        }
      }
    }

    // What ties fields or steps together.
    switch (op) {
      case Op::kClone: {
        if (i != 0) return where + "clone must be the first step";
        const auto clone = child::CloneArgs::of(step);
        out->clone_flags = clone.clone_flags;
        out->into_cgroup = clone.into_cgroup;
        if (clone.namespace_owner != 0 && (out->clone_flags & CLONE_NEWUSER) == 0) {
          return where + "a namespace owner without a new user namespace";
        }
        out->namespace_owner = clone.namespace_owner;
        if (out->into_cgroup && step.fd < 0) return where + "CLONE_INTO_CGROUP without a cgroup fd";
        if (out->into_cgroup) out->own_memory = true;
        out->cgroup_fd = step.fd;
        out->clone_step = int(i);
        break;
      }
      case Op::kMountFs: {
        const int64_t pairs = CORDON_ARG_NUM(step, MountFs, configCount);
        if (pairs < 0 || pairs % 2 != 0) return where + "fs config must be key/value pairs";
        if (CORDON_ARG_NUM(step, MountFs, upperByFd) == 1 && CORDON_ARG_STR(step, MountFs, fdPrefix) == nullptr) {
          return where + "missing string";
        }
        if (CORDON_ARG_NUM(step, MountFs, targetMode) != 0 && !root_open) return where + "a target in the root before the root is open";
        break;
      }
      case Op::kBindMount:
        if (child::BindMountArgs::of(step).source_links == abi::SourceLinks::kFollowInHostRoot &&
            CORDON_ARG_STR(step, BindMount, hostRoot) == nullptr) {
          return where + "missing string";
        }
        if (CORDON_ARG_NUM(step, BindMount, targetMode) != 0 && !root_open) return where + "a target in the root before the root is open";
        break;
      case Op::kSymlink:
      case Op::kSetMountAttr:
      case Op::kMask:
        // Always in the root.
        if (!root_open) return where + "a target in the root before the root is open";
        break;
      case Op::kSetGroups:
        if (CORDON_ARG_NUM(step, SetGroups, groupCount) > 64) return where + "at most 64 supplementary groups";
        break;
      case Op::kLandlock:
        if (CORDON_ARG_NUM(step, Landlock, ruleCount) % 3 != 0) return where + "bad list count";
        break;
      case Op::kSeccomp: {
        if (i + 2 != header.step_count) return where + "seccomp must come right before the exec";
        const int64_t instructions = CORDON_ARG_NUM(step, Seccomp, instructions);
        if (instructions < 1 || instructions > 4096) return where + "a BPF program has 1 to 4096 instructions";
        const char* hex = CORDON_ARG_STR(step, Seccomp, program);
        if (int64_t(strlen(hex)) != instructions * 16) return where + "program length does not match";
        std::vector<uint8_t> bytes(size_t(instructions) * 8);
        for (size_t k = 0; k < bytes.size(); k++) {
          int hi = hex_digit(hex[2 * k]), lo = hex_digit(hex[2 * k + 1]);
          if (hi < 0 || lo < 0) return where + "program is not hex";
          bytes[k] = uint8_t(hi * 16 + lo);
        }
        out->blobs.push_back(std::move(bytes));
        step.blob = out->blobs.back().data();
        break;
      }
      case Op::kOpenRoot:
        root_open = true;
        break;
      case Op::kJoinNamespace:
        if (step.fd < 0) return where + "join without an fd";
        break;
      case Op::kRunIdMapHelper: {
        out->runs_id_map_helper = true;
        const int64_t entries = CORDON_ARG_NUM(step, RunIdMapHelper, mapCount);
        if (entries < 3 || entries % 3 != 0 || entries > 3 * 340) return where + "id map helper needs a path and map triples";
        break;
      }
      case Op::kWriteCgroupProcs:
        if (step.fd < 0) return where + "cgroup.procs without an fd";
        out->own_memory = true;
        break;
      case Op::kJoinCgroup:
        // The child moves itself into the box's cgroup: never one that
        // shares Node's memory (the OOM killer would take Node with it).
        if (step.fd < 0) return where + "tasks without an fd";
        out->own_memory = true;
        break;
      case Op::kJoinCgroupLate:
        if (step.fd < 0) return where + "a late cgroup join without an fd";
        // The init takes each as an fd of its own (finish_init_argv, install_fds).
        if (uint32_t(++late_joins) > abi::kMaxLateJoins) return where + "more than " + std::to_string(abi::kMaxLateJoins) + " late cgroup joins";
        break;
      case Op::kMakeCgroupNamespace:
        if (step.fd < 0) return where + "a cgroup namespace helper without the init's fd";
        if (late_joins == 0) return where + "a cgroup namespace helper needs the cgroups it joins before it";
        break;
      case Op::kTakeCgroupNamespace:
        if (step.fd < 0) return where + "a waiting cgroup namespace helper without its socket";
        if (late_joins == 0) return where + "a cgroup namespace helper needs the cgroups it joins before it";
        break;
      case Op::kWriteExisting: {
        // oom_score_adj belongs to a process's memory: written by a child
        // that shares Node's (CLONE_VM), the kernel gives the value to every
        // process sharing it (__set_oom_adj), Node and the box children in
        // setup then. Such a child gets its own memory.
        const char* path = child::WriteExistingArgs::of(step).path;
        const char kOom[] = "/oom_score_adj";
        const size_t length = strlen(path), suffix = sizeof kOom - 1;
        if (length >= suffix && strcmp(path + length - suffix, kOom) == 0) out->own_memory = true;
        break;
      }
      case Op::kWaitForParent:
        out->needs_sync = true;
        break;
      case Op::kSetParentDeathSignal:
        if (CORDON_ARG_NUM(step, SetParentDeathSignal, untilRecorded) != 0) out->awaits_release = true;
        else out->dies_with_parent = true;
        break;
      case Op::kSetRlimit:
        // One per resource (RLIM_NLIMITS is 16): what the init's argv takes.
        if (++rlimits > 16) return where + "more than 16 rlimits";
        break;
      case Op::kSetSid:
        seen_setsid = true;
        break;
      case Op::kSetControllingTerminal:
        // TIOCSCTTY needs a session leader, and the terminal in the fd table.
        if (!seen_setsid) return where + "a controlling terminal needs a new session before";
        if (!seen_install) return where + "a controlling terminal needs the fd table before";
        // (The table checked its range.)
        if (!target_taken[CORDON_ARG_NUM(step, SetControllingTerminal, terminal)]) {
          return where + "the controlling terminal must be an installed fd";
        }
        break;
      case Op::kAwaitStart:
        if (!seen_install) return where + "a start gate needs the fd table before";
        // (The table checked its range.)
        if (!target_taken[CORDON_ARG_NUM(step, AwaitStart, gate)]) return where + "the start gate must be an installed fd";
        break;
      case Op::kUnshare:
        if ((uint64_t(CORDON_ARG_NUM(step, Unshare, cloneFlags)) & CLONE_NEWPID_FLAG) != 0) unshared_pid = true;
        break;
      case Op::kEnterPidNamespace:
        if (out->enters_pid) return where + "the pid namespace is entered once";
        if (!unshared_pid) return where + "entering a pid namespace needs an unshare of one before";
        if (seen_install) return where + "the pid namespace is entered before the fd table";
        out->enters_pid = true;
        break;
      case Op::kInstallFd: {
        if (step.fd < 0) return where + "install without a source fd";
        const int target = child::InstallFdArgs::of(step).target;
        if (seen_install && install_group_end != int(i) - 1) return where + "install steps must be adjacent";
        if (target_taken[target]) return where + "fd target installed twice";
        target_taken[target] = true;
        seen_install = true;
        install_group_end = int(i);
        if (target > highest_target) highest_target = target;
        break;
      }
      case Op::kExec:
      case Op::kExecInit: {
        if (!seen_install) return where + "exec without an fd table";
        if (i != header.step_count - 1) return where + "exec must be the last step";
        if (op == Op::kExecInit && step.fd < 0) return where + "init without an fd";
        if (CORDON_ARG_NUM(step, Exec, argc) < 1 || CORDON_ARG_NUM(step, Exec, candidateCount) < 1) {
          return where + "exec needs argv[0] and a candidate";
        }
        // The child must wait while the parent runs its steps.
        if (parent_steps && !out->needs_sync) return where + "parent steps (id maps, cgroup attach) without a wait for the parent";
        out->uses_init = op == Op::kExecInit;
        seen_exec = true;
        break;
      }
      default:
        break;
    }
    if (want == abi::Side::kChild) seen_child = true;
  }
  if (out->clone_step != 0) return "plan has no clone step";
  if (!seen_exec) return "plan has no exec step";
  // Only an init can let go of the signal once the box is recorded.
  if (out->awaits_release && !out->uses_init) return "a parent death signal until recorded needs an init";
  if (out->awaits_release && out->dies_with_parent) return "a parent death signal both until recorded and for good";
  // Only an init joins a cgroup late.
  if (late_joins > 0 && !out->uses_init) return "a late cgroup join needs an init";
  out->view.steps = out->steps.data();
  out->view.count = header.step_count;
  out->view.control.highest_target = highest_target;
  return "";
}

void finish_init_argv(DecodedPlan* decoded) {
  child::Step& exec = decoded->steps.back();
  const int status_fd = decoded->view.control.highest_target + 1;
  const int exit_fd = status_fd + 1;
  const auto payload = child::ExecArgs::of(exec);
  const char* const* candidates = payload.candidates;
  const char* const* payload_argv = payload.argv;
  const uint32_t last = decoded->view.count - 1;
  const bool filtered = last > 0 && decoded->steps[last - 1].op == Op::kSeccomp;

  // Every string first, so the pointers taken below stay put.
  auto& owned = decoded->owned_strings;
  owned = {"cordon-init", std::to_string(status_fd), std::to_string(exit_fd), std::to_string(last),
           std::to_string(CORDON_ARG_NUM(exec, Exec, candidateCount))};
  // The rlimits are the payload's alone: the init sets them in the payload's
  // process right before its execve (the child skips them), so neither the
  // init nor the child has to run under them.
  for (uint32_t i = 0; i < last; i++) {
    const child::Step& step = decoded->steps[i];
    if (step.op != Op::kSetRlimit) continue;
    const auto limit = child::SetRlimitArgs::of(step);
    for (std::string text : {std::string("--rlimit"), std::to_string(i), std::to_string(limit.resource),
                             std::to_string(limit.soft), std::to_string(limit.hard)}) {
      owned.push_back(std::move(text));
    }
  }
  // The box's cgroups, joined by the init before it clones the payload: each
  // file sits right above the exit fd (install_fds in child/stdio.cc).
  int late_join = 0;
  for (uint32_t i = 0; i < last; i++) {
    if (decoded->steps[i].op != Op::kJoinCgroupLate) continue;
    owned.push_back("--join");
    owned.push_back(std::to_string(i));
    owned.push_back(std::to_string(exit_fd + 1 + late_join++));
  }
  // The payload leads the terminal's session: the init makes its process a
  // session of its own and gives it the terminal, right before its execve.
  for (uint32_t i = 0; i < last; i++) {
    const child::Step& step = decoded->steps[i];
    if (step.op != Op::kSetControllingTerminal) continue;
    owned.push_back("--ctty");
    owned.push_back(std::to_string(i));
    owned.push_back(std::to_string(CORDON_ARG_NUM(step, SetControllingTerminal, terminal)));
  }
  // The start gate is the init's too: it holds the payload's process there
  // once the init is sealed (the child shares our memory until its exec).
  for (uint32_t i = 0; i < last; i++) {
    const child::Step& step = decoded->steps[i];
    if (step.op != Op::kAwaitStart) continue;
    owned.push_back("--start");
    owned.push_back(std::to_string(i));
    owned.push_back(std::to_string(CORDON_ARG_NUM(step, AwaitStart, gate)));
  }
  // The box outlives its supervisor once recorded: the init keeps its
  // parent-death signal until the parent's release byte (the child set it).
  if (decoded->awaits_release) owned.push_back("--release");
  // The payload's seccomp filter is the init's to install, in the payload's
  // process just before its execve (the init installs a stricter one of its
  // own in itself, after the clone).
  if (filtered) {
    owned.push_back("--seccomp");
    owned.push_back(std::to_string(last - 1));
  }
  owned.push_back("--");

  std::vector<const char*> argv;
  size_t k = 0;
  for (; k < 5; k++) argv.push_back(owned[k].c_str());
  for (int i = 0; candidates[i] != nullptr; i++) argv.push_back(candidates[i]);
  for (; k < owned.size(); k++) {
    argv.push_back(owned[k].c_str());
    if (owned[k] == "--seccomp") {
      argv.push_back(owned[++k].c_str());
      argv.push_back(CORDON_ARG_STR(decoded->steps[last - 1], Seccomp, program));
    }
  }
  for (int i = 0; payload_argv[i] != nullptr; i++) argv.push_back(payload_argv[i]);
  argv.push_back(nullptr);
  decoded->lists.push_back(std::move(argv));
  CORDON_ARG_LIST(exec, Exec, argv) = decoded->lists.back().data();
}

}  // namespace cordon
