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

// --- --keep-network ------------------------------------------------------------------------------
//
// The configuration stays; what changes is which NIC comes up under which name. The names are
// those of the NICs the configuration expects (network_config.hpp: ethernets, bond slaves,
// bridge ports), the primary first (from the primary file, as network_dhcp picks it), then the
// others in natural order. One NIC is bound by the target's network driver; several are bound
// by position, the Nth name to the target's Nth NIC (`network.nics` of the profile: its PCI
// address), since every NIC of a target has the same driver. A target that places no NICs keeps
// the name of the primary only, and says so.

bool is_style_file(const std::string& style, const std::string& file)
{
  if (style == "netplan") {
    return is_netplan(file);
  }
  if (style == "networkmanager") {
    return is_keyfile(file);
  }
  return is_ifcfg(file);
}

// The NICs one configuration file names.
std::vector<std::string> nics_in(const std::string& style, const std::string& file,
                                 const std::string& text)
{
  if (style == "ifupdown") {
    return ifupdown_nics(text);
  }
  if (style == "netplan") {
    return netplan_nics(text);
  }
  if (style == "networkmanager") {
    return nm_keyfile_nics(text);
  }
  return ifcfg_nics(basename_of(file).substr(6), text);
}

// What becomes of NICs whose names rehost cannot keep.
std::string named_by_target(const std::vector<std::string>& names)
{
  if (names.size() == 1) {
    return fmt::format("{} keeps its configuration but gets the name the target gives it",
                       names.front());
  }
  return fmt::format("{} keep their configuration but get the names the target gives them",
                     join(names, ", "));
}

bool has_systemd_udev(ActionContext& c)
{
  return exists(c.guest, "/usr/lib/systemd/systemd-udevd")
         || exists(c.guest, "/lib/systemd/systemd-udevd");
}

// Writes `content` to `where`, recording it in `written`.
Result<void> write_whole(ActionContext& c, ActionRecord& record, const std::string& where,
                         const std::string& content, std::vector<std::string>& written)
{
  auto same = [&](const std::string&) -> Result<std::string> { return content; };
  written.push_back(where);
  return edit_guest_file(c, record, where, MissingFile::create, same);
}

// One NIC: a systemd.link file per target network driver (or a udev rule without systemd).
Result<void> keep_name_by_driver(ActionContext& c, const std::string& file, const std::string& name,
                                 ActionRecord& record)
{
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
  if (has_systemd_udev(c)) {
    for (const auto& driver : c.target.network_drivers) {
      std::string where = fmt::format("/etc/systemd/network/10-rehost-{}.link", driver);
      if (auto r =
              write_whole(c, record, where, keep_name_link(name, driver, c.target.name), written);
          !r) {
        return r;
      }
    }
  } else {
    if (auto r = write_whole(c, record, "/etc/udev/rules.d/70-rehost-keep-network.rules",
                             keep_name_udev_rules(name, c.target.network_drivers, c.target.name),
                             written);
        !r) {
      return r;
    }
  }
  record.summary = fmt::format("{}: {} kept with its configuration, named by {}", file, name,
                               join(written, ", "));
  return {};
}

// Several NICs on a target that places them: the Nth name goes to the target's Nth NIC.
Result<void> keep_names_by_position(ActionContext& c, const std::string& file,
                                    const std::vector<std::string>& names, ActionRecord& record)
{
  const auto& nics = c.target.nics;
  std::vector<NicBinding> bindings;
  std::vector<std::string> places;
  std::vector<std::string> beyond;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i >= nics.size()) {
      beyond.push_back(names[i]);
      continue;
    }
    places.push_back(fmt::format("{} as NIC {} ({})", names[i], i, nics[i].pci));
    if (names[i] == nics[i].name) {
      record.notes.push_back(
          fmt::format("{} is the name the target gives its NIC {} anyway", names[i], i));
      continue;
    }
    bindings.push_back({i, nics[i].pci, names[i]});
  }
  if (!beyond.empty()) {
    record.warnings.push_back(fmt::format("the {} profile places {} NICs (network.nics): {}",
                                          c.target.name, nics.size(), named_by_target(beyond)));
  }
  if (bindings.empty()) {
    record.summary =
        fmt::format("{}: {} kept; the target names its NICs the same", file, join(places, ", "));
    return {};
  }
  if (c.target.network_drivers.empty()) {
    record.notes.push_back(fmt::format("the target names no network driver: {} keep their "
                                       "configuration but may get other names",
                                       join(names, ", ")));
    return {};
  }
  std::vector<std::string> written;
  if (has_systemd_udev(c)) {
    for (const auto& b : bindings) {
      for (const auto& driver : c.target.network_drivers) {
        std::string where =
            fmt::format("/etc/systemd/network/10-rehost-{}-{}.link", driver, b.position);
        std::string link = keep_name_link_at(b.name, driver, b.pci, b.position, c.target.name);
        if (auto r = write_whole(c, record, where, link, written); !r) {
          return r;
        }
      }
    }
  } else {
    if (auto r = write_whole(c, record, "/etc/udev/rules.d/70-rehost-keep-network.rules",
                             keep_names_udev_rules(bindings, c.target.name), written);
        !r) {
      return r;
    }
  }
  record.summary = fmt::format("{}: {} kept with their configuration, named by {}", file,
                               join(places, ", "), join(written, ", "));
  return {};
}

// --keep-network: every configuration stays, and the NICs it names keep their names on the
// target, since the MAC addresses they were known by change.
Result<void> keep_network(ActionContext& c, const std::string& style, const std::string& path,
                          ActionRecord& record)
{
  std::vector<std::string> files{path};
  if (style != "ifupdown") {
    auto all = files_under(c, path);
    if (!all) {
      return std::unexpected(all.error());
    }
    auto primary = primary_file(c, style, *all);
    if (!primary) {
      record.notes.push_back(
          fmt::format("{}: no {} configuration of an ethernet interface", path, style));
      return {};
    }
    files = {*primary};
    for (const auto& f : *all) {
      if (f != *primary && is_style_file(style, f)) {
        files.push_back(f);
      }
    }
  }
  std::vector<std::string> found;
  for (const auto& f : files) {
    auto text = c.guest.read_file(f, k_default_read_limit);
    if (!text) {
      if (!exists(c.guest, f)) {
        if (style == "ifupdown") {
          return {};
        }
        continue;
      }
      return std::unexpected(text.error());
    }
    for (auto& n : nics_in(style, f, *text)) {
      found.push_back(std::move(n));
    }
  }
  const std::string& file = files.front();
  std::vector<std::string> names;
  std::vector<std::string> unnamed;
  for (const auto& n : nic_order(found)) {
    (is_interface_name(n) ? names : unnamed).push_back(n);
  }
  if (names.empty()) {
    record.notes.push_back(fmt::format("{}: the configuration names no interface to keep ({})",
                                       file, unnamed.empty() ? "none" : join(unnamed, ", ")));
    return {};
  }
  if (!unnamed.empty()) {
    record.notes.push_back(fmt::format("{}: {} not the name of one interface; left as configured",
                                       join(unnamed, ", "), unnamed.size() == 1 ? "is" : "are"));
  }
  if (names.size() == 1) {
    return keep_name_by_driver(c, file, names.front(), record);
  }
  if (c.target.nics.empty()) {
    std::vector<std::string> others(names.begin() + 1, names.end());
    std::string how = names.front() == c.target.first_interface
                          ? ""
                          : ", by the network driver, which every NIC of the target has (the "
                            "first NIC to come up takes the name)";
    record.warnings.push_back(
        fmt::format("{} gives rehost no position of its NICs (no network.nics in its profile): "
                    "{}; only {} keeps its name{}",
                    c.target.name, named_by_target(others), names.front(), how));
    return keep_name_by_driver(c, file, names.front(), record);
  }
  return keep_names_by_position(c, file, names, record);
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
        "configuration; with --keep-network, keep every configuration and name the target's NICs "
        "as the source did (by position where the target profile places its NICs).",
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
