// Names of block devices as a guest writes them (fstab, root=, resume=, crypttab) and whether
// they depend on the hypervisor's disk controller.
//
// /dev/sda1 on VMware is /dev/nvme0n1p1 on AWS Nitro and /dev/vda1 on KVM: such names must
// become UUID= before the move. Names that do not depend on the controller (UUID=, LABEL=,
// PARTUUID=, /dev/mapper/..., /dev/VG/LV, /dev/md*) are left as they are.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace rehost::bootloader {

enum class DeviceNameKind {
  controller, // /dev/sdXN, /dev/hdXN, /dev/vdXN, /dev/xvdXN, /dev/nvmeXnYpZ, cciss
  by_path,    // /dev/disk/by-id/..., /dev/disk/by-path/... (tied to the old hardware)
  uuid,       // UUID=..., /dev/disk/by-uuid/...
  label,      // LABEL=..., /dev/disk/by-label/...
  partuuid,   // PARTUUID=..., /dev/disk/by-partuuid/...
  stable,     // /dev/mapper/..., LVM, md: independent of the controller
  other,      // not a block device (tmpfs, proc, nfs server:/path, ...)
};

struct DeviceName {
  DeviceNameKind kind = DeviceNameKind::other;
  int disk = -1;     // controller names: 0 for the first disk (sda, hda, vda, xvda, nvme0n1)
  int partition = 0; // controller names: 0 for the whole disk
  std::string value; // uuid, label or partuuid
};

DeviceName classify_device_name(const std::string& spec);

// The name of disk `index` (0 for the first) on a controller whose first disk is `first_disk`:
// "/dev/nvme0n1" -> "/dev/nvme2n1", "/dev/vda" -> "/dev/vdc", "/dev/xvda" -> "/dev/xvdc".
std::optional<std::string> disk_name_like(const std::string& first_disk, int index);

// The device names in `text` (kernel arguments such as root=/dev/sda1, or shell tests such as
// [ -e "/dev/disk/by-path/..." ]) that belong to the old hardware and are gone on the target:
// controller names, /dev/disk/by-id and by-path links, and /dev/block/MAJOR:MINOR (the major
// number is the controller's). Each once, in the order they appear.
std::vector<std::string> hardware_device_names(const std::string& text);

// The name libguestfs gives the same device ("/dev/sdb2" for /dev/xvdb2), for controller names.
std::optional<std::string> appliance_name(const DeviceName& name);

} // namespace rehost::bootloader
