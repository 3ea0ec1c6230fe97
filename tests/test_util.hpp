// Helpers shared by the tests: temporary directories, files, running the rehost binary.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace rehost::test {

// A fresh directory per test case, removed afterwards (kept with REHOST_KEEP_TEST_DIRS=1).
class TempDir {
public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return m_path; }
  std::string str() const { return m_path.string(); }
  // Writes `content` to the relative path `rel` (creating directories); returns the full path.
  std::string write(const std::string& rel, const std::string& content) const;

private:
  std::filesystem::path m_path;
};

std::string read_file(const std::string& path);

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs the rehost binary built with the tests.
RunResult run_rehost(const std::vector<std::string>& args, int timeout_seconds = 1800);

// Skips the test (with a message) when `program` is not installed, except under CI=true, where
// setup installs everything and a missing tool is a failure.
bool have_tool_or_skip(const std::string& program);

// Skips the test (with the reason) where device-mapper does not work: a property of the host's
// kernel, which no setup installs, so under CI=true too.
bool device_mapper_or_skip();

// A Debian kernel installed on this host (setup installs linux-image-amd64 for the appliance),
// whose real modules the initramfs tests use: depmod must read their symbols to find
// dependencies. "" when there is none.
std::string host_kernel();

// Whether host_kernel() and depmod are there; skips the test otherwise, except under CI=true.
bool host_kernel_or_skip();

} // namespace rehost::test

namespace rehost::test {

// SHA-256 of a host file (hex), for "the source is unchanged" checks.
std::string sha256_of(const std::string& path);

// Runs a host command; fails the test when it cannot run or exits non-zero.
std::string must_run(const std::vector<std::string>& argv);

// Builds (once per machine, cached) a named image with images/build and returns its path.
std::string cached_image(const std::string& name);

// A small raw disk: MBR, one ext4 partition filled from `tree` (a host directory), no appliance
// needed. Returns the image path.
std::string make_ext4_disk(const TempDir& dir, const std::string& name, const std::string& tree,
                           int size_mib = 64);

// The single "rehost: error:" line of stderr, or "" if there is not exactly one error line.
std::string single_error_line(const std::string& err);

} // namespace rehost::test

namespace rehost::test {

// A raw disk with one ext4 partition per tree (MBR, in order), no appliance needed.
std::string make_ext4_disk_multi(const TempDir& dir, const std::string& name,
                                 const std::vector<std::string>& trees, int part_mib = 40);

// A newc cpio archive of `members` (path, content), compressed with `filter` ("gzip", "zstd",
// "xz", "lz4", "bzip2", "lzma"; "" for none), as initramfs tools write them: a path ending in
// '/' is a directory, a content starting with "->" makes a symbolic link to the rest.
std::string cpio_archive(const std::vector<std::pair<std::string, std::string>>& members,
                         const std::string& filter = "");
} // namespace rehost::test
