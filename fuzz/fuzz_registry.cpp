// Registry hives from a guest: any bytes either open or fail; reading keys and values of what
// opens never crashes. The input is written to a file because hivex opens files.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "drivers/registry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  static const std::string path = "/tmp/rehost-fuzz-hive-" + std::to_string(getpid());
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  auto hive = rehost::drivers::Hive::open(path, rehost::drivers::HiveMode::read_only);
  if (hive) {
    int budget = 1000;
    std::vector<std::string> keys = {""};
    while (!keys.empty() && budget-- > 0) {
      std::string key = keys.back();
      keys.pop_back();
      for (const auto& name : hive->value_names(key).value_or(std::vector<std::string>{})) {
        if (auto v = hive->get(key, name); v && *v) {
          (void)(*v)->to_text();
        }
      }
      for (const auto& child : hive->subkeys(key).value_or(std::vector<std::string>{})) {
        keys.push_back(key.empty() ? child : key + "\\" + child);
      }
    }
  }
  return 0;
}
