// Helpers shared by the tests: temporary directories, files, running the rehost binary.
#pragma once

#include <filesystem>
#include <string>
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

} // namespace rehost::test
