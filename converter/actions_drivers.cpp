// Actions that put the target's drivers into every initramfs.
#include "converter/action_support.hpp"

#include <algorithm>
#include <set>
#include <sstream>

#include "converter/interrupt.hpp"
#include "converter/log.hpp"
#include "drivers/linux_modules.hpp"

namespace rehost {

namespace {

// --- initramfs_modules ---------------------------------------------------------------------------

Result<void> initramfs_modules(ActionContext& c, const Action& a, ActionRecord& record)
{
  const std::string path = a.str("path");
  std::vector<std::string> added;
  auto transform = [&](const std::string& text) -> Result<std::string> {
    std::set<std::string> listed;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream words(line);
      std::string first;
      if (words >> first && first[0] != '#') {
        listed.insert(drivers::module_name(first));
      }
    }
    std::string out = text;
    for (const auto& driver : c.target.all_drivers()) {
      if (listed.count(drivers::module_name(driver))) {
        continue;
      }
      // Only drivers some kernel has as a module: built-in ones need no listing, and a name no
      // kernel knows would only produce warnings.
      bool loadable = std::any_of(
          c.inspection.kernels.begin(), c.inspection.kernels.end(), [&](const KernelInfo& k) {
            auto it = k.drivers.find(driver);
            return it != k.drivers.end() && it->second == drivers::DriverState::module;
          });
      if (!loadable && !c.inspection.kernels.empty()) {
        continue;
      }
      if (!out.empty() && out.back() != '\n') {
        out += '\n';
      }
      if (added.empty()) {
        out += fmt::format("# Added by rehost for the {} target\n", c.target.name);
      }
      out += driver + "\n";
      added.push_back(driver);
    }
    return out;
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
        "Add the target's storage and network drivers to a modules list file (one name per line), "
        "so every later initramfs holds them.",
        {ParamSpec{"path", ParamType::string, true, "the file, e.g. /etc/initramfs-tools/modules"}},
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
