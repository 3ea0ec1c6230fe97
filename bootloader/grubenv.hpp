// grubenv, the environment block grub reads at boot and grub-editenv writes: a 1024-byte file,
// "# GRUB Environment Block" on the first line, NAME=VALUE lines, then '#' up to the size.
// saved_entry names the default entry (GRUB_DEFAULT=saved, and every BLS system); on RHEL 8
// kernelopts holds the kernel command line that BLS entries reference as $kernelopts.
//
// grub refuses a block of the wrong size, so the editor keeps the size and fails rather than
// grow it. In values, '\' and newline are written as "\\" and "\n" (grub-editenv's escaping).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "converter/error.hpp"

namespace rehost::bootloader {

inline constexpr size_t k_grubenv_size = 1024;

// The NAME=VALUE pairs in order, values unescaped. Lines starting with '#' are skipped.
std::vector<std::pair<std::string, std::string>> parse_grubenv(const std::string& text);

std::optional<std::string> grubenv_get(const std::string& text, const std::string& name);

// The block with `name` set to `value` (in place, later duplicates dropped, or appended), padded to
// the size of `text` (1024 bytes for an empty or shorter text). Fails when the variables would not
// fit.
Result<std::string> grubenv_set(const std::string& text, const std::string& name,
                                const std::string& value);

// The block without `name`, padded to the same size.
std::string grubenv_unset(const std::string& text, const std::string& name);

} // namespace rehost::bootloader
