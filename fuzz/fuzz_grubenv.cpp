// grubenv: reading, setting and unsetting variables; the block never changes size.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "bootloader/grubenv.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  std::string text(reinterpret_cast<const char*>(data), size);
  (void)rehost::bootloader::parse_grubenv(text);
  auto out = rehost::bootloader::grubenv_set(text, "saved_entry", "abc-5.14.0");
  if (out) {
    if (out->size() != std::max(text.size(), rehost::bootloader::k_grubenv_size)) {
      __builtin_trap();
    }
    if (rehost::bootloader::grubenv_get(*out, "saved_entry") != "abc-5.14.0") {
      __builtin_trap();
    }
  }
  (void)rehost::bootloader::grubenv_unset(text, "kernelopts");
  return 0;
}
