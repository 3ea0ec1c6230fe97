// Snapshots of replicas that need the host's tools: a reflink on a file system that has them
// (btrfs on a loop device), a qcow2 replica with a relative backing file, a VMDK split into
// extent files.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include <doctest/doctest.h>

#include "converter/process.hpp"
#include "converter/snapshot.hpp"
#include "tests/test_util.hpp"

using namespace rehost;
using namespace rehost::test;
namespace fs = std::filesystem;

namespace {

// A btrfs file system in a file, mounted under the test directory and unmounted at the end.
class BtrfsMount {
public:
  explicit BtrfsMount(const TempDir& dir) : m_path(dir.str() + "/btrfs")
  {
    std::string image = dir.str() + "/btrfs.img";
    must_run({"truncate", "-s", "160M", image});
    must_run({"mkfs.btrfs", "-q", "-f", image});
    fs::create_directories(m_path);
    must_run({"mount", "-o", "loop", image, m_path});
  }
  ~BtrfsMount() { run_process({"umount", m_path}); }
  const std::string& path() const { return m_path; }

private:
  std::string m_path;
};

} // namespace

TEST_SUITE("integration")
{
  TEST_CASE("on a file system with reflinks the snapshot is a clone that later writes do not reach")
  {
    if (getuid() != 0 || !have_tool_or_skip("mkfs.btrfs")) {
      MESSAGE("skipped: needs root and mkfs.btrfs to mount a btrfs file system");
      return;
    }
    TempDir dir;
    BtrfsMount btrfs(dir);
    std::string replica = btrfs.path() + "/replica.img";
    must_run({"dd", "if=/dev/urandom", "of=" + replica, "bs=1M", "count=16", "status=none"});
    std::string before = sha256_of(replica);
    auto snapshot = take_snapshot(replica, btrfs.path() + "/staging", "web1-job1");
    REQUIRE_MESSAGE(snapshot, (snapshot ? "" : snapshot.error().message));
    CHECK(snapshot->method == SnapshotMethod::reflink);
    CHECK(sha256_of(snapshot->path) == before);
    // The clone shares the replica's extents: the file system used almost nothing for it.
    must_run({"sync", "-f", snapshot->path});
    std::istringstream usage(
        must_run({"btrfs", "filesystem", "du", "--raw", "-s", snapshot->path}));
    std::string header;
    std::getline(usage, header);
    uint64_t total = 0;
    uint64_t exclusive = 1;
    usage >> total >> exclusive;
    CHECK(total == 16u << 20);
    CHECK(exclusive == 0); // every byte shared with the replica
    must_run(
        {"dd", "if=/dev/zero", "of=" + replica, "bs=1M", "count=1", "conv=notrunc", "status=none"});
    CHECK(sha256_of(replica) != before);
    CHECK(sha256_of(snapshot->path) == before);
  }

  TEST_CASE("a qcow2 replica with a relative backing file is snapshotted with an absolute one")
  {
    TempDir dir;
    fs::create_directories(dir.str() + "/replicas");
    must_run({"qemu-img", "create", "-q", "-f", "raw", dir.str() + "/replicas/base.raw", "16M"});
    must_run({"qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw",
              dir.str() + "/replicas/web1.qcow2"});
    auto snapshot =
        take_snapshot(dir.str() + "/replicas/web1.qcow2", dir.str() + "/staging", "web1-job1");
    REQUIRE_MESSAGE(snapshot, (snapshot ? "" : snapshot.error().message));
    auto info = nlohmann::json::parse(
        must_run({"qemu-img", "info", "--output=json", "--backing-chain", snapshot->path}));
    REQUIRE(info.size() == 2);
    CHECK(info[0]["format"] == "qcow2");
    CHECK(info[0]["backing-filename"] == dir.str() + "/replicas/base.raw");
    CHECK(info[1]["format"] == "raw");
  }

  TEST_CASE("a VMDK whose data is in extent files is refused, not half copied")
  {
    TempDir dir;
    std::string vmdk = dir.str() + "/web1.vmdk";
    must_run({"qemu-img", "create", "-q", "-f", "vmdk", "-o", "subformat=twoGbMaxExtentSparse",
              vmdk, "64M"});
    auto snapshot = take_snapshot(vmdk, dir.str() + "/staging", "web1-job1");
    REQUIRE_FALSE(snapshot);
    INFO(snapshot.error().message);
    CHECK(snapshot.error().message.find("replica " + vmdk) != std::string::npos);
    CHECK(snapshot.error().message.find("extent") != std::string::npos);
    CHECK_FALSE(fs::exists(dir.str() + "/staging/web1-job1"));
  }
}
