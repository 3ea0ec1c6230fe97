// grub legacy (0.97) menu.lst / grub.conf: RHEL 5-6, SLES 10-11, old Debian and Ubuntu.
//
// `default N` (or `default=N`) picks the N-th `title` counting from 0; `default saved` reads
// the default file. Each entry has a `kernel PATH ARGS...` line and usually `initrd PATH`. The
// editors change the `default` value and the arguments after the kernel path; comments, spacing
// before the keyword and every other line stay byte for byte.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bootloader/cmdline_edit.hpp"

namespace rehost::bootloader {

struct LegacyEntry {
  std::string title;
  std::string kernel; // "/vmlinuz-2.6.32-754.el6.x86_64", possibly "(hd0,0)/vmlinuz-..."
  std::string args;
  std::vector<std::string> initrds;
  int line = 0; // of the title
};

struct LegacyConfig {
  std::vector<LegacyEntry> entries;
  std::string default_value; // "0", "saved", "" when absent (grub then boots entry 0)
};

LegacyConfig parse_grub_legacy(const std::string& text);

// The index of the entry that boots by default, if the config names one that exists.
std::optional<size_t> grub_legacy_default(const LegacyConfig& config);

// Sets `default` to `index`: the existing line keeps its separator (" " or "="); without one,
// a line goes before the first title.
std::string grub_legacy_set_default(const std::string& text, size_t index);

// Applies `edit` to the arguments of every `kernel` line.
std::string grub_legacy_edit_args(const std::string& text, const CmdlineEdit& edit);

} // namespace rehost::bootloader
