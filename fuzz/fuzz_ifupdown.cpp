// /etc/network/interfaces: the primary interface to DHCP under a new name.
#include <cstddef>
#include <cstdint>
#include <string>

#include "converter/ifupdown.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  std::string text(reinterpret_cast<const char*>(data), size);
  std::string out = rehost::ifupdown_dhcp(text, "ens5");
  if (!rehost::ifupdown_primary_interface(text).empty()
      && rehost::ifupdown_primary_interface(out) != "ens5") {
    __builtin_trap();
  }
  return 0;
}
