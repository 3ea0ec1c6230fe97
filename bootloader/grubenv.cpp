#include "bootloader/grubenv.hpp"

namespace rehost::bootloader {

namespace {

const std::string k_header = "# GRUB Environment Block\n";

std::string unescape(const std::string& s)
{
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      ++i;
      out += s[i] == 'n' ? '\n' : s[i];
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string escape(const std::string& s)
{
  std::string out;
  for (char ch : s) {
    if (ch == '\\') {
      out += "\\\\";
    } else if (ch == '\n') {
      out += "\\n";
    } else {
      out += ch;
    }
  }
  return out;
}

// The raw NAME=VALUE lines, escaped as stored.
std::vector<std::string> raw_lines(const std::string& text)
{
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) {
      end = text.size();
    }
    std::string line = text.substr(pos, end - pos);
    if (!line.empty() && line[0] != '#' && line.find('=') != std::string::npos) {
      lines.push_back(line);
    }
    pos = end + 1;
  }
  return lines;
}

std::string name_of(const std::string& line)
{
  return line.substr(0, line.find('='));
}

Result<std::string> build(const std::vector<std::string>& lines, size_t size)
{
  std::string out = k_header;
  for (const auto& l : lines) {
    out += l + "\n";
  }
  if (out.size() > size) {
    return fail("grubenv: the variables take {} bytes, more than the {}-byte block", out.size(),
                size);
  }
  out.append(size - out.size(), '#');
  return out;
}

} // namespace

std::vector<std::pair<std::string, std::string>> parse_grubenv(const std::string& text)
{
  std::vector<std::pair<std::string, std::string>> vars;
  for (const auto& line : raw_lines(text)) {
    size_t eq = line.find('=');
    vars.emplace_back(line.substr(0, eq), unescape(line.substr(eq + 1)));
  }
  return vars;
}

std::optional<std::string> grubenv_get(const std::string& text, const std::string& name)
{
  std::optional<std::string> found;
  for (const auto& [n, v] : parse_grubenv(text)) {
    if (n == name) {
      found = v;
    }
  }
  return found;
}

Result<std::string> grubenv_set(const std::string& text, const std::string& name,
                                const std::string& value)
{
  auto lines = raw_lines(text);
  std::string line = name + "=" + escape(value);
  // grub sets the variables in order, so a later duplicate would win: it goes.
  bool done = false;
  std::vector<std::string> out;
  for (auto& l : lines) {
    if (name_of(l) != name) {
      out.push_back(std::move(l));
    } else if (!done) {
      out.push_back(line);
      done = true;
    }
  }
  lines = std::move(out);
  if (!done) {
    lines.push_back(line);
  }
  return build(lines, std::max(text.size(), k_grubenv_size));
}

std::string grubenv_unset(const std::string& text, const std::string& name)
{
  auto lines = raw_lines(text);
  std::erase_if(lines, [&](const std::string& l) { return name_of(l) == name; });
  auto out = build(lines, std::max(text.size(), k_grubenv_size));
  return out ? *out : text; // removing never grows the block
}

} // namespace rehost::bootloader
