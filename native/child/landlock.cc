// Child half of Landlock: the ruleset is built here, after the box's mounts,
// because its rules name paths of the box's own root.
#include <errno.h>
#include <fcntl.h>
#include <linux/stat.h>

#include "child/mechanisms.h"
#include "sys/syscalls.h"

#ifndef __NR_landlock_add_rule
#define __NR_landlock_add_rule 445
#define __NR_landlock_restrict_self 446
#endif

namespace cordon::child {
namespace {

// The uapi structs as of Landlock ABI 6 (older headers lack the net and
// scope fields); the kernel takes the size we pass.
struct RulesetAttr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};

struct __attribute__((packed)) PathBeneathAttr {
  uint64_t allowed_access;
  int32_t parent_fd;
};

struct NetPortAttr {
  uint64_t allowed_access;
  uint64_t port;
};

constexpr int kRulePathBeneath = 1;
// EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
constexpr uint64_t kFileAccess = 0x1 | 0x2 | 0x4 | 0x4000 | 0x8000;
constexpr int kRuleNetPort = 2;

int as_errno(long r) { return r < 0 ? static_cast<int>(-r) : 0; }

bool parse_u64(const char* text, uint64_t* out) {
  uint64_t value = 0;
  if (*text == '\0') return false;
  for (; *text != '\0'; text++) {
    if (*text < '0' || *text > '9') return false;
    value = value * 10 + uint64_t(*text - '0');
  }
  *out = value;
  return true;
}

bool same(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) {
    a++;
    b++;
  }
  return *a == *b;
}

}  // namespace

int apply_landlock(uint64_t fs, uint64_t net, uint64_t scoped, const char* const* rules, int exec_fd, int* part) {
  RulesetAttr attr = {fs, net, scoped};
  // The smallest struct that carries what is asked: older kernels refuse
  // sizes they do not know.
  unsigned long size = scoped != 0 ? 24 : (net != 0 ? 16 : 8);
  *part = 1;
  long ruleset = sys::sc(__NR_landlock_create_ruleset, &attr, size, 0);
  if (ruleset < 0) return as_errno(ruleset);
  // The init runs from an fd outside the box's tree: let it be executed.
  // Its sealed copy is a memfd, on an internal mount Landlock takes no rule
  // for (EBADFD) and never restricts: only the on-disk fallback needs one.
  if (exec_fd >= 0 && (fs & 0x5) == 0x5) {
    PathBeneathAttr rule = {0x5 /* EXECUTE | READ_FILE */, int32_t(exec_fd)};
    long r = sys::sc(__NR_landlock_add_rule, ruleset, kRulePathBeneath, &rule, 0);
    if (r < 0 && r != -EBADFD) {
      sys::sc(__NR_close, ruleset);
      *part = 2;
      return as_errno(r);
    }
  }
  for (int i = 0; rules != nullptr && rules[i] != nullptr && rules[i + 1] != nullptr && rules[i + 2] != nullptr;
       i += 3) {
    uint64_t access = 0;
    long r = -EINVAL;
    *part = 2 + 256 * (i / 3 + 1);  // which rule, for the error
    if (!parse_u64(rules[i + 1], &access)) {
      sys::sc(__NR_close, ruleset);
      return EINVAL;
    }
    if (same(rules[i], "path")) {
      long fd = sys::sc(__NR_openat, AT_FDCWD, rules[i + 2], O_PATH | O_CLOEXEC, 0);
      if (fd < 0) {
        sys::sc(__NR_close, ruleset);
        *part = 3 + 256 * (i / 3 + 1);
        return as_errno(fd);
      }
      // A rule on a file may carry only the rights that apply to files.
      struct statx info = {};
      if (sys::sc(__NR_statx, fd, "", AT_EMPTY_PATH, STATX_TYPE, &info) == 0 && (info.stx_mode & 0170000) != 0040000) {
        access &= kFileAccess;
      }
      PathBeneathAttr rule = {access, int32_t(fd)};
      r = sys::sc(__NR_landlock_add_rule, ruleset, kRulePathBeneath, &rule, 0);
      sys::sc(__NR_close, fd);
    } else if (same(rules[i], "port")) {
      uint64_t port = 0;
      if (parse_u64(rules[i + 2], &port)) {
        NetPortAttr rule = {access, port};
        r = sys::sc(__NR_landlock_add_rule, ruleset, kRuleNetPort, &rule, 0);
      }
    }
    if (r < 0) {
      sys::sc(__NR_close, ruleset);
      return as_errno(r);
    }
  }
  *part = 4;
  long r = sys::sc(__NR_landlock_restrict_self, ruleset, 0);
  sys::sc(__NR_close, ruleset);
  return as_errno(r);
}

// Op handler (child/ops.h).
int run_Landlock(const Step& step, StepRun& run) {
  const auto a = LandlockArgs::of(step);
  return apply_landlock(a.fs, a.net, a.scoped, a.rules, a.init_fd, &run.detail);
}

}  // namespace cordon::child
