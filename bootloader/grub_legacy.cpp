#include "bootloader/grub_legacy.hpp"

#include <cctype>

namespace rehost::bootloader {

namespace {

bool is_space(char ch)
{
  return ch == ' ' || ch == '\t' || ch == '\r';
}

// A command line of menu.lst: "keyword[ =]rest". grub legacy accepts '=' or blanks after the
// keyword.
struct Command {
  size_t start = 0; // of the line
  size_t end = 0;   // before '\n'
  std::string keyword;
  size_t rest_start = 0; // first byte after the separator
  size_t rest_end = 0;   // before trailing blanks
  int line = 0;
};

std::vector<Command> commands_of(const std::string& text)
{
  std::vector<Command> out;
  size_t pos = 0;
  int line = 0;
  while (pos < text.size()) {
    ++line;
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) {
      end = text.size();
    }
    size_t i = pos;
    while (i < end && is_space(text[i])) {
      ++i;
    }
    if (i < end && text[i] != '#') {
      Command c;
      c.start = pos;
      c.end = end;
      c.line = line;
      size_t k = i;
      while (i < end && !is_space(text[i]) && text[i] != '=') {
        ++i;
      }
      c.keyword = text.substr(k, i - k);
      for (auto& ch : c.keyword) {
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      }
      while (i < end && is_space(text[i])) {
        ++i;
      }
      if (i < end && text[i] == '=') {
        ++i;
        while (i < end && is_space(text[i])) {
          ++i;
        }
      }
      c.rest_start = i;
      size_t r = end;
      while (r > i && is_space(text[r - 1])) {
        --r;
      }
      c.rest_end = r;
      out.push_back(c);
    }
    pos = end + 1;
  }
  return out;
}

std::string rest_of(const std::string& text, const Command& c)
{
  return text.substr(c.rest_start, c.rest_end - c.rest_start);
}

// "PATH ARGS": where the arguments start inside the rest of a kernel line.
size_t args_offset(const std::string& rest)
{
  size_t i = 0;
  while (i < rest.size() && !is_space(rest[i])) {
    ++i;
  }
  while (i < rest.size() && is_space(rest[i])) {
    ++i;
  }
  return i;
}

} // namespace

LegacyConfig parse_grub_legacy(const std::string& text)
{
  LegacyConfig config;
  for (const auto& c : commands_of(text)) {
    std::string rest = rest_of(text, c);
    if (c.keyword == "title") {
      config.entries.push_back({rest, "", "", {}, c.line});
    } else if (c.keyword == "default" && config.entries.empty()) {
      config.default_value = rest;
    } else if (config.entries.empty()) {
      continue;
    } else if (c.keyword == "kernel") {
      size_t at = args_offset(rest);
      std::string path = rest.substr(0, at);
      while (!path.empty() && is_space(path.back())) {
        path.pop_back();
      }
      config.entries.back().kernel = path;
      config.entries.back().args = rest.substr(at);
    } else if (c.keyword == "initrd") {
      config.entries.back().initrds.push_back(rest);
    }
  }
  return config;
}

std::optional<size_t> grub_legacy_default(const LegacyConfig& config)
{
  if (config.entries.empty()) {
    return std::nullopt;
  }
  if (config.default_value.empty()) {
    return 0;
  }
  size_t n = 0;
  for (char ch : config.default_value) {
    if (!std::isdigit(static_cast<unsigned char>(ch)) || n > config.entries.size()) {
      return std::nullopt;
    }
    n = n * 10 + static_cast<size_t>(ch - '0');
  }
  if (n >= config.entries.size()) {
    return std::nullopt;
  }
  return n;
}

std::string grub_legacy_set_default(const std::string& text, size_t index)
{
  std::string value = std::to_string(index);
  std::string out = text;
  for (const auto& c : commands_of(text)) {
    if (c.keyword == "title") {
      return out.insert(c.start, "default=" + value + "\n");
    }
    if (c.keyword == "default") {
      if (c.rest_start == c.rest_end && !is_space(text[c.rest_start - 1])
          && text[c.rest_start - 1] != '=') {
        return out.insert(c.rest_start, " " + value);
      }
      return out.replace(c.rest_start, c.rest_end - c.rest_start, value);
    }
  }
  if (!out.empty() && out.back() != '\n') {
    out += '\n';
  }
  return out + "default=" + value + "\n";
}

std::string grub_legacy_edit_args(const std::string& text, const CmdlineEdit& edit)
{
  auto commands = commands_of(text);
  std::string out = text;
  for (auto it = commands.rbegin(); it != commands.rend(); ++it) {
    if (it->keyword != "kernel") {
      continue;
    }
    std::string rest = rest_of(text, *it);
    size_t at = args_offset(rest);
    std::string args = rest.substr(at);
    std::string edited = edit_cmdline(args, edit);
    if (edited == args) {
      continue;
    }
    std::string path = rest.substr(0, at);
    while (!path.empty() && is_space(path.back())) {
      path.pop_back();
    }
    out.replace(it->rest_start, it->rest_end - it->rest_start,
                edited.empty() ? path : path + " " + edited);
  }
  return out;
}

} // namespace rehost::bootloader
