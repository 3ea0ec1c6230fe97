#include "bootloader/extlinux.hpp"

#include <cctype>

namespace rehost::bootloader {

namespace {

bool is_space(char ch)
{
  return ch == ' ' || ch == '\t' || ch == '\r';
}

struct Directive {
  size_t start = 0;
  size_t end = 0;      // before '\n'
  std::string keyword; // lower case
  size_t value_start = 0;
  size_t value_end = 0;
  int line = 0;
};

std::vector<Directive> directives_of(const std::string& text)
{
  std::vector<Directive> out;
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
      Directive d;
      d.start = pos;
      d.end = end;
      d.line = line;
      size_t k = i;
      while (i < end && !is_space(text[i])) {
        ++i;
      }
      d.keyword = text.substr(k, i - k);
      for (auto& ch : d.keyword) {
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      }
      while (i < end && is_space(text[i])) {
        ++i;
      }
      d.value_start = i;
      size_t v = end;
      while (v > i && is_space(text[v - 1])) {
        --v;
      }
      d.value_end = v;
      out.push_back(d);
    }
    pos = end + 1;
  }
  return out;
}

std::string value_of(const std::string& text, const Directive& d)
{
  return text.substr(d.value_start, d.value_end - d.value_start);
}

bool is_kernel(const std::string& keyword)
{
  return keyword == "kernel" || keyword == "linux";
}

// The indentation of a line, for lines the editor adds.
std::string indent_of(const std::string& text, const Directive& d)
{
  size_t i = d.start;
  while (i < d.end && (text[i] == ' ' || text[i] == '\t')) {
    ++i;
  }
  return text.substr(d.start, i - d.start);
}

} // namespace

ExtlinuxConfig parse_extlinux(const std::string& text)
{
  ExtlinuxConfig config;
  for (const auto& d : directives_of(text)) {
    std::string v = value_of(text, d);
    if (d.keyword == "label") {
      config.entries.push_back({v, "", "", "", d.line});
    } else if (config.entries.empty()) {
      if (d.keyword == "default") {
        config.default_label = v;
      } else if (d.keyword == "append") {
        config.global_append = v;
      }
    } else if (is_kernel(d.keyword)) {
      config.entries.back().kernel = v;
    } else if (d.keyword == "append") {
      config.entries.back().append = v;
    } else if (d.keyword == "initrd") {
      config.entries.back().initrd = v;
    }
  }
  return config;
}

std::string extlinux_set_default(const std::string& text, const std::string& label)
{
  std::string out = text;
  for (const auto& d : directives_of(text)) {
    if (d.keyword == "label") {
      return out.insert(d.start, "DEFAULT " + label + "\n");
    }
    if (d.keyword == "default") {
      std::string value = is_space(text[d.value_start - 1]) ? label : " " + label;
      return out.replace(d.value_start, d.value_end - d.value_start, value);
    }
  }
  if (!out.empty() && out.back() != '\n') {
    out += '\n';
  }
  return out + "DEFAULT " + label + "\n";
}

std::string extlinux_edit_append(const std::string& text, const CmdlineEdit& edit)
{
  auto directives = directives_of(text);
  bool global_append = false;
  for (const auto& d : directives) {
    if (d.keyword == "label") {
      break;
    }
    global_append = global_append || d.keyword == "append";
  }
  // Labels with a kernel but no APPEND: their kernel line, to add one after.
  std::vector<const Directive*> bare;
  if (!global_append) {
    const Directive* kernel = nullptr;
    bool has_append = false;
    auto close = [&] {
      if (kernel && !has_append) {
        bare.push_back(kernel);
      }
      kernel = nullptr;
      has_append = false;
    };
    for (const auto& d : directives) {
      if (d.keyword == "label") {
        close();
      } else if (is_kernel(d.keyword)) {
        kernel = &d;
      } else if (d.keyword == "append") {
        has_append = true;
      }
    }
    close();
  }
  std::string added = edit_cmdline("", edit);
  std::string out = text;
  auto b = bare.rbegin();
  for (auto it = directives.rbegin(); it != directives.rend(); ++it) {
    if (b != bare.rend() && *b == &*it) {
      if (!added.empty()) {
        std::string line = indent_of(text, *it) + "APPEND " + added;
        out.insert(it->end, it->end < text.size() ? "\n" + line : "\n" + line + "\n");
      }
      ++b;
      continue;
    }
    if (it->keyword != "append") {
      continue;
    }
    std::string old = value_of(text, *it);
    std::string edited = edit_cmdline(old, edit);
    if (edited != old) {
      out.replace(it->value_start, it->value_end - it->value_start,
                  is_space(text[it->value_start - 1]) ? edited : " " + edited);
    }
  }
  return out;
}

} // namespace rehost::bootloader
