#include "converter/key_value.hpp"

#include <algorithm>
#include <optional>

#include "converter/text_lines.hpp"

namespace rehost {

namespace {

// A carriage return counts as blank: a last line "Key\r" without its "\n" is the key it becomes
// once a line is appended after it.
bool blank(char c)
{
  return c == ' ' || c == '\t' || c == '\r';
}

std::string trim(const std::string& s)
{
  size_t b = 0;
  size_t e = s.size();
  while (b < e && blank(s[b])) {
    ++b;
  }
  while (e > b && blank(s[e - 1])) {
    --e;
  }
  return s.substr(b, e - b);
}

// A line split into its body and its ending ("\n", "\r\n" or "").
std::pair<std::string, std::string> split_ending(const std::string& line)
{
  size_t end = line.size();
  if (end > 0 && line[end - 1] == '\n') {
    --end;
    if (end > 0 && line[end - 1] == '\r') {
      --end;
    }
  }
  return {line.substr(0, end), line.substr(end)};
}

// Where a key line keeps its key and its value.
struct KeyLine {
  std::string key;
  size_t key_end = 0;     // just after the key
  size_t value_start = 0; // where the value begins (after the separator and blanks)
};

std::optional<KeyLine> parse_key_line(const std::string& body, const std::string& separator)
{
  size_t start = 0;
  while (start < body.size() && blank(body[start])) {
    ++start;
  }
  if (start == body.size() || body[start] == '#' || body[start] == ';' || body[start] == '[') {
    return std::nullopt;
  }
  const std::string sep = trim(separator);
  KeyLine k;
  if (sep.empty()) {
    size_t end = start;
    while (end < body.size() && !blank(body[end])) {
      ++end;
    }
    k.key = body.substr(start, end - start);
    k.key_end = end;
    k.value_start = end;
    while (k.value_start < body.size() && blank(body[k.value_start])) {
      ++k.value_start;
    }
    return k;
  }
  size_t at = body.find(sep, start);
  if (at == std::string::npos) {
    return std::nullopt;
  }
  k.key = trim(body.substr(start, at - start));
  if (k.key.empty()) {
    return std::nullopt;
  }
  k.key_end = at;
  k.value_start = at + sep.size();
  while (k.value_start < body.size() && blank(body[k.value_start])) {
    ++k.value_start;
  }
  return k;
}

// The line with `value` in place of its old one; nothing when it already holds it.
std::optional<std::string> with_value(const std::string& line, const KeyLine& k,
                                      const std::string& value, const std::string& separator)
{
  auto [body, ending] = split_ending(line);
  if (body.substr(k.value_start) == value) {
    return std::nullopt;
  }
  // A bare key ("Key" with no separator) gets one.
  std::string head = k.value_start == k.key_end ? body.substr(0, k.key_end) + separator
                                                : body.substr(0, k.value_start);
  return head + value + ending;
}

// Applies `edits` to the key lines among `lines[from, to)`; returns which keys to set were
// found. Removed lines become "" (dropped when joined).
std::vector<bool> edit_lines(std::vector<std::string>& lines, size_t from, size_t to,
                             const KeyEdits& edits, const std::string& separator,
                             KeyEditResult& result, std::optional<size_t>& last_key)
{
  std::vector<bool> found(edits.set.size(), false);
  for (size_t i = from; i < to; ++i) {
    auto k = parse_key_line(split_ending(lines[i]).first, separator);
    if (!k) {
      continue;
    }
    if (std::find(edits.remove.begin(), edits.remove.end(), k->key) != edits.remove.end()) {
      lines[i].clear();
      if (std::find(result.removed.begin(), result.removed.end(), k->key) == result.removed.end()) {
        result.removed.push_back(k->key);
      }
      continue;
    }
    last_key = i;
    for (size_t s = 0; s < edits.set.size(); ++s) {
      if (edits.set[s].first != k->key) {
        continue;
      }
      found[s] = true;
      if (auto changed = with_value(lines[i], *k, edits.set[s].second, separator)) {
        lines[i] = *changed;
        result.changed.push_back(k->key + "=" + edits.set[s].second);
      }
    }
  }
  return found;
}

std::string joined(const std::vector<std::string>& lines)
{
  std::string out;
  for (const auto& l : lines) {
    out += l;
  }
  return out;
}

// The lines for the keys not found, each KEY<separator>VALUE.
std::string missing_lines(const KeyEdits& edits, const std::vector<bool>& found,
                          const std::string& separator, KeyEditResult& result)
{
  std::string out;
  for (size_t s = 0; s < edits.set.size(); ++s) {
    if (!found[s]) {
      out += edits.set[s].first + separator + edits.set[s].second + "\n";
      result.changed.push_back(edits.set[s].first + "=" + edits.set[s].second);
    }
  }
  return out;
}

// `text` ending in a newline (unless empty), so a line can follow.
std::string terminated(std::string text)
{
  if (!text.empty() && text.back() != '\n') {
    text += '\n';
  }
  return text;
}

} // namespace

KeyEditResult edit_key_values(const std::string& text, const KeyEdits& edits,
                              const std::string& separator)
{
  KeyEditResult result;
  auto lines = lines_of(text);
  size_t end = lines.size();
  for (size_t i = 0; i < lines.size() && !edits.stop_at.empty(); ++i) {
    auto k = parse_key_line(split_ending(lines[i]).first, " ");
    if (k && ascii_lower(k->key) == ascii_lower(edits.stop_at)) {
      end = i;
      break;
    }
  }
  std::optional<size_t> last_key;
  auto found = edit_lines(lines, 0, end, edits, separator, result, last_key);
  std::string added = missing_lines(edits, found, separator, result);
  if (added.empty()) {
    result.text = joined(lines);
  } else if (end == lines.size()) {
    result.text = terminated(joined(lines)) + added;
  } else {
    lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(end), added);
    result.text = joined(lines);
  }
  return result;
}

KeyEditResult edit_ini(const std::string& text, const std::string& section, const KeyEdits& edits,
                       const std::string& separator)
{
  KeyEditResult result;
  auto lines = lines_of(text);
  // The blocks of the section: [first line after the header, end).
  std::vector<std::pair<size_t, size_t>> blocks;
  bool in_section = section.empty();
  size_t block_start = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string body = trim(split_ending(lines[i]).first);
    if (body.size() < 2 || body.front() != '[' || body.find(']') == std::string::npos) {
      continue;
    }
    if (in_section) {
      blocks.emplace_back(block_start, i);
    }
    std::string name = trim(body.substr(1, body.rfind(']') - 1));
    in_section = name == section;
    block_start = i + 1;
  }
  if (in_section) {
    blocks.emplace_back(block_start, lines.size());
  }
  std::vector<bool> found(edits.set.size(), false);
  std::optional<size_t> last_key;
  for (const auto& [from, to] : blocks) {
    last_key.reset();
    auto here = edit_lines(lines, from, to, edits, separator, result, last_key);
    for (size_t s = 0; s < found.size(); ++s) {
      found[s] = found[s] || here[s];
    }
  }
  std::string added = missing_lines(edits, found, separator, result);
  if (added.empty()) {
    result.text = joined(lines);
    return result;
  }
  if (blocks.empty()) {
    std::string out = terminated(joined(lines));
    if (!out.empty() && out.size() >= 2 && out.substr(out.size() - 2) != "\n\n") {
      out += "\n";
    }
    result.text = out + "[" + section + "]\n" + added;
    return result;
  }
  // After the last key of the last block, else right after its header.
  size_t at = last_key ? *last_key + 1 : blocks.back().first;
  if (at > 0 && !lines[at - 1].empty() && lines[at - 1].back() != '\n') {
    lines[at - 1] += "\n";
  }
  lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(at), added);
  result.text = joined(lines);
  return result;
}

} // namespace rehost
