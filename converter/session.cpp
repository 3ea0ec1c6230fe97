#include "converter/session.hpp"

#include <algorithm>

#include "converter/dir_guest.hpp"
#include "converter/interrupt.hpp"
#include "converter/log.hpp"

namespace rehost {

void GuestSession::close()
{
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

GuestSession open_session(const Source& source, const std::string& image, const std::string& format,
                          DiskAccess access, const std::string& root)
{
  GuestSession session;
  if (source.kind == SourceKind::directory) {
    auto dir = DirGuest::open(source.path);
    if (!dir) {
      fatal(ExitCode::bad_source, "{}", dir.error().message);
    }
    session.guest = std::move(*dir);
    return session;
  }
  auto launched = GuestfsGuest::launch(image, format, access);
  interrupt::check();
  if (!launched) {
    fatal(ExitCode::bad_source, "{}", launched.error().message);
  }
  GuestfsGuest& g = **launched;
  session.appliance = &g;
  session.guest = std::move(*launched);

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
  bool any_table = std::any_of(session.disk.tables.begin(), session.disk.tables.end(),
                               [](const PartitionTable& t) { return t.type != "none"; });
  if (roots->empty()) {
    if (!any_table && session.disk.filesystems.empty()) {
      fatal(ExitCode::bad_source,
            "{}: holds no partition table and no file system; it is not a disk image (or it is "
            "damaged)",
            source.path);
    }
    std::string found;
    for (const auto& fs : session.disk.filesystems) {
      found += (found.empty() ? "" : ", ") + fs.device + " " + fs.type;
    }
    fatal(ExitCode::unsupported_guest, "{}: no operating system found (file systems: {})",
          source.path, found.empty() ? "none" : found);
  }
  std::string chosen;
  if (!root.empty()) {
    if (std::find(roots->begin(), roots->end(), root) == roots->end()) {
      std::string list;
      for (const auto& r : *roots) {
        list += (list.empty() ? "" : ", ") + r;
      }
      fatal(ExitCode::usage, "--root {}: not an operating system root on {} (roots: {})", root,
            source.path, list);
    }
    chosen = root;
  } else if (roots->size() > 1) {
    std::string list;
    for (const auto& r : *roots) {
      list += (list.empty() ? "" : ", ") + r;
    }
    fatal(ExitCode::unsupported_guest,
          "{}: holds {} operating systems ({}); choose one with --root DEVICE", source.path,
          roots->size(), list);
  } else {
    chosen = roots->front();
  }
  if (auto r = g.mount_root(chosen, session.disk); !r) {
    interrupt::check();
    fatal(ExitCode::bad_source, "{}: {}", source.path, r.error().message);
  }
  return session;
}

Inspection inspect_session(GuestSession& session, const std::string& what)
{
  auto inspection = inspect_guest(*session.guest, session.disk);
  interrupt::check();
  if (!inspection) {
    fatal(ExitCode::unsupported_guest,
          "{}: cannot tell which operating system this is (no /etc/os-release or other release "
          "file)",
          what);
  }
  for (const auto& w : inspection->warnings) {
    log::warning("{}", w);
  }
  return std::move(*inspection);
}

} // namespace rehost
