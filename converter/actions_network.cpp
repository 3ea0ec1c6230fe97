// Actions on the network configuration.
#include "converter/action_support.hpp"

#include "converter/ifupdown.hpp"
#include "converter/netconf.hpp"
#include "converter/shell_vars.hpp"

namespace rehost {

namespace {

std::string basename_of(const std::string& path)
{
  return path.substr(path.rfind('/') + 1);
}

// `path` itself, or the regular files in it (sorted) when it is a directory.
Result<std::vector<std::string>> files_under(ActionContext& c, const std::string& path)
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
    auto child = c.guest.stat(path + "/" + n);
    if (child && child->type == FileType::regular) {
      out.push_back(path + "/" + n);
    }
  }
  return out;
}

bool is_ifcfg(const std::string& path)
{
  std::string base = basename_of(path);
  return base.starts_with("ifcfg-") && base != "ifcfg-lo" && !base.ends_with(".bak")
         && !base.ends_with("~");
}

bool is_netplan(const std::string& path)
{
  return path.ends_with(".yaml") || path.ends_with(".yml");
}

bool is_keyfile(const std::string& path)
{
  return path.ends_with(".nmconnection") || path.find("/system-connections/") != std::string::npos;
}

// --- network_dhcp --------------------------------------------------------------------------------

// The primary configuration among `files` for a directory-based style: the first that
// configures an ethernet interface other than lo.
std::optional<std::string> primary_file(ActionContext& c, const std::string& style,
                                        const std::vector<std::string>& files)
{
  for (const auto& f : files) {
    if (style == "netplan" && is_netplan(f)) {
      auto text = c.guest.read_file(f, k_default_read_limit);
      if (text && !netplan_primary_interface(*text).empty()) {
        return f;
      }
    } else if (style == "networkmanager" && is_keyfile(f)) {
      auto text = c.guest.read_file(f, k_default_read_limit);
      if (text
          && (text->find("type=ethernet") != std::string::npos
              || text->find("type=802-3-ethernet") != std::string::npos)) {
        return f;
      }
    } else if ((style == "ifcfg" || style == "wicked") && is_ifcfg(f)) {
      return f;
    }
  }
  return std::nullopt;
}

Result<void> network_dhcp(ActionContext& c, const Action& a, ActionRecord& record)
{
  const std::string style = a.str("style");
  const std::string path = a.str("path");
  if (style != "ifupdown" && style != "netplan" && style != "networkmanager" && style != "ifcfg"
      && style != "wicked") {
    return fail("{}: network_dhcp style '{}' is not supported (supported: ifupdown, netplan, "
                "networkmanager, ifcfg, wicked)",
                a.location.text(), style);
  }
  if (c.target.first_interface.empty()) {
    record.notes.push_back("the target names no first interface; network left as it is");
    return {};
  }
  const std::string& name = c.target.first_interface;
  if (style == "ifupdown") {
    std::string old_name;
    auto transform = [&](const std::string& text) -> Result<std::string> {
      old_name = ifupdown_primary_interface(text);
      return ifupdown_dhcp(text, name);
    };
    if (auto r = edit_guest_file(c, record, path, MissingFile::skip, transform); !r) {
      return r;
    }
    if (!record.changes.empty()) {
      record.summary = fmt::format("{}: {} is now {} with DHCP", path, old_name, name);
    }
    return {};
  }
  auto files = files_under(c, path);
  if (!files) {
    return std::unexpected(files.error());
  }
  auto file = primary_file(c, style, *files);
  if (!file) {
    record.notes.push_back(
        fmt::format("{}: no {} configuration of an ethernet interface", path, style));
    return {};
  }
  std::function<Result<std::string>(const std::string&)> transform;
  if (style == "netplan") {
    transform = [&](const std::string& t) -> Result<std::string> { return netplan_dhcp(t, name); };
  } else if (style == "networkmanager") {
    transform = [&](const std::string& t) -> Result<std::string> {
      return nm_keyfile_dhcp(t, name);
    };
  } else {
    transform = [&](const std::string& t) -> Result<std::string> { return ifcfg_dhcp(t, name); };
  }
  if (auto r = edit_guest_file(c, record, *file, MissingFile::skip, transform); !r) {
    return r;
  }
  std::string where = *file;
  // ifcfg files are named after their interface (ifup looks for ifcfg-NAME).
  if (style == "ifcfg" || style == "wicked") {
    std::string renamed = file->substr(0, file->rfind('/') + 1) + "ifcfg-" + name;
    if (renamed != *file) {
      auto text = c.guest.read_file(*file, k_default_read_limit);
      if (!text) {
        return std::unexpected(text.error());
      }
      auto same = [&](const std::string&) -> Result<std::string> { return *text; };
      if (auto r = edit_guest_file(c, record, renamed, MissingFile::create, same); !r) {
        return r;
      }
      if (auto r = c.guest.remove(*file); !r) {
        return r;
      }
      FileChange gone;
      gone.path = *file;
      gone.kind = "deleted";
      record.changes.push_back(std::move(gone));
      where = renamed;
    }
  }
  record.summary = fmt::format("{}: {} with DHCP", where, name);
  return {};
}

// --- remove_mac_pinning --------------------------------------------------------------------------

Result<void> remove_mac_pinning(ActionContext& c, const Action& a, ActionRecord& record)
{
  std::vector<std::string> edited;
  for (const auto& path : a.list("paths")) {
    auto files = files_under(c, path);
    if (!files) {
      return std::unexpected(files.error());
    }
    for (const auto& f : *files) {
      std::string (*edit)(const std::string&) = nullptr;
      if (f.ends_with(".rules")) {
        edit = persistent_net_remove_mac;
      } else if (is_ifcfg(f)) {
        edit = ifcfg_remove_mac;
      } else if (is_netplan(f)) {
        edit = netplan_remove_mac;
      } else if (is_keyfile(f)) {
        edit = nm_keyfile_remove_mac;
      } else {
        continue;
      }
      size_t before = record.changes.size();
      auto transform = [&](const std::string& t) -> Result<std::string> { return edit(t); };
      if (auto r = edit_guest_file(c, record, f, MissingFile::skip, transform); !r) {
        return r;
      }
      if (record.changes.size() > before) {
        edited.push_back(f);
      }
    }
  }
  if (!edited.empty()) {
    record.summary = "MAC pinning removed from " + join(edited, ", ");
  }
  return {};
}

} // namespace

std::vector<ActionType> network_action_types()
{
  return {
      {{"network_dhcp",
        "Configure DHCP on the target's first interface, replacing the old primary interface's "
        "configuration.",
        {ParamSpec{"style", ParamType::string, true,
                   "ifupdown, netplan, networkmanager, ifcfg or wicked"},
         ParamSpec{"path", ParamType::string, true,
                   "ifupdown: the interfaces file; others: the file or the directory of "
                   "configurations (the first ethernet one is the primary)"}},
        {}},
       network_dhcp},
      {{"remove_mac_pinning",
        "Remove configuration tied to the old NICs' MAC addresses: udev persistent-net rules "
        "(commented out), HWADDR=/MACADDR=/LLADDR= in ifcfg files, netplan match: macaddress, "
        "NetworkManager mac-address=.",
        {ParamSpec{"paths", ParamType::list, true, "files or directories of them"}},
        {}},
       remove_mac_pinning},
  };
}

} // namespace rehost
