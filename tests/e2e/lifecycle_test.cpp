// A real Debian 12 server (images/debian-vmware.sh) through its whole migration lifecycle: two
// test launches (the second replaces the first and sees what changed on the replica in
// between), a cutover that boots on the target's devices, finalize, archive. A copy of the
// image plays the replica; debugfs writes into its root file system as the replicator would.
#include <filesystem>

#include <nlohmann/json.hpp>

#include <doctest/doctest.h>

#include "converter/block_export.hpp"
#include "tests/test_util.hpp"

using namespace rehost;
using namespace rehost::test;
namespace fs = std::filesystem;

namespace {

// The root file system of the Debian image is its first partition, at 1 MiB.
std::string root_partition(const std::string& raw)
{
  return raw + "?offset=1048576";
}

RunResult rehost_at(const std::string& state, std::vector<std::string> args)
{
  args.insert(args.begin(), {"--state-dir", state});
  return run_rehost(args);
}

nlohmann::json json_out(const RunResult& r)
{
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out);
}

nlohmann::json machine(const std::string& state, const std::string& flag = "")
{
  std::vector<std::string> args = {"machines", "--json"};
  if (!flag.empty()) {
    args.push_back(flag);
  }
  auto list = json_out(rehost_at(state, args));
  return list.empty() ? nlohmann::json() : list[0];
}

// Replaces the guest file `path` in the raw replica, as replication of a change would.
void write_replica_file(const TempDir& dir, const std::string& replica, const std::string& path,
                        const std::string& content)
{
  std::string host = dir.str() + "/content";
  dir.write("content", content);
  must_run({"debugfs", "-w", "-R", "rm " + path, root_partition(replica)});
  must_run({"debugfs", "-w", "-R", "write " + host + " " + path, root_partition(replica)});
}

// A guest file of a qcow2 target, read through a read-only raw export of it.
std::string read_target_file(const TempDir& dir, const std::string& image, const std::string& path)
{
  static int count = 0;
  auto exported =
      BlockExport::start(image, "qcow2", dir.str() + "/export-" + std::to_string(count++), false);
  REQUIRE_MESSAGE(exported, (exported ? "" : exported.error().message));
  std::string content =
      must_run({"debugfs", "-R", "cat " + path, root_partition(exported->path())});
  REQUIRE(exported->stop());
  return content;
}

std::vector<std::string> log_messages(const std::string& state, int job)
{
  auto r = rehost_at(state, {"job", "log", std::to_string(job), "--json"});
  REQUIRE(r.exit_code == 0);
  std::vector<std::string> messages;
  size_t pos = 0;
  while (pos < r.out.size()) {
    size_t end = r.out.find('\n', pos);
    messages.push_back(nlohmann::json::parse(r.out.substr(pos, end - pos))["message"]);
    pos = end + 1;
  }
  return messages;
}

// Whether `messages` has lines starting with each of `prefixes`, in that order.
bool reads_in_order(const std::vector<std::string>& messages,
                    const std::vector<std::string>& prefixes)
{
  size_t next = 0;
  for (const auto& m : messages) {
    if (next < prefixes.size() && m.rfind(prefixes[next], 0) == 0) {
      ++next;
    }
  }
  return next == prefixes.size();
}

} // namespace

TEST_SUITE("e2e")
{
  TEST_CASE("a Debian server through its lifecycle: two test launches, cutover, finalize, archive")
  {
    if (!have_tool_or_skip("qemu-system-x86_64") || !have_tool_or_skip("mmdebstrap")
        || !have_tool_or_skip("debugfs") || !have_tool_or_skip("qemu-storage-daemon")) {
      return;
    }
    std::string source = cached_image("debian12-vmware");
    TempDir dir;
    std::string replica = dir.str() + "/web1.img";
    must_run({"cp", "--sparse=always", source, replica});
    std::string state = dir.str() + "/state";

    auto added = rehost_at(state, {"machines", "add", "web1", "--volume", replica});
    INFO(added.err);
    REQUIRE(added.exit_code == 0);
    CHECK(rehost_at(state, {"launch", "web1", "--mode", "test"}).exit_code == 9);
    REQUIRE(rehost_at(state, {"machines", "replication", "web1", "continuous"}).exit_code == 0);
    CHECK(machine(state)["lifecycle"] == "ready-for-testing");

    // First test launch.
    write_replica_file(dir, replica, "/etc/rehost-marker", "before launch 1\n");
    std::string before = sha256_of(replica);
    auto first = rehost_at(state, {"launch", "web1", "--mode", "test"});
    INFO("launch 1:\n" << first.err);
    REQUIRE(first.exit_code == 0);
    CHECK(sha256_of(replica) == before); // a launch never writes the replica
    auto m = machine(state);
    CHECK(m["lifecycle"] == "ready-for-cutover");
    std::string target1 = m["target_image"];
    CHECK(fs::exists(target1));
    CHECK(read_target_file(dir, target1, "/etc/rehost-marker") == "before launch 1\n");
    CHECK(reads_in_order(log_messages(state, 1),
                         {"Started test launch of web1", "Started taking snapshot",
                          "Finished taking snapshot", "Started converting", "Finished converting",
                          "Started validating", "Finished validating",
                          "Launched target " + target1}));

    // The replica changes; the second test launch deletes the first target and sees it.
    write_replica_file(dir, replica, "/etc/rehost-marker", "before launch 2\n");
    auto second = rehost_at(state, {"launch", "web1", "--mode", "test"});
    INFO("launch 2:\n" << second.err);
    REQUIRE(second.exit_code == 0);
    m = machine(state);
    std::string target2 = m["target_image"];
    CHECK(target2 != target1);
    CHECK_FALSE(fs::exists(target1));
    CHECK(read_target_file(dir, target2, "/etc/rehost-marker") == "before launch 2\n");
    CHECK(reads_in_order(log_messages(state, 2),
                         {"Deleted previous target " + target1, "Started taking snapshot",
                          "Finished taking snapshot", "Started converting", "Finished converting",
                          "Started validating", "Launched target " + target2}));
    // Later changes to the replica do not reach the launched target.
    write_replica_file(dir, replica, "/etc/rehost-marker", "before cutover\n");
    CHECK(read_target_file(dir, target2, "/etc/rehost-marker") == "before launch 2\n");

    // The cutover, proven by a boot on NVMe.
    auto cutover = rehost_at(state, {"launch", "web1", "--mode", "cutover", "--boot-test"});
    INFO("cutover:\n" << cutover.err);
    REQUIRE(cutover.exit_code == 0);
    m = machine(state);
    CHECK(m["lifecycle"] == "cutover-complete");
    std::string target3 = m["target_image"];
    CHECK_FALSE(fs::exists(target2));
    CHECK(read_target_file(dir, target3, "/etc/rehost-marker") == "before cutover\n");
    CHECK(reads_in_order(
        log_messages(state, 3),
        {"Started cutover launch of web1", "Started taking snapshot", "Finished taking snapshot",
         "Started converting", "Finished converting", "Started validating", "Started boot test",
         "Finished validating (boot test passed)", "Started writing a standalone image",
         "Finished writing the standalone image", "Launched target " + target3}));
    auto report = nlohmann::json::parse(read_file(state + "/jobs/3/report.json"));
    CHECK(report["validation"]["boot_test"]["passed"] == true);

    // Finalize: the staging snapshots go, the standalone cutover target stays valid.
    auto finalize = rehost_at(state, {"finalize", "web1"});
    INFO("finalize:\n" << finalize.err);
    REQUIRE(finalize.exit_code == 0);
    CHECK_FALSE(fs::exists(state + "/staging/web1"));
    m = machine(state);
    CHECK(m["lifecycle"] == "finalized");
    CHECK(m["replication"] == "disconnected");
    auto validate = run_rehost({"validate", target3, "--target", "aws-nitro"});
    INFO("validate:\n" << validate.err);
    CHECK(validate.exit_code == 0);

    // Archive: hidden from the default list.
    REQUIRE(rehost_at(state, {"archive", "web1"}).exit_code == 0);
    CHECK(machine(state).is_null());
    CHECK(machine(state, "--archived")["name"] == "web1");

    auto jobs = json_out(rehost_at(state, {"jobs", "--json"}));
    REQUIRE(jobs.size() == 4);
    const char* types[] = {"test-launch", "test-launch", "cutover-launch", "finalize"};
    for (size_t i = 0; i < 4; ++i) {
      CHECK(jobs[i]["type"] == types[i]);
      CHECK(jobs[i]["status"] == "succeeded");
      CHECK(jobs[i]["machines"][0]["name"] == "web1");
    }
    auto text = rehost_at(state, {"job", "log", "1"});
    CHECK(text.out.find("  web1  Started taking snapshot") != std::string::npos);
    CHECK(text.out.find("  web1  Launched target " + target1 + "\n") != std::string::npos);
  }
}
