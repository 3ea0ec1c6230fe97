// Readers of the network configuration styles a Linux guest may use, for inspection: which
// interfaces are configured, how they get their address, and whether a MAC address pins them.
//
//   ifupdown          /etc/network/interfaces (+ interfaces.d)   Debian, old Ubuntu
//   netplan           /etc/netplan/*.yaml                         Ubuntu >= 17.10
//   ifcfg             /etc/sysconfig/network-scripts/ifcfg-*      RHEL family <= 8
//   wicked            /etc/sysconfig/network/ifcfg-*              SUSE
//   networkmanager    /etc/NetworkManager/system-connections/*    RHEL 9, Fedora, desktops
//   systemd-networkd  /etc/systemd/network/*.network              Arch, minimal images
//
// Each reader is a pure function of the file's text; nothing throws on malformed input.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace rehost {

struct NetworkInterface {
  std::string name;   // "eth0", "ens3", or a match pattern ("en*") where that is all there is
  std::string method; // "dhcp", "static", "manual", ...
  std::string config; // the file that configures it
  std::vector<std::string> addresses; // static addresses ("192.0.2.10/24")
  std::string mac;                    // the MAC address the configuration is pinned to, if any
};

// `iface NAME inet|inet6 METHOD` stanzas (loopback left out) with their `address` lines.
std::vector<NetworkInterface> parse_ifupdown(const std::string& text, const std::string& file);

// The `source`/`source-directory` lines of an interfaces file, as written.
std::vector<std::string> ifupdown_sources(const std::string& text);

// Ethernets, bonds, bridges and vlans of a netplan file; an unparsable file gives none and
// sets `error`.
std::vector<NetworkInterface> parse_netplan(const std::string& text, const std::string& file,
                                            std::string* error = nullptr);

// One ifcfg file (RHEL network-scripts or SUSE sysconfig/network); `name` is the part after
// "ifcfg-", used when DEVICE= is absent. Nothing for the loopback.
std::optional<NetworkInterface> parse_ifcfg(const std::string& name, const std::string& text,
                                            const std::string& file);

// A NetworkManager keyfile connection profile; nothing for the loopback or a non-keyfile.
std::optional<NetworkInterface> parse_nm_keyfile(const std::string& text, const std::string& file);

// A systemd-networkd .network file (or a .link file, which gives only its MAC match).
std::optional<NetworkInterface> parse_networkd(const std::string& text, const std::string& file);

// --- the NICs a configuration names (--keep-network) ---------------------------------------------
//
// The physical interfaces a configuration expects, which on the target are NICs that must come
// up under these names: ethernet interfaces, and the slaves and ports of bonds, bridges and
// teams (which are NICs too); the raw device under a VLAN, and the base of an alias (eth0:1).
// Not the virtual interfaces themselves (bonds, bridges, teams, VLANs), the loopback, wireless
// or tunnels. Each gives names in the order the text gives them; names may repeat.

// ifupdown: `iface` stanzas other than lo, bond/bridge/VLAN masters replaced by their
// `bond-slaves`/`slaves`/`bridge_ports`/`vlan-raw-device` (or the NAME of a NAME.VLAN).
std::vector<std::string> ifupdown_nics(const std::string& text);

// netplan: each entry of `ethernets:`, named by its `set-name:`, else its `match: name:`, else
// its id when it has no match (an entry matched otherwise has no name of its own); bonds,
// bridges and VLANs refer to these entries. Unparsable YAML gives none.
std::vector<std::string> netplan_nics(const std::string& text);

// One ifcfg file (`name` as for parse_ifcfg): the interface when it is an ethernet one (TYPE=
// empty or Ethernet, including a bond slave or bridge port), the physical device of a VLAN
// (PHYSDEV=, ETHERDEVICE=, or NAME of NAME.VLAN), SUSE's BONDING_SLAVE*= and BRIDGE_PORTS=.
std::vector<std::string> ifcfg_nics(const std::string& name, const std::string& text);

// A NetworkManager keyfile: the interface of an ethernet profile (interface-name=, else id= as
// parse_nm_keyfile reads it), or the parent of a VLAN profile when it is a name, not a UUID.
std::vector<std::string> nm_keyfile_nics(const std::string& text);

// The order in which --keep-network binds names to the target's NICs: the first name (the
// primary) stays first, the others follow in natural order (eth2 before eth10); repeats go.
std::vector<std::string> nic_order(const std::vector<std::string>& names);

// A name Linux accepts for an interface and rules and link files can hold as it is: 1 to 15
// bytes, none of them white space, '/', ':', quotes, '\\', '=', ',', '$' or a glob character.
bool is_interface_name(const std::string& name);

} // namespace rehost
