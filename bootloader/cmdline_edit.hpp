// One description of a kernel command line change, applied the same way wherever a bootloader
// keeps command lines: /etc/default/grub, grubenv's kernelopts, BLS `options` lines, grub
// legacy `kernel` lines, extlinux `APPEND` lines.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace rehost::bootloader {

// The stable form of a device name (root=, resume= values), or nothing to leave it as it is.
using DeviceRewriter = std::function<std::optional<std::string>(const std::string&)>;

struct CmdlineEdit {
  std::vector<std::string> remove; // keys removed, every occurrence (console, rootdelay)
  std::vector<std::string> set;    // "key=value": replaces the first `key`, drops later ones
  std::vector<std::string> add;    // appended unless an identical argument is present
  DeviceRewriter devices;          // applied to the values of root= and resume=, if set
};

// Applies `edit` in this order: remove, set, devices, add. Untouched arguments keep their
// order. When the result holds the same arguments, `cmdline` is returned byte for byte.
// Words that are grub variable references ($kernelopts, $tuned_params) are left in place.
std::string edit_cmdline(const std::string& cmdline, const CmdlineEdit& edit);

// Whether `edit` changes nothing whatever the command line.
bool is_empty(const CmdlineEdit& edit);

} // namespace rehost::bootloader
