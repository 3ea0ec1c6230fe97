// Actions that put the target's drivers into every initramfs.
#include "converter/action_support.hpp"

#include <algorithm>
#include <set>
#include <sstream>

#include "converter/interrupt.hpp"
#include "converter/log.hpp"
#include "drivers/initramfs_config.hpp"
#include "drivers/linux_modules.hpp"

namespace rehost {

namespace {

// --- initramfs_modules ---------------------------------------------------------------------------

Result<void> initramfs_modules(ActionContext& c, const Action& a, ActionRecord& record)
{
  const std::string path = a.str("path");
  auto format = drivers::parse_modules_format(a.str("format"));
  if (!format) {
    return fail("{}: {}", a.location.text(), format.error().message);
  }
  if ((*format == drivers::ModulesFormat::shell_list
       || *format == drivers::ModulesFormat::bash_array)
      && a.str("variable").empty()) {
    return fail("{}: the {} format needs 'variable'", a.location.text(), a.str("format"));
  }
  // Only drivers some kernel has as a module: built-in ones need no listing, and a name no
  // kernel knows would only make the tool warn or fail.
  std::vector<std::string> wanted;
  for (const auto& driver : c.target.all_drivers()) {
    bool loadable = std::any_of(
        c.inspection.kernels.begin(), c.inspection.kernels.end(), [&](const KernelInfo& k) {
          auto it = k.drivers.find(driver);
          return it != k.drivers.end() && it->second == drivers::DriverState::module;
        });
    if (loadable || c.inspection.kernels.empty()) {
      wanted.push_back(driver);
    }
  }
  std::vector<std::string> added;
  auto transform = [&](const std::string& text) -> Result<std::string> {
    auto edit =
        drivers::add_modules(*format, text, wanted, a.str("variable"),
                             fmt::format("Added by rehost for the {} target", c.target.name));
    if (!edit.problem.empty()) {
      return fail("{}: {}", path, edit.problem);
    }
    added = edit.added;
    return edit.text;
  };
  if (auto r = edit_guest_file(c, record, path, MissingFile::create, transform); !r) {
    return r;
  }
  if (!added.empty()) {
    record.summary = fmt::format("{}: added {}", path, join(added, ", "));
  }
  return {};
}

// --- rebuild_initramfs ---------------------------------------------------------------------------

Result<void> rebuild_initramfs(ActionContext& c, const Action& a, ActionRecord& record)
{
  std::vector<std::string> rebuilt;
  for (const auto& kernel : c.inspection.kernels) {
    if (kernel.version.find("kdump") != std::string::npos) {
      continue; // kdump images are built by their own service
    }
    interrupt::check();
    log::progress("Rebuilding initramfs for {}", kernel.version);
    const std::string image = kernel.initramfs;
    const std::string aside = image.empty() ? std::string() : image + ".rehost-old";
    FileChange change;
    change.path = image;
    change.kind = image.empty() ? "created" : "modified";
    if (!image.empty()) {
      auto info = c.guest.stat(image);
      change.before_size = info ? info->size : 0;
      // Kept until the new image is in place, so a failed rebuild never leaves the kernel
      // without an initramfs.
      if (auto r = c.guest.copy(image, aside); !r) {
        return fail("cannot keep {} aside before rebuilding it: {}", image, r.error().message);
      }
    }
    auto argv = expand(a.list("command"),
                       {{"kernel.version", {kernel.version}}, {"kernel.initramfs", {image}}});
    auto result = run_recorded(c, record, argv);
    if (!result || !is_file(c.guest, image)) {
      if (!aside.empty()) {
        (void)c.guest.rename(aside, image);
      }
      return fail("rebuilding the initramfs of {} failed (the old image was restored): {}",
                  kernel.version,
                  result ? std::string("no image was written") : result.error().message);
    }
    if (!aside.empty()) {
      (void)c.guest.remove(aside);
    }
    auto info = c.guest.stat(image);
    change.after_size = info ? info->size : 0;
    record.changes.push_back(std::move(change));
    rebuilt.push_back(kernel.version);
  }
  record.summary = rebuilt.empty() ? "no kernel to rebuild an initramfs for"
                                   : "rebuilt the initramfs of " + join(rebuilt, ", ");
  return {};
}

} // namespace

std::vector<ActionType> driver_action_types()
{
  return {
      {{"initramfs_modules",
        "Add the target's storage and network drivers to the file where the initramfs tool keeps "
        "the modules it always includes, so every later initramfs holds them.",
        {ParamSpec{"path", ParamType::string, true, "the file, e.g. /etc/initramfs-tools/modules"},
         ParamSpec{"format", ParamType::string, false,
                   "lines (default), dracut (a drop-in rehost owns), shell_list, bash_array"},
         ParamSpec{"variable", ParamType::string, false,
                   "the variable for shell_list (INITRD_MODULES) and bash_array (MODULES)"}},
        {}},
       initramfs_modules},
      {{"rebuild_initramfs",
        "Rebuild the initramfs of every installed kernel with the guest's own tool. The old image "
        "is kept aside until the new one is written, and restored if the command fails.",
        {ParamSpec{"command", ParamType::list, true, "the command, run once per kernel"}},
        {"kernel.version", "kernel.initramfs"}},
       rebuild_initramfs},
  };
}

} // namespace rehost
