// Errors and exit codes.
//
// Low-level functions return Result<T>: a value or an Error. Passes that cannot go on throw
// Fatal, which carries the exit code; main() catches it once and prints "rehost: error: ...".
#pragma once

#include <expected>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace rehost {

// Documented in README.md ("Exit codes"); the launch pipeline relies on them.
enum class ExitCode : int {
  ok = 0,
  internal = 1,          // a bug in rehost
  usage = 2,             // bad command line: unknown option or target, missing argument
  bad_source = 3,        // SOURCE is missing, unreadable, empty, truncated or not a disk
  unsupported_guest = 4, // no OS, an OS no rule handles, or several OSes and no --root
  conversion_failed = 5, // a conversion step failed; OUTPUT was not made
  validation_failed = 6, // the converted guest did not pass validation or the boot test
  bad_rules = 7,         // a rule file or target profile is invalid
  output_failed = 8,     // OUTPUT cannot be written: missing directory, read-only, full
  refused = 9,           // the machine's lifecycle or replication state does not allow the action
  state_store = 10,      // the state store cannot be opened, read or written
  snapshot_failed = 11,  // no point-in-time snapshot of the replica could be taken
  interrupted = 130,     // SIGINT or SIGTERM; nothing was left behind
};

// An error from a low-level operation: what went wrong, naming the thing it concerns.
struct Error {
  std::string message;
};

template <typename T>
using Result = std::expected<T, Error>;

// Makes the error side of a Result: `return fail("{}: not a directory", path);`
template <typename... Args>
std::unexpected<Error> fail(fmt::format_string<Args...> format, Args&&... args)
{
  return std::unexpected(Error{fmt::format(format, std::forward<Args>(args)...)});
}

// A failure that ends the command, with the exit code it maps to.
class Fatal : public std::runtime_error {
public:
  Fatal(ExitCode code, const std::string& message) : std::runtime_error(message), m_code(code) {}

  ExitCode code() const { return m_code; }

private:
  ExitCode m_code;
};

// Throws Fatal(code, ...) with a formatted message.
template <typename... Args>
[[noreturn]] void fatal(ExitCode code, fmt::format_string<Args...> format, Args&&... args)
{
  throw Fatal(code, fmt::format(format, std::forward<Args>(args)...));
}

// Returns the value of `result`, or throws Fatal(code, context + ": " + error).
template <typename T>
T must(Result<T> result, ExitCode code)
{
  if (!result) {
    throw Fatal(code, result.error().message);
  }
  if constexpr (!std::is_void_v<T>) {
    return std::move(*result);
  }
}

} // namespace rehost
