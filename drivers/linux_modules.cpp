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

std::vector<ModuleDep> parse_modules_dep(const std::string& modules_dep)
{
  std::vector<ModuleDep> out;
  std::istringstream lines(modules_dep);
  std::string line;
  while (std::getline(lines, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) {
      continue;
    }
    ModuleDep entry{line.substr(0, colon), {}};
    std::istringstream rest(line.substr(colon + 1));
    std::string d;
    while (rest >> d) {
      entry.deps.push_back(d);
    }
    out.push_back(std::move(entry));
  }
  return out;
}

ModuleIndex ModuleIndex::parse(const std::string& modules_dep, const std::string& modules_builtin)
{
  ModuleIndex index;
  for (const auto& entry : parse_modules_dep(modules_dep)) {
    std::vector<std::string> deps;
    for (const auto& d : entry.deps) {
      deps.push_back(module_name(d));
    }
    index.m_deps[module_name(entry.path)] = std::move(deps);
  }
  std::string line;
  std::istringstream builtin(modules_builtin);
  while (std::getline(builtin, line)) {
    if (!line.empty()) {
      index.m_builtin.insert(module_name(line));
    }
  }
  return index;
}

namespace {

struct KnownDriver {
  const char* module;
  const char* symbol;
  const char* path;
};

const KnownDriver k_known_drivers[] = {
    {"nvme", "CONFIG_BLK_DEV_NVME", "kernel/drivers/nvme/host/nvme"},
    {"nvme_core", "CONFIG_NVME_CORE", "kernel/drivers/nvme/host/nvme-core"},
    {"ena", "CONFIG_ENA_ETHERNET", "kernel/drivers/net/ethernet/amazon/ena/ena"},
    {"virtio_blk", "CONFIG_VIRTIO_BLK", "kernel/drivers/block/virtio_blk"},
    {"virtio_scsi", "CONFIG_SCSI_VIRTIO", "kernel/drivers/scsi/virtio_scsi"},
    {"virtio_net", "CONFIG_VIRTIO_NET", "kernel/drivers/net/virtio_net"},
    {"virtio_pci", "CONFIG_VIRTIO_PCI", "kernel/drivers/virtio/virtio_pci"},
    {"xen_blkfront", "CONFIG_XEN_BLKDEV_FRONTEND", "kernel/drivers/block/xen-blkfront"},
    {"xen_netfront", "CONFIG_XEN_NETDEV_FRONTEND", "kernel/drivers/net/xen-netfront"},
    {"hv_vmbus", "CONFIG_HYPERV", "kernel/drivers/hv/hv_vmbus"},
    {"hv_storvsc", "CONFIG_HYPERV_STORAGE", "kernel/drivers/scsi/hv_storvsc"},
    {"hv_netvsc", "CONFIG_HYPERV_NET", "kernel/drivers/net/hyperv/hv_netvsc"},
    {"gve", "CONFIG_GVE", "kernel/drivers/net/ethernet/google/gve/gve"},
};

const KnownDriver* known(const std::string& module)
{
  std::string name = module_name(module);
  for (const auto& d : k_known_drivers) {
    if (name == d.module) {
      return &d;
    }
  }
  return nullptr;
}

} // namespace

std::string kernel_config_symbol(const std::string& module)
{
  const KnownDriver* d = known(module);
  return d ? d->symbol : "";
}

std::string module_path(const std::string& module)
{
  const KnownDriver* d = known(module);
  return d ? d->path : "";
}

void ModuleIndex::add_config_builtins(const std::string& kernel_config)
{
  std::istringstream in(kernel_config);
  std::string line;
  std::set<std::string> yes;
  while (std::getline(in, line)) {
    if (line.size() > 9 && line.rfind("CONFIG_", 0) == 0
        && line.compare(line.size() - 2, 2, "=y") == 0) {
      yes.insert(line.substr(0, line.size() - 2));
    }
  }
  for (const auto& d : k_known_drivers) {
    if (yes.count(d.symbol) && !m_deps.count(d.module)) {
      m_builtin.insert(d.module);
    }
  }
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
