// Actions on the boot configuration: kernel command lines, the UEFI fallback loader, SELinux
// relabelling.
#include "converter/action_support.hpp"

#include "bootloader/kernel_cmdline.hpp"
#include "converter/shell_vars.hpp"

namespace rehost {

namespace {

// --- kernel_args ---------------------------------------------------------------------------------

Result<void> kernel_args(ActionContext& c, const Action& a, ActionRecord& record)
{
  const std::string path = a.str("path");
  const auto variables = a.list("variables");
  std::vector<std::string> remove = c.target.kernel_args_remove;
  for (const auto& r : a.list("remove")) {
    remove.push_back(r);
  }
  std::vector<std::string> add = c.target.kernel_args_add;
  for (const auto& x : expand(a.list("add"), target_vars(c))) {
    add.push_back(x);
  }
  std::vector<std::string> done;
  auto transform = [&](const std::string& text) -> Result<std::string> {
    std::string out = text;
    for (size_t i = 0; i < variables.size(); ++i) {
      auto value = shell_var(out, variables[i]);
      if (!value && i > 0) {
        continue;
      }
      bootloader::KernelCmdline cmdline(value.value_or(""));
      for (const auto& key : remove) {
        cmdline.remove(key);
      }
      for (const char* key : {"root", "resume"}) {
        if (auto dev = cmdline.get(key)) {
          if (auto stable = stable_device_name(c.inspection.disk, *dev)) {
            cmdline.set(key, *stable);
            done.push_back(fmt::format("{}={} to {}", key, *dev, *stable));
          }
        }
      }
      if (i == 0) {
        for (const auto& arg : add) {
          cmdline.add(bootloader::parse_kernel_arg(arg));
        }
      }
      if (!value || cmdline.text() != bootloader::KernelCmdline(*value).text()) {
        auto edited = set_shell_var_checked(out, variables[i], cmdline.text());
        if (!edited) {
          return edited;
        }
        out = *edited;
      }
    }
    return out;
  };
  if (auto r = edit_guest_file(c, record, path, MissingFile::skip, transform); !r) {
    return r;
  }
  if (!record.changes.empty()) {
    record.summary = fmt::format("{}: kernel arguments {}", path, join(add));
    if (!done.empty()) {
      record.summary += "; " + join(done, ", ");
    }
  }
  return {};
}

// --- uefi_fallback -------------------------------------------------------------------------------

// NVRAM boot entries stay behind on the old machine: the target's firmware finds only the
// removable-media path \EFI\BOOT\BOOTX64.EFI (BOOTAA64.EFI on arm64; DOMAIN.md, "UEFI"). A
// distribution's shim booted from there loads grubx64.efi from its own directory, so the companions
// go too. The grub.cfg does not: that grub finds its vendor's (EFI/redhat/grub.cfg on RHEL 7/8, a
// stub elsewhere) through the prefix built into it, and Red Hat's grub reads a grub.cfg next to
// itself first, so a copy in EFI/BOOT would hide every later grub2-mkconfig.
Result<void> uefi_fallback(ActionContext& c, const Action& a, ActionRecord& record)
{
  if (c.inspection.firmware != "uefi") {
    record.notes.push_back("the guest boots with BIOS: no UEFI fallback loader needed");
    return {};
  }
  const std::string esp = a.str("esp", "/boot/efi");
  const std::string boot_dir = esp + "/EFI/BOOT";
  const std::string fallback =
      boot_dir + "/" + a.str("fallback", efi_fallback_name(c.inspection.os.arch));
  if (exists(c.guest, fallback)) {
    return {};
  }
  auto vendors = c.guest.list_dir(esp + "/EFI");
  if (!vendors) {
    record.notes.push_back(
        fmt::format("{}/EFI cannot be listed: {}", esp, vendors.error().message));
    return {};
  }
  for (const auto& loader : a.list("loaders")) {
    for (const auto& vendor : *vendors) {
      if (vendor == "BOOT" || vendor == "boot") {
        continue;
      }
      std::string dir = esp + "/EFI/" + vendor;
      std::string from = dir + "/" + loader;
      if (!exists(c.guest, from)) {
        continue;
      }
      if (auto r = c.guest.make_dirs(boot_dir); !r) {
        return r;
      }
      std::vector<std::pair<std::string, std::string>> copies = {{from, fallback}};
      for (const auto& companion : a.list("companions")) {
        if (exists(c.guest, dir + "/" + companion)
            && !exists(c.guest, boot_dir + "/" + companion)) {
          copies.emplace_back(dir + "/" + companion, boot_dir + "/" + companion);
        }
      }
      for (const auto& [src, dst] : copies) {
        if (auto r = c.guest.copy(src, dst); !r) {
          return r;
        }
        FileChange change;
        change.path = dst;
        change.kind = "created";
        if (auto info = c.guest.stat(dst)) {
          change.after_size = info->size;
        }
        record.changes.push_back(std::move(change));
      }
      record.summary = fmt::format("{} copied to {}", from, fallback);
      return {};
    }
  }
  record.notes.push_back(fmt::format("no UEFI loader ({}) under {}/EFI: no fallback loader",
                                     join(a.list("loaders"), ", "), esp));
  return {};
}

// --- selinux_relabel ----------------------------------------------------------------------------

// Files the conversion wrote carry no SELinux label: an enforcing guest would deny them at
// boot. /.autorelabel makes the first boot relabel everything (DOMAIN.md, "SELinux").
Result<void> selinux_relabel(ActionContext& c, const Action& a, ActionRecord& record)
{
  const std::string config = a.str("config", "/etc/selinux/config");
  auto text = c.guest.read_file(config, k_default_read_limit);
  if (!text) {
    return {}; // no SELinux configuration: nothing to relabel
  }
  auto mode = shell_var(*text, "SELINUX");
  if (mode != "enforcing" && mode != "permissive") {
    return {};
  }
  const std::string flag = a.str("path", "/.autorelabel");
  if (exists(c.guest, flag)) {
    return {};
  }
  return edit_guest_file(
      c, record, flag, MissingFile::create, [&](const std::string& t) -> Result<std::string> {
        record.summary =
            fmt::format("SELINUX={}: {} asks for a relabel at first boot", *mode, flag);
        return t;
      });
}

} // namespace

std::vector<ActionType> boot_action_types()
{
  return {
      {{"kernel_args",
        "Edit kernel command lines kept in shell variables (/etc/default/grub): remove the "
        "target's "
        "removed keys from every variable, rewrite root= and resume= to UUID=, and add the "
        "target's "
        "arguments (and `add`) to the first variable.",
        {ParamSpec{"path", ParamType::string, true, "the file"},
         ParamSpec{"variables", ParamType::list, true,
                   "variables holding command lines; the first gets additions"},
         ParamSpec{"add", ParamType::list, false, "extra arguments to add"},
         ParamSpec{"remove", ParamType::list, false, "extra argument keys to remove"}},
        {"target.console"}},
       kernel_args},
      {{"uefi_fallback",
        "On a UEFI guest without its fallback loader (\\EFI\\BOOT\\BOOTX64.EFI, BOOTAA64.EFI on "
        "arm64) on the ESP, copy the first of "
        "`loaders` found in a vendor directory (EFI/debian, EFI/redhat, ...) there, with its "
        "`companions`.",
        {ParamSpec{"loaders", ParamType::list, true,
                   "file names in order: shimx64.efi, grubx64.efi"},
         ParamSpec{"companions", ParamType::list, false,
                   "files copied next to it when present (grubx64.efi, mmx64.efi)"},
         ParamSpec{"esp", ParamType::string, false, "where the ESP is mounted (/boot/efi)"},
         ParamSpec{"fallback", ParamType::string, false,
                   "the fallback name (by the guest's architecture: BOOTX64.EFI, BOOTAA64.EFI)"}},
        {}},
       uefi_fallback},
      {{"selinux_relabel",
        "When SELINUX= is enforcing or permissive, create /.autorelabel so the first boot "
        "relabels the files the conversion wrote.",
        {ParamSpec{"config", ParamType::string, false, "the SELinux config (/etc/selinux/config)"},
         ParamSpec{"path", ParamType::string, false, "the flag file (/.autorelabel)"}},
        {}},
       selinux_relabel},
  };
}

} // namespace rehost
