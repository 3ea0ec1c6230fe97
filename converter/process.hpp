// Host processes (qemu-img, qemu): run with a timeout, capture output, kill on interruption.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "converter/error.hpp"

namespace rehost {

struct ProcessOptions {
  // Killed (SIGKILL) after this long; zero means no limit.
  std::chrono::milliseconds timeout{0};
  // Captured output beyond this many bytes per stream is dropped.
  size_t output_limit = 16 << 20;
  // Extra NAME=VALUE variables for the child.
  std::vector<std::string> environment;
  // Called with each chunk of standard output as it arrives; returning false kills the child.
  std::function<bool(std::string_view)> on_output;
  // Merge standard error into standard output (for consoles).
  bool merge_stderr = false;
};

struct ProcessResult {
  int exit_status = -1; // exit code, or -1 when killed by a signal
  int signal = 0;       // the signal that ended it, if any
  bool timed_out = false;
  bool stopped = false; // on_output asked to stop
  std::string out;
  std::string err;

  bool ok() const { return exit_status == 0; }
};

// Runs argv[0] (looked up in PATH) with stdin from /dev/null. An error only when it could not
// be started; a non-zero exit is in the result.
Result<ProcessResult> run_process(const std::vector<std::string>& argv,
                                  const ProcessOptions& options = {});

// "qemu-img info: <first line of stderr>" for messages about a failed process.
std::string describe_failure(const std::vector<std::string>& argv, const ProcessResult& result);

// Whether `program` is found in PATH.
bool have_program(const std::string& program);

} // namespace rehost
