#include "converter/network_config.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <sstream>

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

} // namespace rehost
