// A loop device over part of a host file (a partition of an exported disk).
//
// The kernel here may create no partition devices for loop files, so each partition gets its
// own loop device at the partition's offset. Devices are created with autoclear: the kernel
// detaches them when their last user (the mount) goes, so even a killed rehost leaks none.
#pragma once

#include <cstdint>
#include <string>

#include "converter/error.hpp"

namespace rehost {

enum class LoopAccess { read_only, read_write };

class LoopDevice {
public:
  LoopDevice() = default;
  ~LoopDevice();
  LoopDevice(LoopDevice&& other) noexcept;
  LoopDevice& operator=(LoopDevice&& other) noexcept;

  // Attaches `size` bytes of `file` from `offset`.
  static Result<LoopDevice> attach(const std::string& file, uint64_t offset, uint64_t size,
                                   LoopAccess access);

  const std::string& path() const { return m_path; }

private:
  std::string m_path;
  int m_fd = -1; // held open until mounted, so autoclear cannot detach it early
};

// Whether this host can attach loop devices (root, /dev/loop-control).
bool loop_devices_available();

} // namespace rehost
