#include "probe.h"

#include "sys/syscalls.h"

namespace cordon {

int landlock_abi() {
  constexpr long kLandlockCreateRulesetVersion = 1;
  return int(sys::sc(__NR_landlock_create_ruleset, 0, 0, kLandlockCreateRulesetVersion));
}

}  // namespace cordon
