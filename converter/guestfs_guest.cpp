#include "converter/guestfs_guest.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <guestfs.h>

#include "converter/accel.hpp"
#include "converter/interrupt.hpp"
#include "converter/log.hpp"
#include "converter/partition_table.hpp"

namespace rehost {

namespace {

std::atomic<int> g_launches{0};

// guestfs returns NULL-terminated arrays of malloc'd strings.
std::vector<std::string> take_strings(char** strings)
{
  std::vector<std::string> out;
  if (!strings) {
    return out;
  }
  for (char** s = strings; *s; ++s) {
    out.emplace_back(*s);
    free(*s);
  }
  free(strings);
  return out;
}

std::string take_string(char* s)
{
  if (!s) {
    return {};
  }
  std::string out(s);
  free(s);
  return out;
}

FileInfo info_from(const struct guestfs_statns* st)
{
  FileInfo info;
  info.size = static_cast<uint64_t>(st->st_size);
  info.mode = static_cast<uint32_t>(st->st_mode) & 07777;
  const auto mode = static_cast<mode_t>(st->st_mode);
  if (S_ISREG(mode)) {
    info.type = FileType::regular;
  } else if (S_ISDIR(mode)) {
    info.type = FileType::directory;
  } else if (S_ISLNK(mode)) {
    info.type = FileType::symlink;
  } else {
    info.type = FileType::other;
  }
  return info;
}

// Payloads above this go through a temporary host file (the protocol caps messages at 4 MiB).
constexpr size_t k_small_transfer = 2 << 20;

std::string host_temp_file()
{
  char name[] = "/tmp/rehost-transfer-XXXXXX";
  int fd = mkstemp(name);
  if (fd >= 0) {
    close(fd);
    return name;
  }
  return {};
}

std::string shell_quote(const std::string& s)
{
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

} // namespace

int GuestfsGuest::launches()
{
  return g_launches.load();
}

namespace {

// How long an appliance may take to start. Under TCG on a busy 2-core host a launch takes
// 20-90 s; now and then the appliance's kernel stops making progress while booting, and
// libguestfs would wait for it forever.
std::chrono::seconds launch_timeout()
{
  if (const char* v = std::getenv("REHOST_APPLIANCE_TIMEOUT")) {
    long seconds = std::strtol(v, nullptr, 10);
    if (seconds > 0) {
      return std::chrono::seconds(seconds);
    }
  }
  return std::chrono::seconds(300);
}

// Kills the qemu processes this process started (libguestfs forks them directly).
void kill_child_qemu()
{
  std::error_code ec;
  const std::string self = std::to_string(getpid());
  std::filesystem::directory_iterator it("/proc", ec);
  for (; !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const auto& e = *it;
    std::string pid = e.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    std::ifstream stat(e.path() / "stat");
    std::string line;
    std::getline(stat, line);
    // "PID (COMM) STATE PPID ..."; COMM may hold spaces and parentheses, so from the last ')'.
    size_t close = line.rfind(')');
    size_t open = line.find('(');
    if (close == std::string::npos || open == std::string::npos) {
      continue;
    }
    std::istringstream rest(line.substr(close + 1));
    std::string state, ppid;
    rest >> state >> ppid;
    if (ppid == self && line.substr(open + 1, close - open - 1).rfind("qemu", 0) == 0) {
      kill(static_cast<pid_t>(std::stol(pid)), SIGKILL);
    }
  }
}

} // namespace

Result<std::unique_ptr<GuestfsGuest>>
GuestfsGuest::launch(const std::string& image, const std::string& format, DiskAccess access)
{
  // A launch that hangs is stopped and made once more; two in a row is an error.
  const auto timeout = launch_timeout();
  for (int attempt = 1;; ++attempt) {
    bool expired = false;
    auto guest = launch_once(image, format, access, timeout, expired);
    if (guest || !expired || attempt == 2) {
      return guest;
    }
    log::warning("the libguestfs appliance did not start within {} s; starting it again",
                 timeout.count());
  }
}

Result<std::unique_ptr<GuestfsGuest>>
GuestfsGuest::launch_once(const std::string& image, const std::string& format, DiskAccess access,
                          std::chrono::seconds timeout, bool& expired)
{
  guestfs_h* g = guestfs_create(); // reads the LIBGUESTFS_* variables
  if (!g) {
    return fail("cannot create a libguestfs handle");
  }
  guestfs_set_error_handler(g, nullptr, nullptr);
  std::unique_ptr<GuestfsGuest> guest(new GuestfsGuest(g, image, access));

  if (!std::getenv("LIBGUESTFS_BACKEND")) {
    guestfs_set_backend(g, "direct");
  }
  if (!std::getenv("LIBGUESTFS_BACKEND_SETTINGS") && usable_accel() == Accel::tcg) {
    char force_tcg[] = "force_tcg";
    char* settings[] = {force_tcg, nullptr};
    guestfs_set_backend_settings(g, settings);
  }
  // Rebuilding an initramfs inside the appliance needs memory and benefits from a second vCPU.
  if (!std::getenv("LIBGUESTFS_MEMSIZE")) {
    guestfs_set_memsize(g, 2048);
  }
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  guestfs_set_smp(g, static_cast<int>(std::clamp(cpus, 1L, 4L)));

  const int readonly = access == DiskAccess::read_only ? 1 : 0;
  if (guestfs_add_drive_opts(g, image.c_str(), GUESTFS_ADD_DRIVE_OPTS_FORMAT, format.c_str(),
                             GUESTFS_ADD_DRIVE_OPTS_READONLY, readonly,
                             GUESTFS_ADD_DRIVE_OPTS_CACHEMODE, "unsafe", -1)
      != 0) {
    return fail("{}: {}", image, guest->last_error());
  }
  interrupt::check();
  g_launches.fetch_add(1);
  std::mutex mutex;
  std::condition_variable cv;
  bool finished = false;
  // After the time is up, qemu is killed again every few seconds until the launch returns (a
  // qemu started after the first kill would hang it again).
  std::thread watchdog([&] {
    std::unique_lock lock(mutex);
    if (cv.wait_for(lock, timeout, [&] { return finished; })) {
      return;
    }
    expired = true;
    do {
      kill_child_qemu();
    } while (!cv.wait_for(lock, std::chrono::seconds(5), [&] { return finished; }));
  });
  int launched = guestfs_launch(g);
  {
    std::lock_guard lock(mutex);
    finished = true;
  }
  cv.notify_all();
  watchdog.join();
  // A launch that returned just as the time ran out has lost its qemu all the same.
  if (launched != 0 || expired) {
    interrupt::check();
    if (expired) {
      return fail("{}: the libguestfs appliance did not start within {} s", image, timeout.count());
    }
    return fail("{}: the libguestfs appliance did not start: {}", image, guest->last_error());
  }
  return guest;
}

GuestfsGuest::~GuestfsGuest()
{
  if (m_g) {
    guestfs_close(m_g);
  }
}

std::string GuestfsGuest::last_error() const
{
  const char* e = guestfs_last_error(m_g);
  std::string msg = e ? e : "unknown libguestfs error";
  // Keep it to one line.
  std::replace(msg.begin(), msg.end(), '\n', ' ');
  while (!msg.empty() && msg.back() == ' ') {
    msg.pop_back();
  }
  return msg;
}

std::string GuestfsGuest::describe() const
{
  return "libguestfs appliance on " + m_image;
}

Result<DiskInfo> GuestfsGuest::describe_disk()
{
  DiskInfo disk;
  for (const auto& device : take_strings(guestfs_list_devices(m_g))) {
    int64_t size = guestfs_blockdev_getsize64(m_g, device.c_str());
    if (size < 0) {
      return fail("{}: {}", device, last_error());
    }
    auto reader = [&](uint64_t offset, size_t count) -> Result<std::string> {
      size_t got = 0;
      char* data = guestfs_pread_device(m_g, device.c_str(), static_cast<int>(count),
                                        static_cast<int64_t>(offset), &got);
      if (!data) {
        return fail("{}: cannot read {} bytes at {}: {}", device, count, offset, last_error());
      }
      std::string bytes(data, got);
      free(data);
      return bytes;
    };
    auto table = read_partition_table(device, static_cast<uint64_t>(size), reader);
    if (!table) {
      return std::unexpected(table.error());
    }
    disk.tables.push_back(std::move(*table));
  }
  auto pairs = take_strings(guestfs_list_filesystems(m_g));
  for (size_t i = 0; i + 1 < pairs.size(); i += 2) {
    Filesystem fs;
    fs.device = pairs[i];
    fs.type = pairs[i + 1];
    if (fs.type == "unknown") {
      continue;
    }
    fs.uuid = take_string(guestfs_vfs_uuid(m_g, fs.device.c_str()));
    fs.label = take_string(guestfs_vfs_label(m_g, fs.device.c_str()));
    disk.filesystems.push_back(std::move(fs));
  }
  // list_filesystems leaves out encrypted volumes; a partition that is one is reported too.
  for (const auto& part : take_strings(guestfs_list_partitions(m_g))) {
    if (disk.by_device(part)) {
      continue;
    }
    Filesystem fs;
    fs.device = part;
    fs.type = take_string(guestfs_vfs_type(m_g, part.c_str()));
    if (fs.encrypted()) {
      fs.uuid = take_string(guestfs_vfs_uuid(m_g, part.c_str()));
      disk.filesystems.push_back(std::move(fs));
    }
  }
  return disk;
}

Result<std::vector<std::string>> GuestfsGuest::find_roots()
{
  char** roots = guestfs_inspect_os(m_g);
  if (!roots) {
    return fail("cannot inspect {}: {}", m_image, last_error());
  }
  return take_strings(roots);
}

Result<void> GuestfsGuest::mount_root(const std::string& root, DiskInfo& disk)
{
  auto pairs = take_strings(guestfs_inspect_get_mountpoints(m_g, root.c_str()));
  std::vector<Mount> mounts;
  for (size_t i = 0; i + 1 < pairs.size(); i += 2) {
    mounts.push_back({pairs[i], pairs[i + 1]});
  }
  if (mounts.empty()) {
    mounts.push_back({"/", root});
  }
  // Parents before children.
  std::sort(mounts.begin(), mounts.end(), [](const Mount& a, const Mount& b) {
    return a.mountpoint.size() < b.mountpoint.size();
  });
  for (const auto& m : mounts) {
    int r = m_access == DiskAccess::read_only
                ? guestfs_mount_ro(m_g, m.device.c_str(), m.mountpoint.c_str())
                : guestfs_mount(m_g, m.device.c_str(), m.mountpoint.c_str());
    if (r != 0) {
      if (m.mountpoint == "/" || m.mountpoint == "/boot") {
        return fail("cannot mount {} on {}: {}", m.device, m.mountpoint, last_error());
      }
      log::warning("cannot mount {} on {} (skipped): {}", m.device, m.mountpoint, last_error());
      continue;
    }
    disk.mounts.push_back(m);
  }
  disk.root_device = root;
  m_mounted = true;
  return {};
}

Result<void> GuestfsGuest::shutdown()
{
  if (m_mounted) {
    guestfs_umount_all(m_g);
    m_mounted = false;
  }
  if (guestfs_shutdown(m_g) != 0) {
    return fail("{}: the appliance did not shut down cleanly: {}", m_image, last_error());
  }
  return {};
}

Result<FileInfo> GuestfsGuest::lstat(const std::string& path)
{
  struct guestfs_statns* st = guestfs_lstatns(m_g, path.c_str());
  if (!st) {
    int err = guestfs_last_errno(m_g);
    if (err == ENOENT || err == ENOTDIR) {
      return FileInfo{};
    }
    return fail("{}: {}", path, last_error());
  }
  FileInfo info = info_from(st);
  guestfs_free_statns(st);
  return info;
}

Result<FileInfo> GuestfsGuest::stat(const std::string& path)
{
  struct guestfs_statns* st = guestfs_statns(m_g, path.c_str());
  if (!st) {
    int err = guestfs_last_errno(m_g);
    if (err == ENOENT || err == ENOTDIR || err == ELOOP) {
      return FileInfo{};
    }
    return fail("{}: {}", path, last_error());
  }
  FileInfo info = info_from(st);
  guestfs_free_statns(st);
  return info;
}

Result<std::string> GuestfsGuest::read_file(const std::string& path, size_t limit)
{
  auto info = stat(path);
  if (!info) {
    return std::unexpected(info.error());
  }
  if (info->type == FileType::missing) {
    return fail("{}: No such file or directory", path);
  }
  if (info->type != FileType::regular) {
    return fail("{}: not a regular file", path);
  }
  if (info->size > limit) {
    return fail("{}: larger than {} bytes ({} bytes)", path, limit, info->size);
  }
  if (info->size <= k_small_transfer) {
    size_t size = 0;
    char* data = guestfs_read_file(m_g, path.c_str(), &size);
    if (!data) {
      return fail("{}: {}", path, last_error());
    }
    std::string content(data, size);
    free(data);
    return content;
  }
  std::string temp = host_temp_file();
  auto done = download(path, temp);
  std::string content;
  if (done) {
    std::ifstream in(temp, std::ios::binary);
    content.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  unlink(temp.c_str());
  if (!done) {
    return std::unexpected(done.error());
  }
  if (content.size() > limit) {
    return fail("{}: larger than {} bytes", path, limit);
  }
  return content;
}

Result<std::string> GuestfsGuest::read_head(const std::string& path, size_t size)
{
  auto info = stat(path);
  if (!info) {
    return std::unexpected(info.error());
  }
  if (info->type != FileType::regular) {
    return fail("{}: not a regular file", path);
  }
  size_t got = 0;
  char* data =
      guestfs_pread(m_g, path.c_str(), static_cast<int>(std::min(size, k_small_transfer)), 0, &got);
  if (!data) {
    return fail("{}: {}", path, last_error());
  }
  std::string content(data, got);
  free(data);
  return content;
}

Result<void> GuestfsGuest::upload_content(const std::string& path, const std::string& content)
{
  if (content.size() <= k_small_transfer) {
    if (guestfs_write(m_g, path.c_str(), content.data(), content.size()) != 0) {
      return fail("{}: {}", path, last_error());
    }
    return {};
  }
  std::string temp = host_temp_file();
  {
    std::ofstream out(temp, std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
  }
  int r = guestfs_upload(m_g, temp.c_str(), path.c_str());
  unlink(temp.c_str());
  if (r != 0) {
    return fail("{}: {}", path, last_error());
  }
  return {};
}

Result<void> GuestfsGuest::write_file(const std::string& path, const std::string& content,
                                      uint32_t mode)
{
  size_t slash = path.rfind('/');
  std::string temp = path.substr(0, slash + 1) + "." + path.substr(slash + 1) + ".rehost-new";
  struct guestfs_statns* old = guestfs_lstatns(m_g, path.c_str());
  if (auto r = upload_content(temp, content); !r) {
    if (old) {
      guestfs_free_statns(old);
    }
    return r;
  }
  // Keep the mode and owner of the file being replaced.
  int uid = 0;
  int gid = 0;
  if (old) {
    if (S_ISREG(static_cast<mode_t>(old->st_mode))) {
      mode = static_cast<uint32_t>(old->st_mode) & 07777;
      uid = static_cast<int>(old->st_uid);
      gid = static_cast<int>(old->st_gid);
    }
    guestfs_free_statns(old);
  }
  if (guestfs_chmod(m_g, static_cast<int>(mode), temp.c_str()) != 0
      || guestfs_chown(m_g, uid, gid, temp.c_str()) != 0
      || guestfs_rename(m_g, temp.c_str(), path.c_str()) != 0) {
    std::string why = last_error();
    guestfs_rm_f(m_g, temp.c_str());
    return fail("{}: {}", path, why);
  }
  return {};
}

Result<std::vector<std::string>> GuestfsGuest::list_dir(const std::string& path)
{
  char** names = guestfs_ls(m_g, path.c_str());
  if (!names) {
    return fail("{}: {}", path, last_error());
  }
  auto out = take_strings(names);
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::string> GuestfsGuest::read_link(const std::string& path)
{
  char* target = guestfs_readlink(m_g, path.c_str());
  if (!target) {
    return fail("{}: {}", path, last_error());
  }
  return take_string(target);
}

Result<void> GuestfsGuest::remove(const std::string& path)
{
  if (guestfs_rm_f(m_g, path.c_str()) != 0) {
    return fail("{}: {}", path, last_error());
  }
  return {};
}

Result<void> GuestfsGuest::remove_dir(const std::string& path)
{
  if (guestfs_is_dir(m_g, path.c_str()) > 0 && guestfs_rmdir(m_g, path.c_str()) != 0) {
    return fail("{}: {}", path, last_error());
  }
  return {};
}

Result<void> GuestfsGuest::make_symlink(const std::string& target, const std::string& path)
{
  if (guestfs_ln_sf(m_g, target.c_str(), path.c_str()) != 0) {
    return fail("{}: {}", path, last_error());
  }
  return {};
}

Result<void> GuestfsGuest::rename(const std::string& from, const std::string& to)
{
  if (guestfs_rename(m_g, from.c_str(), to.c_str()) != 0) {
    return fail("rename {} to {}: {}", from, to, last_error());
  }
  return {};
}

Result<SpaceInfo> GuestfsGuest::free_space(const std::string& path)
{
  struct guestfs_statvfs* st = guestfs_statvfs(m_g, path.c_str());
  if (!st) {
    return fail("{}: {}", path, last_error());
  }
  SpaceInfo info{static_cast<uint64_t>(st->bfree) * static_cast<uint64_t>(st->frsize),
                 static_cast<uint64_t>(st->ffree)};
  guestfs_free_statvfs(st);
  return info;
}

Result<void> GuestfsGuest::copy(const std::string& from, const std::string& to)
{
  if (guestfs_cp_a(m_g, from.c_str(), to.c_str()) != 0) {
    return fail("copy {} to {}: {}", from, to, last_error());
  }
  return {};
}

Result<void> GuestfsGuest::make_dirs(const std::string& path)
{
  if (guestfs_mkdir_p(m_g, path.c_str()) != 0) {
    return fail("{}: {}", path, last_error());
  }
  return {};
}

Result<void> GuestfsGuest::download(const std::string& path, const std::string& host_path)
{
  if (guestfs_download(m_g, path.c_str(), host_path.c_str()) != 0) {
    return fail("{}: {}", path, last_error());
  }
  return {};
}

Result<CommandResult> GuestfsGuest::run(const std::vector<std::string>& argv,
                                        std::chrono::seconds timeout)
{
  if (argv.empty()) {
    return fail("internal: empty guest command");
  }
  // The appliance reports only stdout of a command that succeeded, so the command runs under
  // the guest's shell, which merges the streams and prints the exit status last.
  static const std::string k_marker = "rehost-exit-status=";
  std::string script = "\"$@\" 2>&1; s=$?; echo; echo " + k_marker + "$s";
  if (m_firmware == "uefi") {
    // A small tmpfs over the appliance's /sys/firmware, inside the guest's view only for this
    // command; if the guest has no mount, the command runs as before.
    // -n: nothing in the guest's /etc/mtab, where it is a file (RHEL 6, SLES 11).
    script = "efi=; if mount -n -t tmpfs -o size=64k,mode=0755 rehost-efi /sys/firmware "
             "2>/dev/null; then mkdir -p /sys/firmware/efi/efivars; efi=1; fi; \"$@\" 2>&1; "
             "s=$?; [ -n \"$efi\" ] && { umount -n /sys/firmware || umount -l -n "
             "/sys/firmware; } 2>/dev/null; echo; echo "
             + k_marker + "$s";
  }
  std::vector<std::string> args = {"/bin/sh", "-c", script, "sh"};
  args.insert(args.end(), argv.begin(), argv.end());
  std::vector<char*> cargs;
  for (auto& a : args) {
    cargs.push_back(a.data());
  }
  cargs.push_back(nullptr);

  // A watchdog stops the appliance if the command hangs; the conversion then fails.
  std::mutex mutex;
  std::condition_variable cv;
  bool finished = false;
  bool expired = false;
  std::thread watchdog([&] {
    std::unique_lock lock(mutex);
    if (!cv.wait_for(lock, timeout, [&] { return finished; })) {
      expired = true;
      int pid = guestfs_get_pid(m_g);
      if (pid > 0) {
        kill(pid, SIGKILL);
      }
    }
  });
  char* out = guestfs_command(m_g, cargs.data());
  {
    std::lock_guard lock(mutex);
    finished = true;
  }
  cv.notify_all();
  watchdog.join();
  interrupt::check();
  if (expired) {
    return fail("{} did not finish within {} s and was stopped", argv[0], timeout.count());
  }
  if (!out) {
    return fail("cannot run {} in the guest: {}", argv[0], last_error());
  }
  std::string text = take_string(out);
  CommandResult result;
  size_t at = text.rfind(k_marker);
  if (at == std::string::npos) {
    return fail("{}: the guest shell did not report an exit status", argv[0]);
  }
  result.exit_status = std::atoi(text.c_str() + at + k_marker.size());
  text.erase(at);
  // Drop the separating newline added above.
  if (!text.empty() && text.back() == '\n') {
    text.pop_back();
  }
  result.out = std::move(text);
  (void)shell_quote;
  return result;
}

} // namespace rehost
