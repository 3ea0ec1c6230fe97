// What the action implementations share: variable expansion, recorded guest commands, and the
// registry each actions_*.cpp file contributes to.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "converter/actions.hpp"

namespace rehost {

// Values of ${name} variables; a list variable may expand to several words.
using Vars = std::map<std::string, std::vector<std::string>>;

// Expands ${name} in each word; a word that is exactly one list variable becomes its items.
std::vector<std::string> expand(const std::vector<std::string>& words, const Vars& vars);

// ${target.name}, ${target.console}, ${target.first_interface}.
Vars target_vars(const ActionContext& context);

// target_vars and the guest's identity: ${os.id}, ${os.version}, ${os.major}, ${os.family},
// ${os.arch}, ${os.codename}.
Vars guest_vars(const ActionContext& context);

// The names guest_vars() offers, for an action's schema, with `more` after them.
std::vector<const char*> guest_var_names(std::vector<const char*> more = {});

// `text` with every ${name} of `vars` replaced (list variables joined by blanks) and each "$${"
// turned into "${", so a template can hold shell syntax.
std::string substitute(const std::string& text, const Vars& vars);

// Writes a whole guest file with `mode` and records it with its diff (nothing when the file
// already holds `content` with that mode). An existing file of another mode is replaced.
Result<void> write_guest_file(ActionContext& context, ActionRecord& record, const std::string& path,
                              const std::string& content, uint32_t mode);

// Load-time checks shared by action types: each named parameter, when given, is "true" or
// "false"; exactly one of two parameters is given.
void check_flags(const Action& action, const std::vector<const char*>& names,
                 std::vector<ActionProblem>& problems);
void check_one_of(const Action& action, const char* a, const char* b,
                  std::vector<ActionProblem>& problems);

// The text of an action that takes `content` inline or a `source` file next to its rule, with
// its variables not yet substituted.
Result<std::string> content_or_source(const Action& action);

// Load-time check of `content`/`source`: exactly one is given, the source can be read, and
// its ${...} variables are ones the action offers.
void check_content_or_source(const Action& action, const ActionSpec& spec,
                             std::vector<ActionProblem>& problems);

// A host file named by a rule, relative to the rule file's directory unless absolute.
std::string rule_relative_path(const Action& action, const std::string& path);

// The last `lines` lines of `text`.
std::string tail_lines(const std::string& text, size_t lines);

std::string join(const std::vector<std::string>& words, const char* separator = " ");

// Runs a guest command and records it in `record`; a non-zero exit is an error naming the
// command and its last line of output.
Result<CommandResult> run_recorded(ActionContext& context, ActionRecord& record,
                                   const std::vector<std::string>& argv);

// The action types of each area (actions_*.cpp).
std::vector<ActionType> file_action_types();
std::vector<ActionType> boot_action_types();
std::vector<ActionType> bootloader_action_types();
std::vector<ActionType> driver_action_types();
std::vector<ActionType> package_action_types();
std::vector<ActionType> network_action_types();
std::vector<ActionType> windows_action_types();
std::vector<ActionType> config_action_types();
std::vector<ActionType> firstboot_action_types();

} // namespace rehost
