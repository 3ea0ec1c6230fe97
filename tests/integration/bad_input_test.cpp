// Bad inputs through the command line: each gets its documented exit code and exactly one
// error line naming the problem, never a crash; the source is unchanged and no output is left.
#include <filesystem>
#include <fstream>

#include <chrono>
#include <cstdlib>

#include <doctest/doctest.h>

#include "tests/integration/phony.hpp"
#include "tests/test_util.hpp"

using namespace rehost::test;
namespace fs = std::filesystem;

namespace {

struct Outcome {
  int code;
  std::string error;
};

// Converts `source` to dir/out.qcow2 and checks the invariants every failure must keep.
Outcome convert_fails(const TempDir& dir, const std::string& source,
                      std::vector<std::string> extra = {})
{
  std::string before = fs::exists(source) && fs::is_regular_file(source) ? sha256_of(source) : "";
  std::string output = extra.empty() ? dir.str() + "/out.qcow2" : extra[0];
  std::vector<std::string> args = {
      "convert", source, "--target", extra.size() > 1 ? extra[1] : "kvm", "-o", output};
  auto r = run_rehost(args);
  INFO("stderr: " << r.err);
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("terminate called") == std::string::npos);
  CHECK(r.err.find("Aborted") == std::string::npos);
  CHECK(r.err.find("runtime error") == std::string::npos); // UBSan
  CHECK(r.err.find("AddressSanitizer") == std::string::npos);
  CHECK_FALSE(fs::exists(output));
  // No partial file either.
  if (fs::is_directory(fs::path(output).parent_path())) {
    for (const auto& e : fs::directory_iterator(fs::path(output).parent_path())) {
      CHECK(e.path().filename().string().find("rehost-partial") == std::string::npos);
    }
  }
  if (!before.empty()) {
    CHECK(sha256_of(source) == before);
  }
  std::string line = single_error_line(r.err);
  CHECK_MESSAGE(!line.empty(), "expected exactly one error line");
  return {r.exit_code, line};
}

} // namespace

TEST_SUITE("integration")
{
  TEST_CASE("bad inputs that need no appliance")
  {
    TempDir dir;
    SUBCASE("missing source")
    {
      auto o = convert_fails(dir, dir.str() + "/nope.img");
      CHECK(o.code == 3);
      CHECK(o.error.find("nope.img: No such file or directory") != std::string::npos);
    }
    SUBCASE("a directory given to convert")
    {
      fs::create_directories(dir.path() / "rootfs");
      auto o = convert_fails(dir, dir.str() + "/rootfs");
      CHECK(o.code == 2);
      CHECK(o.error.find("is a directory") != std::string::npos);
    }
    SUBCASE("zero-length file")
    {
      std::string empty = dir.write("empty.img", "");
      auto o = convert_fails(dir, empty);
      CHECK(o.code == 3);
      CHECK(o.error.find("empty.img: the file is empty") != std::string::npos);
    }
    SUBCASE("qcow2 with a missing backing file")
    {
      std::string img = dir.str() + "/child.qcow2";
      must_run({"qemu-img", "create", "-q", "-u", "-f", "qcow2", "-b", dir.str() + "/gone.img",
                "-F", "raw", img, "64M"});
      auto o = convert_fails(dir, img);
      CHECK(o.code == 3);
      CHECK(o.error.find("gone.img") != std::string::npos);
    }
    SUBCASE("unknown target")
    {
      std::string img = dir.write("disk.img", std::string(1 << 20, 'x'));
      auto o = convert_fails(dir, img, {dir.str() + "/out.qcow2", "aws-nitr"});
      CHECK(o.code == 2);
      CHECK(o.error.find("unknown target 'aws-nitr' (did you mean 'aws-nitro'?)")
            != std::string::npos);
    }
    SUBCASE("output in a missing directory")
    {
      std::string img = dir.write("disk.img", std::string(1 << 20, 'x'));
      auto o = convert_fails(dir, img, {dir.str() + "/no/such/dir/out.qcow2"});
      CHECK(o.code == 8);
      CHECK(o.error.find("does not exist") != std::string::npos);
    }
    SUBCASE("an unknown option")
    {
      auto r = run_rehost({"convert", "a.img", "-t", "kvm", "-o", "x.qcow2", "--no-such-option"});
      CHECK(r.exit_code == 2);
      CHECK(single_error_line(r.err).find("--no-such-option") != std::string::npos);
    }
  }

  TEST_CASE("bad inputs found by the appliance")
  {
    if (!have_tool_or_skip("qemu-system-x86_64")) {
      return;
    }
    TempDir dir;
    SUBCASE("random bytes")
    {
      std::string img = dir.str() + "/random.img";
      must_run({"sh", "-c", "head -c 8388608 /dev/urandom > " + img});
      auto o = convert_fails(dir, img);
      CHECK(o.code == 3);
      CHECK(o.error.find("holds no partition table and no file system") != std::string::npos);
    }
    SUBCASE("a disk with a file system but no OS")
    {
      fs::create_directories(dir.path() / "data/srv");
      dir.write("data/srv/readme.txt", "just data\n");
      std::string img = make_ext4_disk(dir, "data.img", dir.str() + "/data");
      auto o = convert_fails(dir, img);
      CHECK(o.code == 4);
      CHECK(o.error.find("no operating system found") != std::string::npos);
      CHECK(o.error.find("/dev/sda1 ext4") != std::string::npos);
    }
    SUBCASE("a truncated qcow2")
    {
      write_phony_debian(dir, "root");
      std::string raw = make_ext4_disk(dir, "phony.img", dir.str() + "/root");
      std::string qcow = dir.str() + "/phony.qcow2";
      must_run({"qemu-img", "convert", "-q", "-O", "qcow2", raw, qcow});
      must_run({"truncate", "-s", std::to_string(fs::file_size(qcow) / 3), qcow});
      auto o = convert_fails(dir, qcow);
      CHECK(o.code == 3);
      CHECK(o.error.find("phony.qcow2: damaged qcow2 image") != std::string::npos);
    }
  }

  TEST_CASE("an appliance that does not start in time is stopped, started once more, then "
            "reported")
  {
    if (!have_tool_or_skip("qemu-system-x86_64")) {
      return;
    }
    TempDir dir;
    write_phony_debian(dir, "root");
    std::string img = make_ext4_disk(dir, "phony.img", dir.str() + "/root");
    std::string before = sha256_of(img);
    // No appliance starts in 1 s; a hung one is stopped the same way.
    setenv("REHOST_APPLIANCE_TIMEOUT", "1", 1);
    auto start = std::chrono::steady_clock::now();
    auto r = run_rehost({"--backend", "guestfs", "inspect", img});
    auto took = std::chrono::steady_clock::now() - start;
    unsetenv("REHOST_APPLIANCE_TIMEOUT");
    INFO("stderr:\n" << r.err);
    CHECK(r.exit_code == 3);
    CHECK(r.err.find("warning: the libguestfs appliance did not start within 1 s; starting it "
                     "again")
          != std::string::npos);
    CHECK(single_error_line(r.err).find("phony.img: the libguestfs appliance did not start "
                                        "within 1 s")
          != std::string::npos);
    CHECK(took < std::chrono::seconds(60));
    CHECK(sha256_of(img) == before);
  }
}
