// BLS entries: parse, set a key, edit the options; a second edit changes nothing.
#include <cstddef>
#include <cstdint>
#include <string>

#include "bootloader/bls.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  std::string text(reinterpret_cast<const char*>(data), size);
  (void)rehost::bootloader::parse_bls_entry(text);
  (void)rehost::bootloader::bls_set(text, "linux", "/vmlinuz-x");
  rehost::bootloader::CmdlineEdit edit;
  edit.remove = {"console"};
  edit.add = {"console=ttyS0"};
  std::string once = rehost::bootloader::bls_edit_options(text, edit);
  // An unbalanced quote makes the rest of a command line one argument: no fixed point then.
  if (text.find('"') == std::string::npos
      && rehost::bootloader::bls_edit_options(once, edit) != once) {
    __builtin_trap();
  }
  return 0;
}
