// Actions that write configuration files: whole files from templates, keys of key=value and
// ini files.
#include "converter/action_support.hpp"

#include <fstream>

#include "converter/host_file.hpp"
#include "converter/key_value.hpp"

namespace rehost {

Result<std::string> content_or_source(const Action& a)
{
  if (a.has("content")) {
    return a.str("content");
  }
  const std::string path = rule_relative_path(a, a.str("source"));
  auto text = read_host_file(path);
  if (!text) {
    return fail("{}: cannot read the template {}", a.where("source").text(), path);
  }
  return text;
}

void check_content_or_source(const Action& a, const ActionSpec& spec,
                             std::vector<ActionProblem>& problems)
{
  check_one_of(a, "content", "source", problems);
  if (!a.has("source")) {
    return;
  }
  auto text = content_or_source(a);
  if (!text) {
    problems.push_back(
        {a.where("source"), fmt::format("cannot read {}", rule_relative_path(a, a.str("source")))});
    return;
  }
  for (const auto& message : variable_problems(*text, spec)) {
    problems.push_back({a.where("source"), fmt::format("{} (in {})", message, a.str("source"))});
  }
}

namespace {

std::optional<uint32_t> parse_mode(const std::string& text)
{
  if (text.empty() || text.size() > 4 || text.find_first_not_of("01234567") != std::string::npos) {
    return std::nullopt;
  }
  return static_cast<uint32_t>(std::stoul(text, nullptr, 8));
}

// --- template ------------------------------------------------------------------------------------

Result<void> template_file(ActionContext& c, const Action& a, ActionRecord& record)
{
  const Vars vars = guest_vars(c);
  const std::string path = substitute(a.str("path"), vars);
  auto text = content_or_source(a);
  if (!text) {
    return std::unexpected(text.error());
  }
  if (a.str("overwrite", "true") == "false" && exists(c.guest, path)) {
    record.summary = fmt::format("{} exists; left as it is", path);
    return {};
  }
  const uint32_t mode = parse_mode(a.str("mode", "0644")).value_or(0644);
  if (auto r = write_guest_file(c, record, path, substitute(*text, vars), mode); !r) {
    return r;
  }
  if (!record.changes.empty()) {
    record.summary = fmt::format("wrote {} (mode {:04o})", path, mode);
  }
  return {};
}

std::vector<ActionProblem> check_template(const Action& a, const ActionSpec& spec)
{
  std::vector<ActionProblem> problems;
  check_content_or_source(a, spec, problems);
  check_flags(a, {"overwrite"}, problems);
  if (a.has("mode") && !parse_mode(a.str("mode"))) {
    problems.push_back({a.where("mode"), "mode must be octal, such as \"0644\" or \"0755\""});
  }
  return problems;
}

// --- set_key_value and set_ini -------------------------------------------------------------------

KeyEdits key_edits(const ActionContext& c, const Action& a)
{
  const Vars vars = guest_vars(c);
  KeyEdits edits;
  for (const auto& [key, value] : a.entries("set")) {
    edits.set.emplace_back(key, substitute(value, vars));
  }
  edits.remove = a.list("remove");
  edits.stop_at = a.str("stop_at");
  return edits;
}

Result<void> edit_keys(ActionContext& c, const Action& a, ActionRecord& record,
                       const std::function<KeyEditResult(const std::string&)>& edit)
{
  const std::string path = substitute(a.str("path"), guest_vars(c));
  const bool create = a.str("create") == "true";
  if (!create && !exists(c.guest, path)) {
    record.notes.push_back(path + " does not exist; nothing to edit");
    return {};
  }
  KeyEditResult result;
  auto transform = [&](const std::string& text) -> Result<std::string> {
    result = edit(text);
    return result.text;
  };
  if (auto r = edit_guest_file(c, record, path, create ? MissingFile::create : MissingFile::skip,
                               transform);
      !r) {
    return r;
  }
  std::vector<std::string> parts = result.changed;
  for (const auto& key : result.removed) {
    parts.push_back("-" + key);
  }
  if (!record.changes.empty()) {
    record.summary = fmt::format("{}: {}", path, join(parts, ", "));
  }
  return {};
}

Result<void> set_key_value(ActionContext& c, const Action& a, ActionRecord& record)
{
  const KeyEdits edits = key_edits(c, a);
  const std::string separator = a.str("separator", "=");
  return edit_keys(c, a, record, [&](const std::string& text) {
    return edit_key_values(text, edits, separator);
  });
}

Result<void> set_ini(ActionContext& c, const Action& a, ActionRecord& record)
{
  const KeyEdits edits = key_edits(c, a);
  const std::string section = a.str("section");
  const std::string separator = a.str("separator", "=");
  return edit_keys(c, a, record, [&](const std::string& text) {
    return edit_ini(text, section, edits, separator);
  });
}

std::vector<ActionProblem> check_keys_action(const Action& a, const ActionSpec&)
{
  std::vector<ActionProblem> problems;
  check_flags(a, {"create"}, problems);
  if (!a.has("set") && !a.has("remove")) {
    problems.push_back({a.location, fmt::format("a {} action needs 'set' or 'remove'", a.type)});
  }
  if (a.has("separator") && a.str("separator").empty()) {
    problems.push_back({a.where("separator"), "separator must not be empty (\" \" for blanks)"});
  }
  for (const auto& [key, value] : a.entries("set")) {
    if (key.empty() || key.find_first_of(" \t\n=") != std::string::npos) {
      problems.push_back({a.where("set"), fmt::format("'{}' is not a key name", key)});
    }
    if (value.find('\n') != std::string::npos) {
      problems.push_back({a.where("set"), fmt::format("the value of {} holds a line break", key)});
    }
  }
  return problems;
}

} // namespace

std::vector<ActionType> config_action_types()
{
  return {
      {{"template",
        "Write a guest file from a template (inline content, or a source file next to the rule) "
        "with the target's and the guest's variables substituted; \"$${\" writes \"${\".",
        {ParamSpec{"path", ParamType::string, true, "the guest file"},
         ParamSpec{"content", ParamType::string, false, "the text (or source)"},
         ParamSpec{"source", ParamType::string, false,
                   "a file holding the text, relative to the rule file"},
         ParamSpec{"mode", ParamType::string, false, "octal permissions (default \"0644\")"},
         ParamSpec{"overwrite", ParamType::string, false,
                   "\"false\": leave an existing file alone (default \"true\")"}},
        guest_var_names(),
        check_template},
       template_file},
      {{"set_key_value",
        "Set keys of a KEY=VALUE file (/etc/sysconfig/*, waagent.conf) or, with separator \" \", "
        "a \"Key value\" file (sshd_config): lines assigning a key get the new value in place, "
        "missing keys are appended, removed keys' lines go; comments and order stay.",
        {ParamSpec{"path", ParamType::string, true, "the guest file"},
         ParamSpec{"set", ParamType::map, false, "keys and their values"},
         ParamSpec{"remove", ParamType::list, false, "keys whose lines go"},
         ParamSpec{"separator", ParamType::string, false, "between key and value (default \"=\")"},
         ParamSpec{"create", ParamType::string, false,
                   "\"true\": create a missing file (else it is left missing)"},
         ParamSpec{"stop_at", ParamType::string, false,
                   "a first word that ends the part edited (sshd_config: Match); missing keys "
                   "go before it"}},
        guest_var_names(),
        check_keys_action},
       set_key_value},
      {{"set_ini",
        "Set or remove keys within one [section] of an ini file (NetworkManager.conf, yum "
        "repositories), creating the section when missing; every other byte stays.",
        {ParamSpec{"path", ParamType::string, true, "the guest file"},
         ParamSpec{"section", ParamType::string, true,
                   "the section name (\"\" for keys before any section)"},
         ParamSpec{"set", ParamType::map, false, "keys and their values"},
         ParamSpec{"remove", ParamType::list, false, "keys whose lines go"},
         ParamSpec{"separator", ParamType::string, false, "between key and value (default \"=\")"},
         ParamSpec{"create", ParamType::string, false,
                   "\"true\": create a missing file (else it is left missing)"}},
        guest_var_names(),
        check_keys_action},
       set_ini},
  };
}

} // namespace rehost
