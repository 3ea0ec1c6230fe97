// Small text helpers the readers and editors of guest files share.
#pragma once

#include <sstream>
#include <string>
#include <vector>

namespace rehost {

// The lines of `text`, each with its '\n' (the last one without, when the text lacks it), so
// that joining them gives `text` back byte for byte.
inline std::vector<std::string> lines_of(const std::string& text)
{
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) {
      lines.push_back(text.substr(pos));
      break;
    }
    lines.push_back(text.substr(pos, end - pos + 1));
    pos = end + 1;
  }
  return lines;
}

// The words of `text`, split at whitespace.
inline std::vector<std::string> whitespace_words(const std::string& text)
{
  std::istringstream in(text);
  std::vector<std::string> out;
  std::string w;
  while (in >> w) {
    out.push_back(w);
  }
  return out;
}

// `s` with ASCII letters in lower case; other bytes (UTF-8 included) as they are. Guest names
// compared without case (Windows paths and services, INF sections, file system types) are ASCII.
inline std::string ascii_lower(std::string s)
{
  for (auto& c : s) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return s;
}

} // namespace rehost
