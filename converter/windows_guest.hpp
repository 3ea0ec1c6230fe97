// Reaching a Windows guest: paths that ignore case, registry hives, and what the hives say.
//
// NTFS keeps the case a file was created with, but Windows looks names up case-insensitively,
// so "Windows/System32/config/SYSTEM" may be stored as "WINDOWS/system32/CONFIG/system". Every
// Windows path here is resolved one component at a time against the real directory listing.
// Hives are binary files hivex reads on the host: a GuestHive downloads one to a scratch
// directory, and upload() writes it back after a commit.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "converter/guest.hpp"
#include "converter/inspection.hpp"
#include "drivers/registry.hpp"

namespace rehost {

// The guest path of `path` ("/Windows/System32/config/SYSTEM") with each component matched
// case-insensitively against what exists; nothing when a component is missing.
std::optional<std::string> find_path_nocase(Guest& guest, const std::string& path);

// Like find_path_nocase, but components that do not exist keep the spelling given, so the
// result can be created ("/WINDOWS/system32/drivers/viostor.sys").
std::string resolve_path_nocase(Guest& guest, const std::string& path);

// A scratch directory on the host, removed with its contents.
class HostScratch {
public:
  HostScratch();
  ~HostScratch();
  HostScratch(const HostScratch&) = delete;
  HostScratch& operator=(const HostScratch&) = delete;
  const std::string& path() const { return m_path; }

private:
  std::string m_path;
};

// The transaction logs next to the hive at `guest_path` that hold anything (non-empty
// NAME.LOG1 and NAME.LOG2 from Windows Vista on, NAME.LOG before), as guest paths.
std::vector<std::string> hive_logs(Guest& guest, const std::string& guest_path);

// Why the hive at `guest_path` must not be edited as it is, or "" when it may be: its base
// block says it was not cleanly written (or is damaged) and transaction logs next to it hold
// the changes it lacks. One line naming the hive, its sequence numbers and the logs.
std::string unclean_hive(Guest& guest, const std::string& guest_path);

// What to do about an unclean hive, for the end of an error line.
extern const char* const k_unclean_hive_advice;

// A hive of the guest, opened on a host copy.
class GuestHive {
public:
  // Downloads `guest_path` and opens it; an error names the guest path. For writing, a hive
  // unclean_hive() objects to is an error unless `logs` is discard.
  static Result<std::unique_ptr<GuestHive>>
  open(Guest& guest, const std::string& guest_path, drivers::HiveMode mode,
       drivers::HiveLogs logs = drivers::HiveLogs::refuse);
  drivers::Hive& hive() { return m_hive; }
  const std::string& guest_path() const { return m_guest_path; }
  // Commits the changes and writes the hive back into the guest (nothing when unchanged); the
  // logs of an unclean hive opened with HiveLogs::discard are removed, so that Windows does not
  // replay them over the edited hive.
  Result<void> upload(Guest& guest);

private:
  GuestHive(std::unique_ptr<HostScratch> scratch, std::string guest_path, drivers::Hive hive,
            std::vector<std::string> stale_logs)
      : m_scratch(std::move(scratch)), m_guest_path(std::move(guest_path)), m_hive(std::move(hive)),
        m_stale_logs(std::move(stale_logs))
  {
  }
  std::unique_ptr<HostScratch> m_scratch;
  std::string m_guest_path;
  drivers::Hive m_hive;
  std::vector<std::string> m_stale_logs; // removed by upload()
};

// The services and drivers whose presence matters to a conversion, by the platform they belong
// to ("vmware", "hyperv", "xen", "virtio", "nvme", "ena").
const std::vector<std::pair<std::string, std::string>>& windows_services_of_interest();

// Fills `out` from the SYSTEM and SOFTWARE hives when the guest is Windows; false when it is
// not (no Windows directory with a SYSTEM hive). A hive that cannot be read is a warning.
bool inspect_windows(Guest& guest, Inspection& out);

} // namespace rehost
