#include "tests/test_util.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>

#include <doctest/doctest.h>

#include "converter/process.hpp"

namespace rehost::test {

namespace fs = std::filesystem;

TempDir::TempDir()
{
  static std::atomic<int> counter{0};
  const char* base = std::getenv("REHOST_TEST_TMP");
  fs::path root = base && *base ? fs::path(base) : fs::temp_directory_path();
  m_path = root / ("rehost-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
  fs::remove_all(m_path);
  fs::create_directories(m_path);
}

TempDir::~TempDir()
{
  // REHOST_KEEP_TEST_DIRS=1 keeps them for a look after a failure.
  const char* keep = std::getenv("REHOST_KEEP_TEST_DIRS");
  if (keep && std::string(keep) == "1") {
    return;
  }
  std::error_code ec;
  fs::remove_all(m_path, ec);
}

std::string TempDir::write(const std::string& rel, const std::string& content) const
{
  fs::path p = m_path / rel;
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
  return p.string();
}

std::string read_file(const std::string& path)
{
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

RunResult run_rehost(const std::vector<std::string>& args, int timeout_seconds)
{
  std::vector<std::string> argv = {REHOST_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions options;
  options.timeout = std::chrono::seconds(timeout_seconds);
  auto r = run_process(argv, options);
  RunResult out;
  if (r) {
    out.exit_code = r->exit_status;
    out.out = r->out;
    out.err = r->err;
  }
  return out;
}

bool have_tool_or_skip(const std::string& program)
{
  if (have_program(program)) {
    return true;
  }
  const char* ci = std::getenv("CI");
  if (ci && std::string(ci) == "true") {
    FAIL("CI: " << program << " is not installed; the setup script should have installed it");
  }
  MESSAGE("skipped: " << program << " is not installed");
  return false;
}

} // namespace rehost::test
