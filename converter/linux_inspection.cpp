#include "converter/linux_inspection.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>

#include "bootloader/boot_menus.hpp"
#include "bootloader/grub_cfg.hpp"
#include "converter/network_config.hpp"
#include "converter/shell_vars.hpp"
#include "converter/text_lines.hpp"

namespace rehost {

namespace {

// Boot menus are small; a bigger one is read up to this size, with a warning.
constexpr size_t k_boot_config_cap = 4 << 20;
// Directory entries looked at in one directory (kernels in /boot, BLS entries, profiles).
constexpr size_t k_max_entries = 512;

bool ends_with(const std::string& s, const std::string& suffix)
{
  return s.size() >= suffix.size()
         && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool starts_with(const std::string& s, const std::string& prefix)
{
  return s.rfind(prefix, 0) == 0;
}

std::string base_name(const std::string& path)
{
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Names in a directory, at most k_max_entries of them (with a warning beyond).
std::vector<std::string> list_capped(Guest& guest, const std::string& path, Inspection& out)
{
  auto names = guest.list_dir(path);
  if (!names) {
    return {};
  }
  if (names->size() > k_max_entries) {
    out.warnings.push_back(fmt::format("{} has {} entries; only the first {} were looked at", path,
                                       names->size(), k_max_entries));
    names->resize(k_max_entries);
  }
  return *names;
}

// A file too big for its kind is read up to `cap` bytes, with a warning: a partial boot menu is
// more use than none.
std::optional<std::string> read_capped(Guest& guest, const std::string& path, Inspection& out,
                                       size_t cap)
{
  auto info = guest.stat(path);
  if (info && info->type == FileType::regular && info->size > cap) {
    auto head = guest.read_head(path, cap);
    if (!head) {
      out.warnings.push_back(head.error().message + "; ignored");
      return std::nullopt;
    }
    out.warnings.push_back(
        fmt::format("{} is {} bytes; only the first {} were read", path, info->size, cap));
    return *head;
  }
  return read_for_inspection(guest, path, out, cap);
}

// ---- kernels ---------------------------------------------------------------------------------

const char* const k_image_prefixes[] = {"vmlinuz-", "vmlinux-", "bzImage-", "kernel-", "Image-"};

// "vmlinuz-6.1.0-13-amd64" -> "6.1.0-13-amd64"; "" for what is not a kernel image.
std::string image_suffix(const std::string& name)
{
  for (const char* prefix : k_image_prefixes) {
    if (starts_with(name, prefix)) {
      std::string suffix = name.substr(std::string(prefix).size());
      // Integrity files, backups and RHEL's rescue image (a copy of some other kernel).
      if (suffix.empty() || ends_with(suffix, ".hmac") || ends_with(suffix, ".sig")
          || ends_with(suffix, ".old") || ends_with(suffix, ".bak") || ends_with(suffix, ".efi")
          || suffix.find("-rescue-") != std::string::npos || starts_with(suffix, "0-rescue")) {
        return {};
      }
      return suffix;
    }
  }
  return {};
}

std::string modules_dir(Guest& guest, const std::string& version)
{
  for (const char* root : {"/lib/modules/", "/usr/lib/modules/"}) {
    if (is_dir(guest, root + version)) {
      return root + version;
    }
  }
  return {};
}

// Arch names its images after the package ("vmlinuz-linux", "vmlinuz-linux-lts"); the module
// tree's pkgbase file says which version each is.
std::string version_from_pkgbase(Guest& guest, const std::string& package, Inspection& out)
{
  for (const char* root : {"/usr/lib/modules", "/lib/modules"}) {
    for (const auto& dir : list_capped(guest, root, out)) {
      std::string base = std::string(root) + "/" + dir + "/pkgbase";
      if (is_file(guest, base)) {
        std::string text = read_or_empty(guest, base, 4096);
        text.erase(text.find_last_not_of(" \t\r\n") + 1);
        if (text == package) {
          return dir;
        }
      }
    }
  }
  return {};
}

} // namespace

std::optional<std::string> read_for_inspection(Guest& guest, const std::string& path,
                                               Inspection& out, size_t limit)
{
  auto info = guest.stat(path);
  if (!info) {
    out.warnings.push_back(info.error().message + "; ignored");
    return std::nullopt;
  }
  if (info->type == FileType::missing) {
    // A link that leads nowhere (or round in circles) is worth a word; a missing file is not.
    auto link = guest.lstat(path);
    if (link && link->type == FileType::symlink) {
      out.warnings.push_back(fmt::format(
          "{} is a symbolic link that leads nowhere (dangling or a loop); ignored", path));
    }
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

void inspect_linux_kernels(Guest& guest, Inspection& out)
{
  struct Found {
    std::string image;
    std::string suffix;
  };
  std::map<std::string, Found> by_version;
  for (const auto& name : list_capped(guest, "/boot", out)) {
    std::string suffix = image_suffix(name);
    if (suffix.empty() || !is_file(guest, "/boot/" + name)) {
      continue;
    }
    std::string version = suffix;
    if (!std::isdigit(static_cast<unsigned char>(suffix[0]))) {
      if (std::string v = version_from_pkgbase(guest, suffix, out); !v.empty()) {
        version = v;
      }
    }
    // vmlinuz wins over vmlinux and the others when a version has several images.
    auto it = by_version.find(version);
    if (it == by_version.end()
        || (starts_with(name, "vmlinuz-")
            && !starts_with(base_name(it->second.image), "vmlinuz-"))) {
      by_version[version] = {"/boot/" + name, suffix};
    }
  }
  for (const auto& [version, found] : by_version) {
    KernelInfo k;
    k.version = version;
    k.image = found.image;
    const std::string& s = found.suffix;
    for (const auto& candidate :
         {"/boot/initrd.img-" + s, "/boot/initramfs-" + s + ".img", "/boot/initrd-" + s,
          "/boot/initrd-" + s + ".img", "/boot/initramfs-" + s, "/boot/initrd.img-" + version,
          "/boot/initramfs-" + version + ".img", "/boot/initrd-" + version}) {
      if (is_file(guest, candidate)) {
        k.initramfs = candidate;
        break;
      }
    }
    k.debug = version.find("debug") != std::string::npos;
    std::string moddir = modules_dir(guest, version);
    std::optional<std::string> dep;
    std::optional<std::string> builtin;
    if (moddir.empty()) {
      out.warnings.push_back(fmt::format("kernel {} has no module tree in /lib/modules", version));
    } else {
      dep = read_for_inspection(guest, moddir + "/modules.dep", out, 16 << 20);
      builtin = read_for_inspection(guest, moddir + "/modules.builtin", out, 16 << 20);
      if (!dep) {
        out.warnings.push_back(fmt::format(
            "kernel {} has no {}/modules.dep; drivers were looked for as files", version, moddir));
      }
    }
    auto index = drivers::ModuleIndex::parse(dep.value_or(""), builtin.value_or(""));
    if (!dep && !moddir.empty()) {
      for (const auto& driver : catalog_drivers()) {
        std::string rel = drivers::module_path(driver);
        for (const char* ext : {".ko", ".ko.xz", ".ko.zst", ".ko.gz"}) {
          if (!rel.empty() && is_file(guest, moddir + "/" + rel + ext)) {
            index.add_module(driver);
            break;
          }
        }
      }
    }
    for (const auto& config : {"/boot/config-" + s, "/boot/config-" + version,
                               moddir.empty() ? std::string() : moddir + "/config"}) {
      if (!config.empty() && is_file(guest, config)) {
        if (auto text = read_for_inspection(guest, config, out, 4 << 20)) {
          index.add_config_builtins(*text);
        }
        break;
      }
    }
    for (const auto& driver : catalog_drivers()) {
      k.drivers[driver] = index.state(driver);
    }
    out.kernels.push_back(std::move(k));
  }
  std::sort(out.kernels.begin(), out.kernels.end(), [](const KernelInfo& a, const KernelInfo& b) {
    return compare_versions(a.version, b.version) > 0;
  });
}

// ---- firmware and bootloader -----------------------------------------------------------------

namespace {

// Where the ESP is mounted in the guest, if it is.
const char* const k_esp_mounts[] = {"/boot/efi", "/efi", "/boot"};

// The ESP's \EFI directory (its name is case-insensitive on FAT), or "".
std::string efi_dir(Guest& guest, const std::string& mount, Inspection& out)
{
  for (const auto& name : list_capped(guest, mount, out)) {
    if (ascii_lower(name) == "efi" && is_dir(guest, mount + "/" + name)) {
      return mount + "/" + name;
    }
  }
  return {};
}

void detect_firmware(Guest& guest, Inspection& out)
{
  const std::string fallback = ascii_lower(efi_fallback_name(out.os.arch));
  for (const auto& table : out.disk.tables) {
    for (const auto& p : table.partitions) {
      if (std::find(p.flags.begin(), p.flags.end(), "esp") != p.flags.end()) {
        out.firmware = "uefi";
        out.firmware_evidence = fmt::format("EFI system partition {}{}", table.device, p.number);
      }
    }
  }
  for (const char* mount : k_esp_mounts) {
    std::string efi = efi_dir(guest, mount, out);
    if (efi.empty()) {
      continue;
    }
    for (const auto& vendor : list_capped(guest, efi, out)) {
      for (const auto& file : list_capped(guest, efi + "/" + vendor, out)) {
        if (!ends_with(ascii_lower(file), ".efi")) {
          continue;
        }
        std::string path = efi + "/" + vendor + "/" + file;
        if (out.firmware.empty()) {
          out.firmware = "uefi";
          out.firmware_evidence = path;
        }
        std::string f = ascii_lower(file);
        if (ascii_lower(vendor) == "boot" && f == fallback) {
          out.efi_fallback_loader = true;
        }
      }
    }
    if (out.firmware == "uefi") {
      break;
    }
  }
  if (out.firmware.empty()) {
    // grub2 installs its modules for the platform it boots on.
    for (const char* dir : {"/boot/grub2", "/boot/grub"}) {
      for (const char* platform : {"i386-pc", "x86_64-efi", "arm64-efi"}) {
        if (out.firmware.empty() && is_dir(guest, std::string(dir) + "/" + platform)) {
          out.firmware = ends_with(platform, "-efi") ? "uefi" : "bios";
          out.firmware_evidence = std::string(dir) + "/" + platform;
        }
      }
    }
  }
  if (out.firmware.empty()) {
    out.firmware = "bios";
    out.firmware_evidence = "no EFI system partition or EFI loader found";
  }
  // grub-install for BIOS leaves its core image next to its modules, and needs room for it
  // on the disk: an MBR disk's gap, or a GPT disk's BIOS boot partition. Such a UEFI guest
  // boots on a target that offers only BIOS as well. (A directory has no disk to look at.)
  if (out.firmware == "uefi") {
    bool room = out.disk.tables.empty();
    for (const auto& table : out.disk.tables) {
      room = room || table.type == "msdos";
      for (const auto& p : table.partitions) {
        room = room || std::find(p.flags.begin(), p.flags.end(), "bios_grub") != p.flags.end();
      }
    }
    for (const char* dir : {"/boot/grub2", "/boot/grub"}) {
      auto info = guest.stat(std::string(dir) + "/i386-pc/core.img");
      out.bios_boot_too = out.bios_boot_too || (room && info && info->type == FileType::regular);
    }
  }
}

// The kernel version a boot entry's image path designates, by the images inspection found.
std::string kernel_of_image(const Inspection& out, const std::string& path)
{
  std::string base = base_name(path);
  for (const auto& k : out.kernels) {
    if (base_name(k.image) == base) {
      return k.version;
    }
  }
  std::string suffix = image_suffix(base);
  if (!suffix.empty()) {
    return suffix;
  }
  // systemd-boot with kernel-install: /<machine-id>/<version>/linux.
  size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    std::string dir = path.substr(0, slash);
    std::string version = base_name(dir);
    for (const auto& k : out.kernels) {
      if (k.version == version) {
        return version;
      }
    }
  }
  return {};
}

void use_entry(Inspection& out, const bootloader::MenuEntry& entry,
               const std::map<std::string, std::string>& vars)
{
  out.default_entry = entry.title.empty() ? entry.id : entry.title;
  out.default_kernel = kernel_of_image(out, entry.kernel);
  if (out.default_kernel.empty() && !entry.version.empty()) {
    out.default_kernel = entry.version;
  }
  out.default_cmdline = bootloader::expand_grub_vars(entry.args, vars);
}

// BLS entries in `dir`, newest first (the order grub's blscfg and systemd-boot show them).
std::vector<bootloader::MenuEntry> bls_entries(Guest& guest, const std::string& dir,
                                               Inspection& out)
{
  std::vector<bootloader::MenuEntry> entries;
  for (const auto& name : list_capped(guest, dir, out)) {
    if (!ends_with(name, ".conf")) {
      continue;
    }
    if (auto text = read_for_inspection(guest, dir + "/" + name, out, 64 << 10)) {
      entries.push_back(bootloader::read_bls_entry(name.substr(0, name.size() - 5), *text));
    }
  }
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return compare_versions(a.version.empty() ? a.id : a.version,
                            b.version.empty() ? b.id : b.version)
           > 0;
  });
  return entries;
}

void inspect_grub2(Guest& guest, Inspection& out, const std::string& text)
{
  size_t slash = out.bootloader_config.rfind('/');
  std::map<std::string, std::string> env;
  std::string grub_dir = out.bootloader_config.substr(0, slash);
  for (const auto& candidate : {grub_dir + "/grubenv", std::string("/boot/grub2/grubenv"),
                                std::string("/boot/grub/grubenv")}) {
    if (auto e = read_for_inspection(guest, candidate, out, 64 << 10)) {
      env = bootloader::read_grubenv(*e);
      break;
    }
  }
  auto config = bootloader::parse_grub_cfg(text);
  bool has_entries_dir = false;
  for (const auto& name : list_capped(guest, "/boot/loader/entries", out)) {
    has_entries_dir = has_entries_dir || ends_with(name, ".conf");
  }
  out.bootloader_bls =
      text.find("blscfg") != std::string::npos || (config.entries.empty() && has_entries_dir);
  if (!out.bootloader_bls) {
    if (auto entry = bootloader::default_entry(config, env["saved_entry"])) {
      bootloader::MenuEntry e;
      e.title = entry->title;
      e.kernel = entry->kernel;
      e.args = entry->args;
      use_entry(out, e, env);
    } else if (!config.entries.empty()) {
      out.warnings.push_back(fmt::format("{}: the default entry '{}' matches no menu entry",
                                         out.bootloader_config, config.default_value));
    }
    return;
  }
  bootloader::BootMenu menu;
  menu.entries = bls_entries(guest, "/boot/loader/entries", out);
  menu.default_value = config.uses_saved_entry || config.default_value.empty()
                           ? env["saved_entry"]
                           : config.default_value;
  // RHEL 8 keeps the common arguments in grubenv's kernelopts; older grub.cfg files set it.
  // (No std::regex on these sizes: its recursive matcher can exhaust the stack.)
  if (!env.count("kernelopts")) {
    const std::string set = "set kernelopts=\"";
    if (size_t at = text.find(set); at != std::string::npos) {
      size_t start = at + set.size();
      size_t end = text.find('"', start);
      if (end != std::string::npos) {
        env["kernelopts"] = text.substr(start, end - start);
      }
    }
  }
  if (auto entry = bootloader::default_menu_entry(menu)) {
    use_entry(out, *entry, env);
  } else {
    out.warnings.push_back("grub2 uses BLS entries but /boot/loader/entries has none");
  }
}

bool find_grub2(Guest& guest, Inspection& out)
{
  std::string config;
  for (const char* cfg : {"/boot/grub/grub.cfg", "/boot/grub2/grub.cfg"}) {
    if (is_file(guest, cfg)) {
      config = cfg;
      break;
    }
  }
  // RHEL 7/8 on UEFI boot the ESP's grub.cfg; RHEL 9 and others keep a stub there that loads
  // /boot/grub2/grub.cfg. The config reported is the one holding the menu, never a stub: rules
  // regenerate it (${bootloader.config}), and a stub overwritten with a menu would no longer
  // follow what grub2-mkconfig writes later.
  std::optional<std::string> text;
  std::string stub;
  std::optional<std::string> stub_text;
  if (out.firmware == "uefi") {
    for (const char* mount : k_esp_mounts) {
      std::string efi = efi_dir(guest, mount, out);
      for (const auto& vendor :
           efi.empty() ? std::vector<std::string>{} : list_capped(guest, efi, out)) {
        std::string cfg = efi + "/" + vendor + "/grub.cfg";
        if (ascii_lower(vendor) == "boot" || !is_file(guest, cfg)) {
          continue;
        }
        auto esp_text = read_capped(guest, cfg, out, k_boot_config_cap);
        if (esp_text && !bootloader::is_grub_stub(*esp_text)) {
          config = cfg;
          text = esp_text;
          break;
        }
        if (esp_text && stub.empty()) {
          stub = cfg;
          stub_text = esp_text;
        }
      }
      if (text) {
        break;
      }
    }
  }
  if (!text && !stub.empty()) {
    std::string target = bootloader::grub_stub_target(*stub_text);
    if (target.empty()) {
      target = config.empty() ? "/boot/grub2/grub.cfg" : config;
    }
    if (is_file(guest, target)) {
      config = target;
    } else if (config.empty()) {
      // No menu to read: the stub's text still tells BLS apart.
      out.warnings.push_back(
          fmt::format("{} loads {}, which is missing: the guest has no boot menu", stub, target));
      config = target;
      text = stub_text;
    }
  }
  if (config.empty()) {
    return false;
  }
  out.bootloader = "grub2";
  out.bootloader_config = config;
  if (!text) {
    text = read_capped(guest, config, out, k_boot_config_cap);
  }
  if (text) {
    inspect_grub2(guest, out, *text);
  }
  return true;
}

bool find_grub_legacy(Guest& guest, Inspection& out)
{
  for (const char* cfg : {"/boot/grub/menu.lst", "/boot/grub/grub.conf",
                          "/boot/efi/EFI/redhat/grub.conf", "/boot/efi/EFI/centos/grub.conf"}) {
    if (!is_file(guest, cfg)) {
      continue;
    }
    out.bootloader = "grub-legacy";
    out.bootloader_config = cfg;
    if (auto text = read_capped(guest, cfg, out, k_boot_config_cap)) {
      auto menu = bootloader::read_grub_legacy_menu(*text);
      if (menu.default_value == "saved") {
        std::string saved = read_or_empty(guest, "/boot/grub/default", 4096);
        menu.default_value = saved.substr(0, saved.find_first_of(" \t\r\n"));
      }
      if (auto entry = bootloader::default_menu_entry(menu)) {
        use_entry(out, *entry, {});
      }
    }
    return true;
  }
  return false;
}

bool find_systemd_boot(Guest& guest, Inspection& out)
{
  for (const char* mount : k_esp_mounts) {
    std::string loader = std::string(mount) + "/loader/loader.conf";
    std::string efi = efi_dir(guest, mount, out);
    bool binary = !efi.empty() && is_dir(guest, efi + "/systemd");
    if (!is_file(guest, loader) && !binary) {
      continue;
    }
    out.bootloader = "systemd-boot";
    out.bootloader_config = is_file(guest, loader) ? loader : efi + "/systemd";
    bootloader::BootMenu menu;
    menu.entries = bls_entries(guest, std::string(mount) + "/loader/entries", out);
    if (auto text = read_for_inspection(guest, loader, out, 64 << 10)) {
      menu.default_value = bootloader::loader_conf_default(*text);
    }
    if (menu.default_value == "@saved") {
      menu.default_value.clear();
    }
    if (auto entry = bootloader::default_menu_entry(menu)) {
      use_entry(out, *entry, {});
    }
    return true;
  }
  return false;
}

bool find_extlinux(Guest& guest, Inspection& out)
{
  for (const char* cfg :
       {"/boot/extlinux/extlinux.conf", "/boot/syslinux/syslinux.cfg",
        "/boot/syslinux/extlinux.conf", "/boot/extlinux.conf", "/extlinux.conf", "/syslinux.cfg"}) {
    if (!is_file(guest, cfg)) {
      continue;
    }
    out.bootloader = "extlinux";
    out.bootloader_config = cfg;
    if (auto text = read_capped(guest, cfg, out, k_boot_config_cap)) {
      if (auto entry = bootloader::default_menu_entry(bootloader::read_extlinux_menu(*text))) {
        use_entry(out, *entry, {});
      }
    }
    return true;
  }
  return false;
}

} // namespace

void inspect_linux_boot(Guest& guest, Inspection& out)
{
  detect_firmware(guest, out);
  // grub2 first: a guest that moved to it often keeps an old menu.lst or extlinux.conf.
  (void)(find_grub2(guest, out) || find_grub_legacy(guest, out) || find_systemd_boot(guest, out)
         || find_extlinux(guest, out));
  if (!out.default_kernel.empty() && !out.kernel(out.default_kernel)) {
    out.warnings.push_back(fmt::format(
        "the default boot entry names kernel {}, which is not in /boot", out.default_kernel));
  }
  if (out.default_kernel.empty() || !out.kernel(out.default_kernel)) {
    for (const auto& k : out.kernels) {
      if (!k.debug) {
        out.default_kernel = k.version;
        break;
      }
    }
  }
}

// ---- software --------------------------------------------------------------------------------

namespace {

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
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
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

// pacman's local database: one directory per package, "NAME-VERSION-RELEASE".
std::set<std::string> pacman_installed(const std::vector<std::string>& dirs)
{
  std::set<std::string> installed;
  for (const auto& d : dirs) {
    size_t release = d.rfind('-');
    size_t version = release == std::string::npos || release == 0 ? std::string::npos
                                                                  : d.rfind('-', release - 1);
    if (version != std::string::npos && version > 0) {
      installed.insert(d.substr(0, version));
    }
  }
  return installed;
}

// RPM 4.16 and later (RHEL 9, Fedora 33+, Amazon Linux 2023) keep the database in SQLite, whose
// Name index lists every installed package. Berkeley DB (older releases) and SUSE's ndb are
// not read: there, tools are recognised by their files.
std::optional<std::set<std::string>> rpm_sqlite_installed(Guest& guest, const std::string& path,
                                                          Inspection& out)
{
  auto info = guest.stat(path);
  if (!info || info->type != FileType::regular || info->size == 0) {
    return std::nullopt;
  }
  if (info->size > (512u << 20)) {
    out.warnings.push_back(fmt::format("{} is {} bytes; not read", path, info->size));
    return std::nullopt;
  }
  auto head = guest.read_head(path, 16);
  if (!head || *head != std::string("SQLite format 3\0", 16)) {
    out.warnings.push_back(fmt::format("{} is not an SQLite database; ignored", path));
    return std::nullopt;
  }
  std::string host = (std::filesystem::temp_directory_path()
                      / fmt::format("rehost-rpmdb-{}-{}", getpid(), static_cast<const void*>(&out)))
                         .string();
  struct Remove {
    std::string path;
    ~Remove() { std::remove(path.c_str()); }
  } cleanup{host};
  if (auto r = guest.download(path, host); !r) {
    out.warnings.push_back(r.error().message + "; installed rpm packages not read");
    return std::nullopt;
  }
  // immutable: the copy has no -wal or -shm beside it and is never written.
  sqlite3* db = nullptr;
  std::string uri = "file:" + host + "?immutable=1";
  std::set<std::string> names;
  int rc = sqlite3_open_v2(uri.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr);
  sqlite3_stmt* stmt = nullptr;
  if (rc == SQLITE_OK) {
    rc = sqlite3_prepare_v2(db, "SELECT key FROM Name", -1, &stmt, nullptr);
  }
  while (rc == SQLITE_OK || rc == SQLITE_ROW) {
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
      if (const unsigned char* key = sqlite3_column_text(stmt, 0)) {
        names.insert(reinterpret_cast<const char*>(key));
      }
    }
  }
  std::string error = db ? sqlite3_errmsg(db) : "out of memory";
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  if (rc != SQLITE_DONE) {
    out.warnings.push_back(fmt::format("{}: {}; installed rpm packages not read", path, error));
    return std::nullopt;
  }
  return names;
}

bool any_exists(Guest& guest, std::initializer_list<const char*> paths)
{
  return std::any_of(paths.begin(), paths.end(), [&](const char* p) { return exists(guest, p); });
}

void detect_initramfs(Guest& guest, Inspection& out)
{
  if (any_exists(guest, {"/usr/bin/dracut", "/usr/sbin/dracut", "/sbin/dracut"})) {
    out.initramfs_tool = "dracut";
  } else if (any_exists(guest, {"/usr/sbin/update-initramfs", "/usr/sbin/mkinitramfs",
                                "/sbin/update-initramfs"})) {
    out.initramfs_tool = "initramfs-tools";
  } else if (any_exists(guest, {"/usr/bin/mkinitcpio", "/bin/mkinitcpio"})) {
    out.initramfs_tool = "mkinitcpio";
  } else if (any_exists(guest, {"/sbin/mkinitrd", "/usr/sbin/mkinitrd", "/usr/bin/mkinitrd"})) {
    out.initramfs_tool = "mkinitrd";
  }
  if (out.initramfs_tool == "initramfs-tools") {
    std::string policy = "most";
    if (auto conf = read_for_inspection(guest, "/etc/initramfs-tools/initramfs.conf", out)) {
      policy = shell_var(*conf, "MODULES").value_or(policy);
    }
    for (const auto& name : list_capped(guest, "/etc/initramfs-tools/conf.d", out)) {
      if (auto conf = read_for_inspection(guest, "/etc/initramfs-tools/conf.d/" + name, out)) {
        policy = shell_var(*conf, "MODULES").value_or(policy);
      }
    }
    out.initramfs_modules_policy = policy;
    out.initramfs_host_only = policy == "dep";
  } else if (out.initramfs_tool == "dracut") {
    // The distribution's defaults, then the admin's; the last hostonly= wins.
    std::vector<std::string> files;
    for (const auto& name : list_capped(guest, "/usr/lib/dracut/dracut.conf.d", out)) {
      if (ends_with(name, ".conf")) {
        files.push_back("/usr/lib/dracut/dracut.conf.d/" + name);
      }
    }
    files.push_back("/etc/dracut.conf");
    for (const auto& name : list_capped(guest, "/etc/dracut.conf.d", out)) {
      if (ends_with(name, ".conf")) {
        files.push_back("/etc/dracut.conf.d/" + name);
      }
    }
    bool host_only = false;
    for (const auto& f : files) {
      if (auto conf = read_for_inspection(guest, f, out)) {
        if (auto value = shell_var(*conf, "hostonly")) {
          host_only = ascii_lower(*value) == "yes";
        }
      }
    }
    out.initramfs_host_only = host_only;
  } else if (out.initramfs_tool == "mkinitcpio") {
    bool autodetect = false;
    if (auto conf = read_for_inspection(guest, "/etc/mkinitcpio.conf", out)) {
      // The last HOOKS=(...) line counts (a bash array; no std::regex, see above).
      std::istringstream lines(*conf);
      std::string line;
      while (std::getline(lines, line)) {
        size_t start = line.find_first_not_of(" \t");
        if (start != std::string::npos && line.compare(start, 6, "HOOKS=") == 0) {
          std::string value = line.substr(start + 6);
          value = value.substr(0, value.find('#'));
          autodetect = value.find("autodetect") != std::string::npos;
        }
      }
    }
    out.initramfs_host_only = autodetect;
  } else if (out.initramfs_tool == "mkinitrd") {
    // SUSE's and RHEL 5's mkinitrd build for the drivers the running system uses.
    out.initramfs_host_only = true;
  }
}

struct Tool {
  const char* name;
  std::vector<const char*> packages;
  std::vector<const char*> files;
};

const Tool k_hypervisor_tools[] = {
    {"open-vm-tools", {"open-vm-tools", "open-vm-tools-desktop"}, {}},
    {"vmware-tools",
     {},
     {"/usr/bin/vmware-uninstall-tools.pl", "/etc/vmware-tools/locations",
      "/usr/lib/vmware-tools/sbin64/vmtoolsd"}},
    {"virtualbox-guest-additions",
     {"virtualbox-guest-utils", "virtualbox-guest-additions", "virtualbox-guest-x11",
      "virtualbox-guest-utils-nox"},
     {"/opt/VBoxGuestAdditions", "/usr/sbin/VBoxService", "/sbin/rcvboxadd"}},
    {"hyperv-daemons",
     {"hyperv-daemons", "hyperv-tools", "hypervkvpd", "linux-cloud-tools-common"},
     {"/usr/sbin/hv_kvp_daemon", "/usr/sbin/hypervkvpd", "/usr/lib/linux-tools/hv_kvp_daemon"}},
    {"xe-guest-utilities",
     {"xe-guest-utilities", "xe-guest-utilities-latest", "xen-guest-agent"},
     {"/usr/sbin/xe-daemon", "/usr/sbin/xe-linux-distribution", "/usr/sbin/xen-guest-agent"}},
};

const Tool k_cloud_tools[] = {
    {"cloud-init", {"cloud-init"}, {"/usr/bin/cloud-init"}},
    {"amazon-ssm-agent",
     {"amazon-ssm-agent"},
     {"/usr/bin/amazon-ssm-agent", "/snap/amazon-ssm-agent", "/usr/sbin/amazon-ssm-agent"}},
    {"qemu-guest-agent", {"qemu-guest-agent"}, {"/usr/sbin/qemu-ga", "/usr/bin/qemu-ga"}},
    {"google-guest-agent",
     {"google-guest-agent", "google-compute-engine"},
     {"/usr/bin/google_guest_agent", "/usr/bin/google_network_daemon"}},
    {"walinuxagent",
     {"walinuxagent", "WALinuxAgent", "python-azure-agent"},
     {"/usr/sbin/waagent", "/usr/bin/waagent"}},
};

} // namespace

void inspect_linux_software(Guest& guest, Inspection& out)
{
  if (auto status = read_for_inspection(guest, "/var/lib/dpkg/status", out, 64 << 20)) {
    out.package_manager = "dpkg";
    out.packages = dpkg_installed(*status);
  } else if (is_dir(guest, "/var/lib/rpm") || is_dir(guest, "/usr/lib/sysimage/rpm")) {
    out.package_manager = "rpm";
    for (const char* db : {"/usr/lib/sysimage/rpm/rpmdb.sqlite", "/var/lib/rpm/rpmdb.sqlite"}) {
      if (is_file(guest, db)) {
        if (auto names = rpm_sqlite_installed(guest, db, out)) {
          out.packages = std::move(*names);
        }
        break;
      }
    }
  } else if (is_dir(guest, "/var/lib/pacman/local")) {
    out.package_manager = "pacman";
    if (auto dirs = guest.list_dir("/var/lib/pacman/local")) {
      out.packages = pacman_installed(*dirs);
    }
  }
  struct Frontend {
    const char* name;
    std::vector<const char*> files;
  };
  static const Frontend k_frontends[] = {
      {"apt", {"/usr/bin/apt-get"}},   {"dnf", {"/usr/bin/dnf", "/usr/bin/dnf5"}},
      {"yum", {"/usr/bin/yum"}},       {"zypper", {"/usr/bin/zypper"}},
      {"pacman", {"/usr/bin/pacman"}},
  };
  for (const Frontend& f : k_frontends) {
    if (std::any_of(f.files.begin(), f.files.end(),
                    [&](const char* p) { return exists(guest, p); })) {
      out.package_frontend = f.name;
      break;
    }
  }
  detect_initramfs(guest, out);

  std::vector<std::string> opt = list_capped(guest, "/opt", out);
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
      // /opt/VBoxGuestAdditions-7.0.12: the version is in the name.
      std::string prefix = std::string(f).substr(5) + "-";
      if (starts_with(f, "/opt/") && std::any_of(opt.begin(), opt.end(), [&](const std::string& d) {
            return starts_with(d, prefix);
          })) {
        return true;
      }
    }
    return false;
  };
  for (const auto& t : k_hypervisor_tools) {
    if (detect(t)) {
      out.hypervisor_tools.emplace_back(t.name);
    }
  }
  // Without a package list, vmtoolsd alone still says open-vm-tools (the tarball has its own
  // marks, above).
  if (out.package_manager != "dpkg" && out.package_manager != "pacman"
      && any_exists(guest, {"/usr/bin/vmtoolsd", "/usr/sbin/vmtoolsd"})
      && std::find(out.hypervisor_tools.begin(), out.hypervisor_tools.end(), "vmware-tools")
             == out.hypervisor_tools.end()
      && std::find(out.hypervisor_tools.begin(), out.hypervisor_tools.end(), "open-vm-tools")
             == out.hypervisor_tools.end()) {
    out.hypervisor_tools.insert(out.hypervisor_tools.begin(), "open-vm-tools");
  }
  for (const auto& t : k_cloud_tools) {
    if (detect(t)) {
      out.cloud_tools.emplace_back(t.name);
    }
  }
  if (auto config = read_for_inspection(guest, "/etc/selinux/config", out)) {
    out.selinux = ascii_lower(shell_var(*config, "SELINUX").value_or(""));
  }
}

// ---- network ---------------------------------------------------------------------------------

void inspect_linux_network(Guest& guest, Inspection& out)
{
  std::vector<NetworkInterface> ifupdown;
  std::vector<std::string> files = {"/etc/network/interfaces"};
  if (auto text = read_for_inspection(guest, "/etc/network/interfaces", out)) {
    for (const auto& source : ifupdown_sources(*text)) {
      // "source /etc/network/interfaces.d/*" and "source-directory /etc/network/interfaces.d".
      std::string dir = source.substr(0, source.rfind('/'));
      std::string pattern = base_name(source);
      if (pattern == "*" || pattern.find('*') != std::string::npos) {
        for (const auto& name : list_capped(guest, dir, out)) {
          if (name[0] != '.' && (pattern == "*" || ends_with(pattern, "*"))) {
            files.push_back(dir + "/" + name);
          }
        }
      } else {
        files.push_back(source);
      }
    }
  }
  for (const auto& f : files) {
    if (auto text = read_for_inspection(guest, f, out)) {
      for (auto& i : parse_ifupdown(*text, f)) {
        ifupdown.push_back(std::move(i));
      }
    }
  }

  std::vector<NetworkInterface> netplan;
  for (const auto& name : list_capped(guest, "/etc/netplan", out)) {
    if (!ends_with(name, ".yaml") && !ends_with(name, ".yml")) {
      continue;
    }
    std::string path = "/etc/netplan/" + name;
    if (auto text = read_for_inspection(guest, path, out)) {
      std::string error;
      auto found = parse_netplan(*text, path, &error);
      if (!error.empty()) {
        out.warnings.push_back(fmt::format("{}: not valid YAML ({}); ignored", path, error));
      }
      netplan.insert(netplan.end(), found.begin(), found.end());
      if (out.network_style.empty()) {
        out.network_style = "netplan";
      }
    }
  }

  auto ifcfg_dir = [&](const std::string& dir) {
    std::vector<NetworkInterface> found;
    for (const auto& name : list_capped(guest, dir, out)) {
      if (!starts_with(name, "ifcfg-") || name == "ifcfg-lo" || ends_with(name, ".bak")
          || ends_with(name, ".rpmsave") || ends_with(name, "~")) {
        continue;
      }
      if (auto text = read_for_inspection(guest, dir + "/" + name, out)) {
        if (auto i = parse_ifcfg(name.substr(6), *text, dir + "/" + name)) {
          found.push_back(std::move(*i));
        }
      }
    }
    return found;
  };
  auto rhel_ifcfg = ifcfg_dir("/etc/sysconfig/network-scripts");
  auto suse_ifcfg = ifcfg_dir("/etc/sysconfig/network");

  std::vector<NetworkInterface> nm;
  for (const char* dir :
       {"/etc/NetworkManager/system-connections", "/run/NetworkManager/system-connections"}) {
    for (const auto& name : list_capped(guest, dir, out)) {
      std::string path = std::string(dir) + "/" + name;
      if (auto text = read_for_inspection(guest, path, out)) {
        if (auto i = parse_nm_keyfile(*text, path)) {
          nm.push_back(std::move(*i));
        }
      }
    }
  }

  std::vector<NetworkInterface> networkd;
  for (const char* dir : {"/etc/systemd/network"}) {
    for (const auto& name : list_capped(guest, dir, out)) {
      std::string path = std::string(dir) + "/" + name;
      bool link = ends_with(name, ".link");
      if (!ends_with(name, ".network") && !link) {
        continue;
      }
      if (auto text = read_for_inspection(guest, path, out)) {
        if (auto i = parse_networkd(*text, path)) {
          if (link) {
            if (!i->mac.empty()) {
              out.mac_pinning.push_back(path);
            }
          } else {
            networkd.push_back(std::move(*i));
          }
        }
      }
    }
  }

  // The style that brings the network up, and its interfaces. netplan renders to networkd or
  // NetworkManager; ifupdown's own file counts only when it configures something.
  struct Style {
    const char* name;
    const std::vector<NetworkInterface>& interfaces;
    bool present;
  };
  const Style styles[] = {
      {"ifupdown", ifupdown, !ifupdown.empty() || out.has_package("ifupdown")},
      {"netplan", netplan, out.network_style == "netplan"},
      {"ifcfg", rhel_ifcfg, !rhel_ifcfg.empty()},
      {"wicked", suse_ifcfg,
       !suse_ifcfg.empty() || (out.os.family == "suse" && exists(guest, "/usr/sbin/wicked"))},
      {"networkmanager", nm, !nm.empty()},
      {"systemd-networkd", networkd, !networkd.empty()},
  };
  out.network_style.clear();
  for (const auto& s : styles) {
    if (s.present) {
      out.network_style = s.name;
      out.interfaces = s.interfaces;
      break;
    }
  }
  // No profile at all: the enabled service configures every interface by DHCP on its own
  // (NetworkManager's default connection, a distribution's networkd defaults).
  if (out.network_style.empty()) {
    const std::string wants = "/etc/systemd/system/multi-user.target.wants/";
    if (exists(guest, wants + "NetworkManager.service")) {
      out.network_style = "networkmanager";
    } else if (exists(guest, wants + "systemd-networkd.service")) {
      out.network_style = "systemd-networkd";
    }
  }
  for (const auto& s : styles) {
    for (const auto& i : s.interfaces) {
      if (!i.mac.empty()
          && std::find(out.mac_pinning.begin(), out.mac_pinning.end(), i.config)
                 == out.mac_pinning.end()) {
        out.mac_pinning.push_back(i.config);
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

} // namespace rehost
