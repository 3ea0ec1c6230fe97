// Key files (KEY=VALUE, "Key value", ini): an edit applied twice changes nothing the second time.
#include <cstddef>
#include <cstdint>
#include <string>

#include "converter/key_value.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  std::string text(reinterpret_cast<const char*>(data), size);
  const rehost::KeyEdits edits{{{"ResourceDisk.Format", "n"}, {"managed", "true"}}, {"UseDNS"}};
  for (const char* separator : {"=", " "}) {
    auto once = rehost::edit_key_values(text, edits, separator);
    if (rehost::edit_key_values(once.text, edits, separator).text != once.text) {
      __builtin_trap();
    }
    auto ini = rehost::edit_ini(text, "ifupdown", edits, separator);
    if (rehost::edit_ini(ini.text, "ifupdown", edits, separator).text != ini.text) {
      __builtin_trap();
    }
  }
  return 0;
}
