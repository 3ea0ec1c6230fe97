// The lifecycle commands on small phony disks: registering machines, the states that refuse an
// action (with the state and the allowed actions in one error line), two test launches, a
// failed launch, cutover, finalize and archive.
#include <algorithm>
#include <filesystem>

#include <doctest/doctest.h>

#include "tests/integration/lifecycle_phony.hpp"
#include "tests/test_util.hpp"

using namespace rehost::test;
namespace fs = std::filesystem;

namespace {

nlohmann::json machine_json(const std::string& state, const std::string& name,
                            const std::string& flag = "")
{
  std::vector<std::string> args = {"machines", "--json"};
  if (!flag.empty()) {
    args.push_back(flag);
  }
  auto r = rehost_in(state, args);
  REQUIRE(r.exit_code == 0);
  for (const auto& m : stdout_json(r)) {
    if (m["name"] == name) {
      return m;
    }
  }
  return nullptr;
}

nlohmann::json jobs_json(const std::string& state)
{
  auto r = rehost_in(state, {"jobs", "--json"});
  REQUIRE(r.exit_code == 0);
  return stdout_json(r);
}

std::vector<std::string> log_messages(const std::string& state, int job)
{
  auto r = rehost_in(state, {"job", "log", std::to_string(job), "--json"});
  REQUIRE(r.exit_code == 0);
  std::vector<std::string> messages;
  size_t pos = 0;
  while (pos < r.out.size()) {
    size_t end = r.out.find('\n', pos);
    auto line = nlohmann::json::parse(r.out.substr(pos, end - pos));
    CHECK(line["job"] == job);
    messages.push_back(line["message"]);
    pos = end + 1;
  }
  return messages;
}

// Whether `messages` hold lines starting with each of `prefixes`, in that order.
bool in_order(const std::vector<std::string>& messages, const std::vector<std::string>& prefixes)
{
  size_t next = 0;
  for (const auto& m : messages) {
    if (next < prefixes.size() && m.rfind(prefixes[next], 0) == 0) {
      ++next;
    }
  }
  return next == prefixes.size();
}

// One error line, naming everything in `expected`, and the exit code.
void refused(const RunResult& r, int code, const std::vector<std::string>& expected)
{
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == code);
  std::string line = single_error_line(r.err);
  REQUIRE_MESSAGE(!line.empty(), "expected exactly one error line");
  for (const auto& e : expected) {
    CHECK_MESSAGE(line.find(e) != std::string::npos, e);
  }
}

size_t files_in(const std::string& dir)
{
  if (!fs::is_directory(dir)) {
    return 0;
  }
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

} // namespace

TEST_SUITE("integration")
{
  TEST_CASE("machines are registered, listed, and refused what their state does not allow")
  {
    TempDir dir;
    std::string state = dir.str() + "/state";
    std::string replica = dir.str() + "/web1.img";
    must_run({"truncate", "-s", "8M", replica});

    refused(rehost_in(state, {"machines", "add", "web/1", "--volume", replica}), 2,
            {"'web/1' is not a valid machine name"});
    refused(rehost_in(state, {"machines", "add", "web1", "--volume", dir.str() + "/nope.img"}), 3,
            {"nope.img"});
    refused(rehost_in(state, {"machines", "add", "web1", "--volume", replica, "--target", "kvn"}),
            2, {"unknown target 'kvn'", "did you mean 'kvm'"});
    auto added = rehost_in(state, {"machines", "add", "web1", "--volume", replica});
    INFO(added.err);
    REQUIRE(added.exit_code == 0);
    CHECK(added.out.find("Added web1") != std::string::npos);
    refused(rehost_in(state, {"machines", "add", "web1", "--volume", replica}), 2,
            {"web1 exists already"});

    auto list = rehost_in(state, {"machines"});
    CHECK(list.out.find("web1  not ready  initial-sync  aws-nitro  -") != std::string::npos);
    auto m = machine_json(state, "web1");
    CHECK(m["lifecycle"] == "not-ready");
    CHECK(m["replication"] == "initial-sync");
    CHECK(m["volume"] == fs::canonical(replica).string());

    // Not ready: only the replication state may change.
    refused(rehost_in(state, {"launch", "web1", "--mode", "test"}), 9,
            {"web1 is in state 'not ready'", "test launch is not allowed",
             "allowed now: set replication (rehost machines replication web1 STATE)"});
    refused(rehost_in(state, {"finalize", "web1"}), 9, {"finalize is not allowed"});
    refused(rehost_in(state, {"archive", "web1"}), 9, {"archive is not allowed"});

    auto continuous = rehost_in(state, {"machines", "replication", "web1", "continuous"});
    CHECK(continuous.exit_code == 0);
    CHECK(continuous.out == "web1: replication continuous; lifecycle ready for testing\n");
    refused(rehost_in(state, {"launch", "web1", "--mode", "cutover"}), 9,
            {"'ready for testing'", "cutover launch is not allowed before a test launch succeeded",
             "test launch (rehost launch web1 --mode test)"});

    // Stalled replication refuses launches that the lifecycle state would allow.
    REQUIRE(rehost_in(state, {"machines", "replication", "web1", "stalled"}).exit_code == 0);
    CHECK(machine_json(state, "web1")["lifecycle"] == "ready-for-testing");
    refused(rehost_in(state, {"launch", "web1", "--mode", "test"}), 9,
            {"replication is stalled", "rehost machines replication web1 continuous"});
    refused(rehost_in(state, {"launch", "--all-ready", "--mode", "test"}), 9,
            {"no machine is ready for a test launch"});

    // Usage errors.
    refused(rehost_in(state, {"launch", "web2", "--mode", "test"}), 2,
            {"no machine named web2", "did you mean web1?"});
    refused(rehost_in(state, {"launch", "--mode", "test"}), 2, {"--all-ready"});
    refused(rehost_in(state, {"launch", "web1", "--mode", "later"}), 2, {"--mode"});
    refused(rehost_in(state, {"machines", "replication", "web1", "disconnected"}), 2,
            {"disconnected"});
    refused(rehost_in(state, {"job", "log", "99"}), 2, {"no job 99"});
    CHECK(rehost_in(state, {"jobs"}).out == "No jobs yet; `rehost launch` starts one.\n");
    CHECK(jobs_json(state).empty());
  }

  TEST_CASE("a test launch converts a snapshot, and the next one replaces it with the replica as "
            "it is then")
  {
    if (!have_tool_or_skip("debugfs")) {
      return;
    }
    TempDir dir;
    std::string state = dir.str() + "/state";
    std::string replica = make_convertible_disk(dir, "web1.img");
    write_guest_file(replica, "/etc/rehost-marker", "first\n");
    REQUIRE(rehost_in(state, {"machines", "add", "web1", "--volume", replica}).exit_code == 0);
    REQUIRE(rehost_in(state, {"machines", "replication", "web1", "continuous"}).exit_code == 0);
    std::string before = sha256_of(replica);

    auto first = rehost_in(state, {"launch", "web1", "--mode", "test"});
    INFO("first launch:\n" << first.err);
    REQUIRE(first.exit_code == 0);
    auto m1 = machine_json(state, "web1");
    CHECK(m1["lifecycle"] == "ready-for-cutover");
    std::string target1 = m1["target_image"];
    std::string snapshot1 = m1["snapshot"];
    CHECK(first.out == "web1: launched test target " + target1 + " (job 1)\n");
    CHECK(fs::exists(target1));
    CHECK(fs::exists(snapshot1));
    CHECK(m1["snapshot_method"] == "sparse-copy");
    CHECK(sha256_of(replica) == before); // the replica is never written
    CHECK(read_guest_file(dir, target1, "/etc/rehost-marker") == "first\n");
    // The target is the converted guest: its fstab names the root by UUID.
    CHECK(read_guest_file(dir, target1, "/etc/fstab").find("UUID=") != std::string::npos);
    CHECK(in_order(log_messages(state, 1),
                   {"Started test launch of web1", "Started taking snapshot",
                    "Finished taking snapshot", "Started converting", "Finished converting",
                    "Started validating", "Finished validating", "Launched target " + target1}));

    // The replica changes; the next test launch throws the first target away and sees it.
    write_guest_file(replica, "/etc/rehost-marker", "second\n");
    auto second = rehost_in(state, {"launch", "web1", "--mode", "test"});
    INFO("second launch:\n" << second.err);
    REQUIRE(second.exit_code == 0);
    auto m2 = machine_json(state, "web1");
    std::string target2 = m2["target_image"];
    CHECK(target2 != target1);
    CHECK_FALSE(fs::exists(target1));
    CHECK_FALSE(fs::exists(snapshot1));
    CHECK(read_guest_file(dir, target2, "/etc/rehost-marker") == "second\n");
    CHECK(in_order(log_messages(state, 2),
                   {"Deleted previous target " + target1, "Started taking snapshot",
                    "Launched target " + target2}));

    // And what the replica does after the launch does not reach the target.
    write_guest_file(replica, "/etc/rehost-marker", "third\n");
    CHECK(read_guest_file(dir, target2, "/etc/rehost-marker") == "second\n");

    auto jobs = jobs_json(state);
    REQUIRE(jobs.size() == 2);
    for (const auto& job : jobs) {
      CHECK(job["type"] == "test-launch");
      CHECK(job["status"] == "succeeded");
      CHECK(job["machines"][0]["name"] == "web1");
    }
    CHECK(jobs[1]["machines"][0]["target_image"] == target2);
    auto text = rehost_in(state, {"job", "log", "2"});
    CHECK(text.out.find("  web1  Launched target " + target2 + "\n") != std::string::npos);
  }

  TEST_CASE("a failed launch is a failed job that says why; the machine goes back and can launch "
            "again")
  {
    TempDir dir;
    std::string state = dir.str() + "/state";
    // With VMware tools installed the phony disk does not convert: removing them needs dpkg,
    // which it does not have.
    std::string replica = make_convertible_disk(dir, "web1.img");
    const std::string dpkg_status = "Package: ifupdown\nStatus: install ok installed\n\n";
    write_guest_file(replica, "/var/lib/dpkg/status",
                     "Package: open-vm-tools\nStatus: install ok installed\n\n" + dpkg_status);
    REQUIRE(rehost_in(state, {"machines", "add", "web1", "--volume", replica}).exit_code == 0);
    REQUIRE(rehost_in(state, {"machines", "replication", "web1", "continuous"}).exit_code == 0);

    auto r = rehost_in(state, {"launch", "web1", "--mode", "test"});
    refused(
        r, 5,
        {"web1: test launch failed (job 1)", "while Converting", "dpkg", "see `rehost job log 1`"});
    CHECK(r.err.find("terminate called") == std::string::npos);
    auto jobs = jobs_json(state);
    REQUIRE(jobs.size() == 1);
    CHECK(jobs[0]["status"] == "failed");
    CHECK(jobs[0]["exit_code"] == 5);
    CHECK(jobs[0]["error"].get<std::string>().find("dpkg") != std::string::npos);
    auto m = machine_json(state, "web1");
    CHECK(m["lifecycle"] == "ready-for-testing");
    CHECK(m["target_image"] == "");
    CHECK(m["snapshot"] == "");
    CHECK(files_in(state + "/staging/web1") == 0);
    CHECK(files_in(state + "/targets/web1") == 0);
    auto messages = log_messages(state, 1);
    REQUIRE_FALSE(messages.empty());
    CHECK(messages.back().rfind("Failed: while Converting", 0) == 0);

    // The tools are removed at the source and replicated; the same machine launches.
    write_guest_file(replica, "/var/lib/dpkg/status", dpkg_status);
    auto again = rehost_in(state, {"launch", "web1", "--mode", "test"});
    INFO(again.err);
    CHECK(again.exit_code == 0);
    CHECK(machine_json(state, "web1")["lifecycle"] == "ready-for-cutover");
  }

  TEST_CASE("cutover, finalize and archive: the cutover target stands alone and outlives the "
            "staging area")
  {
    TempDir dir;
    std::string state = dir.str() + "/state";
    std::string replica = make_convertible_disk(dir, "db1.img");
    REQUIRE(rehost_in(state, {"machines", "add", "db1", "--volume", replica, "--target", "kvm"})
                .exit_code
            == 0);
    REQUIRE(rehost_in(state, {"machines", "replication", "db1", "continuous"}).exit_code == 0);
    REQUIRE(rehost_in(state, {"launch", "db1", "--mode", "test"}).exit_code == 0);
    std::string test_target = machine_json(state, "db1")["target_image"];

    auto cutover = rehost_in(state, {"launch", "db1", "--mode", "cutover"});
    INFO(cutover.err);
    REQUIRE(cutover.exit_code == 0);
    auto m = machine_json(state, "db1");
    CHECK(m["lifecycle"] == "cutover-complete");
    std::string target = m["target_image"];
    CHECK_FALSE(fs::exists(test_target));
    CHECK(target.find("db1-cutover-job2.qcow2") != std::string::npos);
    auto info = nlohmann::json::parse(must_run({"qemu-img", "info", "--output=json", target}));
    CHECK_FALSE(info.contains("backing-filename"));
    auto cutover_log = log_messages(state, 2);
    CHECK(in_order(cutover_log,
                   {"Started cutover launch of db1", "Started validating", "Finished validating",
                    "Started writing a standalone image", "Finished writing the standalone image",
                    "Launched target " + target}));
    CHECK(std::count(cutover_log.begin(), cutover_log.end(), "Finished validating") == 1);

    // After the cutover, no more launches; finalize removes the staging area.
    refused(rehost_in(state, {"launch", "db1", "--mode", "test"}), 9,
            {"'cutover complete'", "allowed now: finalize (rehost finalize db1)"});
    refused(rehost_in(state, {"archive", "db1"}), 9, {"before the machine is finalized"});
    auto finalize = rehost_in(state, {"finalize", "db1"});
    INFO(finalize.err);
    REQUIRE(finalize.exit_code == 0);
    CHECK(finalize.out.find("db1: finalized (job 3)") != std::string::npos);
    CHECK_FALSE(fs::exists(state + "/staging/db1"));
    m = machine_json(state, "db1");
    CHECK(m["lifecycle"] == "finalized");
    CHECK(m["replication"] == "disconnected");
    CHECK(m["snapshot"] == "");
    // The target does not need the snapshot that is gone.
    must_run({"qemu-img", "check", target});
    CHECK(read_guest_file(dir, target, "/etc/fstab").find("UUID=") != std::string::npos);
    CHECK(in_order(log_messages(state, 3), {"Started finalize of db1", "Removed staging snapshot",
                                            "Replication disconnected; finalized"}));
    refused(rehost_in(state, {"finalize", "db1"}), 9, {"'finalized'"});
    refused(rehost_in(state, {"machines", "replication", "db1", "continuous"}), 9,
            {"replication is disconnected"});

    // Archive hides it from the default list.
    auto archive = rehost_in(state, {"archive", "db1"});
    CHECK(archive.exit_code == 0);
    CHECK(machine_json(state, "db1").is_null());
    CHECK(machine_json(state, "db1", "--archived")["archived"] == true);
    CHECK(rehost_in(state, {"machines", "--archived"}).out.find("finalized (archived)")
          != std::string::npos);
    refused(rehost_in(state, {"archive", "db1"}), 9, {"archived"});
    auto jobs = jobs_json(state);
    REQUIRE(jobs.size() == 3);
    CHECK(jobs[0]["type"] == "test-launch");
    CHECK(jobs[1]["type"] == "cutover-launch");
    CHECK(jobs[2]["type"] == "finalize");
  }
}
