#include "converter/validate.hpp"

#include <algorithm>
#include <set>

#include "bootloader/boot_menus.hpp"
#include "bootloader/device_names.hpp"
#include "bootloader/fstab.hpp"
#include "bootloader/grub_cfg.hpp"
#include "bootloader/kernel_cmdline.hpp"
#include "converter/actions.hpp"
#include "converter/shell_vars.hpp"
#include "converter/windows_convert.hpp"
#include "drivers/initramfs_reader.hpp"
#include "drivers/kernel_drivers.hpp"

namespace rehost {

namespace {

// Whether the guest's ESP is mounted where the inspector looks for loaders. When it is not (an
// fstab entry by PARTUUID=, noauto, systemd-gpt-auto), nothing is known of its loaders.
bool esp_visible(Guest& guest)
{
  return is_dir(guest, "/boot/efi/EFI") || is_dir(guest, "/efi/EFI") || is_dir(guest, "/boot/EFI");
}

std::string join(const std::vector<std::string>& v)
{
  std::string s;
  for (const auto& x : v) {
    s += (s.empty() ? "" : ", ") + x;
  }
  return s;
}

// A path in grub.cfg is relative to the file system grub reads it from: with a separate /boot,
// "/vmlinuz-6.1" is the guest's /boot/vmlinuz-6.1.
std::string guest_path_of_boot_file(const Inspection& in, const std::string& path)
{
  bool separate_boot = !in.disk.device_at("/boot").empty();
  if (separate_boot && path.rfind("/boot/", 0) != 0) {
    return "/boot" + path;
  }
  return path;
}

Check check_initramfs(Guest& guest, const Inspection& in, const TargetProfile& target,
                      nlohmann::json* listing_json)
{
  Check check{"initramfs", false, ""};
  const KernelInfo* kernel = in.kernel(in.default_kernel);
  if (!kernel) {
    check.detail = "no default kernel found";
    return check;
  }
  if (kernel->initramfs.empty()) {
    check.detail = fmt::format("kernel {} has no initramfs", kernel->version);
    return check;
  }
  auto listing = drivers::list_guest_initramfs(guest, kernel->initramfs);
  if (!listing) {
    check.detail = fmt::format("cannot read {}: {}", kernel->initramfs, listing.error().message);
    return check;
  }
  auto present = drivers::modules_in(*listing, kernel->version);
  std::set<std::string> have(present.begin(), present.end());
  std::vector<std::string> missing;
  std::vector<std::string> found;
  std::vector<std::string> no_network; // network drivers the kernel does not have at all
  for (const auto& driver : target.all_drivers()) {
    auto it = kernel->drivers.find(driver);
    auto state = it == kernel->drivers.end() ? drivers::DriverState::missing : it->second;
    bool network = std::find(target.network_drivers.begin(), target.network_drivers.end(), driver)
                   != target.network_drivers.end();
    if (network && state == drivers::DriverState::missing) {
      // The disk boots without it; the report says the guest will have no network there.
      no_network.push_back(driver);
    } else if (state == drivers::DriverState::builtin) {
      found.push_back(driver + " (built in)");
    } else if (have.count(drivers::module_name(driver))) {
      found.push_back(driver);
    } else {
      missing.push_back(driver);
    }
  }
  if (listing_json) {
    *listing_json = {{"kernel", kernel->version},
                     {"initramfs", kernel->initramfs},
                     {"segments", listing->segments},
                     {"modules", present}};
  }
  check.passed = missing.empty();
  check.detail = check.passed ? fmt::format("{} holds {}", kernel->initramfs, join(found))
                              : fmt::format("{} lacks {}", kernel->initramfs, join(missing));
  if (!no_network.empty()) {
    check.detail += fmt::format("; kernel {} has no {} driver: no network on {}", kernel->version,
                                join(no_network), target.name);
  }
  return check;
}

// The BLS entry inspection found to be the default (grub's blscfg reads these files; grub.cfg
// has no menu entries), with its arguments as grub expands them.
std::optional<bootloader::GrubEntry> default_bls_entry(Guest& guest, const Inspection& in)
{
  const std::string dir = "/boot/loader/entries";
  auto names = guest.list_dir(dir);
  if (!names) {
    return std::nullopt;
  }
  for (const auto& name : *names) {
    if (!name.ends_with(".conf")) {
      continue;
    }
    auto text = guest.read_file(dir + "/" + name, 64 << 10);
    if (!text) {
      continue;
    }
    auto bls = bootloader::read_bls_entry(name.substr(0, name.size() - 5), *text);
    if (bls.title != in.default_entry && bls.id != in.default_entry) {
      continue;
    }
    bootloader::GrubEntry entry;
    entry.title = bls.title;
    entry.id = bls.id;
    entry.kernel = bls.kernel;
    entry.args = in.default_cmdline;
    for (const auto& initrd : bls.initrds) {
      if (!initrd.starts_with("$")) { // $tuned_initrd and the like: empty unless set
        entry.initrds.push_back(initrd);
      }
    }
    return entry;
  }
  return std::nullopt;
}

Check check_bootloader(Guest& guest, const Inspection& in)
{
  Check check{"bootloader", false, ""};
  if (in.bootloader != "grub2") {
    check.passed = true;
    check.detail =
        fmt::format("{}: not checked", in.bootloader.empty() ? "no bootloader" : in.bootloader);
    return check;
  }
  auto text = guest.read_file(in.bootloader_config, 16 << 20);
  if (!text) {
    check.detail = text.error().message;
    return check;
  }
  std::optional<bootloader::GrubEntry> entry;
  if (in.bootloader_bls) {
    entry = default_bls_entry(guest, in);
  } else {
    auto config = bootloader::parse_grub_cfg(*text);
    std::string saved;
    size_t slash = in.bootloader_config.rfind('/');
    if (auto env = guest.read_file(in.bootloader_config.substr(0, slash) + "/grubenv", 1 << 16)) {
      saved = parse_shell_vars(*env)["saved_entry"];
    }
    entry = bootloader::default_entry(config, saved);
  }
  if (!entry) {
    check.detail = in.bootloader_bls
                       ? fmt::format("no entry of /boot/loader/entries is the default ('{}')",
                                     in.default_entry)
                       : fmt::format("{}: no default menu entry", in.bootloader_config);
    return check;
  }
  std::vector<std::string> problems;
  // grub-mkconfig run where the guest's firmware did not show (an appliance booted by BIOS)
  // writes linux16 entries, which UEFI grub does not have.
  if (in.firmware == "uefi" && (entry->loader == "linux16" || entry->loader == "kernel")
      && esp_visible(guest)) {
    problems.push_back(
        fmt::format("the entry loads its kernel with {}, which UEFI grub lacks", entry->loader));
  }
  if (entry->kernel.empty() || !is_file(guest, guest_path_of_boot_file(in, entry->kernel))) {
    problems.push_back(fmt::format("kernel {} does not exist", entry->kernel));
  }
  if (entry->initrds.empty()) {
    problems.push_back("the entry loads no initramfs");
  }
  for (const auto& initrd : entry->initrds) {
    if (!is_file(guest, guest_path_of_boot_file(in, initrd))) {
      problems.push_back(fmt::format("initramfs {} does not exist", initrd));
    }
  }
  bootloader::KernelCmdline cmdline(entry->args);
  auto root = cmdline.get("root");
  if (!root) {
    problems.push_back("the entry has no root= argument");
  } else {
    auto name = bootloader::classify_device_name(*root);
    const Filesystem* root_fs = in.disk.by_device(in.disk.root_device);
    if (name.kind == bootloader::DeviceNameKind::controller
        || name.kind == bootloader::DeviceNameKind::by_path) {
      problems.push_back(fmt::format("root={} depends on the disk controller", *root));
    } else if (name.kind == bootloader::DeviceNameKind::uuid && root_fs
               && !in.disk.filesystems.empty() && in.disk.by_uuid(name.value) != root_fs) {
      problems.push_back(fmt::format("root={} is not the root file system", *root));
    }
  }
  check.passed = problems.empty();
  check.detail = check.passed ? fmt::format("default entry '{}' boots {} with root={}",
                                            entry->title, entry->kernel, root.value_or(""))
                              : fmt::format("default entry '{}': {}", entry->title, join(problems));
  return check;
}

Check check_fstab(Guest& guest, const Inspection& in)
{
  Check check{"fstab", false, ""};
  auto text = guest.read_file("/etc/fstab", 1 << 20);
  if (!text) {
    check.passed = true;
    check.detail = "no /etc/fstab";
    return check;
  }
  if (in.disk.filesystems.empty()) {
    check.passed = true;
    check.detail = "no disk information: not checked";
    return check;
  }
  std::vector<std::string> problems;
  int resolved = 0;
  for (const auto& e : bootloader::parse_fstab(*text)) {
    if (e.fields.size() < 2 || e.has_option("nofail") || e.has_option("noauto")) {
      continue;
    }
    auto name = bootloader::classify_device_name(e.spec());
    if (name.kind == bootloader::DeviceNameKind::other
        || name.kind == bootloader::DeviceNameKind::stable) {
      continue;
    }
    if (device_resolves(in.disk, e.spec())) {
      ++resolved;
    } else {
      problems.push_back(fmt::format("line {}: {} ({}) is not a file system of this disk", e.line,
                                     e.spec(), e.mountpoint()));
    }
  }
  check.passed = problems.empty();
  check.detail = check.passed ? fmt::format("{} entr{} resolve to file systems of this disk",
                                            resolved, resolved == 1 ? "y" : "ies")
                              : join(problems);
  return check;
}

Check check_kernel_args(const Inspection& in, const TargetProfile& target)
{
  Check check{"kernel-arguments", false, ""};
  if (in.bootloader != "grub2") {
    check.passed = true;
    check.detail = "not checked for this bootloader";
    return check;
  }
  bootloader::KernelCmdline cmdline(in.default_cmdline);
  std::vector<std::string> missing;
  for (const auto& arg : target.kernel_args_add) {
    auto want = bootloader::parse_kernel_arg(arg);
    bool found = false;
    for (const auto& have : cmdline.args()) {
      found = found || (have.key == want.key && have.value == want.value);
    }
    if (!found) {
      missing.push_back(arg);
    }
  }
  check.passed = missing.empty();
  check.detail = check.passed ? "the default entry has the target's arguments"
                              : "the default entry lacks " + join(missing);
  return check;
}

} // namespace

// A UEFI guest boots on the target only through the fallback loader: the NVRAM entry that
// named its vendor loader stayed with the old machine.
static Check check_uefi_fallback(const Inspection& in)
{
  Check check;
  check.name = "uefi";
  check.passed = in.efi_fallback_loader;
  std::string loader = "\\EFI\\BOOT\\" + efi_fallback_name(in.os.arch);
  check.detail = in.efi_fallback_loader
                     ? "the ESP holds the fallback loader " + loader
                     : "no fallback loader " + loader
                           + " on the ESP: the target's firmware has no boot entry for the "
                             "guest's own loader";
  return check;
}

Check check_firmware(const Inspection& in, const TargetProfile& target)
{
  const auto& offered = target.boot_test.firmwares;
  Check check;
  check.name = "firmware";
  if (offered.empty()) {
    check.passed = true;
    check.detail = fmt::format("the {} profile names no firmware (boot_test.firmware): the "
                               "guest's ({}) is not checked",
                               target.name, in.firmware);
    return check;
  }
  check.passed = std::find(offered.begin(), offered.end(), in.firmware) != offered.end()
                 || (in.firmware == "uefi" && in.bios_boot_too
                     && std::find(offered.begin(), offered.end(), "bios") != offered.end());
  if (check.passed) {
    check.detail = fmt::format("the guest boots with {}{}, which {} offers", in.firmware,
                               in.bios_boot_too ? " (and BIOS)" : "", target.name);
  } else {
    check.detail =
        fmt::format("the guest boots only with {} ({}); {} offers {}: choose a "
                    "target that boots {}, or install the guest's bootloader for it",
                    in.firmware, in.firmware_evidence, target.name, join(offered), in.firmware);
  }
  return check;
}

std::vector<Check> validate_guest(Guest& guest, const Inspection& inspection,
                                  const TargetProfile& target, nlohmann::json* initramfs_listing)
{
  if (inspection.windows) {
    auto checks = validate_windows(guest, inspection, target.windows);
    checks.push_back(check_firmware(inspection, target));
    return checks;
  }
  std::vector<Check> checks = {
      check_initramfs(guest, inspection, target, initramfs_listing),
      check_bootloader(guest, inspection),
      check_kernel_args(inspection, target),
      check_fstab(guest, inspection),
      check_firmware(inspection, target),
  };
  if (inspection.firmware == "uefi" && esp_visible(guest)) {
    checks.push_back(check_uefi_fallback(inspection));
  }
  return checks;
}

} // namespace rehost
