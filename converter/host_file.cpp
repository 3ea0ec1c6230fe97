#include "converter/host_file.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>

namespace rehost {

Result<std::string> read_host_file(const std::string& path)
{
  std::ifstream in(path, std::ios::binary);
  std::string data;
  char buffer[1 << 16];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    data.append(buffer, static_cast<size_t>(in.gcount()));
  }
  // A file that would not open, or a read error (EIO, a directory): failbit without eofbit, or
  // badbit. The end of the file sets eofbit with failbit.
  if (in.bad() || !in.eof()) {
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
  out.close(); // the last flush can fail too (ENOSPC)
  if (!out) {
    return fail("{}: cannot write", path);
  }
  return {};
}

} // namespace rehost
