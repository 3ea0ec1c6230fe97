// Which of a list of drivers each installed kernel of a guest has, read from its module tree.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "converter/guest.hpp"
#include "drivers/initramfs_reader.hpp"
#include "drivers/linux_modules.hpp"

namespace rehost::drivers {

// The module index of kernel `version` (modules.dep, modules.builtin under /lib/modules or
// /usr/lib/modules); empty when the kernel has no module tree.
ModuleIndex kernel_module_index(Guest& guest, const std::string& version);

// The state of each of `names` in kernel `version`.
std::map<std::string, DriverState> kernel_driver_states(Guest& guest, const std::string& version,
                                                        const std::vector<std::string>& names);

// Lists the initramfs at guest path `image` (copied to a temporary host file, then read).
Result<InitramfsListing> list_guest_initramfs(Guest& guest, const std::string& image);

} // namespace rehost::drivers
