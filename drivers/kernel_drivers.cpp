#include "drivers/kernel_drivers.hpp"

#include <unistd.h>

namespace rehost::drivers {

ModuleIndex kernel_module_index(Guest& guest, const std::string& version)
{
  std::string dir = "/lib/modules/" + version;
  if (!is_dir(guest, dir) && is_dir(guest, "/usr/lib/modules/" + version)) {
    dir = "/usr/lib/modules/" + version;
  }
  return ModuleIndex::parse(read_or_empty(guest, dir + "/modules.dep", 64 << 20),
                            read_or_empty(guest, dir + "/modules.builtin", 16 << 20));
}

std::map<std::string, DriverState> kernel_driver_states(Guest& guest, const std::string& version,
                                                        const std::vector<std::string>& names)
{
  auto index = kernel_module_index(guest, version);
  std::map<std::string, DriverState> states;
  for (const auto& n : names) {
    states[n] = index.state(n);
  }
  return states;
}

Result<InitramfsListing> list_guest_initramfs(Guest& guest, const std::string& image)
{
  char temp[] = "/tmp/rehost-initramfs-XXXXXX";
  int fd = mkstemp(temp);
  if (fd < 0) {
    return fail("cannot create a temporary file to read {}", image);
  }
  close(fd);
  auto downloaded = guest.download(image, temp);
  auto listing = downloaded ? list_initramfs_file(temp) : std::unexpected(downloaded.error());
  unlink(temp);
  return listing;
}

} // namespace rehost::drivers
