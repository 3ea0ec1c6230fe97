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

} // namespace rehost
