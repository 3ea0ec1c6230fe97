#include "drivers/inf.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include <fmt/format.h>

#include "converter/text_lines.hpp"
#include "drivers/registry.hpp"

namespace rehost::drivers {

namespace {

std::string trim(const std::string& s)
{
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) {
    return "";
  }
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// Removes a ';' comment (outside quotes).
std::string strip_comment(const std::string& line)
{
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '"') {
      quoted = !quoted;
    } else if (line[i] == ';' && !quoted) {
      return line.substr(0, i);
    }
  }
  return line;
}

// Splits on `separator` outside quotes; the parts keep their quotes.
std::vector<std::string> split_outside_quotes(const std::string& text, char separator)
{
  std::vector<std::string> parts;
  std::string part;
  bool quoted = false;
  for (char c : text) {
    if (c == '"') {
      quoted = !quoted;
    }
    if (c == separator && !quoted) {
      parts.push_back(part);
      part.clear();
    } else {
      part += c;
    }
  }
  parts.push_back(part);
  return parts;
}

// Drops the quotes of a value ("" inside quotes is one quote).
std::string unquote(const std::string& value)
{
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '"') {
      if (i + 1 < value.size() && value[i + 1] == '"') {
        out += '"';
        ++i;
      }
      continue;
    }
    out += value[i];
  }
  return out;
}

// Directory ids of the setup API, as the registry writes paths.
const std::map<std::string, std::string>& dirids()
{
  static const std::map<std::string, std::string> k_ids = {
      {"10", "%SystemRoot%"},
      {"11", "%SystemRoot%\\System32"},
      {"12", "%SystemRoot%\\System32\\drivers"},
      {"13", "%DriverStore%"},
      {"17", "%SystemRoot%\\INF"},
  };
  return k_ids;
}

std::string substitute(const std::string& text, const std::map<std::string, std::string>& strings)
{
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    size_t end = text.find('%', i + 1);
    if (end == std::string::npos) {
      out += text.substr(i);
      break;
    }
    std::string name = text.substr(i + 1, end - i - 1);
    if (name.empty()) {
      out += '%';
    } else if (auto s = strings.find(ascii_lower(name)); s != strings.end()) {
      out += s->second;
    } else if (auto d = dirids().find(name); d != dirids().end()) {
      out += d->second;
    } else {
      out += text.substr(i, end - i + 1);
    }
    i = end;
  }
  return out;
}

uint32_t number(const std::string& text, uint32_t fallback)
{
  try {
    size_t used = 0;
    unsigned long v = std::stoul(trim(text), &used, 0);
    return used ? static_cast<uint32_t>(v) : fallback;
  } catch (...) {
    return fallback;
  }
}

// "10.0...14393" -> {10, 0, 14393}; "" -> {0, 0, 0}.
std::tuple<int, int, int> os_version(const std::vector<std::string>& parts)
{
  int v[3] = {0, 0, 0};
  // Decoration: NTarch.major.minor.producttype.suitemask.build
  size_t index[3] = {1, 2, 5};
  for (int k = 0; k < 3; ++k) {
    if (index[k] < parts.size() && !parts[index[k]].empty()) {
      v[k] = static_cast<int>(number(parts[index[k]], 0));
    }
  }
  return {v[0], v[1], v[2]};
}

std::vector<std::string> split_dots(const std::string& s)
{
  std::vector<std::string> parts;
  std::string part;
  for (char c : s) {
    if (c == '.') {
      parts.push_back(part);
      part.clear();
    } else {
      part += c;
    }
  }
  parts.push_back(part);
  return parts;
}

} // namespace

const InfSection* Inf::section(const std::string& name) const
{
  std::string wanted = ascii_lower(name);
  for (const auto& s : sections) {
    if (ascii_lower(s.name) == wanted) {
      return &s;
    }
  }
  return nullptr;
}

std::string Inf::value(const std::string& section_name, const std::string& key) const
{
  if (const InfSection* s = section(section_name)) {
    for (const auto& l : s->lines) {
      if (ascii_lower(l.key) == ascii_lower(key) && !l.values.empty()) {
        return l.values.front();
      }
    }
  }
  return "";
}

Inf parse_inf(const std::string& raw, const std::string& file)
{
  // Physical lines to logical lines: comments dropped, '\' continuations joined.
  struct Logical {
    int line;
    std::string text;
  };
  std::vector<Logical> logical;
  std::string text = raw;
  if (text.size() >= 3 && text.compare(0, 3, "\xef\xbb\xbf") == 0) {
    text.erase(0, 3);
  } else if (text.size() >= 2 && text.compare(0, 2, "\xff\xfe") == 0) {
    // A "Unicode" INF, as many vendors ship them: UTF-16LE after a byte order mark.
    text = utf16le_to_utf8(text.substr(2));
  }
  std::istringstream in(text);
  std::string line;
  int number_of_line = 0;
  std::string pending;
  int pending_line = 0;
  while (std::getline(in, line)) {
    ++number_of_line;
    std::string stripped = trim(strip_comment(line));
    if (!pending.empty() || pending_line) {
      stripped = pending + stripped;
    } else {
      pending_line = number_of_line;
    }
    if (!stripped.empty() && stripped.back() == '\\') {
      pending = stripped.substr(0, stripped.size() - 1);
      continue;
    }
    if (!stripped.empty()) {
      logical.push_back({pending_line, stripped});
    }
    pending.clear();
    pending_line = 0;
  }
  if (!pending.empty()) {
    logical.push_back({pending_line, pending});
  }

  // Strings first: [Strings], then a localised [Strings.LLLL] for names [Strings] lacks.
  std::map<std::string, std::string> strings;
  for (int pass = 0; pass < 2; ++pass) {
    std::string current;
    for (const auto& l : logical) {
      if (l.text.front() == '[' && l.text.back() == ']') {
        current = ascii_lower(trim(l.text.substr(1, l.text.size() - 2)));
        continue;
      }
      bool wanted = pass == 0 ? current == "strings" : current.rfind("strings.", 0) == 0;
      auto eq = split_outside_quotes(l.text, '=');
      if (wanted && eq.size() >= 2) {
        std::string key = ascii_lower(trim(eq[0]));
        std::string value = trim(l.text.substr(l.text.find('=') + 1));
        strings.emplace(key, unquote(value));
      }
    }
  }

  Inf inf;
  inf.file = file;
  for (const auto& l : logical) {
    if (l.text.front() == '[') {
      size_t close = l.text.find(']');
      std::string name =
          trim(l.text.substr(1, close == std::string::npos ? std::string::npos : close - 1));
      inf.sections.push_back({name, l.line, {}});
      continue;
    }
    if (inf.sections.empty()) {
      continue; // text before the first section
    }
    InfLine out;
    out.line = l.line;
    std::string rest = l.text;
    auto eq = split_outside_quotes(l.text, '=');
    if (eq.size() >= 2) {
      out.key = trim(unquote(substitute(trim(eq[0]), strings)));
      rest = l.text.substr(eq[0].size() + 1);
    }
    for (const auto& v : split_outside_quotes(rest, ',')) {
      std::string value = trim(v);
      bool was_quoted = value.size() >= 2 && value.front() == '"' && value.back() == '"';
      value = unquote(value);
      out.values.push_back(was_quoted ? value : substitute(value, strings));
    }
    inf.sections.back().lines.push_back(std::move(out));
  }
  return inf;
}

std::vector<std::string> InfDriver::hardware_ids() const
{
  std::vector<std::string> ids;
  for (const auto& m : models) {
    for (const auto& id : m.hardware_ids) {
      if (std::find(ids.begin(), ids.end(), id) == ids.end()) {
        ids.push_back(id);
      }
    }
  }
  return ids;
}

Result<InfDriver> read_driver(const Inf& inf, const std::string& arch, int major, int minor,
                              int build)
{
  InfDriver driver;
  if (!inf.section("Version")) {
    return fail("{}: no [Version] section; not a driver INF", inf.file);
  }
  driver.class_name = inf.value("Version", "Class");
  driver.class_guid = inf.value("Version", "ClassGUID");
  driver.provider = inf.value("Version", "Provider");
  driver.driver_ver = inf.value("Version", "DriverVer");
  driver.catalog = inf.value("Version", "CatalogFile.NT" + arch);
  if (driver.catalog.empty()) {
    driver.catalog = inf.value("Version", "CatalogFile.NT");
  }
  if (driver.catalog.empty()) {
    driver.catalog = inf.value("Version", "CatalogFile");
  }
  const InfSection* manufacturer = inf.section("Manufacturer");
  if (!manufacturer) {
    return fail("{}: no [Manufacturer] section", inf.file);
  }
  const std::string platform = ascii_lower("NT" + arch);
  const auto wanted_version = std::make_tuple(major, minor, build);

  auto add_unique = [](std::vector<std::string>& list, const std::string& item) {
    for (const auto& existing : list) {
      if (ascii_lower(existing) == ascii_lower(item)) {
        return;
      }
    }
    list.push_back(item);
  };

  for (const auto& mfg : manufacturer->lines) {
    if (mfg.values.empty() || mfg.values[0].empty()) {
      continue;
    }
    const std::string& base = mfg.values[0];
    std::string models_name;
    if (mfg.values.size() == 1) {
      models_name = base; // undecorated: every architecture
    } else {
      std::optional<std::tuple<int, int, int>> best;
      for (size_t i = 1; i < mfg.values.size(); ++i) {
        auto parts = split_dots(mfg.values[i]);
        if (ascii_lower(parts[0]) != platform) {
          continue;
        }
        auto version = os_version(parts);
        if (version > wanted_version || (best && version <= *best)) {
          continue;
        }
        best = version;
        models_name = base + "." + mfg.values[i];
      }
      if (models_name.empty()) {
        continue; // nothing for this architecture or OS version
      }
    }
    const InfSection* models = inf.section(models_name);
    if (!models) {
      return fail("{}:{}: [Manufacturer] names models section [{}], which is missing", inf.file,
                  mfg.line, models_name);
    }
    for (const auto& m : models->lines) {
      if (m.values.size() < 2) {
        continue;
      }
      InfModel model;
      model.description = m.key;
      for (const auto& suffix : {".NT" + arch, std::string(".NT"), std::string()}) {
        if (inf.section(m.values[0] + suffix)) {
          model.install_section = inf.section(m.values[0] + suffix)->name;
          break;
        }
      }
      if (model.install_section.empty()) {
        return fail("{}:{}: model \"{}\" names install section [{}], which is missing", inf.file,
                    m.line, m.key, m.values[0]);
      }
      for (size_t i = 1; i < m.values.size(); ++i) {
        if (!m.values[i].empty()) {
          model.hardware_ids.push_back(m.values[i]);
        }
      }
      driver.models.push_back(std::move(model));
    }
  }
  if (driver.models.empty()) {
    return fail("{}: no device models for {} (Windows {}.{})", inf.file, arch, major, minor);
  }

  std::set<std::string> done;
  for (const auto& model : driver.models) {
    if (!done.insert(ascii_lower(model.install_section)).second) {
      continue;
    }
    const InfSection* install = inf.section(model.install_section);
    for (const auto& l : install->lines) {
      if (ascii_lower(l.key) != "copyfiles") {
        continue;
      }
      for (const auto& target : l.values) {
        if (target.empty()) {
          continue;
        }
        if (target.front() == '@') {
          add_unique(driver.files, target.substr(1));
          continue;
        }
        const InfSection* copy = inf.section(target);
        if (!copy) {
          return fail("{}:{}: CopyFiles names section [{}], which is missing", inf.file, l.line,
                      target);
        }
        for (const auto& f : copy->lines) {
          std::string name = f.key.empty() ? (f.values.empty() ? "" : f.values[0]) : f.key;
          if (!name.empty()) {
            add_unique(driver.files, name);
          }
        }
      }
    }
    const InfSection* services = inf.section(model.install_section + ".Services");
    if (!services) {
      continue; // a filter or a package without its own service
    }
    for (const auto& l : services->lines) {
      if (ascii_lower(l.key) != "addservice" || l.values.empty()) {
        continue;
      }
      if (l.values.size() < 3 || l.values[2].empty()) {
        return fail("{}:{}: AddService {} names no service-install section", inf.file, l.line,
                    l.values[0]);
      }
      bool seen = false;
      for (const auto& s : driver.services) {
        seen = seen || ascii_lower(s.name) == ascii_lower(l.values[0]);
      }
      if (seen) {
        continue;
      }
      const InfSection* install_service = inf.section(l.values[2]);
      if (!install_service) {
        return fail("{}:{}: AddService {} names section [{}], which is missing", inf.file, l.line,
                    l.values[0], l.values[2]);
      }
      InfService service;
      service.name = l.values[0];
      service.flags = l.values.size() > 1 ? number(l.values[1], 0) : 0;
      auto field = [&](const char* key) { return inf.value(install_service->name, key); };
      service.type = number(field("ServiceType"), 1);
      service.start = number(field("StartType"), 3);
      service.error_control = number(field("ErrorControl"), 1);
      service.group = field("LoadOrderGroup");
      service.display_name = field("DisplayName");
      std::string binary = field("ServiceBinary");
      for (const char* prefix : {"%SystemRoot%\\", "\\SystemRoot\\"}) {
        if (ascii_lower(binary).rfind(ascii_lower(prefix), 0) == 0) {
          binary = binary.substr(std::string(prefix).size());
        }
      }
      service.binary = binary;
      driver.services.push_back(std::move(service));
    }
  }
  return driver;
}

} // namespace rehost::drivers
