// A device-mapper device made by rehost: an LVM volume that no single loop device can show
// (linear in several pieces, or striped), joined from loop devices by a table
// (lvm::device_table), where the host's kernel has device-mapper.
//
// Lifetime, as for loop devices (autoclear): right after it is made, rehost opens the device and
// asks for its removal *deferred* (DM_DEFERRED_REMOVE, Linux 3.13): the kernel then removes it
// by itself as soon as nothing holds it open, so a rehost that dies, even by SIGKILL, leaves no
// device behind once its mount namespace (and with it the mounts) is gone; the loop devices
// under it then detach. An orderly end removes it at once, before the loop devices. Only the
// moment between making the device and that request is unguarded: a run killed there leaves a
// device that the next native run removes (remove_stale_dm_devices), found by its name and
// uuid prefixes, never a device of the host's own.
//
// Made with dmsetup (it waits for udev where udev runs); looked up in sysfs; removed by the
// DM_DEV_REMOVE ioctl, which still works after a signal, when rehost starts no more processes.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "converter/error.hpp"

namespace rehost {

// Whether this host's kernel answers device-mapper (the DM_VERSION ioctl on /dev/mapper/control,
// with deferred removal: driver 4.27 or later) and dmsetup is installed; when not, `why` says
// what is missing. Asked once per process.
bool device_mapper_available(std::string* why = nullptr);

class DmDevice {
public:
  DmDevice() = default;
  ~DmDevice();
  DmDevice(DmDevice&& other) noexcept;
  DmDevice& operator=(DmDevice&& other) noexcept;

  // Makes device `name` (uuid "REHOST-" + name) from `table` (dmsetup's syntax; written to
  // `table_file` for dmsetup, then removed), a block node for it at `node`, and holds it open
  // with its removal deferred. On an error nothing is left.
  static Result<DmDevice> create(const std::string& name, const std::string& table,
                                 const std::string& table_file, const std::string& node);

  bool active() const { return !m_name.empty(); }
  const std::string& node() const { return m_node; }
  // The kernel's name for it ("dm-3"), as holders in sysfs name it.
  const std::string& kernel_name() const { return m_kernel_name; }

  // Closes it and removes it now. An error when something else still holds it open: it is then
  // removed by the kernel when that closes it.
  Result<void> remove();

private:
  std::string m_name;
  std::string m_node;
  std::string m_kernel_name;
  unsigned long m_dev = 0;
  int m_fd = -1;
};

// Whether a device-mapper device of this name and uuid was made by a rehost run whose process
// `alive` says has ended ("rehost-PID-..." with uuid "REHOST-rehost-PID-...").
bool left_by_ended_run(const std::string& name, const std::string& uuid,
                       const std::function<bool(long pid)>& alive);

// Removes (deferred: never while open) the devices that rehost runs which ended left behind,
// and their nodes in /dev/mapper where no udev removed them.
void remove_stale_dm_devices();

// The kernel names of the devices stacked on the block device `path` ("dm-3", "md0": its
// holders in sysfs); empty when none, or when `path` is no block device.
std::vector<std::string> block_holders(const std::string& path);

// The device-mapper name of the kernel device `kernel_name` ("dm-3"), or "".
std::string dm_name_of(const std::string& kernel_name);

} // namespace rehost
