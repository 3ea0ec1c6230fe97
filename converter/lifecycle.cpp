#include "converter/lifecycle.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace rehost {

namespace {

struct StateName {
  LifecycleState state;
  const char* token;
  const char* text;
};

constexpr std::array k_states = {
    StateName{LifecycleState::not_ready, "not-ready", "not ready"},
    StateName{LifecycleState::ready_for_testing, "ready-for-testing", "ready for testing"},
    StateName{LifecycleState::test_in_progress, "test-in-progress", "test in progress"},
    StateName{LifecycleState::ready_for_cutover, "ready-for-cutover", "ready for cutover"},
    StateName{LifecycleState::cutover_in_progress, "cutover-in-progress", "cutover in progress"},
    StateName{LifecycleState::cutover_complete, "cutover-complete", "cutover complete"},
    StateName{LifecycleState::finalized, "finalized", "finalized"},
};

constexpr std::array<std::pair<ReplicationState, const char*>, 4> k_replication = {{
    {ReplicationState::initial_sync, "initial-sync"},
    {ReplicationState::continuous, "continuous"},
    {ReplicationState::stalled, "stalled"},
    {ReplicationState::disconnected, "disconnected"},
}};

// The command that performs an action on `name`, for refusal messages.
std::string command_for(LifecycleAction action, const std::string& name)
{
  switch (action) {
  case LifecycleAction::launch_test:
    return "rehost launch " + name + " --mode test";
  case LifecycleAction::launch_cutover:
    return "rehost launch " + name + " --mode cutover";
  case LifecycleAction::finalize:
    return "rehost finalize " + name;
  case LifecycleAction::archive:
    return "rehost archive " + name;
  case LifecycleAction::set_replication:
    return "rehost machines replication " + name + " STATE";
  }
  return {};
}

// Why `action` is not allowed in `state`, as a clause after "is not allowed".
std::string refusal_reason(LifecycleState state, LifecycleAction action)
{
  if (state == LifecycleState::test_in_progress || state == LifecycleState::cutover_in_progress) {
    return " while a launch is in progress";
  }
  if (state == LifecycleState::not_ready) {
    return " until replication has reached continuous";
  }
  if (action == LifecycleAction::launch_cutover && state == LifecycleState::ready_for_testing) {
    return " before a test launch succeeded";
  }
  if (action == LifecycleAction::finalize || action == LifecycleAction::archive) {
    return action == LifecycleAction::finalize ? " before the cutover is complete"
                                               : " before the machine is finalized";
  }
  if (state == LifecycleState::cutover_complete || state == LifecycleState::finalized) {
    return " after the cutover";
  }
  return "";
}

std::string allowed_text(const MachineStatus& machine)
{
  auto allowed = allowed_actions(machine);
  if (allowed.empty()) {
    if (machine.archived == Archived::yes) {
      return "none (the machine is archived)";
    }
    return "none";
  }
  std::string text;
  for (auto action : allowed) {
    text += (text.empty() ? "" : ", ") + describe(action) + " (" + command_for(action, machine.name)
            + ")";
  }
  return text;
}

} // namespace

std::string to_token(LifecycleState state)
{
  for (const auto& s : k_states) {
    if (s.state == state) {
      return s.token;
    }
  }
  return "unknown";
}

std::string to_token(ReplicationState state)
{
  for (const auto& [s, token] : k_replication) {
    if (s == state) {
      return token;
    }
  }
  return "unknown";
}

std::string to_token(LaunchMode mode)
{
  return mode == LaunchMode::test ? "test" : "cutover";
}

std::string describe(LifecycleState state)
{
  for (const auto& s : k_states) {
    if (s.state == state) {
      return s.text;
    }
  }
  return "unknown";
}

std::string describe(LifecycleAction action)
{
  switch (action) {
  case LifecycleAction::launch_test:
    return "test launch";
  case LifecycleAction::launch_cutover:
    return "cutover launch";
  case LifecycleAction::finalize:
    return "finalize";
  case LifecycleAction::archive:
    return "archive";
  case LifecycleAction::set_replication:
    return "set replication";
  }
  return "unknown";
}

std::optional<LifecycleState> parse_lifecycle_state(const std::string& token)
{
  for (const auto& s : k_states) {
    if (token == s.token) {
      return s.state;
    }
  }
  return std::nullopt;
}

std::optional<ReplicationState> parse_replication_state(const std::string& token)
{
  for (const auto& [s, t] : k_replication) {
    if (token == t) {
      return s;
    }
  }
  return std::nullopt;
}

std::optional<LaunchMode> parse_launch_mode(const std::string& token)
{
  if (token == "test") {
    return LaunchMode::test;
  }
  if (token == "cutover") {
    return LaunchMode::cutover;
  }
  return std::nullopt;
}

const std::vector<std::string>& settable_replication_tokens()
{
  static const std::vector<std::string> tokens = {"initial-sync", "continuous", "stalled"};
  return tokens;
}

LifecycleAction launch_action(LaunchMode mode)
{
  return mode == LaunchMode::test ? LifecycleAction::launch_test : LifecycleAction::launch_cutover;
}

std::vector<LifecycleAction> allowed_actions(const MachineStatus& machine)
{
  using A = LifecycleAction;
  if (machine.archived == Archived::yes) {
    return {};
  }
  switch (machine.state) {
  case LifecycleState::not_ready:
  case LifecycleState::test_in_progress:
  case LifecycleState::cutover_in_progress:
    return {A::set_replication};
  case LifecycleState::ready_for_testing:
    return {A::launch_test, A::set_replication};
  case LifecycleState::ready_for_cutover:
    return {A::launch_test, A::launch_cutover, A::set_replication};
  case LifecycleState::cutover_complete:
    return {A::finalize, A::set_replication};
  case LifecycleState::finalized:
    return {A::archive};
  }
  return {};
}

Result<void> check_action(const MachineStatus& machine, LifecycleAction action)
{
  auto allowed = allowed_actions(machine);
  const std::string state =
      describe(machine.state) + (machine.archived == Archived::yes ? " and archived" : "");
  if (std::find(allowed.begin(), allowed.end(), action) == allowed.end()) {
    std::string reason = machine.archived == Archived::yes ? std::string(" on an archived machine")
                                                           : refusal_reason(machine.state, action);
    if (action == LifecycleAction::set_replication && machine.state == LifecycleState::finalized) {
      reason = " after finalize (replication is disconnected)";
    }
    return fail("{} is in state '{}': {} is not allowed{}; allowed now: {}", machine.name, state,
                describe(action), reason, allowed_text(machine));
  }
  bool launch = action == LifecycleAction::launch_test || action == LifecycleAction::launch_cutover;
  if (launch && machine.replication != ReplicationState::continuous) {
    return fail("{} is in state '{}' but its replication is {}: a {} needs continuous "
                "replication; wait until the replicator reports it (rehost machines replication {} "
                "continuous)",
                machine.name, state, to_token(machine.replication), describe(action), machine.name);
  }
  return {};
}

LifecycleState state_during_launch(LaunchMode mode)
{
  return mode == LaunchMode::test ? LifecycleState::test_in_progress
                                  : LifecycleState::cutover_in_progress;
}

LifecycleState state_after_launch(LaunchMode mode)
{
  return mode == LaunchMode::test ? LifecycleState::ready_for_cutover
                                  : LifecycleState::cutover_complete;
}

LifecycleState state_after_replication(LifecycleState state, ReplicationState replication)
{
  if (state == LifecycleState::not_ready && replication == ReplicationState::continuous) {
    return LifecycleState::ready_for_testing;
  }
  return state;
}

} // namespace rehost
