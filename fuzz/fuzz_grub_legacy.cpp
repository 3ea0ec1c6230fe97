// grub legacy menu.lst: parse, set the default, edit kernel arguments.
#include <cstddef>
#include <cstdint>
#include <string>

#include "bootloader/grub_legacy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  std::string text(reinterpret_cast<const char*>(data), size);
  auto config = rehost::bootloader::parse_grub_legacy(text);
  (void)rehost::bootloader::grub_legacy_default(config);
  std::string out = rehost::bootloader::grub_legacy_set_default(text, 1);
  if (rehost::bootloader::parse_grub_legacy(out).entries.size() != config.entries.size()) {
    __builtin_trap();
  }
  rehost::bootloader::CmdlineEdit edit;
  edit.remove = {"console"};
  edit.add = {"console=ttyS0"};
  (void)rehost::bootloader::grub_legacy_edit_args(text, edit);
  return 0;
}
