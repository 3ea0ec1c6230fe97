// /etc/crypttab ("name device keyfile options", the fstab layout) and grub's device.map
// ("(hd0) /dev/sda"): the device names in them depend on the old disk controller.
//
// Both editors take the lookups from the caller, so they stay pure: which name a device has on
// this disk and whether it is on this disk at all come from the inspection.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bootloader/cmdline_edit.hpp"

namespace rehost::bootloader {

// What the caller knows of a device name.
struct DeviceLookup {
  DeviceRewriter stable;                            // its UUID= form, if it should change
  std::function<bool(const std::string&)> resolves; // whether it is on this disk
};

struct CrypttabResult {
  std::string text;
  int rewritten = 0;
  std::vector<std::string> nofail; // "line N: DEVICE", entries not on this disk
};

// Controller-dependent device names (field 2) become their stable form; entries whose device
// is not on this disk get the `nofail` option (adding "none" as key file when it is missing).
// Stable names (UUID=, /dev/mapper, LVM) are left alone.
CrypttabResult crypttab_to_stable(const std::string& text, const DeviceLookup& lookup);

struct DeviceMapEntry {
  std::string drive;  // "(hd0)"
  std::string device; // "/dev/sda"
  int line = 0;
};

std::vector<DeviceMapEntry> parse_device_map(const std::string& text);

// Each device that `rename` maps to a new name is rewritten in place; `rename` returning
// nothing leaves the line as it is.
std::string rewrite_device_map(const std::string& text, const DeviceRewriter& rename);

} // namespace rehost::bootloader
