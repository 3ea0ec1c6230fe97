#include "converter/actions.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <sstream>

#include "bootloader/device_names.hpp"
#include "bootloader/fstab.hpp"
#include "bootloader/kernel_cmdline.hpp"
#include "converter/diff.hpp"
#include "converter/digest.hpp"
#include "converter/ifupdown.hpp"
#include "converter/interrupt.hpp"
#include "converter/log.hpp"
#include "converter/shell_vars.hpp"
#include "drivers/initramfs_reader.hpp"

namespace rehost {

namespace {

using Vars = std::map<std::string, std::vector<std::string>>;

// Expands ${name} in each word; a word that is exactly one list variable becomes its items.
std::vector<std::string> expand(const std::vector<std::string>& words, const Vars& vars)
{
  std::vector<std::string> out;
  for (const auto& w : words) {
    if (w.size() > 3 && w.front() == '$' && w[1] == '{' && w.back() == '}') {
      auto it = vars.find(w.substr(2, w.size() - 3));
      if (it != vars.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
        continue;
      }
    }
    std::string s = w;
    for (const auto& [name, values] : vars) {
      std::string ref = "${" + name + "}";
      std::string joined;
      for (const auto& v : values) {
        joined += (joined.empty() ? "" : " ") + v;
      }
      size_t at;
      while ((at = s.find(ref)) != std::string::npos) {
        s.replace(at, ref.size(), joined);
      }
    }
    out.push_back(s);
  }
  return out;
}

Vars target_vars(const ActionContext& c)
{
  return {{"target.name", {c.target.name}},
          {"target.console", {c.target.console}},
          {"target.first_interface", {c.target.first_interface}}};
}

std::string tail_lines(const std::string& text, size_t lines)
{
  size_t pos = text.size();
  size_t count = 0;
  while (pos > 0 && count <= lines) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) {
      return text;
    }
    ++count;
  }
  return text.substr(pos + 1);
}

std::string join(const std::vector<std::string>& v, const char* sep = " ")
{
  std::string s;
  for (const auto& x : v) {
    s += (s.empty() ? "" : sep) + x;
  }
  return s;
}

// Runs a guest command and records it; non-zero exit is an error naming the command.
Result<CommandResult> run_recorded(ActionContext& c, ActionRecord& record,
                                   const std::vector<std::string>& argv)
{
  interrupt::check();
  auto start = std::chrono::steady_clock::now();
  auto result = c.guest.run(argv, c.command_timeout);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!result) {
    record.commands.push_back({argv, -1, seconds, result.error().message});
    return std::unexpected(result.error());
  }
  record.commands.push_back({argv, result->exit_status, seconds, tail_lines(result->out, 20)});
  log::debug("{} exited with {} after {:.1f} s", join(argv), result->exit_status, seconds);
  if (result->exit_status != 0) {
    std::string last = tail_lines(result->out, 1);
    while (!last.empty() && last.back() == '\n') {
      last.pop_back();
    }
    return fail("'{}' failed in the guest with exit status {}{}", join(argv), result->exit_status,
                last.empty() ? "" : ": " + last);
  }
  return result;
}

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
      return set_shell_var(text, variable, *stable);
    }
    return text;
  };
  return edit_guest_file(c, record, path, MissingFile::skip, transform);
}

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
        out = set_shell_var(out, variables[i], cmdline.text());
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
    return set_shell_var(text, variable, value);
  };
  return edit_guest_file(c, record, path, only_if_set ? MissingFile::skip : MissingFile::create,
                         transform);
}

// --- initramfs_modules ---------------------------------------------------------------------------

Result<void> initramfs_modules(ActionContext& c, const Action& a, ActionRecord& record)
{
  const std::string path = a.str("path");
  std::vector<std::string> added;
  auto transform = [&](const std::string& text) -> Result<std::string> {
    std::set<std::string> listed;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream words(line);
      std::string first;
      if (words >> first && first[0] != '#') {
        listed.insert(drivers::module_name(first));
      }
    }
    std::string out = text;
    for (const auto& driver : c.target.all_drivers()) {
      if (listed.count(drivers::module_name(driver))) {
        continue;
      }
      // Only drivers some kernel has as a module: built-in ones need no listing, and a name no
      // kernel knows would only produce warnings.
      bool loadable = std::any_of(
          c.inspection.kernels.begin(), c.inspection.kernels.end(), [&](const KernelInfo& k) {
            auto it = k.drivers.find(driver);
            return it != k.drivers.end() && it->second == drivers::DriverState::module;
          });
      if (!loadable && !c.inspection.kernels.empty()) {
        continue;
      }
      if (!out.empty() && out.back() != '\n') {
        out += '\n';
      }
      if (added.empty()) {
        out += fmt::format("# Added by rehost for the {} target\n", c.target.name);
      }
      out += driver + "\n";
      added.push_back(driver);
    }
    return out;
  };
  if (auto r = edit_guest_file(c, record, path, MissingFile::create, transform); !r) {
    return r;
  }
  if (!added.empty()) {
    record.summary = fmt::format("{}: added {}", path, join(added, ", "));
  }
  return {};
}

// --- remove_packages -----------------------------------------------------------------------------

Result<void> remove_packages(ActionContext& c, const Action& a, ActionRecord& record)
{
  std::vector<std::string> installed;
  for (const auto& p : a.list("packages")) {
    if (c.inspection.has_package(p)) {
      installed.push_back(p);
    }
  }
  if (installed.empty()) {
    return {};
  }
  log::progress("Removing {}", join(installed, ", "));
  auto argv = expand(a.list("command"), {{"packages", installed}});
  auto result = run_recorded(c, record, argv);
  if (!result) {
    return std::unexpected(result.error());
  }
  record.summary = "removed " + join(installed, ", ");
  return {};
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

// --- network_dhcp --------------------------------------------------------------------------------

Result<void> network_dhcp(ActionContext& c, const Action& a, ActionRecord& record)
{
  const std::string style = a.str("style");
  const std::string path = a.str("path");
  if (style != "ifupdown") {
    return fail("{}: network_dhcp style '{}' is not supported (supported: ifupdown)",
                a.location.text(), style);
  }
  if (c.target.first_interface.empty()) {
    record.notes.push_back("the target names no first interface; network left as it is");
    return {};
  }
  std::string old_name;
  auto transform = [&](const std::string& text) -> Result<std::string> {
    old_name = ifupdown_primary_interface(text);
    return ifupdown_dhcp(text, c.target.first_interface);
  };
  if (auto r = edit_guest_file(c, record, path, MissingFile::skip, transform); !r) {
    return r;
  }
  if (!record.changes.empty()) {
    record.summary =
        fmt::format("{}: {} is now {} with DHCP", path, old_name, c.target.first_interface);
  }
  return {};
}

// --- rebuild_initramfs ---------------------------------------------------------------------------

Result<void> rebuild_initramfs(ActionContext& c, const Action& a, ActionRecord& record)
{
  std::vector<std::string> rebuilt;
  for (const auto& kernel : c.inspection.kernels) {
    if (kernel.version.find("kdump") != std::string::npos) {
      continue; // kdump images are built by their own service
    }
    interrupt::check();
    log::progress("Rebuilding initramfs for {}", kernel.version);
    const std::string image = kernel.initramfs;
    const std::string aside = image.empty() ? std::string() : image + ".rehost-old";
    FileChange change;
    change.path = image;
    change.kind = image.empty() ? "created" : "modified";
    if (!image.empty()) {
      auto info = c.guest.stat(image);
      change.before_size = info ? info->size : 0;
      // Kept until the new image is in place, so a failed rebuild never leaves the kernel
      // without an initramfs.
      if (auto r = c.guest.copy(image, aside); !r) {
        return fail("cannot keep {} aside before rebuilding it: {}", image, r.error().message);
      }
    }
    auto argv = expand(a.list("command"),
                       {{"kernel.version", {kernel.version}}, {"kernel.initramfs", {image}}});
    auto result = run_recorded(c, record, argv);
    if (!result || !is_file(c.guest, image)) {
      if (!aside.empty()) {
        (void)c.guest.rename(aside, image);
      }
      return fail("rebuilding the initramfs of {} failed (the old image was restored): {}",
                  kernel.version,
                  result ? std::string("no image was written") : result.error().message);
    }
    if (!aside.empty()) {
      (void)c.guest.remove(aside);
    }
    auto info = c.guest.stat(image);
    change.after_size = info ? info->size : 0;
    record.changes.push_back(std::move(change));
    rebuilt.push_back(kernel.version);
  }
  record.summary = rebuilt.empty() ? "no kernel to rebuild an initramfs for"
                                   : "rebuilt the initramfs of " + join(rebuilt, ", ");
  return {};
}

// --- run -----------------------------------------------------------------------------------------

Result<void> run_command(ActionContext& c, const Action& a, ActionRecord& record)
{
  auto argv = expand(a.list("command"), target_vars(c));
  log::progress("Running {}", join(argv));
  auto result = run_recorded(c, record, argv);
  if (!result) {
    return std::unexpected(result.error());
  }
  record.summary = "ran " + join(argv);
  return {};
}

} // namespace

std::optional<std::string> stable_device_name(const DiskInfo& disk, const std::string& spec,
                                              const std::string& mountpoint)
{
  auto name = bootloader::classify_device_name(spec);
  const Filesystem* fs = nullptr;
  if (name.kind == bootloader::DeviceNameKind::controller) {
    if (auto appliance = bootloader::appliance_name(name)) {
      fs = disk.by_device(*appliance);
    }
  } else if (name.kind != bootloader::DeviceNameKind::by_path) {
    return std::nullopt;
  }
  // A name that no longer matches (or a by-id link): trust what is mounted at that place.
  if (!fs && !mountpoint.empty()) {
    std::string device = disk.device_at(mountpoint);
    if (!device.empty()) {
      fs = disk.by_device(device);
    }
  }
  if (!fs || fs->uuid.empty()) {
    return std::nullopt;
  }
  return "UUID=" + fs->uuid;
}

bool device_resolves(const DiskInfo& disk, const std::string& spec)
{
  auto name = bootloader::classify_device_name(spec);
  switch (name.kind) {
  case bootloader::DeviceNameKind::uuid:
    return disk.by_uuid(name.value) != nullptr;
  case bootloader::DeviceNameKind::label:
    return disk.by_label(name.value) != nullptr;
  case bootloader::DeviceNameKind::controller:
  case bootloader::DeviceNameKind::by_path:
  case bootloader::DeviceNameKind::partuuid:
    return false;
  case bootloader::DeviceNameKind::stable:
  case bootloader::DeviceNameKind::other:
    return true;
  }
  return true;
}

Result<void>
edit_guest_file(ActionContext& c, ActionRecord& record, const std::string& path,
                MissingFile missing,
                const std::function<Result<std::string>(const std::string&)>& transform)
{
  auto info = c.guest.stat(path);
  if (!info) {
    return std::unexpected(info.error());
  }
  std::string before;
  bool created = false;
  if (info->type == FileType::missing) {
    if (missing == MissingFile::skip) {
      return {};
    }
    created = true;
  } else {
    auto text = c.guest.read_file(path, k_default_read_limit);
    if (!text) {
      return std::unexpected(text.error());
    }
    before = std::move(*text);
  }
  auto after = transform(before);
  if (!after) {
    return std::unexpected(after.error());
  }
  if (*after == before && !created) {
    return {};
  }
  if (created) {
    size_t slash = path.rfind('/');
    if (slash > 0) {
      if (auto r = c.guest.make_dirs(path.substr(0, slash)); !r) {
        return r;
      }
    }
  }
  if (auto r = c.guest.write_file(path, *after, 0644); !r) {
    return r;
  }
  FileChange change;
  change.path = path;
  change.kind = created ? "created" : "modified";
  change.before_sha256 = created ? "" : sha256_hex(before);
  change.after_sha256 = sha256_hex(*after);
  change.before_size = before.size();
  change.after_size = after->size();
  change.diff = unified_diff(path, before, *after);
  record.changes.push_back(std::move(change));
  return {};
}

Result<void> run_action(ActionContext& context, const Action& action, ActionRecord& record)
{
  using Runner = Result<void> (*)(ActionContext&, const Action&, ActionRecord&);
  static const std::map<std::string, Runner> k_runners = {
      {"fstab_to_uuid", fstab_to_uuid},
      {"shell_var_to_uuid", shell_var_to_uuid},
      {"kernel_args", kernel_args},
      {"set_shell_var", set_shell_var_action},
      {"initramfs_modules", initramfs_modules},
      {"remove_packages", remove_packages},
      {"delete_files", delete_files},
      {"network_dhcp", network_dhcp},
      {"rebuild_initramfs", rebuild_initramfs},
      {"run", run_command},
  };
  auto it = k_runners.find(action.type);
  if (it == k_runners.end()) {
    return fail("{}: action type '{}' has no implementation", action.location.text(), action.type);
  }
  record.type = action.type;
  record.location = action.location.text();
  return it->second(context, action, record);
}

} // namespace rehost
