#include "converter/inspection.hpp"

#include <algorithm>
#include <cctype>
#include <sstream>

#include <fmt/format.h>

#include "converter/linux_inspection.hpp"
#include "converter/windows_guest.hpp"

namespace rehost {

namespace {

// A directory that holds a Linux root file system, even if its release files say nothing
// useful.
bool looks_like_linux_root(Guest& guest)
{
  return is_dir(guest, "/etc")
         && (exists(guest, "/bin/sh") || exists(guest, "/usr/bin/sh") || is_dir(guest, "/boot")
             || is_dir(guest, "/lib/modules") || is_dir(guest, "/usr/lib/modules"));
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
  // rpmvercmp's rules: separators only separate; runs of digits compare numerically, runs of
  // letters as strings; a numeric run is newer than a letter run ("1160.119.1.el7" is newer
  // than "1160.el7"); with all runs equal, the string with more runs is newer.
  auto is_alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  auto is_digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
  size_t i = 0;
  size_t j = 0;
  while (true) {
    while (i < a.size() && !is_alnum(a[i])) {
      ++i;
    }
    while (j < b.size() && !is_alnum(b[j])) {
      ++j;
    }
    if (i >= a.size() || j >= b.size()) {
      break;
    }
    bool numeric = is_digit(a[i]);
    if (numeric != is_digit(b[j])) {
      return numeric ? 1 : -1;
    }
    size_t ei = i;
    size_t ej = j;
    while (ei < a.size()
           && (numeric ? is_digit(a[ei]) : std::isalpha(static_cast<unsigned char>(a[ei])))) {
      ++ei;
    }
    while (ej < b.size()
           && (numeric ? is_digit(b[ej]) : std::isalpha(static_cast<unsigned char>(b[ej])))) {
      ++ej;
    }
    std::string na = a.substr(i, ei - i);
    std::string nb = b.substr(j, ej - j);
    if (numeric) {
      na.erase(0, std::min(na.find_first_not_of('0'), na.size()));
      nb.erase(0, std::min(nb.find_first_not_of('0'), nb.size()));
      if (na.size() != nb.size()) {
        return na.size() < nb.size() ? -1 : 1;
      }
    }
    if (na != nb) {
      return na < nb ? -1 : 1;
    }
    i = ei;
    j = ej;
  }
  if (i >= a.size() && j >= b.size()) {
    return 0;
  }
  return i >= a.size() ? -1 : 1;
}

std::optional<Inspection> inspect_guest(Guest& guest, const DiskInfo& disk)
{
  Inspection out;
  out.disk = disk;
  for (const auto& f : disk.filesystems) {
    if (f.encrypted()) {
      out.warnings.push_back(fmt::format("{} is encrypted ({}): rehost does not open it, so the "
                                         "file systems in it are neither inspected nor converted",
                                         f.device, f.type));
    }
  }
  std::map<std::string, std::string> release;
  for (const auto& path : release_files()) {
    if (auto text = read_for_inspection(guest, path, out, 64 << 10)) {
      release[path] = *text;
    }
  }
  auto os = identify_os(release, &out.warnings);
  if (!os) {
    // No Linux release file: a Windows root is recognised from its registry.
    if (inspect_windows(guest, out)) {
      return out;
    }
    // Release files that are there but unreadable or unrecognisable: still a Linux guest, and
    // the rest of the inspection is worth having.
    bool had_release_file = !release.empty();
    for (const auto& w : out.warnings) {
      had_release_file = had_release_file || w.find("-release") != std::string::npos
                         || w.find("_version") != std::string::npos;
    }
    if (!had_release_file || !looks_like_linux_root(guest)) {
      return std::nullopt;
    }
    out.warnings.push_back("the distribution could not be identified from its release files");
    os = OsIdentity{};
    os->id = "linux";
    os->family = "linux";
    os->source = "";
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
  inspect_linux_kernels(guest, out);
  inspect_linux_boot(guest, out);
  inspect_linux_software(guest, out);
  inspect_linux_network(guest, out);
  return out;
}

std::string efi_fallback_name(const std::string& arch)
{
  if (arch == "aarch64") {
    return "BOOTAA64.EFI";
  }
  if (arch == "i386" || arch == "i686") {
    return "BOOTIA32.EFI";
  }
  return "BOOTX64.EFI";
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
    filesystems.push_back({{"device", f.device},
                           {"type", f.type},
                           {"uuid", f.uuid},
                           {"label", f.label},
                           {"encrypted", f.encrypted()}});
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
    interfaces.push_back({{"name", i.name},
                          {"method", i.method},
                          {"config", i.config},
                          {"addresses", i.addresses},
                          {"mac", i.mac}});
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
               {"unclean_hives", w.unclean_hives},
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
        {"firmware_evidence", in.firmware_evidence},
        {"efi_fallback_loader", in.efi_fallback_loader},
        {"bios_boot_too", in.bios_boot_too},
        {"bootloader", in.bootloader},
        {"config", in.bootloader_config},
        {"bls", in.bootloader_bls},
        {"default_entry", in.default_entry},
        {"default_kernel", in.default_kernel},
        {"cmdline", in.default_cmdline}}},
      {"kernels", kernels},
      {"software",
       {{"initramfs_tool", in.initramfs_tool},
        {"initramfs_modules", in.initramfs_modules_policy},
        {"initramfs_host_only",
         in.initramfs_host_only ? json(*in.initramfs_host_only) : json(nullptr)},
        {"package_manager", in.package_manager},
        {"package_frontend", in.package_frontend},
        {"package_count", in.packages.size()},
        {"hypervisor_tools", in.hypervisor_tools},
        {"cloud_tools", in.cloud_tools},
        {"selinux", in.selinux}}},
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
  line("OS", fmt::format("{}{} ({}, family {}, {})", in.os.id, version.empty() ? "" : " " + version,
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
  line("Firmware",
       in.firmware + (in.firmware_evidence.empty() ? "" : " (" + in.firmware_evidence + ")")
           + (in.firmware == "uefi" && !in.efi_fallback_loader
                  ? ", no fallback loader \\EFI\\BOOT\\" + efi_fallback_name(in.os.arch)
                  : "")
           + (in.firmware == "uefi" && in.bios_boot_too ? ", grub also installed for BIOS" : ""));
  line("Bootloader", in.bootloader + (in.bootloader_bls ? " with BLS entries" : "")
                         + (in.bootloader_config.empty() ? "" : " (" + in.bootloader_config + ")"));
  line("Default entry", in.default_entry);
  line("Kernel cmdline", in.default_cmdline);
  for (const auto& k : in.kernels) {
    std::vector<std::string> have;
    std::vector<std::string> missing;
    for (const auto& [name, state] : k.drivers) {
      if (state != drivers::DriverState::missing) {
        have.push_back(name + (state == drivers::DriverState::builtin ? " (built in)" : ""));
      } else {
        missing.push_back(name);
      }
    }
    line(k.version == in.default_kernel ? "Kernel (default)" : "Kernel",
         fmt::format("{} initramfs {}", k.version, k.initramfs.empty() ? "missing" : k.initramfs));
    out += fmt::format("  {:<16} {}\n", "target drivers", have.empty() ? "-" : join(have));
    if (!missing.empty()) {
      out += fmt::format("  {:<16} {}\n", "missing drivers", join(missing));
    }
  }
  std::string host_only;
  if (in.initramfs_host_only) {
    host_only = *in.initramfs_host_only ? ", host-only" : ", generic";
  }
  line("Initramfs tool", in.initramfs_tool
                             + (in.initramfs_modules_policy.empty()
                                    ? ""
                                    : " (MODULES=" + in.initramfs_modules_policy + ")")
                             + (in.initramfs_tool.empty() ? "" : host_only));
  std::string packages = in.package_manager;
  if (!in.package_frontend.empty() && in.package_frontend != in.package_manager) {
    packages += (packages.empty() ? "" : "/") + in.package_frontend;
  }
  if (!in.packages.empty()) {
    packages += fmt::format(" ({} installed)", in.packages.size());
  }
  line("Packages", packages);
  line("Hypervisor tools", join(in.hypervisor_tools));
  line("Cloud tools", join(in.cloud_tools));
  line("SELinux", in.selinux);
  std::vector<std::string> ifaces;
  for (const auto& i : in.interfaces) {
    ifaces.push_back(i.name + " " + i.method + (i.addresses.empty() ? "" : " " + join(i.addresses))
                     + (i.mac.empty() ? "" : " mac " + i.mac));
  }
  line("Network", in.network_style + (ifaces.empty() ? "" : " (" + join(ifaces) + ")"));
  line("MAC pinning", join(in.mac_pinning));
  for (const auto& w : in.warnings) {
    out += "warning: " + w + "\n";
  }
  return out;
}

} // namespace rehost
