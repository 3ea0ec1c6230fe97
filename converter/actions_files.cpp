// Actions on configuration files: device names, shell variables, deletions, commands.
#include "converter/action_support.hpp"

#include "bootloader/crypttab.hpp"
#include "bootloader/device_names.hpp"
#include "bootloader/fstab.hpp"
#include "converter/diff.hpp"
#include "converter/digest.hpp"
#include "converter/log.hpp"
#include "converter/shell_vars.hpp"

namespace rehost {

namespace {

// --- fstab_to_uuid ---------------------------------------------------------------------------

bool is_shared_folder(const std::string& type)
{
  return type == "vmhgfs" || type == "fuse.vmhgfs-fuse" || type == "vboxsf";
}

Result<void> fstab_to_uuid(ActionContext& c, const Action& a, ActionRecord& record)
{
  const std::string path = a.str("path");
  const DiskInfo& disk = c.inspection.disk;
  if (disk.filesystems.empty()) {
    record.notes.push_back(
        "no disk information (a directory guest): device names left as they are");
    return {};
  }
  int rewritten = 0;
  int nofail = 0;
  int disabled = 0;
  auto transform = [&](const std::string& text) -> Result<std::string> {
    std::string out = text;
    // Comment out shared folders first (line by line, from the end, so offsets hold).
    auto entries = bootloader::parse_fstab(out);
    for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
      if (is_shared_folder(it->type())) {
        out = bootloader::comment_out_fstab_line(
            out, *it, "Disabled by rehost: hypervisor shared folders do not exist on the target");
        ++disabled;
      }
    }
    std::vector<bootloader::FstabEdit> edits;
    for (const auto& e : bootloader::parse_fstab(out)) {
      if (e.fields.size() < 2) {
        continue;
      }
      auto name = bootloader::classify_device_name(e.spec());
      if (name.kind == bootloader::DeviceNameKind::other
          || name.kind == bootloader::DeviceNameKind::stable) {
        continue;
      }
      if (auto stable = stable_device_name(disk, e.spec(), e.mountpoint())) {
        edits.push_back({e.line, 0, *stable});
        ++rewritten;
        continue;
      }
      if (device_resolves(disk, e.spec())) {
        continue;
      }
      // Not on this disk: booting must not wait for it.
      if (!e.has_option("nofail") && e.mountpoint() != "/" && e.fields.size() >= 4) {
        edits.push_back({e.line, 3, e.options() + ",nofail"});
        ++nofail;
        record.notes.push_back(fmt::format("{} line {}: {} is not on this disk; added nofail", path,
                                           e.line, e.spec()));
      } else if (e.mountpoint() == "/") {
        return fail("{} line {}: the root file system {} is not on this disk", path, e.line,
                    e.spec());
      }
    }
    return bootloader::apply_fstab_edits(out, edits);
  };
  if (auto r = edit_guest_file(c, record, path, MissingFile::skip, transform); !r) {
    return r;
  }
  record.summary = fmt::format("{}: {} device name(s) to UUID=", path, rewritten);
  if (nofail) {
    record.summary +=
        fmt::format(", {} entr{} not on this disk set nofail", nofail, nofail == 1 ? "y" : "ies");
  }
  if (disabled) {
    record.summary += fmt::format(", {} shared folder(s) disabled", disabled);
  }
  return {};
}

// --- crypttab_to_uuid ---------------------------------------------------------------------------

Result<void> crypttab_to_uuid(ActionContext& c, const Action& a, ActionRecord& record)
{
  const std::string path = a.str("path");
  const DiskInfo& disk = c.inspection.disk;
  if (disk.filesystems.empty()) {
    record.notes.push_back(
        "no disk information (a directory guest): device names left as they are");
    return {};
  }
  bootloader::DeviceLookup lookup;
  lookup.stable = [&](const std::string& dev) { return stable_device_name(disk, dev); };
  lookup.resolves = [&](const std::string& dev) { return device_resolves(disk, dev); };
  int rewritten = 0;
  auto transform = [&](const std::string& text) -> Result<std::string> {
    auto r = bootloader::crypttab_to_stable(text, lookup);
    rewritten = r.rewritten;
    for (const auto& n : r.nofail) {
      record.notes.push_back(fmt::format("{} {}: not on this disk; added nofail", path, n));
    }
    return r.text;
  };
  if (auto r = edit_guest_file(c, record, path, MissingFile::skip, transform); !r) {
    return r;
  }
  if (!record.changes.empty()) {
    record.summary = fmt::format("{}: {} device name(s) to UUID=", path, rewritten);
  }
  return {};
}

// --- device_map ----------------------------------------------------------------------------------

// grub's device.map ties BIOS drives to the old controller's disk names; grub-install and
// grub-probe on the target would look for disks that are not there. Whole-disk controller names
// become the target's names, disk for disk.
Result<void> device_map(ActionContext& c, const Action& a, ActionRecord& record)
{
  const std::string path = a.str("path");
  if (c.target.first_disk.empty()) {
    record.notes.push_back("the target names no first disk; device.map left as it is");
    return {};
  }
  std::vector<std::string> renamed;
  auto rename = [&](const std::string& dev) -> std::optional<std::string> {
    auto name = bootloader::classify_device_name(dev);
    if (name.kind != bootloader::DeviceNameKind::controller || name.partition != 0) {
      return std::nullopt;
    }
    auto target = bootloader::disk_name_like(c.target.first_disk, name.disk);
    if (target && *target != dev) {
      renamed.push_back(dev + " to " + *target);
      return target;
    }
    return std::nullopt;
  };
  auto transform = [&](const std::string& text) -> Result<std::string> {
    return bootloader::rewrite_device_map(text, rename);
  };
  if (auto r = edit_guest_file(c, record, path, MissingFile::skip, transform); !r) {
    return r;
  }
  if (!record.changes.empty()) {
    record.summary = fmt::format("{}: {}", path, join(renamed, ", "));
  }
  return {};
}

// --- shell_var_words -----------------------------------------------------------------------------

// A shell variable holding a word list (SUSE INITRD_MODULES="ahci sd_mod", RHEL
// DEFAULTKERNEL): the listed words are added when missing.
Result<void> shell_var_words(ActionContext& c, const Action& a, ActionRecord& record)
{
  const std::string path = a.str("path");
  const std::string variable = a.str("variable");
  std::vector<std::string> words = a.list("add");
  if (a.str("target_drivers") == "true") {
    for (const auto& d : c.target.all_drivers()) {
      words.push_back(d);
    }
  }
  std::vector<std::string> added;
  auto transform = [&](const std::string& text) -> Result<std::string> {
    auto value = shell_var(text, variable);
    if (!value) {
      return text;
    }
    std::string out = add_shell_var_words(text, variable, words);
    for (const auto& w : words) {
      if (!shell_var_has_word(text, variable, w)) {
        added.push_back(w);
      }
    }
    return out;
  };
  if (auto r = edit_guest_file(c, record, path, MissingFile::skip, transform); !r) {
    return r;
  }
  if (!record.changes.empty()) {
    record.summary = fmt::format("{}: {} += {}", path, variable, join(added));
  }
  return {};
}

// --- shell_var_to_uuid -------------------------------------------------------------------------

Result<void> shell_var_to_uuid(ActionContext& c, const Action& a, ActionRecord& record)
{
  const std::string path = a.str("path");
  const std::string variable = a.str("variable");
  auto transform = [&](const std::string& text) -> Result<std::string> {
    auto value = shell_var(text, variable);
    if (!value) {
      return text;
    }
    if (auto stable = stable_device_name(c.inspection.disk, *value)) {
      record.summary = fmt::format("{}: {}={} to {}", path, variable, *value, *stable);
      return set_shell_var_checked(text, variable, *stable);
    }
    return text;
  };
  return edit_guest_file(c, record, path, MissingFile::skip, transform);
}

// --- set_shell_var -------------------------------------------------------------------------------

Result<void> set_shell_var_action(ActionContext& c, const Action& a, ActionRecord& record)
{
  const std::string path = a.str("path");
  const std::string variable = a.str("variable");
  const std::string value = expand({a.str("value")}, target_vars(c))[0];
  const bool only_if_set = a.str("only_if_set") == "true";
  auto transform = [&](const std::string& text) -> Result<std::string> {
    auto old = shell_var(text, variable);
    if ((only_if_set && !old) || old == value) {
      return text;
    }
    record.summary = fmt::format("{}: {}={}", path, variable, value);
    return set_shell_var_checked(text, variable, value);
  };
  return edit_guest_file(c, record, path, only_if_set ? MissingFile::skip : MissingFile::create,
                         transform);
}

// --- delete_files --------------------------------------------------------------------------------

Result<void> delete_files(ActionContext& c, const Action& a, ActionRecord& record)
{
  std::vector<std::string> deleted;
  for (const auto& path : a.list("paths")) {
    auto info = c.guest.lstat(path);
    if (!info) {
      return std::unexpected(info.error());
    }
    if (info->type == FileType::missing) {
      continue;
    }
    FileChange change;
    change.path = path;
    change.kind = "deleted";
    change.before_size = info->size;
    if (info->type == FileType::regular) {
      if (auto old = c.guest.read_file(path, k_default_read_limit)) {
        change.before_sha256 = sha256_hex(*old);
        change.diff = unified_diff(path, *old, "");
      }
    }
    if (auto r = c.guest.remove(path); !r) {
      return r;
    }
    record.changes.push_back(std::move(change));
    deleted.push_back(path);
  }
  if (!deleted.empty()) {
    record.summary = "deleted " + join(deleted, ", ");
  }
  return {};
}

// --- run -----------------------------------------------------------------------------------------

// ${bootloader.config} is the grub.cfg whose menu the guest's firmware shows, as inspection
// found it: on RHEL 7/8 under UEFI the ESP's /boot/efi/EFI/<vendor>/grub.cfg, elsewhere
// /boot/grub2/grub.cfg or /boot/grub/grub.cfg (never the ESP's stub that loads one of them).
Result<Vars> run_vars(const ActionContext& c, const Action& a)
{
  Vars vars = target_vars(c);
  vars["bootloader.config"] = {c.inspection.bootloader_config};
  if (c.inspection.bootloader_config.empty()) {
    for (const char* param : {"command", "changes"}) {
      for (const auto& word : a.list(param)) {
        if (word.find("${bootloader.config}") != std::string::npos) {
          return fail("{}: ${{bootloader.config}}: inspection found no bootloader configuration "
                      "in the guest",
                      a.location.text());
        }
      }
    }
  }
  return vars;
}

Result<void> run_command(ActionContext& c, const Action& a, ActionRecord& record)
{
  auto vars = run_vars(c, a);
  if (!vars) {
    return std::unexpected(vars.error());
  }
  auto argv = expand(a.list("command"), *vars);
  // The files the command is known to rewrite are read before and after, so the report and
  // `plan` show what it did to them.
  std::vector<std::pair<std::string, std::optional<std::string>>> watched;
  for (const auto& path : expand(a.list("changes"), *vars)) {
    auto before = c.guest.read_file(path, k_default_read_limit);
    watched.emplace_back(path, before ? std::optional<std::string>(*before) : std::nullopt);
  }
  log::progress("Running {}", join(argv));
  auto result = run_recorded(c, record, argv);
  if (!result) {
    return std::unexpected(result.error());
  }
  for (const auto& [path, before] : watched) {
    auto after = c.guest.read_file(path, k_default_read_limit);
    if (!after || (before && *before == *after)) {
      continue;
    }
    FileChange change;
    change.path = path;
    change.kind = before ? "modified" : "created";
    change.before_sha256 = before ? sha256_hex(*before) : "";
    change.after_sha256 = sha256_hex(*after);
    change.before_size = before ? before->size() : 0;
    change.after_size = after->size();
    change.diff = unified_diff(path, before.value_or(""), *after);
    record.changes.push_back(std::move(change));
  }
  record.summary = "ran " + join(argv);
  return {};
}

} // namespace

std::vector<ActionType> file_action_types()
{
  return {
      {{"fstab_to_uuid",
        "Rewrite controller-dependent device names (/dev/sda1, /dev/xvdb, by-id links) in an "
        "fstab-format file to UUID=; entries that resolve to no file system of this disk get "
        "nofail; hypervisor shared-folder mounts (vmhgfs, vboxsf) are commented out.",
        {ParamSpec{"path", ParamType::string, true, "the file, e.g. /etc/fstab"}},
        {}},
       fstab_to_uuid},
      {{"crypttab_to_uuid",
        "Rewrite controller-dependent device names in /etc/crypttab to UUID=; entries whose "
        "device is not on this disk get nofail.",
        {ParamSpec{"path", ParamType::string, true, "the file, e.g. /etc/crypttab"}},
        {}},
       crypttab_to_uuid},
      {{"device_map",
        "Rename the whole disks of grub's device.map from the old controller's names (/dev/sda, "
        "/dev/xvdb) to the target's (first_disk of the target profile, disk for disk).",
        {ParamSpec{"path", ParamType::string, true, "the file, e.g. /boot/grub2/device.map"}},
        {}},
       device_map},
      {{"shell_var_words",
        "Add words to a word-list shell variable (INITRD_MODULES=\"...\") when the file assigns "
        "it.",
        {ParamSpec{"path", ParamType::string, true, "the file"},
         ParamSpec{"variable", ParamType::string, true, "the variable name"},
         ParamSpec{"add", ParamType::list, false, "words to add"},
         ParamSpec{"target_drivers", ParamType::string, false,
                   "\"true\": add the target's storage and network drivers too"}},
        {}},
       shell_var_words},
      {{"shell_var_to_uuid",
        "Rewrite a device name held in a shell variable (RESUME=/dev/sda2) to UUID=.",
        {ParamSpec{"path", ParamType::string, true, "the file"},
         ParamSpec{"variable", ParamType::string, true, "the variable name"}},
        {}},
       shell_var_to_uuid},
      {{"set_shell_var",
        "Set a shell variable in a file (the assignment is edited in place, or appended).",
        {ParamSpec{"path", ParamType::string, true, "the file"},
         ParamSpec{"variable", ParamType::string, true, "the variable name"},
         ParamSpec{"value", ParamType::string, true, "the new value"},
         ParamSpec{"only_if_set", ParamType::string, false,
                   "\"true\": change it only if the file assigns it"}},
        {"target.name", "target.console", "target.first_interface"}},
       set_shell_var_action},
      {{"delete_files",
        "Delete files (missing ones are skipped).",
        {ParamSpec{"paths", ParamType::list, true, "guest paths"}},
        {}},
       delete_files},
      {{"run",
        "Run a command inside the guest; a non-zero exit fails the conversion.",
        {ParamSpec{"command", ParamType::list, true, "the command and its arguments"},
         ParamSpec{"changes", ParamType::list, false,
                   "text files the command rewrites, recorded with their diffs"}},
        {"target.name", "bootloader.config"}},
       run_command},
  };
}

} // namespace rehost
