// Reading a generated grub2 grub.cfg: its menu entries and which one boots by default.
//
// Only what validation and inspection need: the entries (with submenus flattened to
// "Submenu>Entry" paths), their linux and initrd lines, the `set default=` value, and where a
// stub on the ESP sends grub.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace rehost::bootloader {

struct GrubEntry {
  std::string title;
  std::string id;     // --id or $menuentry_id_option value, if any
  std::string path;   // "0", "1>2": its position, as GRUB_DEFAULT numbers it
  std::string kernel; // path after `linux`/`linux16`/`linuxefi`
  std::string loader; // that command: "linux", "linux16" (BIOS only), "linuxefi", "kernel"
  std::string args;   // kernel arguments
  std::vector<std::string> initrds;
  int line = 0;
};

struct GrubConfig {
  std::vector<GrubEntry> entries;
  std::string default_value;     // as written after `set default=` ("0", "saved", an id, ...)
  bool uses_saved_entry = false; // default comes from grubenv
};

GrubConfig parse_grub_cfg(const std::string& text);

// The entry that boots by default, given grubenv's saved_entry when the config uses it.
std::optional<GrubEntry> default_entry(const GrubConfig& config,
                                       const std::string& saved_entry = {});

// Whether a grub.cfg has no menu of its own and only finds and loads another (`configfile`,
// `source`): the ESP's grub.cfg of RHEL 9, Fedora 34+, SUSE, Debian and Ubuntu. RHEL 7/8 keep
// the real, generated menu there instead.
bool is_grub_stub(const std::string& text);

// The guest path of the grub.cfg a stub loads, from the directory its `set prefix=`,
// `configfile` or `source` line names: "($dev)/grub2" (a separate /boot) and
// "(${root})/boot/grub2" are /boot/grub2/grub.cfg, "($root)'/boot/grub'" is
// /boot/grub/grub.cfg. "" when no line names a grub or grub2 directory.
std::string grub_stub_target(const std::string& text);

} // namespace rehost::bootloader
