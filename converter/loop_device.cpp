#include "converter/loop_device.hpp"

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rehost {

LoopDevice::~LoopDevice()
{
  if (m_fd >= 0) {
    // Detach now when nothing uses it (autoclear would do it later, asynchronously, and the
    // export behind it must not be stopped while a loop device still holds its file).
    ioctl(m_fd, LOOP_CLR_FD, 0);
    close(m_fd);
  }
}

LoopDevice::LoopDevice(LoopDevice&& other) noexcept
    : m_path(std::move(other.m_path)), m_fd(other.m_fd)
{
  other.m_fd = -1;
}

LoopDevice& LoopDevice::operator=(LoopDevice&& other) noexcept
{
  if (this != &other) {
    if (m_fd >= 0) {
      ioctl(m_fd, LOOP_CLR_FD, 0);
      close(m_fd);
    }
    m_path = std::move(other.m_path);
    m_fd = other.m_fd;
    other.m_fd = -1;
  }
  return *this;
}

bool loop_devices_available()
{
  return geteuid() == 0 && access("/dev/loop-control", R_OK | W_OK) == 0;
}

Result<LoopDevice> LoopDevice::attach(const std::string& file, uint64_t offset, uint64_t size,
                                      LoopAccess access)
{
  const bool ro = access == LoopAccess::read_only;
  int backing = open(file.c_str(), (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (backing < 0) {
    return fail("{}: {}", file, std::strerror(errno));
  }
  int control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (control < 0) {
    close(backing);
    return fail("/dev/loop-control: {}", std::strerror(errno));
  }
  // Another process may take the free device between the two calls: try again.
  for (int attempt = 0; attempt < 20; ++attempt) {
    int n = ioctl(control, LOOP_CTL_GET_FREE);
    if (n < 0) {
      int saved = errno;
      close(control);
      close(backing);
      return fail("no free loop device: {}", std::strerror(saved));
    }
    std::string path = "/dev/loop" + std::to_string(n);
    int fd = open(path.c_str(), (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0) {
      continue;
    }
    loop_config config{};
    config.fd = static_cast<uint32_t>(backing);
    config.info.lo_offset = offset;
    config.info.lo_sizelimit = size;
    config.info.lo_flags = LO_FLAGS_AUTOCLEAR | (ro ? LO_FLAGS_READ_ONLY : 0);
    if (ioctl(fd, LOOP_CONFIGURE, &config) == 0) {
      close(control);
      close(backing);
      LoopDevice device;
      device.m_path = path;
      device.m_fd = fd;
      return device;
    }
    int saved = errno;
    close(fd);
    if (saved != EBUSY) {
      close(control);
      close(backing);
      return fail("{}: cannot attach {}: {}", path, file, std::strerror(saved));
    }
  }
  close(control);
  close(backing);
  return fail("cannot attach {}: every free loop device was taken", file);
}

} // namespace rehost
