// Rules and target profiles: data in YAML under rules/, validated when loaded.
//
// A rule file holds one rule: an id, a description, `match` conditions over the inspection
// result and the target, and an ordered list of typed actions. A target profile
// (rules/targets/NAME.yaml) says what a platform needs: drivers, kernel arguments, console,
// network naming, and the devices its boot test uses. The schema is documented in
// rules/README.md; every error names file:line:column.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "converter/error.hpp"

namespace rehost {

struct Inspection;

struct SourceLocation {
  std::string file;
  int line = 0;   // 1-based
  int column = 0; // 1-based

  std::string text() const; // "file:line:column"
};

struct BootTestDevices {
  std::string machine = "pc";    // qemu -machine
  std::string firmware = "bios"; // "bios" or "uefi"
  std::string disk;              // qemu device for the disk: "nvme", "virtio-blk-pci", ...
  std::string nic;               // qemu device for the NIC, or "" for none
};

struct TargetProfile {
  std::string name;
  std::string description;
  SourceLocation location;
  std::vector<std::string> storage_drivers;
  std::vector<std::string> network_drivers;
  std::vector<std::string> kernel_args_add;    // "console=ttyS0,115200n8"
  std::vector<std::string> kernel_args_remove; // keys: "console"
  std::string console;                         // "ttyS0"
  std::string first_interface;                 // "ens5"
  BootTestDevices boot_test;

  std::vector<std::string> all_drivers() const;
};

// A parameter value: a string or a list of strings.
struct ParamValue {
  bool is_list = false;
  std::string scalar;
  std::vector<std::string> list;
  SourceLocation location;
};

struct Action {
  std::string type;
  SourceLocation location;
  std::map<std::string, ParamValue> params;

  // Parameters (already validated at load, so these do not fail on a loaded rule).
  std::string str(const std::string& name, const std::string& fallback = {}) const;
  std::vector<std::string> list(const std::string& name) const;
  bool has(const std::string& name) const { return params.count(name) > 0; }
};

struct Match {
  std::vector<std::string> family;
  std::vector<std::string> id;
  std::vector<std::string> id_like;
  std::vector<std::string> initramfs_tool;
  std::vector<std::string> bootloader;
  std::vector<std::string> target;
  std::optional<int> major_min;
  std::optional<int> major_max;
};

struct Rule {
  std::string id;
  std::string description;
  SourceLocation location;
  Match match;
  std::vector<Action> actions;
};

enum class ParamType { string, list };

struct ParamSpec {
  const char* name;
  ParamType type;
  bool required;
  const char* description;
};

struct ActionSpec {
  const char* type;
  const char* description;
  std::vector<ParamSpec> params;
  std::vector<const char*> variables; // ${...} names allowed in its values
};

// The action types, their parameters and variables (the schema, also used by the docs).
const std::vector<ActionSpec>& action_specs();

struct RuleSet {
  std::vector<Rule> rules; // in order of application
  std::map<std::string, TargetProfile> targets;

  const TargetProfile* target(const std::string& name) const;
};

// Loads the rules of each directory in order (built-in first): *.yaml files are rules,
// targets/*.yaml are target profiles. A later rule or target with the same id replaces an
// earlier one. An error lists every problem found, one per line, as file:line:column: message.
Result<RuleSet> load_rules(const std::vector<std::string>& dirs);

// Parses one rule file / target profile from text (tests, lint).
Result<Rule> parse_rule(const std::string& text, const std::string& file);
Result<TargetProfile> parse_target(const std::string& text, const std::string& file);

// The built-in rules directory: $REHOST_RULES_DIR, else the source tree's rules/ when running
// from a build tree, else the installed share/rehost/rules.
std::string builtin_rules_dir();

// Whether `rule` applies to this guest and target; when not, `why` says which condition failed.
bool rule_matches(const Rule& rule, const Inspection& inspection, const std::string& target,
                  std::string* why = nullptr);

// The closest of `candidates` to `word` when it is a likely typo, else "".
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

} // namespace rehost
