// Actions on bootloader configurations other than /etc/default/grub: kernel arguments in BLS
// entries, grubenv, grub legacy and extlinux, and the choice of the default kernel.
#include "converter/action_support.hpp"

#include "bootloader/bls.hpp"
#include "bootloader/extlinux.hpp"
#include "bootloader/grub_cfg.hpp"
#include "bootloader/grub_legacy.hpp"
#include "bootloader/grubenv.hpp"
#include "bootloader/kernel_cmdline.hpp"
#include "converter/kernel_choice.hpp"
#include "converter/shell_vars.hpp"

namespace rehost {

namespace {

// The target's kernel argument changes plus the action's own, with root= and resume= made
// stable through the inspected disk (the same edit kernel_args makes to /etc/default/grub).
bootloader::CmdlineEdit target_cmdline_edit(const ActionContext& c, const Action& a)
{
  bootloader::CmdlineEdit edit;
  edit.remove = c.target.kernel_args_remove;
  for (const auto& r : a.list("remove")) {
    edit.remove.push_back(r);
  }
  edit.add = c.target.kernel_args_add;
  for (const auto& x : expand(a.list("add"), target_vars(c))) {
    edit.add.push_back(x);
  }
  const DiskInfo* disk = &c.inspection.disk;
  edit.devices = [disk](const std::string& dev) { return stable_device_name(*disk, dev); };
  return edit;
}

// `path` itself, or the files in it whose names end with `suffix` when it is a directory.
Result<std::vector<std::string>> files_at(ActionContext& c, const std::string& path,
                                          const std::string& suffix)
{
  auto info = c.guest.stat(path);
  if (!info) {
    return std::unexpected(info.error());
  }
  if (info->type == FileType::missing) {
    return std::vector<std::string>{};
  }
  if (info->type != FileType::directory) {
    return std::vector<std::string>{path};
  }
  auto names = c.guest.list_dir(path);
  if (!names) {
    return std::unexpected(names.error());
  }
  std::vector<std::string> out;
  for (const auto& n : *names) {
    if (n.ends_with(suffix)) {
      out.push_back(path + "/" + n);
    }
  }
  return out;
}

std::string basename_of(const std::string& path)
{
  return path.substr(path.rfind('/') + 1);
}

// Whether a bootloader's kernel path names `kernel`'s image (paths differ with a separate
// /boot: "/vmlinuz-X" there, "/boot/vmlinuz-X" in the inspection).
bool names_kernel(const std::string& path, const KernelInfo& kernel)
{
  std::string base = basename_of(path);
  size_t space = base.find_first_of(" \t");
  if (space != std::string::npos) {
    base.resize(space);
  }
  return !base.empty()
         && (base == basename_of(kernel.image) || base.ends_with("-" + kernel.version));
}

// --- boot_entry_args ----------------------------------------------------------------------------

Result<void> boot_entry_args(ActionContext& c, const Action& a, ActionRecord& record)
{
  const std::string style = a.str("style");
  const std::string path = a.str("path");
  const auto edit = target_cmdline_edit(c, a);
  std::function<Result<std::string>(const std::string&)> transform;
  std::string suffix;
  if (style == "bls") {
    suffix = ".conf";
    transform = [&](const std::string& t) -> Result<std::string> {
      return bootloader::bls_edit_options(t, edit);
    };
  } else if (style == "grubenv") {
    const std::string variable = a.str("variable", "kernelopts");
    // `variable` ends with this block; the transform runs after it.
    transform = [&, variable](const std::string& t) -> Result<std::string> {
      auto old = bootloader::grubenv_get(t, variable);
      if (!old) {
        return t;
      }
      std::string edited = bootloader::edit_cmdline(*old, edit);
      if (edited == *old) {
        return t;
      }
      auto out = bootloader::grubenv_set(t, variable, edited);
      if (!out) {
        return fail("{}: {}", path, out.error().message);
      }
      return out;
    };
  } else if (style == "grub-legacy") {
    transform = [&](const std::string& t) -> Result<std::string> {
      return bootloader::grub_legacy_edit_args(t, edit);
    };
  } else if (style == "extlinux") {
    transform = [&](const std::string& t) -> Result<std::string> {
      return bootloader::extlinux_edit_append(t, edit);
    };
  } else {
    return fail("{}: boot_entry_args style '{}' is not supported (supported: bls, grubenv, "
                "grub-legacy, extlinux)",
                a.location.text(), style);
  }
  auto files = files_at(c, path, suffix);
  if (!files) {
    return std::unexpected(files.error());
  }
  for (const auto& f : *files) {
    if (auto r = edit_guest_file(c, record, f, MissingFile::skip, transform); !r) {
      return r;
    }
  }
  if (!record.changes.empty()) {
    record.summary = fmt::format("{}: kernel arguments {} in {} file(s)", path, join(edit.add),
                                 record.changes.size());
  }
  return {};
}

// --- default_kernel -----------------------------------------------------------------------------

// The GRUB_DEFAULT value of the grub.cfg entry that boots `kernel` (not a recovery entry): its
// position path ("1>2"), which update-grub reproduces as long as the kernels stay the same.
std::optional<std::string> grub2_entry(const std::string& grub_cfg, const KernelInfo& kernel)
{
  for (const auto& e : bootloader::parse_grub_cfg(grub_cfg).entries) {
    bool recovery = e.title.find("recovery") != std::string::npos
                    || bootloader::KernelCmdline(e.args).has("single");
    if (!recovery && names_kernel(e.kernel, kernel)) {
      return e.path;
    }
  }
  return std::nullopt;
}

Result<void> default_kernel(ActionContext& c, const Action& a, ActionRecord& record)
{
  const std::string style = a.str("style");
  const std::string path = a.str("path");
  auto choice = choose_boot_kernel(c.inspection, c.target);
  if (!choice) {
    return std::unexpected(choice.error());
  }
  const KernelInfo& k = *choice->kernel;
  record.notes.insert(record.notes.end(), choice->notes.begin(), choice->notes.end());
  if (k.version == c.inspection.default_kernel) {
    record.summary = fmt::format("{} already boots by default", k.version);
    return {};
  }
  std::string chosen_as;
  std::function<Result<std::string>(const std::string&)> transform;
  std::string file = path;
  if (style == "grub2") {
    auto cfg = c.guest.read_file(c.inspection.bootloader_config, k_default_read_limit);
    auto entry = cfg ? grub2_entry(*cfg, k) : std::nullopt;
    if (!entry) {
      return fail("{}: no entry of {} boots {}", a.location.text(), c.inspection.bootloader_config,
                  k.version);
    }
    chosen_as = "GRUB_DEFAULT=" + *entry;
    transform = [&, entry](const std::string& t) -> Result<std::string> {
      if (shell_var(t, "GRUB_DEFAULT") == *entry) {
        return t;
      }
      return set_shell_var_checked(t, "GRUB_DEFAULT", *entry);
    };
  } else if (style == "bls") {
    auto entries = files_at(c, a.str("entries", "/boot/loader/entries"), ".conf");
    if (!entries) {
      return std::unexpected(entries.error());
    }
    if (entries->empty()) {
      record.notes.push_back("no BLS entries: the default entry is left as it is");
      return {};
    }
    std::string id;
    for (const auto& e : *entries) {
      auto text = c.guest.read_file(e, k_default_read_limit);
      if (!text) {
        continue;
      }
      auto bls = bootloader::parse_bls_entry(*text);
      if (bls.version == k.version || names_kernel(bls.linux_path, k)) {
        id = bootloader::bls_entry_id(e);
        break;
      }
    }
    if (id.empty()) {
      return fail("{}: no boot entry boots {}", a.location.text(), k.version);
    }
    chosen_as = "saved_entry=" + id;
    transform = [&, id](const std::string& t) -> Result<std::string> {
      if (bootloader::grubenv_get(t, "saved_entry") == id) {
        return t;
      }
      auto out = bootloader::grubenv_set(t, "saved_entry", id);
      if (!out) {
        return fail("{}: {}", path, out.error().message);
      }
      return out;
    };
  } else if (style == "grub-legacy") {
    transform = [&](const std::string& t) -> Result<std::string> {
      auto config = bootloader::parse_grub_legacy(t);
      for (size_t i = 0; i < config.entries.size(); ++i) {
        if (names_kernel(config.entries[i].kernel, k)) {
          chosen_as = fmt::format("default={}", i);
          return bootloader::grub_legacy_default(config) == i
                     ? t
                     : bootloader::grub_legacy_set_default(t, i);
        }
      }
      return fail("{}: no entry boots {}", path, k.version);
    };
  } else if (style == "extlinux") {
    transform = [&](const std::string& t) -> Result<std::string> {
      auto config = bootloader::parse_extlinux(t);
      for (const auto& e : config.entries) {
        if (names_kernel(e.kernel, k)) {
          chosen_as = "DEFAULT " + e.label;
          return config.default_label == e.label ? t : bootloader::extlinux_set_default(t, e.label);
        }
      }
      return fail("{}: no label boots {}", path, k.version);
    };
  } else {
    return fail("{}: default_kernel style '{}' is not supported (supported: grub2, bls, "
                "grub-legacy, extlinux)",
                a.location.text(), style);
  }
  if (auto r = edit_guest_file(c, record, file, MissingFile::skip, transform); !r) {
    return r;
  }
  record.summary = fmt::format("{}: {} boots by default ({})", file, k.version, chosen_as);
  return {};
}

} // namespace

std::vector<ActionType> bootloader_action_types()
{
  return {
      {{"boot_entry_args",
        "Edit the kernel arguments of boot entries: BLS entries (options lines), grubenv "
        "(kernelopts), grub legacy kernel lines, extlinux APPEND lines. The target's removed "
        "keys go, root= and resume= become UUID=, the target's arguments (and `add`) are added.",
        {ParamSpec{"style", ParamType::string, true, "bls, grubenv, grub-legacy or extlinux"},
         ParamSpec{"path", ParamType::string, true,
                   "the file, or for bls the directory of *.conf entries"},
         ParamSpec{"variable", ParamType::string, false, "grubenv: the variable (kernelopts)"},
         ParamSpec{"add", ParamType::list, false, "extra arguments to add"},
         ParamSpec{"remove", ParamType::list, false, "extra argument keys to remove"}},
        {"target.console"}},
       boot_entry_args},
      {{"default_kernel",
        "Make the newest non-debug kernel that has the target's storage and network drivers the "
        "default boot entry; fails naming the missing driver when no kernel can boot.",
        {ParamSpec{"style", ParamType::string, true, "grub2, bls, grub-legacy or extlinux"},
         ParamSpec{"path", ParamType::string, true,
                   "grub2: /etc/default/grub; bls: grubenv; else the bootloader config"},
         ParamSpec{"entries", ParamType::string, false,
                   "bls: the entries directory (/boot/loader/entries)"}},
        {}},
       default_kernel},
  };
}

} // namespace rehost
