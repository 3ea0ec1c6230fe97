#include "tests/converter/windows_fixture.hpp"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

#include "drivers/registry.hpp"

namespace rehost::test {

const std::vector<WindowsRelease>& windows_releases()
{
  static const std::vector<WindowsRelease> k_releases = {
      {"2008r2", "Windows Server 2008 R2 Datacenter", "Server", "ServerDatacenter", 6, 1, 7601},
      {"7", "Windows 7 Professional", "Client", "Professional", 6, 1, 7601},
      {"2012r2", "Windows Server 2012 R2 Datacenter", "Server", "ServerDatacenter", 6, 3, 9600},
      {"2016", "Windows Server 2016 Datacenter", "Server", "ServerDatacenter", 10, 0, 14393},
      {"2019", "Windows Server 2019 Standard", "Server Core", "ServerStandard", 10, 0, 17763},
      {"2022", "Windows Server 2022 Datacenter", "Server", "ServerDatacenter", 10, 0, 20348},
      {"10", "Windows 10 Pro", "Client", "Professional", 10, 0, 19045},
      {"11", "Windows 10 Pro", "Client", "Professional", 10, 0, 22631},
  };
  return k_releases;
}

const WindowsRelease& windows_release(const std::string& name)
{
  for (const auto& r : windows_releases()) {
    if (r.name == name) {
      return r;
    }
  }
  throw std::runtime_error("no Windows release " + name);
}

std::string make_windows_tree(const TempDir& dir, const WindowsRelease& r, const std::string& sub)
{
  namespace fs = std::filesystem;
  fs::path root = dir.path() / sub;
  fs::create_directories(root / "WINDOWS/system32/CONFIG");
  fs::create_directories(root / "WINDOWS/system32/Drivers");
  fs::create_directories(root / "WINDOWS/SysWOW64");
  fs::create_directories(root / "Program Files");
  dir.write(sub + "/WINDOWS/system32/Drivers/vmci.sys", "placeholder");
  // libguestfs recognises a Windows root by system32/cmd.exe and reads its architecture from
  // the PE header: the smallest header `file` calls "PE32+ executable (console) x86-64".
  std::string pe(1024, '\0');
  auto put = [&](size_t at, uint32_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) {
      pe[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
    }
  };
  pe[0] = 'M';
  pe[1] = 'Z';
  put(0x3c, 0x40, 4); // e_lfanew
  pe.replace(0x40, 4, std::string("PE\0\0", 4));
  put(0x44, 0x8664, 2); // machine: x86-64
  put(0x54, 0xf0, 2);   // size of the optional header
  put(0x56, 0x22, 2);   // executable, large address aware
  put(0x58, 0x20b, 2);  // PE32+
  put(0x58 + 68, 3, 2); // subsystem: console
  dir.write(sub + "/WINDOWS/system32/cmd.exe", pe);

  std::string system = R"([Select]
"Current"=dword:00000002
"Default"=dword:00000002
"LastKnownGood"=dword:00000001
[ControlSet001\Services\VMTools]
"Start"=dword:00000002
[ControlSet002\Control\Session Manager\Environment]
"PROCESSOR_ARCHITECTURE"="AMD64"
[ControlSet002\Control\TimeZoneInformation]
"TimeZoneKeyName"="Pacific Standard Time"
[ControlSet002\Services\VMTools]
"Type"=dword:00000010
"Start"=dword:00000002
"ImagePath"=expand:"\"C:\\Program Files\\VMware\\VMware Tools\\vmtoolsd.exe\""
[ControlSet002\Services\vmci]
"Type"=dword:00000001
"Start"=dword:00000000
[ControlSet002\Services\pvscsi]
"Start"=dword:00000000
"Group"="SCSI miniport"
[ControlSet002\Services\Tcpip]
"Start"=dword:00000001
)";
  if (r.major > 6 || (r.major == 6 && r.minor >= 2)) {
    system += "[DriverDatabase\\DriverInfFiles\\machine.inf]\n@=multi:\"machine.inf_amd64_x\"\n";
    system += "[ControlSet002\\Services\\stornvme]\n\"Start\"=dword:00000003\n";
  } else {
    system += "[ControlSet002\\Control\\CriticalDeviceDatabase\\pci#ven_15ad&dev_07c0]\n"
              "\"Service\"=\"pvscsi\"\n";
  }
  std::string software =
      fmt::format(R"([Microsoft\Windows NT\CurrentVersion]
"ProductName"="{}"
"InstallationType"="{}"
"EditionID"="{}"
"CurrentVersion"="{}"
"CurrentBuildNumber"="{}"
"CurrentBuild"="{}"
"SystemRoot"="C:\\WINDOWS"
[Microsoft\Windows\CurrentVersion]
"DevicePath"=expand:"%SystemRoot%\\inf"
"ProgramFilesDir"="C:\\Program Files"
)",
                  r.product_name, r.installation_type, r.edition_id,
                  r.major >= 10 ? "6.3" : fmt::format("{}.{}", r.major, r.minor), r.build, r.build);
  if (r.major >= 10) {
    software += fmt::format("[Microsoft\\Windows NT\\CurrentVersion]\n"
                            "\"CurrentMajorVersionNumber\"=dword:{:08x}\n"
                            "\"CurrentMinorVersionNumber\"=dword:{:08x}\n",
                            r.major, r.minor);
  }
  std::string config = (root / "WINDOWS/system32/CONFIG").string();
  auto made = drivers::build_hive(config + "/SYSTEM", system);
  if (!made) {
    throw std::runtime_error(made.error().message);
  }
  made = drivers::build_hive(config + "/software", software);
  if (!made) {
    throw std::runtime_error(made.error().message);
  }
  return root.string();
}

void make_hive_unclean(const std::string& path)
{
  std::string bytes = read_file(path);
  if (bytes.size() < 512) {
    throw std::runtime_error(path + ": not a hive");
  }
  auto put = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) {
      bytes[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
    }
  };
  auto secondary = drivers::read_hive_header(bytes).secondary_sequence;
  put(4, secondary + 1);
  put(508, drivers::hive_header_checksum(bytes));
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

} // namespace rehost::test
