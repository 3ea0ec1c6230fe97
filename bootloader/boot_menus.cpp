#include "bootloader/boot_menus.hpp"
#include "converter/text_lines.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <sstream>

namespace rehost::bootloader {

namespace {

std::string trim(const std::string& s)
{
  size_t b = s.find_first_not_of(" \t\r\n");
  size_t e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// "keyword rest of line" or "keyword=rest" (grub legacy accepts both): the keyword and the rest.
std::pair<std::string, std::string> split_keyword(const std::string& line, bool allow_equals)
{
  size_t end = 0;
  while (end < line.size() && !std::isspace(static_cast<unsigned char>(line[end]))
         && !(allow_equals && line[end] == '=')) {
    ++end;
  }
  std::string rest = line.substr(end);
  if (allow_equals) {
    size_t b = rest.find_first_not_of(" \t");
    if (b != std::string::npos && rest[b] == '=') {
      rest = rest.substr(b + 1);
    }
  }
  return {line.substr(0, end), trim(rest)};
}

// The first word of `s` and what follows it.
std::pair<std::string, std::string> first_word(const std::string& s)
{
  std::string t = trim(s);
  size_t sp = t.find_first_of(" \t");
  if (sp == std::string::npos) {
    return {t, ""};
  }
  return {t.substr(0, sp), trim(t.substr(sp))};
}

} // namespace

MenuEntry read_bls_entry(const std::string& id, const std::string& text)
{
  MenuEntry e;
  e.id = id;
  std::istringstream in(text);
  std::string raw;
  while (std::getline(in, raw)) {
    std::string line = trim(raw);
    if (line.empty() || line[0] == '#') {
      continue;
    }
    auto [key, value] = split_keyword(line, false);
    if (key == "title") {
      e.title = value;
    } else if (key == "version") {
      e.version = value;
    } else if (key == "linux" || key == "efi") {
      e.kernel = value;
    } else if (key == "initrd") {
      std::istringstream words(value);
      std::string w;
      while (words >> w) {
        e.initrds.push_back(w);
      }
    } else if (key == "options") {
      // Several options lines are concatenated.
      e.args += (e.args.empty() ? "" : " ") + value;
    }
  }
  return e;
}

std::map<std::string, std::string> read_grubenv(const std::string& text)
{
  std::map<std::string, std::string> vars;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string::npos || eq == 0) {
      continue;
    }
    std::string value = line.substr(eq + 1);
    while (!value.empty() && (value.back() == '\r')) {
      value.pop_back();
    }
    vars[line.substr(0, eq)] = value;
  }
  return vars;
}

std::string expand_grub_vars(const std::string& args,
                             const std::map<std::string, std::string>& vars)
{
  std::string out;
  for (size_t i = 0; i < args.size();) {
    if (args[i] != '$') {
      out += args[i++];
      continue;
    }
    size_t start = i + 1;
    size_t end = start;
    bool braced = start < args.size() && args[start] == '{';
    if (braced) {
      end = args.find('}', start);
      if (end == std::string::npos) {
        out += args.substr(i);
        break;
      }
      ++start;
    } else {
      while (end < args.size()
             && (std::isalnum(static_cast<unsigned char>(args[end])) || args[end] == '_')) {
        ++end;
      }
      if (end == start) {
        out += args[i++];
        continue;
      }
    }
    auto it = vars.find(args.substr(start, end - start));
    if (it != vars.end()) {
      out += it->second;
    }
    i = braced ? end + 1 : end;
  }
  // Single spaces, as the words grub passes on.
  std::istringstream words(out);
  std::string w;
  std::string joined;
  while (words >> w) {
    joined += (joined.empty() ? "" : " ") + w;
  }
  return joined;
}

BootMenu read_grub_legacy_menu(const std::string& text)
{
  BootMenu menu;
  std::istringstream in(text);
  std::string raw;
  MenuEntry* current = nullptr;
  while (std::getline(in, raw)) {
    std::string line = trim(raw);
    if (line.empty() || line[0] == '#') {
      continue;
    }
    auto [key, value] = split_keyword(line, true);
    key = ascii_lower(key);
    if (key == "title") {
      menu.entries.push_back({});
      current = &menu.entries.back();
      current->title = value;
    } else if (key == "default" && !current) {
      menu.default_value = first_word(value).first;
    } else if (current && key == "kernel") {
      auto [path, args] = first_word(value);
      // "kernel (hd0,0)/vmlinuz-..." names the device in front of the path.
      if (path.size() > 1 && path[0] == '(') {
        size_t close = path.find(')');
        path = close == std::string::npos ? path : path.substr(close + 1);
      }
      current->kernel = path;
      current->args = args;
    } else if (current && key == "initrd") {
      std::string path = first_word(value).first;
      if (path.size() > 1 && path[0] == '(') {
        size_t close = path.find(')');
        path = close == std::string::npos ? path : path.substr(close + 1);
      }
      current->initrds.push_back(path);
    }
  }
  return menu;
}

BootMenu read_extlinux_menu(const std::string& text)
{
  BootMenu menu;
  std::istringstream in(text);
  std::string raw;
  MenuEntry* current = nullptr;
  std::string menu_default;
  while (std::getline(in, raw)) {
    std::string line = trim(raw);
    if (line.empty() || line[0] == '#') {
      continue;
    }
    auto [keyword, value] = first_word(line);
    std::string key = ascii_lower(keyword);
    if (key == "menu") {
      auto [sub, rest] = first_word(value);
      sub = ascii_lower(sub);
      if (current && sub == "label") {
        current->title = rest;
      } else if (current && sub == "default") {
        menu_default = current->id;
      }
      continue;
    }
    if (key == "label") {
      menu.entries.push_back({});
      current = &menu.entries.back();
      current->id = value;
      current->title = value;
    } else if (key == "default" && !current) {
      menu.default_value = value;
    } else if (current && (key == "kernel" || key == "linux")) {
      current->kernel = value;
    } else if (current && key == "append") {
      std::istringstream words(value);
      std::string w;
      std::string args;
      while (words >> w) {
        if (w.rfind("initrd=", 0) == 0) {
          std::string list = w.substr(7);
          size_t start = 0;
          while (start <= list.size()) {
            size_t comma = list.find(',', start);
            std::string one = list.substr(start, comma - start);
            if (!one.empty()) {
              current->initrds.push_back(one);
            }
            if (comma == std::string::npos) {
              break;
            }
            start = comma + 1;
          }
        } else {
          args += (args.empty() ? "" : " ") + w;
        }
      }
      current->args = args;
    } else if (current && key == "initrd") {
      current->initrds.push_back(value);
    }
  }
  if (!menu_default.empty()) {
    menu.default_value = menu_default;
  }
  return menu;
}

std::string loader_conf_default(const std::string& text)
{
  std::istringstream in(text);
  std::string raw;
  std::string value;
  while (std::getline(in, raw)) {
    std::string line = trim(raw);
    if (line.empty() || line[0] == '#') {
      continue;
    }
    auto [key, rest] = first_word(line);
    if (key == "default") {
      value = rest;
    }
  }
  return value;
}

std::optional<MenuEntry> default_menu_entry(const BootMenu& menu)
{
  if (menu.entries.empty()) {
    return std::nullopt;
  }
  const std::string& want = menu.default_value;
  if (want.empty()) {
    return menu.entries.front();
  }
  if (std::all_of(want.begin(), want.end(), [](unsigned char c) { return std::isdigit(c); })
      && want.size() < 6) {
    size_t index = std::stoul(want);
    return index < menu.entries.size() ? menu.entries[index] : menu.entries.front();
  }
  for (const auto& e : menu.entries) {
    if ((!e.id.empty() && (e.id == want || e.id + ".conf" == want)) || e.title == want) {
      return e;
    }
  }
  // A glob, as systemd-boot takes it; glibc's fnmatch backtracks on every '*', so a hostile
  // pattern with many of them is not tried.
  if (want.size() > 256 || std::count(want.begin(), want.end(), '*') > 4) {
    return menu.entries.front();
  }
  for (const auto& e : menu.entries) {
    if (!e.id.empty()
        && (fnmatch(want.c_str(), e.id.c_str(), 0) == 0
            || fnmatch(want.c_str(), (e.id + ".conf").c_str(), 0) == 0)) {
      return e;
    }
  }
  return menu.entries.front();
}

} // namespace rehost::bootloader
