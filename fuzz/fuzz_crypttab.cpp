// crypttab and device.map: device names rewritten through caller lookups.
#include <cstddef>
#include <cstdint>
#include <string>

#include "bootloader/crypttab.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  std::string text(reinterpret_cast<const char*>(data), size);
  rehost::bootloader::DeviceLookup lookup;
  lookup.stable = [](const std::string& dev) -> std::optional<std::string> {
    return dev.size() % 2 ? std::optional<std::string>("UUID=x") : std::nullopt;
  };
  lookup.resolves = [](const std::string& dev) { return dev.size() % 3 == 0; };
  (void)rehost::bootloader::crypttab_to_stable(text, lookup);
  (void)rehost::bootloader::parse_device_map(text);
  (void)rehost::bootloader::rewrite_device_map(text, lookup.stable);
  return 0;
}
