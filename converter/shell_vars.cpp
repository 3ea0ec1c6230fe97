#include "converter/shell_vars.hpp"

#include <algorithm>
#include <cctype>

namespace rehost {

namespace {

struct Assignment {
  size_t line_start = 0;
  size_t line_end = 0;    // position of '\n' or text.size()
  size_t value_start = 0; // first byte after '='
  size_t value_end = 0;   // end of the shell word
  std::string name;
};

bool is_name_char(char c)
{
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

// End of the shell word starting at `pos` (quotes may span lines).
size_t word_end(const std::string& text, size_t pos)
{
  while (pos < text.size()) {
    char c = text[pos];
    if (c == '\'') {
      size_t close = text.find('\'', pos + 1);
      pos = close == std::string::npos ? text.size() : close + 1;
    } else if (c == '"') {
      ++pos;
      while (pos < text.size() && text[pos] != '"') {
        pos += text[pos] == '\\' ? 2 : 1;
      }
      pos = std::min(pos + 1, text.size());
    } else if (c == '\\') {
      pos += 2;
    } else if (c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '#') {
      break;
    } else {
      ++pos;
    }
  }
  return std::min(pos, text.size());
}

std::vector<Assignment> find_assignments(const std::string& text)
{
  std::vector<Assignment> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t line_start = pos;
    size_t p = pos;
    while (p < text.size() && (text[p] == ' ' || text[p] == '\t')) {
      ++p;
    }
    if (text.compare(p, 7, "export ") == 0) {
      p += 7;
      while (p < text.size() && text[p] == ' ') {
        ++p;
      }
    }
    size_t name_start = p;
    while (p < text.size() && is_name_char(text[p])) {
      ++p;
    }
    size_t next_line;
    if (p > name_start && p < text.size() && text[p] == '='
        && !std::isdigit(static_cast<unsigned char>(text[name_start]))) {
      Assignment a;
      a.name = text.substr(name_start, p - name_start);
      a.value_start = p + 1;
      a.value_end = word_end(text, a.value_start);
      a.line_start = line_start;
      size_t nl = text.find('\n', a.value_end);
      a.line_end = nl == std::string::npos ? text.size() : nl;
      next_line = a.line_end + 1;
      out.push_back(std::move(a));
    } else {
      size_t nl = text.find('\n', pos);
      next_line = nl == std::string::npos ? text.size() : nl + 1;
    }
    pos = next_line;
  }
  return out;
}

} // namespace

std::string shell_unquote(const std::string& word)
{
  std::string out;
  size_t i = 0;
  while (i < word.size()) {
    char c = word[i];
    if (c == '\'') {
      size_t close = word.find('\'', i + 1);
      if (close == std::string::npos) {
        close = word.size();
      }
      out.append(word, i + 1, close - i - 1);
      i = close + 1;
    } else if (c == '"') {
      ++i;
      while (i < word.size() && word[i] != '"') {
        if (word[i] == '\\' && i + 1 < word.size()
            && (word[i + 1] == '"' || word[i + 1] == '\\' || word[i + 1] == '$'
                || word[i + 1] == '`')) {
          out += word[i + 1];
          i += 2;
        } else if (word[i] == '\\' && i + 1 < word.size() && word[i + 1] == '\n') {
          i += 2;
        } else {
          out += word[i++];
        }
      }
      ++i;
    } else if (c == '\\' && i + 1 < word.size()) {
      if (word[i + 1] != '\n') {
        out += word[i + 1];
      }
      i += 2;
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

std::string shell_quote_value(const std::string& value)
{
  bool safe = !value.empty();
  for (char c : value) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'
          || c == '/' || c == ':' || c == ',' || c == '+' || c == '=' || c == '@')) {
      safe = false;
    }
  }
  if (safe) {
    return value;
  }
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\' || c == '$' || c == '`') {
      out += '\\';
    }
    out += c;
  }
  return out + "\"";
}

std::map<std::string, std::string> parse_shell_vars(const std::string& text)
{
  std::map<std::string, std::string> vars;
  for (const auto& a : find_assignments(text)) {
    vars[a.name] = shell_unquote(text.substr(a.value_start, a.value_end - a.value_start));
  }
  return vars;
}

std::optional<std::string> shell_var(const std::string& text, const std::string& name)
{
  std::optional<std::string> value;
  for (const auto& a : find_assignments(text)) {
    if (a.name == name) {
      value = shell_unquote(text.substr(a.value_start, a.value_end - a.value_start));
    }
  }
  return value;
}

std::string set_shell_var(const std::string& text, const std::string& name,
                          const std::string& value)
{
  const Assignment* last = nullptr;
  auto assignments = find_assignments(text);
  for (const auto& a : assignments) {
    if (a.name == name) {
      last = &a;
    }
  }
  if (!last) {
    std::string out = text;
    if (!out.empty() && out.back() != '\n') {
      out += '\n';
    }
    return out + name + "=" + shell_quote_value(value) + "\n";
  }
  std::string old = text.substr(last->value_start, last->value_end - last->value_start);
  std::string quoted;
  if (!old.empty() && old.front() == '"' && old.back() == '"' && old.size() >= 2) {
    quoted = "\"";
    for (char c : value) {
      if (c == '"' || c == '\\' || c == '$' || c == '`') {
        quoted += '\\';
      }
      quoted += c;
    }
    quoted += "\"";
  } else if (!old.empty() && old.front() == '\'' && value.find('\'') == std::string::npos) {
    quoted = "'" + value + "'";
  } else {
    quoted = shell_quote_value(value);
  }
  return text.substr(0, last->value_start) + quoted + text.substr(last->value_end);
}

Result<std::string> set_shell_var_checked(const std::string& text, const std::string& name,
                                          const std::string& value)
{
  std::string out = set_shell_var(text, name, value);
  if (shell_var(out, name) != value) {
    return fail("{} cannot be set: the quoting of the file before it is unbalanced (a quote is "
                "never closed)",
                name);
  }
  return out;
}

std::string unset_shell_var(const std::string& text, const std::string& name)
{
  std::string out;
  size_t copied = 0;
  for (const auto& a : find_assignments(text)) {
    if (a.name != name) {
      continue;
    }
    out.append(text, copied, a.line_start - copied);
    copied = std::min(a.line_end + 1, text.size());
  }
  out.append(text, copied, std::string::npos);
  return out;
}

namespace {

std::vector<std::string> words_of(const std::string& value)
{
  std::vector<std::string> words;
  std::string w;
  for (char ch : value + " ") {
    if (ch == ' ' || ch == '\t' || ch == '\n') {
      if (!w.empty()) {
        words.push_back(w);
      }
      w.clear();
    } else {
      w += ch;
    }
  }
  return words;
}

} // namespace

bool shell_var_has_word(const std::string& text, const std::string& name, const std::string& word)
{
  auto value = shell_var(text, name);
  if (!value) {
    return false;
  }
  auto words = words_of(*value);
  return std::find(words.begin(), words.end(), word) != words.end();
}

std::string add_shell_var_words(const std::string& text, const std::string& name,
                                const std::vector<std::string>& words)
{
  auto value = shell_var(text, name);
  if (!value) {
    return text;
  }
  std::string v = *value;
  auto have = words_of(v);
  for (const auto& w : words) {
    if (std::find(have.begin(), have.end(), w) == have.end()) {
      v += (words_of(v).empty() ? "" : " ") + w;
      have.push_back(w);
    }
  }
  return v == *value ? text : set_shell_var(text, name, v);
}

} // namespace rehost
