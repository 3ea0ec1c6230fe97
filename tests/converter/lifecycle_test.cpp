// The lifecycle state machine: which action each state allows, and what a refusal says.
#include <algorithm>

#include <doctest/doctest.h>

#include "converter/lifecycle.hpp"

using namespace rehost;

namespace {

MachineStatus machine(LifecycleState state,
                      ReplicationState replication = ReplicationState::continuous,
                      Archived archived = Archived::no)
{
  return {"web1", state, replication, archived};
}

bool allows(const MachineStatus& m, LifecycleAction action)
{
  return check_action(m, action).has_value();
}

} // namespace

TEST_SUITE("unit")
{
  TEST_CASE("a machine moves along the lifecycle only through the allowed actions")
  {
    using S = LifecycleState;
    using A = LifecycleAction;
    // Every (state, action) pair: what is allowed with continuous replication.
    struct Row {
      S state;
      bool test, cutover, finalize, archive, replication;
    };
    const Row table[] = {
        {S::not_ready, false, false, false, false, true},
        {S::ready_for_testing, true, false, false, false, true},
        {S::test_in_progress, false, false, false, false, true},
        {S::ready_for_cutover, true, true, false, false, true},
        {S::cutover_in_progress, false, false, false, false, true},
        {S::cutover_complete, false, false, true, false, true},
        {S::finalized, false, false, false, true, false},
    };
    for (const auto& row : table) {
      CAPTURE(to_token(row.state));
      auto m = machine(row.state);
      CHECK(allows(m, A::launch_test) == row.test);
      CHECK(allows(m, A::launch_cutover) == row.cutover);
      CHECK(allows(m, A::finalize) == row.finalize);
      CHECK(allows(m, A::archive) == row.archive);
      CHECK(allows(m, A::set_replication) == row.replication);
    }
  }

  TEST_CASE("launches move a machine on when they succeed")
  {
    CHECK(state_during_launch(LaunchMode::test) == LifecycleState::test_in_progress);
    CHECK(state_after_launch(LaunchMode::test) == LifecycleState::ready_for_cutover);
    CHECK(state_during_launch(LaunchMode::cutover) == LifecycleState::cutover_in_progress);
    CHECK(state_after_launch(LaunchMode::cutover) == LifecycleState::cutover_complete);
    CHECK(launch_action(LaunchMode::test) == LifecycleAction::launch_test);
    CHECK(launch_action(LaunchMode::cutover) == LifecycleAction::launch_cutover);
  }

  TEST_CASE("continuous replication makes a machine that is not ready ready for testing")
  {
    using S = LifecycleState;
    using R = ReplicationState;
    CHECK(state_after_replication(S::not_ready, R::continuous) == S::ready_for_testing);
    CHECK(state_after_replication(S::not_ready, R::stalled) == S::not_ready);
    CHECK(state_after_replication(S::not_ready, R::initial_sync) == S::not_ready);
    // Later states do not go back when replication stalls: launches are refused instead.
    CHECK(state_after_replication(S::ready_for_cutover, R::stalled) == S::ready_for_cutover);
    CHECK(state_after_replication(S::ready_for_testing, R::continuous) == S::ready_for_testing);
  }

  TEST_CASE("a launch needs continuous replication even in a state that allows it")
  {
    for (auto replication : {ReplicationState::initial_sync, ReplicationState::stalled}) {
      auto m = machine(LifecycleState::ready_for_cutover, replication);
      auto r = check_action(m, LifecycleAction::launch_test);
      REQUIRE_FALSE(r);
      CHECK(r.error().message.find("replication is " + to_token(replication)) != std::string::npos);
      CHECK(r.error().message.find("rehost machines replication web1 continuous")
            != std::string::npos);
      CHECK(allows(m, LifecycleAction::set_replication));
    }
  }

  TEST_CASE("a refusal names the machine, its state, the action and what is allowed")
  {
    auto r =
        check_action(machine(LifecycleState::ready_for_testing), LifecycleAction::launch_cutover);
    REQUIRE_FALSE(r);
    CHECK(r.error().message
          == "web1 is in state 'ready for testing': cutover launch is not allowed before a test "
             "launch succeeded; allowed now: test launch (rehost launch web1 --mode test), set "
             "replication (rehost machines replication web1 STATE)");

    auto running =
        check_action(machine(LifecycleState::test_in_progress), LifecycleAction::launch_test);
    REQUIRE_FALSE(running);
    CHECK(running.error().message.find("while a launch is in progress") != std::string::npos);

    auto early =
        check_action(machine(LifecycleState::ready_for_cutover), LifecycleAction::finalize);
    REQUIRE_FALSE(early);
    CHECK(early.error().message.find("'ready for cutover'") != std::string::npos);
    CHECK(early.error().message.find("before the cutover is complete") != std::string::npos);
    CHECK(early.error().message.find("cutover launch (rehost launch web1 --mode cutover)")
          != std::string::npos);

    auto after = check_action(machine(LifecycleState::finalized, ReplicationState::disconnected),
                              LifecycleAction::set_replication);
    REQUIRE_FALSE(after);
    CHECK(after.error().message.find("replication is disconnected") != std::string::npos);
    CHECK(after.error().message.find("archive (rehost archive web1)") != std::string::npos);
  }

  TEST_CASE("an archived machine allows nothing")
  {
    auto m = machine(LifecycleState::finalized, ReplicationState::disconnected, Archived::yes);
    CHECK(allowed_actions(m).empty());
    auto r = check_action(m, LifecycleAction::archive);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("'finalized and archived'") != std::string::npos);
    CHECK(r.error().message.find("allowed now: none (the machine is archived)")
          != std::string::npos);
  }

  TEST_CASE("state tokens round-trip and unknown ones are refused")
  {
    for (auto s : {LifecycleState::not_ready, LifecycleState::ready_for_testing,
                   LifecycleState::test_in_progress, LifecycleState::ready_for_cutover,
                   LifecycleState::cutover_in_progress, LifecycleState::cutover_complete,
                   LifecycleState::finalized}) {
      CHECK(parse_lifecycle_state(to_token(s)) == s);
    }
    CHECK(to_token(LifecycleState::ready_for_testing) == "ready-for-testing");
    CHECK(describe(LifecycleState::ready_for_testing) == "ready for testing");
    for (auto r : {ReplicationState::initial_sync, ReplicationState::continuous,
                   ReplicationState::stalled, ReplicationState::disconnected}) {
      CHECK(parse_replication_state(to_token(r)) == r);
    }
    CHECK_FALSE(parse_lifecycle_state("ready"));
    CHECK_FALSE(parse_replication_state("Continuous"));
    CHECK(parse_launch_mode("cutover") == LaunchMode::cutover);
    CHECK_FALSE(parse_launch_mode("prod"));
    // A replicator cannot claim "disconnected": only finalize sets it.
    const auto& settable = settable_replication_tokens();
    CHECK(std::find(settable.begin(), settable.end(), "disconnected") == settable.end());
    CHECK(settable.size() == 3);
  }
}
