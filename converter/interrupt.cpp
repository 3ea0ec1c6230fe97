#include "converter/interrupt.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <dirent.h>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>
#include <unistd.h>

#include "converter/error.hpp"

namespace rehost::interrupt {

namespace {

std::atomic<int> g_signal{0};
std::mutex g_mutex;
std::set<std::string> g_temporaries;

// Our direct children: every process whose parent is us. They are all ours to stop.
void kill_children(int sig)
{
  const pid_t self = getpid();
  DIR* proc = opendir("/proc");
  if (!proc) {
    return;
  }
  while (dirent* entry = readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) {
      continue;
    }
    std::ifstream stat(std::string("/proc/") + entry->d_name + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // Field 4 (ppid) follows the command name, which is in parentheses and may hold spaces.
    size_t close = text.rfind(')');
    if (close == std::string::npos) {
      continue;
    }
    char state = 0;
    long ppid = 0;
    if (std::sscanf(text.c_str() + close + 1, " %c %ld", &state, &ppid) == 2 && ppid == self) {
      kill(static_cast<pid_t>(pid), sig);
    }
  }
  closedir(proc);
}

void remove_temporaries_and_exit()
{
  {
    std::lock_guard lock(g_mutex);
    for (const auto& path : g_temporaries) {
      unlink(path.c_str());
    }
  }
  kill_children(SIGKILL);
  const char* msg = "rehost: error: interrupted; temporary files removed\n";
  (void)!write(2, msg, strlen(msg));
  _exit(static_cast<int>(ExitCode::interrupted));
}

void wait_for_signals(sigset_t set)
{
  while (true) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) {
      continue;
    }
    if (g_signal.exchange(sig) != 0) {
      remove_temporaries_and_exit(); // second signal: do not wait any longer
    }
    kill_children(SIGKILL);
    std::thread([] {
      std::this_thread::sleep_for(std::chrono::seconds(30));
      remove_temporaries_and_exit();
    }).detach();
  }
}

} // namespace

void install()
{
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread(wait_for_signals, set).detach();
}

bool requested()
{
  return g_signal.load() != 0;
}

int signal_number()
{
  return g_signal.load();
}

void check()
{
  if (requested()) {
    fatal(ExitCode::interrupted, "interrupted by signal {}; nothing was left behind",
          signal_number() == SIGINT    ? "SIGINT"
          : signal_number() == SIGTERM ? "SIGTERM"
                                       : "SIGHUP");
  }
}

void register_temporary(const std::string& path)
{
  std::lock_guard lock(g_mutex);
  g_temporaries.insert(path);
}

void unregister_temporary(const std::string& path)
{
  std::lock_guard lock(g_mutex);
  g_temporaries.erase(path);
}

} // namespace rehost::interrupt
