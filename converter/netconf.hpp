// Network configuration files other than ifupdown's: ifcfg (RHEL network-scripts, SUSE
// wicked), netplan, NetworkManager keyfiles, and udev's 70-persistent-net.rules.
//
// Two edits per format, both pure text-to-text functions that leave comments and unrelated
// lines byte for byte: remove MAC pinning (a configuration tied to the old NIC's address never
// matches the target's NIC), and move the primary interface to DHCP under the name the first
// NIC gets on the target (DOMAIN.md, "Network").
#pragma once

#include <string>
#include <vector>

namespace rehost {

// --- ifcfg (/etc/sysconfig/network-scripts/ifcfg-*, /etc/sysconfig/network/ifcfg-*) ----------

// Without HWADDR= and MACADDR= (RHEL) and LLADDR= (SUSE).
std::string ifcfg_remove_mac(const std::string& text);

// DHCP under `new_name`: DEVICE= and NAME= (when present) renamed, BOOTPROTO=dhcp, ONBOOT=yes
// and STARTMODE=auto when the file uses them, static addresses (IPADDR*, NETMASK*, PREFIX*,
// PREFIXLEN*, GATEWAY*, BROADCAST*, NETWORK*) and MAC pinning removed. DNS settings stay.
std::string ifcfg_dhcp(const std::string& text, const std::string& new_name);

// --- netplan (/etc/netplan/*.yaml) -----------------------------------------------------------

// The first interface under `ethernets:`, or "".
std::string netplan_primary_interface(const std::string& text);

// Every `macaddress:` inside a `match:` of an ethernet goes; a `match:` left empty goes with the
// `set-name:` that needed it.
std::string netplan_remove_mac(const std::string& text);

// The first ethernet renamed to `new_name`, with `dhcp4: true` and without match, set-name,
// addresses, gateway4, gateway6 and routes. Returns `text` when there is no ethernet.
std::string netplan_dhcp(const std::string& text, const std::string& new_name);

// --- NetworkManager keyfiles (/etc/NetworkManager/system-connections/*.nmconnection) --------

// Without `mac-address=` in the [ethernet] (or [802-3-ethernet]) section.
std::string nm_keyfile_remove_mac(const std::string& text);

// `interface-name=` set to `new_name` in [connection], [ipv4] method=auto without address*,
// addresses and gateway, and no MAC pinning.
std::string nm_keyfile_dhcp(const std::string& text, const std::string& new_name);

// --- udev persistent net rules -----------------------------------------------------------------

// The rules that name an interface after a MAC address (ATTR{address}=="..." with NAME=)
// become comments.
std::string persistent_net_remove_mac(const std::string& text);

// --- keeping an interface's name on the target (--keep-network) ---------------------------------

// A systemd.link file naming the NIC bound to `driver` `name`: the first link file that matches
// wins, and an empty NamePolicy= lets Name= apply (also under net.ifnames=0).
std::string keep_name_link(const std::string& name, const std::string& driver,
                           const std::string& target);

// The same for udev without systemd: one NAME= rule per driver.
std::string keep_name_udev_rules(const std::string& name, const std::vector<std::string>& drivers,
                                 const std::string& target);

// With several NICs the driver cannot tell them apart; their position can. `position` counts
// the target's NICs from 0 in the order it attaches them, at PCI address `pci` there.

// A systemd.link file naming `name` the NIC that `driver` drives at `pci`: `Path=` matches
// udev's ID_PATH, "pci-ADDRESS" (older udev appends "-virtio-pci-virtioN" for a virtio NIC,
// hence the '*'); Path= and Driver= are match keys since systemd 209 (RHEL 7 has 219).
std::string keep_name_link_at(const std::string& name, const std::string& driver,
                              const std::string& pci, size_t position, const std::string& target);

struct NicBinding {
  size_t position = 0;
  std::string pci;  // "0000:00:06.0"
  std::string name; // the name the source gave it: "eth1"
};

// The same for udev without systemd: one NAME= rule per NIC, by the PCI device above it
// (KERNELS==). No DRIVERS== in these rules: udev matches KERNELS and DRIVERS on one device, and
// a virtio NIC's driver sits on a virtio device below the PCI one.
std::string keep_names_udev_rules(const std::vector<NicBinding>& nics, const std::string& target);

} // namespace rehost
