// Phony guests for integration tests: small directory trees with realistic files, turned into
// disk images without an appliance.
#pragma once

#include <string>

#include "tests/test_util.hpp"

namespace rehost::test {

// Writes a minimal Debian 12 root file system under dir/rel: release files, fstab naming
// /dev/sda1, a kernel with its module lists (nvme as a module, virtio_pci built in), grub.cfg,
// initramfs-tools, a dpkg database with open-vm-tools, ifupdown with eth0 and MAC pinning.
// Returns the tree's path.
std::string write_phony_debian(const TempDir& dir, const std::string& rel);

} // namespace rehost::test
