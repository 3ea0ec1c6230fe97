#include "converter/disk.hpp"

#include <algorithm>

namespace rehost {

namespace {

std::string lower(std::string s)
{
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

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
    if (!fs.uuid.empty() && lower(fs.uuid) == lower(uuid)) {
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
