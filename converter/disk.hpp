// What a disk holds below the file level: partition tables, file systems, mounts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rehost {

struct Partition {
  int number = 0;
  uint64_t start = 0;             // bytes
  uint64_t size = 0;              // bytes
  std::string kind;               // "primary", "logical", "extended" (MBR) or "" (GPT)
  std::string type_id;            // MBR type byte ("0x83") or GPT type GUID
  std::string name;               // GPT partition name
  std::vector<std::string> flags; // "boot", "esp", "bios_grub", "lvm", ...
};

struct PartitionTable {
  std::string device; // "/dev/sda"
  std::string type;   // "msdos", "gpt", "loop" (a file system on the whole disk), "none"
  uint64_t size = 0;  // bytes
  std::vector<Partition> partitions;
};

struct Filesystem {
  std::string device; // as the backend names it: "/dev/sda1", "/dev/vg/root"
  std::string type;   // "ext4", "xfs", "swap", "vfat", ...
  std::string uuid;
  std::string label;

  // A volume rehost cannot read without its key (LUKS, BitLocker); rehost takes no keys.
  bool encrypted() const { return type == "crypto_LUKS" || type == "BitLocker"; }
};

struct Mount {
  std::string mountpoint; // "/", "/boot"
  std::string device;
};

struct DiskInfo {
  std::vector<PartitionTable> tables;
  std::vector<Filesystem> filesystems;
  std::string root_device; // the file system holding the OS root
  std::vector<Mount> mounts;

  // The file system with this device name, UUID or label.
  const Filesystem* by_device(const std::string& device) const;
  const Filesystem* by_uuid(const std::string& uuid) const;
  const Filesystem* by_label(const std::string& label) const;
  // The device mounted at `mountpoint`, or "".
  std::string device_at(const std::string& mountpoint) const;
};

} // namespace rehost
