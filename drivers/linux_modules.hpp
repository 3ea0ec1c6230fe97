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

// The Kconfig symbol of a target driver ("nvme" -> "CONFIG_BLK_DEV_NVME"); "" when unknown.
std::string kernel_config_symbol(const std::string& module);

// Where a target driver's module lives under /lib/modules/<version>/ ("kernel/drivers/nvme/
// host/nvme"), without the .ko suffix; "" when unknown.
std::string module_path(const std::string& module);

// One line of modules.dep: a module's path under /lib/modules/<version>/ and the paths of the
// modules it needs directly.
struct ModuleDep {
  std::string path;
  std::vector<std::string> deps;
};
std::vector<ModuleDep> parse_modules_dep(const std::string& modules_dep);

class ModuleIndex {
public:
  // Parses the kernel's modules.dep and modules.builtin.
  static ModuleIndex parse(const std::string& modules_dep, const std::string& modules_builtin);

  // Marks as built in every driver whose Kconfig symbol is "=y" in a kernel's
  // /boot/config-<version> (for kernels whose modules.builtin is missing).
  void add_config_builtins(const std::string& kernel_config);

  // Marks `module` as loadable (found as a file although modules.dep does not list it).
  void add_module(const std::string& module)
  {
    m_deps.emplace(module_name(module), std::vector<std::string>{});
  }

  DriverState state(const std::string& module) const;
  // The module and everything it depends on (loadable modules only), in load order.
  std::vector<std::string> with_dependencies(const std::string& module) const;
  bool empty() const { return m_deps.empty() && m_builtin.empty(); }

private:
  std::map<std::string, std::vector<std::string>> m_deps; // name -> direct dependencies
  std::set<std::string> m_builtin;
};

} // namespace rehost::drivers
