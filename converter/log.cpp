#include "converter/log.hpp"

#include <cstdio>
#include <mutex>

namespace rehost::log {

namespace {

const auto k_start = std::chrono::steady_clock::now();
Level g_level = Level::normal;
std::mutex g_mutex;

void write_line(const std::string& line)
{
  std::lock_guard lock(g_mutex);
  std::fputs(line.c_str(), stderr);
  std::fputc('\n', stderr);
  std::fflush(stderr);
}

} // namespace

void set_level(Level level)
{
  g_level = level;
}

Level level()
{
  return g_level;
}

double elapsed_seconds()
{
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - k_start).count();
}

void write_progress(const std::string& message)
{
  if (g_level != Level::quiet) {
    write_line(fmt::format("[{:7.1f}s] {}", elapsed_seconds(), message));
  }
}

void write_warning(const std::string& message)
{
  write_line("rehost: warning: " + message);
}

void write_debug(const std::string& message)
{
  write_line(fmt::format("[{:7.1f}s] debug: {}", elapsed_seconds(), message));
}

} // namespace rehost::log
