// The one logger: human-readable lines on stderr, separate from the JSON report.
//
// Progress lines ("[  12.3s] Rebuilding initramfs for 6.1.0-13-amd64") mark the passes; they
// are always printed unless --quiet. Warnings and errors are always printed; debug lines only
// with --verbose.
#pragma once

#include <chrono>
#include <string>

#include <fmt/format.h>

namespace rehost::log {

enum class Level { quiet, normal, verbose };

// Sets how much is printed (default: normal).
void set_level(Level level);
Level level();

// Seconds since the process started (the clock of progress lines).
double elapsed_seconds();

void write_progress(const std::string& message);
void write_warning(const std::string& message);
void write_debug(const std::string& message);

// A timestamped progress line: one per pass or long step.
template <typename... Args>
void progress(fmt::format_string<Args...> format, Args&&... args)
{
  write_progress(fmt::format(format, std::forward<Args>(args)...));
}

// "rehost: warning: ..." (not fatal; also collected in the report by the caller).
template <typename... Args>
void warning(fmt::format_string<Args...> format, Args&&... args)
{
  write_warning(fmt::format(format, std::forward<Args>(args)...));
}

template <typename... Args>
void debug(fmt::format_string<Args...> format, Args&&... args)
{
  if (level() == Level::verbose) {
    write_debug(fmt::format(format, std::forward<Args>(args)...));
  }
}

} // namespace rehost::log
