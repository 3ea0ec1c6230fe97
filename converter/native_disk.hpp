// The native backend: the guest's file systems mounted on this host, its programs run in a
// sandbox. For converter instances (root, loop devices), where it is many times faster than an
// emulated appliance.
//
// How a disk is reached: the image (the qcow2 output overlay, or a throwaway overlay for
// read-only commands, so journal replay never touches the source) is exported as a raw file by
// qemu-storage-daemon; each file system gets a loop device at its partition's offset (this
// kernel may create no partition devices for loop files) and is mounted nodev,nosuid. All of
// it happens in a private mount namespace of rehost: the host never sees these mounts, and if
// rehost dies, even by SIGKILL, the namespace goes with it, the loop devices detach (autoclear)
// and the export daemon gets SIGKILL.
//
// Trust: guest paths are resolved with openat2(RESOLVE_IN_ROOT) (DirGuest), mount points from
// the guest's fstab included, so no guest symlink leads to a host path; guest programs run only
// through sandbox.hpp.
//
// LVM without the host's LVM: the volume groups' metadata is read from the disk
// (lvm_metadata.hpp), and each logical volume that is one run of the disk (linear, in one
// piece, as installers make them) gets a loop device like a partition, named /dev/VG/LV as
// libguestfs names it. Where the host has device-mapper, a linear LV in several pieces or a
// striped one is joined by a device-mapper device (dm_device.hpp) over one loop device per
// piece; no loop device ever shows a physical volume's label, so the host's own LVM finds no
// volume group of the guest to activate. Disks with other LVs (thin, RAID, mirrors, snapshots,
// cache), with LVs that need device-mapper on a host without it, and md arrays (writing one
// member of a mirror would leave the others stale) are not handled here: the caller falls back
// to libguestfs. Encrypted volumes are left closed, as in every backend.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "converter/block_export.hpp"
#include "converter/dir_guest.hpp"
#include "converter/disk.hpp"
#include "converter/dm_device.hpp"
#include "converter/guestfs_guest.hpp"
#include "converter/loop_device.hpp"
#include "converter/lvm_metadata.hpp"

namespace rehost {

class NativeDisk {
public:
  // Exports `image` and reads its layout. `image` is written only with read_write.
  static Result<std::unique_ptr<NativeDisk>> open(const std::string& image,
                                                  const std::string& format, DiskAccess access);
  ~NativeDisk();

  // Partition tables (libparted) and file systems (blkid), named as libguestfs names them.
  Result<DiskInfo> describe_disk();

  // What on the disk needs device-mapper or md ("linux_raid_member on /dev/sda1", "vg0/pool
  // is not linear ..."); empty when the native backend can read all of it.
  std::vector<std::string> needs_device_mapper() const;

  // The file systems on the disk this host's kernel cannot mount ("vfat on /dev/sda1").
  std::vector<std::string> unmountable_here() const;

  // Devices holding an OS root (a release file in /etc).
  Result<std::vector<std::string>> find_roots();

  // Mounts `root` and the local file systems its fstab names; records them in `disk`.
  Result<void> mount_root(const std::string& root, DiskInfo& disk);

  // The mounted guest (valid after mount_root).
  std::unique_ptr<Guest> guest(const std::string& firmware);

  // Unmounts everything and stops the export, flushing the image.
  Result<void> shutdown();

  // Whether the native backend can run here; when not, `why` says what is missing.
  static bool available(std::string* why);

private:
  struct Region {
    std::string device; // "/dev/sda1"
    uint64_t offset = 0;
    uint64_t size = 0;
    LoopDevice loop; // attached for regions that hold a file system
    // An LV only device-mapper can join (offset unused): its table, a loop device per area, and
    // the device on them, declared after them so that it goes first.
    std::optional<lvm::DeviceTable> table;
    std::vector<LoopDevice> parts;
    DmDevice mapped;

    // The block device that shows the region, or "" when it has none.
    std::string host_device() const { return mapped.active() ? mapped.node() : loop.path(); }
  };

  NativeDisk() = default;
  // Mounts `region` on `target`, a path inside the view (see native_disk.cpp).
  Result<void> mount_region(const Region& region, const std::string& fstype,
                            const std::string& target, bool read_only);
  Region* region(const std::string& device);
  // The logical volumes of the disk's LVM physical volumes, as regions and file systems.
  void add_logical_volumes(const std::function<Result<std::string>(uint64_t, size_t)>& reader,
                           uint64_t disk_size);
  // An LV that is not one run of the disk: a region with its device-mapper table where this
  // host has device-mapper and the LV is linear or striped; otherwise an LVM problem (`problem`
  // without device-mapper, or why there is no table).
  void add_mapped_volume(const lvm::VolumeGroup& vg, const lvm::LogicalVolume& lv,
                         const std::map<std::string, lvm::ByteRange>& pvs, uint64_t disk_size,
                         const std::string& problem);
  // Makes the device-mapper devices of the regions that have a table, and probes their file
  // systems; what cannot be made is an LVM problem.
  void map_logical_volumes();
  Result<void> map_region(Region& region, const std::string& name);
  // Devices stacked on ours that rehost did not make, as LVM problems.
  void check_holders();
  // Removes the region's device-mapper device, then waits for its loop devices to be free.
  Result<void> unmap_region(Region& region);

  DiskAccess m_access = DiskAccess::read_only;
  std::string m_workdir;
  std::string m_scratch_overlay; // throwaway overlay for read-only access
  BlockExport m_export;
  std::vector<Region> m_regions;
  std::vector<std::string> m_lvm_problems; // LVM the native backend cannot read
  DiskInfo m_disk;
  std::string m_view;                // workdir/view: dev/, proc/, root/, probe/
  std::vector<std::string> m_mounts; // host paths, in mount order
  std::string m_root_path;
};

} // namespace rehost
