#include "converter/windows_convert.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>

#include "converter/host_file.hpp"
#include "converter/text_lines.hpp"
#include "converter/windows_guest.hpp"

namespace rehost {

namespace {

namespace fs = std::filesystem;
using drivers::RegValue;

bool ends_with_nocase(const std::string& s, const std::string& suffix)
{
  return s.size() >= suffix.size()
         && ascii_lower(s.substr(s.size() - suffix.size())) == ascii_lower(suffix);
}

// The file of `dir` named `name` ignoring case, or "".
std::string host_entry_nocase(const std::string& dir, const std::string& name)
{
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (ascii_lower(e.path().filename().string()) == ascii_lower(name) && e.is_regular_file()) {
      return e.path().string();
    }
  }
  return "";
}

// Windows versions before 8 (NT 6.2) find boot drivers through the CriticalDeviceDatabase.
bool before_windows_8(const WindowsInfo& w)
{
  return w.major < 6 || (w.major == 6 && w.minor < 2);
}

std::string crlf(const std::string& text)
{
  std::string out;
  for (char c : text) {
    if (c == '\n') {
      out += '\r';
    }
    out += c;
  }
  return out;
}

// The service that runs the first-boot runner at boot, before any logon.
const char* const k_firstboot_service = "rehost-firstboot";

// The first-boot runner: each script of scripts\ in name order, once, output in log.txt; a
// script is moved to done\ once it ran, so a runner cut short by a reboot resumes with the next
// one. Last, it deletes the service that started it.
const char* const k_firstboot_runner = R"(@echo off
rem Written by rehost: runs each script of scripts\ once, in name order, logging to log.txt.
setlocal enabledelayedexpansion
set "here=%~dp0"
set "log=%here%log.txt"
if not exist "%here%done" mkdir "%here%done"
echo %date% %time% first boot: starting>> "%log%"
for /f "delims=" %%s in ('dir /b /o:n "%here%scripts\*.cmd" 2^>nul') do (
  echo %date% %time% running %%s>> "%log%"
  call "%here%scripts\%%s" >> "%log%" 2>&1
  echo %date% %time% %%s exited with !errorlevel!>> "%log%"
  move /y "%here%scripts\%%s" "%here%done\%%s" >nul
)
echo %date% %time% first boot: done>> "%log%"
sc.exe delete rehost-firstboot >> "%log%" 2>&1
)";

} // namespace

std::string windows_arch(const std::string& arch)
{
  if (arch == "i386" || arch == "i686") {
    return "x86";
  }
  if (arch == "aarch64") {
    return "arm64";
  }
  return "amd64";
}

bool hardware_id_matches(const std::string& id, const std::vector<std::string>& wanted)
{
  std::string a = ascii_lower(id);
  for (const auto& w : wanted) {
    std::string b = ascii_lower(w);
    if (a.rfind(b, 0) == 0 || b.rfind(a, 0) == 0) {
      return true;
    }
  }
  return false;
}

Result<std::string> windows_drivers_dir(const std::string& option, const WindowsTarget& target)
{
  if (!option.empty() || target.drivers.empty()) {
    return option;
  }
  std::string dir =
      target.drivers.front() == '/' ? target.drivers : drivers_data_dir() + "/" + target.drivers;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return fail("no driver packages for the {} target: {} (its profile's windows.drivers) is "
                "not a directory; pass --drivers DIR, or install the packages there "
                "($REHOST_DRIVERS_DIR replaces {})",
                target.name, dir, drivers_data_dir());
  }
  return dir;
}

std::string inbox_storage_service(const WindowsInfo& windows, const WindowsTarget& target)
{
  std::string inbox;
  for (const auto& name : target.inbox_storage) {
    for (const auto& [service, start] : windows.services) {
      if (ascii_lower(service) == ascii_lower(name)) {
        inbox = service;
      }
    }
  }
  return inbox;
}

Result<std::vector<WindowsDriverPackage>> find_windows_drivers(const std::string& dir,
                                                               const WindowsInfo& windows,
                                                               const std::string& arch,
                                                               const WindowsTarget& target)
{
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return fail("{}: drivers directory missing or not a directory", dir);
  }
  std::vector<std::string> infs;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file() && ends_with_nocase(it->path().string(), ".inf")) {
      infs.push_back(it->path().string());
    }
  }
  if (ec) {
    return fail("{}: cannot list ({})", dir, ec.message());
  }
  std::sort(infs.begin(), infs.end());
  std::vector<WindowsDriverPackage> packages;
  for (const auto& path : infs) {
    auto text = read_host_file(path);
    if (!text) {
      return std::unexpected(text.error());
    }
    auto inf = drivers::parse_inf(*text, path);
    auto driver =
        drivers::read_driver(inf, windows_arch(arch), windows.major, windows.minor, windows.build);
    if (!driver) {
      if (driver.error().message.find("no device models for") != std::string::npos) {
        continue; // a package for another architecture or Windows version
      }
      return std::unexpected(driver.error());
    }
    WindowsDriverPackage p;
    p.dir = fs::path(path).parent_path().string();
    p.inf = fs::path(path).filename().string();
    p.driver = std::move(*driver);
    for (const auto& id : p.driver.hardware_ids()) {
      p.storage = p.storage || hardware_id_matches(id, target.storage_ids);
    }
    packages.push_back(std::move(p));
  }
  return packages;
}

Result<WindowsChanges> convert_windows(Guest& guest, const Inspection& inspection,
                                       const WindowsTarget& target, const std::string& drivers_dir,
                                       drivers::HiveLogs logs)
{
  if (!inspection.windows) {
    return fail("not a Windows guest");
  }
  const WindowsInfo& win = *inspection.windows;
  WindowsChanges changes;
  std::string version = fmt::format("{}.{} build {}", win.major, win.minor, win.build);

  // 1. The packages, all checked before anything is written.
  std::vector<WindowsDriverPackage> packages;
  if (!drivers_dir.empty()) {
    auto found = find_windows_drivers(drivers_dir, win, inspection.os.arch, target);
    if (!found) {
      return std::unexpected(found.error());
    }
    packages = std::move(*found);
  }
  bool have_storage = std::any_of(packages.begin(), packages.end(),
                                  [](const WindowsDriverPackage& p) { return p.storage; });
  std::string inbox = inbox_storage_service(win, target);
  if (!have_storage && inbox.empty()) {
    std::string ids;
    for (const auto& id : target.storage_ids) {
      ids += (ids.empty() ? "" : ", ") + id;
    }
    if (drivers_dir.empty()) {
      return fail("no driver for the {} boot disk controller ({}) on Windows {}: pass --drivers "
                  "DIR with one",
                  target.name, ids, version);
    }
    return fail("{} has no driver for the {} boot disk controller ({}) on Windows {} {}",
                drivers_dir, target.name, ids, version, windows_arch(inspection.os.arch));
  }
  // Every file an INF copies must be in its package.
  std::map<std::string, std::string> sys_files; // guest name -> host path
  for (const auto& p : packages) {
    for (const auto& file : p.driver.files) {
      std::string host = host_entry_nocase(p.dir, file);
      if (host.empty()) {
        return fail("{}/{}: copies {}, which is not in the package", p.dir, p.inf, file);
      }
      if (ends_with_nocase(file, ".sys")) {
        sys_files[file] = host;
      }
    }
  }

  auto system = GuestHive::open(guest, win.system_hive, drivers::HiveMode::write, logs);
  if (!system) {
    return std::unexpected(system.error());
  }
  std::unique_ptr<GuestHive> software;
  if (!win.software_hive.empty()) {
    auto opened = GuestHive::open(guest, win.software_hive, drivers::HiveMode::write, logs);
    if (!opened) {
      return std::unexpected(opened.error());
    }
    software = std::move(*opened);
  } else {
    return fail("{}: no SOFTWARE hive", win.system_root + "/System32/config");
  }
  auto& sys = (*system)->hive();
  auto& sw = software->hive();
  const std::string cs = win.control_set;
  auto set = [](drivers::Hive& hive, const std::string& key, const std::string& name,
                const RegValue& value) -> Result<void> { return hive.set(key, name, value); };

  // 2. Files: drivers into System32\drivers, packages under %SystemRoot%\Drivers\rehost.
  std::string drivers_guest = resolve_path_nocase(guest, win.system_root + "/System32/drivers");
  for (const auto& [name, host] : sys_files) {
    auto content = read_host_file(host);
    if (!content) {
      return std::unexpected(content.error());
    }
    std::string path = resolve_path_nocase(guest, drivers_guest + "/" + name);
    if (auto made = guest.make_dirs(drivers_guest); !made) {
      return std::unexpected(made.error());
    }
    if (auto written = guest.write_file(path, *content, 0644); !written) {
      return std::unexpected(written.error());
    }
    changes.files.push_back(path);
  }
  std::string store = resolve_path_nocase(guest, win.system_root + "/Drivers/rehost");
  for (const auto& p : packages) {
    std::string package_dir = store + "/" + fs::path(p.inf).stem().string();
    if (auto made = guest.make_dirs(package_dir); !made) {
      return std::unexpected(made.error());
    }
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(p.dir, ec)) {
      if (!e.is_regular_file()) {
        continue;
      }
      auto content = read_host_file(e.path().string());
      if (!content) {
        return std::unexpected(content.error());
      }
      std::string path = package_dir + "/" + e.path().filename().string();
      if (auto written = guest.write_file(path, *content, 0644); !written) {
        return std::unexpected(written.error());
      }
      changes.files.push_back(path);
    }
  }

  // 3 and 4. Services, and the controller's ids tied to the storage service.
  for (const auto& p : packages) {
    for (const auto& s : p.driver.services) {
      std::string key = cs + "\\Services\\" + s.name;
      uint32_t start = p.storage ? 0 : s.start;
      for (auto r : {set(sys, key, "Type", RegValue::dword(s.type)),
                     set(sys, key, "Start", RegValue::dword(start)),
                     set(sys, key, "ErrorControl", RegValue::dword(s.error_control)),
                     set(sys, key, "ImagePath", RegValue::expand_sz(s.binary))}) {
        if (!r) {
          return std::unexpected(r.error());
        }
      }
      if (!s.group.empty()) {
        if (auto r = set(sys, key, "Group", RegValue::sz(s.group)); !r) {
          return std::unexpected(r.error());
        }
      }
      if (!s.display_name.empty()) {
        if (auto r = set(sys, key, "DisplayName", RegValue::sz(s.display_name)); !r) {
          return std::unexpected(r.error());
        }
      }
    }
    if (!p.storage || p.driver.services.empty()) {
      continue;
    }
    const std::string service = p.driver.services.front().name;
    const std::string guid =
        ascii_lower(p.driver.class_guid.empty() ? "{4D36E97B-E325-11CE-BFC1-08002BE10318}"
                                                : p.driver.class_guid);
    const std::string inf = ascii_lower(p.inf);
    const std::string label = inf + "_" + windows_arch(inspection.os.arch) + "_rehost";
    const std::string config = ascii_lower(p.driver.models.front().install_section);
    if (before_windows_8(win)) {
      for (const auto& id : p.driver.hardware_ids()) {
        std::string name = ascii_lower(id);
        std::replace(name.begin(), name.end(), '\\', '#');
        std::string key = cs + "\\Control\\CriticalDeviceDatabase\\" + name;
        for (auto r : {set(sys, key, "Service", RegValue::sz(service)),
                       set(sys, key, "ClassGUID", RegValue::sz(guid))}) {
          if (!r) {
            return std::unexpected(r.error());
          }
        }
      }
      continue;
    }
    const std::string ddb = "DriverDatabase";
    std::vector<Result<void>> results = {
        set(sys, ddb + "\\DriverInfFiles\\" + inf, "", RegValue::multi_sz({label})),
        set(sys, ddb + "\\DriverInfFiles\\" + inf, "Active", RegValue::sz(label)),
        set(sys, ddb + "\\DriverInfFiles\\" + inf, "Configurations", RegValue::multi_sz({config})),
        set(sys, ddb + "\\DriverPackages\\" + label, "", RegValue::sz(inf)),
        set(sys, ddb + "\\DriverPackages\\" + label, "F6", RegValue::dword(1)),
        set(sys, ddb + "\\DriverPackages\\" + label, "InfName", RegValue::sz(inf)),
        set(sys, ddb + "\\DriverPackages\\" + label, "OemPath",
            RegValue::sz(win.system_root_win + "\\Drivers\\rehost\\"
                         + fs::path(p.inf).stem().string())),
        set(sys, ddb + "\\DriverPackages\\" + label, "Provider", RegValue::sz(p.driver.provider)),
        set(sys, ddb + "\\DriverPackages\\" + label, "StatusFlags", RegValue::dword(0x12)),
        set(sys, ddb + "\\DriverPackages\\" + label + "\\Configurations\\" + config, "ConfigFlags",
            RegValue::dword(0)),
        set(sys, ddb + "\\DriverPackages\\" + label + "\\Configurations\\" + config, "Service",
            RegValue::sz(service)),
    };
    for (const auto& id : p.driver.hardware_ids()) {
      std::string upper_id = id;
      for (auto& c : upper_id) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      }
      results.push_back(set(sys, ddb + "\\DeviceIds\\" + upper_id, inf,
                            RegValue::binary(std::string("\x01\xff\x00\x00", 4))));
      results.push_back(set(sys, ddb + "\\DriverPackages\\" + label + "\\Descriptors\\" + upper_id,
                            "Configuration", RegValue::sz(config)));
    }
    for (const auto& r : results) {
      if (!r) {
        return std::unexpected(r.error());
      }
    }
  }
  if (!have_storage) {
    if (auto r = set(sys, cs + "\\Services\\" + inbox, "Start", RegValue::dword(0)); !r) {
      return std::unexpected(r.error());
    }
    changes.notes.push_back(fmt::format("the boot disk is driven by Windows' own {} service, "
                                        "now started at boot",
                                        inbox));
  }

  // DevicePath: Plug and Play looks there for the drivers of new devices.
  if (!packages.empty()) {
    const std::string cv = "Microsoft\\Windows\\CurrentVersion";
    auto current = sw.get(cv, "DevicePath");
    if (!current) {
      return std::unexpected(current.error());
    }
    std::string path =
        *current && (*current)->as_string() ? *(*current)->as_string() : "%SystemRoot%\\inf";
    const std::string ours = "%SystemRoot%\\Drivers\\rehost";
    if (ascii_lower(path).find(ascii_lower(ours)) == std::string::npos) {
      if (auto r = set(sw, cv, "DevicePath", RegValue::expand_sz(path + ";" + ours)); !r) {
        return std::unexpected(r.error());
      }
    }
  }

  // 5. The old hypervisor's services, and the clock.
  bool vmware = false;
  for (const auto& [name, platform] : win.platforms) {
    if (platform == "vmware") {
      vmware = true;
      if (auto r = set(sys, cs + "\\Services\\" + name, "Start", RegValue::dword(4)); !r) {
        return std::unexpected(r.error());
      }
    }
  }
  if (target.utc) {
    if (auto r = set(sys, cs + "\\Control\\TimeZoneInformation", "RealTimeIsUniversal",
                     RegValue::dword(1));
        !r) {
      return std::unexpected(r.error());
    }
  }
  // A stop error reboots instead of waiting at the blue screen: nobody is at the console of a
  // cloud instance, and a reboot is how it comes back.
  if (auto r = set(sys, cs + "\\Control\\CrashControl", "AutoReboot", RegValue::dword(1)); !r) {
    return std::unexpected(r.error());
  }

  // 6. First boot: ordered scripts run once, at boot, by a service (see below).
  std::vector<std::pair<std::string, std::string>> scripts;
  if (!packages.empty()) {
    std::string add = win.major >= 10
                          ? "pnputil /add-driver \"%SystemRoot%\\Drivers\\rehost\\*.inf\" "
                            "/subdirs /install\n"
                          : "for /r \"%SystemRoot%\\Drivers\\rehost\" %%f in (*.inf) do pnputil "
                            "-i -a \"%%f\"\n";
    scripts.emplace_back("10-pnputil.cmd", "@echo off\nrem Adds rehost's driver packages to the "
                                           "driver store.\n"
                                               + add);
  }
  scripts.emplace_back("20-san-policy.cmd",
                       fmt::format("@echo off\nrem Brings every disk online (SAN policy).\n"
                                   "echo san policy={}> \"%TEMP%\\rehost-san.txt\"\n"
                                   "diskpart /s \"%TEMP%\\rehost-san.txt\"\n",
                                   target.san_policy));
  // The boot configuration (BCD) is changed where Windows keeps it, by Windows' own tool.
  if (target.ems_port > 0) {
    scripts.emplace_back(
        "25-serial-console.cmd",
        fmt::format("@echo off\nrem The platform's serial console: Emergency Management Services "
                    "and the\nrem Special Administration Console on COM{0}.\n"
                    "bcdedit /ems {{current}} on\n"
                    "bcdedit /emssettings EMSPORT:{0} EMSBAUDRATE:115200\n"
                    "bcdedit /bootems {{bootmgr}} on\n",
                    target.ems_port));
  }
  if (vmware) {
    scripts.emplace_back("30-uninstall-vmware-tools.cmd",
                         "@echo off\nrem Removes VMware Tools (its services are already "
                         "disabled).\nwmic product where \"Name like 'VMware Tools%%'\" call "
                         "uninstall /nointeractive\n");
  }
  std::string program_files = resolve_path_nocase(guest, "/Program Files");
  std::string firstboot = program_files + "/rehost/firstboot";
  if (auto made = guest.make_dirs(firstboot + "/scripts"); !made) {
    return std::unexpected(made.error());
  }
  if (auto written = guest.write_file(firstboot + "/firstboot.cmd", crlf(k_firstboot_runner));
      !written) {
    return std::unexpected(written.error());
  }
  changes.files.push_back(firstboot + "/firstboot.cmd");
  for (const auto& [name, text] : scripts) {
    std::string path = firstboot + "/scripts/" + name;
    if (auto written = guest.write_file(path, crlf(text)); !written) {
      return std::unexpected(written.error());
    }
    changes.files.push_back(path);
    changes.firstboot.push_back(path);
  }
  // A RunOnce entry would wait for an administrator's logon, which a cloud instance may never
  // see. A service runs at boot as LocalSystem, but the service control manager expects the
  // process it starts to connect to it within 30 seconds (ServicesPipeTimeout), which cmd.exe
  // never does; virt-v2v's firstboot service ships a wrapper binary (rhsrvany) for that. Here
  // the service's cmd.exe only starts the runner in a process of its own (`start`) and exits,
  // so the runner does not depend on what the manager does with the service: it records the
  // start as failed (ErrorControl 0: without consequence), and the runner deletes the service
  // when it is done.
  std::string drive = win.system_root_win.substr(0, win.system_root_win.find('\\'));
  std::string windows_dir = program_files.substr(1);
  std::replace(windows_dir.begin(), windows_dir.end(), '/', '\\');
  std::string runner = fmt::format("{}\\{}\\rehost\\firstboot\\firstboot.cmd",
                                   drive.empty() ? "C:" : drive, windows_dir);
  const std::string service = cs + "\\Services\\" + k_firstboot_service;
  for (auto r :
       {set(sys, service, "Type", RegValue::dword(0x10)), // its own process
        set(sys, service, "Start", RegValue::dword(2)),   // automatic, at boot
        set(sys, service, "ErrorControl", RegValue::dword(0)),
        set(sys, service, "ObjectName", RegValue::sz("LocalSystem")),
        set(sys, service, "DisplayName", RegValue::sz("rehost first boot")),
        set(sys, service, "Description",
            RegValue::sz("Runs the scripts rehost left for the first boot on this platform, once; "
                         "deletes itself when done.")),
        set(sys, service, "ImagePath",
            RegValue::expand_sz(fmt::format("%SystemRoot%\\System32\\cmd.exe /c start \"{}\" "
                                            "%SystemRoot%\\System32\\cmd.exe /c \"{}\"",
                                            k_firstboot_service, runner)))}) {
    if (!r) {
      return std::unexpected(r.error());
    }
  }

  // The hives last.
  changes.system = sys.changes();
  changes.software = sw.changes();
  if (auto r = (*system)->upload(guest); !r) {
    return std::unexpected(r.error());
  }
  if (auto r = software->upload(guest); !r) {
    return std::unexpected(r.error());
  }
  return changes;
}

} // namespace rehost

namespace rehost {

std::vector<Check> validate_windows(Guest& guest, const Inspection& inspection,
                                    const WindowsTarget& target)
{
  Check boot{"windows storage driver", false, ""};
  if (!inspection.windows) {
    boot.detail = "not a Windows guest";
    return {boot};
  }
  const WindowsInfo& win = *inspection.windows;
  auto opened = GuestHive::open(guest, win.system_hive, drivers::HiveMode::read_only);
  if (!opened) {
    boot.detail = opened.error().message;
    return {boot};
  }
  const auto& sys = (*opened)->hive();
  const std::string services = win.control_set + "\\Services\\";
  // A boot-start service whose driver file exists.
  auto boot_start = [&](const std::string& service) -> std::string {
    auto start = sys.get(services + service, "Start");
    if (!start || !*start || (*start)->as_dword() != 0u) {
      return fmt::format("service {} does not start at boot", service);
    }
    auto image = sys.get(services + service, "ImagePath");
    std::string path = image && *image && (*image)->as_string()
                           ? *(*image)->as_string()
                           : "System32\\drivers\\" + service + ".sys";
    for (const char* prefix : {"\\SystemRoot\\", "%SystemRoot%\\", "%systemroot%\\"}) {
      if (path.rfind(prefix, 0) == 0) {
        path = path.substr(std::string(prefix).size());
      }
    }
    std::replace(path.begin(), path.end(), '\\', '/');
    if (!find_path_nocase(guest, win.system_root + "/" + path)) {
      return fmt::format("service {}: {} is missing", service, path);
    }
    return "";
  };
  std::vector<std::string> problems;
  // Services tied to the controller's ids, by the database this Windows reads.
  std::set<std::string> tied;
  if (before_windows_8(win)) {
    const std::string cdd = win.control_set + "\\Control\\CriticalDeviceDatabase";
    for (const auto& key : sys.subkeys(cdd).value_or(std::vector<std::string>{})) {
      std::string id = key;
      std::replace(id.begin(), id.end(), '#', '\\');
      if (hardware_id_matches(id, target.storage_ids)) {
        auto service = sys.get(cdd + "\\" + key, "Service");
        if (service && *service && (*service)->as_string()) {
          tied.insert(*(*service)->as_string());
        }
      }
    }
  } else {
    const std::string ids = "DriverDatabase\\DeviceIds";
    for (const auto& bus : sys.subkeys(ids).value_or(std::vector<std::string>{})) {
      for (const auto& rest : sys.subkeys(ids + "\\" + bus).value_or(std::vector<std::string>{})) {
        if (!hardware_id_matches(bus + "\\" + rest, target.storage_ids)) {
          continue;
        }
        for (const auto& inf :
             sys.value_names(ids + "\\" + bus + "\\" + rest).value_or(std::vector<std::string>{})) {
          auto label = sys.get("DriverDatabase\\DriverInfFiles\\" + inf, "Active");
          if (!label || !*label || !(*label)->as_string()) {
            continue;
          }
          std::string configs =
              "DriverDatabase\\DriverPackages\\" + *(*label)->as_string() + "\\Configurations";
          for (const auto& config : sys.subkeys(configs).value_or(std::vector<std::string>{})) {
            auto service = sys.get(configs + "\\" + config, "Service");
            if (service && *service && (*service)->as_string()) {
              tied.insert(*(*service)->as_string());
            }
          }
        }
      }
    }
  }
  for (const auto& name : target.inbox_storage) {
    if (sys.has_key(services + name)) {
      tied.insert(name);
    }
  }
  for (const auto& service : tied) {
    std::string problem = boot_start(service);
    if (problem.empty()) {
      boot.passed = true;
      boot.detail =
          fmt::format("{} starts at boot and drives the {} disk controller", service, target.name);
      break;
    }
    problems.push_back(problem);
  }
  if (!boot.passed) {
    boot.detail = tied.empty()
                      ? fmt::format("no service is tied to the {} disk controller", target.name)
                      : problems.front();
  }
  return {boot};
}

} // namespace rehost
