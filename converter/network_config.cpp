#include "converter/network_config.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <sstream>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include "converter/shell_vars.hpp"
#include "converter/text_lines.hpp"

namespace rehost {

namespace {

std::string trim(const std::string& s)
{
  size_t b = s.find_first_not_of(" \t\r\n");
  size_t e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// Section -> key -> values (a key may repeat: networkd's Address=).
using Ini = std::map<std::string, std::multimap<std::string, std::string>>;

Ini parse_ini(const std::string& text)
{
  Ini ini;
  std::istringstream in(text);
  std::string raw;
  std::string section;
  while (std::getline(in, raw)) {
    std::string line = trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') {
      continue;
    }
    if (line.front() == '[' && line.back() == ']') {
      section = line.substr(1, line.size() - 2);
      ini[section];
      continue;
    }
    size_t eq = line.find('=');
    if (eq != std::string::npos) {
      ini[section].emplace(trim(line.substr(0, eq)), trim(line.substr(eq + 1)));
    }
  }
  return ini;
}

std::string ini_get(const Ini& ini, const std::string& section, const std::string& key)
{
  auto s = ini.find(section);
  if (s == ini.end()) {
    return {};
  }
  auto range = s->second.equal_range(key);
  return range.first == range.second ? std::string() : std::prev(range.second)->second;
}

std::vector<std::string> ini_all(const Ini& ini, const std::string& section, const std::string& key)
{
  std::vector<std::string> out;
  auto s = ini.find(section);
  if (s != ini.end()) {
    auto range = s->second.equal_range(key);
    for (auto it = range.first; it != range.second; ++it) {
      out.push_back(it->second);
    }
  }
  return out;
}

bool yes(const std::string& value)
{
  std::string v = ascii_lower(value);
  return v == "yes" || v == "true" || v == "on" || v == "1";
}

} // namespace

std::vector<NetworkInterface> parse_ifupdown(const std::string& text, const std::string& file)
{
  std::vector<NetworkInterface> out;
  std::istringstream in(text);
  std::string line;
  NetworkInterface* current = nullptr;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string w;
    if (!(words >> w) || w[0] == '#') {
      continue;
    }
    if (w == "iface") {
      std::string name;
      std::string family;
      std::string method;
      current = nullptr;
      if ((words >> name >> family >> method) && name != "lo") {
        // "iface eth0 inet dhcp" and "iface eth0 inet6 auto": one interface, the IPv4 method
        // first.
        auto it = std::find_if(out.begin(), out.end(),
                               [&](const NetworkInterface& i) { return i.name == name; });
        if (it == out.end()) {
          out.push_back({name, method, file, {}, {}});
          current = &out.back();
        } else {
          current = &*it;
        }
      }
    } else if (current && w == "address") {
      std::string address;
      if (words >> address) {
        current->addresses.push_back(address);
      }
    } else if (w == "auto" || w == "allow-hotplug" || w == "mapping" || w == "source"
               || w == "source-directory" || w.rfind("allow-", 0) == 0) {
      current = nullptr;
    }
  }
  return out;
}

std::vector<std::string> ifupdown_sources(const std::string& text)
{
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string w;
    std::string path;
    if ((words >> w) && (w == "source" || w == "source-directory") && (words >> path)) {
      out.push_back(w == "source-directory" ? path + "/*" : path);
    }
  }
  return out;
}

std::vector<NetworkInterface> parse_netplan(const std::string& text, const std::string& file,
                                            std::string* error)
{
  std::vector<NetworkInterface> out;
  try {
    YAML::Node root = YAML::Load(text);
    if (!root.IsMap() || !root["network"] || !root["network"].IsMap()) {
      return out;
    }
    YAML::Node network = root["network"];
    for (const char* kind : {"ethernets", "bonds", "bridges", "vlans", "wifis"}) {
      YAML::Node group = network[kind];
      if (!group || !group.IsMap()) {
        continue;
      }
      for (const auto& item : group) {
        NetworkInterface i;
        i.name = item.first.as<std::string>();
        i.config = file;
        const YAML::Node& conf = item.second;
        if (conf.IsMap()) {
          if (conf["set-name"] && conf["set-name"].IsScalar()) {
            i.name = conf["set-name"].as<std::string>();
          }
          if (conf["match"] && conf["match"].IsMap() && conf["match"]["macaddress"]
              && conf["match"]["macaddress"].IsScalar()) {
            i.mac = ascii_lower(conf["match"]["macaddress"].as<std::string>());
          }
          if (conf["addresses"] && conf["addresses"].IsSequence()) {
            for (const auto& a : conf["addresses"]) {
              if (a.IsScalar()) {
                i.addresses.push_back(a.as<std::string>());
              }
            }
          }
          bool dhcp = false;
          for (const char* key : {"dhcp4", "dhcp6"}) {
            if (conf[key] && conf[key].IsScalar() && yes(conf[key].as<std::string>())) {
              dhcp = true;
            }
          }
          i.method = dhcp ? "dhcp" : !i.addresses.empty() ? "static" : "manual";
        } else {
          i.method = "manual";
        }
        out.push_back(std::move(i));
      }
    }
  } catch (const std::exception& e) {
    if (error) {
      *error = e.what();
    }
    out.clear();
  }
  return out;
}

std::optional<NetworkInterface> parse_ifcfg(const std::string& name, const std::string& text,
                                            const std::string& file)
{
  auto vars = parse_shell_vars(text);
  NetworkInterface i;
  i.name = vars.count("DEVICE") && !vars["DEVICE"].empty() ? vars["DEVICE"] : name;
  if (i.name == "lo" || name == "lo") {
    return std::nullopt;
  }
  i.config = file;
  std::string proto = ascii_lower(vars["BOOTPROTO"]);
  for (const auto& [key, value] : vars) {
    if ((key.rfind("IPADDR", 0) == 0) && !value.empty()) {
      std::string address = value;
      std::string suffix = key.substr(6);
      if (address.find('/') == std::string::npos && vars.count("PREFIX" + suffix)) {
        address += "/" + vars["PREFIX" + suffix];
      }
      i.addresses.push_back(address);
    }
  }
  if (proto == "dhcp" || proto == "bootp" || proto == "dhcp4" || proto == "dhcp6"
      || proto == "dhcp+autoip") {
    i.method = "dhcp";
  } else if (proto == "static" || ((proto == "none" || proto.empty()) && !i.addresses.empty())) {
    i.method = "static";
  } else {
    i.method = proto.empty() ? "manual" : proto;
  }
  // RHEL's HWADDR binds the profile to a NIC; MACADDR sets the address. Both tie it to the
  // old hardware.
  for (const char* key : {"HWADDR", "MACADDR"}) {
    if (vars.count(key) && !vars[key].empty()) {
      i.mac = ascii_lower(vars[key]);
      break;
    }
  }
  return i;
}

std::optional<NetworkInterface> parse_nm_keyfile(const std::string& text, const std::string& file)
{
  Ini ini = parse_ini(text);
  if (!ini.count("connection")) {
    return std::nullopt;
  }
  std::string type = ini_get(ini, "connection", "type");
  if (type == "loopback") {
    return std::nullopt;
  }
  NetworkInterface i;
  i.config = file;
  i.name = ini_get(ini, "connection", "interface-name");
  if (i.name.empty()) {
    i.name = ini_get(ini, "connection", "id");
  }
  for (const char* section : {"ethernet", "802-3-ethernet"}) {
    std::string mac = ini_get(ini, section, "mac-address");
    if (!mac.empty()) {
      i.mac = ascii_lower(mac);
    }
  }
  if (auto s = ini.find("ipv4"); s != ini.end()) {
    for (const auto& [key, value] : s->second) {
      if (key.rfind("address", 0) == 0) {
        i.addresses.push_back(value.substr(0, value.find(',')));
      }
    }
  }
  std::string method = ini_get(ini, "ipv4", "method");
  if (method == "auto" || method.empty()) {
    i.method = method.empty() && !i.addresses.empty() ? "static" : "dhcp";
  } else if (method == "manual") {
    i.method = "static";
  } else {
    i.method = method;
  }
  return i;
}

std::optional<NetworkInterface> parse_networkd(const std::string& text, const std::string& file)
{
  Ini ini = parse_ini(text);
  if (!ini.count("Match")) {
    return std::nullopt;
  }
  NetworkInterface i;
  i.config = file;
  i.name = ini_get(ini, "Match", "Name");
  i.mac = ascii_lower(ini_get(ini, "Match", "MACAddress"));
  if (i.name.empty()) {
    i.name = ini_get(ini, "Link", "Name");
  }
  for (const auto& a : ini_all(ini, "Network", "Address")) {
    i.addresses.push_back(a);
  }
  for (const auto& a : ini_all(ini, "Address", "Address")) {
    i.addresses.push_back(a);
  }
  std::string dhcp = ascii_lower(ini_get(ini, "Network", "DHCP"));
  if (yes(dhcp) || dhcp == "ipv4" || dhcp == "ipv6" || dhcp == "both") {
    i.method = "dhcp";
  } else if (!i.addresses.empty()) {
    i.method = "static";
  } else {
    i.method = "manual";
  }
  return i;
}

// --- the NICs a configuration names -----------------------------------------------------------

namespace {

// "eth0" of an alias "eth0:1".
std::string alias_base(const std::string& name)
{
  return name.substr(0, name.find(':'));
}

// The physical interface a name stands for: the base of an alias, the NAME of a NAME.VLAN.
std::string physical_of(const std::string& name)
{
  std::string base = alias_base(name);
  return base.substr(0, base.find('.'));
}

bool is_uuid(const std::string& s)
{
  if (s.size() != 36) {
    return false;
  }
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

// eth2 before eth10: runs of digits compare as numbers, the rest byte by byte.
bool natural_less(const std::string& a, const std::string& b)
{
  size_t i = 0;
  size_t j = 0;
  auto digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
  while (i < a.size() && j < b.size()) {
    if (digit(a[i]) && digit(b[j])) {
      size_t ie = i;
      size_t je = j;
      while (ie < a.size() && digit(a[ie])) {
        ++ie;
      }
      while (je < b.size() && digit(b[je])) {
        ++je;
      }
      std::string x = a.substr(i, ie - i);
      std::string y = b.substr(j, je - j);
      x.erase(0, std::min(x.find_first_not_of('0'), x.size()));
      y.erase(0, std::min(y.find_first_not_of('0'), y.size()));
      if (x.size() != y.size()) {
        return x.size() < y.size();
      }
      if (x != y) {
        return x < y;
      }
      i = ie;
      j = je;
      continue;
    }
    if (a[i] != b[j]) {
      return a[i] < b[j];
    }
    ++i;
    ++j;
  }
  return a.size() - i < b.size() - j || (a.size() - i == b.size() - j && a < b);
}

} // namespace

std::vector<std::string> ifupdown_nics(const std::string& text)
{
  struct Stanza {
    std::string name;
    std::string method;
    bool is_virtual = false;           // a bond, bridge or VLAN, or wireless
    std::vector<std::string> physical; // the NICs under a virtual one
  };
  std::vector<Stanza> stanzas;
  Stanza* current = nullptr;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto w = whitespace_words(line);
    // A comment starts with a word that starts with '#'.
    w.erase(std::find_if(w.begin(), w.end(), [](const std::string& x) { return x[0] == '#'; }),
            w.end());
    if (w.empty()) {
      continue;
    }
    if (w[0] == "iface") {
      current = nullptr;
      if (w.size() >= 4 && w[1] != "lo") {
        stanzas.push_back({w[1], w[3], false, {}});
        current = &stanzas.back();
      }
    } else if (w[0] == "auto" || w[0] == "mapping" || w[0] == "source" || w[0] == "source-directory"
               || w[0].starts_with("allow-")) {
      current = nullptr;
    } else if (current) {
      const std::string& option = w[0];
      if (option == "bond-slaves" || option == "bond_slaves" || option == "slaves"
          || option == "bridge_ports" || option == "bridge-ports") {
        current->is_virtual = true;
        for (size_t k = 1; k < w.size(); ++k) {
          if (w[k] == "regex" || w[k] == "glob") {
            break; // a pattern: the NICs are whichever match it
          }
          if (w[k] != "none" && w[k] != "all") {
            current->physical.push_back(physical_of(w[k]));
          }
        }
      } else if ((option == "vlan-raw-device" || option == "vlan_raw_device") && w.size() > 1) {
        current->is_virtual = true;
        current->physical.push_back(physical_of(w[1]));
      } else if (option.starts_with("wpa-") || option.starts_with("wireless-")) {
        current->is_virtual = true;
        current->physical.clear();
      }
    }
  }
  std::set<std::string> masters;
  for (const auto& s : stanzas) {
    if (s.is_virtual) {
      masters.insert(s.name);
    }
  }
  std::vector<std::string> out;
  for (const auto& s : stanzas) {
    std::vector<std::string> names = s.is_virtual ? s.physical : std::vector{physical_of(s.name)};
    if (s.method == "loopback" || s.method == "tunnel" || s.method == "ppp" || s.method == "wvdial"
        || s.method == "6to4") {
      names.clear();
    }
    for (const auto& n : names) {
      if (!n.empty() && !masters.count(n)) {
        out.push_back(n);
      }
    }
  }
  return out;
}

std::vector<std::string> netplan_nics(const std::string& text)
{
  std::vector<std::string> out;
  try {
    YAML::Node root = YAML::Load(text);
    if (!root.IsMap() || !root["network"] || !root["network"].IsMap()) {
      return out;
    }
    YAML::Node ethernets = root["network"]["ethernets"];
    if (!ethernets || !ethernets.IsMap()) {
      return out;
    }
    for (const auto& item : ethernets) {
      const YAML::Node& conf = item.second;
      std::string name = item.first.as<std::string>("");
      if (conf.IsMap() && conf["set-name"] && conf["set-name"].IsScalar()) {
        name = conf["set-name"].Scalar();
      } else if (conf.IsMap() && conf["match"]) {
        const YAML::Node& match = conf["match"];
        name = match.IsMap() && match["name"] && match["name"].IsScalar() ? match["name"].Scalar()
                                                                          : "";
      }
      if (!name.empty()) {
        out.push_back(name);
      }
    }
  } catch (const std::exception&) {
    out.clear();
  }
  return out;
}

std::vector<std::string> ifcfg_nics(const std::string& name, const std::string& text)
{
  auto vars = parse_shell_vars(text);
  auto get = [&](const char* key) {
    auto it = vars.find(key);
    return it == vars.end() ? std::string() : it->second;
  };
  std::string device = get("DEVICE").empty() ? name : get("DEVICE");
  if (device == "lo" || name == "lo") {
    return {};
  }
  std::vector<std::string> out;
  // SUSE lists a bond's slaves and a bridge's ports in the master's file.
  for (const auto& [key, value] : vars) {
    if (key.starts_with("BONDING_SLAVE") && !value.empty()) {
      out.push_back(physical_of(value));
    }
  }
  for (const auto& port : whitespace_words(get("BRIDGE_PORTS"))) {
    out.push_back(physical_of(port));
  }
  std::string type = ascii_lower(get("TYPE"));
  bool is_vlan = type == "vlan" || yes(get("VLAN")) || !get("ETHERDEVICE").empty();
  bool is_master = type == "bond" || type == "bridge" || type == "team"
                   || yes(get("BONDING_MASTER")) || yes(get("BRIDGE"))
                   || ascii_lower(get("DEVICETYPE")) == "team"
                   || (!get("BONDING_OPTS").empty() && get("MASTER").empty());
  if (ascii_lower(get("DEVICETYPE")) == "teamport") {
    is_master = false; // a team's port: a NIC
  }
  bool is_other = (!type.empty() && type != "ethernet") || !get("WIRELESS_ESSID").empty()
                  || !get("ESSID").empty() || !get("WIRELESS_MODE").empty()
                  || !get("TUNNEL").empty();
  if (is_vlan) {
    std::string physical = !get("PHYSDEV").empty()                 ? get("PHYSDEV")
                           : !get("ETHERDEVICE").empty()           ? get("ETHERDEVICE")
                           : device.find('.') != std::string::npos ? device
                                                                   : "";
    if (!physical.empty()) {
      out.push_back(physical_of(physical));
    }
  } else if (!is_master && !is_other) {
    out.push_back(physical_of(device));
  }
  return out;
}

std::vector<std::string> nm_keyfile_nics(const std::string& text)
{
  Ini ini = parse_ini(text);
  std::string type = ini_get(ini, "connection", "type");
  if (type == "ethernet" || type == "802-3-ethernet") {
    auto iface = parse_nm_keyfile(text, "");
    if (iface && !iface->name.empty()) {
      return {iface->name};
    }
  } else if (type == "vlan") {
    std::string parent = ini_get(ini, "vlan", "parent");
    if (!parent.empty() && !is_uuid(parent)) {
      return {physical_of(parent)};
    }
  }
  return {};
}

std::vector<std::string> nic_order(const std::vector<std::string>& names)
{
  std::vector<std::string> out;
  for (const auto& n : names) {
    if (std::find(out.begin(), out.end(), n) == out.end()) {
      out.push_back(n);
    }
  }
  if (out.size() > 2) {
    std::stable_sort(out.begin() + 1, out.end(), natural_less);
  }
  return out;
}

bool is_interface_name(const std::string& name)
{
  if (name.empty() || name.size() > 15 || name == "." || name == "..") {
    return false;
  }
  for (char c : name) {
    if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c))
        || std::string_view("/:\"'\\=,$*?[]{}").find(c) != std::string_view::npos) {
      return false;
    }
  }
  return true;
}

} // namespace rehost
