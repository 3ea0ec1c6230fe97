#include "converter/rules.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include <yaml-cpp/yaml.h>

#include "converter/actions.hpp"
#include "converter/inspection.hpp"

namespace rehost {

namespace fs = std::filesystem;

namespace {

// Collects every problem of one file, so a rule author sees them all at once.
class Problems {
public:
  explicit Problems(std::string file) : m_file(std::move(file)) {}

  void add(const YAML::Mark& mark, const std::string& message)
  {
    m_lines.push_back(fmt::format("{}:{}:{}: {}", m_file, mark.line + 1, mark.column + 1, message));
  }
  void add_plain(const std::string& message) { m_lines.push_back(m_file + ": " + message); }
  bool empty() const { return m_lines.empty(); }
  std::string text() const
  {
    std::string out;
    for (const auto& l : m_lines) {
      out += (out.empty() ? "" : "\n") + l;
    }
    return out;
  }
  SourceLocation at(const YAML::Mark& mark) const
  {
    return {m_file, mark.line + 1, mark.column + 1};
  }

private:
  std::string m_file;
  std::vector<std::string> m_lines;
};

std::vector<std::string> keys_of(const std::vector<const char*>& names)
{
  return {names.begin(), names.end()};
}

void check_keys(const YAML::Node& map, const std::vector<const char*>& allowed, Problems& problems,
                const std::string& where)
{
  for (const auto& kv : map) {
    std::string key = kv.first.as<std::string>("");
    if (std::find_if(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })
        == allowed.end()) {
      std::string hint = did_you_mean(key, keys_of(allowed));
      problems.add(kv.first.Mark(),
                   fmt::format("unknown key '{}' in {}{}", key, where,
                               hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
    }
  }
}

std::optional<std::string> scalar(const YAML::Node& node, Problems& problems,
                                  const std::string& what)
{
  if (!node.IsScalar()) {
    problems.add(node.Mark(), fmt::format("{} must be a string", what));
    return std::nullopt;
  }
  return node.Scalar();
}

std::vector<std::string> string_list(const YAML::Node& node, Problems& problems,
                                     const std::string& what)
{
  std::vector<std::string> out;
  if (node.IsScalar()) {
    out.push_back(node.Scalar());
    return out;
  }
  if (!node.IsSequence()) {
    problems.add(node.Mark(), fmt::format("{} must be a list of strings", what));
    return out;
  }
  for (const auto& item : node) {
    if (!item.IsScalar()) {
      problems.add(item.Mark(), fmt::format("{} must be a list of strings", what));
      continue;
    }
    out.push_back(item.Scalar());
  }
  return out;
}

// ${name} references in a value; each must be one the action allows.
void check_variables(const std::string& value, const YAML::Mark& mark, const ActionSpec& spec,
                     Problems& problems)
{
  static const std::regex k_var(R"(\$\{([^}]*)\})");
  for (std::sregex_iterator it(value.begin(), value.end(), k_var), end; it != end; ++it) {
    std::string name = (*it)[1];
    bool known = std::find_if(spec.variables.begin(), spec.variables.end(),
                              [&](const char* v) { return name == v; })
                 != spec.variables.end();
    if (!known) {
      std::string hint = did_you_mean(name, keys_of(spec.variables));
      problems.add(mark, fmt::format("unknown variable '${{{}}}' in a {} action{}", name, spec.type,
                                     hint.empty() ? "" : " (did you mean '${" + hint + "}'?)"));
    }
  }
}

std::optional<YAML::Node> load_yaml(const std::string& text, Problems& problems)
{
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    problems.add(e.mark, "YAML syntax error: " + e.msg);
    return std::nullopt;
  }
}

Result<std::string> read_text(const std::string& path)
{
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail("{}: cannot read", path);
  }
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::optional<int> integer(const YAML::Node& node, Problems& problems, const std::string& what)
{
  try {
    if (node.IsScalar()) {
      return node.as<int>();
    }
  } catch (const YAML::Exception&) {
  }
  problems.add(node.Mark(), fmt::format("{} must be an integer", what));
  return std::nullopt;
}

} // namespace

std::string SourceLocation::text() const
{
  return fmt::format("{}:{}:{}", file, line, column);
}

std::vector<std::string> TargetProfile::all_drivers() const
{
  std::vector<std::string> out = storage_drivers;
  out.insert(out.end(), network_drivers.begin(), network_drivers.end());
  return out;
}

std::string Action::str(const std::string& name, const std::string& fallback) const
{
  auto it = params.find(name);
  return it == params.end() ? fallback : it->second.scalar;
}

std::vector<std::string> Action::list(const std::string& name) const
{
  auto it = params.find(name);
  if (it == params.end()) {
    return {};
  }
  return it->second.is_list ? it->second.list : std::vector<std::string>{it->second.scalar};
}

const TargetProfile* RuleSet::target(const std::string& name) const
{
  auto it = targets.find(name);
  return it == targets.end() ? nullptr : &it->second;
}

const std::vector<ActionSpec>& action_specs()
{
  static const std::vector<ActionSpec> k_specs = [] {
    std::vector<ActionSpec> specs;
    for (const auto& t : action_types()) {
      specs.push_back(t.spec);
    }
    return specs;
  }();
  return k_specs;
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates)
{
  std::string best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    // Levenshtein distance.
    std::vector<size_t> prev(c.size() + 1);
    std::vector<size_t> cur(c.size() + 1);
    for (size_t j = 0; j <= c.size(); ++j) {
      prev[j] = j;
    }
    for (size_t i = 1; i <= word.size(); ++i) {
      cur[0] = i;
      for (size_t j = 1; j <= c.size(); ++j) {
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (word[i - 1] != c[j - 1])});
      }
      std::swap(prev, cur);
    }
    if (prev[c.size()] < best_distance) {
      best_distance = prev[c.size()];
      best = c;
    }
  }
  return best;
}

Result<Rule> parse_rule(const std::string& text, const std::string& file)
{
  Problems problems(file);
  auto root = load_yaml(text, problems);
  if (!root) {
    return fail("{}", problems.text());
  }
  if (!root->IsMap()) {
    return fail("{}:1:1: a rule file must be a mapping with id, description, match and actions",
                file);
  }
  Rule rule;
  rule.location = {file, root->Mark().line + 1, root->Mark().column + 1};
  check_keys(*root, {"id", "description", "match", "actions"}, problems, "a rule");
  if (auto id = (*root)["id"]) {
    rule.id = scalar(id, problems, "id").value_or("");
  } else {
    problems.add(root->Mark(), "missing key 'id'");
  }
  if (auto d = (*root)["description"]) {
    rule.description = scalar(d, problems, "description").value_or("");
  } else {
    problems.add(root->Mark(), "missing key 'description'");
  }
  if (auto m = (*root)["match"]) {
    if (!m.IsMap()) {
      problems.add(m.Mark(), "match must be a mapping of conditions");
    } else {
      check_keys(m,
                 {"family", "id", "id_like", "initramfs_tool", "bootloader", "target", "major_min",
                  "major_max"},
                 problems, "match");
      auto list = [&](const char* key, std::vector<std::string>& to) {
        if (auto n = m[key]) {
          to = string_list(n, problems, std::string("match.") + key);
        }
      };
      list("family", rule.match.family);
      list("id", rule.match.id);
      list("id_like", rule.match.id_like);
      list("initramfs_tool", rule.match.initramfs_tool);
      list("bootloader", rule.match.bootloader);
      list("target", rule.match.target);
      if (auto n = m["major_min"]) {
        rule.match.major_min = integer(n, problems, "match.major_min");
      }
      if (auto n = m["major_max"]) {
        rule.match.major_max = integer(n, problems, "match.major_max");
      }
      if (rule.match.major_min && rule.match.major_max
          && *rule.match.major_min > *rule.match.major_max) {
        problems.add(m.Mark(), fmt::format("match.major_min {} is above match.major_max {}: the "
                                           "rule can never match",
                                           *rule.match.major_min, *rule.match.major_max));
      }
    }
  }
  auto actions = (*root)["actions"];
  if (!actions) {
    problems.add(root->Mark(), "missing key 'actions'");
  } else if (!actions.IsSequence()) {
    problems.add(actions.Mark(), "actions must be a list");
  } else {
    std::vector<std::string> type_names;
    for (const auto& s : action_specs()) {
      type_names.emplace_back(s.type);
    }
    for (const auto& node : actions) {
      if (!node.IsMap() || !node["type"]) {
        problems.add(node.Mark(), "an action must be a mapping with a 'type'");
        continue;
      }
      Action action;
      action.location = problems.at(node.Mark());
      action.type = node["type"].as<std::string>("");
      auto spec = std::find_if(action_specs().begin(), action_specs().end(),
                               [&](const ActionSpec& s) { return action.type == s.type; });
      if (spec == action_specs().end()) {
        std::string hint = did_you_mean(action.type, type_names);
        problems.add(node["type"].Mark(),
                     fmt::format("unknown action type '{}'{}", action.type,
                                 hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
        continue;
      }
      std::vector<const char*> allowed = {"type"};
      for (const auto& p : spec->params) {
        allowed.push_back(p.name);
      }
      check_keys(node, allowed, problems, fmt::format("a {} action", spec->type));
      for (const auto& p : spec->params) {
        auto value = node[p.name];
        if (!value) {
          if (p.required) {
            problems.add(node.Mark(), fmt::format("a {} action needs '{}'", spec->type, p.name));
          }
          continue;
        }
        ParamValue v;
        v.location = problems.at(value.Mark());
        if (p.type == ParamType::string) {
          v.scalar = scalar(value, problems, p.name).value_or("");
          check_variables(v.scalar, value.Mark(), *spec, problems);
        } else {
          v.is_list = true;
          v.list = string_list(value, problems, p.name);
          if (value.IsSequence()) {
            for (const auto& item : value) {
              if (item.IsScalar()) {
                check_variables(item.Scalar(), item.Mark(), *spec, problems);
              }
            }
          } else if (value.IsScalar()) {
            check_variables(value.Scalar(), value.Mark(), *spec, problems);
          }
        }
        action.params[p.name] = std::move(v);
      }
      rule.actions.push_back(std::move(action));
    }
  }
  if (!problems.empty()) {
    return fail("{}", problems.text());
  }
  return rule;
}

Result<TargetProfile> parse_target(const std::string& text, const std::string& file)
{
  Problems problems(file);
  auto root = load_yaml(text, problems);
  if (!root) {
    return fail("{}", problems.text());
  }
  if (!root->IsMap()) {
    return fail("{}:1:1: a target profile must be a mapping", file);
  }
  TargetProfile t;
  t.location = {file, 1, 1};
  check_keys(*root,
             {"target", "description", "drivers", "kernel_args", "console", "network", "boot_test"},
             problems, "a target profile");
  auto str = [&](const YAML::Node& parent, const char* key, std::string& to, bool required) {
    if (auto n = parent[key]) {
      to = scalar(n, problems, key).value_or("");
    } else if (required) {
      problems.add(parent.Mark(), fmt::format("missing key '{}'", key));
    }
  };
  str(*root, "target", t.name, true);
  str(*root, "description", t.description, true);
  str(*root, "console", t.console, false);
  if (auto d = (*root)["drivers"]) {
    if (!d.IsMap()) {
      problems.add(d.Mark(), "drivers must be a mapping with storage and network lists");
    } else {
      check_keys(d, {"storage", "network"}, problems, "drivers");
      if (auto s = d["storage"]) {
        t.storage_drivers = string_list(s, problems, "drivers.storage");
      }
      if (auto n = d["network"]) {
        t.network_drivers = string_list(n, problems, "drivers.network");
      }
    }
  } else {
    problems.add(root->Mark(), "missing key 'drivers'");
  }
  if (t.storage_drivers.empty() && problems.empty()) {
    problems.add(root->Mark(), "drivers.storage must name at least one driver");
  }
  if (auto k = (*root)["kernel_args"]) {
    if (!k.IsMap()) {
      problems.add(k.Mark(), "kernel_args must be a mapping with add and remove lists");
    } else {
      check_keys(k, {"add", "remove"}, problems, "kernel_args");
      if (auto a = k["add"]) {
        t.kernel_args_add = string_list(a, problems, "kernel_args.add");
      }
      if (auto r = k["remove"]) {
        t.kernel_args_remove = string_list(r, problems, "kernel_args.remove");
      }
    }
  }
  if (auto n = (*root)["network"]) {
    if (!n.IsMap()) {
      problems.add(n.Mark(), "network must be a mapping");
    } else {
      check_keys(n, {"first_interface"}, problems, "network");
      str(n, "first_interface", t.first_interface, false);
    }
  }
  if (auto b = (*root)["boot_test"]) {
    if (!b.IsMap()) {
      problems.add(b.Mark(), "boot_test must be a mapping");
    } else {
      check_keys(b, {"machine", "firmware", "disk", "nic"}, problems, "boot_test");
      str(b, "machine", t.boot_test.machine, false);
      str(b, "firmware", t.boot_test.firmware, false);
      str(b, "disk", t.boot_test.disk, true);
      str(b, "nic", t.boot_test.nic, false);
      if (t.boot_test.firmware != "bios" && t.boot_test.firmware != "uefi") {
        problems.add(b["firmware"].Mark(), "boot_test.firmware must be bios or uefi");
      }
    }
  } else {
    problems.add(root->Mark(), "missing key 'boot_test'");
  }
  if (!problems.empty()) {
    return fail("{}", problems.text());
  }
  return t;
}

Result<RuleSet> load_rules(const std::vector<std::string>& dirs)
{
  RuleSet set;
  std::vector<std::string> errors;
  std::vector<std::string> order; // rule ids in order of first appearance
  std::map<std::string, Rule> rules;
  for (const auto& dir : dirs) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      errors.push_back(fmt::format("{}: not a rules directory", dir));
      continue;
    }
    std::vector<fs::path> rule_files;
    std::vector<fs::path> target_files;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      if (e.path().extension() == ".yaml" && e.is_regular_file()) {
        rule_files.push_back(e.path());
      }
    }
    for (const auto& e : fs::directory_iterator(fs::path(dir) / "targets", ec)) {
      if (e.path().extension() == ".yaml" && e.is_regular_file()) {
        target_files.push_back(e.path());
      }
    }
    std::sort(rule_files.begin(), rule_files.end());
    std::sort(target_files.begin(), target_files.end());
    for (const auto& path : target_files) {
      auto text = read_text(path);
      auto target = text ? parse_target(*text, path.string()) : std::unexpected(text.error());
      if (!target) {
        errors.push_back(target.error().message);
        continue;
      }
      if (target->name != path.stem().string()) {
        errors.push_back(fmt::format("{}:1:1: target '{}' must be in a file named {}.yaml",
                                     path.string(), target->name, target->name));
        continue;
      }
      set.targets[target->name] = std::move(*target);
    }
    for (const auto& path : rule_files) {
      auto text = read_text(path);
      auto rule = text ? parse_rule(*text, path.string()) : std::unexpected(text.error());
      if (!rule) {
        errors.push_back(rule.error().message);
        continue;
      }
      if (!rules.count(rule->id)) {
        order.push_back(rule->id);
      }
      rules[rule->id] = std::move(*rule);
    }
  }
  if (!errors.empty()) {
    std::string all;
    for (const auto& e : errors) {
      all += (all.empty() ? "" : "\n") + e;
    }
    return fail("{}", all);
  }
  for (const auto& id : order) {
    set.rules.push_back(std::move(rules[id]));
  }
  return set;
}

std::string builtin_rules_dir()
{
  if (const char* env = std::getenv("REHOST_RULES_DIR"); env && *env) {
    return env;
  }
  std::error_code ec;
  if (fs::is_directory(REHOST_SOURCE_RULES_DIR, ec)) {
    return REHOST_SOURCE_RULES_DIR;
  }
  return REHOST_INSTALLED_RULES_DIR;
}

bool rule_matches(const Rule& rule, const Inspection& in, const std::string& target,
                  std::string* why)
{
  auto check = [&](const std::vector<std::string>& allowed, const std::string& value,
                   const char* what) {
    if (allowed.empty() || std::find(allowed.begin(), allowed.end(), value) != allowed.end()) {
      return true;
    }
    if (why) {
      std::string list;
      for (const auto& a : allowed) {
        list += (list.empty() ? "" : ", ") + a;
      }
      *why = fmt::format("{} is '{}', the rule wants {}", what, value, list);
    }
    return false;
  };
  if (!check(rule.match.family, in.os.family, "os family")
      || !check(rule.match.id, in.os.id, "os id")
      || !check(rule.match.initramfs_tool, in.initramfs_tool, "initramfs tool")
      || !check(rule.match.bootloader, in.bootloader, "bootloader")
      || !check(rule.match.target, target, "target")) {
    return false;
  }
  if (!rule.match.id_like.empty()) {
    bool any =
        std::any_of(rule.match.id_like.begin(), rule.match.id_like.end(), [&](const auto& l) {
          return l == in.os.id
                 || std::find(in.os.id_like.begin(), in.os.id_like.end(), l) != in.os.id_like.end();
        });
    if (!any) {
      if (why) {
        *why = "os id_like does not include any of the rule's";
      }
      return false;
    }
  }
  if (rule.match.major_min && (!in.os.major || *in.os.major < *rule.match.major_min)) {
    if (why) {
      *why = fmt::format("os major version is below {}", *rule.match.major_min);
    }
    return false;
  }
  if (rule.match.major_max && (!in.os.major || *in.os.major > *rule.match.major_max)) {
    if (why) {
      *why = fmt::format("os major version is above {}", *rule.match.major_max);
    }
    return false;
  }
  return true;
}

} // namespace rehost
