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
  // When set, the child runs this instead of exec'ing argv (argv[0] still names it in
  // messages); its return value is the exit status.
  std::function<int()> child_main;
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

// A long-running helper (qemu-storage-daemon) that dies with us: it gets SIGKILL when this
// process ends, however it ends.
class BackgroundProcess {
public:
  BackgroundProcess() = default;
  ~BackgroundProcess();
  BackgroundProcess(BackgroundProcess&& other) noexcept;
  BackgroundProcess& operator=(BackgroundProcess&& other) noexcept;

  enum class Mounts { shared, own };

  // Starts argv with stdin from /dev/null and stdout/stderr to `log_file` (or /dev/null). With
  // Mounts::own it gets a private mount namespace: what it mounts only it sees (others reach it
  // through /proc/PID/root), and its mounts are not torn down with ours.
  static Result<BackgroundProcess> spawn(const std::vector<std::string>& argv,
                                         const std::string& log_file = {},
                                         Mounts mounts = Mounts::shared);
  int pid() const { return m_pid; }
  // Whether it still runs.
  bool running();
  // Whether it ended; if so, its exit status (or 128 + signal) is stored in `status`.
  bool finished(int* status);
  // SIGTERM, then SIGKILL after `grace`; returns its exit status (-1 if killed).
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

private:
  int m_pid = -1;
};

// "qemu-img info: <first line of stderr>" for messages about a failed process.
std::string describe_failure(const std::vector<std::string>& argv, const ProcessResult& result);

// Whether `program` is found in PATH.
bool have_program(const std::string& program);

} // namespace rehost
