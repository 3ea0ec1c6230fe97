#include "converter/host_file.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>

namespace rehost {

Result<std::string> read_host_file(const std::string& path)
{
  std::ifstream in(path, std::ios::binary);
  std::string data;
  if (in) {
    data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (!in && !in.eof()) {
    return fail("{}: cannot read", path);
  }
  return data;
}

Result<void> write_host_file(const std::string& path, const std::string& content)
{
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) {
    return fail("{}: cannot write", path);
  }
  return {};
}

} // namespace rehost
