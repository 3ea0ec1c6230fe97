#include "converter/guest.hpp"

namespace rehost {

bool exists(Guest& guest, const std::string& path)
{
  auto info = guest.lstat(path);
  return info && info->type != FileType::missing;
}

bool is_file(Guest& guest, const std::string& path)
{
  auto info = guest.stat(path);
  return info && info->type == FileType::regular;
}

bool is_dir(Guest& guest, const std::string& path)
{
  auto info = guest.stat(path);
  return info && info->type == FileType::directory;
}

std::string read_or_empty(Guest& guest, const std::string& path, size_t limit)
{
  auto content = guest.read_file(path, limit);
  return content ? *content : std::string();
}

} // namespace rehost
