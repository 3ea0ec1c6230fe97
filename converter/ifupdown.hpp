// /etc/network/interfaces (ifupdown): move the primary interface to DHCP under a new name.
#pragma once

#include <string>

namespace rehost {

// The first interface with an `iface NAME inet|inet6 ...` stanza other than lo, or "".
std::string ifupdown_primary_interface(const std::string& text);

// Renames the primary interface to `new_name` in its auto/allow-hotplug/iface lines, sets its
// inet method to dhcp, and drops the option lines of that stanza that only make sense for a
// static address or the old hardware (address, netmask, gateway, broadcast, network,
// hwaddress, dns-*, pre-up/up lines that name the old interface stay). inet6 stanzas of the
// same interface are renamed and left otherwise as they were. Comments and all other stanzas
// are unchanged. Returns `text` unchanged when there is no primary interface.
std::string ifupdown_dhcp(const std::string& text, const std::string& new_name);

} // namespace rehost
