#include "bootloader/bls.hpp"

namespace rehost::bootloader {

namespace {

bool is_space(char ch)
{
  return ch == ' ' || ch == '\t';
}

// One "key value" line: where its value starts and ends (without '\r').
struct Line {
  size_t start = 0;
  size_t end = 0; // of the line, before '\n'
  std::string key;
  size_t value_start = 0;
  size_t value_end = 0;
};

std::vector<Line> lines_of(const std::string& text)
{
  std::vector<Line> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) {
      end = text.size();
    }
    size_t i = pos;
    while (i < end && is_space(text[i])) {
      ++i;
    }
    if (i < end && text[i] != '#') {
      Line l;
      l.start = pos;
      l.end = end;
      size_t k = i;
      while (i < end && !is_space(text[i]) && text[i] != '\r') {
        ++i;
      }
      l.key = text.substr(k, i - k);
      while (i < end && is_space(text[i])) {
        ++i;
      }
      l.value_start = i;
      size_t v = end;
      while (v > i && (text[v - 1] == '\r' || is_space(text[v - 1]))) {
        --v;
      }
      l.value_end = v;
      out.push_back(l);
    }
    pos = end + 1;
  }
  return out;
}

std::string value_of(const std::string& text, const Line& l)
{
  return text.substr(l.value_start, l.value_end - l.value_start);
}

// A key alone on its line ("options") needs a space before a new value.
bool needs_space(const std::string& text, const Line& l)
{
  return !is_space(text[l.value_start - 1]);
}

std::string with_line_appended(const std::string& text, const std::string& line)
{
  std::string out = text;
  if (!out.empty() && out.back() != '\n') {
    out += '\n';
  }
  return out + line + "\n";
}

} // namespace

BlsEntry parse_bls_entry(const std::string& text)
{
  BlsEntry e;
  for (const auto& l : lines_of(text)) {
    std::string v = value_of(text, l);
    if (l.key == "title" && e.title.empty()) {
      e.title = v;
    } else if (l.key == "version" && e.version.empty()) {
      e.version = v;
    } else if ((l.key == "linux" || l.key == "efi") && e.linux_path.empty()) {
      e.linux_path = v;
    } else if (l.key == "initrd") {
      e.initrds.push_back(v);
    } else if (l.key == "options") {
      e.options += (e.options.empty() ? "" : " ") + v;
    }
  }
  return e;
}

std::optional<std::string> bls_get(const std::string& text, const std::string& key)
{
  for (const auto& l : lines_of(text)) {
    if (l.key == key) {
      return value_of(text, l);
    }
  }
  return std::nullopt;
}

std::string bls_set(const std::string& text, const std::string& key, const std::string& value)
{
  for (const auto& l : lines_of(text)) {
    if (l.key == key) {
      std::string out = text;
      return out.replace(l.value_start, l.value_end - l.value_start,
                         needs_space(text, l) ? " " + value : value);
    }
  }
  return with_line_appended(text, key + " " + value);
}

std::string bls_edit_options(const std::string& text, const CmdlineEdit& edit)
{
  auto lines = lines_of(text);
  std::string out = text;
  bool any = false;
  // From the end, so the offsets of earlier lines stay valid.
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    if (it->key != "options") {
      continue;
    }
    any = true;
    std::string old = value_of(text, *it);
    std::string edited = edit_cmdline(old, edit);
    if (edited != old) {
      out.replace(it->value_start, it->value_end - it->value_start,
                  needs_space(text, *it) ? " " + edited : edited);
    }
  }
  if (!any) {
    std::string added = edit_cmdline("", edit);
    if (!added.empty()) {
      out = with_line_appended(out, "options " + added);
    }
  }
  return out;
}

std::string bls_entry_id(const std::string& path)
{
  std::string name = path.substr(path.rfind('/') + 1);
  if (name.size() > 5 && name.ends_with(".conf")) {
    name.resize(name.size() - 5);
  }
  return name;
}

} // namespace rehost::bootloader
