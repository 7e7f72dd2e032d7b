// Fuzz target for cordon::decode_plan.
//
// With libFuzzer:
//   clang++ -std=c++17 -g -fsanitize=fuzzer,address,undefined -Inative
//           test/cpp/fuzz_plan_decode.cc native/plan_decode.cc
// Without it (CI), a deterministic mutation driver:
//   g++ -std=c++17 -g -fsanitize=address,undefined -DCORDON_FUZZ_STANDALONE -Inative
//       test/cpp/fuzz_plan_decode.cc native/plan_decode.cc
//   ./a.out [iterations] [seed]     CORDON_FUZZ_VERBOSE=1 also prints why inputs were rejected
//   ./a.out --write-seeds DIR       writes the seed plans (a libFuzzer corpus)
// test/cpp/run.sh does both.
//
// Every input is decoded against an exact-size heap copy and an exact-size
// heap fd array, so ASan reports any read outside them. When decoding
// succeeds, every step, string and list pointer is checked to lie inside the
// DecodedPlan's own storage and every invariant the child relies on is
// re-checked; a violation aborts.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "plan_builder.h"
#include "plan_decode.h"

namespace {

using cordon::DecodedPlan;
using Op = cordon::abi::Op;
using Side = cordon::abi::Side;

// The last slot holds a negative fd (rejected by the decoder); seeds use the
// first four.
constexpr int32_t kFds[] = {100, 101, 102, 103, -1};
constexpr size_t kMaxFds = sizeof kFds / sizeof kFds[0];

// The input being decoded, dumped when an invariant or a sanitizer fires.
const uint8_t* g_input = nullptr;
size_t g_input_size = 0;

void dump_input() {
  if (g_input == nullptr) return;
  fprintf(stderr, "fuzz_plan_decode: failing input (%zu bytes):", g_input_size);
  for (size_t i = 0; i < g_input_size; i++) fprintf(stderr, "%s%02x", i % 32 == 0 ? "\n  " : " ", g_input[i]);
  fprintf(stderr, "\n");
}

#define FUZZ_ASSERT(cond)                                                              \
  do {                                                                                 \
    if (!(cond)) {                                                                     \
      fprintf(stderr, "fuzz_plan_decode: invariant failed at %s:%d: %s\n", __FILE__, \
              __LINE__, #cond);                                                        \
      dump_input();                                                                    \
      abort();                                                                         \
    }                                                                                  \
  } while (0)

bool in_area(const DecodedPlan& p, const char* s) {
  const char* begin = p.strings.data();
  return s >= begin && s < begin + p.strings.size();
}

// The string must start in the area and end (its NUL) inside it too.
void check_string(const DecodedPlan& p, const char* s) {
  FUZZ_ASSERT(in_area(p, s));
  size_t room = p.strings.size() - size_t(s - p.strings.data());
  FUZZ_ASSERT(memchr(s, '\0', room) != nullptr);
}

// Returns the index of the array in p.lists that `list` is the data of.
size_t owning_list(const DecodedPlan& p, const char* const* list) {
  for (size_t j = 0; j < p.lists.size(); j++) {
    if (p.lists[j].data() == list) return j;
  }
  FUZZ_ASSERT(!"list pointer outside DecodedPlan::lists");
  return 0;
}

// Walks a NULL-terminated list; returns its length.
size_t check_list(const DecodedPlan& p, const char* const* list, bool strings_in_area) {
  const std::vector<const char*>& storage = p.lists[owning_list(p, list)];
  FUZZ_ASSERT(!storage.empty() && storage.back() == nullptr);
  size_t n = 0;
  for (; list[n] != nullptr; n++) {
    FUZZ_ASSERT(n + 1 < storage.size());
    if (strings_in_area) check_string(p, list[n]);
    else FUZZ_ASSERT(strlen(list[n]) < (1u << 20));  // touch every byte
  }
  FUZZ_ASSERT(n + 1 == storage.size());
  return n;
}

bool is_parent_op(Op op) {
  return op == Op::kClone || op == Op::kWriteSetgroups || op == Op::kWriteUidMap || op == Op::kWriteGidMap;
}

void check_decoded(const DecodedPlan& p, size_t fd_count) {
  FUZZ_ASSERT(p.view.steps == p.steps.data());
  FUZZ_ASSERT(p.view.count == p.steps.size());
  FUZZ_ASSERT(p.view.count >= 3);  // clone, at least one install, exec
  FUZZ_ASSERT(p.view.count <= cordon::abi::kMaxSteps);
  FUZZ_ASSERT(p.clone_step == 0 && p.steps[0].op == Op::kClone);
  const cordon::child::Step& last = p.steps.back();
  FUZZ_ASSERT(last.op == Op::kExec || last.op == Op::kExecInit);
  FUZZ_ASSERT(p.uses_init == (last.op == Op::kExecInit));
  if (p.uses_init) FUZZ_ASSERT(last.fd >= 0);
  if (p.into_cgroup) FUZZ_ASSERT(p.cgroup_fd >= 0);
  FUZZ_ASSERT(p.view.control.highest_target >= 2);
  FUZZ_ASSERT(p.view.control.highest_target < int(cordon::abi::kMaxInstalledFds));

  bool seen_child = false, seen_install = false, install_closed = false, needs_sync = false;
  int highest = 2;
  for (size_t i = 0; i < p.steps.size(); i++) {
    const cordon::child::Step& s = p.steps[i];
    // Side checks that do not break when opcodes are appended: the known
    // parent ops must be parent-side, and parent steps precede child steps.
    FUZZ_ASSERT(s.side == Side::kParent || s.side == Side::kChild);
    if (is_parent_op(s.op)) FUZZ_ASSERT(s.side == Side::kParent);
    if (s.op == Op::kInstallFd || s.op == Op::kExec || s.op == Op::kExecInit) FUZZ_ASSERT(s.side == Side::kChild);
    if (s.side == Side::kParent) FUZZ_ASSERT(!seen_child);
    else seen_child = true;
    if (s.fd != -1) {
      bool from_fds = false;
      for (size_t k = 0; k < fd_count; k++) from_fds |= s.fd == kFds[k];
      FUZZ_ASSERT(from_fds);
    }
    for (int k = 0; k < 4; k++) {
      if (s.str[k] != nullptr) check_string(p, s.str[k]);
    }
    const bool exec = s.op == Op::kExec || s.op == Op::kExecInit;
    FUZZ_ASSERT(exec == (i + 1 == p.steps.size()));
    // Every field as the op table declares it: numbers in range, unused
    // slots empty, lists as long as their count says.
    const cordon::abi::OpLayout& layout = cordon::abi::layout_of(s.op);
    FUZZ_ASSERT(s.side == layout.side);
    if (layout.fd == cordon::abi::FdUse::kNone) FUZZ_ASSERT(s.fd == -1);
    if (layout.fd == cordon::abi::FdUse::kRequired) FUZZ_ASSERT(s.fd >= 0);
    for (int k = 0; k < 4; k++) {
      const cordon::abi::NumField& num = layout.num[k];
      if (num.name == nullptr) FUZZ_ASSERT(s.num[k] == 0);
      if (num.checked) FUZZ_ASSERT(s.num[k] >= num.min && s.num[k] <= num.max);
      const cordon::abi::StrField& str = layout.str[k];
      using cordon::abi::StrUse;
      if (str.use == StrUse::kNone) FUZZ_ASSERT(s.str[k] == nullptr);
      if (str.use == StrUse::kRequired) FUZZ_ASSERT(s.str[k] != nullptr);
      if (str.use != StrUse::kList && str.use != StrUse::kOptionalList) {
        FUZZ_ASSERT(s.list[k] == nullptr);
        continue;
      }
      if (str.use == StrUse::kList) FUZZ_ASSERT(s.list[k] != nullptr);
      if (s.list[k] == nullptr) {
        FUZZ_ASSERT(s.num[str.count_slot] == 0);
        continue;
      }
      size_t n = check_list(p, s.list[k], true);
      FUZZ_ASSERT(int64_t(n) == s.num[str.count_slot]);
      if (n > 0) FUZZ_ASSERT(s.list[k][0] == s.str[k]);
    }
    if (exec) FUZZ_ASSERT(s.num[0] >= 1 && s.num[2] >= 1);
    FUZZ_ASSERT((s.blob != nullptr) == (s.op == Op::kSeccomp));
    if (s.op == Op::kInstallFd) {
      FUZZ_ASSERT(!install_closed);
      FUZZ_ASSERT(s.fd >= 0);
      FUZZ_ASSERT(s.num[0] >= 0 && s.num[0] < int64_t(cordon::abi::kMaxInstalledFds));
      if (s.num[0] > highest) highest = int(s.num[0]);
      seen_install = true;
    } else if (seen_install) {
      install_closed = true;
    }
    if (s.op == Op::kJoinNamespace) FUZZ_ASSERT(s.fd >= 0);
    if (s.op == Op::kWaitForParent) needs_sync = true;
    if (s.op == Op::kWriteSetgroups || s.op == Op::kWriteUidMap || s.op == Op::kWriteGidMap ||
        s.op == Op::kSetHostname || s.op == Op::kChdir) {
      FUZZ_ASSERT(s.str[0] != nullptr);
    }
  }
  FUZZ_ASSERT(seen_install);
  FUZZ_ASSERT(highest == p.view.control.highest_target);
  FUZZ_ASSERT(needs_sync == p.needs_sync);
}

// finish_init_argv, then the shape native/init/cordon_init.c parses.
void check_init_argv(DecodedPlan* p) {
  const cordon::child::Step& exec = p->steps.back();
  const int64_t candidates = exec.num[2], payload = exec.num[0];
  const size_t lists_before = p->lists.size();
  cordon::finish_init_argv(p);
  FUZZ_ASSERT(p->lists.size() == lists_before + 1);
  const char* const* argv = exec.list[0];
  FUZZ_ASSERT(argv == p->lists.back().data());
  // Between the candidates and "--": "--rlimit STEP RESOURCE SOFT HARD" per
  // rlimit step, "--release" for a parent-death signal until recorded, then
  // "--seccomp STEP HEX" when a filter precedes the exec.
  const uint32_t last = p->view.count - 1;
  int64_t options = 0;
  for (uint32_t i = 0; i < last; i++) {
    if (p->steps[i].op == cordon::abi::Op::kSetRlimit) options += 5;
  }
  const bool filtered = last > 0 && p->steps[last - 1].op == cordon::abi::Op::kSeccomp;
  if (filtered) options += 3;
  if (p->awaits_release) options += 1;  // "--release", before the filter
  size_t n = check_list(*p, argv, false);
  FUZZ_ASSERT(int64_t(n) == 5 + candidates + options + 1 + payload);
  FUZZ_ASSERT(strcmp(argv[0], "cordon-init") == 0);
  FUZZ_ASSERT(atoi(argv[1]) == p->view.control.highest_target + 1);
  FUZZ_ASSERT(atoi(argv[2]) == p->view.control.highest_target + 2);
  FUZZ_ASSERT(atoll(argv[3]) == int64_t(last));
  FUZZ_ASSERT(atoll(argv[4]) == candidates);
  int64_t at = 5 + candidates;
  for (uint32_t i = 0; i < last; i++) {
    const cordon::child::Step& step = p->steps[i];
    if (step.op != cordon::abi::Op::kSetRlimit) continue;
    FUZZ_ASSERT(strcmp(argv[at], "--rlimit") == 0);
    FUZZ_ASSERT(atoll(argv[at + 1]) == int64_t(i));
    FUZZ_ASSERT(atoll(argv[at + 2]) == step.num[0]);
    FUZZ_ASSERT(atoll(argv[at + 3]) == step.num[1]);
    FUZZ_ASSERT(atoll(argv[at + 4]) == step.num[2]);
    at += 5;
  }
  if (p->awaits_release) {
    FUZZ_ASSERT(strcmp(argv[at], "--release") == 0);
    at += 1;
  }
  if (filtered) {
    FUZZ_ASSERT(strcmp(argv[at], "--seccomp") == 0);
    FUZZ_ASSERT(atoll(argv[at + 1]) == int64_t(last) - 1);
    FUZZ_ASSERT(argv[at + 2] == p->steps[last - 1].str[0]);
    at += 3;
  }
  FUZZ_ASSERT(strcmp(argv[at], "--") == 0);
  for (int64_t i = 0; i < candidates; i++) FUZZ_ASSERT(argv[5 + i] == exec.list[2][i]);
  for (int64_t i = 0; i < payload; i++) FUZZ_ASSERT(in_area(*p, argv[at + 1 + i]));
  // The untouched lists still check out after `lists` grew.
  check_list(*p, exec.list[1], true);
  check_list(*p, exec.list[2], true);
}

// Returns "" if the plan decoded, else the decoder's message.
std::string run_one(const uint8_t* data, size_t size) {
  // Usually hand the decoder the fd count the header asks for (so fuzzing gets
  // past that check); otherwise the fixed maximum.
  size_t fd_count = kMaxFds;
  if (size >= cordon_test::kHeaderSize) {
    uint32_t wanted = cordon_test::read32(data + cordon_test::kOffFdSlots);
    if (wanted <= kMaxFds) fd_count = wanted;
  }
  std::unique_ptr<int32_t[]> fds(fd_count ? new int32_t[fd_count] : nullptr);
  for (size_t i = 0; i < fd_count; i++) fds[i] = kFds[i];
  std::unique_ptr<uint8_t[]> plan(new uint8_t[size ? size : 1]);
  if (size) memcpy(plan.get(), data, size);
  g_input = data;
  g_input_size = size;

  std::unique_ptr<DecodedPlan> decoded(new DecodedPlan);
  std::string error = cordon::decode_plan(plan.get(), size, fds.get(), fd_count, decoded.get());
  // The decoded plan must not depend on the input buffer or the fd array.
  memset(plan.get(), 0xa5, size);
  plan.reset();
  fds.reset();
  if (error.empty()) {
    check_decoded(*decoded, fd_count);
    check_init_argv(decoded.get());
  }
  g_input = nullptr;
  return error;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  run_one(data, size);
  return 0;
}

#ifdef CORDON_FUZZ_STANDALONE

#include <map>
#include <random>

#if defined(__has_include)
#if __has_include(<sanitizer/common_interface_defs.h>) && \
    (defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__))
#include <sanitizer/common_interface_defs.h>
#define CORDON_HAVE_SANITIZER_API 1
#endif
#endif

namespace {

using cordon_test::PlanBuilder;
using cordon_test::Rec;

std::vector<std::vector<uint8_t>> seed_plans() {
  std::vector<std::vector<uint8_t>> seeds;
  {
    PlanBuilder b;
    b.fd_slots = 1;
    b.clone();
    b.install(0, 0);
    b.exec({"echo", "hi"}, {"PATH=/bin"}, {"/bin/echo", "/usr/bin/echo"});
    seeds.push_back(b.build());
  }
  {
    PlanBuilder b;
    b.fd_slots = 5;  // slot 4 (a negative fd) is not referenced
    Rec& c = b.clone(0x7e020000);
    c.num[1] = 1;
    c.fd = 0;
    uint32_t deny = b.add("deny"), map = b.add("0 1000 1\n");
    b.step(Op::kWriteSetgroups, Side::kParent).str[0] = deny;
    b.step(Op::kWriteUidMap, Side::kParent).str[0] = map;
    b.step(Op::kWriteGidMap, Side::kParent).str[0] = map;
    b.step(Op::kWaitForParent, Side::kChild);
    b.step(Op::kSetParentDeathSignal, Side::kChild).num[0] = 9;
    b.step(Op::kJoinNamespace, Side::kChild, 1);
    b.step(Op::kSetHostname, Side::kChild).str[0] = b.add("box");
    b.step(Op::kChdir, Side::kChild).str[0] = b.add("/tmp");
    b.install(2, 0);
    b.install(2, 1);
    b.install(1, 7);
    b.step(Op::kCloseOtherFds, Side::kChild);
    b.exec({"sh", "-c", "exit 3"}, {"A=1", "B=2"}, {"/bin/sh", "/usr/bin/sh"}, Op::kExecInit, 3);
    seeds.push_back(b.build());
  }
  {
    PlanBuilder b;  // empty strings everywhere, lists sharing bytes
    b.fd_slots = 2;
    b.clone();
    b.install(0, 0);
    b.install(1, 255);
    Rec& e = b.exec({"", ""}, {}, {""}, Op::kExecInit, 1);
    e.str[1] = 0;
    seeds.push_back(b.build());
  }
  return seeds;
}

// Values worth planting in 32- and 64-bit fields.
const uint64_t kInteresting[] = {0,          1,          2,          3,          4,         5,
                                 7,          15,         16,         17,         18,        19,
                                 20,         21,         31,         32,         63,        64,
                                 96,         255,        256,        1023,       1024,      4095,
                                 4096,       4097,       0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
                                 0xffffffffffffffffull, 0x8000000000000000ull, 0x7fffffffffffffffull};

struct Mutator {
  std::mt19937_64 rng;
  explicit Mutator(uint64_t seed) : rng(seed) {}
  uint64_t below(uint64_t n) { return n == 0 ? 0 : rng() % n; }
  uint64_t interesting() {
    return kInteresting[below(sizeof kInteresting / sizeof kInteresting[0])];
  }

  // Keeps the header's step_count / strings_offset / strings_size consistent
  // with the buffer, so mutations get past the outer checks more often.
  static void fix_header(std::vector<uint8_t>* b) {
    if (b->size() < cordon_test::kHeaderSize) return;
    size_t steps = (b->size() - cordon_test::kHeaderSize) / cordon_test::kStepSize;
    uint32_t count = cordon_test::read32(b->data() + cordon_test::kOffStepCount);
    if (count < steps) steps = count;
    size_t off = cordon_test::kHeaderSize + steps * cordon_test::kStepSize;
    cordon_test::patch32(b, cordon_test::kOffStepCount, uint32_t(steps));
    cordon_test::patch32(b, cordon_test::kOffStringsOffset, uint32_t(off));
    cordon_test::patch32(b, cordon_test::kOffStringsSize, uint32_t(b->size() - off));
  }

  void mutate_once(std::vector<uint8_t>* b) {
    switch (below(11)) {
      case 0:  // flip a bit
        if (!b->empty()) (*b)[below(b->size())] ^= uint8_t(1u << below(8));
        break;
      case 1:  // random byte
        if (!b->empty()) (*b)[below(b->size())] = uint8_t(rng());
        break;
      case 2:  // interesting 32-bit value at an aligned offset (every field is aligned)
        if (b->size() >= 4) cordon_test::patch32(b, below(b->size() / 4) * 4, uint32_t(interesting()));
        break;
      case 3:  // interesting value in a step field (op, side, fd, flags, num, str)
        if (b->size() >= cordon_test::kHeaderSize + cordon_test::kStepSize) {
          size_t steps = (b->size() - cordon_test::kHeaderSize) / cordon_test::kStepSize;
          size_t base = cordon_test::kHeaderSize + below(steps) * cordon_test::kStepSize;
          size_t field = below(16);  // 16 four-byte words per step
          uint64_t v = interesting();
          cordon_test::patch32(b, base + field * 4, uint32_t(v));
          if (field >= 4 && field < 12 && field % 2 == 0) cordon_test::patch32(b, base + field * 4 + 4, uint32_t(v >> 32));
        }
        break;
      case 4:  // truncate
        if (!b->empty()) b->resize(below(b->size()));
        break;
      case 5:  // append bytes
        for (uint64_t n = 1 + below(8); n > 0; n--) b->push_back(below(3) == 0 ? 0 : uint8_t(rng()));
        break;
      case 6:  // duplicate a step record
      case 7:  // delete a step record
      case 8: {  // swap two step records
        if (b->size() < cordon_test::kHeaderSize + cordon_test::kStepSize) break;
        uint32_t count = cordon_test::read32(b->data() + cordon_test::kOffStepCount);
        size_t steps = (b->size() - cordon_test::kHeaderSize) / cordon_test::kStepSize;
        if (count < steps) steps = count;
        if (steps == 0) break;
        size_t at = cordon_test::kHeaderSize + below(steps) * cordon_test::kStepSize;
        std::vector<uint8_t> rec(b->begin() + at, b->begin() + at + cordon_test::kStepSize);
        uint32_t new_count = uint32_t(steps);
        auto strings_at = [&](uint32_t steps_now) { return cordon_test::kHeaderSize + steps_now * cordon_test::kStepSize; };
        const size_t strings_begin = strings_at(uint32_t(steps));
        std::vector<uint8_t> tail(b->begin() + strings_begin, b->end());
        b->resize(strings_begin);
        uint64_t op = below(3);
        if (op == 0) {
          b->insert(b->begin() + at, rec.begin(), rec.end());
          new_count++;
        } else if (op == 1) {
          b->erase(b->begin() + at, b->begin() + at + cordon_test::kStepSize);
          new_count--;
        } else {
          size_t other = cordon_test::kHeaderSize + below(steps) * cordon_test::kStepSize;
          for (size_t i = 0; i < cordon_test::kStepSize; i++) std::swap((*b)[at + i], (*b)[other + i]);
        }
        b->insert(b->end(), tail.begin(), tail.end());
        cordon_test::patch32(b, cordon_test::kOffStepCount, new_count);
        fix_header(b);
        break;
      }
      case 9:  // overwrite a byte of the string area with NUL or a letter
        if (!b->empty()) (*b)[b->size() - 1 - below(std::min<size_t>(b->size(), 64))] = below(2) ? 0 : 'A';
        break;
      default:  // re-derive the header's bounds from the buffer
        fix_header(b);
        break;
    }
  }

  std::vector<uint8_t> next(const std::vector<std::vector<uint8_t>>& seeds) {
    if (below(50) == 0) {  // pure noise, occasionally with a valid-looking header
      std::vector<uint8_t> b(below(600));
      for (auto& c : b) c = uint8_t(rng());
      if (b.size() >= 8 && below(2)) {
        cordon_test::patch32(&b, cordon_test::kOffMagic, cordon::abi::kPlanMagic);
        cordon_test::patch32(&b, cordon_test::kOffVersion, cordon::abi::kPlanAbiVersion);
        fix_header(&b);
      }
      return b;
    }
    std::vector<uint8_t> b = seeds[below(seeds.size())];
    for (uint64_t n = 1 + below(4); n > 0; n--) mutate_once(&b);
    if (below(3) == 0) fix_header(&b);
    return b;
  }
};

int write_seeds(const char* dir) {
  auto seeds = seed_plans();
  for (size_t i = 0; i < seeds.size(); i++) {
    std::string path = std::string(dir) + "/seed-" + std::to_string(i) + ".plan";
    FILE* f = fopen(path.c_str(), "wb");
    if (f == nullptr) {
      perror(path.c_str());
      return 1;
    }
    fwrite(seeds[i].data(), 1, seeds[i].size(), f);
    fclose(f);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0) return write_seeds(argv[2]);
  const long iterations = argc > 1 ? atol(argv[1]) : 20000;
  const uint64_t seed = argc > 2 ? strtoull(argv[2], nullptr, 0) : 0xc0d0;
#ifdef CORDON_HAVE_SANITIZER_API
  // libFuzzer saves crashing inputs itself; the standalone driver prints them.
  __sanitizer_set_death_callback(dump_input);
#endif
  auto seeds = seed_plans();
  // The seeds themselves must decode, or the driver explores nothing.
  for (const auto& s : seeds) {
    std::string error = run_one(s.data(), s.size());
    if (!error.empty()) {
      fprintf(stderr, "fuzz_plan_decode: a seed plan was rejected: %s\n", error.c_str());
      return 1;
    }
  }
  Mutator m(seed);
  long accepted = 0;
  std::map<std::string, long> reasons;
  for (long i = 0; i < iterations; i++) {
    std::vector<uint8_t> input = m.next(seeds);
    std::string error = run_one(input.data(), input.size());
    if (error.empty()) {
      accepted++;
      continue;
    }
    // "step 3: unknown op 77" -> "unknown op"; "plan needs 9 fds, got 4" -> "plan needs"
    if (error.compare(0, 5, "step ") == 0 && error.find(": ") != std::string::npos) {
      error = error.substr(error.find(": ") + 2);
    }
    size_t digit = error.find_first_of("0123456789");
    if (digit != std::string::npos) error = error.substr(0, digit);
    reasons[error]++;
  }
  printf("fuzz_plan_decode: %ld inputs (seed %#llx), %ld decoded, %ld rejected\n", iterations,
         (unsigned long long)seed, accepted, iterations - accepted);
  if (getenv("CORDON_FUZZ_VERBOSE") != nullptr) {
    for (const auto& r : reasons) printf("  %7ld  %s\n", r.second, r.first.c_str());
  }
  // A driver that never reaches the success path (or never the failure one)
  // is broken, not green.
  if (iterations >= 1000 && (accepted == 0 || accepted == iterations)) {
    fprintf(stderr, "fuzz_plan_decode: mutations are not exploring both outcomes\n");
    return 1;
  }
  return 0;
}

#endif  // CORDON_FUZZ_STANDALONE
