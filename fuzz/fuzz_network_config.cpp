// Network configuration readers: ifupdown, netplan, ifcfg, NetworkManager, networkd.
#include <cstddef>
#include <cstdint>
#include <string>

#include "converter/network_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  std::string text(reinterpret_cast<const char*>(data), size);
  (void)rehost::parse_ifupdown(text, "f");
  (void)rehost::ifupdown_sources(text);
  std::string error;
  (void)rehost::parse_netplan(text, "f", &error);
  (void)rehost::parse_ifcfg("eth0", text, "f");
  (void)rehost::parse_nm_keyfile(text, "f");
  (void)rehost::parse_networkd(text, "f");
  return 0;
}
