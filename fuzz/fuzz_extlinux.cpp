// extlinux.conf: parse, set DEFAULT, edit APPEND lines.
#include <cstddef>
#include <cstdint>
#include <string>

#include "bootloader/extlinux.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  std::string text(reinterpret_cast<const char*>(data), size);
  auto config = rehost::bootloader::parse_extlinux(text);
  std::string out = rehost::bootloader::extlinux_set_default(text, "linux");
  if (rehost::bootloader::parse_extlinux(out).entries.size() != config.entries.size()) {
    __builtin_trap();
  }
  rehost::bootloader::CmdlineEdit edit;
  edit.remove = {"console"};
  edit.add = {"console=ttyS0"};
  (void)rehost::bootloader::extlinux_edit_append(text, edit);
  return 0;
}
