// The migration lifecycle of a source machine: which actions each state allows.
//
// A machine moves along one line, and only rehost moves it:
//   not ready -> ready for testing -> test in progress -> ready for cutover
//     -> cutover in progress -> cutover complete -> finalized
// Replication becoming continuous makes a machine that is not ready ready for testing. A launch
// moves it to "... in progress" for as long as its job runs; success moves it on, failure (or a
// job whose process died) moves it back to where it was. Test launches may be repeated from
// "ready for cutover"; the cutover may be repeated only after a failed one. Archiving is a flag
// on a finalized machine that hides it from the default list. Launches also need continuous
// replication: a stalled or unfinished replica is not worth converting.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "converter/error.hpp"

namespace rehost {

enum class LifecycleState {
  not_ready,
  ready_for_testing,
  test_in_progress,
  ready_for_cutover,
  cutover_in_progress,
  cutover_complete,
  finalized,
};

enum class ReplicationState { initial_sync, continuous, stalled, disconnected };

enum class LaunchMode { test, cutover };

enum class Archived { no, yes };

// What a user can ask of a machine.
enum class LifecycleAction { launch_test, launch_cutover, finalize, archive, set_replication };

// The lifecycle-relevant part of a machine.
struct MachineStatus {
  std::string name;
  LifecycleState state = LifecycleState::not_ready;
  ReplicationState replication = ReplicationState::initial_sync;
  Archived archived = Archived::no;
};

// "ready-for-testing": the token stored and printed in JSON.
std::string to_token(LifecycleState state);
std::string to_token(ReplicationState state);
std::string to_token(LaunchMode mode);
// "ready for testing": for people.
std::string describe(LifecycleState state);
// "test launch", "cutover launch", "finalize", "archive", "set replication".
std::string describe(LifecycleAction action);

// Parses a token; nullopt for an unknown one.
std::optional<LifecycleState> parse_lifecycle_state(const std::string& token);
std::optional<ReplicationState> parse_replication_state(const std::string& token);
std::optional<LaunchMode> parse_launch_mode(const std::string& token);

// The replication states a replicator may report (`rehost machines replication`); disconnected
// is set only by finalize.
const std::vector<std::string>& settable_replication_tokens();

// The action that launches in `mode`.
LifecycleAction launch_action(LaunchMode mode);

// The actions the lifecycle state and the archive flag allow, in lifecycle order (replication
// is not considered: see check_action).
std::vector<LifecycleAction> allowed_actions(const MachineStatus& machine);

// Whether `action` may run now. The error is one line naming the machine, its state, why the
// action is refused and what is allowed instead, e.g. "web1 is in state 'ready for testing':
// cutover launch is not allowed before a test launch succeeded; allowed now: test launch
// (rehost launch web1 --mode test), set replication (rehost machines replication web1 STATE)".
Result<void> check_action(const MachineStatus& machine, LifecycleAction action);

// The state while a launch in `mode` runs, and after it succeeded.
LifecycleState state_during_launch(LaunchMode mode);
LifecycleState state_after_launch(LaunchMode mode);

// The lifecycle state once replication is reported as `replication` (only a machine that is
// not ready changes: continuous replication makes it ready for testing).
LifecycleState state_after_replication(LifecycleState state, ReplicationState replication);

} // namespace rehost
