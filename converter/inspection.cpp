#include "converter/inspection.hpp"

#include <algorithm>
#include <cctype>
#include <sstream>

#include <fmt/format.h>

#include "bootloader/grub_cfg.hpp"
#include "converter/shell_vars.hpp"
#include "converter/windows_guest.hpp"

namespace rehost {

namespace {

constexpr size_t k_small_file = 1 << 20;

bool ends_with(const std::string& s, const std::string& suffix)
{
  return s.size() >= suffix.size()
         && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool starts_with(const std::string& s, const std::string& prefix)
{
  return s.rfind(prefix, 0) == 0;
}

std::vector<std::string> list_or_empty(Guest& guest, const std::string& path)
{
  auto names = guest.list_dir(path);
  return names ? *names : std::vector<std::string>{};
}

// Reads a file for inspection: missing is silent, anything else unreadable is a warning.
std::optional<std::string> read_for_inspection(Guest& guest, const std::string& path,
                                               Inspection& out, size_t limit = k_small_file)
{
  auto info = guest.stat(path);
  if (!info || info->type == FileType::missing) {
    return std::nullopt;
  }
  if (info->type != FileType::regular) {
    out.warnings.push_back(fmt::format("{} is not a regular file; ignored", path));
    return std::nullopt;
  }
  auto content = guest.read_file(path, limit);
  if (!content) {
    out.warnings.push_back(content.error().message + "; ignored");
    return std::nullopt;
  }
  return *content;
}

std::set<std::string> dpkg_installed(const std::string& status)
{
  std::set<std::string> installed;
  std::istringstream in(status);
  std::string line;
  std::string package;
  bool ok = false;
  auto flush = [&] {
    if (!package.empty() && ok) {
      installed.insert(package);
    }
    package.clear();
    ok = false;
  };
  while (std::getline(in, line)) {
    if (line.empty()) {
      flush();
    } else if (starts_with(line, "Package: ")) {
      package = line.substr(9);
    } else if (starts_with(line, "Status: ")) {
      ok = ends_with(line, " installed") && line.find("not-installed") == std::string::npos
           && line.find("config-files") == std::string::npos;
    }
  }
  flush();
  return installed;
}

void inspect_kernels(Guest& guest, Inspection& out)
{
  std::set<std::string> versions;
  for (const auto& name : list_or_empty(guest, "/boot")) {
    for (const char* prefix : {"vmlinuz-", "vmlinux-", "bzImage-"}) {
      if (starts_with(name, prefix)) {
        versions.insert(name.substr(std::string(prefix).size()));
      }
    }
  }
  for (const auto& version : versions) {
    KernelInfo k;
    k.version = version;
    for (const char* prefix : {"vmlinuz-", "vmlinux-", "bzImage-"}) {
      if (is_file(guest, "/boot/" + std::string(prefix) + version)) {
        k.image = "/boot/" + std::string(prefix) + version;
        break;
      }
    }
    for (const auto& candidate :
         {"/boot/initrd.img-" + version, "/boot/initramfs-" + version + ".img",
          "/boot/initrd-" + version, "/boot/initrd-" + version + ".img"}) {
      if (is_file(guest, candidate)) {
        k.initramfs = candidate;
        break;
      }
    }
    k.debug = version.find("debug") != std::string::npos;
    std::string moddir = "/lib/modules/" + version;
    if (!is_dir(guest, moddir) && is_dir(guest, "/usr/lib/modules/" + version)) {
      moddir = "/usr/lib/modules/" + version;
    }
    auto dep = read_for_inspection(guest, moddir + "/modules.dep", out, 16 << 20);
    auto builtin = read_for_inspection(guest, moddir + "/modules.builtin", out, 16 << 20);
    if (!dep) {
      out.warnings.push_back(fmt::format("kernel {} has no {}/modules.dep", version, moddir));
    }
    auto index = drivers::ModuleIndex::parse(dep.value_or(""), builtin.value_or(""));
    for (const auto& driver : catalog_drivers()) {
      k.drivers[driver] = index.state(driver);
    }
    out.kernels.push_back(std::move(k));
  }
  std::sort(out.kernels.begin(), out.kernels.end(), [](const KernelInfo& a, const KernelInfo& b) {
    return compare_versions(a.version, b.version) > 0;
  });
}

void inspect_bootloader(Guest& guest, Inspection& out)
{
  for (const char* cfg : {"/boot/grub/grub.cfg", "/boot/grub2/grub.cfg"}) {
    if (is_file(guest, cfg)) {
      out.bootloader = "grub2";
      out.bootloader_config = cfg;
      break;
    }
  }
  if (out.bootloader.empty()) {
    for (const char* cfg : {"/boot/grub/menu.lst", "/boot/grub/grub.conf"}) {
      if (is_file(guest, cfg)) {
        out.bootloader = "grub-legacy";
        out.bootloader_config = cfg;
        break;
      }
    }
  }
  if (out.bootloader.empty()) {
    for (const char* cfg :
         {"/boot/extlinux/extlinux.conf", "/boot/syslinux/syslinux.cfg", "/extlinux.conf"}) {
      if (is_file(guest, cfg)) {
        out.bootloader = "extlinux";
        out.bootloader_config = cfg;
        break;
      }
    }
  }
  bool esp = false;
  for (const auto& table : out.disk.tables) {
    for (const auto& p : table.partitions) {
      if (std::find(p.flags.begin(), p.flags.end(), "esp") != p.flags.end()) {
        esp = true;
      }
    }
  }
  out.firmware = esp || is_dir(guest, "/boot/efi/EFI") ? "uefi" : "bios";

  if (out.bootloader == "grub2") {
    auto text = read_for_inspection(guest, out.bootloader_config, out, 16 << 20);
    if (text) {
      auto config = bootloader::parse_grub_cfg(*text);
      std::string saved;
      size_t slash = out.bootloader_config.rfind('/');
      if (auto env = read_for_inspection(guest, out.bootloader_config.substr(0, slash) + "/grubenv",
                                         out)) {
        saved = parse_shell_vars(*env)["saved_entry"];
      }
      if (auto entry = bootloader::default_entry(config, saved)) {
        std::string base = entry->kernel.substr(entry->kernel.rfind('/') + 1);
        for (const char* prefix : {"vmlinuz-", "vmlinux-", "bzImage-"}) {
          if (starts_with(base, prefix)) {
            out.default_kernel = base.substr(std::string(prefix).size());
          }
        }
        out.default_cmdline = entry->args;
      }
    }
  }
  if (out.default_kernel.empty()) {
    for (const auto& k : out.kernels) {
      if (!k.debug) {
        out.default_kernel = k.version;
        break;
      }
    }
  }
}

void inspect_software(Guest& guest, Inspection& out)
{
  if (auto status = read_for_inspection(guest, "/var/lib/dpkg/status", out, 64 << 20)) {
    out.package_manager = "dpkg";
    out.packages = dpkg_installed(*status);
  } else if (is_dir(guest, "/var/lib/rpm") || is_dir(guest, "/usr/lib/sysimage/rpm")) {
    out.package_manager = "rpm";
  } else if (is_dir(guest, "/var/lib/pacman")) {
    out.package_manager = "pacman";
  }

  if (exists(guest, "/usr/bin/dracut") || exists(guest, "/usr/sbin/dracut")
      || exists(guest, "/sbin/dracut")) {
    out.initramfs_tool = "dracut";
  } else if (exists(guest, "/usr/sbin/update-initramfs")
             || exists(guest, "/usr/sbin/mkinitramfs")) {
    out.initramfs_tool = "initramfs-tools";
  } else if (exists(guest, "/usr/bin/mkinitcpio")) {
    out.initramfs_tool = "mkinitcpio";
  } else if (exists(guest, "/sbin/mkinitrd") || exists(guest, "/usr/sbin/mkinitrd")) {
    out.initramfs_tool = "mkinitrd";
  }
  if (out.initramfs_tool == "initramfs-tools") {
    std::string policy = "most";
    if (auto conf = read_for_inspection(guest, "/etc/initramfs-tools/initramfs.conf", out)) {
      policy = shell_var(*conf, "MODULES").value_or(policy);
    }
    for (const auto& name : list_or_empty(guest, "/etc/initramfs-tools/conf.d")) {
      if (auto conf = read_for_inspection(guest, "/etc/initramfs-tools/conf.d/" + name, out)) {
        policy = shell_var(*conf, "MODULES").value_or(policy);
      }
    }
    out.initramfs_modules_policy = policy;
  }

  struct Tool {
    const char* name;
    std::vector<const char*> packages;
    std::vector<const char*> files;
  };
  const Tool hypervisor[] = {
      {"open-vm-tools", {"open-vm-tools"}, {}},
      {"vmware-tools", {}, {"/usr/bin/vmware-uninstall-tools.pl", "/etc/vmware-tools/locations"}},
      {"virtualbox-guest-additions",
       {"virtualbox-guest-utils", "virtualbox-guest-additions"},
       {"/opt/VBoxGuestAdditions"}},
      {"hyperv-daemons", {"hyperv-daemons"}, {}},
      {"xe-guest-utilities", {"xe-guest-utilities"}, {"/usr/sbin/xe-daemon"}},
  };
  const Tool cloud[] = {
      {"cloud-init", {"cloud-init"}, {"/usr/bin/cloud-init"}},
      {"amazon-ssm-agent", {"amazon-ssm-agent"}, {"/usr/bin/amazon-ssm-agent"}},
      {"qemu-guest-agent", {"qemu-guest-agent"}, {"/usr/sbin/qemu-ga", "/usr/bin/qemu-ga"}},
      {"google-guest-agent", {"google-guest-agent"}, {"/usr/bin/google_guest_agent"}},
      {"walinuxagent", {"walinuxagent", "WALinuxAgent"}, {"/usr/sbin/waagent"}},
  };
  auto detect = [&](const Tool& tool) {
    for (const char* p : tool.packages) {
      if (out.has_package(p)) {
        return true;
      }
    }
    for (const char* f : tool.files) {
      if (exists(guest, f)) {
        return true;
      }
    }
    return false;
  };
  for (const auto& t : hypervisor) {
    if (detect(t)) {
      out.hypervisor_tools.emplace_back(t.name);
    }
  }
  for (const auto& t : cloud) {
    if (detect(t)) {
      out.cloud_tools.emplace_back(t.name);
    }
  }
}

void inspect_network(Guest& guest, Inspection& out)
{
  if (auto text = read_for_inspection(guest, "/etc/network/interfaces", out)) {
    std::istringstream in(*text);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream words(line);
      std::string w;
      std::string name;
      std::string family;
      std::string method;
      words >> w;
      if (w == "iface" && (words >> name >> family >> method) && name != "lo") {
        out.interfaces.push_back({name, method, "/etc/network/interfaces"});
      }
    }
    if (!out.interfaces.empty() || out.has_package("ifupdown")) {
      out.network_style = "ifupdown";
    }
  }
  if (out.network_style.empty()) {
    for (const auto& name : list_or_empty(guest, "/etc/netplan")) {
      if (ends_with(name, ".yaml")) {
        out.network_style = "netplan";
      }
    }
  }
  if (out.network_style.empty()
      && !list_or_empty(guest, "/etc/sysconfig/network-scripts").empty()) {
    for (const auto& name : list_or_empty(guest, "/etc/sysconfig/network-scripts")) {
      if (starts_with(name, "ifcfg-") && name != "ifcfg-lo") {
        out.network_style = "ifcfg";
      }
    }
  }
  if (out.network_style.empty()
      && !list_or_empty(guest, "/etc/NetworkManager/system-connections").empty()) {
    out.network_style = "networkmanager";
  }
  if (out.network_style.empty()) {
    for (const auto& name : list_or_empty(guest, "/etc/systemd/network")) {
      if (ends_with(name, ".network")) {
        out.network_style = "systemd-networkd";
      }
    }
  }
  for (const char* rules : {"/etc/udev/rules.d/70-persistent-net.rules",
                            "/etc/udev/rules.d/75-persistent-net-generator.rules"}) {
    if (exists(guest, rules)) {
      out.mac_pinning.emplace_back(rules);
    }
  }
}

} // namespace

const std::vector<std::string>& catalog_drivers()
{
  static const std::vector<std::string> k_drivers = {
      "nvme",       "nvme_core",  "ena",          "virtio_blk",   "virtio_scsi",
      "virtio_net", "virtio_pci", "xen_blkfront", "xen_netfront", "hv_vmbus",
      "hv_storvsc", "hv_netvsc",  "gve",
  };
  return k_drivers;
}

const KernelInfo* Inspection::kernel(const std::string& version) const
{
  for (const auto& k : kernels) {
    if (k.version == version) {
      return &k;
    }
  }
  return nullptr;
}

int compare_versions(const std::string& a, const std::string& b)
{
  size_t i = 0;
  size_t j = 0;
  while (i < a.size() || j < b.size()) {
    bool da = i < a.size() && std::isdigit(static_cast<unsigned char>(a[i]));
    bool db = j < b.size() && std::isdigit(static_cast<unsigned char>(b[j]));
    if (da && db) {
      size_t ei = i;
      size_t ej = j;
      while (ei < a.size() && std::isdigit(static_cast<unsigned char>(a[ei]))) {
        ++ei;
      }
      while (ej < b.size() && std::isdigit(static_cast<unsigned char>(b[ej]))) {
        ++ej;
      }
      std::string na = a.substr(i, ei - i);
      std::string nb = b.substr(j, ej - j);
      na.erase(0, std::min(na.find_first_not_of('0'), na.size()));
      nb.erase(0, std::min(nb.find_first_not_of('0'), nb.size()));
      if (na.size() != nb.size()) {
        return na.size() < nb.size() ? -1 : 1;
      }
      if (na != nb) {
        return na < nb ? -1 : 1;
      }
      i = ei;
      j = ej;
      continue;
    }
    char ca = i < a.size() ? a[i] : '\0';
    char cb = j < b.size() ? b[j] : '\0';
    if (ca != cb) {
      return ca < cb ? -1 : 1;
    }
    ++i;
    ++j;
  }
  return 0;
}

std::optional<Inspection> inspect_guest(Guest& guest, const DiskInfo& disk)
{
  Inspection out;
  out.disk = disk;
  std::map<std::string, std::string> release;
  for (const auto& path : release_files()) {
    if (auto text = read_for_inspection(guest, path, out, 64 << 10)) {
      release[path] = *text;
    }
  }
  auto os = identify_os(release);
  if (!os) {
    // No Linux release file: a Windows root is recognised from its registry.
    if (inspect_windows(guest, out)) {
      return out;
    }
    return std::nullopt;
  }
  out.os = *os;
  for (const char* binary : {"/bin/sh", "/usr/bin/sh", "/bin/bash", "/usr/bin/env"}) {
    auto info = guest.stat(binary);
    if (info && info->type == FileType::regular) {
      auto header = guest.read_head(binary, 64);
      if (header) {
        out.os.arch = elf_arch(*header);
        if (!out.os.arch.empty()) {
          break;
        }
      }
    }
  }
  inspect_kernels(guest, out);
  inspect_bootloader(guest, out);
  inspect_software(guest, out);
  inspect_network(guest, out);
  return out;
}

nlohmann::json to_json(const Inspection& in)
{
  using nlohmann::json;
  auto opt = [](const std::optional<int>& v) { return v ? json(*v) : json(nullptr); };
  json os = {
      {"type", in.os.type},         {"id", in.os.id},
      {"id_like", in.os.id_like},   {"version_id", in.os.version_id},
      {"major", opt(in.os.major)},  {"minor", opt(in.os.minor)},
      {"name", in.os.name},         {"pretty_name", in.os.pretty_name},
      {"codename", in.os.codename}, {"family", in.os.family},
      {"arch", in.os.arch},         {"identified_from", in.os.source},
  };
  json tables = json::array();
  for (const auto& t : in.disk.tables) {
    json parts = json::array();
    for (const auto& p : t.partitions) {
      parts.push_back({{"number", p.number},
                       {"start", p.start},
                       {"size", p.size},
                       {"kind", p.kind},
                       {"name", p.name},
                       {"flags", p.flags}});
    }
    tables.push_back(
        {{"device", t.device}, {"type", t.type}, {"size", t.size}, {"partitions", parts}});
  }
  json filesystems = json::array();
  for (const auto& f : in.disk.filesystems) {
    filesystems.push_back(
        {{"device", f.device}, {"type", f.type}, {"uuid", f.uuid}, {"label", f.label}});
  }
  json mounts = json::array();
  for (const auto& m : in.disk.mounts) {
    mounts.push_back({{"mountpoint", m.mountpoint}, {"device", m.device}});
  }
  json kernels = json::array();
  for (const auto& k : in.kernels) {
    json drivers = json::object();
    for (const auto& [name, state] : k.drivers) {
      drivers[name] = drivers::to_string(state);
    }
    kernels.push_back({{"version", k.version},
                       {"image", k.image},
                       {"initramfs", k.initramfs},
                       {"debug", k.debug},
                       {"default", k.version == in.default_kernel},
                       {"drivers", drivers}});
  }
  json interfaces = json::array();
  for (const auto& i : in.interfaces) {
    interfaces.push_back({{"name", i.name}, {"method", i.method}, {"config", i.config}});
  }
  json windows = nullptr;
  if (in.windows) {
    const auto& w = *in.windows;
    json services = json::object();
    for (const auto& [name, start] : w.services) {
      services[name] = {{"start", start}, {"platform", w.platforms.at(name)}};
    }
    windows = {{"product_name", w.product_name},
               {"edition", w.edition},
               {"edition_id", w.edition_id},
               {"installation_type", w.installation_type},
               {"major", w.major},
               {"minor", w.minor},
               {"build", w.build},
               {"system_root", w.system_root},
               {"system_root_windows", w.system_root_win},
               {"system_hive", w.system_hive},
               {"software_hive", w.software_hive},
               {"control_set", w.control_set},
               {"driver_database", w.driver_database},
               {"services", services}};
  }
  return {
      {"os", os},
      {"windows", windows},
      {"disk",
       {{"partition_tables", tables},
        {"filesystems", filesystems},
        {"root", in.disk.root_device},
        {"mounts", mounts}}},
      {"boot",
       {{"firmware", in.firmware},
        {"bootloader", in.bootloader},
        {"config", in.bootloader_config},
        {"default_kernel", in.default_kernel},
        {"cmdline", in.default_cmdline}}},
      {"kernels", kernels},
      {"software",
       {{"initramfs_tool", in.initramfs_tool},
        {"initramfs_modules", in.initramfs_modules_policy},
        {"package_manager", in.package_manager},
        {"hypervisor_tools", in.hypervisor_tools},
        {"cloud_tools", in.cloud_tools}}},
      {"network",
       {{"style", in.network_style}, {"interfaces", interfaces}, {"mac_pinning", in.mac_pinning}}},
      {"warnings", in.warnings},
  };
}

std::string to_text(const Inspection& in)
{
  std::string out;
  auto line = [&](const std::string& key, const std::string& value) {
    out += fmt::format("{:<18} {}\n", key + ":", value.empty() ? "-" : value);
  };
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) {
      s += (s.empty() ? "" : ", ") + x;
    }
    return s;
  };
  std::string version = in.os.version_id;
  if (in.os.major) {
    version =
        std::to_string(*in.os.major) + (in.os.minor ? "." + std::to_string(*in.os.minor) : "");
  }
  line("OS", fmt::format("{} {} ({}, family {}, {})", in.os.id, version,
                         in.os.pretty_name.empty() ? in.os.name : in.os.pretty_name, in.os.family,
                         in.os.arch.empty() ? "arch unknown" : in.os.arch));
  if (in.windows) {
    const auto& w = *in.windows;
    line("Windows", fmt::format("{} ({} {}.{} build {}, {})", w.product_name, w.edition, w.major,
                                w.minor, w.build, w.edition_id.empty() ? "-" : w.edition_id));
    line("System root", w.system_root_win + " (" + w.system_root + ")");
    line("Control set", w.control_set + (w.driver_database ? ", DriverDatabase" : ""));
    std::vector<std::string> services;
    for (const auto& [name, start] : w.services) {
      services.push_back(fmt::format("{} ({}, start {})", name, w.platforms.at(name), start));
    }
    line("Services", join(services));
  }
  for (const auto& t : in.disk.tables) {
    line("Disk " + t.device, fmt::format("{} partition table, {} MiB", t.type, t.size >> 20));
    for (const auto& p : t.partitions) {
      const Filesystem* fs = in.disk.by_device(t.device + std::to_string(p.number));
      out += fmt::format("  {:<16} {:>8} MiB  {}{}{}\n", t.device + std::to_string(p.number),
                         p.size >> 20, fs ? fs->type : "",
                         fs && !fs->uuid.empty() ? " UUID=" + fs->uuid : "",
                         p.flags.empty() ? "" : " [" + join(p.flags) + "]");
    }
  }
  if (!in.disk.root_device.empty()) {
    std::string mounts;
    for (const auto& m : in.disk.mounts) {
      mounts += (mounts.empty() ? "" : ", ") + m.mountpoint + " on " + m.device;
    }
    line("Root", in.disk.root_device + (mounts.empty() ? "" : " (" + mounts + ")"));
  }
  line("Firmware", in.firmware);
  line("Bootloader",
       in.bootloader + (in.bootloader_config.empty() ? "" : " (" + in.bootloader_config + ")"));
  line("Kernel cmdline", in.default_cmdline);
  for (const auto& k : in.kernels) {
    std::vector<std::string> have;
    for (const auto& [name, state] : k.drivers) {
      if (state != drivers::DriverState::missing) {
        have.push_back(name + (state == drivers::DriverState::builtin ? " (built in)" : ""));
      }
    }
    line(k.version == in.default_kernel ? "Kernel (default)" : "Kernel",
         fmt::format("{} initramfs {}", k.version, k.initramfs.empty() ? "missing" : k.initramfs));
    out += fmt::format("  {:<16} {}\n", "target drivers", have.empty() ? "-" : join(have));
  }
  line("Initramfs tool", in.initramfs_tool
                             + (in.initramfs_modules_policy.empty()
                                    ? ""
                                    : " (MODULES=" + in.initramfs_modules_policy + ")"));
  line("Packages", in.package_manager.empty()
                       ? ""
                       : fmt::format("{} ({} installed)", in.package_manager, in.packages.size()));
  line("Hypervisor tools", join(in.hypervisor_tools));
  line("Cloud tools", join(in.cloud_tools));
  std::vector<std::string> ifaces;
  for (const auto& i : in.interfaces) {
    ifaces.push_back(i.name + " " + i.method);
  }
  line("Network", in.network_style + (ifaces.empty() ? "" : " (" + join(ifaces) + ")"));
  line("MAC pinning", join(in.mac_pinning));
  for (const auto& w : in.warnings) {
    out += "warning: " + w + "\n";
  }
  return out;
}

} // namespace rehost
