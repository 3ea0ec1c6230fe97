#include "converter/session.hpp"

#include <algorithm>

#include "converter/dir_guest.hpp"
#include "converter/interrupt.hpp"
#include "converter/log.hpp"
#include "converter/native_disk.hpp"

namespace rehost {

GuestSession::GuestSession() = default;
GuestSession::~GuestSession()
{
  guest.reset();
  native.reset();
}
GuestSession::GuestSession(GuestSession&&) noexcept = default;
GuestSession& GuestSession::operator=(GuestSession&&) noexcept = default;

Backend parse_backend(const std::string& name)
{
  if (name == "auto" || name.empty()) {
    return Backend::automatic;
  }
  if (name == "native") {
    return Backend::native;
  }
  if (name == "guestfs") {
    return Backend::guestfs;
  }
  fatal(ExitCode::usage, "unknown backend '{}'; use auto, native or guestfs", name);
}

void GuestSession::close()
{
  if (native) {
    guest.reset();
    auto r = native->shutdown();
    native.reset();
    if (!r) {
      interrupt::check();
      fatal(ExitCode::conversion_failed, "{}", r.error().message);
    }
  }
  if (appliance) {
    auto r = appliance->shutdown();
    appliance = nullptr;
    guest.reset();
    if (!r) {
      interrupt::check();
      fatal(ExitCode::conversion_failed, "{}", r.error().message);
    }
  }
}

namespace {

// Picks the root among `roots`, or stops with the right exit code.
std::string choose_root(const Source& source, const DiskInfo& disk,
                        const std::vector<std::string>& found, const std::string& root)
{
  const std::vector<std::string>* roots = &found;
  bool any_table = std::any_of(disk.tables.begin(), disk.tables.end(),
                               [](const PartitionTable& t) { return t.type != "none"; });
  if (roots->empty()) {
    if (!any_table && disk.filesystems.empty()) {
      fatal(ExitCode::bad_source,
            "{}: holds no partition table and no file system; it is not a disk image (or it is "
            "damaged)",
            source.path);
    }
    std::string list;
    for (const auto& fs : disk.filesystems) {
      list += (list.empty() ? "" : ", ") + fs.device + " " + fs.type;
    }
    auto encrypted = std::find_if(disk.filesystems.begin(), disk.filesystems.end(),
                                  [](const Filesystem& f) { return f.encrypted(); });
    if (encrypted != disk.filesystems.end()) {
      fatal(ExitCode::unsupported_guest,
            "{}: the operating system is not on any file system outside the encrypted volume {} "
            "({}); rehost does not take keys: convert a decrypted copy of the disk (file "
            "systems: {})",
            source.path, encrypted->device, encrypted->type, list);
    }
    fatal(ExitCode::unsupported_guest, "{}: no operating system found (file systems: {})",
          source.path, list.empty() ? "none" : list);
  }
  std::string list;
  for (const auto& r : *roots) {
    list += (list.empty() ? "" : ", ") + r;
  }
  if (!root.empty()) {
    if (std::find(roots->begin(), roots->end(), root) == roots->end()) {
      fatal(ExitCode::usage, "--root {}: not an operating system root on {} (roots: {})", root,
            source.path, list);
    }
    return root;
  }
  if (roots->size() > 1) {
    fatal(ExitCode::unsupported_guest,
          "{}: holds {} operating systems ({}); choose one with --root DEVICE", source.path,
          roots->size(), list);
  }
  return roots->front();
}

std::string firmware_of(const DiskInfo& disk)
{
  for (const auto& t : disk.tables) {
    for (const auto& p : t.partitions) {
      if (std::find(p.flags.begin(), p.flags.end(), "esp") != p.flags.end()) {
        return "uefi";
      }
    }
  }
  return "bios";
}

// The native backend, or nothing when this disk or host needs the appliance.
std::optional<GuestSession> open_native(const Source& source, const std::string& image,
                                        const std::string& format, DiskAccess access,
                                        const std::string& root, Backend backend)
{
  std::string why;
  if (!NativeDisk::available(&why)) {
    if (backend == Backend::native) {
      fatal(ExitCode::usage, "--backend native: not possible here: {}", why);
    }
    log::debug("native backend not available ({}); using libguestfs", why);
    return std::nullopt;
  }
  auto opened = NativeDisk::open(image, format, access);
  interrupt::check();
  if (!opened) {
    if (backend == Backend::native) {
      fatal(ExitCode::bad_source, "{}", opened.error().message);
    }
    log::warning("native backend failed ({}); using libguestfs", opened.error().message);
    return std::nullopt;
  }
  GuestSession session;
  session.backend = "native";
  session.native = std::move(*opened);
  auto disk = session.native->describe_disk();
  interrupt::check();
  if (!disk) {
    fatal(ExitCode::bad_source, "{}: {}", source.path, disk.error().message);
  }
  session.disk = std::move(*disk);
  if (auto dm = session.native->needs_device_mapper(); !dm.empty()) {
    // The native backend cannot assemble these here (no device-mapper, or not a linear or
    // striped LV, or md); the appliance can.
    if (backend == Backend::native) {
      fatal(ExitCode::unsupported_guest, "--backend native: {} needs device-mapper or md ({})",
            source.path, dm.front());
    }
    log::progress("Notice: {} holds {}; using the libguestfs appliance", source.path, dm.front());
    return std::nullopt;
  }
  if (auto missing = session.native->unmountable_here(); !missing.empty()) {
    if (backend == Backend::native) {
      fatal(ExitCode::unsupported_guest, "--backend native: this host's kernel cannot mount {}",
            missing.front());
    }
    log::progress("Notice: this host's kernel cannot mount {} of {}; using the libguestfs "
                  "appliance",
                  missing.front(), source.path);
    return std::nullopt;
  }
  auto roots = session.native->find_roots();
  interrupt::check();
  if (!roots) {
    fatal(ExitCode::bad_source, "{}", roots.error().message);
  }
  // Roots the native backend does not look for (Windows on NTFS, ...) are the appliance's job.
  bool foreign = std::any_of(
      session.disk.filesystems.begin(), session.disk.filesystems.end(), [](const Filesystem& f) {
        return f.type == "ntfs" || f.type == "hfsplus" || f.type == "ufs" || f.type == "zfs_member";
      });
  if (roots->empty() && foreign && backend != Backend::native) {
    log::debug("no Linux root, but file systems the appliance can read; using libguestfs");
    return std::nullopt;
  }
  std::string chosen = choose_root(source, session.disk, *roots, root);
  if (auto r = session.native->mount_root(chosen, session.disk); !r) {
    interrupt::check();
    fatal(ExitCode::bad_source, "{}: {}", source.path, r.error().message);
  }
  session.guest = session.native->guest(firmware_of(session.disk));
  if (!session.guest) {
    fatal(ExitCode::internal, "cannot open the mounted guest");
  }
  return session;
}

} // namespace

GuestSession open_session(const Source& source, const std::string& image, const std::string& format,
                          DiskAccess access, const std::string& root, Backend backend)
{
  GuestSession session;
  if (source.kind == SourceKind::directory) {
    auto dir = DirGuest::open(source.path);
    if (!dir) {
      fatal(ExitCode::bad_source, "{}", dir.error().message);
    }
    session.guest = std::move(*dir);
    session.backend = "directory";
    return session;
  }
  if (backend != Backend::guestfs) {
    if (auto native = open_native(source, image, format, access, root, backend)) {
      return std::move(*native);
    }
  }
  auto launched = GuestfsGuest::launch(image, format, access);
  interrupt::check();
  if (!launched) {
    fatal(ExitCode::bad_source, "{}", launched.error().message);
  }
  GuestfsGuest& g = **launched;
  session.appliance = &g;
  session.guest = std::move(*launched);
  session.backend = "guestfs";

  auto disk = g.describe_disk();
  interrupt::check();
  if (!disk) {
    fatal(ExitCode::bad_source, "{}: {}", source.path, disk.error().message);
  }
  session.disk = std::move(*disk);
  auto roots = g.find_roots();
  interrupt::check();
  if (!roots) {
    fatal(ExitCode::bad_source, "{}", roots.error().message);
  }
  std::string chosen = choose_root(source, session.disk, *roots, root);
  if (auto r = g.mount_root(chosen, session.disk); !r) {
    interrupt::check();
    fatal(ExitCode::bad_source, "{}: {}", source.path, r.error().message);
  }
  g.set_firmware(firmware_of(session.disk));
  return session;
}

Inspection inspect_session(GuestSession& session, const std::string& what)
{
  auto inspection = inspect_guest(*session.guest, session.disk);
  interrupt::check();
  if (!inspection) {
    fatal(ExitCode::unsupported_guest,
          "{}: cannot tell which operating system this is (no /etc/os-release or other release "
          "file, no Windows SYSTEM hive)",
          what);
  }
  for (const auto& w : inspection->warnings) {
    log::warning("{}", w);
  }
  return std::move(*inspection);
}

} // namespace rehost
