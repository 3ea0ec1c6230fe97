#include "converter/dm_device.hpp"

#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "converter/log.hpp"
#include "converter/process.hpp"

namespace rehost {

namespace fs = std::filesystem;

namespace {

const std::string k_name_prefix = "rehost-";
const std::string k_uuid_prefix = "REHOST-";

// One ioctl on /dev/mapper/control about the device `name` (none for DM_VERSION); 0 or the
// errno. Interface version 4.0 is asked for: every kernel of major version 4 accepts it, and
// fills in its own.
int control_ioctl(unsigned long request, const std::string& name, uint32_t flags, dm_ioctl* out)
{
  int control = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
  if (control < 0) {
    return errno;
  }
  dm_ioctl io{};
  io.version[0] = DM_VERSION_MAJOR;
  io.data_size = sizeof io;
  io.data_start = sizeof io;
  io.flags = flags;
  name.copy(io.name, sizeof io.name - 1);
  int r = ioctl(control, request, &io);
  int saved = errno;
  close(control);
  if (out) {
    *out = io;
  }
  return r == 0 ? 0 : saved;
}

std::string first_line(const std::string& path)
{
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

bool process_alive(long pid)
{
  return kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH;
}

// Removes /dev/mapper/NAME when it is the block node of `dev` that dmsetup made itself (with no
// udev running); a link is udev's, which removes it.
void remove_host_node(const std::string& name, unsigned long dev)
{
  std::string path = "/dev/mapper/" + name;
  struct stat st;
  if (dev != 0 && lstat(path.c_str(), &st) == 0 && S_ISBLK(st.st_mode) && st.st_rdev == dev) {
    ::unlink(path.c_str());
  }
}

} // namespace

bool device_mapper_available(std::string* why)
{
  static std::once_flag once;
  static std::string missing;
  std::call_once(once, [] {
    dm_ioctl io{};
    if (int e = control_ioctl(DM_VERSION, "", 0, &io); e != 0) {
      missing = fmt::format("/dev/mapper/control: {}", std::strerror(e));
    } else if (io.version[0] != DM_VERSION_MAJOR || io.version[1] < 27) {
      missing = fmt::format("device-mapper driver {}.{} cannot defer removals (4.27 can)",
                            io.version[0], io.version[1]);
    } else if (!have_program("dmsetup")) {
      missing = "dmsetup is not installed";
    }
  });
  if (why) {
    *why = missing;
  }
  return missing.empty();
}

DmDevice::~DmDevice()
{
  (void)remove();
}

DmDevice::DmDevice(DmDevice&& other) noexcept
    : m_name(std::move(other.m_name)), m_node(std::move(other.m_node)),
      m_kernel_name(std::move(other.m_kernel_name)), m_dev(other.m_dev), m_fd(other.m_fd)
{
  other.m_name.clear();
  other.m_fd = -1;
}

DmDevice& DmDevice::operator=(DmDevice&& other) noexcept
{
  if (this != &other) {
    (void)remove();
    m_name = std::move(other.m_name);
    m_node = std::move(other.m_node);
    m_kernel_name = std::move(other.m_kernel_name);
    m_dev = other.m_dev;
    m_fd = other.m_fd;
    other.m_name.clear();
    other.m_fd = -1;
  }
  return *this;
}

Result<DmDevice> DmDevice::create(const std::string& name, const std::string& table,
                                  const std::string& table_file, const std::string& node)
{
  const std::string uuid = k_uuid_prefix + name;
  if (name.rfind(k_name_prefix, 0) != 0 || uuid.size() >= DM_UUID_LEN) {
    return fail("{}: not a name rehost gives a device-mapper device", name);
  }
  {
    std::ofstream out(table_file, std::ios::trunc);
    out << table;
    if (!out.flush()) {
      return fail("{}: cannot write the device-mapper table", table_file);
    }
  }
  // A table file, not --table: some dmsetup versions read only the first line of --table.
  ProcessOptions options;
  options.timeout = std::chrono::seconds(120);
  auto made = run_process({"dmsetup", "create", name, "--uuid", uuid, table_file}, options);
  ::remove(table_file.c_str());
  DmDevice device;
  device.m_name = name; // from here on, an error return removes what dmsetup may have made
  if (!made || !made->ok()) {
    return fail("cannot create device-mapper device {}: {}", name,
                made ? describe_failure({"dmsetup", "create"}, *made) : made.error().message);
  }
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/sys/block", ec)) {
    std::string kernel = e.path().filename().string();
    if (kernel.rfind("dm-", 0) == 0 && dm_name_of(kernel) == name) {
      device.m_kernel_name = kernel;
    }
  }
  unsigned major_number = 0;
  unsigned minor_number = 0;
  if (device.m_kernel_name.empty()
      || std::sscanf(first_line("/sys/block/" + device.m_kernel_name + "/dev").c_str(), "%u:%u",
                     &major_number, &minor_number)
             != 2) {
    return fail("device-mapper device {} was made but is not in /sys/block", name);
  }
  device.m_dev = makedev(major_number, minor_number);
  if (mknod(node.c_str(), S_IFBLK | 0600, device.m_dev) != 0) {
    return fail("{}: cannot make the node of {}: {}", node, name, std::strerror(errno));
  }
  device.m_node = node;
  device.m_fd = open(node.c_str(), O_RDONLY | O_CLOEXEC);
  if (device.m_fd < 0) {
    return fail("{}: {}", node, std::strerror(errno));
  }
  // Open, so the kernel defers the removal until the last user (this descriptor, the mounts)
  // is gone.
  dm_ioctl io{};
  if (int e = control_ioctl(DM_DEV_REMOVE, name, DM_DEFERRED_REMOVE, &io); e != 0) {
    return fail("device-mapper device {}: cannot defer its removal: {}", name, std::strerror(e));
  }
  if (!(io.flags & DM_DEFERRED_REMOVE)) {
    device.m_name.clear(); // removed at once: nothing held it, not even our descriptor
    return fail("device-mapper device {} was removed as soon as it was made", name);
  }
  return device;
}

Result<void> DmDevice::remove()
{
  if (m_fd >= 0) {
    close(m_fd);
    m_fd = -1;
  }
  if (m_name.empty()) {
    return {};
  }
  std::string name = std::move(m_name);
  m_name.clear();
  // What opened it for a moment (udev's blkid) holds it a moment longer: try for two seconds.
  int error = EBUSY;
  for (int attempt = 0; attempt < 20 && error == EBUSY; ++attempt) {
    if (attempt > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    error = control_ioctl(DM_DEV_REMOVE, name, 0, nullptr);
  }
  remove_host_node(name, m_dev);
  // ENXIO: the deferred removal came first.
  if (error != 0 && error != ENXIO) {
    return fail("device-mapper device {} is still held ({}); the kernel removes it when it is "
                "closed",
                name, std::strerror(error));
  }
  return {};
}

bool left_by_ended_run(const std::string& name, const std::string& uuid,
                       const std::function<bool(long pid)>& alive)
{
  if (name.rfind(k_name_prefix, 0) != 0 || uuid != k_uuid_prefix + name) {
    return false;
  }
  const char* digits = name.c_str() + k_name_prefix.size();
  char* end = nullptr;
  long pid = std::strtol(digits, &end, 10);
  if (end == digits || *end != '-' || pid <= 0) {
    return false;
  }
  return !alive(pid);
}

void remove_stale_dm_devices()
{
  std::set<std::string> live;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/sys/block", ec)) {
    std::string kernel = e.path().filename().string();
    if (kernel.rfind("dm-", 0) != 0) {
      continue;
    }
    std::string name = dm_name_of(kernel);
    live.insert(name);
    if (left_by_ended_run(name, first_line("/sys/block/" + kernel + "/dm/uuid"), process_alive)) {
      // Deferred: a device something still holds open goes only when that closes it.
      int error = control_ioctl(DM_DEV_REMOVE, name, DM_DEFERRED_REMOVE, nullptr);
      log::debug("removing device-mapper device {} of an ended run: {}", name,
                 error == 0 ? "done" : std::strerror(error));
    }
  }
  for (const auto& e : fs::directory_iterator("/dev/mapper", ec)) {
    std::string name = e.path().filename().string();
    if (!live.count(name) && e.is_block_file(ec)
        && left_by_ended_run(name, k_uuid_prefix + name, process_alive)) {
      ::unlink(e.path().c_str());
    }
  }
}

std::vector<std::string> block_holders(const std::string& path)
{
  std::vector<std::string> out;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISBLK(st.st_mode)) {
    return out;
  }
  std::string dir =
      fmt::format("/sys/dev/block/{}:{}/holders", major(st.st_rdev), minor(st.st_rdev));
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    out.push_back(e.path().filename().string());
  }
  return out;
}

std::string dm_name_of(const std::string& kernel_name)
{
  if (kernel_name.find('/') != std::string::npos) {
    return "";
  }
  return first_line("/sys/block/" + kernel_name + "/dm/name");
}

} // namespace rehost
