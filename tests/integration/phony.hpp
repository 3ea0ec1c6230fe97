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

// Makes the tree under dir/rel runnable: /bin/busybox from the host as /bin/sh and the tools the
// stubs use, the directories a sandbox mounts on, and /usr/bin/stub-root (`stub-root device`:
// the device of the mounted root; `stub-root uuid`: its file system UUID, or nothing).
void install_busybox(const TempDir& dir, const std::string& rel);

} // namespace rehost::test

namespace rehost::test {

// Runnable phony guests of other families, built from a fixture of tests/fixtures/linux/ (one
// ext4 root on /dev/sda1, as on a VMware server) with busybox as the shell and tools and stub
// programs that record their arguments in /var/log/stub-calls:
//   rocky9  rocky-9.3: dracut (add_drivers of /etc/dracut.conf.d and the distribution's
//           drop-ins, --force), BLS entries, grubenv, grub2-mkconfig, a rescue image
//   rhel7_uefi  rhel-7.9-uefi: dracut, grub2-mkconfig, the real grub.cfg and grubenv on the
//           ESP's EFI/redhat (a directory of the root file system here)
//   rhel9_uefi  rhel-9.4-uefi: as rocky9, with the ESP's EFI/redhat/grub.cfg a stub that loads
//           /boot/grub2/grub.cfg
//   sles15  sles-15.5: two kernels, dracut, /etc/sysconfig/kernel, grub2-mkconfig
//   sles11  sles-11.4: mkinitrd (INITRD_MODULES of /etc/sysconfig/kernel), grub legacy
//   arch    arch-grub: mkinitcpio (MODULES=() of /etc/mkinitcpio.conf), grub-mkconfig
// Each initramfs tool writes a real gzip'd newc cpio holding the modules its configuration
// lists, with their modules.dep dependencies; a kernel without a module tree is an error.
// Every module modules.dep lists exists as a placeholder file. Needs /bin/busybox on the host.
// Returns the tree's path.
enum class PhonyLinux { rocky9, rhel7_uefi, rhel9_uefi, sles15, sles11, arch };
std::string write_runnable_linux(const TempDir& dir, const std::string& rel, PhonyLinux which);

} // namespace rehost::test
