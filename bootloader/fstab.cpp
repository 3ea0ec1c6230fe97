#include "bootloader/fstab.hpp"

#include <algorithm>

namespace rehost::bootloader {

bool FstabEntry::has_option(const std::string& option) const
{
  std::string opts = options();
  size_t start = 0;
  while (start <= opts.size()) {
    size_t end = opts.find(',', start);
    if (end == std::string::npos) {
      end = opts.size();
    }
    std::string o = opts.substr(start, end - start);
    if (o == option || o.rfind(option + "=", 0) == 0) {
      return true;
    }
    start = end + 1;
  }
  return false;
}

std::vector<FstabEntry> parse_fstab(const std::string& text)
{
  std::vector<FstabEntry> entries;
  size_t pos = 0;
  int line = 0;
  while (pos < text.size()) {
    ++line;
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) {
      end = text.size();
    }
    FstabEntry entry;
    entry.line = line;
    size_t i = pos;
    while (i < end) {
      while (i < end && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r')) {
        ++i;
      }
      if (i >= end || text[i] == '#') {
        break;
      }
      size_t start = i;
      while (i < end && text[i] != ' ' && text[i] != '\t' && text[i] != '\r') {
        ++i;
      }
      entry.fields.push_back({start, text.substr(start, i - start)});
    }
    if (!entry.fields.empty()) {
      entries.push_back(std::move(entry));
    }
    pos = end + 1;
  }
  return entries;
}

std::string replace_fstab_field(const std::string& text, const FstabEntry& entry, size_t index,
                                const std::string& value)
{
  const auto& field = entry.fields.at(index);
  return text.substr(0, field.offset) + value + text.substr(field.offset + field.text.size());
}

std::string apply_fstab_edits(const std::string& text, std::vector<FstabEdit> edits)
{
  auto entries = parse_fstab(text);
  std::vector<std::pair<size_t, FstabEdit>> located;
  for (auto& e : edits) {
    for (const auto& entry : entries) {
      if (entry.line == e.line && e.field < entry.fields.size()) {
        located.emplace_back(entry.fields[e.field].offset, e);
      }
    }
  }
  std::sort(located.begin(), located.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  std::string out = text;
  for (const auto& [offset, e] : located) {
    size_t len = 0;
    while (offset + len < out.size() && out[offset + len] != ' ' && out[offset + len] != '\t'
           && out[offset + len] != '\n' && out[offset + len] != '\r') {
      ++len;
    }
    out = out.substr(0, offset) + e.value + out.substr(offset + len);
  }
  return out;
}

std::string comment_out_fstab_line(const std::string& text, const FstabEntry& entry,
                                   const std::string& reason)
{
  size_t start = text.rfind('\n', entry.fields[0].offset);
  start = start == std::string::npos ? 0 : start + 1;
  size_t end = text.find('\n', start);
  if (end == std::string::npos) {
    end = text.size();
  }
  std::string line = text.substr(start, end - start);
  return text.substr(0, start) + "# " + reason + "\n#" + line + text.substr(end);
}

} // namespace rehost::bootloader
