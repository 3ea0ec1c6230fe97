// Release files: os-release and the older per-distribution files.
#include <cstddef>
#include <cstdint>
#include <string>

#include "converter/os_identity.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  std::string text(reinterpret_cast<const char*>(data), size);
  for (const auto& file : rehost::release_files()) {
    (void)rehost::identify_os({{file, text}});
  }
  (void)rehost::elf_arch(text);
  return 0;
}
