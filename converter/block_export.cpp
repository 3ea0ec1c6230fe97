#include "converter/block_export.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

namespace rehost {

namespace {

bool is_mountpoint(int pid, const std::string& path)
{
  std::ifstream mounts("/proc/" + std::to_string(pid) + "/mountinfo");
  std::string line;
  while (std::getline(mounts, line)) {
    // Field 5 is the mount point.
    size_t pos = 0;
    for (int i = 0; i < 4 && pos != std::string::npos; ++i) {
      pos = line.find(' ', pos + 1);
    }
    if (pos == std::string::npos) {
      continue;
    }
    size_t end = line.find(' ', pos + 1);
    if (line.substr(pos + 1, end - pos - 1) == path) {
      return true;
    }
  }
  return false;
}

std::string first_line(const std::string& file)
{
  std::ifstream in(file);
  std::string line;
  std::string last;
  while (std::getline(in, line)) {
    if (!line.empty()) {
      last = line;
    }
  }
  return last;
}

} // namespace

BlockExport::~BlockExport()
{
  (void)stop();
}

Result<BlockExport> BlockExport::start(const std::string& image, const std::string& format,
                                       const std::string& mountpoint, bool writable)
{
  BlockExport e;
  e.m_mountpoint = mountpoint;
  e.m_log = mountpoint + ".log";
  {
    std::ofstream touch(mountpoint);
  }
  // Commas in file names are doubled in qemu's option syntax.
  auto escape = [](const std::string& s) {
    std::string out;
    for (char c : s) {
      out += c;
      if (c == ',') {
        out += ',';
      }
    }
    return out;
  };
  std::vector<std::string> argv = {
      "qemu-storage-daemon",
      "--blockdev",
      "driver=" + format + ",node-name=disk0,file.driver=file,file.filename=" + escape(image)
          + (writable ? "" : ",read-only=on"),
      "--export",
      "type=fuse,id=export0,node-name=disk0,mountpoint=" + escape(mountpoint)
          + ",writable=" + (writable ? "on" : "off"),
  };
  auto daemon = BackgroundProcess::spawn(argv, e.m_log, BackgroundProcess::Mounts::own);
  if (!daemon) {
    return std::unexpected(daemon.error());
  }
  e.m_daemon = std::move(*daemon);
  // Ready when the FUSE file system is mounted on the file.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  e.m_path = "/proc/" + std::to_string(e.m_daemon.pid()) + "/root" + mountpoint;
  while (!is_mountpoint(e.m_daemon.pid(), mountpoint)) {
    if (!e.m_daemon.running()) {
      std::string why = first_line(e.m_log);
      return fail("{}: qemu-storage-daemon could not export it: {}", image,
                  why.empty() ? "no message" : why);
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return fail("{}: qemu-storage-daemon did not export it within 30 s", image);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return e;
}

Result<void> BlockExport::stop()
{
  if (m_daemon.pid() <= 0) {
    return {};
  }
  int status = m_daemon.stop(std::chrono::seconds(60));
  if (!m_mountpoint.empty()) {
    unlink(m_mountpoint.c_str());
    unlink(m_log.c_str());
  }
  if (status != 0) {
    return fail("qemu-storage-daemon did not exit cleanly (status {})", status);
  }
  return {};
}

} // namespace rehost
