// grub.cfg: entries and the default entry.
#include <cstddef>
#include <cstdint>
#include <string>

#include "bootloader/grub_cfg.hpp"
#include "bootloader/kernel_cmdline.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  std::string text(reinterpret_cast<const char*>(data), size);
  auto config = rehost::bootloader::parse_grub_cfg(text);
  if (auto entry = rehost::bootloader::default_entry(config, text.substr(0, 16))) {
    rehost::bootloader::KernelCmdline cmdline(entry->args);
    cmdline.set("root", std::string("UUID=1"));
    cmdline.remove("console");
    (void)cmdline.text();
  }
  return 0;
}
