// Windows driver INF files: parse and resolve for every architecture; never crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "drivers/inf.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  std::string text(reinterpret_cast<const char*>(data), size);
  auto inf = rehost::drivers::parse_inf(text, "fuzz.inf");
  for (const char* arch : {"amd64", "x86", "arm64"}) {
    (void)rehost::drivers::read_driver(inf, arch, 6, 1, 7601);
    (void)rehost::drivers::read_driver(inf, arch, 10, 0, 20348);
  }
  return 0;
}
