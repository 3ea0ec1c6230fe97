#include "converter/rules.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "converter/actions.hpp"
#include "converter/guest.hpp"
#include "converter/host_file.hpp"
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
  void add_at(const SourceLocation& at, const std::string& message)
  {
    m_lines.push_back(at.text() + ": " + message);
  }
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
  for (const auto& message : variable_problems(value, spec)) {
    problems.add(mark, message);
  }
}

// Counts the nodes a YAML text would have with every alias expanded, without expanding
// anything, so an alias bomb ("billion laughs") is refused in linear time.
class ExpansionCounter : public YAML::EventHandler {
public:
  static constexpr uint64_t k_limit = 100000;

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t anchor) override { leaf(anchor, 1); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override
  {
    auto it = m_sizes.find(anchor);
    leaf(0, it == m_sizes.end() ? 1 : it->second);
    if (m_total > k_limit && !m_too_big) {
      m_too_big = true;
      m_mark = mark;
    }
  }
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t anchor,
                const std::string&) override
  {
    leaf(anchor, 1);
  }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override
  {
    m_open.push_back({anchor, 1});
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override
  {
    m_open.push_back({anchor, 1});
  }
  void OnMapEnd() override { close(); }

  bool too_big() const { return m_too_big; }
  const YAML::Mark& mark() const { return m_mark; }

private:
  void leaf(YAML::anchor_t anchor, uint64_t size)
  {
    if (anchor != 0) {
      m_sizes[anchor] = size;
    }
    add(size);
  }
  void add(uint64_t size)
  {
    m_total += size;
    if (!m_open.empty()) {
      m_open.back().second = std::min<uint64_t>(m_open.back().second + size, k_limit + 1);
    }
  }
  void close()
  {
    auto [anchor, size] = m_open.back();
    m_open.pop_back();
    if (anchor != 0) {
      m_sizes[anchor] = size;
    }
    if (!m_open.empty()) {
      m_open.back().second = std::min<uint64_t>(m_open.back().second + size, k_limit + 1);
    }
  }

  std::map<YAML::anchor_t, uint64_t> m_sizes;
  std::vector<std::pair<YAML::anchor_t, uint64_t>> m_open;
  uint64_t m_total = 0;
  bool m_too_big = false;
  YAML::Mark m_mark;
};

// All documents of `text`, or nothing (with the problem recorded).
std::optional<std::vector<YAML::Node>> load_yaml_documents(const std::string& text,
                                                           Problems& problems)
{
  try {
    std::istringstream in(text);
    YAML::Parser parser(in);
    ExpansionCounter counter;
    // yaml-cpp 0.7 can report documents forever without reading on ("!!nu,lttl", found by
    // fuzz_rules); a rule file holds a few rules, a profile one document.
    constexpr int k_max_documents = 64;
    int documents = 0;
    while (parser.HandleNextDocument(counter)) {
      if (++documents > k_max_documents) {
        problems.add(counter.mark(),
                     fmt::format("more than {} YAML documents; refused", k_max_documents));
        return std::nullopt;
      }
      if (counter.too_big()) {
        problems.add(counter.mark(),
                     fmt::format("YAML aliases expand to more than {} nodes; refused",
                                 ExpansionCounter::k_limit));
        return std::nullopt;
      }
    }
    return YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    problems.add(e.mark, "YAML syntax error: " + e.msg);
    return std::nullopt;
  }
}

std::optional<YAML::Node> load_yaml(const std::string& text, Problems& problems)
{
  auto docs = load_yaml_documents(text, problems);
  if (!docs) {
    return std::nullopt;
  }
  return docs->empty() ? YAML::Node() : docs->front();
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

BootTestDevices BootTestDevices::for_guest(const std::string& guest_firmware) const
{
  BootTestDevices d = *this;
  if ((firmwares.empty() && !guest_firmware.empty())
      || std::find(firmwares.begin(), firmwares.end(), guest_firmware) != firmwares.end()) {
    d.firmware = guest_firmware;
  }
  return d;
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

const std::vector<std::pair<std::string, std::string>>&
Action::entries(const std::string& name) const
{
  static const std::vector<std::pair<std::string, std::string>> k_none;
  auto it = params.find(name);
  return it == params.end() ? k_none : it->second.entries;
}

const std::vector<ParamRecord>& Action::records(const std::string& name) const
{
  static const std::vector<ParamRecord> k_none;
  auto it = params.find(name);
  return it == params.end() ? k_none : it->second.records;
}

SourceLocation Action::where(const std::string& name) const
{
  auto it = params.find(name);
  return it == params.end() ? location : it->second.location;
}

std::string ParamRecord::str(const std::string& name) const
{
  auto it = fields.find(name);
  return it == fields.end() ? std::string() : it->second.scalar;
}

std::vector<std::string> ParamRecord::list(const std::string& name) const
{
  auto it = fields.find(name);
  if (it == fields.end()) {
    return {};
  }
  return it->second.is_list ? it->second.list : std::vector<std::string>{it->second.scalar};
}

std::vector<std::string> variable_problems(const std::string& text, const ActionSpec& spec)
{
  static const std::regex k_var(R"(\$(\$?)\{([^}]*)\})");
  std::vector<std::string> out;
  for (std::sregex_iterator it(text.begin(), text.end(), k_var), end; it != end; ++it) {
    if ((*it)[1].length() > 0) {
      continue; // "$${": an escaped "${"
    }
    std::string name = (*it)[2];
    bool known = std::find_if(spec.variables.begin(), spec.variables.end(),
                              [&](const char* v) { return name == v; })
                 != spec.variables.end();
    if (!known) {
      std::string hint = did_you_mean(name, keys_of(spec.variables));
      out.push_back(fmt::format("unknown variable '${{{}}}' in a {} action{}", name, spec.type,
                                hint.empty() ? "" : " (did you mean '${" + hint + "}'?)"));
    }
  }
  return out;
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

namespace {

// A string or list of strings, its variables checked against the action's.
ParamValue words_value(const YAML::Node& value, ParamType type, const std::string& what,
                       const ActionSpec& spec, Problems& problems)
{
  ParamValue v;
  v.location = problems.at(value.Mark());
  if (type == ParamType::string) {
    v.scalar = scalar(value, problems, what).value_or("");
    check_variables(v.scalar, value.Mark(), spec, problems);
    return v;
  }
  v.is_list = true;
  v.list = string_list(value, problems, what);
  if (value.IsSequence()) {
    for (const auto& item : value) {
      if (item.IsScalar()) {
        check_variables(item.Scalar(), item.Mark(), spec, problems);
      }
    }
  } else if (value.IsScalar()) {
    check_variables(value.Scalar(), value.Mark(), spec, problems);
  }
  return v;
}

// One parameter of an action, of the type its schema says.
ParamValue param_value(const YAML::Node& value, const ParamSpec& p, const ActionSpec& spec,
                       Problems& problems)
{
  if (p.type == ParamType::string || p.type == ParamType::list) {
    return words_value(value, p.type, p.name, spec, problems);
  }
  ParamValue v;
  v.location = problems.at(value.Mark());
  if (p.type == ParamType::map) {
    if (!value.IsMap()) {
      problems.add(value.Mark(), fmt::format("{} must be a mapping of names to strings", p.name));
      return v;
    }
    for (const auto& kv : value) {
      auto key = scalar(kv.first, problems, fmt::format("a name in {}", p.name));
      auto text = scalar(kv.second, problems, fmt::format("{}.{}", p.name, key.value_or("?")));
      if (key && text) {
        check_variables(*text, kv.second.Mark(), spec, problems);
        v.entries.emplace_back(*key, *text);
      }
    }
    return v;
  }
  v.is_list = true;
  if (!value.IsSequence()) {
    problems.add(value.Mark(), fmt::format("{} must be a list of mappings", p.name));
    return v;
  }
  for (const auto& item : value) {
    if (!item.IsMap()) {
      problems.add(item.Mark(), fmt::format("{} must be a list of mappings", p.name));
      continue;
    }
    check_keys(item, p.fields, problems, fmt::format("an item of {}", p.name));
    ParamRecord record;
    record.location = problems.at(item.Mark());
    for (const auto& kv : item) {
      std::string key = kv.first.as<std::string>("");
      if (std::find_if(p.fields.begin(), p.fields.end(), [&](const char* f) { return key == f; })
          == p.fields.end()) {
        continue;
      }
      ParamType type = kv.second.IsSequence() ? ParamType::list : ParamType::string;
      record.fields[key] =
          words_value(kv.second, type, fmt::format("{}.{}", p.name, key), spec, problems);
    }
    v.records.push_back(std::move(record));
  }
  return v;
}

// One rule from one YAML document; problems are collected, not returned.
Rule parse_rule_node(const YAML::Node* root, const std::string& file, Problems& problems)
{
  Rule rule;
  rule.location = {file, root->Mark().line + 1, root->Mark().column + 1};
  check_keys(*root, {"id", "description", "extends", "match", "actions"}, problems, "a rule");
  if (auto e = (*root)["extends"]) {
    rule.extends = scalar(e, problems, "extends").value_or("");
  }
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
                 {"family", "id", "id_like", "arch", "firmware", "initramfs_tool", "bootloader",
                  "target", "packages", "files", "major_min", "major_max", "version_min",
                  "version_max"},
                 problems, "match");
      auto list = [&](const char* key, std::vector<std::string>& to) {
        if (auto n = m[key]) {
          to = string_list(n, problems, std::string("match.") + key);
        }
      };
      list("family", rule.match.family);
      list("id", rule.match.id);
      list("id_like", rule.match.id_like);
      list("arch", rule.match.arch);
      list("firmware", rule.match.firmware);
      list("packages", rule.match.packages);
      list("files", rule.match.files);
      list("initramfs_tool", rule.match.initramfs_tool);
      if (auto n = m["version_min"]) {
        rule.match.version_min = scalar(n, problems, "match.version_min").value_or("");
      }
      if (auto n = m["version_max"]) {
        rule.match.version_max = scalar(n, problems, "match.version_max").value_or("");
      }
      if (!rule.match.version_min.empty() && !rule.match.version_max.empty()
          && compare_versions(rule.match.version_min, rule.match.version_max) > 0) {
        problems.add(m["version_min"].Mark(),
                     fmt::format("match.version_min {} is above match.version_max {}: the rule "
                                 "can never match",
                                 rule.match.version_min, rule.match.version_max));
      }
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
    if (rule.extends.empty()) {
      problems.add(root->Mark(), "missing key 'actions'");
    }
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
        action.params[p.name] = param_value(value, p, *spec, problems);
      }
      if (spec->check) {
        for (const auto& problem : spec->check(action, *spec)) {
          problems.add_at(problem.location, problem.message);
        }
      }
      rule.actions.push_back(std::move(action));
    }
  }
  return rule;
}

} // namespace

Result<std::vector<Rule>> parse_rule_file(const std::string& text, const std::string& file)
{
  Problems problems(file);
  auto docs = load_yaml_documents(text, problems);
  if (!docs) {
    return fail("{}", problems.text());
  }
  std::vector<Rule> rules;
  std::map<std::string, SourceLocation> seen;
  for (const auto& doc : *docs) {
    if (doc.IsNull()) {
      continue;
    }
    if (!doc.IsMap()) {
      problems.add(doc.Mark(), "a rule must be a mapping with id, description, match and actions");
      continue;
    }
    Rule rule = parse_rule_node(&doc, file, problems);
    if (!rule.id.empty()) {
      auto [it, fresh] = seen.emplace(rule.id, rule.location);
      if (!fresh) {
        problems.add(doc.Mark(), fmt::format("a second rule with id '{}' in this file (the first "
                                             "is at line {})",
                                             rule.id, it->second.line));
      }
    }
    rules.push_back(std::move(rule));
  }
  if (rules.empty() && problems.empty()) {
    problems.add_plain("holds no rule");
  }
  if (!problems.empty()) {
    return fail("{}", problems.text());
  }
  return rules;
}

Result<Rule> parse_rule(const std::string& text, const std::string& file)
{
  auto rules = parse_rule_file(text, file);
  if (!rules) {
    return std::unexpected(rules.error());
  }
  if (rules->size() != 1) {
    return fail("{}: holds {} rules, expected one", file, rules->size());
  }
  return std::move(rules->front());
}

namespace {

// "0000:00:06.0": domain, bus, device and function of a PCI address, as sysfs writes them.
bool is_pci_address(const std::string& s)
{
  static const std::string k_shape = "xxxx:xx:xx.x";
  if (s.size() != k_shape.size()) {
    return false;
  }
  for (size_t i = 0; i < s.size(); ++i) {
    bool hex = std::isxdigit(static_cast<unsigned char>(s[i]))
               && !std::isupper(static_cast<unsigned char>(s[i]));
    if (k_shape[i] == 'x' ? !hex : s[i] != k_shape[i]) {
      return false;
    }
  }
  return s.back() >= '0' && s.back() <= '7';
}

// `network.nics`: a list of {pci, name} mappings; the first is the first interface.
std::vector<TargetNic> target_nics(const YAML::Node& node, const std::string& first_interface,
                                   Problems& problems)
{
  std::vector<TargetNic> out;
  if (!node.IsSequence()) {
    problems.add(node.Mark(), "network.nics must be a list of {pci, name} mappings");
    return out;
  }
  for (const auto& item : node) {
    if (!item.IsMap()) {
      problems.add(item.Mark(), "an item of network.nics must be a mapping with pci and name");
      continue;
    }
    check_keys(item, {"pci", "name"}, problems, "an item of network.nics");
    TargetNic nic;
    for (auto [key, to] : {std::pair{"pci", &nic.pci}, std::pair{"name", &nic.name}}) {
      if (auto v = item[key]) {
        *to = scalar(v, problems, fmt::format("network.nics {}", key)).value_or("");
      } else {
        problems.add(item.Mark(), fmt::format("missing key '{}' in an item of network.nics", key));
      }
    }
    if (item["pci"] && item["pci"].IsScalar() && !is_pci_address(nic.pci)) {
      problems.add(
          item["pci"].Mark(),
          fmt::format("network.nics pci '{}' is not a PCI address like 0000:00:05.0", nic.pci));
    }
    out.push_back(std::move(nic));
  }
  if (!out.empty() && !first_interface.empty() && out.front().name != first_interface) {
    problems.add(node.Mark(),
                 fmt::format("the first of network.nics is named '{}', but first_interface is '{}'",
                             out.front().name, first_interface));
  }
  return out;
}

} // namespace

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
             {"target", "description", "drivers", "kernel_args", "console", "network", "boot_test",
              "first_disk", "windows"},
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
  str(*root, "first_disk", t.first_disk, false);
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
      check_keys(n, {"first_interface", "nics"}, problems, "network");
      str(n, "first_interface", t.first_interface, false);
      if (auto nics = n["nics"]) {
        t.nics = target_nics(nics, t.first_interface, problems);
      }
    }
  }
  if (auto b = (*root)["boot_test"]) {
    if (!b.IsMap()) {
      problems.add(b.Mark(), "boot_test must be a mapping");
    } else {
      check_keys(b, {"machine", "firmware", "disk", "nic"}, problems, "boot_test");
      str(b, "machine", t.boot_test.machine, false);
      str(b, "disk", t.boot_test.disk, true);
      str(b, "nic", t.boot_test.nic, false);
      if (auto f = b["firmware"]) {
        t.boot_test.firmwares = string_list(f, problems, "boot_test.firmware");
        for (const auto& name : t.boot_test.firmwares) {
          if (name != "bios" && name != "uefi") {
            problems.add(f.Mark(), "boot_test.firmware must be bios, uefi or a list of them");
          }
        }
        if (t.boot_test.firmwares.empty()) {
          problems.add(f.Mark(), "boot_test.firmware must name bios, uefi or both");
        } else {
          t.boot_test.firmware = t.boot_test.firmwares.front();
        }
      }
    }
  } else {
    problems.add(root->Mark(), "missing key 'boot_test'");
  }
  if (auto w = (*root)["windows"]) {
    if (!w.IsMap()) {
      problems.add(w.Mark(), "windows must be a mapping");
    } else {
      check_keys(w, {"storage_ids", "inbox_storage", "utc", "san_policy", "drivers", "ems_port"},
                 problems, "windows");
      if (auto ids = w["storage_ids"]) {
        t.windows.storage_ids = string_list(ids, problems, "windows.storage_ids");
      } else {
        problems.add(w.Mark(), "missing key 'windows.storage_ids'");
      }
      if (auto inbox = w["inbox_storage"]) {
        t.windows.inbox_storage = string_list(inbox, problems, "windows.inbox_storage");
      }
      std::string utc = "false";
      str(w, "utc", utc, false);
      if (utc != "true" && utc != "false") {
        problems.add(w["utc"].Mark(), "windows.utc must be true or false");
      }
      t.windows.utc = utc == "true";
      str(w, "san_policy", t.windows.san_policy, false);
      str(w, "drivers", t.windows.drivers, false);
      std::string ems_port = "0";
      str(w, "ems_port", ems_port, false);
      if (ems_port.size() != 1 || ems_port[0] < '0' || ems_port[0] > '4') {
        problems.add(w["ems_port"].Mark(), "windows.ems_port must be a COM port number, 1 to 4 "
                                           "(0: no serial console)");
      } else {
        t.windows.ems_port = ems_port[0] - '0';
      }
    }
  }
  t.windows.name = t.name;
  if (!problems.empty()) {
    return fail("{}", problems.text());
  }
  return t;
}

namespace {

struct RuleFiles {
  std::vector<fs::path> rules;
  std::vector<fs::path> targets;
};

// *.yaml and targets/*.yaml of a rules directory, sorted; a file path stands for itself (a
// file under a "targets" directory is a target profile).
RuleFiles rule_files_of(const std::string& path, std::vector<std::string>& errors)
{
  RuleFiles files;
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) {
    if (fs::path(path).parent_path().filename() == "targets") {
      files.targets.emplace_back(path);
    } else {
      files.rules.emplace_back(path);
    }
    return files;
  }
  if (!fs::is_directory(path, ec)) {
    errors.push_back(fmt::format("{}: not a rules directory or file", path));
    return files;
  }
  for (const auto& e : fs::directory_iterator(path, ec)) {
    if (e.path().extension() == ".yaml" && e.is_regular_file()) {
      files.rules.push_back(e.path());
    }
  }
  for (const auto& e : fs::directory_iterator(fs::path(path) / "targets", ec)) {
    if (e.path().extension() == ".yaml" && e.is_regular_file()) {
      files.targets.push_back(e.path());
    }
  }
  std::sort(files.rules.begin(), files.rules.end());
  std::sort(files.targets.begin(), files.targets.end());
  return files;
}

Result<TargetProfile> load_target_file(const fs::path& path)
{
  auto text = read_host_file(path);
  auto target = text ? parse_target(*text, path.string()) : std::unexpected(text.error());
  if (target && target->name != path.stem().string()) {
    return fail("{}:1:1: target '{}' must be in a file named {}.yaml", path.string(), target->name,
                target->name);
  }
  return target;
}

// Resolves `extends` chains: match conditions of the base apply unless the rule sets its own;
// the base's actions come first.
Result<void> resolve_extends(std::vector<Rule>& rules)
{
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < rules.size(); ++i) {
    index[rules[i].id] = i;
  }
  std::vector<std::string> errors;
  std::vector<Rule> resolved = rules;
  for (size_t i = 0; i < rules.size(); ++i) {
    std::vector<const Rule*> chain;
    std::set<std::string> seen = {rules[i].id};
    const Rule* current = &rules[i];
    bool broken = false;
    while (!current->extends.empty()) {
      auto it = index.find(current->extends);
      if (it == index.end()) {
        std::vector<std::string> ids;
        for (const auto& [id, _] : index) {
          if (id != current->id) {
            ids.push_back(id);
          }
        }
        std::string hint = did_you_mean(current->extends, ids);
        errors.push_back(fmt::format("{}: rule '{}' extends '{}', which does not exist{}",
                                     current->location.text(), current->id, current->extends,
                                     hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
        broken = true;
        break;
      }
      if (!seen.insert(current->extends).second) {
        errors.push_back(fmt::format("{}: rule '{}' extends itself through '{}'",
                                     rules[i].location.text(), rules[i].id, current->extends));
        broken = true;
        break;
      }
      current = &rules[it->second];
      chain.push_back(current);
    }
    if (broken || chain.empty()) {
      continue;
    }
    Rule& out = resolved[i];
    std::vector<Action> actions;
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
      actions.insert(actions.end(), (*it)->actions.begin(), (*it)->actions.end());
      auto inherit = [](std::vector<std::string>& mine, const std::vector<std::string>& base) {
        if (mine.empty()) {
          mine = base;
        }
      };
      const Match& base = (*it)->match;
      Match& m = out.match;
      inherit(m.family, base.family);
      inherit(m.id, base.id);
      inherit(m.id_like, base.id_like);
      inherit(m.arch, base.arch);
      inherit(m.firmware, base.firmware);
      inherit(m.initramfs_tool, base.initramfs_tool);
      inherit(m.bootloader, base.bootloader);
      inherit(m.target, base.target);
      inherit(m.packages, base.packages);
      inherit(m.files, base.files);
      if (!m.major_min) {
        m.major_min = base.major_min;
      }
      if (!m.major_max) {
        m.major_max = base.major_max;
      }
      if (m.version_min.empty()) {
        m.version_min = base.version_min;
      }
      if (m.version_max.empty()) {
        m.version_max = base.version_max;
      }
    }
    actions.insert(actions.end(), rules[i].actions.begin(), rules[i].actions.end());
    out.actions = std::move(actions);
  }
  if (!errors.empty()) {
    std::string all;
    for (const auto& e : errors) {
      all += (all.empty() ? "" : "\n") + e;
    }
    return fail("{}", all);
  }
  rules = std::move(resolved);
  return {};
}

} // namespace

Result<RuleSet> load_rules(const std::vector<std::string>& dirs)
{
  RuleSet set;
  std::vector<std::string> errors;
  std::vector<Rule> rules; // in order of first appearance of each id
  std::map<std::string, size_t> index;
  for (const auto& dir : dirs) {
    RuleFiles files = rule_files_of(dir, errors);
    for (const auto& path : files.targets) {
      auto target = load_target_file(path);
      if (!target) {
        errors.push_back(target.error().message);
        continue;
      }
      set.targets[target->name] = std::move(*target);
    }
    for (const auto& path : files.rules) {
      auto text = read_host_file(path);
      auto parsed = text ? parse_rule_file(*text, path.string()) : std::unexpected(text.error());
      if (!parsed) {
        errors.push_back(parsed.error().message);
        continue;
      }
      for (auto& rule : *parsed) {
        auto it = index.find(rule.id);
        if (it == index.end()) {
          index[rule.id] = rules.size();
          rules.push_back(std::move(rule));
        } else {
          // A later directory replaces the rule; it keeps its place in the order.
          Rule& old = rules[it->second];
          rule.replaced = old.replaced;
          rule.replaced.push_back(old.location.file);
          old = std::move(rule);
        }
      }
    }
  }
  if (errors.empty()) {
    if (auto r = resolve_extends(rules); !r) {
      errors.push_back(r.error().message);
    }
  }
  if (!errors.empty()) {
    std::string all;
    for (const auto& e : errors) {
      all += (all.empty() ? "" : "\n") + e;
    }
    return fail("{}", all);
  }
  set.rules = std::move(rules);
  return set;
}

std::vector<std::string> lint_rules(const std::vector<std::string>& paths,
                                    const std::vector<std::string>& known_rule_ids)
{
  std::vector<std::string> problems;
  std::vector<Rule> rules;
  std::set<std::string> ids(known_rule_ids.begin(), known_rule_ids.end());
  for (const auto& path : paths) {
    RuleFiles files = rule_files_of(path, problems);
    for (const auto& t : files.targets) {
      if (auto target = load_target_file(t); !target) {
        problems.push_back(target.error().message);
      }
    }
    for (const auto& f : files.rules) {
      auto text = read_host_file(f);
      auto parsed = text ? parse_rule_file(*text, f.string()) : std::unexpected(text.error());
      if (!parsed) {
        problems.push_back(parsed.error().message);
        continue;
      }
      for (auto& r : *parsed) {
        ids.insert(r.id);
        rules.push_back(std::move(r));
      }
    }
  }
  for (const auto& r : rules) {
    if (!r.extends.empty() && !ids.count(r.extends)) {
      std::vector<std::string> others;
      for (const auto& id : ids) {
        if (id != r.id) {
          others.push_back(id);
        }
      }
      std::string hint = did_you_mean(r.extends, others);
      problems.push_back(fmt::format("{}: rule '{}' extends '{}', which does not exist{}",
                                     r.location.text(), r.id, r.extends,
                                     hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
    }
  }
  // One problem per line, whatever each file reported.
  std::vector<std::string> lines;
  for (const auto& p : problems) {
    std::istringstream in(p);
    std::string line;
    while (std::getline(in, line)) {
      lines.push_back(line);
    }
  }
  return lines;
}

Result<std::vector<std::string>> rules_search_path(const std::vector<std::string>& command_line)
{
  std::vector<std::string> dirs = {builtin_rules_dir()};
  if (const char* env = std::getenv("REHOST_RULES_PATH"); env && *env) {
    std::istringstream in(env);
    std::string dir;
    while (std::getline(in, dir, ':')) {
      if (!dir.empty()) {
        dirs.push_back(dir);
      }
    }
  }
  std::vector<std::string> configs;
  if (const char* env = std::getenv("REHOST_CONFIG"); env && *env) {
    configs.emplace_back(env);
  } else {
    configs.emplace_back("/etc/rehost/config.yaml");
    const char* xdg = std::getenv("XDG_CONFIG_HOME");
    const char* home = std::getenv("HOME");
    if (xdg && *xdg) {
      configs.push_back(std::string(xdg) + "/rehost/config.yaml");
    } else if (home && *home) {
      configs.push_back(std::string(home) + "/.config/rehost/config.yaml");
    }
  }
  for (const auto& config : configs) {
    std::error_code ec;
    if (!fs::exists(config, ec)) {
      continue;
    }
    auto text = read_host_file(config);
    if (!text) {
      return std::unexpected(text.error());
    }
    Problems problems(config);
    auto root = load_yaml(*text, problems);
    if (!root) {
      return fail("{}", problems.text());
    }
    if (root->IsNull()) {
      continue;
    }
    if (!root->IsMap()) {
      return fail("{}:1:1: the configuration must be a mapping", config);
    }
    check_keys(*root, {"rules_dirs"}, problems, "the configuration");
    if (auto list = (*root)["rules_dirs"]) {
      for (auto& d : string_list(list, problems, "rules_dirs")) {
        // Relative directories are relative to the configuration file.
        dirs.push_back(fs::path(d).is_absolute() ? d
                                                 : (fs::path(config).parent_path() / d).string());
      }
    }
    if (!problems.empty()) {
      return fail("{}", problems.text());
    }
  }
  dirs.insert(dirs.end(), command_line.begin(), command_line.end());
  return dirs;
}

std::string drivers_data_dir()
{
  if (const char* env = std::getenv("REHOST_DRIVERS_DIR"); env && *env) {
    return env;
  }
  // share/rehost/drivers, next to the installed rules.
  return (fs::path(REHOST_INSTALLED_RULES_DIR).parent_path() / "drivers").string();
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
                  std::string* why, Guest* guest)
{
  auto no = [&](std::string reason) {
    if (why) {
      *why = std::move(reason);
    }
    return false;
  };
  auto list = [](const std::vector<std::string>& v) {
    std::string out;
    for (const auto& x : v) {
      out += (out.empty() ? "" : ", ") + x;
    }
    return out;
  };
  auto check = [&](const std::vector<std::string>& allowed, const std::string& value,
                   const char* what) {
    if (allowed.empty() || std::find(allowed.begin(), allowed.end(), value) != allowed.end()) {
      return true;
    }
    return no(fmt::format("{} is '{}', the rule wants {}", what, value, list(allowed)));
  };
  const Match& m = rule.match;
  if (!check(m.family, in.os.family, "os family") || !check(m.id, in.os.id, "os id")
      || !check(m.arch, in.os.arch, "arch") || !check(m.firmware, in.firmware, "firmware")
      || !check(m.initramfs_tool, in.initramfs_tool, "initramfs tool")
      || !check(m.bootloader, in.bootloader, "bootloader") || !check(m.target, target, "target")) {
    return false;
  }
  if (!m.id_like.empty()) {
    bool any = std::any_of(m.id_like.begin(), m.id_like.end(), [&](const auto& l) {
      return l == in.os.id
             || std::find(in.os.id_like.begin(), in.os.id_like.end(), l) != in.os.id_like.end();
    });
    if (!any) {
      return no(fmt::format("os id '{}' (like {}) is none of {}", in.os.id,
                            in.os.id_like.empty() ? "nothing" : list(in.os.id_like),
                            list(m.id_like)));
    }
  }
  if (m.major_min && (!in.os.major || *in.os.major < *m.major_min)) {
    return no(fmt::format("os major version {} is below {}",
                          in.os.major ? std::to_string(*in.os.major) : "unknown", *m.major_min));
  }
  if (m.major_max && (!in.os.major || *in.os.major > *m.major_max)) {
    return no(fmt::format("os major version {} is above {}",
                          in.os.major ? std::to_string(*in.os.major) : "unknown", *m.major_max));
  }
  if (!m.version_min.empty() && compare_versions(in.os.version_id, m.version_min) < 0) {
    return no(fmt::format("os version {} is below {}", in.os.version_id, m.version_min));
  }
  if (!m.version_max.empty() && compare_versions(in.os.version_id, m.version_max) > 0) {
    return no(fmt::format("os version {} is above {}", in.os.version_id, m.version_max));
  }
  if (!m.packages.empty() && std::none_of(m.packages.begin(), m.packages.end(), [&](const auto& p) {
        return in.has_package(p);
      })) {
    return no(fmt::format("none of the packages {} is installed", list(m.packages)));
  }
  if (!m.files.empty()
      && (!guest || std::none_of(m.files.begin(), m.files.end(), [&](const auto& f) {
           return exists(*guest, f);
         }))) {
    return no(fmt::format("none of the files {} exists", list(m.files)));
  }
  return true;
}

} // namespace rehost
