#include "converter/ifupdown.hpp"

#include <cctype>
#include <set>
#include <sstream>
#include <vector>

#include "converter/text_lines.hpp"

namespace rehost {

namespace {

std::vector<std::string> words_of(const std::string& line)
{
  std::istringstream in(line);
  std::vector<std::string> words;
  std::string w;
  while (in >> w) {
    if (w[0] == '#') {
      break;
    }
    words.push_back(w);
  }
  return words;
}

bool is_stanza_start(const std::string& word)
{
  static const std::set<std::string> k_starts = {"iface", "auto", "mapping", "source",
                                                 "source-directory"};
  return k_starts.count(word) > 0 || word.rfind("allow-", 0) == 0;
}

// ifupdown splits words at whatever isspace() says is a space, as words_of does.
bool is_space(char c)
{
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}

// Replaces whole-word occurrences of `from` in a line after its first word (the keyword), and
// only in the word after it when `only_second` (the name of an iface line).
std::string rename_word(const std::string& line, const std::string& from, const std::string& to,
                        bool only_second = false)
{
  size_t i = 0;
  while (i < line.size() && is_space(line[i])) {
    ++i;
  }
  while (i < line.size() && !is_space(line[i])) {
    ++i;
  }
  std::string out = line.substr(0, i);
  if (only_second) {
    while (i < line.size() && is_space(line[i])) {
      out += line[i++];
    }
    if (line.compare(i, from.size(), from) == 0
        && (i + from.size() == line.size() || is_space(line[i + from.size()]))) {
      return out + to + line.substr(i + from.size());
    }
    return line;
  }
  while (i < line.size()) {
    // A comment starts with a word that starts with '#'.
    if (line[i] == '#' && (i == 0 || is_space(line[i - 1]))) {
      out += line.substr(i);
      break;
    }
    if (line.compare(i, from.size(), from) == 0 && (i == 0 || is_space(line[i - 1]))
        && (i + from.size() == line.size() || is_space(line[i + from.size()]))) {
      out += to;
      i += from.size();
    } else {
      out += line[i++];
    }
  }
  return out;
}

} // namespace

std::string ifupdown_primary_interface(const std::string& text)
{
  for (const auto& line : lines_of(text)) {
    auto w = words_of(line);
    if (w.size() >= 4 && w[0] == "iface" && w[1] != "lo") {
      return w[1];
    }
  }
  return {};
}

std::string ifupdown_dhcp(const std::string& text, const std::string& new_name)
{
  const std::string old = ifupdown_primary_interface(text);
  if (old.empty()) {
    return text;
  }
  static const std::set<std::string> k_static_options = {
      "address",         "netmask",    "gateway",    "broadcast",   "network", "hwaddress",
      "dns-nameservers", "dns-search", "dns-domain", "pointopoint", "metric"};
  std::string out;
  bool in_inet_stanza = false;
  for (const auto& line : lines_of(text)) {
    auto w = words_of(line);
    if (!w.empty() && is_stanza_start(w[0])) {
      in_inet_stanza = false;
    }
    if (w.size() >= 4 && w[0] == "iface" && w[1] == old) {
      if (w[2] == "inet") {
        in_inet_stanza = true;
        std::string indent = line.substr(0, line.find_first_not_of(" \t"));
        out += indent + "iface " + new_name + " inet dhcp\n";
      } else {
        out += rename_word(line, old, new_name, true);
      }
      continue;
    }
    if (!w.empty() && (w[0] == "auto" || w[0].rfind("allow-", 0) == 0)) {
      out += rename_word(line, old, new_name);
      continue;
    }
    if (in_inet_stanza && !w.empty() && k_static_options.count(w[0])) {
      continue;
    }
    out += line;
  }
  return out;
}

} // namespace rehost
