// Modules configuration files of every initramfs tool: adding names twice changes nothing.
#include <cstddef>
#include <cstdint>
#include <string>

#include "drivers/initramfs_config.hpp"

using namespace rehost::drivers;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  std::string text(reinterpret_cast<const char*>(data), size);
  for (auto format : {ModulesFormat::lines, ModulesFormat::dracut, ModulesFormat::shell_list,
                      ModulesFormat::bash_array}) {
    auto once = add_modules(format, text, {"nvme", "ena"}, "MODULES", "x");
    if (!once.problem.empty()) {
      continue;
    }
    auto twice = add_modules(format, once.text, {"nvme", "ena"}, "MODULES", "x");
    if (!twice.added.empty()) {
      __builtin_trap();
    }
  }
  return 0;
}
