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

namespace rehost::test {

// A phony Debian guest whose programs run: busybox as the shell and tools, and stub
// update-initramfs, update-grub and dpkg that record their arguments in /var/log/stub-calls.
// The stub update-initramfs writes a real gzip'd cpio holding the modules listed in
// /etc/initramfs-tools/modules (with their modules.dep dependencies), so validation reads a
// real image; update-grub writes a grub.cfg with root=UUID= of the mounted root, as grub does.
// /etc/stub-sleep (seconds) makes every stub sleep first; /etc/stub-fail makes update-initramfs
// fail. Needs /bin/busybox on the host (busybox-static). Returns the tree's path.
std::string write_runnable_debian(const TempDir& dir, const std::string& rel);

} // namespace rehost::test
