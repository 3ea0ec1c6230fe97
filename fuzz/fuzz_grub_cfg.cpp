// grub.cfg: entries, the default entry, and where an ESP stub sends grub.
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
  if (rehost::bootloader::is_grub_stub(text)) {
    std::string target = rehost::bootloader::grub_stub_target(text);
    if (!target.empty() && target != "/boot/grub/grub.cfg" && target != "/boot/grub2/grub.cfg") {
      __builtin_trap();
    }
  }
  return 0;
}
