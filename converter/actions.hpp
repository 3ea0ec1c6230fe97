// Executing rule actions on a guest.
//
// One small function per action type (see action_specs() in rules.hpp). They know nothing
// about any distribution: what to edit and which command to run comes from the rule, the facts
// from the inspection and the target profile. Every file they change is recorded with a diff.
#pragma once

#include <functional>
#include <string>

#include "converter/guest.hpp"
#include "converter/inspection.hpp"
#include "converter/report.hpp"
#include "converter/rules.hpp"
#include "drivers/registry.hpp"

namespace rehost {

struct ActionContext {
  Guest& guest;
  const Inspection& inspection;
  const TargetProfile& target;
  std::chrono::seconds command_timeout{1800};
  std::string windows_drivers; // --drivers: Windows driver packages ("" for the profile's)
  std::string packages_dir;    // --packages-dir: where relative install_packages dirs are
  bool keep_network = false;   // --keep-network: static addresses and interface names stay
  drivers::HiveLogs hive_logs = drivers::HiveLogs::refuse; // --discard-hive-logs
  // Initramfs images are rewritten on the host where the rule allows it (--initramfs).
  bool repack_initramfs = false;
  bool repack_required = false; // --initramfs repack: no fallback to the guest's tool
  const std::vector<ActionRecord>* done = nullptr; // the actions run before this one
};

// An action type: its schema and its implementation.
using ActionRunner = Result<void> (*)(ActionContext&, const Action&, ActionRecord&);
struct ActionType {
  ActionSpec spec;
  ActionRunner run;
};

// Every action type, from the actions_*.cpp files.
const std::vector<ActionType>& action_types();

// Runs one action, filling `record`. An error stops the conversion.
Result<void> run_action(ActionContext& context, const Action& action, ActionRecord& record);

// Edits a guest text file through `transform` and records the change (nothing is written when
// the text is unchanged). A missing file is passed as "" when `create` is true, else skipped.
// A symbolic link is followed (inside the guest) and the file it ends at is written, so the
// link stays.
enum class MissingFile { skip, create };
Result<void>
edit_guest_file(ActionContext& context, ActionRecord& record, const std::string& path,
                MissingFile missing,
                const std::function<Result<std::string>(const std::string&)>& transform);

// The UUID= form of a device name if it names a file system on this disk under a name that
// depends on the disk controller; nothing when it is already stable or cannot be resolved.
// `mountpoint` helps resolve names such as /dev/disk/by-id/... through the mounts.
std::optional<std::string> stable_device_name(const DiskInfo& disk, const std::string& spec,
                                              const std::string& mountpoint = {});

// Whether a device name resolves to a file system of this disk (or needs no resolving).
bool device_resolves(const DiskInfo& disk, const std::string& spec);

} // namespace rehost
