#include "converter/netconf.hpp"

#include <cctype>
#include <vector>

#include <fmt/format.h>

#include "converter/shell_vars.hpp"

#include "converter/text_lines.hpp"

namespace rehost {

namespace {

std::string join_lines(const std::vector<std::string>& lines)
{
  std::string out;
  for (const auto& l : lines) {
    out += l;
  }
  return out;
}

std::string trimmed(const std::string& s)
{
  size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) {
    return {};
  }
  size_t b = s.find_last_not_of(" \t\r\n");
  return s.substr(a, b - a + 1);
}

// --- ifcfg ---

bool is_static_name(const std::string& name)
{
  for (const char* prefix :
       {"IPADDR", "NETMASK", "PREFIXLEN", "PREFIX", "GATEWAY", "BROADCAST", "NETWORK"}) {
    std::string p = prefix;
    if (name == p) {
      return true;
    }
    if (name.starts_with(p) && name.size() > p.size()
        && (std::isdigit(static_cast<unsigned char>(name[p.size()])) || name[p.size()] == '_')) {
      return true;
    }
  }
  return false;
}

// --- netplan: a line-based view of the YAML, by indentation ---

struct YamlLine {
  int indent = -1; // -1: blank or comment
  std::string key; // "key" of "key: ..." or ""
  std::string value;
};

YamlLine yaml_line(const std::string& line)
{
  YamlLine y;
  size_t i = line.find_first_not_of(' ');
  if (i == std::string::npos || line[i] == '#' || line[i] == '\n' || line[i] == '\r'
      || line[i] == '\0') { // '\0': a line dropped by an edit
    return y;
  }
  y.indent = static_cast<int>(i);
  size_t colon = line.find(':', i);
  if (colon != std::string::npos
      && (colon + 1 == line.size() || line[colon + 1] == ' ' || line[colon + 1] == '\n'
          || line[colon + 1] == '\r')) {
    y.key = line.substr(i, colon - i);
    if (y.key.size() >= 2 && (y.key.front() == '"' || y.key.front() == '\'')
        && y.key.back() == y.key.front()) {
      y.key = y.key.substr(1, y.key.size() - 2);
    }
    y.value = trimmed(line.substr(colon + 1));
    if (size_t hash = y.value.find(" #"); hash != std::string::npos) {
      y.value = trimmed(y.value.substr(0, hash));
    }
  }
  return y;
}

bool is_list_item(const std::string& line)
{
  size_t i = line.find_first_not_of(' ');
  return i != std::string::npos && line[i] == '-' && (i + 1 == line.size() || line[i + 1] == ' ');
}

// The end (exclusive) of the block that line `i` opens: the next line indented no deeper. A
// key with no value on its line also owns the list items at its own indentation
// ("addresses:" then "- 10.0.0.1/24").
size_t block_end(const std::vector<std::string>& lines, size_t i)
{
  auto open = yaml_line(lines[i]);
  bool owns_items = !open.key.empty() && open.value.empty();
  size_t last = i + 1;
  for (size_t j = i + 1; j < lines.size(); ++j) {
    int d = yaml_line(lines[j]).indent;
    if (d == -1) {
      continue;
    }
    if (d < open.indent || (d == open.indent && !(owns_items && is_list_item(lines[j])))) {
      break;
    }
    last = j + 1;
  }
  return last;
}

// The lines of the children of line `i`'s block (direct children only).
std::vector<size_t> children(const std::vector<std::string>& lines, size_t i)
{
  std::vector<size_t> out;
  size_t end = block_end(lines, i);
  int child = -1;
  for (size_t j = i + 1; j < end; ++j) {
    int d = yaml_line(lines[j]).indent;
    if (d == -1) {
      continue;
    }
    if (child == -1) {
      child = d;
    }
    if (d == child && !is_list_item(lines[j])) {
      out.push_back(j);
    }
  }
  return out;
}

// The ethernet definitions: the lines of the children of `ethernets:`.
std::vector<size_t> ethernets(const std::vector<std::string>& lines)
{
  for (size_t i = 0; i < lines.size(); ++i) {
    if (yaml_line(lines[i]).key == "ethernets") {
      return children(lines, i);
    }
  }
  return {};
}

// Removes lines [from, to) by blanking them in place (erased at the end).
void drop(std::vector<std::string>& lines, size_t from, size_t to)
{
  for (size_t j = from; j < to; ++j) {
    lines[j] = std::string(1, '\0');
  }
}

std::string without_dropped(const std::vector<std::string>& lines)
{
  std::string out;
  for (const auto& l : lines) {
    if (l != std::string(1, '\0')) {
      out += l;
    }
  }
  return out;
}

// In the ethernet at `iface`: drops macaddress from match, and match plus set-name when the
// match is left empty (a flow mapping with a macaddress goes whole).
void netplan_unpin(std::vector<std::string>& lines, size_t iface)
{
  std::vector<size_t> props = children(lines, iface);
  bool match_gone = false;
  for (size_t p : props) {
    auto y = yaml_line(lines[p]);
    if (y.key != "match") {
      continue;
    }
    if (!y.value.empty()) {
      if (y.value.find("macaddress") != std::string::npos) {
        drop(lines, p, block_end(lines, p));
        match_gone = true;
      }
      continue;
    }
    auto subs = children(lines, p);
    size_t kept = 0;
    for (size_t s : subs) {
      if (yaml_line(lines[s]).key == "macaddress") {
        drop(lines, s, block_end(lines, s));
      } else {
        ++kept;
      }
    }
    if (kept == 0 && !subs.empty()) {
      drop(lines, p, block_end(lines, p));
      match_gone = true;
    }
  }
  if (match_gone) {
    for (size_t p : props) {
      if (lines[p] != std::string(1, '\0') && yaml_line(lines[p]).key == "set-name") {
        drop(lines, p, block_end(lines, p));
      }
    }
  }
}

// --- keyfiles (INI) ---

struct IniLine {
  std::string section; // the section the line is in
  std::string key;     // "" for headers, comments, blank lines
};

std::vector<IniLine> ini_view(const std::vector<std::string>& lines)
{
  std::vector<IniLine> out;
  std::string section;
  for (const auto& l : lines) {
    std::string t = trimmed(l);
    IniLine v;
    if (t.size() >= 2 && t.front() == '[' && t.back() == ']') {
      section = t.substr(1, t.size() - 2);
    } else if (!t.empty() && t[0] != '#' && t[0] != ';' && t.find('=') != std::string::npos) {
      v.key = trimmed(t.substr(0, t.find('=')));
    }
    v.section = section;
    out.push_back(v);
  }
  return out;
}

bool is_ethernet_section(const std::string& s)
{
  return s == "ethernet" || s == "802-3-ethernet";
}

// Sets `key=value` in `section`: the first such line is rewritten, or a line is added at the
// end of the section (the section is added when missing).
void ini_set(std::vector<std::string>& lines, const std::string& section, const std::string& key,
             const std::string& value)
{
  auto view = ini_view(lines);
  size_t last_in_section = std::string::npos;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (view[i].section != section) {
      continue;
    }
    if (view[i].key == key) {
      std::string nl = lines[i].ends_with("\n") ? "\n" : "";
      lines[i] = key + "=" + value + nl;
      return;
    }
    if (!trimmed(lines[i]).empty()) {
      last_in_section = i;
    }
  }
  if (last_in_section == std::string::npos) {
    if (!lines.empty() && !lines.back().ends_with("\n")) {
      lines.back() += "\n";
    }
    if (!lines.empty()) {
      lines.push_back("\n");
    }
    lines.push_back("[" + section + "]\n");
    lines.push_back(key + "=" + value + "\n");
    return;
  }
  if (!lines[last_in_section].ends_with("\n")) {
    lines[last_in_section] += "\n";
  }
  lines.insert(lines.begin() + static_cast<long>(last_in_section) + 1, key + "=" + value + "\n");
}

} // namespace

std::string ifcfg_remove_mac(const std::string& text)
{
  std::string out = text;
  for (const char* name : {"HWADDR", "MACADDR", "LLADDR"}) {
    if (shell_var(out, name)) {
      out = unset_shell_var(out, name);
    }
  }
  return out;
}

std::string ifcfg_dhcp(const std::string& text, const std::string& new_name)
{
  std::string out = ifcfg_remove_mac(text);
  for (const auto& [name, value] : parse_shell_vars(out)) {
    if (is_static_name(name)) {
      out = unset_shell_var(out, name);
    }
  }
  for (const char* name : {"DEVICE", "NAME"}) {
    if (shell_var(out, name)) {
      out = set_shell_var(out, name, new_name);
    }
  }
  if (shell_var(out, "BOOTPROTO") != "dhcp") {
    out = set_shell_var(out, "BOOTPROTO", "dhcp");
  }
  if (shell_var(out, "ONBOOT") && shell_var(out, "ONBOOT") != "yes") {
    out = set_shell_var(out, "ONBOOT", "yes");
  }
  if (shell_var(out, "STARTMODE") && shell_var(out, "STARTMODE") != "auto") {
    out = set_shell_var(out, "STARTMODE", "auto");
  }
  return out;
}

std::string netplan_primary_interface(const std::string& text)
{
  auto lines = lines_of(text);
  auto ifaces = ethernets(lines);
  return ifaces.empty() ? "" : yaml_line(lines[ifaces[0]]).key;
}

std::string netplan_remove_mac(const std::string& text)
{
  auto lines = lines_of(text);
  for (size_t iface : ethernets(lines)) {
    netplan_unpin(lines, iface);
  }
  return without_dropped(lines);
}

std::string netplan_dhcp(const std::string& text, const std::string& new_name)
{
  auto lines = lines_of(text);
  auto ifaces = ethernets(lines);
  if (ifaces.empty()) {
    return text;
  }
  size_t iface = ifaces[0];
  std::string& head = lines[iface];
  auto y = yaml_line(head);
  if (y.key.empty()) {
    return text; // a list item, not an interface
  }
  size_t key_at = head.find(y.key, static_cast<size_t>(y.indent));
  size_t colon = head.find(':', key_at + y.key.size());
  head.replace(static_cast<size_t>(y.indent), colon - static_cast<size_t>(y.indent), new_name);
  netplan_unpin(lines, iface);
  auto props = children(lines, iface);
  int prop_indent = y.indent + 2;
  bool dhcp_set = false;
  for (size_t p : props) {
    if (lines[p] == std::string(1, '\0')) {
      continue;
    }
    auto py = yaml_line(lines[p]);
    prop_indent = py.indent;
    if (py.key == "match" || py.key == "set-name" || py.key == "addresses" || py.key == "gateway4"
        || py.key == "gateway6" || py.key == "routes") {
      drop(lines, p, block_end(lines, p));
    } else if (py.key == "dhcp4") {
      std::string nl = lines[p].ends_with("\n") ? "\n" : "";
      lines[p] = std::string(static_cast<size_t>(py.indent), ' ') + "dhcp4: true" + nl;
      dhcp_set = true;
    }
  }
  if (!dhcp_set) {
    if (!head.ends_with("\n")) {
      head += "\n";
    }
    head += std::string(static_cast<size_t>(prop_indent), ' ') + "dhcp4: true\n";
  }
  return without_dropped(lines);
}

std::string nm_keyfile_remove_mac(const std::string& text)
{
  auto lines = lines_of(text);
  auto view = ini_view(lines);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (is_ethernet_section(view[i].section) && view[i].key == "mac-address") {
      lines[i] = std::string(1, '\0');
    }
  }
  return without_dropped(lines);
}

std::string nm_keyfile_dhcp(const std::string& text, const std::string& new_name)
{
  auto lines = lines_of(nm_keyfile_remove_mac(text));
  auto view = ini_view(lines);
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto& key = view[i].key;
    if (view[i].section == "ipv4"
        && (key.starts_with("address") || key == "gateway" || key == "routes")) {
      lines[i] = std::string(1, '\0');
    }
  }
  std::vector<std::string> kept;
  for (auto& l : lines) {
    if (l != std::string(1, '\0')) {
      kept.push_back(std::move(l));
    }
  }
  ini_set(kept, "connection", "interface-name", new_name);
  ini_set(kept, "ipv4", "method", "auto");
  return join_lines(kept);
}

std::string persistent_net_remove_mac(const std::string& text)
{
  auto lines = lines_of(text);
  for (auto& l : lines) {
    std::string t = trimmed(l);
    if (t.empty() || t[0] == '#') {
      continue;
    }
    if (t.find("ATTR{address}==") != std::string::npos && t.find("NAME=") != std::string::npos) {
      l = "# Disabled by rehost: names the interface after the old NIC's MAC address\n# " + l;
      if (!l.ends_with("\n")) {
        l += "\n";
      }
    }
  }
  return join_lines(lines);
}

// --- keeping an interface's name ---------------------------------------------------------------

std::string keep_name_link(const std::string& name, const std::string& driver,
                           const std::string& target)
{
  return fmt::format(
      "# Written by rehost (--keep-network): on {}, the NIC that {} drives keeps the\n"
      "# name {} that the source gave it, with its configuration.\n"
      "[Match]\nDriver={}\n\n[Link]\nNamePolicy=\nName={}\n",
      target, driver, name, driver, name);
}

std::string keep_name_udev_rules(const std::string& name, const std::vector<std::string>& drivers,
                                 const std::string& target)
{
  std::string out =
      fmt::format("# Written by rehost (--keep-network): on {}, the NIC keeps the name {} that "
                  "the source gave it.\n",
                  target, name);
  for (const auto& driver : drivers) {
    out += fmt::format("SUBSYSTEM==\"net\", ACTION==\"add\", DRIVERS==\"{}\", NAME=\"{}\"\n",
                       driver, name);
  }
  return out;
}

std::string keep_name_link_at(const std::string& name, const std::string& driver,
                              const std::string& pci, size_t position, const std::string& target)
{
  return fmt::format(
      "# Written by rehost (--keep-network): on {}, the NIC that {} drives at PCI {}\n"
      "# (the target's NIC {}, counted from 0) keeps the name {} that the source gave it.\n"
      "[Match]\nDriver={}\nPath=pci-{}*\n\n[Link]\nNamePolicy=\nName={}\n",
      target, driver, pci, position, name, driver, pci, name);
}

std::string keep_names_udev_rules(const std::vector<NicBinding>& nics, const std::string& target)
{
  std::string out = fmt::format("# Written by rehost (--keep-network): on {}, each NIC keeps the "
                                "name the source gave it, by its PCI address.\n",
                                target);
  for (const auto& nic : nics) {
    out += fmt::format("# the target's NIC {}, counted from 0\n"
                       "SUBSYSTEM==\"net\", ACTION==\"add\", SUBSYSTEMS==\"pci\", "
                       "KERNELS==\"{}\", NAME=\"{}\"\n",
                       nic.position, nic.pci, nic.name);
  }
  return out;
}

} // namespace rehost
