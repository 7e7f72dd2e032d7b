// Test helper: builds plan buffers byte by byte, little-endian, field by field
// as native/plan_abi.h lays them out. Deliberately does not memcpy the ABI
// structs, so a layout change in plan_abi.h that the builder does not follow
// shows up as decode failures (and the static_asserts below catch drift).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <string>
#include <vector>

#include "plan_abi.h"

namespace cordon_test {

namespace abi = cordon::abi;

static_assert(offsetof(abi::PlanHeader, magic) == 0, "PlanHeader.magic");
static_assert(offsetof(abi::PlanHeader, abi_version) == 4, "PlanHeader.abi_version");
static_assert(offsetof(abi::PlanHeader, step_count) == 8, "PlanHeader.step_count");
static_assert(offsetof(abi::PlanHeader, fd_slot_count) == 12, "PlanHeader.fd_slot_count");
static_assert(offsetof(abi::PlanHeader, strings_offset) == 16, "PlanHeader.strings_offset");
static_assert(offsetof(abi::PlanHeader, strings_size) == 20, "PlanHeader.strings_size");
static_assert(offsetof(abi::StepRecord, op) == 0, "StepRecord.op");
static_assert(offsetof(abi::StepRecord, side) == 4, "StepRecord.side");
static_assert(offsetof(abi::StepRecord, fd) == 8, "StepRecord.fd");
static_assert(offsetof(abi::StepRecord, flags) == 12, "StepRecord.flags");
static_assert(offsetof(abi::StepRecord, num) == 16, "StepRecord.num");
static_assert(offsetof(abi::StepRecord, str) == 48, "StepRecord.str");

constexpr size_t kHeaderSize = 32;
constexpr size_t kStepSize = 64;
// Byte offsets of header fields, for tests that patch a built buffer.
constexpr size_t kOffMagic = 0, kOffVersion = 4, kOffStepCount = 8, kOffFdSlots = 12,
                 kOffStringsOffset = 16, kOffStringsSize = 20;

struct Rec {
  uint32_t op = 0;
  uint32_t side = 0;
  int32_t fd = -1;
  uint32_t flags = 0;
  int64_t num[4] = {0, 0, 0, 0};
  uint32_t str[4] = {abi::kNoString, abi::kNoString, abi::kNoString, abi::kNoString};
};

inline void put32(std::vector<uint8_t>* out, uint32_t v) {
  for (int i = 0; i < 4; i++) out->push_back(uint8_t(v >> (8 * i)));
}
inline void put64(std::vector<uint8_t>* out, uint64_t v) {
  for (int i = 0; i < 8; i++) out->push_back(uint8_t(v >> (8 * i)));
}
inline void patch32(std::vector<uint8_t>* buf, size_t at, uint32_t v) {
  for (int i = 0; i < 4; i++) (*buf)[at + i] = uint8_t(v >> (8 * i));
}
inline uint32_t read32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

inline uint32_t u(abi::Op op) { return uint32_t(op); }
inline uint32_t u(abi::Side side) { return uint32_t(side); }

struct PlanBuilder {
  std::vector<Rec> steps;
  std::string strings;  // the string area, NUL-terminated strings back to back
  uint32_t fd_slots = 0;

  // Appends one NUL-terminated string; returns its offset.
  uint32_t add(const std::string& s) {
    uint32_t at = uint32_t(strings.size());
    strings += s;
    strings.push_back('\0');
    return at;
  }
  // Appends consecutive strings; returns the offset of the first (or of where
  // the first would be, for an empty list).
  uint32_t add_list(const std::vector<std::string>& list) {
    uint32_t at = uint32_t(strings.size());
    for (const auto& s : list) add(s);
    return at;
  }

  Rec& step(abi::Op op, abi::Side side, int32_t fd = -1) {
    Rec r;
    r.op = u(op);
    r.side = u(side);
    r.fd = fd;
    steps.push_back(r);
    return steps.back();
  }
  Rec& clone(int64_t flags = 0) {
    Rec& r = step(abi::Op::kClone, abi::Side::kParent);
    r.num[0] = flags;
    return r;
  }
  Rec& install(int32_t slot, int64_t target) {
    Rec& r = step(abi::Op::kInstallFd, abi::Side::kChild, slot);
    r.num[0] = target;
    return r;
  }
  Rec& exec(const std::vector<std::string>& argv, const std::vector<std::string>& envp,
            const std::vector<std::string>& candidates, abi::Op op = abi::Op::kExec, int32_t fd = -1) {
    uint32_t a = add_list(argv), e = add_list(envp), c = add_list(candidates);
    Rec& r = step(op, abi::Side::kChild, fd);
    r.str[0] = a;
    r.num[0] = int64_t(argv.size());
    r.str[1] = e;
    r.num[1] = int64_t(envp.size());
    r.str[2] = c;
    r.num[2] = int64_t(candidates.size());
    return r;
  }

  std::vector<uint8_t> build() const {
    std::vector<uint8_t> out;
    const uint32_t count = uint32_t(steps.size());
    put32(&out, abi::kPlanMagic);
    put32(&out, abi::kPlanAbiVersion);
    put32(&out, count);
    put32(&out, fd_slots);
    put32(&out, uint32_t(kHeaderSize + kStepSize * count));
    put32(&out, uint32_t(strings.size()));
    put32(&out, 0);
    put32(&out, 0);
    for (const Rec& r : steps) {
      put32(&out, r.op);
      put32(&out, r.side);
      put32(&out, uint32_t(r.fd));
      put32(&out, r.flags);
      for (int k = 0; k < 4; k++) put64(&out, uint64_t(r.num[k]));
      for (int k = 0; k < 4; k++) put32(&out, r.str[k]);
    }
    out.insert(out.end(), strings.begin(), strings.end());
    return out;
  }
};

}  // namespace cordon_test
