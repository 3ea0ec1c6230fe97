#include "converter/kernel_choice.hpp"

namespace rehost {

namespace {

bool has_driver(const KernelInfo& kernel, const std::string& driver)
{
  auto it = kernel.drivers.find(driver);
  return it != kernel.drivers.end() && it->second != drivers::DriverState::missing;
}

std::string joined(const std::vector<std::string>& words, const char* separator = ", ")
{
  std::string s;
  for (const auto& w : words) {
    s += (s.empty() ? "" : separator) + w;
  }
  return s;
}

} // namespace

std::vector<std::string> missing_target_drivers(const KernelInfo& kernel,
                                                const TargetProfile& target)
{
  std::vector<std::string> missing;
  for (const auto& d : target.storage_drivers) {
    if (!has_driver(kernel, d)) {
      missing.push_back(d);
    }
  }
  bool any_network = target.network_drivers.empty();
  for (const auto& d : target.network_drivers) {
    any_network = any_network || has_driver(kernel, d);
  }
  if (!any_network) {
    missing.insert(missing.end(), target.network_drivers.begin(), target.network_drivers.end());
  }
  return missing;
}

Result<KernelChoice> choose_boot_kernel(const Inspection& in, const TargetProfile& target)
{
  if (in.kernels.empty()) {
    return fail("no kernel found in /boot");
  }
  std::vector<const KernelInfo*> order;
  for (bool debug : {false, true}) {
    for (const auto& k : in.kernels) {
      if (k.debug == debug) {
        order.push_back(&k);
      }
    }
  }
  KernelChoice choice;
  for (const KernelInfo* k : order) {
    if (missing_target_drivers(*k, target).empty()) {
      choice.kernel = k;
      break;
    }
  }
  const std::string first_storage =
      target.storage_drivers.empty() ? "" : target.storage_drivers.front();
  if (!choice.kernel) {
    for (const KernelInfo* k : order) {
      if (first_storage.empty() || has_driver(*k, first_storage)) {
        choice.kernel = k;
        choice.notes.push_back(fmt::format("{} lacks {}; no kernel has every driver the {} target "
                                           "needs",
                                           k->version, joined(missing_target_drivers(*k, target)),
                                           target.name));
        break;
      }
    }
  }
  if (!choice.kernel) {
    std::vector<std::string> lacks;
    for (const auto& k : in.kernels) {
      lacks.push_back(
          fmt::format("{} lacks {}", k.version, joined(missing_target_drivers(k, target))));
    }
    return fail("no kernel can boot on the {} target: none has the {} driver its disk needs ({}); "
                "install a kernel that has it",
                target.name, first_storage, joined(lacks, "; "));
  }
  for (const KernelInfo* k : order) {
    if (k == choice.kernel) {
      break;
    }
    if (k->debug) {
      continue;
    }
    choice.notes.push_back(fmt::format("{} passed over: it lacks {}", k->version,
                                       joined(missing_target_drivers(*k, target))));
  }
  if (choice.kernel->debug) {
    choice.notes.push_back(
        fmt::format("{} is a debug kernel, the only one that fits", choice.kernel->version));
  }
  return choice;
}

} // namespace rehost
