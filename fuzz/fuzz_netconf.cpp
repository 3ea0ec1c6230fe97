// ifcfg, netplan, NetworkManager keyfiles, persistent-net rules: MAC pinning and DHCP edits.
#include <cstddef>
#include <cstdint>
#include <string>

#include "converter/netconf.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  std::string text(reinterpret_cast<const char*>(data), size);
  (void)rehost::ifcfg_remove_mac(text);
  (void)rehost::ifcfg_dhcp(text, "ens5");
  (void)rehost::netplan_remove_mac(text);
  std::string netplan = rehost::netplan_dhcp(text, "ens5");
  if (!rehost::netplan_primary_interface(text).empty()
      && rehost::netplan_primary_interface(netplan) != "ens5") {
    __builtin_trap();
  }
  (void)rehost::nm_keyfile_remove_mac(text);
  (void)rehost::nm_keyfile_dhcp(text, "ens5");
  std::string rules = rehost::persistent_net_remove_mac(text);
  if (rehost::persistent_net_remove_mac(rules) != rules) {
    __builtin_trap();
  }
  return 0;
}
