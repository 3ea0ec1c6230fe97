// extlinux.conf / syslinux.cfg: `DEFAULT label`, then `LABEL name` blocks with `KERNEL` (or
// `LINUX`), `INITRD` and `APPEND args`. Keywords are case-insensitive; an `APPEND` before the
// first LABEL applies to every label that has none.
//
// The editors change the DEFAULT value and APPEND arguments; comments, indentation and every
// other line stay byte for byte.
#pragma once

#include <string>
#include <vector>

#include "bootloader/cmdline_edit.hpp"

namespace rehost::bootloader {

struct ExtlinuxEntry {
  std::string label;
  std::string kernel;
  std::string append;
  std::string initrd;
  int line = 0; // of the LABEL
};

struct ExtlinuxConfig {
  std::vector<ExtlinuxEntry> entries;
  std::string default_label;
  std::string global_append;
};

ExtlinuxConfig parse_extlinux(const std::string& text);

// Sets DEFAULT to `label` in place, or adds a line before the first LABEL.
std::string extlinux_set_default(const std::string& text, const std::string& label);

// Applies `edit` to every APPEND line (global and per label); a label that has a kernel but no
// APPEND of its own, and no global APPEND to inherit, gets one after its kernel line.
std::string extlinux_edit_append(const std::string& text, const CmdlineEdit& edit);

} // namespace rehost::bootloader
