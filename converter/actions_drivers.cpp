// Actions that put the target's drivers into every initramfs.
#include "converter/action_support.hpp"

#include <algorithm>
#include <set>
#include <sstream>

#include "converter/interrupt.hpp"
#include "converter/log.hpp"
#include "drivers/initramfs_config.hpp"
#include "drivers/initramfs_repack.hpp"
#include "drivers/kernel_drivers.hpp"
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

// Reads the image just built back and records which of the target's drivers it holds, so the
// report shows each kernel's result, not only the boot kernel's (which validation checks). A
// kernel without the target's disk driver gets a note: it cannot boot there, whatever its image.
void record_image_drivers(ActionContext& c, const KernelInfo& kernel, ActionRecord& record)
{
  nlohmann::json entry = {{"kernel", kernel.version}, {"initramfs", kernel.initramfs}};
  auto listing = drivers::list_guest_initramfs(c.guest, kernel.initramfs);
  if (!listing) {
    record.notes.push_back(fmt::format("the new initramfs of {} cannot be read: {}", kernel.version,
                                       listing.error().message));
    entry["error"] = listing.error().message;
    record.details["initramfs"].push_back(std::move(entry));
    return;
  }
  auto present = drivers::modules_in(*listing, kernel.version);
  std::set<std::string> have(present.begin(), present.end());
  std::vector<std::string> found;
  std::vector<std::string> built_in;
  std::vector<std::string> missing;
  for (const auto& driver : c.target.all_drivers()) {
    auto it = kernel.drivers.find(driver);
    auto state = it == kernel.drivers.end() ? drivers::DriverState::missing : it->second;
    if (state == drivers::DriverState::builtin) {
      built_in.push_back(driver);
    } else if (have.count(drivers::module_name(driver))) {
      found.push_back(driver);
    } else {
      missing.push_back(driver);
      if (state == drivers::DriverState::module) {
        record.notes.push_back(
            fmt::format("the new initramfs of {} lacks {}", kernel.version, driver));
      }
    }
  }
  const std::string disk_driver =
      c.target.storage_drivers.empty() ? "" : c.target.storage_drivers.front();
  if (!disk_driver.empty()
      && std::find(missing.begin(), missing.end(), disk_driver) != missing.end()) {
    auto it = kernel.drivers.find(disk_driver);
    bool has = it != kernel.drivers.end() && it->second != drivers::DriverState::missing;
    record.notes.push_back(fmt::format("{} cannot boot on the {} target: {}", kernel.version,
                                       c.target.name,
                                       has ? "its new initramfs lacks " + disk_driver
                                           : "the kernel has no " + disk_driver + " driver"));
  }
  entry["drivers"] = found;
  entry["built_in"] = built_in;
  entry["missing"] = missing;
  record.details["initramfs"].push_back(std::move(entry));
}

// What repacking needs for one initramfs tool: where it keeps its configuration, how a file
// there maps into the image, the image's boot-time list of modules, and its files that name
// devices (drivers/initramfs_repack.hpp).
struct RepackStyle {
  std::string config_dir;
  std::string config_in_image; // "" when the configuration is not copied as files
  std::string load_list;
  std::vector<std::string> device_files;
};

std::optional<RepackStyle> repack_style(const std::string& name)
{
  if (name == "initramfs-tools") {
    // mkinitramfs copies conf.d/* to conf/conf.d/ and lists the modules file's entries in
    // conf/modules, which the init script loads.
    return RepackStyle{"/etc/initramfs-tools/", "conf/", "conf/modules", {}};
  }
  if (name == "dracut") {
    // udev loads the drivers by their hardware aliases; nothing lists them. A host-only image
    // keeps devices dracut found on the old machine: root= and resume= in etc/cmdline.d, the
    // devices the initqueue waits for (devexists hooks), --add-fstab mounts in etc/fstab, the
    // devices of etc/crypttab and etc/mdadm.conf. A
    // name there that the target lacks (/dev/sda1, by-path) would keep the boot waiting: such
    // an image goes to the guest's dracut, whose rebuild without host-only leaves them out.
    return RepackStyle{"/etc/dracut.conf.d/",
                       "",
                       "",
                       {"etc/cmdline", "etc/cmdline.d/", "etc/fstab", "etc/crypttab",
                        "etc/mdadm.conf", "lib/dracut/hooks/initqueue/finished/",
                        "usr/lib/dracut/hooks/initqueue/finished/"}};
  }
  return std::nullopt;
}

// The changes earlier actions made that the image of a kernel carries, as repack input; an
// error (the reason) when one of them needs the guest's tool.
Result<void> carry_changes(ActionContext& c, const RepackStyle& style,
                           const drivers::InitramfsListing& listing, drivers::RepackInput& in)
{
  std::set<std::string> in_image(listing.files.begin(), listing.files.end());
  if (!c.done) {
    return {};
  }
  for (const auto& done : *c.done) {
    if (done.type == "initramfs_modules") {
      continue; // its drivers are what the repack adds
    }
    for (const auto& change : done.changes) {
      std::string image_path;
      if (change.path.rfind(style.config_dir, 0) == 0) {
        std::string rel = change.path.substr(style.config_dir.size());
        if (style.config_in_image.empty() || rel.rfind("conf.d/", 0) != 0) {
          return fail("{} changed, and only the guest's tool knows what follows from it",
                      change.path);
        }
        image_path = style.config_in_image + rel;
      } else {
        image_path = change.path.substr(1);
        // A new file joins the image when the tool copies its directory (the image holds
        // others from it): a .link file in /etc/systemd/network, say.
        std::string dir = image_path.substr(0, image_path.rfind('/') + 1);
        bool copied_dir =
            !dir.empty() && std::any_of(in_image.begin(), in_image.end(), [&](const auto& f) {
              return f.size() > dir.size() && f.rfind(dir, 0) == 0
                     && f.find('/', dir.size()) == std::string::npos;
            });
        if (!in_image.count(image_path) && !copied_dir) {
          continue; // not a file the image holds
        }
      }
      if (!is_file(c.guest, change.path)) {
        in.remove.insert(image_path);
        in.replace.erase(image_path);
        continue;
      }
      auto content = c.guest.read_file(change.path);
      if (!content) {
        return fail("cannot read {}: {}", change.path, content.error().message);
      }
      in.replace[image_path] = std::move(*content);
      in.remove.erase(image_path);
    }
  }
  return {};
}

// Rewrites the initramfs of `kernel` on the host (drivers/initramfs_repack.hpp). An error says
// why it could not; nothing in the guest has changed then.
Result<void> repack_kernel_initramfs(ActionContext& c, const RepackStyle& style,
                                     const KernelInfo& kernel, ActionRecord& record)
{
  const std::string& image = kernel.initramfs;
  if (image.empty() || !is_file(c.guest, image)) {
    return fail("there is no image to start from");
  }
  auto bytes = c.guest.read_file(image, 512 << 20);
  if (!bytes) {
    return fail("cannot read {}: {}", image, bytes.error().message);
  }
  auto listing = drivers::list_initramfs(*bytes);
  if (!listing) {
    return fail("{}: {}", image, listing.error().message);
  }
  std::string tree = "/lib/modules/" + kernel.version;
  if (!is_dir(c.guest, tree)) {
    tree = "/usr/lib/modules/" + kernel.version;
  }
  auto dep = c.guest.read_file(tree + "/modules.dep");
  if (!dep) {
    return fail("cannot read {}/modules.dep: {}", tree, dep.error().message);
  }
  drivers::RepackInput in;
  in.version = kernel.version;
  in.modules_dep = std::move(*dep);
  in.drivers = c.target.all_drivers();
  in.load_list = style.load_list;
  in.device_files = style.device_files;
  in.read_module = [&](const std::string& rel) { return c.guest.read_file(tree + "/" + rel); };
  if (auto r = carry_changes(c, style, *listing, in); !r) {
    return r;
  }
  auto repacked = drivers::repack_initramfs(*bytes, *listing, in);
  if (!repacked) {
    return fail("{}: {}", image, repacked.error().message);
  }
  // The new image goes in beside the old one, then over it in one rename.
  const std::string fresh = image + ".rehost-new";
  if (auto w = c.guest.write_file(fresh, repacked->image); !w) {
    (void)c.guest.remove(fresh);
    return fail("cannot write {}: {}", fresh, w.error().message);
  }
  if (auto r = c.guest.rename(fresh, image); !r) {
    (void)c.guest.remove(fresh);
    return fail("cannot replace {}: {}", image, r.error().message);
  }
  FileChange change;
  change.path = image;
  change.kind = "modified";
  change.before_size = bytes->size();
  change.after_size = repacked->image.size();
  record.changes.push_back(std::move(change));
  std::string what = repacked->added.empty() ? std::string("no driver was missing")
                                             : "added " + join(repacked->added, ", ");
  if (!repacked->loaded.empty()) {
    what += "; " + style.load_list + " loads " + join(repacked->loaded, ", ");
  }
  record.notes.push_back(fmt::format("{}: rewritten on the host ({}, {})", kernel.version,
                                     repacked->compression, what));
  return {};
}

Result<void> rebuild_initramfs(ActionContext& c, const Action& a, ActionRecord& record)
{
  std::vector<std::string> rewritten;
  std::optional<RepackStyle> style;
  if (c.repack_initramfs && a.has("repack")) {
    style = repack_style(a.str("repack"));
  }
  if (c.repack_required && !style) {
    return fail("--initramfs repack: this rule rebuilds the initramfs only with the guest's tool "
                "(its rebuild_initramfs action has no 'repack')");
  }
  std::vector<std::string> rebuilt;
  for (const auto& kernel : c.inspection.kernels) {
    if (kernel.version.find("kdump") != std::string::npos) {
      continue; // kdump images are built by their own service
    }
    // Every tool builds from the kernel's module tree: for a kernel whose tree is gone (a
    // package half removed) it can only fail, and stop the conversion.
    if (!is_dir(c.guest, "/lib/modules/" + kernel.version)
        && !is_dir(c.guest, "/usr/lib/modules/" + kernel.version)) {
      record.notes.push_back(
          fmt::format("{} has no module tree: its initramfs ({}) is left as it is", kernel.version,
                      kernel.initramfs.empty() ? "none" : kernel.initramfs));
      continue;
    }
    interrupt::check();
    if (style) {
      log::progress("Rewriting the initramfs of {} on the host", kernel.version);
      auto repacked = repack_kernel_initramfs(c, *style, kernel, record);
      if (repacked) {
        rewritten.push_back(kernel.version);
        record_image_drivers(c, kernel, record);
        continue;
      }
      if (c.repack_required) {
        return fail("{}: the initramfs cannot be rewritten on the host (--initramfs repack): {}",
                    kernel.version, repacked.error().message);
      }
      record.notes.push_back(fmt::format("{}: not rewritten on the host ({}); the guest's tool "
                                         "rebuilds it",
                                         kernel.version, repacked.error().message));
    }
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
    record_image_drivers(c, kernel, record);
  }
  std::vector<std::string> done;
  if (!rebuilt.empty()) {
    done.push_back("rebuilt the initramfs of " + join(rebuilt, ", "));
  }
  if (!rewritten.empty()) {
    done.push_back("rewrote the initramfs of " + join(rewritten, ", ") + " on the host");
  }
  record.summary = done.empty() ? "no kernel to rebuild an initramfs for" : join(done, "; ");
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
        {ParamSpec{"command", ParamType::list, true, "the command, run once per kernel"},
         ParamSpec{"repack", ParamType::string, false,
                   "initramfs-tools or dracut: the image may instead be rewritten on the host "
                   "(--initramfs; docs/initramfs.md), the way that tool would have written it"}},
        {"kernel.version", "kernel.initramfs"},
        [](const Action& a, const ActionSpec&) {
          std::vector<ActionProblem> problems;
          if (a.has("repack") && !repack_style(a.str("repack"))) {
            problems.push_back({a.where("repack"), "repack must be initramfs-tools or dracut"});
          }
          return problems;
        }},
       rebuild_initramfs},
  };
}

} // namespace rehost
