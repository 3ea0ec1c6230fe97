// Splitting a guest file into lines for the line-based editors.
#pragma once

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

} // namespace rehost
