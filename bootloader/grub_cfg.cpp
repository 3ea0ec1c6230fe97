#include "bootloader/grub_cfg.hpp"

#include <sstream>

#include "converter/shell_vars.hpp"

namespace rehost::bootloader {

namespace {

// Splits a grub script line into words, honouring quotes (grub's quoting is shell-like).
std::vector<std::string> split_words(const std::string& line)
{
  std::vector<std::string> words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) {
      ++i;
    }
    if (i >= line.size() || line[i] == '#') {
      break;
    }
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') {
      if (line[i] == '\'' || line[i] == '"') {
        char q = line[i];
        size_t close = line.find(q, i + 1);
        i = close == std::string::npos ? line.size() : close + 1;
      } else {
        ++i;
      }
    }
    words.push_back(line.substr(start, i - start));
  }
  return words;
}

std::string trim(const std::string& s)
{
  size_t b = s.find_first_not_of(" \t\r");
  size_t e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

} // namespace

GrubConfig parse_grub_cfg(const std::string& text)
{
  GrubConfig config;
  std::istringstream in(text);
  std::string raw;
  int line_no = 0;
  struct Level {
    bool is_entry;
    std::string path_prefix;
    int children = 0;
  };
  std::vector<Level> stack;
  int top_count = 0;
  GrubEntry* current = nullptr;
  while (std::getline(in, raw)) {
    ++line_no;
    std::string line = trim(raw);
    if (line.empty() || line[0] == '#') {
      continue;
    }
    auto words = split_words(line);
    if (words.empty()) {
      continue;
    }
    const std::string& cmd = words[0];
    if ((cmd == "menuentry" || cmd == "submenu") && words.size() >= 2) {
      int& counter = stack.empty() ? top_count : stack.back().children;
      std::string prefix = stack.empty() ? "" : stack.back().path_prefix;
      std::string path = prefix + std::to_string(counter++);
      std::string id;
      for (size_t i = 2; i + 1 < words.size(); ++i) {
        if (words[i] == "--id" || words[i] == "$menuentry_id_option") {
          id = rehost::shell_unquote(words[i + 1]);
        }
      }
      if (cmd == "menuentry") {
        GrubEntry entry;
        entry.title = rehost::shell_unquote(words[1]);
        entry.id = id;
        entry.path = path;
        entry.line = line_no;
        config.entries.push_back(std::move(entry));
        current = &config.entries.back();
        stack.push_back({true, path + ">"});
      } else {
        stack.push_back({false, path + ">"});
        current = nullptr;
      }
      continue;
    }
    if (cmd == "}") {
      if (!stack.empty()) {
        if (stack.back().is_entry) {
          current = nullptr;
        }
        stack.pop_back();
      }
      continue;
    }
    if (current && (cmd == "linux" || cmd == "linux16" || cmd == "linuxefi" || cmd == "kernel")
        && words.size() >= 2) {
      current->kernel = rehost::shell_unquote(words[1]);
      current->loader = cmd;
      size_t at = line.find(words[1]) + words[1].size();
      current->args = trim(line.substr(at));
      continue;
    }
    if (current && (cmd == "initrd" || cmd == "initrd16" || cmd == "initrdefi")) {
      for (size_t i = 1; i < words.size(); ++i) {
        current->initrds.push_back(rehost::shell_unquote(words[i]));
      }
      continue;
    }
    if (stack.empty() && cmd == "set" && words.size() >= 2 && words[1].rfind("default=", 0) == 0) {
      config.default_value = rehost::shell_unquote(words[1].substr(8));
      config.uses_saved_entry = config.default_value.find("saved_entry") != std::string::npos
                                || config.default_value == "saved";
    }
  }
  return config;
}

std::optional<GrubEntry> default_entry(const GrubConfig& config, const std::string& saved_entry)
{
  if (config.entries.empty()) {
    return std::nullopt;
  }
  std::string want = config.default_value;
  if (config.uses_saved_entry) {
    want = saved_entry.empty() ? "0" : saved_entry;
  }
  if (want.empty()) {
    want = "0";
  }
  for (const auto& e : config.entries) {
    if (e.path == want || (!e.id.empty() && e.id == want) || e.title == want) {
      return e;
    }
  }
  // "submenu-id>entry-id" or "Title>Title": match the last component.
  size_t gt = want.rfind('>');
  if (gt != std::string::npos) {
    std::string last = want.substr(gt + 1);
    for (const auto& e : config.entries) {
      if ((!e.id.empty() && e.id == last) || e.title == last) {
        return e;
      }
    }
  }
  return std::nullopt;
}

bool is_grub_stub(const std::string& text)
{
  return text.find("menuentry") == std::string::npos && text.find("blscfg") == std::string::npos;
}

std::string grub_stub_target(const std::string& text)
{
  std::istringstream in(text);
  std::string raw;
  while (std::getline(in, raw)) {
    auto words = split_words(trim(raw));
    std::string path;
    if (words.size() >= 2 && words[0] == "set" && words[1].rfind("prefix=", 0) == 0) {
      path = words[1].substr(7);
    } else if (words.size() >= 2 && (words[0] == "configfile" || words[0] == "source")) {
      path = words[1];
    } else {
      continue;
    }
    // Quotes may cover any part ("($root)'/boot/grub'"); a device comes first in parentheses.
    std::string plain;
    for (char ch : path) {
      if (ch != '\'' && ch != '"') {
        plain += ch;
      }
    }
    if (size_t paren = plain.rfind(')'); paren != std::string::npos) {
      plain = plain.substr(paren + 1);
    }
    if (plain.ends_with("/grub.cfg")) {
      plain.resize(plain.size() - 9);
    }
    while (plain.ends_with("/")) {
      plain.pop_back();
    }
    std::string last = plain.substr(plain.rfind('/') + 1);
    if (last == "grub" || last == "grub2") {
      return "/boot/" + last + "/grub.cfg";
    }
  }
  return {};
}

} // namespace rehost::bootloader
