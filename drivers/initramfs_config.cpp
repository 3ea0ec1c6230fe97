#include "drivers/initramfs_config.hpp"

#include <algorithm>
#include <regex>
#include <set>
#include <sstream>

#include "converter/shell_vars.hpp"
#include "converter/text_lines.hpp"
#include "drivers/linux_modules.hpp"

namespace rehost::drivers {

namespace {

// `modules` minus those whose normalised name is in `listed`, in order.
std::vector<std::string> missing(const std::vector<std::string>& modules,
                                 const std::vector<std::string>& listed)
{
  std::set<std::string> have;
  for (const auto& l : listed) {
    have.insert(module_name(l));
  }
  std::vector<std::string> out;
  for (const auto& m : modules) {
    if (have.insert(module_name(m)).second) {
      out.push_back(m);
    }
  }
  return out;
}

std::string join(const std::vector<std::string>& v)
{
  std::string s;
  for (const auto& x : v) {
    s += (s.empty() ? "" : " ") + x;
  }
  return s;
}

ModulesEdit edit_lines(const std::string& text, const std::vector<std::string>& modules,
                       const std::string& comment)
{
  std::vector<std::string> listed;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto w = whitespace_words(line);
    if (!w.empty() && w[0][0] != '#') {
      listed.push_back(w[0]);
    }
  }
  ModulesEdit edit{text, missing(modules, listed)};
  if (edit.added.empty()) {
    return edit;
  }
  if (!edit.text.empty() && edit.text.back() != '\n') {
    edit.text += '\n';
  }
  edit.text += "# " + comment + "\n";
  for (const auto& m : edit.added) {
    edit.text += m + "\n";
  }
  return edit;
}

ModulesEdit edit_dracut(const std::string& text, const std::vector<std::string>& modules,
                        const std::string& comment)
{
  // rehost owns the drop-in: the drivers already in it stay, the new ones join them.
  std::vector<std::string> listed;
  static const std::regex k_add(R"(add_drivers\s*\+?=\s*"([^"]*)\")");
  for (std::sregex_iterator it(text.begin(), text.end(), k_add), end; it != end; ++it) {
    for (const auto& w : whitespace_words((*it)[1])) {
      listed.push_back(w);
    }
  }
  ModulesEdit edit{text, missing(modules, listed)};
  if (edit.added.empty() && !text.empty()) {
    return edit;
  }
  std::vector<std::string> all = listed;
  all.insert(all.end(), edit.added.begin(), edit.added.end());
  edit.text = "# " + comment
              + "\n"
                "# The target's drivers go into every initramfs, whatever host-only mode finds on\n"
                "# the machine that builds it.\n"
                "add_drivers+=\" "
              + join(all) + " \"\n";
  return edit;
}

ModulesEdit edit_shell_list(const std::string& text, const std::vector<std::string>& modules,
                            const std::string& variable)
{
  auto value = shell_var(text, variable).value_or("");
  auto listed = whitespace_words(value);
  ModulesEdit edit{text, missing(modules, listed)};
  if (!edit.added.empty()) {
    listed.insert(listed.end(), edit.added.begin(), edit.added.end());
    auto set = set_shell_var_checked(text, variable, join(listed));
    if (!set) {
      return {text, {}, set.error().message};
    }
    edit.text = *set;
  }
  return edit;
}

ModulesEdit edit_bash_array(const std::string& text, const std::vector<std::string>& modules,
                            const std::string& variable)
{
  // The last single-line assignment VAR=(...) (mkinitcpio.conf writes it so); an old-style
  // VAR="..." is a plain list.
  const std::regex array("^([ \t]*" + variable + "=\\()([^)\\n]*)(\\).*)$", std::regex::multiline);
  std::smatch last;
  bool found = false;
  for (std::sregex_iterator it(text.begin(), text.end(), array), end; it != end; ++it) {
    last = *it;
    found = true;
  }
  if (!found) {
    if (shell_var(text, variable)) {
      return edit_shell_list(text, modules, variable);
    }
    ModulesEdit edit{text, missing(modules, {})};
    if (!edit.text.empty() && edit.text.back() != '\n') {
      edit.text += '\n';
    }
    edit.text += variable + "=(" + join(edit.added) + ")\n";
    return edit;
  }
  std::vector<std::string> listed;
  for (auto w : whitespace_words(last[2])) {
    w.erase(std::remove(w.begin(), w.end(), '"'), w.end());
    w.erase(std::remove(w.begin(), w.end(), '\''), w.end());
    listed.push_back(w);
  }
  ModulesEdit edit{text, missing(modules, listed)};
  if (edit.added.empty()) {
    return edit;
  }
  std::string inside = last[2];
  while (!inside.empty() && (inside.back() == ' ' || inside.back() == '\t')) {
    inside.pop_back();
  }
  inside += (inside.empty() ? "" : " ") + join(edit.added);
  size_t at = static_cast<size_t>(last.position(2));
  edit.text = text.substr(0, at) + inside + text.substr(at + static_cast<size_t>(last.length(2)));
  return edit;
}

} // namespace

Result<ModulesFormat> parse_modules_format(const std::string& name)
{
  if (name == "lines" || name.empty()) {
    return ModulesFormat::lines;
  }
  if (name == "dracut") {
    return ModulesFormat::dracut;
  }
  if (name == "shell_list") {
    return ModulesFormat::shell_list;
  }
  if (name == "bash_array") {
    return ModulesFormat::bash_array;
  }
  return fail("unknown modules file format '{}' (lines, dracut, shell_list, bash_array)", name);
}

ModulesEdit add_modules(ModulesFormat format, const std::string& text,
                        const std::vector<std::string>& modules, const std::string& variable,
                        const std::string& comment)
{
  switch (format) {
  case ModulesFormat::lines:
    return edit_lines(text, modules, comment);
  case ModulesFormat::dracut:
    return edit_dracut(text, modules, comment);
  case ModulesFormat::shell_list:
    return edit_shell_list(text, modules, variable);
  case ModulesFormat::bash_array:
    return edit_bash_array(text, modules, variable);
  }
  return {text, {}};
}

} // namespace rehost::drivers
