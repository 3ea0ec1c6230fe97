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
  std::string machine = "pc"; // qemu -machine
  // The firmware booted: "bios" or "uefi" (OVMF). A profile lists those the target offers
  // (`firmwares`, its first the default); the boot test boots the guest's own (for_guest).
  // A profile that names none says nothing about its firmware: nothing is refused for it, and
  // the boot test boots the guest's own.
  std::string firmware = "bios";
  std::vector<std::string> firmwares;
  std::string disk; // qemu device for the disk: "nvme", "virtio-blk-pci", ...
  std::string nic;  // qemu device for the NIC, or "" for none

  // These devices with the firmware the guest boots, when the target offers it.
  BootTestDevices for_guest(const std::string& guest_firmware) const;
};

// What a target needs of a Windows guest (the `windows:` block of a target profile).
struct WindowsTarget {
  std::string name;                       // the target, for messages
  std::vector<std::string> storage_ids;   // hardware ids of the boot disk controller (prefixes)
  std::vector<std::string> inbox_storage; // Windows' own services that drive it, if present
  bool utc = false;                       // the hardware clock is UTC
  std::string san_policy = "OnlineAll";   // diskpart's SAN policy at first boot
  int ems_port =
      0; // the COM port of the platform's serial console (EMS/SAC at first boot), 0: none
  std::string drivers; // default driver packages directory as the profile writes it: absolute,
                       // or relative to drivers_data_dir() (--drivers overrides it)
};

// A NIC of the target at a position that does not change: the `network.nics` of a profile.
struct TargetNic {
  std::string pci;  // its PCI address, "0000:00:06.0" (udev's ID_PATH is "pci-" and this)
  std::string name; // the name predictable naming gives it there, "ens6"
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
  std::vector<TargetNic> nics; // in the order the target attaches NICs; empty: no such order
  std::string first_disk;      // "/dev/nvme0n1": how the guest sees its boot disk
  BootTestDevices boot_test;
  WindowsTarget windows; // what Windows guests need (the `windows:` block)

  std::vector<std::string> all_drivers() const;
};

struct ParamRecord;

// A parameter value: a string, a list of strings, a mapping of names to strings (`entries`, in
// the file's order), or a list of records (mappings of field names to values).
struct ParamValue {
  bool is_list = false;
  std::string scalar;
  std::vector<std::string> list;
  std::vector<std::pair<std::string, std::string>> entries;
  std::vector<ParamRecord> records;
  SourceLocation location;
};

struct ParamRecord {
  SourceLocation location;
  std::map<std::string, ParamValue> fields;

  // A field's string ("" when absent) and its list (a string is a list of one).
  std::string str(const std::string& name) const;
  std::vector<std::string> list(const std::string& name) const;
  bool has(const std::string& name) const { return fields.count(name) > 0; }
};

struct Action {
  std::string type;
  SourceLocation location;
  std::map<std::string, ParamValue> params;

  // Parameters (already validated at load, so these do not fail on a loaded rule).
  std::string str(const std::string& name, const std::string& fallback = {}) const;
  std::vector<std::string> list(const std::string& name) const;
  const std::vector<std::pair<std::string, std::string>>& entries(const std::string& name) const;
  const std::vector<ParamRecord>& records(const std::string& name) const;
  bool has(const std::string& name) const { return params.count(name) > 0; }
  // Where a parameter was written (the action's own place when it is absent).
  SourceLocation where(const std::string& name) const;
};

// Conditions over the inspection and the target; an empty list or unset bound is no condition.
struct Match {
  std::vector<std::string> family;
  std::vector<std::string> id;
  std::vector<std::string> id_like;
  std::vector<std::string> arch;
  std::vector<std::string> firmware;
  std::vector<std::string> initramfs_tool;
  std::vector<std::string> bootloader;
  std::vector<std::string> target;
  std::vector<std::string> packages; // any of them installed
  std::vector<std::string> files;    // any of these guest paths exists
  std::optional<int> major_min;
  std::optional<int> major_max;
  std::string version_min; // compared with os.version_id as package managers compare versions
  std::string version_max;
};

struct Rule {
  std::string id;
  std::string description;
  SourceLocation location;
  std::string extends; // id of the rule whose match and actions this one extends
  Match match;
  std::vector<Action> actions;       // after load_rules: the extended rule's actions first
  std::vector<std::string> replaced; // files of earlier rules with this id that it replaced
};

// string: a scalar; list: a list of strings (a scalar is a list of one); map: a mapping of
// names to strings; records: a list of mappings whose keys are `fields` and whose values are
// strings or lists of strings.
enum class ParamType { string, list, map, records };

struct ParamSpec {
  const char* name;
  ParamType type;
  bool required;
  const char* description;
  std::vector<const char*> fields = {}; // the keys a record may have (ParamType::records)
};

// A problem an action's own check finds in a loaded action.
struct ActionProblem {
  SourceLocation location;
  std::string message;
};

struct ActionSpec;

// Checks what the parameter types cannot say (which parameters go together, allowed words,
// files the action names); run when the rule is loaded, so a problem stops before any disk is
// touched.
using ActionCheck = std::vector<ActionProblem> (*)(const Action&, const ActionSpec&);

struct ActionSpec {
  const char* type;
  const char* description;
  std::vector<ParamSpec> params;
  std::vector<const char*> variables; // ${...} names allowed in its values
  ActionCheck check = nullptr;
};

// The problems of the ${name} references in `text` that `spec` does not offer, one message
// each ("unknown variable '${x}' in a template action (did you mean '${y}'?)"). "$${" is an
// escaped "${" and no reference.
std::vector<std::string> variable_problems(const std::string& text, const ActionSpec& spec);

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

// Parses a rule file: one rule per YAML document (documents are separated by "---").
Result<std::vector<Rule>> parse_rule_file(const std::string& text, const std::string& file);

// Parses text that holds exactly one rule (tests).
Result<Rule> parse_rule(const std::string& text, const std::string& file);

// Checks rule files and target profiles without loading them into a set: every problem of
// every file, as file:line:column: message lines. A directory means its *.yaml and
// targets/*.yaml. Also checks `extends` against `known_rule_ids`.
std::vector<std::string> lint_rules(const std::vector<std::string>& paths,
                                    const std::vector<std::string>& known_rule_ids = {});
Result<TargetProfile> parse_target(const std::string& text, const std::string& file);

// The built-in rules directory: $REHOST_RULES_DIR, else the source tree's rules/ when running
// from a build tree, else the installed share/rehost/rules.
std::string builtin_rules_dir();

// Where the driver packages of the targets are installed, each in a directory the profile's
// `windows.drivers` names: $REHOST_DRIVERS_DIR, else the installed share/rehost/drivers.
std::string drivers_data_dir();

class Guest;

// Whether `rule` applies to this guest and target; when not, `why` says which condition failed.
// `guest` answers `files` conditions (none of them hold without it).
bool rule_matches(const Rule& rule, const Inspection& inspection, const std::string& target,
                  std::string* why = nullptr, Guest* guest = nullptr);

// The directories rules come from, in order: the built-in rules, then each directory of
// $REHOST_RULES_PATH (colon-separated), then `rules_dirs` of the config file
// ($REHOST_CONFIG, else /etc/rehost/config.yaml and ~/.config/rehost/config.yaml), then the
// --rules-dir options. The command line comes last, so it wins.
Result<std::vector<std::string>> rules_search_path(const std::vector<std::string>& command_line);

// The closest of `candidates` to `word` when it is a likely typo, else "".
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

} // namespace rehost
