// Initramfs images: concatenated, possibly compressed, cpio archives (libarchive).
#include <cstddef>
#include <cstdint>
#include <string>

#include "drivers/initramfs_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  std::string image(reinterpret_cast<const char*>(data), size);
  if (auto listing = rehost::drivers::list_initramfs(image)) {
    (void)rehost::drivers::modules_in(*listing);
  }
  return 0;
}
