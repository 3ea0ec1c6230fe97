// Which installed kernel should boot on the target.
//
// The kernels come newest first from the inspection, each with the state of every driver the
// target needs. The choice, in order of preference:
//   1. the newest non-debug kernel that has all the target's storage drivers and at least one
//      of its network drivers;
//   2. else the newest non-debug kernel that has the first storage driver (the one the target's
//      boot disk sits behind), with a note naming what it lacks;
//   3. else the same two steps over debug kernels.
// When no kernel has the first storage driver the target cannot boot: an error names the
// driver and what each kernel lacks (DOMAIN.md, "Which kernel boots").
#pragma once

#include <string>
#include <vector>

#include "converter/error.hpp"
#include "converter/inspection.hpp"
#include "converter/rules.hpp"

namespace rehost {

struct KernelChoice {
  const KernelInfo* kernel = nullptr;
  std::vector<std::string> notes; // why newer kernels were passed over, what the choice lacks
};

Result<KernelChoice> choose_boot_kernel(const Inspection& inspection, const TargetProfile& target);

// The target's drivers that `kernel` lacks: storage drivers it does not have, and the network
// drivers when it has none of them.
std::vector<std::string> missing_target_drivers(const KernelInfo& kernel,
                                                const TargetProfile& target);

} // namespace rehost
