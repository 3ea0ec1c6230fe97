// Windows guests for unit tests: a directory tree with SYSTEM and SOFTWARE hives built on the
// fly (the hive writer and hivex), for each Windows release rehost converts.
#pragma once

#include <string>
#include <vector>

#include "tests/test_util.hpp"

namespace rehost::test {

struct WindowsRelease {
  std::string name;         // "2012r2"
  std::string product_name; // as ProductName says it
  std::string installation_type;
  std::string edition_id;
  int major = 0;
  int minor = 0;
  int build = 0;
};

// 2008 R2, 7, 2012 R2, 2016, 2019, 2022, 10, 11.
const std::vector<WindowsRelease>& windows_releases();
const WindowsRelease& windows_release(const std::string& name);

// A Windows root under dir/`sub` ("WINDOWS/system32/config" in odd case, as NTFS may hold it)
// with VMware Tools services, control set 2 current, the DriverDatabase from Windows 8 on, and a
// PE stub as system32/cmd.exe (what libguestfs looks for).
// Returns the tree's path.
std::string make_windows_tree(const TempDir& dir, const WindowsRelease& release,
                              const std::string& sub = "root");

// Makes the hive file at `path` look caught mid-write: its primary sequence number one ahead
// of the secondary, the base block checksum recomputed.
void make_hive_unclean(const std::string& path);

} // namespace rehost::test
