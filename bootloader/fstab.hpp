// /etc/fstab (and the same layout in /etc/crypttab): read entries, edit one field of one line.
//
// Edits rewrite only the field they change; comments, blank lines, spacing and every other line
// stay byte for byte.
#pragma once

#include <string>
#include <vector>

namespace rehost::bootloader {

struct FstabField {
  size_t offset = 0; // in the whole text
  std::string text;
};

struct FstabEntry {
  int line = 0;                   // 1-based
  std::vector<FstabField> fields; // spec, file, vfstype, options, freq, passno

  const std::string& spec() const { return fields[0].text; }
  std::string mountpoint() const { return fields.size() > 1 ? fields[1].text : ""; }
  std::string type() const { return fields.size() > 2 ? fields[2].text : ""; }
  std::string options() const { return fields.size() > 3 ? fields[3].text : "defaults"; }
  bool has_option(const std::string& option) const;
};

// Every non-comment line with at least one field.
std::vector<FstabEntry> parse_fstab(const std::string& text);

// `text` with field `index` of `entry` replaced by `value`.
std::string replace_fstab_field(const std::string& text, const FstabEntry& entry, size_t index,
                                const std::string& value);

// Edits applied from the end of the file backwards, so offsets stay valid.
struct FstabEdit {
  int line = 0;
  size_t field = 0;
  std::string value;
};
std::string apply_fstab_edits(const std::string& text, std::vector<FstabEdit> edits);

// `text` with the line of `entry` turned into a comment, with a reason after it.
std::string comment_out_fstab_line(const std::string& text, const FstabEntry& entry,
                                   const std::string& reason);

} // namespace rehost::bootloader
