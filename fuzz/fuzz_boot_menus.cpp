// Boot menus besides grub.cfg: BLS entries, grubenv, grub legacy, extlinux, loader.conf.
#include <cstddef>
#include <cstdint>
#include <string>

#include "bootloader/boot_menus.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  using namespace rehost::bootloader;
  std::string text(reinterpret_cast<const char*>(data), size);
  auto env = read_grubenv(text);
  BootMenu bls;
  bls.entries.push_back(read_bls_entry("a", text));
  bls.default_value = loader_conf_default(text);
  if (auto e = default_menu_entry(bls)) {
    (void)expand_grub_vars(e->args, env);
  }
  (void)expand_grub_vars(text, env);
  for (const BootMenu& menu : {read_grub_legacy_menu(text), read_extlinux_menu(text)}) {
    auto e = default_menu_entry(menu);
    if (!menu.entries.empty() && !e) {
      __builtin_trap(); // a menu with entries always has a default
    }
  }
  return 0;
}
