#include "plan_decode.h"

#include <sched.h>
#include <string.h>

namespace cordon {
namespace {

constexpr uint64_t CLONE_NEWPID_FLAG = 0x20000000;

using abi::Op;

bool known_op(uint32_t op) { return op >= uint32_t(Op::kClone) && op <= uint32_t(Op::kAwaitStart); }

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool parent_op(Op op) {
  return op == Op::kClone || op == Op::kWriteSetgroups || op == Op::kWriteUidMap || op == Op::kWriteGidMap ||
         op == Op::kWriteCgroupProcs || op == Op::kRunIdMapHelper || op == Op::kAttachVeth;
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
  bool seen_install = false, seen_exec = false, seen_child = false, maps_written = false, root_open = false;
  bool unshared_pid = false, seen_setsid = false;
  int rlimits = 0;
  bool target_taken[abi::kMaxInstalledFds] = {};
  int highest_target = 2;
  for (uint32_t i = 0; i < header.step_count; i++) {
    abi::StepRecord record;
    memcpy(&record, plan + sizeof header + i * sizeof record, sizeof record);
    const std::string where = "step " + std::to_string(i) + ": ";
    if (!known_op(record.op)) return where + "unknown op " + std::to_string(record.op);
    Op op = Op(record.op);
    abi::Side want = parent_op(op) ? abi::Side::kParent : abi::Side::kChild;
    if (record.side != uint32_t(want)) return where + "op on the wrong side";
    if (record.flags != abi::kStepFlagNone) return where + "unknown step flags";
    // Parent steps all run before "go", so listing one after a child step
    // would misstate the order.
    if (want == abi::Side::kParent && seen_child) return where + "parent step after a child step";
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
    for (int k = 0; k < 4; k++) {
      step.num[k] = record.num[k];
      if (!string_at(record.str[k], &step.str[k])) return where + "string offset out of range";
    }
    for (int k = 0; k < 3; k++) step.list[k] = nullptr;
    step.blob = nullptr;

    switch (op) {
      case Op::kClone:
        if (i != 0) return where + "clone must be the first step";
        out->clone_flags = uint64_t(record.num[0]);
        if (record.num[1] != 0 && record.num[1] != 1) return where + "bad CLONE_INTO_CGROUP flag";
        out->into_cgroup = record.num[1] == 1;
        if (record.num[2] < 0 || record.num[2] > 0xfffffffe) return where + "bad namespace owner";
        if (record.num[2] != 0 && (out->clone_flags & CLONE_NEWUSER) == 0) return where + "a namespace owner without a new user namespace";
        out->namespace_owner = uint32_t(record.num[2]);
        if (out->into_cgroup && step.fd < 0) return where + "CLONE_INTO_CGROUP without a cgroup fd";
        if (out->into_cgroup) out->own_memory = true;
        out->cgroup_fd = step.fd;
        out->clone_step = int(i);
        break;
      case Op::kWriteSetgroups:
      case Op::kWriteUidMap:
      case Op::kWriteGidMap:
        maps_written = true;
        if (step.str[0] == nullptr) return where + "missing string";
        break;
      case Op::kMountProcRetired:
        return where + "op 9 (mount proc) is retired";
      case Op::kSetHostname:
      case Op::kChdir:
        if (step.str[0] == nullptr) return where + "missing string";
        break;
      case Op::kMountFs:
      case Op::kBindMount:
      case Op::kSymlink:
      case Op::kWriteFile:
      case Op::kSetMountAttr:
      case Op::kMask: {
        const bool needs_source = op != Op::kSetMountAttr;
        if ((needs_source && step.str[0] == nullptr) || step.str[2] == nullptr) return where + "missing string";
        if (record.num[2] < 0 || record.num[2] > 2) return where + "bad target mode";
        const bool in_root = record.num[2] != 0 || op == Op::kSymlink || op == Op::kSetMountAttr || op == Op::kMask;
        if (op == Op::kWriteFile && record.num[2] != 0) return where + "files are written to plain paths";
        if (in_root && !root_open) return where + "a target in the root before the root is open";
        if (op == Op::kMountFs && record.num[3] != 0 && record.num[3] != 1) return where + "bad symlink mode";
        if (op == Op::kBindMount && (record.num[3] < 0 || record.num[3] > 2)) return where + "bad symlink mode";
        if (op == Op::kBindMount && record.num[3] == 2 && step.str[1] == nullptr) return where + "missing string";
        if (op == Op::kMountFs && record.num[3] == 1 && step.str[3] == nullptr) return where + "missing string";
        if (op == Op::kSetMountAttr && (record.num[3] < 0 || record.num[3] > 2)) return where + "bad attribute scope";
        if (op == Op::kMask && record.num[1] != 0 && record.num[1] != 1) return where + "bad optional flag";
        if (op == Op::kMountFs) {
          if (record.num[1] < 0 || record.num[1] % 2 != 0) return where + "fs config must be key/value pairs";
          if (record.num[1] > 0) {
            out->lists.emplace_back();
            if (!list_at(record.str[1], record.num[1], &out->lists.back())) return where + "bad fs config list";
            step.list[1] = out->lists.back().data();
          }
        }
        break;
      }
      case Op::kWriteExisting:
        if (step.str[0] == nullptr || step.str[2] == nullptr) return where + "missing string";
        break;
      case Op::kSetGroups:
      case Op::kLandlock: {
        const int64_t count = op == Op::kSetGroups ? record.num[0] : record.num[3];
        if (count < 0 || (op == Op::kLandlock && count % 3 != 0)) return where + "bad list count";
        if (op == Op::kSetGroups && count > 64) return where + "at most 64 supplementary groups";
        if (record.str[0] == abi::kNoString) return where + "list missing";
        out->lists.emplace_back();
        if (!list_at(record.str[0], count, &out->lists.back())) return where + "bad list";
        step.list[0] = out->lists.back().data();
        break;
      }
      case Op::kSeccomp: {
        if (step.str[0] == nullptr) return where + "missing program";
        if (i + 2 != header.step_count) return where + "seccomp must come right before the exec";
        const int64_t instructions = record.num[0];
        if (instructions < 1 || instructions > 4096) return where + "a BPF program has 1 to 4096 instructions";
        const char* hex = step.str[0];
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
      case Op::kPivotRoot:
        if (step.str[0] == nullptr || step.str[1] == nullptr) return where + "missing string";
        break;
      case Op::kOpenRoot:
        root_open = true;
        if (step.str[0] == nullptr) return where + "missing string";
        break;
      case Op::kMakeDir:
      case Op::kEnterRoot:
        if (step.str[0] == nullptr) return where + "missing string";
        break;
      case Op::kJoinNamespace:
        if (step.fd < 0) return where + "join without an fd";
        break;
      case Op::kRunIdMapHelper:
        maps_written = true;
        if (step.str[0] == nullptr || record.num[1] < 3 || record.num[1] % 3 != 0 || record.num[1] > 3 * 340) {
          return where + "id map helper needs a path and map triples";
        }
        out->lists.emplace_back();
        if (!list_at(record.str[1], record.num[1], &out->lists.back())) return where + "bad id map list";
        step.list[1] = out->lists.back().data();
        break;
      case Op::kWriteCgroupProcs:
        maps_written = true;  // a parent step the child must wait for, like the maps
        if (step.fd < 0) return where + "cgroup.procs without an fd";
        if (record.num[0] != 0 && record.num[0] != 1) return where + "bad skip flag";
        out->own_memory = true;
        break;
      case Op::kAttachVeth:
        maps_written = true;  // the child must wait for its interface
        if (step.str[0] == nullptr || step.str[1] == nullptr || step.str[2] == nullptr) return where + "missing string";
        if (record.num[0] < 0 || record.num[0] > 0xffffffffLL || record.num[2] < 0 || record.num[2] > 0xffffffffLL) {
          return where + "bad IPv4 address";
        }
        if (record.num[1] < 1 || record.num[1] > 30) return where + "bad prefix length";
        if (record.num[3] != 0 && record.num[3] != 1) return where + "bad filter flag";
        break;
      case Op::kWaitForParent:
        out->needs_sync = true;
        break;
      case Op::kSetRlimit:
        // One per resource (RLIM_NLIMITS is 16): what the init's argv takes.
        if (record.num[0] < 0 || record.num[0] >= 16) return where + "bad rlimit resource";
        if (++rlimits > 16) return where + "more than 16 rlimits";
        break;
      case Op::kSetSid:
        seen_setsid = true;
        break;
      case Op::kSetControllingTerminal:
        // TIOCSCTTY needs a session leader, and the terminal in the fd table.
        if (!seen_setsid) return where + "a controlling terminal needs a new session before";
        if (!seen_install) return where + "a controlling terminal needs the fd table before";
        if (record.num[0] < 0 || record.num[0] >= int64_t(abi::kMaxInstalledFds) || !target_taken[record.num[0]]) {
          return where + "the controlling terminal must be an installed fd";
        }
        break;
      case Op::kAwaitStart:
        if (!seen_install) return where + "a start gate needs the fd table before";
        if (record.num[0] < 0 || record.num[0] >= int64_t(abi::kMaxInstalledFds) || !target_taken[record.num[0]]) {
          return where + "the start gate must be an installed fd";
        }
        break;
      case Op::kUnshare:
        if ((uint64_t(record.num[0]) & CLONE_NEWPID_FLAG) != 0) unshared_pid = true;
        break;
      case Op::kEnterPidNamespace:
        if (out->enters_pid) return where + "the pid namespace is entered once";
        if (!unshared_pid) return where + "entering a pid namespace needs an unshare of one before";
        if (seen_install) return where + "the pid namespace is entered before the fd table";
        out->enters_pid = true;
        break;
      case Op::kInstallFd:
        if (step.fd < 0) return where + "install without a source fd";
        if (step.num[0] < 0 || step.num[0] >= int64_t(abi::kMaxInstalledFds)) return where + "bad target fd";
        if (seen_install && install_group_end != int(i) - 1) return where + "install steps must be adjacent";
        if (target_taken[step.num[0]]) return where + "fd target installed twice";
        target_taken[step.num[0]] = true;
        seen_install = true;
        install_group_end = int(i);
        if (step.num[0] > highest_target) highest_target = int(step.num[0]);
        break;
      case Op::kExec:
      case Op::kExecInit: {
        if (!seen_install) return where + "exec without an fd table";
        if (i != header.step_count - 1) return where + "exec must be the last step";
        if (op == Op::kExecInit && step.fd < 0) return where + "init without an fd";
        for (int k = 0; k < 3; k++) {
          if (record.str[k] == abi::kNoString) return where + "exec list missing";
          out->lists.emplace_back();
          if (!list_at(record.str[k], record.num[k], &out->lists.back())) return where + "bad exec list";
          step.list[k] = out->lists.back().data();
        }
        if (record.num[0] < 1 || record.num[2] < 1) return where + "exec needs argv[0] and a candidate";
        // The child must wait while the parent writes its id maps.
        if (maps_written && !out->needs_sync) return where + "parent steps (id maps, cgroup attach) without a wait for the parent";
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
  out->view.steps = out->steps.data();
  out->view.count = header.step_count;
  out->view.control.highest_target = highest_target;
  return "";
}

void finish_init_argv(DecodedPlan* decoded) {
  child::Step& exec = decoded->steps.back();
  const int status_fd = decoded->view.control.highest_target + 1;
  const int exit_fd = status_fd + 1;
  const char* const* candidates = exec.list[2];
  const char* const* payload_argv = exec.list[0];
  const uint32_t last = decoded->view.count - 1;
  const bool filtered = last > 0 && decoded->steps[last - 1].op == Op::kSeccomp;

  // Every string first, so the pointers taken below stay put.
  auto& owned = decoded->owned_strings;
  owned = {"cordon-init", std::to_string(status_fd), std::to_string(exit_fd), std::to_string(last),
           std::to_string(exec.num[2])};
  // The rlimits are the payload's alone: the init sets them in the payload's
  // process right before its execve (the child skips them), so neither the
  // init nor the child has to run under them.
  for (uint32_t i = 0; i < last; i++) {
    const child::Step& step = decoded->steps[i];
    if (step.op != Op::kSetRlimit) continue;
    for (std::string text : {std::string("--rlimit"), std::to_string(i), std::to_string(step.num[0]),
                             std::to_string(step.num[1]), std::to_string(step.num[2])}) {
      owned.push_back(std::move(text));
    }
  }
  // The payload leads the terminal's session: the init makes its process a
  // session of its own and gives it the terminal, right before its execve.
  for (uint32_t i = 0; i < last; i++) {
    const child::Step& step = decoded->steps[i];
    if (step.op != Op::kSetControllingTerminal) continue;
    owned.push_back("--ctty");
    owned.push_back(std::to_string(i));
    owned.push_back(std::to_string(step.num[0]));
  }
  // The start gate is the init's too: it holds the payload's process there
  // once the init is sealed (the child shares our memory until its exec).
  for (uint32_t i = 0; i < last; i++) {
    const child::Step& step = decoded->steps[i];
    if (step.op != Op::kAwaitStart) continue;
    owned.push_back("--start");
    owned.push_back(std::to_string(i));
    owned.push_back(std::to_string(step.num[0]));
  }
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
      argv.push_back(decoded->steps[last - 1].str[0]);
    }
  }
  for (int i = 0; payload_argv[i] != nullptr; i++) argv.push_back(payload_argv[i]);
  argv.push_back(nullptr);
  decoded->lists.push_back(std::move(argv));
  exec.list[0] = decoded->lists.back().data();
}

}  // namespace cordon
