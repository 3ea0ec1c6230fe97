#include "converter/output.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "converter/interrupt.hpp"
#include "converter/log.hpp"
#include "converter/process.hpp"

namespace rehost {

namespace fs = std::filesystem;

namespace {

// Removes `.NAME.rehost-partial-PID` files whose process is gone.
void remove_stale_partials(const fs::path& dir, const std::string& name)
{
  const std::string prefix = "." + name + ".rehost-partial-";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string file = entry.path().filename().string();
    if (file.rfind(prefix, 0) != 0) {
      continue;
    }
    std::string pid_text = file.substr(prefix.size());
    char* end = nullptr;
    long pid = std::strtol(pid_text.c_str(), &end, 10);
    if (*end != '\0' || pid <= 0) {
      continue;
    }
    if (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
      log::debug("removing {} left by an interrupted run", entry.path().string());
      fs::remove(entry.path(), ec);
    }
  }
}

} // namespace

OutputImage::OutputImage(const std::string& path, const Source& source, Overwrite overwrite)
{
  std::error_code ec;
  fs::path p = fs::absolute(path, ec).lexically_normal();
  m_path = p.string();
  fs::path dir = p.parent_path();
  if (p.filename().empty()) {
    fatal(ExitCode::usage, "{}: the output must be a file name", path);
  }
  if (!fs::is_directory(dir, ec)) {
    fatal(ExitCode::output_failed, "{}: the directory {} does not exist; create it first", path,
          dir.string());
  }
  if (access(dir.c_str(), W_OK) != 0) {
    fatal(ExitCode::output_failed, "{}: cannot write in {}: {}", path, dir.string(),
          std::strerror(errno));
  }
  struct stat out_st;
  struct stat src_st;
  if (::stat(m_path.c_str(), &out_st) == 0) {
    if (::stat(source.path.c_str(), &src_st) == 0 && out_st.st_dev == src_st.st_dev
        && out_st.st_ino == src_st.st_ino) {
      fatal(ExitCode::usage, "{}: the output is the source; rehost never writes the source", path);
    }
    if (overwrite == Overwrite::refuse) {
      fatal(ExitCode::usage, "{}: already exists; use --force to replace it", path);
    }
  }
  // One writer per OUTPUT. The lock file is removed by its owner; a lock taken on a file that
  // was removed meanwhile is retried on the new one.
  m_lock_path = (dir / ("." + p.filename().string() + ".rehost-lock")).string();
  for (int attempt = 0; attempt < 10 && m_lock_fd < 0; ++attempt) {
    int fd = ::open(m_lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
      fatal(ExitCode::output_failed, "{}: cannot create {}: {}", path, m_lock_path,
            std::strerror(errno));
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      close(fd);
      fatal(ExitCode::output_failed,
            "{}: another rehost is writing this output now; wait for it or choose another name",
            path);
    }
    struct stat held;
    struct stat now;
    if (fstat(fd, &held) == 0 && ::stat(m_lock_path.c_str(), &now) == 0 && held.st_ino == now.st_ino
        && held.st_dev == now.st_dev) {
      m_lock_fd = fd;
    } else {
      close(fd);
    }
  }
  if (m_lock_fd < 0) {
    fatal(ExitCode::output_failed, "{}: cannot lock {}", path, m_lock_path);
  }
  remove_stale_partials(dir, p.filename().string());
  m_temp = (dir / ("." + p.filename().string() + ".rehost-partial-" + std::to_string(getpid())))
               .string();
}

OutputImage::~OutputImage()
{
  if (!m_committed && !m_temp.empty()) {
    unlink(m_temp.c_str());
    interrupt::unregister_temporary(m_temp);
  }
  if (m_lock_fd >= 0) {
    unlink(m_lock_path.c_str());
    close(m_lock_fd);
  }
}

void OutputImage::create_overlay(const Source& source)
{
  interrupt::register_temporary(m_temp);
  std::vector<std::string> argv = {"qemu-img", "create",    "-q", "-f",          "qcow2",
                                   "-b",       source.path, "-F", source.format, m_temp};
  auto result = run_process(argv);
  interrupt::check();
  if (!result || !result->ok()) {
    fatal(ExitCode::output_failed, "{}: cannot create the output overlay: {}", m_path,
          result ? describe_failure(argv, *result) : result.error().message);
  }
}

void OutputImage::flatten(const std::string& format)
{
  std::string flat = m_temp + ".flat";
  interrupt::register_temporary(flat);
  std::vector<std::string> argv = {"qemu-img", "convert", "-q", "-O", format, m_temp, flat};
  auto result = run_process(argv);
  if (!result || !result->ok()) {
    unlink(flat.c_str());
    interrupt::unregister_temporary(flat);
    interrupt::check();
    fatal(ExitCode::output_failed, "{}: cannot write the standalone image: {}", m_path,
          result ? describe_failure(argv, *result) : result.error().message);
  }
  if (::rename(flat.c_str(), m_temp.c_str()) != 0) {
    unlink(flat.c_str());
    fatal(ExitCode::output_failed, "{}: {}", m_path, std::strerror(errno));
  }
  interrupt::unregister_temporary(flat);
}

void OutputImage::commit()
{
  interrupt::check();
  int fd = ::open(m_temp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
  if (::rename(m_temp.c_str(), m_path.c_str()) != 0) {
    fatal(ExitCode::output_failed, "{}: cannot rename the finished image into place: {}", m_path,
          std::strerror(errno));
  }
  m_committed = true;
  interrupt::unregister_temporary(m_temp);
  // Make the rename durable.
  int dfd = ::open(fs::path(m_path).parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
}

uint64_t OutputImage::allocated_bytes() const
{
  struct stat st;
  const std::string& file = m_committed ? m_path : m_temp;
  if (::stat(file.c_str(), &st) != 0) {
    return 0;
  }
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

} // namespace rehost
