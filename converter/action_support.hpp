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

} // namespace rehost
