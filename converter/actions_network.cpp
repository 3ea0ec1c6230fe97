// Actions on the network configuration.
#include "converter/action_support.hpp"

#include "converter/ifupdown.hpp"
#include "converter/netconf.hpp"
#include "converter/network_config.hpp"
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

// The name the primary interface has on the source, from its configuration file.
std::string configured_name(const std::string& style, const std::string& file,
                            const std::string& text)
{
  if (style == "ifupdown") {
    return ifupdown_primary_interface(text);
  }
  if (style == "netplan") {
    return netplan_primary_interface(text);
  }
  std::optional<NetworkInterface> iface;
  if (style == "networkmanager") {
    iface = parse_nm_keyfile(text, file);
  } else {
    iface = parse_ifcfg(basename_of(file).substr(6), text, file);
  }
  return iface ? iface->name : "";
}

// --keep-network: the primary interface keeps its configuration, and its name on the target
// through a systemd.link file per target network driver (or a udev rule without systemd), since
// the MAC address it was known by changes.
Result<void> keep_network(ActionContext& c, const std::string& style, const std::string& path,
                          ActionRecord& record)
{
  std::string file = path;
  if (style != "ifupdown") {
    auto files = files_under(c, path);
    if (!files) {
      return std::unexpected(files.error());
    }
    auto primary = primary_file(c, style, *files);
    if (!primary) {
      record.notes.push_back(
          fmt::format("{}: no {} configuration of an ethernet interface", path, style));
      return {};
    }
    file = *primary;
  }
  auto text = c.guest.read_file(file, k_default_read_limit);
  if (!text) {
    if (!exists(c.guest, file)) {
      return {};
    }
    return std::unexpected(text.error());
  }
  std::string name = configured_name(style, file, *text);
  if (name.empty() || name.find_first_of("*?[") != std::string::npos) {
    record.notes.push_back(fmt::format("{}: the configuration names no interface to keep ({})",
                                       file, name.empty() ? "none" : name));
    return {};
  }
  if (name == c.target.first_interface) {
    record.summary =
        fmt::format("{}: {} kept; the target names its first NIC {} too", file, name, name);
    return {};
  }
  if (c.target.network_drivers.empty()) {
    record.notes.push_back(fmt::format("the target names no network driver: {} keeps its "
                                       "configuration but may get another name",
                                       name));
    return {};
  }
  std::vector<std::string> written;
  auto write = [&](const std::string& where, const std::string& content) -> Result<void> {
    auto same = [&](const std::string&) -> Result<std::string> { return content; };
    written.push_back(where);
    return edit_guest_file(c, record, where, MissingFile::create, same);
  };
  if (exists(c.guest, "/usr/lib/systemd/systemd-udevd")
      || exists(c.guest, "/lib/systemd/systemd-udevd")) {
    for (const auto& driver : c.target.network_drivers) {
      std::string where = fmt::format("/etc/systemd/network/10-rehost-{}.link", driver);
      if (auto r = write(where, keep_name_link(name, driver, c.target.name)); !r) {
        return r;
      }
    }
  } else {
    if (auto r = write("/etc/udev/rules.d/70-rehost-keep-network.rules",
                       keep_name_udev_rules(name, c.target.network_drivers, c.target.name));
        !r) {
      return r;
    }
  }
  record.summary = fmt::format("{}: {} kept with its configuration, named by {}", file, name,
                               join(written, ", "));
  return {};
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
  if (c.keep_network) {
    return keep_network(c, style, path, record);
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
        "configuration; with --keep-network, keep that configuration and name the target's NIC "
        "as the source did.",
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
