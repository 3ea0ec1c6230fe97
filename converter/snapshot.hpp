// Point-in-time copies of a replica, taken at each launch into the staging area.
//
// A launch converts a copy, never the replica itself, so the replicator can keep writing while
// the launch runs and afterwards, and the target stays as it was at the moment of the copy:
//   - An image file is cloned with FICLONE where the file system shares extents (btrfs, XFS
//     with reflink, bcachefs): instant, atomic, and it costs no space until the replica changes.
//   - Elsewhere (ext4, or a staging area on another file system) it is copied sparsely: only
//     the data ranges SEEK_DATA/SEEK_HOLE report are copied, with copy_file_range (read/write
//     where that is refused), so holes stay holes. Such a copy is not atomic. rehost holds a
//     shared flock(2) on the replica while it copies, so a replicator that takes an exclusive
//     flock around its writes is kept out; and it compares the replica's size and modification
//     time before and after, copying again (up to three times) when the replica changed.
//   - A qcow2 replica keeps its backing file, which qcow2 requires to be immutable; a relative
//     backing path is made absolute in the copy, which lives in another directory.
//   - A block device that is an LVM logical volume gets an LVM snapshot (lvcreate --snapshot,
//     thin or with a copy-on-write area the size of the origin): atomic, made by the device
//     mapper. Any other block device has no snapshot layer rehost can use: it is copied like a
//     file (zero blocks become holes) and the launch logs that the copy is consistent only if
//     nothing wrote to the device meanwhile.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "converter/error.hpp"

namespace rehost {

enum class SnapshotMethod { reflink, sparse_copy, lvm_snapshot, device_copy };

// "reflink", "sparse-copy", "lvm-snapshot", "device-copy".
std::string to_token(SnapshotMethod method);
std::optional<SnapshotMethod> parse_snapshot_method(const std::string& token);

struct Snapshot {
  std::string path; // a file in the staging area, or the snapshot volume's device
  SnapshotMethod method = SnapshotMethod::sparse_copy;
  uint64_t allocated_bytes = 0; // of a file copy
  std::string warning;          // something the launch should log, or ""
};

// Copies the file `from` to the new file `to` (which must not exist), keeping holes. Not
// atomic: see take_snapshot for the checks around it.
Result<void> sparse_copy_file(const std::string& from, const std::string& to);

// Makes `to` (which must not exist) a copy of the file `from`: a reflink where the file system
// supports it, else a sparse copy. Returns the method used.
Result<SnapshotMethod> clone_file(const std::string& from, const std::string& to);

// Takes a point-in-time snapshot of `volume` (an image file or block device): a file copy as
// `staging_dir/name` (the directory is created), or an LVM snapshot volume named
// "rehost-<name>". The error names the volume and what to do.
Result<Snapshot> take_snapshot(const std::string& volume, const std::string& staging_dir,
                               const std::string& name);

// An LVM logical volume, as `lvs` describes it.
struct LogicalVolume {
  std::string vg;
  std::string lv;
  std::string segtype; // "linear", "striped", "thin", ...
};

// The lvcreate command that snapshots `origin` as the volume `snapshot_name`: a thin snapshot
// (activated, which thin snapshots are not by default) for a thin volume, else a snapshot with
// a copy-on-write area as large as the origin, so it stays valid however much the origin
// changes before the snapshot is removed.
std::vector<std::string> lvcreate_snapshot_command(const LogicalVolume& origin,
                                                   const std::string& snapshot_name);

// Removes a snapshot made by take_snapshot; one that is already gone is no error.
Result<void> remove_snapshot(const std::string& path, SnapshotMethod method);

} // namespace rehost
