// Opening a guest for a command: the backend, its disk, its root, its inspection.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "converter/disk.hpp"
#include "converter/guest.hpp"
#include "converter/guestfs_guest.hpp"
#include "converter/inspection.hpp"
#include "converter/source.hpp"

namespace rehost {

struct GuestSession {
  std::unique_ptr<Guest> guest;
  GuestfsGuest* appliance = nullptr; // set when the guest is behind libguestfs
  DiskInfo disk;

  // Stops the appliance cleanly (writes are flushed); a no-op for directories.
  void close();
};

// Opens `image` (or a directory source) with its OS root mounted. `root` picks the root when
// the disk holds several operating systems. Throws Fatal with the right exit code: bad_source
// for a disk with nothing on it, unsupported_guest when no OS (or several, without --root).
GuestSession open_session(const Source& source, const std::string& image, const std::string& format,
                          DiskAccess access, const std::string& root);

// Inspects the session's guest; throws Fatal(unsupported_guest) when the OS is not recognised.
Inspection inspect_session(GuestSession& session, const std::string& what);

} // namespace rehost
