#include "converter/actions.hpp"

#include "converter/action_support.hpp"

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

Vars guest_vars(const ActionContext& c)
{
  Vars vars = target_vars(c);
  const OsIdentity& os = c.inspection.os;
  vars["os.id"] = {os.id};
  vars["os.version"] = {os.version_id};
  vars["os.major"] = {os.major ? std::to_string(*os.major) : std::string()};
  vars["os.family"] = {os.family};
  vars["os.arch"] = {os.arch};
  vars["os.codename"] = {os.codename};
  return vars;
}

std::vector<const char*> guest_var_names(std::vector<const char*> more)
{
  std::vector<const char*> names = {"target.name", "target.console", "target.first_interface",
                                    "os.id",       "os.version",     "os.major",
                                    "os.family",   "os.arch",        "os.codename"};
  names.insert(names.end(), more.begin(), more.end());
  return names;
}

std::string substitute(const std::string& text, const Vars& vars)
{
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t at = text.find('$', pos);
    if (at == std::string::npos) {
      out += text.substr(pos);
      break;
    }
    out += text.substr(pos, at - pos);
    if (text.compare(at, 3, "$${") == 0) {
      out += "${";
      pos = at + 3;
      continue;
    }
    size_t close = text.compare(at, 2, "${") == 0 ? text.find('}', at + 2) : std::string::npos;
    if (close != std::string::npos) {
      auto it = vars.find(text.substr(at + 2, close - at - 2));
      if (it != vars.end()) {
        out += join(it->second);
        pos = close + 1;
        continue;
      }
    }
    out += '$';
    pos = at + 1;
  }
  return out;
}

Result<void> write_guest_file(ActionContext& c, ActionRecord& record, const std::string& path,
                              const std::string& content, uint32_t mode)
{
  auto info = c.guest.stat(path);
  if (!info) {
    return std::unexpected(info.error());
  }
  std::string before;
  const bool created = info->type == FileType::missing;
  if (!created) {
    auto text = c.guest.read_file(path, k_default_read_limit);
    if (!text) {
      return std::unexpected(text.error());
    }
    before = std::move(*text);
    if (before == content && (info->mode & 07777) == mode) {
      return {};
    }
    // The guest keeps the mode of a file it rewrites: a new mode needs a new file.
    if ((info->mode & 07777) != mode) {
      if (auto r = c.guest.remove(path); !r) {
        return r;
      }
      record.notes.push_back(
          fmt::format("{}: mode {:04o} -> {:04o}", path, info->mode & 07777, mode));
    }
  } else if (size_t slash = path.rfind('/'); slash > 0) {
    if (auto r = c.guest.make_dirs(path.substr(0, slash)); !r) {
      return r;
    }
  }
  if (auto r = c.guest.write_file(path, content, mode); !r) {
    return r;
  }
  FileChange change;
  change.path = path;
  change.kind = created ? "created" : "modified";
  change.before_sha256 = created ? "" : sha256_hex(before);
  change.after_sha256 = sha256_hex(content);
  change.before_size = before.size();
  change.after_size = content.size();
  change.diff = unified_diff(path, before, content);
  record.changes.push_back(std::move(change));
  return {};
}

void check_flags(const Action& a, const std::vector<const char*>& names,
                 std::vector<ActionProblem>& problems)
{
  for (const char* name : names) {
    if (a.has(name) && a.str(name) != "true" && a.str(name) != "false") {
      problems.push_back({a.where(name), fmt::format("{} must be \"true\" or \"false\"", name)});
    }
  }
}

void check_one_of(const Action& a, const char* first, const char* second,
                  std::vector<ActionProblem>& problems)
{
  if (a.has(first) == a.has(second)) {
    problems.push_back(
        {a.location, fmt::format("a {} action needs either '{}' or '{}'", a.type, first, second)});
  }
}

std::string rule_relative_path(const Action& action, const std::string& path)
{
  if (path.empty() || path.front() == '/') {
    return path;
  }
  const std::string& file = action.location.file;
  size_t slash = file.rfind('/');
  return (slash == std::string::npos ? std::string(".") : file.substr(0, slash)) + "/" + path;
}

std::string tail_lines(const std::string& text, size_t lines)
{
  if (lines == 0) {
    return {};
  }
  // Ignore one final newline, then walk back over `lines` line breaks.
  size_t end = !text.empty() && text.back() == '\n' ? text.size() - 1 : text.size();
  size_t start = end;
  size_t found = 0;
  while (start > 0 && found < lines) {
    --start;
    if (text[start] == '\n' && ++found == lines) {
      ++start;
      break;
    }
  }
  return text.substr(start);
}

std::string join(const std::vector<std::string>& v, const char* sep)
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

namespace {

// "/boot/grub2/../efi/EFI/redhat/grubenv" -> "/boot/efi/EFI/redhat/grubenv", lexically.
std::string normalise_path(const std::string& path)
{
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = std::min(path.find('/', start), path.size());
    std::string part = path.substr(start, end - start);
    if (part == "..") {
      if (!parts.empty()) {
        parts.pop_back();
      }
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = end + 1;
  }
  std::string out;
  for (const auto& p : parts) {
    out += "/" + p;
  }
  return out.empty() ? "/" : out;
}

// Where a chain of symbolic links ends, inside the guest. Writing there keeps the links (RHEL's
// /boot/grub2/grubenv links to the ESP's); writing the link itself would replace it with a file.
std::string follow_links(Guest& guest, const std::string& path)
{
  std::string at = path;
  for (int hops = 0; hops < 16; ++hops) {
    auto info = guest.lstat(at);
    if (!info || info->type != FileType::symlink) {
      break;
    }
    auto link = guest.read_link(at);
    if (!link) {
      break;
    }
    at = normalise_path(link->starts_with("/") ? *link : at.substr(0, at.rfind('/')) + "/" + *link);
  }
  // A dangling link (or one aiming out of the guest) is edited as before: it is replaced.
  auto end = guest.lstat(at);
  return end && end->type == FileType::regular ? at : path;
}

} // namespace

Result<void>
edit_guest_file(ActionContext& c, ActionRecord& record, const std::string& link_path,
                MissingFile missing,
                const std::function<Result<std::string>(const std::string&)>& transform)
{
  const std::string path = follow_links(c.guest, link_path);
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

const std::vector<ActionType>& action_types()
{
  static const std::vector<ActionType> k_types = [] {
    std::vector<ActionType> all;
    for (auto area : {file_action_types, boot_action_types, bootloader_action_types,
                      driver_action_types, package_action_types, network_action_types,
                      windows_action_types, config_action_types, firstboot_action_types}) {
      for (auto& t : area()) {
        all.push_back(std::move(t));
      }
    }
    return all;
  }();
  return k_types;
}

Result<void> run_action(ActionContext& context, const Action& action, ActionRecord& record)
{
  record.type = action.type;
  record.location = action.location.text();
  for (const auto& t : action_types()) {
    if (action.type == t.spec.type) {
      return t.run(context, action, record);
    }
  }
  return fail("{}: action type '{}' has no implementation", action.location.text(), action.type);
}

} // namespace rehost
