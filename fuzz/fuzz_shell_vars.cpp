// Shell variable files (os-release, /etc/default/grub, conf.d): parse, edit, re-parse.
#include <cstddef>
#include <cstdint>
#include <string>

#include "converter/shell_vars.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  std::string text(reinterpret_cast<const char*>(data), size);
  auto vars = rehost::parse_shell_vars(text);
  std::string edited = rehost::set_shell_var(text, "GRUB_CMDLINE_LINUX", "console=ttyS0 a=\"b c\"");
  // The edit must read back as written.
  auto value = rehost::shell_var(edited, "GRUB_CMDLINE_LINUX");
  if (!value || *value != "console=ttyS0 a=\"b c\"") {
    __builtin_trap();
  }
  rehost::unset_shell_var(text, "ID");
  return 0;
}
