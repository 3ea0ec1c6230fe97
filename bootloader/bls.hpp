// Boot Loader Specification entries (/boot/loader/entries/*.conf, Fedora, RHEL 8+, SUSE with
// BLS): one "key value" pair per line. grub2's blscfg reads them on RHEL; there the kernel
// arguments live in every entry's `options` line (or in grubenv's kernelopts when the line says
// $kernelopts), and the default entry is grubenv's saved_entry, naming the entry's file
// without ".conf".
//
// Edits rewrite the value of the lines they change; comments, ordering and every other line
// stay byte for byte.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bootloader/cmdline_edit.hpp"

namespace rehost::bootloader {

struct BlsEntry {
  std::string title;
  std::string version;
  std::string linux_path; // `linux` (or `efi`) line
  std::vector<std::string> initrds;
  std::string options; // every `options` line joined by a space
};

BlsEntry parse_bls_entry(const std::string& text);

// The value of the first `key` line, if any.
std::optional<std::string> bls_get(const std::string& text, const std::string& key);

// Sets the first `key` line to `value` (keeping the key and the spacing after it), or appends a
// line. Later lines with the same key are left alone.
std::string bls_set(const std::string& text, const std::string& key, const std::string& value);

// Applies `edit` to every `options` line; adds one with the additions when there is none.
std::string bls_edit_options(const std::string& text, const CmdlineEdit& edit);

// The entry id grub's saved_entry uses: the file name without directory and ".conf".
std::string bls_entry_id(const std::string& path);

} // namespace rehost::bootloader
