#include "converter/disk.hpp"
#include "converter/text_lines.hpp"

#include <algorithm>

namespace rehost {

namespace {

} // namespace

const Filesystem* DiskInfo::by_device(const std::string& device) const
{
  for (const auto& fs : filesystems) {
    if (fs.device == device) {
      return &fs;
    }
  }
  return nullptr;
}

const Filesystem* DiskInfo::by_uuid(const std::string& uuid) const
{
  for (const auto& fs : filesystems) {
    if (!fs.uuid.empty() && ascii_lower(fs.uuid) == ascii_lower(uuid)) {
      return &fs;
    }
  }
  return nullptr;
}

const Filesystem* DiskInfo::by_label(const std::string& label) const
{
  for (const auto& fs : filesystems) {
    if (!fs.label.empty() && fs.label == label) {
      return &fs;
    }
  }
  return nullptr;
}

std::string DiskInfo::device_at(const std::string& mountpoint) const
{
  for (const auto& m : mounts) {
    if (m.mountpoint == mountpoint) {
      return m.device;
    }
  }
  return {};
}

} // namespace rehost
