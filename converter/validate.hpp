// Static validation of a converted guest: will it find its disk, its kernel and its root?
//
// The checks read the result, they do not trust what the conversion meant to do:
//   initramfs   the default kernel's initramfs (listed with libarchive) holds the target's
//               storage and network drivers and their dependencies, or the kernel has them
//               built in;
//   bootloader  the default boot entry names a kernel and an initramfs that exist, and its
//               root= names the root file system in a form that survives the move; on a UEFI
//               guest it loads the kernel with a command UEFI grub has (not linux16);
//   firmware    the target's machines offer the firmware the guest boots with (a UEFI guest
//               with grub also installed for BIOS boots with either);
//   uefi        (UEFI guests) the ESP holds the fallback loader for the guest's architecture
//               (\EFI\BOOT\BOOTX64.EFI, BOOTAA64.EFI), the only loader the target's firmware finds;
//   fstab       every entry resolves to a file system of this disk, or is nofail, or needs no
//               device.
#pragma once

#include <vector>

#include "converter/guest.hpp"
#include "converter/inspection.hpp"
#include "converter/report.hpp"
#include "converter/rules.hpp"

namespace rehost {

// Whether the target's machines offer the firmware the guest boots with. A guest that boots
// only with UEFI cannot start on a target that offers only BIOS (aws-xen): planning refuses it
// with this check's detail, and validation repeats it on the result.
Check check_firmware(const Inspection& in, const TargetProfile& target);

// Runs the static checks on the guest as it is now. `inspection` must describe the converted
// guest (inspect again after converting).
std::vector<Check> validate_guest(Guest& guest, const Inspection& inspection,
                                  const TargetProfile& target, nlohmann::json* initramfs_listing);

} // namespace rehost
