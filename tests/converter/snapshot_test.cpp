// Snapshots of replicas: copies keep holes and content, and are made by reflink where the file
// system can.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <doctest/doctest.h>

#include "converter/snapshot.hpp"
#include "tests/test_util.hpp"

using namespace rehost;
using namespace rehost::test;

namespace {

constexpr off_t k_mib = 1 << 20;
constexpr off_t k_run = 128 << 10;

// A 16 MiB file with data at 0, 10 MiB (three runs of 128 KiB) and a short tail at the very
// end; the rest are holes.
std::string make_sparse_file(const TempDir& dir, const std::string& name)
{
  std::string path = dir.str() + "/" + name;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(ftruncate(fd, 16 * k_mib) == 0);
  std::string block(k_run, 'a');
  REQUIRE(pwrite(fd, block.data(), block.size(), 0) == k_run);
  for (int i = 0; i < 3; ++i) {
    std::string run(k_run, static_cast<char>('b' + i));
    REQUIRE(pwrite(fd, run.data(), run.size(), 10 * k_mib + i * k_run) == k_run);
  }
  std::string tail = "the end";
  REQUIRE(pwrite(fd, tail.data(), tail.size(), 16 * k_mib - 7) == 7);
  close(fd);
  return path;
}

// Whether two files hold the same bytes (read in large blocks).
bool same_content(const std::string& a, const std::string& b)
{
  std::ifstream in_a(a, std::ios::binary);
  std::ifstream in_b(b, std::ios::binary);
  std::string block_a(k_mib, '\0');
  std::string block_b(k_mib, '\0');
  while (in_a && in_b) {
    in_a.read(block_a.data(), k_mib);
    in_b.read(block_b.data(), k_mib);
    if (in_a.gcount() != in_b.gcount()
        || block_a.compare(0, in_a.gcount(), block_b, 0, in_b.gcount()) != 0) {
      return false;
    }
  }
  return in_a.eof() && in_b.eof();
}

uint64_t allocated(const std::string& path)
{
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

} // namespace

TEST_SUITE("unit")
{
  TEST_CASE("a sparse copy has the same bytes and keeps the holes")
  {
    TempDir dir;
    std::string from = make_sparse_file(dir, "replica.img");
    std::string to = dir.str() + "/copy.img";
    auto r = sparse_copy_file(from, to);
    REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
    CHECK(std::filesystem::file_size(to) == 16u * k_mib);
    CHECK(same_content(to, from));
    // 512 KiB of data and one block at the end: far from the 16 MiB a full copy allocates.
    CHECK(allocated(from) < 2u * k_mib);
    CHECK(allocated(to) <= allocated(from) + 64 * 1024);
  }

  TEST_CASE("where reflinks are not available a clone falls back to a sparse copy")
  {
    TempDir dir;
    std::string from = make_sparse_file(dir, "replica.img");
    std::string to = dir.str() + "/clone.img";
    auto method = clone_file(from, to);
    REQUIRE_MESSAGE(method, (method ? "" : method.error().message));
    CHECK(same_content(to, from));
    // Either way the holes are kept: a reflink shares extents, a sparse copy skips holes.
    CHECK(allocated(to) <= allocated(from) + 64 * 1024);
    CHECK((*method == SnapshotMethod::sparse_copy || *method == SnapshotMethod::reflink));
    // Later writes to the replica do not reach the copy.
    int fd = ::open(from.c_str(), O_WRONLY);
    REQUIRE(fd >= 0);
    REQUIRE(pwrite(fd, "changed", 7, 0) == 7);
    close(fd);
    std::ifstream copy(to, std::ios::binary);
    std::string start(7, '\0');
    copy.read(start.data(), 7);
    CHECK(start == "aaaaaaa");
  }

  TEST_CASE("a copy never replaces an existing file, and a missing source names itself")
  {
    TempDir dir;
    std::string from = make_sparse_file(dir, "replica.img");
    std::string existing = dir.write("copy.img", "keep me");
    auto r = clone_file(from, existing);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find(existing) != std::string::npos);
    CHECK(read_file(existing) == "keep me");
    auto missing = sparse_copy_file(dir.str() + "/nope.img", dir.str() + "/out.img");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message.find("nope.img") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.str() + "/out.img"));
  }

  TEST_CASE("a snapshot of a missing replica says which and what to check")
  {
    TempDir dir;
    auto s = take_snapshot(dir.str() + "/gone.img", dir.str() + "/staging", "web1-job1");
    REQUIRE_FALSE(s);
    CHECK(s.error().message.find("replica " + dir.str() + "/gone.img") != std::string::npos);
    CHECK(s.error().message.find("rehost machines add") != std::string::npos);
  }

  TEST_CASE("snapshot method tokens round-trip")
  {
    for (auto m : {SnapshotMethod::reflink, SnapshotMethod::sparse_copy,
                   SnapshotMethod::lvm_snapshot, SnapshotMethod::device_copy}) {
      CHECK(parse_snapshot_method(to_token(m)) == m);
    }
    CHECK_FALSE(parse_snapshot_method("copy"));
  }

  TEST_CASE("an LVM snapshot is thin for a thin volume, else as large as its origin")
  {
    CHECK(lvcreate_snapshot_command({"vg0", "web1", "linear"}, "rehost-web1-job3")
          == std::vector<std::string>{"lvcreate", "-qq", "--snapshot", "--name", "rehost-web1-job3",
                                      "--extents", "100%ORIGIN", "vg0/web1"});
    CHECK(lvcreate_snapshot_command({"vg0", "db", "thin"}, "rehost-db-job1")
          == std::vector<std::string>{"lvcreate", "-qq", "--snapshot", "--name", "rehost-db-job1",
                                      "--setactivationskip", "n", "--activate", "y", "vg0/db"});
  }

  TEST_CASE("removing a snapshot that is already gone is not an error")
  {
    TempDir dir;
    std::string file = dir.write("web1-job1", "data");
    CHECK(remove_snapshot(file, SnapshotMethod::sparse_copy));
    CHECK_FALSE(std::filesystem::exists(file));
    CHECK(remove_snapshot(file, SnapshotMethod::sparse_copy));
    CHECK(remove_snapshot("", SnapshotMethod::reflink));
  }
}
