// The action that converts a Windows guest (drivers, services, first boot): see
// windows_convert.hpp for what it does and why.
#include "converter/action_support.hpp"

#include "converter/windows_convert.hpp"
#include "drivers/registry.hpp"

namespace rehost {

namespace {

Result<void> windows_drivers(ActionContext& c, const Action& a, ActionRecord& record)
{
  if (!c.inspection.windows) {
    return fail("{}: windows_drivers needs a Windows guest", a.location.text());
  }
  if (c.target.windows.storage_ids.empty()) {
    return fail("the {} target profile has no windows block: it cannot convert Windows guests",
                c.target.name);
  }
  auto dir = windows_drivers_dir(c.windows_drivers, c.target.windows);
  if (!dir) {
    return std::unexpected(dir.error());
  }
  auto changes = convert_windows(c.guest, c.inspection, c.target.windows, *dir, c.hive_logs);
  if (!changes) {
    return std::unexpected(changes.error());
  }
  const WindowsInfo& w = *c.inspection.windows;
  for (const auto& [hive, name, list] :
       {std::tuple{w.system_hive, std::string("HKLM\\SYSTEM"), &changes->system},
        std::tuple{w.software_hive, std::string("HKLM\\SOFTWARE"), &changes->software}}) {
    if (list->empty()) {
      continue;
    }
    FileChange change;
    change.path = hive;
    change.kind = "modified";
    change.diff = drivers::format_changes(name, *list);
    record.changes.push_back(change);
  }
  for (const auto& file : changes->files) {
    FileChange change;
    change.path = file;
    change.kind = "created";
    if (auto info = c.guest.stat(file); info) {
      change.after_size = info->size;
    }
    record.changes.push_back(change);
  }
  record.notes = changes->notes;
  record.details["firstboot"] = changes->firstboot;
  record.summary = fmt::format("Windows: {} registry changes, {} files, {} first-boot scripts",
                               changes->system.size() + changes->software.size(),
                               changes->files.size(), changes->firstboot.size());
  return {};
}

} // namespace

std::vector<ActionType> windows_action_types()
{
  return {
      {{"windows_drivers",
        "Make a Windows guest boot on the target: inject the target's driver packages (--drivers "
        "DIR, else the profile's windows.drivers) with boot-start services and device database "
        "entries, disable VMware services, set RealTimeIsUniversal where the target wants UTC, "
        "and register first-boot scripts (pnputil, SAN policy, VMware Tools removal).",
        {},
        {}},
       windows_drivers},
  };
}

} // namespace rehost
