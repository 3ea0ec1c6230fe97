#include "converter/process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "converter/interrupt.hpp"

extern char** environ;

namespace rehost {

namespace {

void append_limited(std::string& to, const char* data, size_t size, size_t limit)
{
  if (to.size() < limit) {
    to.append(data, std::min(size, limit - to.size()));
  }
}

} // namespace

Result<ProcessResult> run_process(const std::vector<std::string>& argv,
                                  const ProcessOptions& options)
{
  if (argv.empty()) {
    return fail("internal: empty command");
  }
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    return fail("cannot create a pipe: {}", std::strerror(errno));
  }

  std::vector<std::string> env_storage;
  for (char** e = environ; *e; ++e) {
    env_storage.emplace_back(*e);
  }
  for (const auto& e : options.environment) {
    env_storage.push_back(e);
  }
  std::vector<char*> envp;
  for (auto& e : env_storage) {
    envp.push_back(e.data());
  }
  envp.push_back(nullptr);
  std::vector<char*> args;
  for (const auto& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);

  pid_t pid = fork();
  if (pid < 0) {
    return fail("cannot start {}: {}", argv[0], std::strerror(errno));
  }
  if (pid == 0) {
    // Child: signals were blocked by interrupt::install(); the child starts with a clean mask.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(out_pipe[1], 1);
    dup2(options.merge_stderr ? out_pipe[1] : err_pipe[1], 2);
    if (options.child_main) {
      _exit(options.child_main());
    }
    execvpe(args[0], args.data(), envp.data());
    const char* msg = "exec failed\n";
    (void)!write(2, msg, std::strlen(msg));
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);

  ProcessResult result;
  const auto start = std::chrono::steady_clock::now();
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buffer[65536];
  bool killed = false;
  while (open_fds > 0) {
    int wait_ms = 1000;
    if (options.timeout.count() > 0) {
      auto left = options.timeout
                  - std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start);
      if (left.count() <= 0) {
        result.timed_out = true;
        kill(pid, SIGKILL);
        killed = true;
        break;
      }
      wait_ms = static_cast<int>(std::min<long>(left.count(), 1000));
    }
    int n = poll(fds, 2, wait_ms);
    if (n < 0 && errno != EINTR) {
      break;
    }
    if (interrupt::requested()) {
      kill(pid, SIGKILL);
      killed = true;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
        continue;
      }
      ssize_t got = read(fds[i].fd, buffer, sizeof buffer);
      if (got <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      auto& to = i == 0 ? result.out : result.err;
      append_limited(to, buffer, static_cast<size_t>(got), options.output_limit);
      if (i == 0 && options.on_output
          && !options.on_output(std::string_view(buffer, static_cast<size_t>(got)))) {
        result.stopped = true;
        kill(pid, SIGKILL);
        killed = true;
        break;
      }
    }
    if (killed) {
      break;
    }
  }
  for (auto& fd : fds) {
    if (fd.fd >= 0) {
      close(fd.fd);
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) {
    result.exit_status = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  }
  (void)killed;
  return result;
}

std::string describe_failure(const std::vector<std::string>& argv, const ProcessResult& result)
{
  std::string what = argv.empty() ? std::string("process") : argv[0];
  if (result.timed_out) {
    return fmt::format("{} did not finish in time and was stopped", what);
  }
  std::string text = result.err.empty() ? result.out : result.err;
  // The last non-empty line usually says why.
  std::string line;
  size_t end = text.find_last_not_of("\n ");
  if (end != std::string::npos) {
    size_t begin = text.rfind('\n', end);
    line = text.substr(begin == std::string::npos ? 0 : begin + 1,
                       end + 1 - (begin == std::string::npos ? 0 : begin + 1));
  }
  if (result.signal != 0) {
    return fmt::format("{} was killed by signal {}", what, result.signal);
  }
  if (line.empty()) {
    return fmt::format("{} exited with status {}", what, result.exit_status);
  }
  return fmt::format("{} exited with status {}: {}", what, result.exit_status, line);
}

BackgroundProcess::~BackgroundProcess()
{
  if (m_pid > 0) {
    stop(std::chrono::seconds(5));
  }
}

BackgroundProcess::BackgroundProcess(BackgroundProcess&& other) noexcept : m_pid(other.m_pid)
{
  other.m_pid = -1;
}

BackgroundProcess& BackgroundProcess::operator=(BackgroundProcess&& other) noexcept
{
  if (this != &other) {
    if (m_pid > 0) {
      stop(std::chrono::seconds(5));
    }
    m_pid = other.m_pid;
    other.m_pid = -1;
  }
  return *this;
}

Result<BackgroundProcess> BackgroundProcess::spawn(const std::vector<std::string>& argv,
                                                   const std::string& log_file, Mounts mounts)
{
  std::vector<char*> args;
  for (const auto& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    return fail("cannot start {}: {}", argv[0], std::strerror(errno));
  }
  if (pid == 0) {
    // Dies with us, even on SIGKILL; and not if we already died before this line.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) {
      _exit(1);
    }
    if (mounts == Mounts::own
        && (unshare(CLONE_NEWNS) != 0
            || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)) {
      _exit(1);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    int in = open("/dev/null", O_RDONLY);
    int out = log_file.empty() ? open("/dev/null", O_WRONLY)
                               : open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(in, 0);
    dup2(out, 1);
    dup2(out, 2);
    execvp(args[0], args.data());
    _exit(127);
  }
  BackgroundProcess p;
  p.m_pid = pid;
  return p;
}

bool BackgroundProcess::running()
{
  if (m_pid <= 0) {
    return false;
  }
  int status = 0;
  pid_t r = waitpid(m_pid, &status, WNOHANG);
  if (r == m_pid) {
    m_pid = -1;
    return false;
  }
  return true;
}

bool BackgroundProcess::finished(int* status)
{
  if (m_pid <= 0) {
    return true;
  }
  int raw = 0;
  pid_t r = waitpid(m_pid, &raw, WNOHANG);
  if (r != m_pid) {
    return false;
  }
  m_pid = -1;
  *status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  return true;
}

int BackgroundProcess::stop(std::chrono::milliseconds grace)
{
  if (m_pid <= 0) {
    return -1;
  }
  kill(m_pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + grace;
  int status = 0;
  while (true) {
    pid_t r = waitpid(m_pid, &status, WNOHANG);
    if (r == m_pid || (r < 0 && errno != EINTR)) {
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill(m_pid, SIGKILL);
      waitpid(m_pid, &status, 0);
      break;
    }
    usleep(20000);
  }
  m_pid = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool have_program(const std::string& program)
{
  const char* path = std::getenv("PATH");
  std::string paths = path ? path : "/usr/sbin:/usr/bin:/sbin:/bin";
  size_t start = 0;
  while (start <= paths.size()) {
    size_t end = paths.find(':', start);
    if (end == std::string::npos) {
      end = paths.size();
    }
    std::string candidate = paths.substr(start, end - start) + "/" + program;
    if (access(candidate.c_str(), X_OK) == 0) {
      return true;
    }
    start = end + 1;
  }
  return false;
}

} // namespace rehost
