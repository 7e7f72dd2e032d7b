// Standalone tests for native/plan_decode.cc: no framework, exit status 1 on
// any failed check. Built and run by test/cpp/run.sh under ASan+UBSan.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memory>
#include <string>
#include <vector>

#include "plan_builder.h"
#include "plan_decode.h"

using namespace cordon_test;
using cordon::DecodedPlan;
using cordon::decode_plan;
using cordon::finish_init_argv;
using Op = cordon::abi::Op;
using Side = cordon::abi::Side;

static int g_checks = 0, g_failures = 0;
static const char* g_case = "";

#define CHECK(cond)                                                                          \
  do {                                                                                       \
    g_checks++;                                                                              \
    if (!(cond)) {                                                                           \
      g_failures++;                                                                          \
      fprintf(stderr, "FAIL [%s] %s:%d: CHECK(%s)\n", g_case, __FILE__, __LINE__, #cond);   \
    }                                                                                        \
  } while (0)

#define CHECK_EQ_STR(a, b)                                                                        \
  do {                                                                                            \
    g_checks++;                                                                                   \
    const std::string a_ = (a), b_ = (b);                                                         \
    if (a_ != b_) {                                                                               \
      g_failures++;                                                                               \
      fprintf(stderr, "FAIL [%s] %s:%d: %s == %s\n    got:      \"%s\"\n    expected: \"%s\"\n", \
              g_case, __FILE__, __LINE__, #a, #b, a_.c_str(), b_.c_str());                         \
    }                                                                                             \
  } while (0)

// Decodes from an exact-size heap copy (so ASan flags any read past the end)
// with an exact-size heap fd array.
struct Decoded {
  std::unique_ptr<DecodedPlan> plan{new DecodedPlan};
  std::string error;
};

static Decoded decode(const std::vector<uint8_t>& bytes, const std::vector<int32_t>& fds) {
  Decoded d;
  std::unique_ptr<uint8_t[]> buf(new uint8_t[bytes.size() ? bytes.size() : 1]);
  if (!bytes.empty()) memcpy(buf.get(), bytes.data(), bytes.size());
  std::unique_ptr<int32_t[]> fd_buf(fds.empty() ? nullptr : new int32_t[fds.size()]);
  if (!fds.empty()) memcpy(fd_buf.get(), fds.data(), fds.size() * sizeof(int32_t));
  d.error = decode_plan(buf.get(), bytes.size(), fd_buf.get(), fds.size(), d.plan.get());
  // The decoder must have copied what it needs: scribble over the input.
  memset(buf.get(), 0xa5, bytes.size());
  return d;
}

static std::vector<std::string> list_of(const char* const* list) {
  std::vector<std::string> out;
  if (list == nullptr) return out;
  for (size_t i = 0; list[i] != nullptr && i < 100000; i++) out.push_back(list[i]);
  return out;
}

static bool in_area(const DecodedPlan& p, const char* s) {
  const char* begin = p.strings.data();
  return s >= begin && s < begin + p.strings.size();
}

// A small valid plan: clone, install slot 0 -> fd 0, exec.
static PlanBuilder minimal() {
  PlanBuilder b;
  b.fd_slots = 1;
  b.clone(0x20000000 /* CLONE_NEWUTS-ish, any value */);
  b.install(0, 0);
  b.exec({"echo", "hi"}, {"PATH=/bin"}, {"/bin/echo", "/usr/bin/echo"});
  return b;
}

// Expects decoding to fail; returns the message.
static std::string expect_reject(const char* name, const std::vector<uint8_t>& bytes,
                                 const std::vector<int32_t>& fds, const char* contains = nullptr) {
  g_case = name;
  Decoded d = decode(bytes, fds);
  CHECK(!d.error.empty());
  if (contains != nullptr && d.error.find(contains) == std::string::npos) {
    g_failures++;
    fprintf(stderr, "FAIL [%s] error \"%s\" does not mention \"%s\"\n", name, d.error.c_str(), contains);
  }
  return d.error;
}
static std::string expect_reject(const char* name, const PlanBuilder& b, const std::vector<int32_t>& fds,
                                 const char* contains = nullptr) {
  return expect_reject(name, b.build(), fds, contains);
}

static void expect_accept(const char* name, const PlanBuilder& b, const std::vector<int32_t>& fds) {
  g_case = name;
  Decoded d = decode(b.build(), fds);
  CHECK_EQ_STR(d.error, "");
}

// ---------------------------------------------------------------------------

static void test_minimal_valid() {
  g_case = "minimal valid plan";
  PlanBuilder b = minimal();
  std::vector<uint8_t> bytes = b.build();
  CHECK(bytes.size() == kHeaderSize + 3 * kStepSize + b.strings.size());
  Decoded d = decode(bytes, {7});
  CHECK_EQ_STR(d.error, "");
  if (!d.error.empty()) return;
  const DecodedPlan& p = *d.plan;
  CHECK(p.view.count == 3);
  CHECK(p.view.steps == p.steps.data());
  CHECK(p.steps.size() == 3);
  CHECK(p.clone_step == 0);
  CHECK(p.clone_flags == 0x20000000);
  CHECK(!p.into_cgroup);
  CHECK(p.cgroup_fd == -1);
  CHECK(!p.needs_sync);
  CHECK(!p.uses_init);
  CHECK(!p.runs_id_map_helper);
  // Only target 0 is installed; the floor is 2 (stdio is always reserved).
  CHECK(p.view.control.highest_target == 2);

  const auto& s = p.steps;
  CHECK(s[0].op == Op::kClone && s[0].side == Side::kParent && s[0].fd == -1);
  CHECK(s[1].op == Op::kInstallFd && s[1].side == Side::kChild);
  CHECK(s[1].fd == 7);  // slot 0 resolved through the fds array
  CHECK(s[1].num[0] == 0);
  CHECK(s[2].op == Op::kExec && s[2].side == Side::kChild && s[2].fd == -1);
  for (int i = 0; i < 2; i++) {
    for (int k = 0; k < 4; k++) CHECK(s[i].str[k] == nullptr);
    CHECK(s[i].list[0] == nullptr && s[i].list[1] == nullptr && s[i].list[2] == nullptr);
  }
  CHECK(s[2].str[3] == nullptr);
  CHECK(s[2].str[0] != nullptr && strcmp(s[2].str[0], "echo") == 0);
  CHECK(s[2].num[0] == 2 && s[2].num[1] == 1 && s[2].num[2] == 2);
  CHECK(list_of(s[2].list[0]) == (std::vector<std::string>{"echo", "hi"}));
  CHECK(list_of(s[2].list[1]) == (std::vector<std::string>{"PATH=/bin"}));
  CHECK(list_of(s[2].list[2]) == (std::vector<std::string>{"/bin/echo", "/usr/bin/echo"}));
  CHECK(s[2].list[0][2] == nullptr);
  CHECK(s[2].list[1][1] == nullptr);
  CHECK(s[2].list[2][2] == nullptr);
  // Strings point into the decoder's own copy, not the caller's buffer.
  for (int k = 0; k < 3; k++) {
    for (const char* const* e = s[2].list[k]; *e != nullptr; e++) CHECK(in_area(p, *e));
  }
  CHECK(in_area(p, s[2].str[0]));
}

static void test_valid_variants() {
  {
    g_case = "highest_target follows the largest install target";
    PlanBuilder b;
    b.fd_slots = 3;
    b.clone();
    b.install(0, 0);
    b.install(1, 9);
    b.install(2, 1);
    b.exec({"x"}, {}, {"/x"});
    Decoded d = decode(b.build(), {10, 11, 12});
    CHECK_EQ_STR(d.error, "");
    if (d.error.empty()) {
      CHECK(d.plan->view.control.highest_target == 9);
      CHECK(d.plan->steps[1].fd == 10 && d.plan->steps[2].fd == 11 && d.plan->steps[3].fd == 12);
      CHECK(list_of(d.plan->steps[4].list[1]).empty());
      CHECK(d.plan->steps[4].list[1] != nullptr && d.plan->steps[4].list[1][0] == nullptr);
    }
  }
  {
    g_case = "target kMaxInstalledFds-1 accepted";
    PlanBuilder b;
    b.fd_slots = 1;
    b.clone();
    b.install(0, abi::kMaxInstalledFds - 1);
    b.exec({"x"}, {}, {"/x"});
    Decoded d = decode(b.build(), {3});
    CHECK_EQ_STR(d.error, "");
    if (d.error.empty()) CHECK(d.plan->view.control.highest_target == int(abi::kMaxInstalledFds - 1));
  }
  {
    g_case = "full plan with every op";
    PlanBuilder b;
    b.fd_slots = 4;  // 0 cgroup, 1 netns, 2 stdin source, 3 init binary
    Rec& c = b.clone(0x7e020000);
    c.num[1] = 1;
    c.fd = 0;
    uint32_t deny = b.add("deny"), map = b.add("0 1000 1\n");
    b.step(Op::kWriteSetgroups, Side::kParent).str[0] = deny;
    b.step(Op::kWriteUidMap, Side::kParent).str[0] = map;
    b.step(Op::kWriteGidMap, Side::kParent).str[0] = map;
    b.step(Op::kWaitForParent, Side::kChild);
    b.step(Op::kSetParentDeathSignal, Side::kChild).num[0] = 9;
    Rec& join = b.step(Op::kJoinNamespace, Side::kChild, 1);
    join.num[0] = 0x40000000;
    b.step(Op::kSetMountPropagation, Side::kChild).num[0] = 0x40000;
    b.step(Op::kLoopbackUp, Side::kChild);
    b.step(Op::kSetHostname, Side::kChild).str[0] = b.add("box");
    b.step(Op::kSetNoNewPrivs, Side::kChild);
    b.step(Op::kSetSid, Side::kChild);
    b.step(Op::kChdir, Side::kChild).str[0] = b.add("/tmp");
    b.install(2, 0);
    b.install(2, 1);
    b.step(Op::kCloseOtherFds, Side::kChild);
    b.step(Op::kDropCapabilities, Side::kChild);
    b.exec({"sh", "-c", "exit 3"}, {"A=1", "B=2"}, {"/bin/sh"}, Op::kExecInit, 3);
    Decoded d = decode(b.build(), {20, 21, 22, 23});
    CHECK_EQ_STR(d.error, "");
    if (d.error.empty()) {
      const DecodedPlan& p = *d.plan;
      CHECK(p.view.count == b.steps.size());
      CHECK(p.into_cgroup && p.cgroup_fd == 20);
      CHECK(p.clone_flags == 0x7e020000);
      CHECK(p.needs_sync);
      CHECK(p.uses_init);
      CHECK(p.steps[6].fd == 21);
      CHECK(strcmp(p.steps[2].str[0], "0 1000 1\n") == 0);
      CHECK(p.steps[2].str[0] == p.steps[3].str[0]);  // shared string
      CHECK(p.steps.back().fd == 23);
      CHECK(p.view.control.highest_target == 2);
    }
  }
  {
    g_case = "strings shorter than a std::string SSO buffer";
    PlanBuilder b;
    b.fd_slots = 1;
    b.clone();
    b.install(0, 0);
    b.exec({"a"}, {}, {"/a"});  // area is "a\0/a\0": 5 bytes
    Decoded d = decode(b.build(), {3});
    CHECK_EQ_STR(d.error, "");
    if (d.error.empty()) {
      CHECK(list_of(d.plan->steps[2].list[0]) == (std::vector<std::string>{"a"}));
      CHECK(in_area(*d.plan, d.plan->steps[2].list[2][0]));
    }
  }
  {
    g_case = "envp list may start at the very end with count 0";
    PlanBuilder b = minimal();
    b.steps.back().str[1] = uint32_t(b.strings.size()) - 1;  // the final NUL, count 0
    b.steps.back().num[1] = 0;
    Decoded d = decode(b.build(), {3});
    CHECK_EQ_STR(d.error, "");
  }
  {
    g_case = "a list may consist of empty strings";
    PlanBuilder b;
    b.fd_slots = 1;
    b.clone();
    b.install(0, 0);
    b.exec({"", ""}, {""}, {"/x"});
    Decoded d = decode(b.build(), {3});
    CHECK_EQ_STR(d.error, "");
    if (d.error.empty()) CHECK(list_of(d.plan->steps[2].list[0]) == (std::vector<std::string>{"", ""}));
  }
}

static void test_header_rejections() {
  const std::vector<uint8_t> good = minimal().build();
  const std::vector<int32_t> fds = {3};
  {
    g_case = "sanity: the base plan is accepted";
    CHECK_EQ_STR(decode(good, fds).error, "");
  }
  expect_reject("empty buffer", std::vector<uint8_t>(), fds);
  expect_reject("buffer shorter than the header", std::vector<uint8_t>(good.begin(), good.begin() + 31), fds);
  expect_reject("buffer cut inside the steps", std::vector<uint8_t>(good.begin(), good.begin() + 100), fds);
  expect_reject("buffer cut inside the strings",
                std::vector<uint8_t>(good.begin(), good.end() - 1), fds, "bounds");
  {
    auto bad = good;
    bad[kOffMagic] ^= 1;
    expect_reject("bad magic", bad, fds, "magic");
  }
  {
    auto bad = good;
    patch32(&bad, kOffVersion, abi::kPlanAbiVersion + 1);
    std::string e = expect_reject("wrong ABI version", bad, fds, "ABI version");
    g_case = "wrong ABI version message";
    CHECK(e.find(std::to_string(abi::kPlanAbiVersion + 1)) != std::string::npos);
    patch32(&bad, kOffVersion, 0);
    expect_reject("ABI version 0", bad, fds, "ABI version");
  }
  {
    PlanBuilder b;  // no steps at all, but a well-formed string area
    b.add("x");
    auto bad = b.build();
    CHECK(read32(&bad[kOffStringsOffset]) == kHeaderSize);
    expect_reject("zero steps", bad, {}, "step count");
  }
  {
    auto bad = good;
    patch32(&bad, kOffStepCount, 0);
    expect_reject("step count patched to zero", bad, fds);
    patch32(&bad, kOffStepCount, abi::kMaxSteps + 1);
    expect_reject("step count above kMaxSteps", bad, fds, "step count");
    patch32(&bad, kOffStepCount, 0xffffffffu);
    expect_reject("step count 2^32-1", bad, fds, "step count");
    patch32(&bad, kOffStepCount, 2);
    expect_reject("step count smaller than the records", bad, fds);
    patch32(&bad, kOffStepCount, 4);
    expect_reject("step count larger than the records", bad, fds);
  }
  expect_reject("fd_slot_count 1, no fds given", good, {}, "fds");
  expect_reject("fd_slot_count 1, two fds given", good, {3, 4}, "fds");
  {
    auto bad = good;
    patch32(&bad, kOffFdSlots, 0xffffffffu);
    expect_reject("fd_slot_count huge", bad, fds, "fds");
  }
  {
    auto bad = good;
    uint32_t off = read32(&bad[kOffStringsOffset]);
    patch32(&bad, kOffStringsOffset, off + 1);
    expect_reject("strings_offset one past the steps", bad, fds, "bounds");
    patch32(&bad, kOffStringsOffset, off - 1);
    expect_reject("strings_offset one before the steps end", bad, fds, "bounds");
    patch32(&bad, kOffStringsOffset, 0xffffffffu);
    expect_reject("strings_offset 2^32-1", bad, fds, "bounds");
  }
  {
    auto bad = good;
    uint32_t size = read32(&bad[kOffStringsSize]);
    patch32(&bad, kOffStringsSize, size - 1);
    expect_reject("strings_size one short", bad, fds, "bounds");
    patch32(&bad, kOffStringsSize, size + 1);
    expect_reject("strings_size one long", bad, fds, "bounds");
    patch32(&bad, kOffStringsSize, 0xffffffffu);
    expect_reject("strings_size 2^32-1", bad, fds, "bounds");
  }
  {
    auto bad = good;
    bad.push_back(0);  // trailing byte the header does not account for
    expect_reject("trailing garbage after the string area", bad, fds, "bounds");
  }
  {
    auto bad = good;
    bad.back() = 'x';
    expect_reject("string area not NUL-terminated", bad, fds, "NUL");
  }
  {
    PlanBuilder b;
    b.fd_slots = 1;
    b.clone();
    b.install(0, 0);
    Rec& e = b.step(Op::kExec, Side::kChild);  // lists point nowhere, area empty
    e.str[0] = e.str[1] = e.str[2] = 0;
    e.num[0] = e.num[2] = 1;
    expect_reject("empty string area", b, fds, "NUL");
  }
}

static void test_step_rejections() {
  const std::vector<int32_t> fds = {3};
  // Opcodes are appended over time (the ABI grows), so stay far from the end.
  for (uint32_t op : {0u, 0xffffu, 0x80000001u, 0xffffffffu}) {
    PlanBuilder b = minimal();
    b.steps[1].op = op;
    expect_reject("unknown op", b, fds, "unknown op");
  }
  {
    PlanBuilder b = minimal();
    b.steps[1].side = u(Side::kParent);
    expect_reject("child op (install) on the parent side", b, fds, "wrong side");
  }
  {
    PlanBuilder b = minimal();
    b.steps[0].side = u(Side::kChild);
    expect_reject("clone on the child side", b, fds, "wrong side");
  }
  for (uint32_t side : {0u, 3u, 0xffffffffu}) {
    PlanBuilder b = minimal();
    b.steps[2].side = side;
    expect_reject("invalid side value", b, fds, "wrong side");
  }
  {
    PlanBuilder b;
    b.fd_slots = 1;
    b.step(Op::kWriteSetgroups, Side::kParent).str[0] = b.add("deny");
    b.clone();
    b.install(0, 0);
    b.exec({"x"}, {}, {"/x"});
    expect_reject("clone not first", b, fds, "first");
  }
  {
    PlanBuilder b = minimal();
    b.steps.insert(b.steps.begin() + 1, b.steps[0]);
    expect_reject("two clone steps", b, fds, "first");
  }
  {
    PlanBuilder b;
    b.fd_slots = 1;
    b.install(0, 0);
    b.exec({"x"}, {}, {"/x"});
    expect_reject("no clone step", b, fds, "clone");
  }
  {
    PlanBuilder b;
    b.fd_slots = 1;
    b.clone();
    b.step(Op::kWaitForParent, Side::kChild);
    b.step(Op::kWriteUidMap, Side::kParent).str[0] = b.add("0 0 1");
    b.install(0, 0);
    b.exec({"x"}, {}, {"/x"});
    expect_reject("parent step after a child step", b, fds, "parent step after");
  }
  {
    PlanBuilder b = minimal();
    b.steps[1].fd = 1;
    expect_reject("fd slot == fd_count", b, fds, "fd slot out of range");
    b.steps[1].fd = 0x7fffffff;
    expect_reject("fd slot INT32_MAX", b, fds, "fd slot out of range");
    b.steps[1].fd = -2;
    expect_reject("fd slot -2", b, fds, "fd slot");
    b.steps[1].fd = int32_t(0x80000000u);
    expect_reject("fd slot INT32_MIN", b, fds, "fd slot");
  }
  {
    PlanBuilder b = minimal();
    b.steps[0].fd = 0;  // clone with an (unused) fd slot
    expect_reject("fd slot refers to a negative fd", b.build(), {-1}, "negative fd");
  }
  {
    PlanBuilder b = minimal();
    // A chdir before the fd table: its path is the string under test.
    Rec chdir;
    chdir.op = u(Op::kChdir);
    chdir.side = u(Side::kChild);
    b.steps.insert(b.steps.begin() + 1, chdir);
    uint32_t size = uint32_t(b.strings.size());
    b.steps[1].str[0] = size;
    expect_reject("string offset == area size", b, fds, "string offset out of range");
    b.steps[1].str[0] = size + 100;
    expect_reject("string offset past the area", b, fds, "string offset out of range");
    b.steps[1].str[0] = abi::kNoString - 1;
    expect_reject("string offset kNoString-1", b, fds, "string offset out of range");
    b.steps[1].str[0] = size - 1;
    b.steps[1].str[3] = size - 1;
    expect_reject("a string in a slot the op does not use", b, fds, "unused");
    b.steps[1].str[3] = abi::kNoString;
    b.steps[1].num[2] = 1;
    expect_reject("a number in a slot the op does not use", b, fds, "unused");
    b.steps[1].num[2] = 0;
    expect_accept("string offset == area size - 1 (the final NUL)", b, fds);
  }
  {
    PlanBuilder b = minimal();
    b.steps.back().str[2] = uint32_t(b.strings.size());
    expect_reject("exec list offset out of range", b, fds, "string offset out of range");
  }
  {
    PlanBuilder b;
    b.fd_slots = 1;
    b.clone();
    b.install(0, 0);
    b.step(Op::kSetSid, Side::kChild);
    b.install(0, 1);
    b.exec({"x"}, {}, {"/x"});
    expect_reject("install steps not adjacent", b, fds, "adjacent");
  }
  {
    PlanBuilder b;
    b.fd_slots = 1;
    b.clone();
    b.install(0, 1);
    b.install(0, 1);
    b.exec({"x"}, {}, {"/x"});
    expect_reject("an fd target installed twice", b, fds, "installed twice");
  }
  {
    PlanBuilder b = minimal();
    Rec retired = b.steps[1];
    b.steps.insert(b.steps.begin() + 1, retired);
    b.steps[1].op = u(Op::kMountProcRetired);
    b.steps[1].str[0] = b.add("/proc");
    expect_reject("the retired mount proc op", b, fds, "retired");
  }
  {
    PlanBuilder b = minimal();
    b.steps[1].flags = 1;
    expect_reject("unknown step flags", b, fds, "flags");
  }
  {
    PlanBuilder b = minimal();
    b.steps[0].num[1] = 2;
    expect_reject("CLONE_INTO_CGROUP flag neither 0 nor 1", b, fds, "CLONE_INTO_CGROUP");
  }
  {
    PlanBuilder b = minimal();
    b.steps[0].num[2] = 3100000;
    expect_reject("a namespace owner without CLONE_NEWUSER", b, fds, "without a new user namespace");
  }
  {
    PlanBuilder b = minimal();
    b.steps[0].num[0] = 0x10000000;  // CLONE_NEWUSER
    b.steps[0].num[2] = -1;
    expect_reject("a negative namespace owner", b, fds, "bad namespace owner");
    b.steps[0].num[2] = 0xffffffffLL;
    expect_reject("namespace owner (uid_t)-1", b, fds, "bad namespace owner");
  }
  {
    PlanBuilder b;
    b.fd_slots = 1;
    b.clone();
    b.step(Op::kWriteUidMap, Side::kParent).str[0] = b.add("0 1000 1\n");
    b.install(0, 0);
    b.exec({"x"}, {}, {"/x"});
    expect_reject("id maps without a wait for the parent", b, fds, "wait for the parent");
  }
  {
    // Any parent step after the clone, not only the maps: the veth too.
    PlanBuilder b;
    b.fd_slots = 1;
    b.clone();
    Rec& veth = b.step(Op::kAttachVeth, Side::kParent);
    veth.num[0] = 0x0a000002;
    veth.num[1] = 24;
    veth.num[2] = 0x0a000001;
    veth.str[0] = b.add("br0");
    veth.str[1] = b.add("vh0");
    veth.str[2] = b.add("eth0");
    b.install(0, 0);
    b.exec({"x"}, {}, {"/x"});
    expect_reject("a veth without a wait for the parent", b, fds, "wait for the parent");
    b.steps.insert(b.steps.begin() + 2, Rec{});
    b.steps[2].op = u(Op::kWaitForParent);
    b.steps[2].side = u(Side::kChild);
    b.steps[2].fd = -1;
    expect_accept("a veth with a wait for the parent", b, fds);
  }
  {
    auto bad = minimal().build();
    bad[28] = 1;  // PlanHeader::reserved[1]
    expect_reject("reserved header field set", bad, fds, "reserved");
  }
  for (int64_t target : {int64_t(abi::kMaxInstalledFds), int64_t(abi::kMaxInstalledFds) + 1, int64_t(-1),
                         int64_t(0x100000000LL), int64_t(INT64_MIN)}) {
    PlanBuilder b = minimal();
    b.steps[1].num[0] = target;
    expect_reject("install target fd out of range", b, fds, "target fd");
  }
  {
    PlanBuilder b = minimal();
    b.steps[1].fd = -1;
    expect_reject("install without a source fd", b, fds, "source fd");
  }
  {
    PlanBuilder b = minimal();
    b.step(Op::kSetSid, Side::kChild);
    expect_reject("exec not last", b, fds, "last");
  }
  {
    PlanBuilder b = minimal();
    b.steps.push_back(b.steps.back());
    expect_reject("two exec steps", b, fds);
  }
  {
    PlanBuilder b = minimal();
    b.steps.pop_back();
    expect_reject("exec missing", b, fds, "no exec");
  }
  {
    PlanBuilder b;
    b.clone();
    b.exec({"x"}, {}, {"/x"});
    expect_reject("exec without installFd", b, {}, "fd table");
  }
  {
    PlanBuilder b;
    b.fd_slots = 1;
    b.clone();
    b.install(0, 0);
    b.exec({"x"}, {}, {"/x"}, Op::kExecInit, -1);
    expect_reject("execInit without an init fd", b, fds, "init without an fd");
  }
  {
    PlanBuilder b = minimal();
    b.steps.back().num[0] = 0;
    expect_reject("exec with argv count 0", b, fds, "argv[0]");
  }
  {
    PlanBuilder b = minimal();
    b.steps.back().num[2] = 0;
    expect_reject("exec with candidate count 0", b, fds, "candidate");
  }
  for (int k = 0; k < 3; k++) {
    PlanBuilder b = minimal();
    b.steps.back().str[k] = abi::kNoString;
    expect_reject("exec list missing", b, fds, "exec list missing");
  }
  {
    PlanBuilder b = minimal();  // candidates are the last two strings of the area
    b.steps.back().num[2] = 3;
    expect_reject("candidate list running past the area", b, fds, "bad exec list");
    b.steps.back().num[2] = 2;
    b.steps.back().str[2] = uint32_t(b.strings.size()) - 1;  // the final NUL: one string fits
    expect_reject("list starting at the final NUL, count 2", b, fds, "bad exec list");
  }
  {
    PlanBuilder b = minimal();
    b.steps.back().num[0] = 6;  // argv runs through envp and candidates, then past the end
    expect_reject("argv list running past the area", b, fds, "bad exec list");
    b.steps.back().num[0] = 5;  // exactly the rest of the area: accepted
    expect_accept("argv list ending exactly at the area end", b, fds);
  }
  for (int64_t count : {int64_t(-1), int64_t(INT64_MIN), int64_t(INT64_MAX), int64_t(0x100000001LL)}) {
    PlanBuilder b = minimal();
    b.steps.back().num[1] = count;
    expect_reject("envp count negative or huge", b, fds, "bad exec list");
  }
  {
    PlanBuilder b = minimal();
    b.step(Op::kChdir, Side::kChild);
    std::swap(b.steps[2], b.steps[3]);  // chdir before exec, no string
    expect_reject("chdir without a string", b, fds, "missing string");
  }
  {
    PlanBuilder b = minimal();
    b.steps[0].num[1] = 1;  // CLONE_INTO_CGROUP, no fd slot
    expect_reject("into-cgroup clone without an fd", b, fds, "cgroup");
  }
  {
    PlanBuilder b = minimal();
    b.step(Op::kJoinNamespace, Side::kChild);
    std::swap(b.steps[2], b.steps[3]);
    expect_reject("join without an fd", b, fds, "join");
  }
}

static void test_finish_init_argv() {
  {
    g_case = "finish_init_argv";
    PlanBuilder b;
    b.fd_slots = 3;
    b.clone();
    b.step(Op::kWaitForParent, Side::kChild);
    b.install(0, 0);
    b.install(1, 1);
    b.install(1, 2);
    b.install(0, 9);
    b.step(Op::kCloseOtherFds, Side::kChild);
    b.exec({"true", "x y"}, {"A=1"}, {"/bin/true", "/usr/bin/true"}, Op::kExecInit, 2);
    Decoded d = decode(b.build(), {30, 31, 32});
    CHECK_EQ_STR(d.error, "");
    if (!d.error.empty()) return;
    DecodedPlan& p = *d.plan;
    CHECK(p.uses_init);
    CHECK(p.view.control.highest_target == 9);
    const char* const* envp_before = p.steps.back().list[1];
    const char* const* candidates_before = p.steps.back().list[2];
    finish_init_argv(&p);
    const auto argv = list_of(p.steps.back().list[0]);
    const std::vector<std::string> want = {"cordon-init", "10", "11", "7", "2", "/bin/true",
                                           "/usr/bin/true", "--", "true", "x y"};
    CHECK(argv == want);
    if (argv != want) {
      fprintf(stderr, "    got:");
      for (const auto& a : argv) fprintf(stderr, " \"%s\"", a.c_str());
      fprintf(stderr, "\n");
    }
    CHECK(p.steps.back().list[0][want.size()] == nullptr);
    // The other lists survive the lists vector growing.
    CHECK(p.steps.back().list[1] == envp_before);
    CHECK(p.steps.back().list[2] == candidates_before);
    CHECK(list_of(p.steps.back().list[1]) == (std::vector<std::string>{"A=1"}));
    CHECK(list_of(p.steps.back().list[2]) == (std::vector<std::string>{"/bin/true", "/usr/bin/true"}));
    CHECK(p.steps.back().fd == 32);
    // The argv shape cordon_init.c's main() parses.
    int n = atoi(argv[4].c_str());
    CHECK(argv.size() >= size_t(5 + n + 2));
    CHECK(argv[5 + n] == "--");
  }
  {
    g_case = "finish_init_argv with rlimits and a filter";
    PlanBuilder b;
    b.fd_slots = 2;
    b.clone();
    b.install(0, 0);
    b.step(Op::kCloseOtherFds, Side::kChild);
    Rec& as = b.step(Op::kSetRlimit, Side::kChild);
    as.num[0] = 9;
    as.num[1] = 1024;
    as.num[2] = -1;
    Rec& nofile = b.step(Op::kSetRlimit, Side::kChild);
    nofile.num[0] = 7;
    nofile.num[1] = 100;
    nofile.num[2] = 200;
    Rec& filter = b.step(Op::kSeccomp, Side::kChild);
    filter.str[0] = b.add("0600000000000000");  // one instruction: return kill
    filter.num[0] = 1;
    b.exec({"a"}, {}, {"/a"}, Op::kExecInit, 1);
    Decoded d = decode(b.build(), {5, 6});
    CHECK_EQ_STR(d.error, "");
    if (!d.error.empty()) return;
    finish_init_argv(d.plan.get());
    const auto argv = list_of(d.plan->steps.back().list[0]);
    const std::vector<std::string> want = {"cordon-init", "3", "4", "6", "1", "/a", "--rlimit", "3", "9", "1024", "-1",
                                           "--rlimit", "4", "7", "100", "200", "--seccomp", "5", "0600000000000000",
                                           "--", "a"};
    CHECK(argv == want);
    if (argv != want) {
      fprintf(stderr, "    got:");
      for (const auto& a : argv) fprintf(stderr, " \"%s\"", a.c_str());
      fprintf(stderr, "\n");
    }
  }
  {
    g_case = "finish_init_argv with a parent-death signal until recorded";
    PlanBuilder b;
    b.fd_slots = 2;
    b.clone();
    Rec& death = b.step(Op::kSetParentDeathSignal, Side::kChild);
    death.num[0] = 9;
    death.num[1] = 1;  // untilRecorded
    b.install(0, 0);
    b.exec({"a"}, {}, {"/a"}, Op::kExecInit, 1);
    Decoded d = decode(b.build(), {5, 6});
    CHECK_EQ_STR(d.error, "");
    if (!d.error.empty()) return;
    CHECK(d.plan->awaits_release);
    CHECK(!d.plan->dies_with_parent);
    finish_init_argv(d.plan.get());
    const auto argv = list_of(d.plan->steps.back().list[0]);
    CHECK(argv == (std::vector<std::string>{"cordon-init", "3", "4", "3", "1", "/a", "--release", "--", "a"}));
  }
  {
    g_case = "a parent-death signal until recorded needs an init; for good it does not";
    for (int until : {1, 0}) {
      PlanBuilder b;
      b.fd_slots = 1;
      b.clone();
      Rec& death = b.step(Op::kSetParentDeathSignal, Side::kChild);
      death.num[0] = 9;
      death.num[1] = until;
      b.install(0, 0);
      b.exec({"a"}, {}, {"/a"});
      Decoded d = decode(b.build(), {5});
      if (until == 1) {
        CHECK(d.error.find("needs an init") != std::string::npos);
      } else {
        CHECK_EQ_STR(d.error, "");
        CHECK(d.plan->dies_with_parent);
        CHECK(!d.plan->awaits_release);
      }
    }
  }
  {
    g_case = "both kinds of parent-death signal in one plan, or a bad release flag, is malformed";
    for (int second : {0, 2}) {
      PlanBuilder b;
      b.fd_slots = 2;
      b.clone();
      Rec& until = b.step(Op::kSetParentDeathSignal, Side::kChild);
      until.num[0] = 9;
      until.num[1] = second == 0 ? 1 : second;
      if (second == 0) b.step(Op::kSetParentDeathSignal, Side::kChild).num[0] = 9;
      b.install(0, 0);
      b.exec({"a"}, {}, {"/a"}, Op::kExecInit, 1);
      Decoded d = decode(b.build(), {5, 6});
      CHECK(d.error.find(second == 0 ? "both until recorded and for good" : "bad release flag") != std::string::npos);
    }
  }
  {
    g_case = "more than 16 rlimits, or a resource the kernel lacks, is malformed";
    for (int count : {17, 1}) {
      PlanBuilder b;
      b.fd_slots = 1;
      b.clone();
      b.install(0, 0);
      for (int i = 0; i < count; i++) b.step(Op::kSetRlimit, Side::kChild).num[0] = count == 1 ? 16 : i % 16;
      b.exec({"a"}, {}, {"/a"}, Op::kExecInit, 0);
      Decoded d = decode(b.build(), {5});
      CHECK(d.error.find(count == 1 ? "bad rlimit resource" : "more than 16 rlimits") != std::string::npos);
    }
  }
  {
    g_case = "finish_init_argv with only low targets";
    PlanBuilder b;
    b.fd_slots = 2;
    b.clone();
    b.install(0, 0);
    b.exec({"a"}, {}, {"/a"}, Op::kExecInit, 1);
    Decoded d = decode(b.build(), {5, 6});
    CHECK_EQ_STR(d.error, "");
    if (!d.error.empty()) return;
    finish_init_argv(d.plan.get());
    const auto argv = list_of(d.plan->steps.back().list[0]);
    CHECK(argv == (std::vector<std::string>{"cordon-init", "3", "4", "2", "1", "/a", "--", "a"}));
  }
  {
    g_case = "finish_init_argv with the maximum target";
    PlanBuilder b;
    b.fd_slots = 2;
    b.clone();
    b.install(0, abi::kMaxInstalledFds - 1);
    b.exec({"a", "b", "c"}, {}, {"/1", "/2", "/3"}, Op::kExecInit, 1);
    Decoded d = decode(b.build(), {5, 6});
    CHECK_EQ_STR(d.error, "");
    if (!d.error.empty()) return;
    finish_init_argv(d.plan.get());
    const auto argv = list_of(d.plan->steps.back().list[0]);
    CHECK(argv == (std::vector<std::string>{"cordon-init", "256", "257", "2", "3", "/1", "/2", "/3", "--",
                                            "a", "b", "c"}));
  }
}

// kRunIdMapHelper: decoded, and flagged for spawn_box's window (which
// names no op itself).
static void test_id_map_helper() {
  g_case = "id map helper";
  PlanBuilder b;
  b.fd_slots = 1;
  b.clone(0x10000000);
  Rec& helper = b.step(Op::kRunIdMapHelper, Side::kParent);
  helper.num[0] = 0;
  helper.num[1] = 3;
  helper.str[0] = b.add("/usr/bin/newuidmap");
  helper.str[1] = b.add_list({"0", "1000", "1"});
  b.step(Op::kWaitForParent, Side::kChild);
  b.install(0, 0);
  b.exec({"x"}, {}, {"/x"});
  Decoded d = decode(b.build(), {7});
  CHECK_EQ_STR(d.error, "");
  if (!d.error.empty()) return;
  CHECK(d.plan->runs_id_map_helper);
  CHECK(list_of(d.plan->steps[1].list[1]) == (std::vector<std::string>{"0", "1000", "1"}));
}

// kEnterPidNamespace: once, after an unshare with CLONE_NEWPID, before the fd table.
static void test_enter_pid_namespace() {
  const std::vector<int32_t> fds = {3};
  auto plan = [](bool unshare_pid, int enters, bool after_install) {
    PlanBuilder b;
    b.fd_slots = 1;
    b.clone();
    b.step(Op::kUnshare, Side::kChild).num[0] = unshare_pid ? 0x20000000 : 0x00020000;
    if (after_install) b.install(0, 0);
    for (int i = 0; i < enters; i++) b.step(Op::kEnterPidNamespace, Side::kChild);
    if (!after_install) b.install(0, 0);
    b.exec({"x"}, {}, {"/x"});
    return b;
  };
  {
    g_case = "enter pid namespace after unshare";
    Decoded d = decode(plan(true, 1, false).build(), fds);
    CHECK_EQ_STR(d.error, "");
    if (d.error.empty()) CHECK(d.plan->enters_pid);
  }
  {
    g_case = "no enter, no flag";
    Decoded d = decode(plan(true, 0, false).build(), fds);
    CHECK_EQ_STR(d.error, "");
    if (d.error.empty()) CHECK(!d.plan->enters_pid);
  }
  expect_reject("enter pid namespace without unsharing one", plan(false, 1, false), fds, "needs an unshare");
  expect_reject("enter pid namespace twice", plan(true, 2, false), fds, "once");
  expect_reject("enter pid namespace after the fd table", plan(true, 1, true), fds, "before the fd table");
  {
    PlanBuilder b = plan(true, 1, false);
    b.steps[2].side = u(Side::kParent);
    expect_reject("enter pid namespace on the parent side", b, fds, "wrong side");
  }
}

// Bind and overlay steps carry num[3]: 1 resolves host paths without
// following symlinks (and, for kMountFs, hands upperdir/workdir over by fd
// with the fallback prefix in str[3]).
static void test_symlink_modes() {
  const std::vector<int32_t> fds = {3};
  auto plan = [](abi::Op op, int64_t mode, bool prefix, bool host_root = false) {
    PlanBuilder b;
    b.fd_slots = 1;
    b.clone();
    Rec& r = b.step(op, Side::kChild);
    r.str[0] = b.add(op == Op::kMountFs ? "overlay" : "/oldroot/srv");
    r.str[2] = b.add("/newroot");
    r.num[3] = mode;
    if (prefix) r.str[3] = b.add("/oldroot/proc/self/fd/");
    if (host_root) r.str[1] = b.add("/oldroot");
    b.install(0, 0);
    b.exec({"x"}, {}, {"/x"});
    return b;
  };
  expect_accept("bind without following symlinks", plan(Op::kBindMount, 1, false), fds);
  expect_accept("bind following symlinks", plan(Op::kBindMount, 0, false), fds);
  expect_accept("overlay with layer fds", plan(Op::kMountFs, 1, true), fds);
  expect_accept("bind following symlinks beneath the host root", plan(Op::kBindMount, 2, false, true), fds);
  expect_reject("bind following symlinks without a host root", plan(Op::kBindMount, 2, false), fds, "missing string");
  expect_reject("bind with a bad symlink mode", plan(Op::kBindMount, 3, false, true), fds, "bad symlink mode");
  expect_reject("bind with a negative symlink mode", plan(Op::kBindMount, -1, false, true), fds, "bad symlink mode");
  expect_reject("overlay with symlink mode 2", plan(Op::kMountFs, 2, true), fds, "bad symlink mode");
  expect_reject("overlay with a bad symlink mode", plan(Op::kMountFs, -1, true), fds, "bad symlink mode");
  expect_reject("overlay with layer fds but no prefix", plan(Op::kMountFs, 1, false), fds, "missing string");
}

// The tty option's step: after a new session and the fd table, on an
// installed fd; with an init it becomes the init's `--ctty STEP FD`.
static void test_controlling_terminal() {
  auto plan = [](bool setsid, bool after_install, int64_t fd, Op exec) {
    PlanBuilder b;
    b.fd_slots = 2;
    b.clone();
    if (setsid) b.step(Op::kSetSid, Side::kChild);
    if (!after_install) b.step(Op::kSetControllingTerminal, Side::kChild).num[0] = fd;
    b.install(0, 0);
    b.install(0, 1);
    b.install(0, 2);
    b.step(Op::kCloseOtherFds, Side::kChild);
    if (after_install) b.step(Op::kSetControllingTerminal, Side::kChild).num[0] = fd;
    b.exec({"sh"}, {}, {"/bin/sh"}, exec, exec == Op::kExecInit ? 1 : -1);
    return b;
  };
  {
    g_case = "a controlling terminal after setsid and the fd table";
    Decoded d = decode(plan(true, true, 0, Op::kExec).build(), {30, 31});
    CHECK_EQ_STR(d.error, "");
  }
  expect_reject("a controlling terminal without a new session", plan(false, true, 0, Op::kExec), {30, 31}, "new session");
  expect_reject("a controlling terminal before the fd table", plan(true, false, 0, Op::kExec), {30, 31}, "fd table");
  expect_reject("a controlling terminal on an fd not installed", plan(true, true, 5, Op::kExec), {30, 31}, "installed fd");
  expect_reject("a controlling terminal on a negative fd", plan(true, true, -1, Op::kExec), {30, 31}, "installed fd");
  {
    g_case = "with an init the terminal is the init's --ctty";
    Decoded d = decode(plan(true, true, 0, Op::kExecInit).build(), {30, 31});
    CHECK_EQ_STR(d.error, "");
    if (!d.error.empty()) return;
    finish_init_argv(d.plan.get());
    const auto argv = list_of(d.plan->steps.back().list[0]);
    const std::vector<std::string> want = {"cordon-init", "3", "4", "7", "1", "/bin/sh", "--ctty", "6", "0", "--", "sh"};
    CHECK(argv == want);
  }
}

// A cgroup joined late: the init's argv names each file where install_fds
// puts it (right above the exit fd), and only an init may join late.
static void test_late_cgroup_join() {
  auto plan = [](int joins, bool with_namespace, Op exec_op) {
    PlanBuilder b;
    b.fd_slots = 4;
    b.clone();
    for (int i = 0; i < joins; i++) b.step(Op::kJoinCgroupLate, Side::kChild, 1 + (i % 2));
    if (with_namespace) b.step(Op::kMakeCgroupNamespace, Side::kChild, 3);
    b.install(0, 0);
    b.install(0, 4);
    b.step(Op::kCloseOtherFds, Side::kChild);
    b.exec({"true"}, {}, {"/bin/true"}, exec_op, exec_op == Op::kExecInit ? 3 : -1);
    return b;
  };
  {
    g_case = "late cgroup join: the init's --join fds";
    Decoded d = decode(plan(2, true, Op::kExecInit).build(), {20, 21, 22, 23});
    CHECK_EQ_STR(d.error, "");
    if (!d.error.empty()) return;
    DecodedPlan& p = *d.plan;
    CHECK(!p.own_memory);
    CHECK(p.view.control.highest_target == 4);
    finish_init_argv(&p);
    const auto argv = list_of(p.steps.back().list[0]);
    // status fd 5, exit fd 6, then the joins at 7 and 8 (steps 1 and 2).
    const std::vector<std::string> want = {"cordon-init", "5", "6", "7", "1", "/bin/true", "--join", "1", "7",
                                           "--join", "2", "8", "--", "true"};
    CHECK(argv == want);
    if (argv != want) {
      fprintf(stderr, "    got:");
      for (const auto& a : argv) fprintf(stderr, " \"%s\"", a.c_str());
      fprintf(stderr, "\n");
    }
  }
  expect_accept("late cgroup join without a namespace helper", plan(1, false, Op::kExecInit), {20, 21, 22, 23});
  expect_accept("sixteen late cgroup joins", plan(16, true, Op::kExecInit), {20, 21, 22, 23});
  expect_reject("late cgroup join without an init", plan(1, false, Op::kExec), {20, 21, 22, 23}, "needs an init");
  expect_reject("a namespace helper without a late join", plan(0, true, Op::kExecInit), {20, 21, 22, 23},
                "needs the cgroups it joins before it");
  expect_reject("seventeen late cgroup joins", plan(17, true, Op::kExecInit), {20, 21, 22, 23}, "more than 16");
  {
    // A helper started ahead (TakeCgroupNamespace) in place of the child's own.
    auto take = [](int joins, int fd) {
      PlanBuilder b;
      b.fd_slots = 4;
      b.clone();
      for (int i = 0; i < joins; i++) b.step(Op::kJoinCgroupLate, Side::kChild, 1 + (i % 2));
      b.step(Op::kTakeCgroupNamespace, Side::kChild, fd);
      b.install(0, 0);
      b.step(Op::kCloseOtherFds, Side::kChild);
      b.exec({"true"}, {}, {"/bin/true"}, Op::kExecInit, 3);
      return b;
    };
    expect_accept("a waiting cgroup namespace helper after the joins", take(2, 0), {20, 21, 22, 23});
    expect_reject("a waiting cgroup namespace helper without a late join", take(0, 0), {20, 21, 22, 23},
                  "needs the cgroups it joins before it");
    expect_reject("a waiting cgroup namespace helper without its socket", take(1, -1), {20, 21, 22, 23},
                  "without its socket");
  }
  expect_reject("a late join without an fd", [] {
    PlanBuilder b;
    b.fd_slots = 1;
    b.clone();
    b.step(Op::kJoinCgroupLate, Side::kChild);
    b.install(0, 0);
    b.exec({"true"}, {}, {"/bin/true"}, Op::kExecInit, 0);
    return b;
  }(), {20}, "without an fd");
}

int main() {
  test_controlling_terminal();
  test_minimal_valid();
  test_symlink_modes();
  test_enter_pid_namespace();
  test_id_map_helper();
  test_valid_variants();
  test_header_rejections();
  test_step_rejections();
  test_finish_init_argv();
  test_late_cgroup_join();
  if (g_failures != 0) {
    fprintf(stderr, "plan_decode_test: %d of %d checks FAILED\n", g_failures, g_checks);
    return 1;
  }
  printf("plan_decode_test: all %d checks passed\n", g_checks);
  return 0;
}
