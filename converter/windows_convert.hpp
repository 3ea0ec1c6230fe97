// Making a Windows guest boot on the target, offline (DOMAIN.md, "Windows").
//
// Windows finds its boot disk only through a driver that is started at boot and bound to the
// controller before Plug and Play runs, so the target's storage driver goes in by hand:
//   1. the driver packages for the target are read from a host directory (their INFs say which
//      devices they serve, which services they create and which files they copy);
//   2. each .sys goes to System32\drivers and each whole package to %SystemRoot%\Drivers\rehost,
//      which is appended to DevicePath so Plug and Play finds the rest (network) by itself;
//   3. each service gets its key in the current control set (Type, Start, ErrorControl, Group,
//      ImagePath); a storage driver starts at boot (Start=0);
//   4. the storage controller's hardware ids are tied to the service: CriticalDeviceDatabase
//      before Windows 8 (NT 6.2), DriverDatabase from Windows 8 on (the entries virt-v2v makes);
//   5. the old hypervisor's services are disabled (VMware: Start=4), the hardware clock is read
//      as UTC where the target keeps it so (RealTimeIsUniversal);
//   6. first-boot scripts, run once in order at boot, before any logon, by a service that
//      deletes itself, with their output logged: pnputil adds the packages to the driver store,
//      the SAN policy brings data disks online, VMware Tools are uninstalled.
// Everything is computed first; nothing in the guest is written when a package is unusable.
#pragma once

#include <string>
#include <vector>

#include "converter/guest.hpp"
#include "converter/inspection.hpp"
#include "converter/report.hpp"
#include "converter/rules.hpp"
#include "drivers/inf.hpp"
#include "drivers/registry.hpp"

namespace rehost {

// A driver package found in the drivers directory.
struct WindowsDriverPackage {
  std::string dir; // host directory holding the INF
  std::string inf; // the INF's file name
  drivers::InfDriver driver;
  bool storage = false; // serves the target's boot disk controller
};

// The packages under `dir` (searched recursively for *.inf) that have models for the guest's
// architecture and version. An INF with a missing section is an error naming it.
Result<std::vector<WindowsDriverPackage>> find_windows_drivers(const std::string& dir,
                                                               const WindowsInfo& windows,
                                                               const std::string& arch,
                                                               const WindowsTarget& target);

// The driver packages directory a conversion uses: `option` (--drivers) when given, else the
// profile's `windows.drivers` (absolute, or under drivers_data_dir()), else "" (none). A
// profile's directory that does not exist is an error naming it and both ways to supply
// drivers.
Result<std::string> windows_drivers_dir(const std::string& option, const WindowsTarget& target);

// The guest's own service among the target's `inbox_storage` that can drive its boot disk
// (stornvme, storvsc), as the guest spells it; "" when it has none.
std::string inbox_storage_service(const WindowsInfo& windows, const WindowsTarget& target);

// Whether a hardware id matches one of `wanted` (case-insensitive; either may be the longer).
bool hardware_id_matches(const std::string& id, const std::vector<std::string>& wanted);

struct WindowsChanges {
  std::vector<drivers::RegChange> system;   // SYSTEM hive
  std::vector<drivers::RegChange> software; // SOFTWARE hive
  std::vector<std::string> files;           // guest files written
  std::vector<std::string> firstboot;       // first-boot scripts, in order (guest paths)
  std::vector<std::string> notes;
};

// Converts the Windows guest described by `inspection` (which must have `windows`) for
// `target` with the packages in `drivers_dir` ("" when none). An error leaves the guest as it
// was: hives are written last, and files only when every package checked out. A hive whose
// transaction logs hold changes it lacks is an error unless `logs` is discard.
Result<WindowsChanges> convert_windows(Guest& guest, const Inspection& inspection,
                                       const WindowsTarget& target, const std::string& drivers_dir,
                                       drivers::HiveLogs logs = drivers::HiveLogs::refuse);

// Checks the converted guest: a service tied to the target's disk controller (through the
// device database this Windows version reads, or an inbox service) starts at boot and its
// driver file exists.
std::vector<Check> validate_windows(Guest& guest, const Inspection& inspection,
                                    const WindowsTarget& target);

// The Windows architecture name of an inspection arch ("x86_64" -> "amd64").
std::string windows_arch(const std::string& arch);

} // namespace rehost
