#include "drivers/linux_modules.hpp"

#include <algorithm>
#include <functional>
#include <sstream>

namespace rehost::drivers {

const char* to_string(DriverState state)
{
  switch (state) {
  case DriverState::module:
    return "module";
  case DriverState::builtin:
    return "builtin";
  case DriverState::missing:
    break;
  }
  return "missing";
}

std::string module_name(const std::string& name_or_path)
{
  std::string name = name_or_path;
  size_t slash = name.rfind('/');
  if (slash != std::string::npos) {
    name = name.substr(slash + 1);
  }
  size_t ko = name.find(".ko");
  if (ko != std::string::npos) {
    name = name.substr(0, ko);
  }
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

ModuleIndex ModuleIndex::parse(const std::string& modules_dep, const std::string& modules_builtin)
{
  ModuleIndex index;
  std::istringstream dep(modules_dep);
  std::string line;
  while (std::getline(dep, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) {
      continue;
    }
    std::string name = module_name(line.substr(0, colon));
    std::vector<std::string> deps;
    std::istringstream rest(line.substr(colon + 1));
    std::string d;
    while (rest >> d) {
      deps.push_back(module_name(d));
    }
    index.m_deps[name] = std::move(deps);
  }
  std::istringstream builtin(modules_builtin);
  while (std::getline(builtin, line)) {
    if (!line.empty()) {
      index.m_builtin.insert(module_name(line));
    }
  }
  return index;
}

DriverState ModuleIndex::state(const std::string& module) const
{
  std::string name = module_name(module);
  if (m_deps.count(name)) {
    return DriverState::module;
  }
  if (m_builtin.count(name)) {
    return DriverState::builtin;
  }
  return DriverState::missing;
}

std::vector<std::string> ModuleIndex::with_dependencies(const std::string& module) const
{
  std::vector<std::string> order;
  std::set<std::string> seen;
  std::function<void(const std::string&)> visit = [&](const std::string& name) {
    if (!seen.insert(name).second) {
      return;
    }
    auto it = m_deps.find(name);
    if (it == m_deps.end()) {
      return;
    }
    for (const auto& d : it->second) {
      visit(d);
    }
    order.push_back(name);
  };
  visit(module_name(module));
  return order;
}

} // namespace rehost::drivers
