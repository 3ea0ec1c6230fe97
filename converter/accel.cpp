#include "converter/accel.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "converter/log.hpp"
#include "converter/process.hpp"

namespace rehost {

namespace {

constexpr const char* k_qemu = "qemu-system-x86_64";

std::string find_qemu()
{
  for (const char* dir : {"/usr/bin/", "/usr/local/bin/", "/usr/libexec/"}) {
    std::string path = std::string(dir) + k_qemu;
    if (access(path.c_str(), X_OK) == 0) {
      return path;
    }
  }
  return {};
}

// The newest kernel image in /boot (libguestfs' appliance uses the same ones).
std::string find_host_kernel()
{
  std::string best;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/boot", ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("vmlinuz-", 0) == 0 && access(entry.path().c_str(), R_OK) == 0 && name > best) {
      best = name;
    }
  }
  return best.empty() ? best : "/boot/" + best;
}

std::string cache_key(const std::string& qemu)
{
  struct utsname u;
  uname(&u);
  struct stat q {};
  struct stat k {};
  stat(qemu.c_str(), &q);
  stat("/dev/kvm", &k);
  return fmt::format("kernel={} qemu={}:{} kvm={}", u.release, qemu,
                     static_cast<long long>(q.st_mtime), static_cast<unsigned long>(k.st_rdev));
}

Accel probe(const std::string& qemu)
{
  std::string kernel = find_host_kernel();
  if (kernel.empty()) {
    log::debug("no kernel in /boot to probe KVM with; using TCG");
    return Accel::tcg;
  }
  // panic=-1 reboots at once after "VFS: Unable to mount root fs", and -no-reboot turns that
  // reboot into an exit. A working KVM gets there in about a second.
  ProcessOptions options;
  options.timeout = std::chrono::seconds(15);
  options.merge_stderr = true;
  auto result = run_process({qemu, "-accel", "kvm", "-cpu", "host", "-machine", "pc", "-m", "256",
                             "-nodefaults", "-display", "none", "-serial", "stdio", "-no-reboot",
                             "-kernel", kernel, "-append", "console=ttyS0 panic=-1 loglevel=1"},
                            options);
  if (result && !result->timed_out && result->out.find("Kernel panic") != std::string::npos) {
    return Accel::kvm;
  }
  log::debug("KVM probe failed ({}); using TCG", !result ? result.error().message
                                                 : result->timed_out
                                                     ? std::string("hung")
                                                     : std::string("no kernel output"));
  return Accel::tcg;
}

} // namespace

const char* to_string(Accel accel)
{
  return accel == Accel::kvm ? "kvm" : "tcg";
}

std::string accel_cache_path()
{
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  std::string base = xdg && *xdg     ? xdg
                     : home && *home ? std::string(home) + "/.cache"
                                     : "/var/cache";
  return base + "/rehost/accel";
}

Accel usable_accel()
{
  if (access("/dev/kvm", R_OK | W_OK) != 0) {
    return Accel::tcg;
  }
  std::string qemu = find_qemu();
  if (qemu.empty()) {
    return Accel::tcg;
  }
  const std::string key = cache_key(qemu);
  const std::string path = accel_cache_path();
  {
    std::ifstream in(path);
    std::string line;
    if (std::getline(in, line) && line == key) {
      std::string verdict;
      std::getline(in, verdict);
      if (verdict == "kvm" || verdict == "tcg") {
        return verdict == "kvm" ? Accel::kvm : Accel::tcg;
      }
    }
  }
  log::progress("Checking whether KVM works here (once per host)");
  Accel verdict = probe(qemu);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::string temp = path + ".tmp" + std::to_string(getpid());
  {
    std::ofstream out(temp);
    out << key << '\n' << to_string(verdict) << '\n';
  }
  std::filesystem::rename(temp, path, ec);
  if (verdict == Accel::tcg) {
    log::progress("KVM is not usable here; using TCG (software emulation)");
  }
  return verdict;
}

} // namespace rehost
