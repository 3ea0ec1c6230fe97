// Launches under stress, on small phony disks: rehost killed in the middle of a conversion,
// ten machines two at a time, a job log followed while its job runs, a block device replica.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <doctest/doctest.h>

#include "converter/process.hpp"
#include "converter/state_store.hpp"
#include "tests/integration/lifecycle_phony.hpp"
#include "tests/test_util.hpp"

using namespace rehost;
using namespace rehost::test;
namespace fs = std::filesystem;

namespace {

// `rehost --state-dir STATE ARGS...` started in the background, its output in `log`.
pid_t spawn_rehost(const std::string& state, const std::vector<std::string>& args,
                   const std::string& log)
{
  std::vector<std::string> argv = {REHOST_BINARY, "--state-dir", state};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& a : argv) {
    cargv.push_back(a.data());
  }
  cargv.push_back(nullptr);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  return pid;
}

int wait_exit(pid_t pid)
{
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Polls `ready` every 50 ms for up to a minute.
template <typename F>
bool wait_until(F ready)
{
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (std::chrono::steady_clock::now() < deadline) {
    if (ready()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// Whether the conversion of `job` has reached the guest's update-initramfs (the slow step).
bool converting(const std::string& state, int job)
{
  return read_file(state + "/jobs/" + std::to_string(job) + "/convert.log")
             .find("Rebuilding initramfs")
         != std::string::npos;
}

// The processes whose command line mentions `text`.
std::vector<int> processes_mentioning(const std::string& text)
{
  std::vector<int> pids;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    std::string cmdline = read_file(entry.path().string() + "/cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(text) != std::string::npos) {
      pids.push_back(std::stoi(name));
    }
  }
  return pids;
}

nlohmann::json jobs_json(const std::string& state)
{
  auto r = rehost_in(state, {"jobs", "--json"});
  REQUIRE(r.exit_code == 0);
  return stdout_json(r);
}

nlohmann::json machine_json(const std::string& state, const std::string& name)
{
  auto r = rehost_in(state, {"machines", "--json"});
  REQUIRE(r.exit_code == 0);
  for (const auto& m : stdout_json(r)) {
    if (m["name"] == name) {
      return m;
    }
  }
  FAIL("no machine " << name);
  return {};
}

// The messages of `rehost job log ID --json` output.
std::vector<std::string> messages_of(const std::string& json_lines)
{
  std::vector<std::string> messages;
  size_t pos = 0;
  while (pos < json_lines.size()) {
    size_t end = json_lines.find('\n', pos);
    messages.push_back(nlohmann::json::parse(json_lines.substr(pos, end - pos))["message"]);
    pos = end + 1;
  }
  return messages;
}

std::vector<std::string> names_in(const std::string& dir)
{
  std::vector<std::string> names;
  if (fs::is_directory(dir)) {
    for (const auto& e : fs::directory_iterator(dir)) {
      names.push_back(e.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

// A loop device for a file, detached at the end.
class LoopDevice {
public:
  explicit LoopDevice(const std::string& file)
      : m_device(must_run({"losetup", "--find", "--show", file}))
  {
    m_device.erase(m_device.find_last_not_of("\n") + 1);
  }
  ~LoopDevice() { run_process({"losetup", "-d", m_device}); }
  const std::string& path() const { return m_device; }

private:
  std::string m_device;
};

} // namespace

TEST_SUITE("integration")
{
  TEST_CASE("rehost killed during a launch: the job is marked failed by the next rehost and the "
            "machine launches again")
  {
    TempDir dir;
    std::string state = dir.str() + "/state";
    std::string replica = make_convertible_disk(dir, "web1.img", ConvertSpeed::slow);
    REQUIRE(rehost_in(state, {"machines", "add", "web1", "--volume", replica}).exit_code == 0);
    REQUIRE(rehost_in(state, {"machines", "replication", "web1", "continuous"}).exit_code == 0);

    // 1. Killed while its child converts: the child dies with it.
    pid_t first = spawn_rehost(state, {"launch", "web1", "--mode", "test"}, dir.str() + "/1.log");
    REQUIRE_MESSAGE(wait_until([&] { return converting(state, 1); }),
                    read_file(dir.str() + "/1.log"));
    std::string snapshot = state + "/staging/web1/web1-job1";
    CHECK_FALSE(processes_mentioning(snapshot).empty()); // the converter runs
    kill(first, SIGKILL);
    CHECK(wait_exit(first) == 128 + SIGKILL);
    CHECK(wait_until([&] { return processes_mentioning(snapshot).empty(); }));
    {
      // Nobody has looked yet: the store still says running.
      auto store = StateStore::open(state);
      REQUIRE(store);
      CHECK((*store->job(1))->status == JobStatus::running);
    }
    auto jobs = rehost_in(state, {"jobs", "--json"});
    CHECK(jobs.err.find("job 1 (web1) was left running by rehost PID " + std::to_string(first))
          != std::string::npos);
    auto j = stdout_json(jobs);
    REQUIRE(j.size() == 1);
    CHECK(j[0]["status"] == "failed");
    CHECK(j[0]["exit_code"] == 130);
    CHECK(j[0]["error"].get<std::string>().find("PID " + std::to_string(first))
          != std::string::npos);
    CHECK(machine_json(state, "web1")["lifecycle"] == "ready-for-testing");

    // 2. Killed again while someone follows its log: the follower sees the job fail and stops.
    pid_t second = spawn_rehost(state, {"launch", "web1", "--mode", "test"}, dir.str() + "/2.log");
    REQUIRE(wait_until([&] { return converting(state, 2); }));
    RunResult followed;
    std::thread follower([&] {
      followed = rehost_in(state, {"job", "log", "2", "--follow", "--json"});
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    kill(second, SIGKILL);
    wait_exit(second);
    follower.join();
    CHECK(followed.exit_code == 0);
    auto followed_messages = messages_of(followed.out);
    REQUIRE_FALSE(followed_messages.empty());
    // It started by removing what the killed launch had left.
    CHECK(std::find(followed_messages.begin(), followed_messages.end(),
                    "Deleted previous snapshot " + snapshot)
          != followed_messages.end());
    CHECK(followed_messages.back().rfind(
              "Failed: the rehost process (PID " + std::to_string(second) + ")", 0)
          == 0);

    // 3. Launched again, followed to the end: it succeeds and only its own files are left.
    pid_t third = spawn_rehost(state, {"launch", "web1", "--mode", "test"}, dir.str() + "/3.log");
    REQUIRE(wait_until([&] { return fs::exists(state + "/jobs/3"); }));
    auto follow = rehost_in(state, {"job", "log", "3", "--follow"});
    CHECK(follow.exit_code == 0);
    CHECK(wait_exit(third) == 0);
    INFO(read_file(dir.str() + "/3.log"));
    auto m = machine_json(state, "web1");
    CHECK(m["lifecycle"] == "ready-for-cutover");
    std::string target = m["target_image"];
    CHECK(follow.out.find("Started taking snapshot") != std::string::npos);
    CHECK(follow.out.find("  web1  Launched target " + target + "\n") != std::string::npos);
    CHECK(names_in(state + "/staging/web1") == std::vector<std::string>{"web1-job3"});
    CHECK(names_in(state + "/targets/web1") == std::vector<std::string>{"web1-test-job3.qcow2"});
    auto all = jobs_json(state);
    REQUIRE(all.size() == 3);
    CHECK(all[1]["status"] == "failed");
    CHECK(all[2]["status"] == "succeeded");
  }

  TEST_CASE("ten machines launched two at a time all complete, as ten jobs")
  {
    TempDir dir;
    std::string state = dir.str() + "/state";
    std::string base = make_convertible_disk(dir, "base.img");
    for (int i = 0; i < 10; ++i) {
      std::string name = "m" + std::to_string(i);
      std::string replica = dir.str() + "/" + name + ".img";
      must_run({"cp", "--sparse=always", base, replica});
      REQUIRE(rehost_in(state, {"machines", "add", name, "--volume", replica}).exit_code == 0);
      REQUIRE(rehost_in(state, {"machines", "replication", name, "continuous"}).exit_code == 0);
    }
    auto r = rehost_in(state, {"launch", "--all-ready", "--mode", "test", "--parallel", "2"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    for (int i = 0; i < 10; ++i) {
      CHECK(r.out.find("m" + std::to_string(i) + ": launched test target ") != std::string::npos);
    }

    auto store = StateStore::open(state);
    REQUIRE(store);
    auto jobs = store->jobs();
    REQUIRE(jobs);
    REQUIRE(jobs->size() == 10);
    std::set<std::string> machines;
    std::set<std::string> targets;
    for (const auto& job : *jobs) {
      CHECK(job.status == JobStatus::succeeded);
      REQUIRE(job.machines.size() == 1);
      machines.insert(job.machines[0].name);
      targets.insert(job.machines[0].target_image);
      CHECK(fs::exists(job.machines[0].target_image));
    }
    CHECK(machines.size() == 10);
    CHECK(targets.size() == 10);
    // Two at a time: never more than two jobs overlap, and some do.
    int most = 0;
    for (const auto& job : *jobs) {
      int running = 0;
      for (const auto& other : *jobs) {
        running += other.started_ms <= job.started_ms && job.started_ms < other.ended_ms;
      }
      most = std::max(most, running);
    }
    CHECK(most == 2);
    auto records = store->machines(); // kept alive for the loop
    REQUIRE(records);
    for (const auto& m : *records) {
      CHECK(m.status.state == LifecycleState::ready_for_cutover);
    }
  }

  TEST_CASE("a block device replica without a snapshot layer is copied, and the job log says so")
  {
    if (getuid() != 0 || !have_tool_or_skip("losetup")) {
      MESSAGE("skipped: needs root for a loop device");
      return;
    }
    TempDir dir;
    std::string state = dir.str() + "/state";
    std::string disk = make_convertible_disk(dir, "disk.img");
    write_guest_file(disk, "/etc/rehost-marker", "from the device\n");
    LoopDevice device(disk);
    REQUIRE(rehost_in(state, {"machines", "add", "web1", "--volume", device.path()}).exit_code
            == 0);
    REQUIRE(rehost_in(state, {"machines", "replication", "web1", "continuous"}).exit_code == 0);
    auto r = rehost_in(state, {"launch", "web1", "--mode", "test"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto m = machine_json(state, "web1");
    CHECK(m["snapshot_method"] == "device-copy");
    std::string target = m["target_image"];
    CHECK(read_guest_file(dir, target, "/etc/rehost-marker") == "from the device\n");
    auto log = rehost_in(state, {"job", "log", "1"});
    CHECK(log.out.find("Warning: " + device.path() + " is a block device without a snapshot layer")
          != std::string::npos);
    // The copy kept the device's holes: far less than its 32 MiB is allocated.
    std::string snapshot = m["snapshot"];
    CHECK(fs::file_size(snapshot) == 32u << 20);
    struct stat st;
    REQUIRE(::stat(snapshot.c_str(), &st) == 0);
    CHECK(static_cast<uint64_t>(st.st_blocks) * 512 < (24u << 20));
  }
}
