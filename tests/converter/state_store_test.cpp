// The state store: machines and jobs survive reopening, two connections see each other's
// writes and queue behind each other's transactions, and a job of a dead process is recovered.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>

#include <doctest/doctest.h>

#include "converter/state_store.hpp"
#include "tests/test_util.hpp"

using namespace rehost;
using namespace rehost::test;

namespace {

StateStore open_store(const TempDir& dir)
{
  auto store = StateStore::open(dir.str() + "/state");
  REQUIRE_MESSAGE(store, (store ? "" : store.error().message));
  return std::move(*store);
}

MachineRecord new_machine(const std::string& name)
{
  MachineRecord m;
  m.status.name = name;
  m.volume = "/replicas/" + name + ".img";
  m.target = "aws-nitro";
  m.added_ms = now_ms();
  return m;
}

// An owner that cannot be alive: a child that has exited and been reaped.
ProcessOwner dead_owner()
{
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    _exit(0);
  }
  ProcessOwner owner = current_process_owner();
  owner.pid = pid;
  int status = 0;
  waitpid(pid, &status, 0);
  return owner;
}

} // namespace

TEST_SUITE("unit")
{
  TEST_CASE("machines and jobs are kept across reopening the store")
  {
    TempDir dir;
    {
      StateStore store = open_store(dir);
      REQUIRE(store.insert_machine(new_machine("web1")));
      auto again = store.insert_machine(new_machine("web1"));
      REQUIRE_FALSE(again);
      CHECK(again.error().message == "a machine named web1 exists already");
      auto job =
          store.insert_job(JobType::test_launch, {{"web1", LifecycleState::ready_for_testing, ""}},
                           current_process_owner());
      REQUIRE(job);
      REQUIRE(store.append_log(*job, "web1", "Started taking snapshot"));
      REQUIRE(store.finish_job(*job, JobStatus::succeeded, 0, "", "/targets/web1.qcow2"));
    }
    StateStore store = open_store(dir);
    auto m = store.machine("web1");
    REQUIRE(m);
    REQUIRE(*m);
    CHECK((*m)->volume == "/replicas/web1.img");
    CHECK((*m)->status.state == LifecycleState::not_ready);
    CHECK((*m)->status.replication == ReplicationState::initial_sync);
    auto jobs = store.jobs();
    REQUIRE(jobs);
    REQUIRE(jobs->size() == 1);
    const JobRecord& job = jobs->front();
    CHECK(job.status == JobStatus::succeeded);
    CHECK(job.ended_ms >= job.started_ms);
    REQUIRE(job.machines.size() == 1);
    CHECK(job.machines[0].name == "web1");
    CHECK(job.machines[0].from_state == LifecycleState::ready_for_testing);
    CHECK(job.machines[0].target_image == "/targets/web1.qcow2");
    auto lines = store.log_lines(job.id, 0);
    REQUIRE(lines);
    REQUIRE(lines->size() == 1);
    CHECK(lines->front().message == "Started taking snapshot");
    CHECK(store.log_lines(job.id, lines->front().seq)->empty());
    CHECK_FALSE(store.machine("web2")->has_value());
    CHECK_FALSE(store.job(job.id + 1)->has_value());
  }

  TEST_CASE("two connections see each other's writes and queue behind a transaction")
  {
    TempDir dir;
    StateStore a = open_store(dir);
    StateStore b = open_store(dir);
    REQUIRE(a.insert_machine(new_machine("web1")));
    auto seen = b.machine("web1");
    REQUIRE(seen);
    REQUIRE(*seen);

    // A holds the write lock for a while; B's update waits for it instead of failing, and
    // lands after A's, so the result is B's.
    std::atomic<bool> a_inside{false};
    std::thread writer([&] {
      auto r = a.transaction([&]() -> Result<void> {
        auto m = a.machine("web1");
        MachineRecord changed = **m;
        changed.status.replication = ReplicationState::stalled;
        auto u = a.update_machine(changed);
        a_inside = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        return u;
      });
      CHECK(r);
    });
    while (!a_inside) {
      std::this_thread::yield();
    }
    auto start = std::chrono::steady_clock::now();
    auto r = b.transaction([&]() -> Result<void> {
      auto m = b.machine("web1");
      MachineRecord changed = **m;
      CHECK(changed.status.replication == ReplicationState::stalled); // A committed first
      changed.status.replication = ReplicationState::continuous;
      return b.update_machine(changed);
    });
    writer.join();
    REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
    CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(50));
    CHECK((*a.machine("web1"))->status.replication == ReplicationState::continuous);
  }

  TEST_CASE("a failing transaction leaves nothing behind")
  {
    TempDir dir;
    StateStore store = open_store(dir);
    auto r = store.transaction([&]() -> Result<void> {
      REQUIRE(store.insert_machine(new_machine("web1")));
      return fail("changed my mind");
    });
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "changed my mind");
    CHECK_FALSE(store.machine("web1")->has_value());
  }

  TEST_CASE("jobs written by two connections at once all get their own id")
  {
    TempDir dir;
    StateStore a = open_store(dir);
    StateStore b = open_store(dir);
    auto add_jobs = [](StateStore& store, const std::string& machine) {
      for (int i = 0; i < 20; ++i) {
        auto job = store.insert_job(JobType::test_launch,
                                    {{machine, LifecycleState::ready_for_testing, ""}},
                                    current_process_owner());
        REQUIRE(job);
        REQUIRE(store.append_log(*job, machine, "line"));
      }
    };
    std::thread other([&] { add_jobs(b, "db1"); });
    add_jobs(a, "web1");
    other.join();
    auto jobs = a.jobs();
    REQUIRE(jobs);
    CHECK(jobs->size() == 40);
    for (size_t i = 0; i < jobs->size(); ++i) {
      CHECK((*jobs)[i].id == static_cast<int64_t>(i + 1));
      CHECK((*jobs)[i].machines.size() == 1);
      CHECK(a.log_lines((*jobs)[i].id, 0)->size() == 1);
    }
  }

  TEST_CASE("the job of a process that died is marked failed and its machine goes back")
  {
    TempDir dir;
    StateStore store = open_store(dir);
    MachineRecord m = new_machine("web1");
    m.status.state = LifecycleState::test_in_progress;
    REQUIRE(store.insert_machine(m));
    ProcessOwner gone = dead_owner();
    auto dead = store.insert_job(JobType::test_launch,
                                 {{"web1", LifecycleState::ready_for_cutover, ""}}, gone);
    REQUIRE(dead);
    m.last_job = *dead;
    REQUIRE(store.update_machine(m));
    // A job of this live process is left alone.
    auto alive =
        store.insert_job(JobType::test_launch, {{"db1", LifecycleState::ready_for_testing, ""}},
                         current_process_owner());
    REQUIRE(alive);

    // Another connection, as the next rehost would open it.
    StateStore next = open_store(dir);
    auto recovered = next.recover_dead_jobs();
    REQUIRE(recovered);
    REQUIRE(recovered->size() == 1);
    CHECK(recovered->front().id == *dead);
    CHECK(recovered->front().pid == gone.pid);
    CHECK(recovered->front().machines == std::vector<std::string>{"web1"});

    auto job = next.job(*dead);
    CHECK((*job)->status == JobStatus::failed);
    CHECK((*job)->ended_ms > 0);
    CHECK((*job)->error.find("PID " + std::to_string(gone.pid)) != std::string::npos);
    CHECK((*next.job(*alive))->status == JobStatus::running);
    auto machine = next.machine("web1");
    CHECK((*machine)->status.state == LifecycleState::ready_for_cutover);
    auto lines = next.log_lines(*dead, 0);
    REQUIRE(lines->size() == 1);
    CHECK(lines->front().message.rfind("Failed: ", 0) == 0);
    // Once is enough.
    CHECK(next.recover_dead_jobs()->empty());
  }

  TEST_CASE("a process is recognised by PID and start time, so a reused PID is not alive")
  {
    ProcessOwner self = current_process_owner();
    CHECK(self.pid == getpid());
    CHECK(self.start_ticks > 0);
    CHECK_FALSE(self.boot_id.empty());
    CHECK(owner_alive(self));
    ProcessOwner reused = self;
    reused.start_ticks += 1;
    CHECK_FALSE(owner_alive(reused));
    ProcessOwner other_boot = self;
    other_boot.boot_id = "00000000-0000-0000-0000-000000000000";
    CHECK_FALSE(owner_alive(other_boot));
    CHECK_FALSE(owner_alive(dead_owner()));
    CHECK_FALSE(owner_alive(ProcessOwner{}));
  }

  TEST_CASE("the state directory: option, then $REHOST_STATE_DIR, then the XDG data directory")
  {
    auto saved = [](const char* name) {
      const char* v = std::getenv(name);
      return v ? std::optional<std::string>(v) : std::nullopt;
    };
    auto restore = [](const char* name, const std::optional<std::string>& v) {
      if (v) {
        setenv(name, v->c_str(), 1);
      } else {
        unsetenv(name);
      }
    };
    auto state = saved("REHOST_STATE_DIR");
    auto xdg = saved("XDG_DATA_HOME");
    auto home = saved("HOME");
    setenv("REHOST_STATE_DIR", "/env/state", 1);
    setenv("XDG_DATA_HOME", "/xdg", 1);
    setenv("HOME", "/home/someone", 1);
    CHECK(resolve_state_dir("/option") == "/option");
    CHECK(resolve_state_dir("") == "/env/state");
    unsetenv("REHOST_STATE_DIR");
    CHECK(resolve_state_dir("") == "/xdg/rehost");
    unsetenv("XDG_DATA_HOME");
    CHECK(resolve_state_dir("") == "/home/someone/.local/share/rehost");
    restore("REHOST_STATE_DIR", state);
    restore("XDG_DATA_HOME", xdg);
    restore("HOME", home);
  }

  TEST_CASE("a state directory that cannot be made is an error naming it")
  {
    TempDir dir;
    std::string file = dir.write("not-a-dir", "x");
    auto store = StateStore::open(file + "/state");
    REQUIRE_FALSE(store);
    CHECK(store.error().message.find(file) != std::string::npos);
    CHECK(store.error().message.find("--state-dir") != std::string::npos);
  }
}
