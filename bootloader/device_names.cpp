#include "bootloader/device_names.hpp"

#include <algorithm>
#include <cctype>
#include <regex>

namespace rehost::bootloader {

namespace {

int letters_to_index(const std::string& letters)
{
  // sda -> 0, sdz -> 25, sdaa -> 26
  int index = 0;
  for (char c : letters) {
    index = index * 26 + (c - 'a' + 1);
  }
  return index - 1;
}

std::string index_to_letters(int index)
{
  std::string out;
  ++index;
  while (index > 0) {
    int rem = (index - 1) % 26;
    out.insert(out.begin(), static_cast<char>('a' + rem));
    index = (index - 1) / 26;
  }
  return out;
}

bool starts_with(const std::string& s, const std::string& prefix)
{
  return s.rfind(prefix, 0) == 0;
}

} // namespace

DeviceName classify_device_name(const std::string& spec)
{
  DeviceName name;
  auto tagged = [&](const std::string& tag, DeviceNameKind kind) {
    if (starts_with(spec, tag + "=")) {
      name.kind = kind;
      name.value = spec.substr(tag.size() + 1);
      if (name.value.size() >= 2 && (name.value.front() == '"' || name.value.front() == '\'')) {
        name.value = name.value.substr(1, name.value.size() - 2);
      }
      return true;
    }
    return false;
  };
  if (tagged("UUID", DeviceNameKind::uuid) || tagged("LABEL", DeviceNameKind::label)
      || tagged("PARTUUID", DeviceNameKind::partuuid)) {
    return name;
  }
  auto linked = [&](const std::string& dir, DeviceNameKind kind) {
    if (starts_with(spec, dir)) {
      name.kind = kind;
      name.value = spec.substr(dir.size());
      return true;
    }
    return false;
  };
  if (linked("/dev/disk/by-uuid/", DeviceNameKind::uuid)
      || linked("/dev/disk/by-label/", DeviceNameKind::label)
      || linked("/dev/disk/by-partuuid/", DeviceNameKind::partuuid)) {
    return name;
  }
  if (starts_with(spec, "/dev/disk/by-id/") || starts_with(spec, "/dev/disk/by-path/")) {
    name.kind = DeviceNameKind::by_path;
    return name;
  }
  // Bounded counts: Linux names stop at four letters (sdzzz is disk 18 277), and longer numbers
  // would overflow the arithmetic below; such names are left as they are.
  static const std::regex k_letters(R"(^/dev/(sd|hd|vd|xvd)([a-z]{1,4})([0-9]{0,6})$)");
  static const std::regex k_nvme(R"(^/dev/nvme([0-9]{1,6})n([0-9]{1,6})(?:p([0-9]{1,6}))?$)");
  static const std::regex k_cciss(R"(^/dev/cciss/c([0-9]{1,6})d([0-9]{1,6})(?:p([0-9]{1,6}))?$)");
  std::smatch m;
  if (std::regex_match(spec, m, k_letters)) {
    name.kind = DeviceNameKind::controller;
    name.disk = letters_to_index(m[2]);
    name.partition = m[3].length() ? std::stoi(m[3]) : 0;
    return name;
  }
  if (std::regex_match(spec, m, k_nvme)) {
    name.kind = DeviceNameKind::controller;
    // One namespace per controller is the norm: nvme0n1 is the first disk, nvme1n1 the second.
    name.disk = std::stoi(m[1]) + std::stoi(m[2]) - 1;
    name.partition = m[3].length() ? std::stoi(m[3]) : 0;
    return name;
  }
  if (std::regex_match(spec, m, k_cciss)) {
    name.kind = DeviceNameKind::controller;
    name.disk = std::stoi(m[2]);
    name.partition = m[3].length() ? std::stoi(m[3]) : 0;
    return name;
  }
  if (starts_with(spec, "/dev/")) {
    name.kind = DeviceNameKind::stable;
    return name;
  }
  return name;
}

std::vector<std::string> hardware_device_names(const std::string& text)
{
  std::vector<std::string> out;
  size_t at = 0;
  while (at < text.size()) {
    // Words end at white space, quotes and the shell's separators.
    static const char* k_ends = " \t\r\n\"'`;|&()<>";
    size_t start = text.find_first_not_of(k_ends, at);
    if (start == std::string::npos) {
      break;
    }
    size_t end = text.find_first_of(k_ends, start);
    if (end == std::string::npos) {
      end = text.size();
    }
    std::string word = text.substr(start, end - start);
    at = end;
    // key=value: the value is the name (root=/dev/sda1, resume=UUID=...).
    if (size_t eq = word.find('='); eq != std::string::npos && word[0] != '/') {
      word = word.substr(eq + 1);
    }
    auto kind = classify_device_name(word).kind;
    // by-id links named after content (device-mapper, md and LVM UUIDs) move with the disk.
    bool stable_id = false;
    for (const char* prefix : {"dm-uuid-", "dm-name-", "md-uuid-", "md-name-", "lvm-pv-uuid-"}) {
      stable_id = stable_id || starts_with(word, std::string("/dev/disk/by-id/") + prefix);
    }
    bool named_by_hardware =
        (kind == DeviceNameKind::controller || kind == DeviceNameKind::by_path) && !stable_id;
    bool old = named_by_hardware || starts_with(word, "/dev/block/");
    if (old && std::find(out.begin(), out.end(), word) == out.end()) {
      out.push_back(word);
    }
  }
  return out;
}

std::optional<std::string> appliance_name(const DeviceName& name)
{
  if (name.kind != DeviceNameKind::controller || name.disk < 0) {
    return std::nullopt;
  }
  std::string out = "/dev/sd" + index_to_letters(name.disk);
  if (name.partition > 0) {
    out += std::to_string(name.partition);
  }
  return out;
}

std::optional<std::string> disk_name_like(const std::string& first_disk, int index)
{
  if (index < 0 || index >= 26) {
    return std::nullopt;
  }
  if (first_disk.starts_with("/dev/nvme") && first_disk.ends_with("0n1")) {
    return first_disk.substr(0, first_disk.size() - 3) + std::to_string(index) + "n1";
  }
  if (first_disk.size() > 5 && first_disk.back() == 'a') {
    return first_disk.substr(0, first_disk.size() - 1) + static_cast<char>('a' + index);
  }
  return std::nullopt;
}

} // namespace rehost::bootloader
