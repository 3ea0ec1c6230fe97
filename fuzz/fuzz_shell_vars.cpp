// Shell variable files (os-release, /etc/default/grub, conf.d): parse, edit, re-parse.
#include <cstddef>
#include <cstdint>
#include <string>

#include "converter/shell_vars.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  std::string text(reinterpret_cast<const char*>(data), size);
  auto vars = rehost::parse_shell_vars(text);
  // The edit reads back as written, or says why it cannot (a quote never closed).
  (void)rehost::set_shell_var_checked(text, "GRUB_CMDLINE_LINUX", "console=ttyS0 a=\"b c\"");
  rehost::unset_shell_var(text, "ID");
  return 0;
}
