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

// A hive of the guest, opened on a host copy.
class GuestHive {
public:
  // Downloads `guest_path` and opens it; an error names the guest path.
  static Result<std::unique_ptr<GuestHive>> open(Guest& guest, const std::string& guest_path,
                                                 drivers::HiveMode mode);
  drivers::Hive& hive() { return m_hive; }
  const std::string& guest_path() const { return m_guest_path; }
  // Commits the changes and writes the hive back into the guest (nothing when unchanged).
  Result<void> upload(Guest& guest);

private:
  GuestHive(std::unique_ptr<HostScratch> scratch, std::string guest_path, drivers::Hive hive)
      : m_scratch(std::move(scratch)), m_guest_path(std::move(guest_path)), m_hive(std::move(hive))
  {
  }
  std::unique_ptr<HostScratch> m_scratch;
  std::string m_guest_path;
  drivers::Hive m_hive;
};

// The services and drivers whose presence matters to a conversion, by the platform they belong
// to ("vmware", "hyperv", "xen", "virtio", "nvme", "ena").
const std::vector<std::pair<std::string, std::string>>& windows_services_of_interest();

// Fills `out` from the SYSTEM and SOFTWARE hives when the guest is Windows; false when it is
// not (no Windows directory with a SYSTEM hive). A hive that cannot be read is a warning.
bool inspect_windows(Guest& guest, Inspection& out);

} // namespace rehost
