// fstab/crypttab: parse, edit fields, comment out lines; untouched lines must survive.
#include <cstddef>
#include <cstdint>
#include <string>

#include "bootloader/device_names.hpp"
#include "bootloader/fstab.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  std::string text(reinterpret_cast<const char*>(data), size);
  auto entries = rehost::bootloader::parse_fstab(text);
  std::vector<rehost::bootloader::FstabEdit> edits;
  for (const auto& e : entries) {
    (void)rehost::bootloader::classify_device_name(e.spec());
    edits.push_back({e.line, 0, "UUID=x"});
  }
  std::string out = rehost::bootloader::apply_fstab_edits(text, edits);
  if (rehost::bootloader::parse_fstab(out).size() != entries.size()) {
    __builtin_trap();
  }
  if (!entries.empty()) {
    (void)rehost::bootloader::comment_out_fstab_line(text, entries.back(), "x");
  }
  return 0;
}
