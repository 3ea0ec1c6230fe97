// Rule files and target profiles (YAML from users).
#include <cstddef>
#include <cstdint>
#include <string>

#include "converter/rules.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  std::string text(reinterpret_cast<const char*>(data), size);
  (void)rehost::parse_rule(text, "fuzz.yaml");
  (void)rehost::parse_target(text, "fuzz.yaml");
  return 0;
}
