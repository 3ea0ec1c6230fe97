// Which drivers a Linux kernel has, from its module tree.
//
// A driver is a loadable module when modules.dep lists it (as .ko, .ko.xz, .ko.zst or .ko.gz),
// built in when modules.builtin lists it, and otherwise missing. Module names treat '-' and '_'
// as the same, as modprobe does.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace rehost::drivers {

enum class DriverState { module, builtin, missing };

const char* to_string(DriverState state);

// "nvme-core" -> "nvme_core"; "kernel/drivers/nvme/host/nvme.ko.xz" -> "nvme".
std::string module_name(const std::string& name_or_path);

class ModuleIndex {
public:
  // Parses the kernel's modules.dep and modules.builtin.
  static ModuleIndex parse(const std::string& modules_dep, const std::string& modules_builtin);

  DriverState state(const std::string& module) const;
  // The module and everything it depends on (loadable modules only), in load order.
  std::vector<std::string> with_dependencies(const std::string& module) const;
  bool empty() const { return m_deps.empty() && m_builtin.empty(); }

private:
  std::map<std::string, std::vector<std::string>> m_deps; // name -> direct dependencies
  std::set<std::string> m_builtin;
};

} // namespace rehost::drivers
